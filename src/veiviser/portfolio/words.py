"""The words a reader of the reports sees, in one place (docs/portfolio.md, "Words").

The analytics work with short English codes (``"on track"``, ``"up"``, ``"warning"``, the ITPOSMO
outcome bands as Heeks words them); the report writers show every such code through :func:`say`,
and internal field names through :func:`field_title`. A later English edition is a second table
like :data:`NB`, not a search through the writers. Column headings and sheet names stay with the
view they belong to (``reports/tables.py``), each written once.

Findings are worded here too: :data:`FINDINGS` holds, for every rule code a finding can carry (the
sync's data-quality rules and its own findings about a site, the analytics' ``AnalysisFinding``
codes), what is wrong and what to do, and :func:`describe` fills them in. The HTML report, the
workbook and the sync's feedback to the project sites all read them from here; the English
``message`` of a finding stays for the command line and the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

#: Placeholders the analytics put in a grouping column when a value is missing (shown as is).
NO_OWNER = "(uten eier)"
NO_UNIT = "(uten måleenhet)"
NO_YEAR = "(uten realiseringstidspunkt)"
NOT_GIVEN = "(mangler)"
#: Where a rating row is, when its frame does not say (``row`` counts from 1), and the name it is
#: listed under when it has no project name.
ROW = "rad {row}"
UNNAMED_ROW = "(rad {row} uten prosjektnavn)"

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
    # what an unreadable value should have been (portfolio/frames.py)
    "number": "tall",
    "date": "dato",
    # the report's views, named when one cannot be computed (reports/views.py)
    "Project list": "Prosjektlisten",
    "Benefits realisation": "Gevinstrealiseringen",
    "Risk picture": "Risikobildet",
    "Stakeholders": "Interessentoversikten",
    "ITPOSMO assessment": "ITPOSMO-vurderingen",
    "Prioritisation": "Prioriteringen",
    "History": "Historikken",
    "Changes since": "Endringsoversikten",
    "Target moves": "Oversikten over målendringer",
    # ITPOSMO dimensions (portfolio/itposmo.py), as Heeks' dimensions are put in Norwegian
    "information": "Informasjon",
    "technology": "Teknologi",
    "processes": "Prosesser",
    "objectives": "Mål og verdier",
    "staffing": "Bemanning og kompetanse",
    "management": "Styringssystemer og strukturer",
    "other_resources": "Andre ressurser: tid og penger",
    "outside bands": "utenfor intervallene",
    "no band covers this total": "ingen intervall dekker summen",
    # a project excluded from the ranking without a name (portfolio/prioritisation.py)
    "no project name": "mangler prosjektnavn",
    # fields the template does not define
    "ContentType": "Innholdstype",
    # benefit gaps and what to do about them (portfolio/benefits.py, benefit_gaps)
    "benefit without indicators": "gevinst uten måleindikator",
    "benefit without owner": "gevinst uten eier",
    "indicator without measurements": "måleindikator uten målinger",
    "stale indicator": "måleindikator med utdatert måling",
    "add a Måleindikator linked to this Gevinst": "legg til en måleindikator knyttet til gevinsten",
    "set Gevinsteier or Gevinstansvarlig": "fyll inn Gevinsteier eller Gevinstansvarlig",
    "register a measurement in Gevinstoppfølging": "registrer en måling i Gevinstoppfølging",
    "register a new measurement in Gevinstoppfølging": "registrer en ny måling i Gevinstoppfølging",
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


@cache
def _list_titles() -> dict[str, str]:
    from veiviser.schemas.catalog import catalogue

    cat = catalogue()
    return {key: lst.title for key, lst in (*cat.hub.items(), *cat.project.items())}


def list_title(frame: Any) -> Any:
    """The title of the list a frame comes from (``measurements`` -> «Gevinstoppfølging»,
    ``projects`` -> «Prosjekter»); another frame as its code word, a file name unchanged."""
    return _list_titles().get(frame, say(frame)) if isinstance(frame, str) else frame


@dataclass(frozen=True)
class FindingWords:
    """A finding rule in Norwegian: what is wrong, and what to do about it. Both are templates
    (:meth:`str.format`) over the finding's values; see :func:`describe`."""

    text: str
    todo: str


