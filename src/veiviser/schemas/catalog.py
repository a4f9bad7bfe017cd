"""The field catalogue: what the standard templates say about each list and field, in one place.

Built once from the standard template bundle (``src/veiviser/templates/standard-*.yaml``), so the
template stays the single source of list titles, URLs, field types, people, lookups and their
targets, numbers, dates and booleans. The sync's source kinds (:mod:`veiviser.sync.kinds`), the
numbers the sync parses (:mod:`veiviser.sync.rows`), the analytics' input frames
(:mod:`veiviser.portfolio.frames`), the star schema and the demo data derive from it. See
``docs/data-model.md``, "The field catalogue".

Which fields the sync copies is a rule, not a list: every field of the source list except
multi-value lookups and projected lookup columns, which have no counterpart on the hub (the sync
carries the resolved source keys of single lookups instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

from veiviser.schemas.names import SOURCE_KIND_NAMES, Kind
from veiviser.schemas.template import FieldDef, FieldType, Template, TemplateBundle

#: Term set behind the phase fields (``GtProjectPhase``), see ``docs/data-model.md``, "Phases".
PHASE_TERM_SET = "Fase"

_TEXT_TYPES = frozenset({FieldType.TEXT, FieldType.NOTE, FieldType.CHOICE, FieldType.MULTICHOICE})
_PEOPLE_TYPES = frozenset({FieldType.USER, FieldType.USERMULTI})
_NUMBER_TYPES = frozenset({FieldType.NUMBER, FieldType.CURRENCY})


@dataclass(frozen=True)
class FieldInfo:
    """One field of one list, as the template defines it."""

    name: str
    type: FieldType
    display_name: str
    lookup_list: str | None = None  # Lookup: key of the target list on the same site
    projected: bool = False  # a projected (dependent) lookup column
    result_type: str | None = None  # Calculated: the type of the result
    phase: bool = False  # stands in for PP365's «Fase» taxonomy field

    @classmethod
    def from_def(cls, fdef: FieldDef) -> FieldInfo:
        own = fdef.model_dump(include={"name", "type", "display_name", "lookup_list", "result_type"})
        phase = fdef.taxonomy is not None and fdef.taxonomy.term_set == PHASE_TERM_SET
        return cls(**own, projected=fdef.is_projected, phase=phase)

    @property
    def is_person(self) -> bool:
        return self.type in _PEOPLE_TYPES

    @property
    def is_lookup(self) -> bool:
        """A single-value lookup of the list's own column (not projected)."""
        return self.type == FieldType.LOOKUP and not self.projected

    @property
    def is_number(self) -> bool:
        """Number, Currency, or a calculated column with a numeric result (read as text on PP365)."""
        return self.type in _NUMBER_TYPES or (
            self.type == FieldType.CALCULATED and self.result_type in ("Number", "Currency")
        )

    @property
    def is_date(self) -> bool:
        return self.type == FieldType.DATETIME

    @property
    def is_boolean(self) -> bool:
        return self.type == FieldType.BOOLEAN

    @property
    def is_text(self) -> bool:
        """Text, note and choice columns other than the phase."""
        return self.type in _TEXT_TYPES and not self.phase

    @property
    def synced(self) -> bool:
        """Copied by the sync: everything but multi-value lookups and projected lookup columns."""
        return self.type != FieldType.LOOKUPMULTI and not self.projected


@dataclass(frozen=True)
class ListInfo:
    """One list of a template: key, nb-NO title, site-relative URL and fields in template order."""

    key: str
    site: Literal["project", "hub"]
    title: str
    url: str
    fields: tuple[FieldInfo, ...]
    content_types: tuple[str, ...] = ()

    def field(self, name: str) -> FieldInfo:
        """The field with this internal name (KeyError if the list has none)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"list {self.key!r} has no field {name!r}")

    def names(self, predicate: Callable[[FieldInfo], bool] = lambda f: True) -> tuple[str, ...]:
        """Internal names of the fields that satisfy ``predicate``, in template order."""
        return tuple(f.name for f in self.fields if predicate(f))

    @property
    def synced_fields(self) -> tuple[FieldInfo, ...]:
        return tuple(f for f in self.fields if f.synced)


@dataclass(frozen=True)
class Catalogue:
    """The lists of the project-site template and the hub template, by key."""

    project: Mapping[str, ListInfo]
    hub: Mapping[str, ListInfo]
    content_type_ids: Mapping[str, str]  # project-site content type name -> id

    @classmethod
    def from_bundle(cls, bundle: TemplateBundle) -> Catalogue:
        return cls(
            project=_lists(bundle.project, "project"),
            hub=_lists(bundle.hub, "hub"),
            content_type_ids={ct.name: ct.id for ct in bundle.project.content_types},
        )

    def source(self, kind: str) -> ListInfo:
        """The project-site list of a kind (``risks``, …, ``properties``)."""
        return self.project[kind]

    def central(self, kind: str) -> ListInfo:
        """The hub list of a kind: ``portfolio_<kind>`` for source kinds, ``projects`` for projects."""
        return self.hub[kind if kind == Kind.PROJECTS else f"portfolio_{kind}"]

    @property
    def source_kinds(self) -> tuple[ListInfo, ...]:
        """The lists the sync reads from every project site, lookup targets first."""
        return tuple(self.project[name] for name in SOURCE_KIND_NAMES)

    def content_type_id(self, name: str) -> str:
        """The id of a project-site content type by name (``Risiko``, ``Mulighet``, …)."""
        return self.content_type_ids[name]

    def field_names(self) -> frozenset[str]:
        """Every internal name defined in either template."""
        return frozenset(f.name for lst in _all(self.project, self.hub) for f in lst.fields)


def _lists(template: Template, site: Literal["project", "hub"]) -> dict[str, ListInfo]:
    return {
        lst.key: ListInfo(
            key=lst.key,
            site=site,
            title=lst.title,
            url=lst.url,
            fields=tuple(FieldInfo.from_def(f) for f in lst.fields),
            content_types=tuple(lst.content_types),
        )
        for lst in template.lists
    }


def _all(*groups: Mapping[str, ListInfo]) -> Iterable[ListInfo]:
    for group in groups:
        yield from group.values()


@cache
def catalogue() -> Catalogue:
    """The catalogue of the standard templates (without extensions), built once per process."""
    from veiviser.schemas.template_loader import load_bundle

    return Catalogue.from_bundle(load_bundle("standard"))
