"""The lists the sync reads and writes: kinds in dependency order and the hub's central lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veiviser.schemas.template import CHOICE_TYPES

#: Kinds in dependency order (lookups point backwards).
KIND_ORDER = ("risks", "stakeholders", "benefits", "indicators", "measurements")
#: The history store's name for the project properties item (Prosjektegenskaper).
PROPERTIES = "properties"

#: Central list per kind in the hub template (``portfolio_<kind>``).
CENTRAL_LIST_KEYS = {name: f"portfolio_{name}" for name in KIND_ORDER}

#: Prosjektegenskaper fields copied to the hub's Prosjekter item (when both lists have them).
PROPERTY_FIELDS = (
    "GtProjectFinanceName",
    "GtProjectNumber",
    "GtArchiveReference",
    "GtProjectPhase",
    "GtProjectGoals",
    "GtStartDate",
    "GtEndDate",
    "GtProjectLifecycleStatus",
    "GtProjectServiceAreaText",
    "GtProjectTypeText",
)


@dataclass
class CentralList:
    """A central list on the hub: title and field types (from the hub template)."""

    kind: str
    title: str
    fields: dict[str, str]
    entity_type: str = ""  # ListItemEntityTypeFullName, read once per run
    #: Choice and multi-choice fields without fill-in: the values the hub accepts.
    choices: dict[str, frozenset[str]] = field(default_factory=dict)


def load_central_lists() -> tuple[dict[str, CentralList], dict[str, str]]:
    """Central lists per kind and the Prosjekter field types, from the standard hub template."""
    from veiviser.schemas.template_loader import load_bundle

    hub = load_bundle().hub
    central = {}
    for kind, key in CENTRAL_LIST_KEYS.items():
        ldef = hub.get_list(key)
        central[kind] = CentralList(kind, ldef.title, _writable_fields(ldef), choices=_closed_choices(ldef))
    projects = hub.get_list("projects")
    return central, _writable_fields(projects)


def _closed_choices(ldef: Any) -> dict[str, frozenset[str]]:
    """The choices of each choice field that allows no fill-in value."""
    return {
        f.name: frozenset(f.choices)
        for f in ldef.fields
        if f.type in CHOICE_TYPES and f.choices and not f.fill_in
    }


def _writable_fields(ldef: Any) -> dict[str, str]:
    out = {"Title": "Text"}
    for f in ldef.fields:
        ftype = getattr(f.type, "value", str(f.type))
        if ftype == "Calculated" or f.read_only or f.is_projected:
            continue
        out[f.name] = ftype
    return out
