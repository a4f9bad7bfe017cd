"""The words a reader of the reports sees, in one place (docs/portfolio.md, "Words").

The analytics work with short English codes (``"on track"``, ``"up"``, ``"warning"``, the ITPOSMO
outcome bands as Heeks words them); the report writers show every such code through :func:`say`,
and internal field names through :func:`field_title`. A later English edition is a second table
like :data:`NB`, not a search through the writers. Column headings and sheet names stay with the
view they belong to (``reports/tables.py``), each written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

#: Placeholders the analytics put in a grouping column when a value is missing (shown as is).
NO_OWNER = "(uten eier)"
NO_UNIT = "(uten måleenhet)"
NO_YEAR = "(uten realiseringstidspunkt)"
NOT_GIVEN = "(mangler)"

#: Code -> Norwegian display word. Keys are the analytics' codes; values what the reader sees.
NB: Mapping[str, str] = {
    # indicator and benefit status, achievement guards (portfolio/benefits.py)
    "achieved": "oppnådd",
    "on track": "i rute",
    "behind": "etter plan",
    "stale": "utdatert måling",
    "no measurements": "ingen målinger",
    "not measurable": "ikke målbar",
    "no indicators": "ingen indikatorer",
    "measured": "målt",
    "target equals baseline": "mål lik startverdi",
    # trends of a measurement against the one before
    "up": "opp",
    "down": "ned",
    "unchanged": "uendret",
    # changes between two syncs (portfolio/history.py)
    "new": "ny",
    "changed": "endret",
    "closed": "lukket",
    "deleted": "slettet",
    # the risk matrix: before and after action, the colour bands
    "before": "før tiltak",
    "after": "etter tiltak",
    "green": "grønn",
    "light green": "lysegrønn",
    "dark green": "mørkegrønn",
    "yellow": "gul",
    "orange": "oransje",
    "red": "rød",
    # kinds of rows and the frames (lists) they come from
    "risks": "risiko",
    "benefits": "gevinst",
    "indicators": "måleindikator",
    "measurements": "måling",
    "stakeholders": "interessent",
    "projects": "prosjekt",
    "properties": "prosjektegenskaper",
    "priorities": "prioritering",
    "itposmo": "ITPOSMO",
    "Title": "Tittel",
    "site_id": "Område-ID",
    "project_url": "Prosjektområde",
    "risk": "risiko",
    "opportunity": "mulighet",
    "benefit": "gevinst",
    "indicator": "måleindikator",
    # severities of a finding
    "error": "feil",
    "warning": "advarsel",
    "info": "til orientering",
    # benefit gaps and what to do about them (portfolio/benefits.py, benefit_gaps)
    "benefit without indicators": "gevinst uten måleindikator",
    "benefit without owner": "gevinst uten eier",
    "indicator without measurements": "måleindikator uten målinger",
    "stale indicator": "måleindikator med utdatert måling",
    "add a Måleindikator linked to this Gevinst": "legg til en måleindikator knyttet til gevinsten",
    "set Gevinsteier or Gevinstansvarlig": "fyll inn Gevinsteier eller Gevinstansvarlig",
    "register a measurement in Gevinstoppfølging": "registrer en måling i Gevinstoppfølging",
    # ITPOSMO outcome bands (Heeks; portfolio/presets/itposmo.yaml)
    "may well succeed": "vil trolig lykkes",
    "might be a partial failure unless action is taken": "kan bli en delvis fiasko om ingenting gjøres",
    "might fail totally, or might well be a partial failure, unless action is taken": (
        "kan feile helt, eller godt bli en delvis fiasko, om ingenting gjøres"
    ),
    "may well fail unless action is taken": "vil trolig feile om ingenting gjøres",
    "will almost certainly fail unless action is taken to close the gaps": (
        "vil nesten sikkert feile om ikke gapene lukkes"
    ),
}


def say(value: Any) -> Any:
    """The Norwegian word for a code; any other value (user text, numbers) unchanged."""
    return NB.get(value, value) if isinstance(value, str) else value


@cache
def _field_titles() -> dict[str, str]:
    from veiviser.schemas.catalog import catalogue  # the template is the one source of titles

    titles: dict[str, str] = {}
    cat = catalogue()
    for lst in (*cat.project.values(), *cat.hub.values()):
        for f in lst.fields:
            titles.setdefault(f.name, f.display_name)
    return titles


def field_title(name: Any) -> Any:
    """The display name the template gives an internal field name (``GtRiskProbability`` ->
    «Sannsynlighet»); other values unchanged."""
    return _field_titles().get(name, NB.get(name, name)) if isinstance(name, str) else name


__all__ = ["NB", "NOT_GIVEN", "NO_OWNER", "NO_UNIT", "NO_YEAR", "field_title", "say"]