#: Rule code -> its Norwegian wording, for every code a finding can carry. The place (list,
#: project, item, field) is shown beside the text, so the text names only what it needs.
FINDINGS: Mapping[str, FindingWords] = {
    # the sync's data-quality rules (veiviser.sync.quality.RULES)
    "risk-scale-range": FindingWords(
        "{field} er {value}, men skalaen er 0–5 (0 = ikke vurdert).",
        "Sett en verdi fra 1 til 5, eller 0 om den ikke er vurdert.",
    ),
    "indicator-missing-start": FindingWords(
        "Måleindikatoren mangler startverdi.",
        "Fyll inn Startverdi (nivået før endringen) i Måleindikatorer.",
    ),
    "indicator-missing-desired": FindingWords(
        "Måleindikatoren mangler ønsket verdi.",
        "Fyll inn Ønsket verdi (målet) i Måleindikatorer.",
    ),
    "indicator-target-equals-baseline": FindingWords(
        "Ønsket verdi er lik startverdien ({value}), så måloppnåelsen kan ikke regnes i prosent.",
        "Kontroller Startverdi og Ønsket verdi; er målet å holde dagens nivå, kan det stå slik.",
    ),
    "indicator-without-benefit": FindingWords(
        "Måleindikatoren er ikke knyttet til en gevinst som finnes.",
        "Velg gevinsten måleindikatoren måler i feltet Gevinst i Måleindikatorer.",
    ),
    "indicator-benefit-missing": FindingWords(
        "Måleindikatoren peker på gevinst {value}, som ikke finnes (kanskje slettet).",
        "Velg en gevinst som finnes, eller gjenopprett gevinsten fra papirkurven.",
    ),
    "measurement-without-indicator": FindingWords(
        "Målingen er ikke knyttet til en måleindikator som finnes.",
        "Velg måleindikator for målingen i Gevinstoppfølging.",
    ),
    "measurement-indicator-missing": FindingWords(
        "Målingen peker på måleindikator {value}, som ikke finnes (kanskje slettet).",
        "Velg en måleindikator som finnes, eller gjenopprett måleindikatoren fra papirkurven.",
    ),
    "measurement-without-value": FindingWords(
        "Målingen mangler målt verdi.",
        "Fyll inn Målt verdi i Gevinstoppfølging, eller slett målingen.",
    ),
    "benefit-without-owner": FindingWords(
        "Gevinsten mangler gevinsteier.",
        "Fyll inn Gevinsteier: personen som har ansvar for at gevinsten blir tatt ut.",
    ),
    # the sync's own findings about a site (veiviser.sync.quality.SITE_RULES)
    "list-missing": FindingWords(
        "Listen {list} mangler på prosjektområdet (synkroniseringer på rad: {value}).",
        "Gjenopprett listen fra papirkurven, eller gi den tilbake navnet {list} om den er omdøpt. "
        "Mangler den over flere synkroniseringer, tas radene ut av porteføljen.",
    ),
    "list-renamed": FindingWords(
        "Listen {list} har fått nytt navn: «{value}».",
        "Gi listen tilbake navnet {list}; porteføljen og Prosjektportalen forventer det navnet.",
    ),
    "mass-delete-held": FindingWords(
        "Synkroniseringen ville slettet {value} rader fra prosjektområdet på én gang; ingenting ble slettet.",
        "Gjenopprett elementene fra papirkurven. Er slettingen tilsiktet, kjører porteføljekontoret "
        "synkroniseringen med --allow-mass-delete.",
    ),
    "person-unknown": FindingWords(
        "Personen «{value}» i {field} finnes ikke i virksomhetens katalog; raden er med i porteføljen "
        "uten personen.",
        "Velg en person som finnes i katalogen.",
    ),
    "column-missing": FindingWords(
        "Listen {list} mangler kolonnen {field}; radene er med i porteføljen uten den (tom).",
        "Legg til kolonnen med veiviser provision upgrade, eller la det være om prosjektet ikke bruker den.",
    ),
    "choice-outside": FindingWords(
        "«{value}» i {field} er ikke et av porteføljens valg; raden er med i porteføljen uten verdien.",
        "Velg en av verdiene i kolonnen, eller legg verdien til blant valgene på hubben og prosjektområdene.",
    ),
    # the analytics (veiviser.portfolio: frames, risks, benefits, itposmo, prioritisation, reports)
    "unreadable-value": FindingWords(
        "«{value}» kan ikke leses som {kind}; verdien er regnet som tom.",
        "Rett verdien i listen på prosjektområdet (forventet: {kind}).",
    ),
    "view-not-computed": FindingWords(
        "{view} kunne ikke beregnes; den delen av rapporten er tom.",
        "Kontroller at listen har feltene malen krever (veiviser provision upgrade legger til det som "
        "mangler), og lag rapporten på nytt.",
    ),
    "unknown-content-type": FindingWords(
        "Innholdstypen «{value}» er verken Risiko eller Mulighet; elementet er ikke med i risikobildet.",
        "Velg innholdstypen Risiko eller Mulighet for elementet i Usikkerhet.",
    ),
    "out-of-range": FindingWords(
        "{field} er {value}, ikke et helt tall fra 0 til 5; elementet står utenfor risikomatrisen.",
        "Sett en verdi fra 1 til 5, eller 0 om den ikke er vurdert.",
    ),
    "not-measurable": FindingWords(
        "Måloppnåelsen kan ikke beregnes: {fields} mangler.",
        "Fyll inn Startverdi og Ønsket verdi på måleindikatoren og Målt verdi på målingen.",
    ),
    "undated-measurement": FindingWords(
        "Målingen har ingen dato, så den blir aldri gjeldende måling.",
        "Fyll inn Dato for måling i Gevinstoppfølging.",
    ),
    "no-unit": FindingWords(
        "Måleindikatoren har ingen måleenhet; verdiene legges ikke sammen med andre.",
        "Velg Måleenhet (Antall, Kroner, Prosent eller Timer) i Måleindikatorer.",
    ),
    "no-project": FindingWords(
        "Raden har ikke noe prosjektnavn og er holdt utenfor.",
        "Fyll inn prosjektnavnet i raden.",
    ),
    "missing-dimension": FindingWords(
        "{project} mangler vurdering for {field}; prosjektet er ikke summert.",
        "Vurder alle de sju dimensjonene på skalaen {scale}.",
    ),
    "missing-rating": FindingWords(
        "{project} mangler vurdering for {fields}; de teller som dårligste vurdering.",
        "Vurder alle kriteriene, så poengene kan sammenlignes med de andre prosjektene.",
    ),
    "not-a-number": FindingWords(
        "{field} for {project} er «{value}», som ikke er et tall; prosjektet er holdt utenfor beregningen.",
        "Bruk et tall fra {scale}.",
    ),
    "out-of-scale": FindingWords(
        "{field} for {project} er {value}, utenfor skalaen {scale}; prosjektet er holdt utenfor beregningen.",
        "Vurder på skalaen {scale}.",
    ),
    "default-weight": FindingWords(
        "Vekten for {field} er ukjent i modellen «{model}»; den dokumenterte standardverdien {value} er brukt.",
        "Sett vekten med --weight {field}=V eller i en egen modellfil, etter vedtak i porteføljestyret.",
    ),
    "unknown-column": FindingWords(
        "Kolonnen «{value}» passer ikke til noe kriterium i modellen «{model}» og er ikke brukt.",
        "Rett kolonneoverskriften til navnet på et kriterium.",
    ),
    "missing-criteria": FindingWords(
        "Filen har ingen kolonne for {fields}; ingen prosjekter har disse vurderingene.",
        "Legg til en kolonne per kriterium i filen.",
    ),
}

