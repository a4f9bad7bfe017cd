"""The source kinds the sync reads from every project site, derived from the field catalogue.

Each kind is one project-site list; its rows land in one central list on the hub and in the
history store under the kind's name (``risks``, ``stakeholders``, ... — the names the portfolio
analytics use for their input frames). Titles, URLs and fields come from the standard template
through :mod:`veiviser.schemas.catalog`; see ``docs/data-model.md``, "Lists the sync reads".
"""

from __future__ import annotations

from dataclasses import dataclass

from veiviser.schemas.catalog import ListInfo, catalogue
from veiviser.schemas.names import F, Kind
from veiviser.schemas.parsing import source_key as source_key

#: Multi-value lookups the hub has no lookup for: their targets' titles are carried into a text
#: column of the central list instead, joined with «; » (docs/sync.md, "Multi-value lookups").
TITLES_OF: dict[str, str] = {F.CHANGE_LOOKUP: F.CHANGE_TITLES}


@dataclass(frozen=True)
class SourceKind:
    """One project-site list the sync reads."""

    name: str  # kind: history store and analytics frame name
    list_title: str  # nb-NO title on the project site
    list_url: str  # site-relative URL (ASCII; SharePoint drops å/ø)
    fields: tuple[str, ...]  # internal names copied to the central list (besides Title)
    lookups: tuple[tuple[str, str], ...] = ()  # (lookup field, target kind) resolved to source keys
    people: tuple[str, ...] = ()  # User fields
    #: (multi-value lookup, central text column) whose target titles are carried (TITLES_OF)
    titles: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_list(cls, lst: ListInfo) -> SourceKind:
        synced = lst.synced_fields
        return cls(
            name=lst.key,
            list_title=lst.title,
            list_url=lst.url,
            fields=tuple(f.name for f in synced),
            lookups=tuple((f.name, f.lookup_list) for f in synced if f.is_lookup and f.lookup_list),
            people=tuple(f.name for f in synced if f.is_person),
            titles=tuple((f.name, TITLES_OF[f.name]) for f in lst.fields if f.name in TITLES_OF),
        )


#: Kind name -> the project-site list the sync reads, lookup targets first.
SOURCE_KINDS: dict[str, SourceKind] = {lst.key: SourceKind.from_list(lst) for lst in catalogue().source_kinds}

_PROPERTIES = catalogue().source(Kind.PROPERTIES)
#: The hidden project property list (one item, ID 1), reconciled into the hub's ``Prosjekter``.
PROPERTIES_LIST_TITLE = _PROPERTIES.title
PROPERTIES_LIST_URL = _PROPERTIES.url
PROJECTS_LIST_TITLE = catalogue().central(Kind.PROJECTS).title

#: Content types of Usikkerhet, by name: risks and opportunities (ids are prefixes of item types).
RISK = "Risiko"
OPPORTUNITY = "Mulighet"
RISK_CT_PREFIX = catalogue().content_type_id(RISK)
OPPORTUNITY_CT_PREFIX = catalogue().content_type_id(OPPORTUNITY)


def risk_content_type(content_type_id: str | None) -> str | None:
    """«Risiko» / «Mulighet» from a Usikkerhet item's ContentTypeId (None when neither)."""
    if not content_type_id:
        return None
    upper = content_type_id.upper()
    if upper.startswith(RISK_CT_PREFIX.upper()):
        return RISK
    if upper.startswith(OPPORTUNITY_CT_PREFIX.upper()):
        return OPPORTUNITY
    return None