#: How :func:`describe` shows a finding whose code has no wording (never, while the test holds).
UNKNOWN_FINDING = FindingWords("Verdien kan ikke brukes slik den står.", "Kontroller verdien i listen.")

#: Values :func:`describe` shows by their display names (internal field names, dimension keys),
#: and values that are code words (:func:`say`); any other value is the data's own.
_FIELD_VALUES = ("field", "fields")
_WORD_VALUES = ("kind", "view")


def _shown(name: str, value: Any) -> str:
    """One value as a template shows it: names by their titles, lists joined, numbers Norwegian."""
    if isinstance(value, list | tuple):
        parts = [_shown(name, v) for v in value]
        return " og ".join(p for p in (", ".join(parts[:-1]), parts[-1]) if p) if parts else ""
    if value is None:
        return "(tom)"
    if name in _FIELD_VALUES:
        return str(field_title(value))
    if isinstance(value, bool):
        return "ja" if value else "nei"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | float):
        return str(value).replace(".", ",").replace("-", "−")
    return str(say(value)) if name in _WORD_VALUES else str(value)


#: What :func:`describe` shows for a value the wording names but the finding lacks.
UNKNOWN_VALUE = "(ukjent)"


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return UNKNOWN_VALUE


def describe(code: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """The Norwegian text and the what-to-do of a finding with rule ``code``, its templates filled
    from ``values`` (``field``, ``fields``, ``value``, ``list``, ``project``, ``scale`` and the rule's
    own details)."""
    words = FINDINGS.get(code, UNKNOWN_FINDING)
    shown = _Values({name: _shown(name, value) for name, value in values.items()})
    return words.text.format_map(shown), words.todo.format_map(shown)


__all__ = [
    "FINDINGS",
    "NB",
    "NOT_GIVEN",
    "NO_OWNER",
    "NO_UNIT",
    "NO_YEAR",
    "ROW",
    "UNNAMED_ROW",
    "FindingWords",
    "describe",
    "field_title",
    "list_title",
    "say",
]
