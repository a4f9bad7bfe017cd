"""Deterministic, realistic demo data for the project sites and the hub.

:func:`generate_project` builds one project's risks and opportunities, stakeholders, changes,
benefits, measure indicators and measurements, ITPOSMO ratings and prioritisation ratings, all as
plain rows keyed by the template's internal names. Person fields hold a :class:`Person` (resolved
to a site user id with ``EnsureUser`` when written), lookups a :class:`Ref` to another generated
row (resolved to the created item's id). :func:`plan_changes` describes the "change step" between
the two syncs of the tour. Nothing here talks to SharePoint.

The data are a function of ``(seed, project title, project position, today)`` only: a project
gets the same rows whether the whole portfolio or the first few projects are generated. The
data-quality cases the report must handle (``docs/data-model.md``, "Data-quality cases": target
equal to the baseline, missing start value, over-delivery, decreasing targets, stale indicators, benefits
without owner or indicators, indicators without measurements) are placed on the first three
projects, so a short demo shows them too; the rest of the portfolio varies at random. Benefits
carry the goal they serve (``GtGainsGoal``, from the content; a few have none, so the benefit tree
shows a missing goal too).

The texts and figures the rows are drawn from (names, risks, stakeholders, benefits and their
indicators, by theme) are data, kept in ``content.yaml`` beside this module.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from typing import Any

import yaml

from veiviser.schemas.names import F, Kind

DEFAULT_SEED = 2018
EMAIL_DOMAIN = "trondheim.kommune.example"  # reserved TLD: the demo's people are fictional

#: Phases handed out in portfolio order (spread over the PP365 phases).
PHASE_CYCLE = (
    "Gjennomføre",
    "Realisere",
    "Planlegge",
    "Avslutte",
    "Gjennomføre",
    "Konsept",
    "Realisere",
    "Idé",
    "Gjennomføre",
    "Planlegge",
    "Avslutte",
    "Gjennomføre",
)
#: Phases in which benefits are being measured.
MEASURING_PHASES = frozenset({"Gjennomføre", "Avslutte", "Realisere"})

#: The ITPOSMO dimensions on the hub's Prosjekter list (the operands of ``GtItposmoTotal``).
ITPOSMO_FIELDS: tuple[str, ...] = tuple(
    str(f)
    for f in (
        F.ITPOSMO_INFORMATION,
        F.ITPOSMO_TECHNOLOGY,
        F.ITPOSMO_PROCESSES,
        F.ITPOSMO_OBJECTIVES,
        F.ITPOSMO_STAFFING,
        F.ITPOSMO_MANAGEMENT,
        F.ITPOSMO_OTHER_RESOURCES,
    )
)

#: Keys of the generated project-site lists, in the order they are written (lookup targets first).
DEMO_LIST_KEYS: tuple[str, ...] = tuple(
    str(k)
    for k in (Kind.RISKS, Kind.STAKEHOLDERS, "changes", Kind.BENEFITS, Kind.INDICATORS, Kind.MEASUREMENTS)
)


@dataclass(frozen=True)
class Person:
    """A person by e-mail (resolved per site with EnsureUser)."""

    email: str
    name: str = ""


@dataclass(frozen=True)
class Ref:
    """A lookup to another generated row of the same project: ``Ref("benefits", "b1")``."""

    kind: str
    key: str


@dataclass
class Row:
    """One list item to create: a local key, the values (internal names) and, for Usikkerhet, the content type."""

    key: str
    values: dict[str, Any]
    content_type: str | None = None

    def __post_init__(self) -> None:
        self.values = _plain_keys(self.values)


def _plain_keys(values: dict[str, Any]) -> dict[str, Any]:
    """Field names as plain strings (the code writes them as :class:`F` members)."""
    return {str(k): v for k, v in values.items()}


@dataclass
class ProjectData:
    """Everything generated for one project."""

    title: str
    alias: str
    index: int
    unit: str
    theme: str
    phase: str
    leader: Person
    owner: Person
    rows: dict[str, list[Row]] = field(default_factory=lambda: {k: [] for k in DEMO_LIST_KEYS})
    itposmo: dict[str, int] | None = None
    priorities: dict[str, int] = field(default_factory=dict)

    def people(self) -> list[Person]:
        """Every distinct person the rows refer to (for one EnsureUser round)."""
        seen: dict[str, Person] = {}
        for rows in self.rows.values():
            for row in rows:
                for v in row.values.values():
                    if isinstance(v, Person):
                        seen.setdefault(v.email, v)
        return list(seen.values())


@dataclass
class ChangeSet:
    """The change step for one project: updates by local key, deletions, new rows."""

    updates: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # kind -> key -> values
    deletes: dict[str, list[str]] = field(default_factory=dict)  # kind -> keys
    creates: dict[str, list[Row]] = field(default_factory=dict)  # kind -> rows

    @property
    def empty(self) -> bool:
        return not (any(self.updates.values()) or any(self.deletes.values()) or any(self.creates.values()))


# --- people ------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def person(first: str, last: str) -> Person:
    """A fictional employee with an address under :data:`EMAIL_DOMAIN`."""
    return Person(f"{_ascii(first)}.{_ascii(last)}@{EMAIL_DOMAIN}", f"{first} {last}")


def _random_person(rng: random.Random) -> Person:
    return person(rng.choice(_FIRST), rng.choice(_LAST))


# --- themes ------------------------------------------------------------------------------------


def theme_of(title: str, unit: str | None) -> str:
    """``it``, ``plan``, ``oppvekst`` or ``helse`` from the unit (and a few title words)."""
    text = f"{title} {unit or ''}".lower()
    if any(w in text for w in ("oppvekst", "elev", "barnehage", "lærings", "barnevern")):
        return "oppvekst"
    if any(w in text for w in ("kart", "plan", "bygg", "fdvu", "avgift")):
        return "plan"
    if any(w in text for w in ("service", "helse", "legevakt", "sosial", "trygghet", "digisos")):
        return "helse"
    return "it"


# --- content -----------------------------------------------------------------------------------

_RISK = ("title", "description", "action")
_STAKEHOLDER = ("title", "group", "context", "interest")


def _load_content() -> dict[str, Any]:
    """The demo's texts and figures (``content.yaml`` beside this module)."""
    text = resources.files("veiviser.demo").joinpath("content.yaml").read_text(encoding="utf-8")
    content: dict[str, Any] = yaml.safe_load(text)
    return content


def _tuples(items: list[dict[str, Any]], keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(item[k] for k in keys) for item in items]


def _benefit(item: dict[str, Any]) -> tuple[str, str, str, str | None, list[tuple[Any, ...]]]:
    """(benefit, type, prerequisite, goal or None, [(indicator title, unit, start, desired), ...])."""
    indicators = _tuples(item["indicators"], ("title", "unit", "start", "desired"))
    return item["title"], item["type"], item["prerequisite"], item.get("goal"), indicators


_CONTENT = _load_content()
_FIRST: tuple[str, ...] = tuple(_CONTENT["first_names"])
_LAST: tuple[str, ...] = tuple(_CONTENT["last_names"])
_RISKS_COMMON = _tuples(_CONTENT["risks"], _RISK)
_RISKS_THEME = {theme: _tuples(items, _RISK) for theme, items in _CONTENT["risks_by_theme"].items()}
_OPPORTUNITIES = _tuples(_CONTENT["opportunities"], _RISK)
# Stakeholders: the shared ones are on every project.
_STAKEHOLDERS_SHARED = _tuples(_CONTENT["stakeholders_shared"], _STAKEHOLDER)
_STAKEHOLDERS_OPTIONAL = _tuples(_CONTENT["stakeholders_optional"], _STAKEHOLDER)
_STAKEHOLDERS_THEME = {
    theme: _tuples(items, _STAKEHOLDER) for theme, items in _CONTENT["stakeholders_by_theme"].items()
}
_BENEFITS = {theme: [_benefit(b) for b in items] for theme, items in _CONTENT["benefits_by_theme"].items()}
_CHANGES = {
    theme: _tuples(items, ("title", "process")) for theme, items in _CONTENT["changes_by_theme"].items()
}
_TURNOVER: tuple[str, ...] = tuple(_CONTENT["turnover"])


# --- generation --------------------------------------------------------------------------------


def _rng(seed: int, title: str, purpose: str = "data") -> random.Random:
    return random.Random(f"veiviser-demo:{seed}:{purpose}:{title}")


def _rounded(unit: str, value: float) -> float:
    if unit == "Kroner":
        return float(round(value / 1000) * 1000)
    if unit == "Prosent":
        return round(value, 1)
    return float(round(value))


def _risks(rng: random.Random, theme: str, phase: str, index: int, people: list[Person]) -> list[Row]:
    pool = _RISKS_COMMON + _RISKS_THEME[theme]
    picked = rng.sample(pool, rng.randint(4, 7))
    rows: list[Row] = []
    for n, (title, description, action) in enumerate(picked):
        s, k = rng.randint(1, 5), rng.randint(1, 5)
        if n == 0:
            s, k = rng.randint(3, 5), rng.randint(4, 5)  # every project has one serious risk
        elif rng.random() < 0.1 or (index == 1 and n == 1):
            s, k = 0, rng.choice((0, 3))  # not assessed yet
        status = rng.choices(("Identifisert", "Tiltak gjennomført", "Ikke lenger aktuell"), (6, 3, 1))[0]
        if status == "Identifisert" and rng.random() < 0.5:
            s_after, k_after = None, None
        else:
            s_after, k_after = max(0, s - rng.randint(0, 2)), max(0, k - rng.randint(0, 1))
        missing_owner = rng.random() < 0.2 or (index == 2 and n == 1)
        rows.append(
            Row(
                f"r{n + 1}",
                {
                    "Title": title,
                    F.RISK_DESCRIPTION: description,
                    F.RISK_ACTION: action,
                    F.PROJECT_PHASE: phase,
                    F.RISK_PROXIMITY: rng.choice(
                        ("Umiddelbart", "I denne fasen", "Innenfor prosjektet", "Utenfor prosjektet")
                    ),
                    F.RISK_STRATEGY: rng.choices(
                        ("Redusere", "Overvåke", "Unngå", "Overføre", "Dele", "Akseptere"), (6, 3, 1, 1, 1, 1)
                    )[0],
                    F.ACTION_RESPONSIBLE: None if missing_owner else rng.choice(people),
                    F.RISK_PROBABILITY: s,
                    F.RISK_CONSEQUENCE: k,
                    F.RISK_PROBABILITY_POST_ACTION: s_after,
                    F.RISK_CONSEQUENCE_POST_ACTION: k_after,
                    F.RISK_STATUS: status,
                    F.SHOW_IN_PORTFOLIO: True,
                },
                content_type="Risiko",
            )
        )
    for n, (title, description, action) in enumerate(rng.sample(_OPPORTUNITIES, rng.randint(1, 2))):
        s, k = rng.randint(1, 5), rng.randint(1, 4)
        rows.append(
            Row(
                f"o{n + 1}",
                {
                    "Title": title,
                    F.RISK_DESCRIPTION: description,
                    F.RISK_ACTION: action,
                    F.PROJECT_PHASE: phase,
                    F.RISK_PROXIMITY: rng.choice(
                        ("I denne fasen", "Innenfor prosjektet", "Utenfor prosjektet")
                    ),
                    F.RISK_STRATEGY: rng.choice(("Øke", "Utnytte", "Dele", "Akseptere")),
                    F.ACTION_RESPONSIBLE: rng.choice(people) if rng.random() < 0.8 else None,
                    F.RISK_PROBABILITY: s,
                    F.RISK_CONSEQUENCE: k,
                    F.RISK_PROBABILITY_POST_ACTION: min(5, s + rng.randint(0, 1)),
                    F.RISK_CONSEQUENCE_POST_ACTION: k,
                    F.RISK_STATUS: "Identifisert",
                    F.SHOW_IN_PORTFOLIO: True,
                },
                content_type="Mulighet",
            )
        )
    return rows


def _stakeholders(rng: random.Random, theme: str) -> list[Row]:
    pool = list(_STAKEHOLDERS_SHARED)
    pool += rng.sample(_STAKEHOLDERS_THEME[theme], min(len(_STAKEHOLDERS_THEME[theme]), rng.randint(1, 3)))
    pool += rng.sample(_STAKEHOLDERS_OPTIONAL, rng.randint(1, 3))
    levels = ("Stor", "Middels", "Liten", "Ingen")
    rows = []
    for n, (title, group, context, interest) in enumerate(pool):
        affected = rng.choices(levels, (4, 4, 2, 1))[0]
        power = "Stor" if group == "Ledelse" else rng.choices(levels, (3, 4, 3, 1))[0]
        rows.append(
            Row(
                f"s{n + 1}",
                {
                    "Title": title,
                    F.STAKEHOLDER_GROUP: group,
                    F.STAKEHOLDER_CONTEXT: context,
                    F.STAKEHOLDER_STRATEGY: rng.choice(
                        (
                            "Kommunikasjonsplan",
                            "Gevinstrealiseringsplan",
                            "Digitaliseringsstrategien",
                            "Prosjektplan",
                        )
                    ),
                    F.STAKEHOLDER_INTEREST: interest,
                    F.STAKEHOLDER_INFLUENCE: affected,
                    F.STAKEHOLDER_INFLUENCE_POSSIBILTY: power,
                    F.STAKEHOLDER_ACTIONS: rng.choice(
                        (
                            "Månedlig statusmøte.",
                            "Informasjon på intranett og i nyhetsbrev.",
                            "Involveres i arbeidsgrupper.",
                            "Orienteres ved faseoverganger.",
                        )
                    ),
                },
            )
        )
    return rows


def _series(
    rng: random.Random,
    unit: str,
    start: float,
    desired: float,
    months: int,
    last: date,
    pace: float,
) -> list[tuple[date, float]]:
    """Monthly measurements ending at ``last``: moving toward ``desired`` at ``pace`` with noise."""
    out = []
    for m in range(months):
        when = last - timedelta(days=30 * (months - 1 - m))
        progress = pace * (m + 1) / months
        noise = rng.gauss(0, 0.05) * abs(desired - start)
        out.append((when, _rounded(unit, start + progress * (desired - start) + noise)))
    return out


def _benefit_chain(rng: random.Random, data: ProjectData, today: date, people: list[Person]) -> None:
    theme, index = data.theme, data.index
    changes = [
        Row(
            f"c{n + 1}",
            {
                "Title": t,
                F.PROCESS: p,
                F.CHALLENGE_DESCRIPTION: "Dagens arbeidsprosess er manuell og tidkrevende.",
            },
        )
        for n, (t, p) in enumerate(_CHANGES[theme])
    ]
    data.rows["changes"] = changes
    benefits = rng.sample(_BENEFITS[theme], 3 if index == 0 else rng.randint(2, 3))
    if index == 2:  # a benefit without any indicator (and without a goal)
        benefits.append(
            ("Bedre omdømme for kommunen", "Kvalitativ", "Gode tilbakemeldinger fra innbyggerne.", None, [])
        )
    measuring = data.phase in MEASURING_PHASES
    n_ind = 0
    for b, (title, gtype, prereq, goal, indicators) in enumerate(benefits, start=1):
        owner_missing = (index == 2 and b == 1) or rng.random() < 0.1
        data.rows["benefits"].append(
            Row(
                f"b{b}",
                {
                    "Title": title,
                    F.GAINS_TYPE: gtype,
                    F.PREREQ_PROFIT_ACHIEVEMENT: prereq,
                    F.GAINS_TURNOVER: rng.choice(_TURNOVER),
                    F.GAINS_RESPONSIBLE: None if owner_missing and rng.random() < 0.5 else rng.choice(people),
                    F.GAINS_OWNER: None if owner_missing else data.owner if b == 1 else rng.choice(people),
                    F.REALIZATION_TIME: date(today.year + rng.randint(0, 2), rng.choice((3, 6, 9, 12)), 1),
                    F.SHOW_IN_PORTFOLIO: True,
                    F.CHANGE_LOOKUP: [Ref("changes", rng.choice(changes).key)],
                    F.GAINS_GOAL: goal,
                },
            )
        )
        for ind_title, unit, start, desired in indicators:
            n_ind += 1
            scale = rng.uniform(0.7, 1.3) if unit in ("Kroner", "Timer", "Antall") else 1.0
            baseline = _rounded(unit, start * scale)
            start_v: float | None = baseline
            desired_v = _rounded(unit, desired * scale)
            special = ""
            if index == 0 and n_ind == 1:
                special = "equal"  # target equals baseline: keep a level
                desired_v = baseline
                ind_title = f"{ind_title} (holdes på dagens nivå)"
            elif index == 0 and n_ind == 2:
                special = "over"
            elif index == 1 and n_ind == 1:
                special = "nostart"
                start_v = None
            elif index == 1 and n_ind == 2:
                special = "stale"
            data.rows["indicators"].append(
                Row(
                    f"i{n_ind}",
                    {
                        "Title": ind_title,
                        F.START_VALUE: start_v,
                        F.DESIRED_VALUE: desired_v,
                        F.MEASUREMENT_UNIT: unit,
                        F.GAIN_LOOKUP: Ref("benefits", f"b{b}"),
                    },
                )
            )
            if not measuring or (index == 2 and n_ind == 1):
                continue  # planned, not measured yet
            if special == "over":
                pace = rng.uniform(1.1, 1.3)
            elif special == "stale" or rng.random() < 0.15:
                pace, special = rng.uniform(0.1, 0.4), "stale"
            else:
                pace = rng.choices(
                    (rng.uniform(0.4, 0.95), rng.uniform(1.0, 1.25), rng.uniform(-0.15, 0.15)), (7, 2, 1)
                )[0]
            last = today - timedelta(
                days=rng.randint(210, 320) if special == "stale" else rng.randint(10, 40)
            )
            base = start_v if start_v is not None else _rounded(unit, start * scale)
            series = _series(rng, unit, base, desired_v, rng.randint(3, 8), last, pace)
            for m, (when, value) in enumerate(series, start=1):
                data.rows["measurements"].append(
                    Row(
                        f"i{n_ind}m{m}",
                        {
                            "Title": f"{ind_title[:60]} – {when:%m.%Y}",
                            F.MEASUREMENT_DATE: when,
                            F.MEASUREMENT_VALUE: value,
                            F.MEASUREMENT_COMMENT: rng.choice(
                                (
                                    "Hentet fra fagsystemet.",
                                    "Manuell telling.",
                                    "Tall fra rapportverktøyet.",
                                    "Anslag, må kvalitetssikres.",
                                )
                            ),
                            F.MEASURE_INDICATOR_LOOKUP: Ref("indicators", f"i{n_ind}"),
                        },
                    )
                )


def generate_project(
    title: str,
    *,
    index: int,
    unit: str | None = None,
    alias: str = "",
    seed: int = DEFAULT_SEED,
    today: date,
    criteria: tuple[str, ...] = (),
    scale_max: int = 5,
) -> ProjectData:
    """All demo rows for the project at position ``index`` of the portfolio (deterministic)."""
    rng = _rng(seed, title)
    theme = theme_of(title, unit)
    phase = PHASE_CYCLE[index % len(PHASE_CYCLE)]
    staff = [_random_person(rng) for _ in range(5)]
    data = ProjectData(
        title=title,
        alias=alias,
        index=index,
        unit=unit or "",
        theme=theme,
        phase=phase,
        leader=staff[0],
        owner=staff[1],
    )
    data.rows["risks"] = _risks(rng, theme, phase, index, staff)
    data.rows["stakeholders"] = _stakeholders(rng, theme)
    _benefit_chain(rng, data, today, staff)
    if index == 3 or rng.random() >= 0.1:  # a few projects are not assessed yet
        lean = rng.uniform(0.5, 1.5)
        data.itposmo = {f: max(0, min(10, round(rng.gauss(4 * lean, 2)))) for f in ITPOSMO_FIELDS}
    if criteria and index != 3:
        data.priorities = {
            c: rng.randint(0, scale_max) for c in criteria if not (index == 4 and c == criteria[-1])
        }
    return data


def generate_portfolio(
    projects: list[tuple[str, str | None, str]],
    *,
    seed: int = DEFAULT_SEED,
    today: date,
    criteria: tuple[str, ...] = (),
    scale_max: int = 5,
) -> list[ProjectData]:
    """Demo data for ``(title, unit, alias)`` in portfolio order."""
    return [
        generate_project(
            t, index=i, unit=u, alias=a, seed=seed, today=today, criteria=criteria, scale_max=scale_max
        )
        for i, (t, u, a) in enumerate(projects)
    ]


# --- the change step ---------------------------------------------------------------------------


def plan_changes(data: ProjectData, *, seed: int = DEFAULT_SEED, today: date) -> ChangeSet:
    """What changes between the two syncs: re-assessed risks, new measurements, a deleted
    indicator (its measurements stay, pointing at nothing), a moved target, a new risk."""
    rng = _rng(seed, data.title, "changes")
    out = ChangeSet()
    if data.index > 0 and rng.random() < 0.35:
        return out  # most, not all, projects change
    risks = [r for r in data.rows["risks"] if r.content_type == "Risiko"]
    for r in rng.sample(risks, min(len(risks), 2)):
        s = max(1, min(5, int(r.values[F.RISK_PROBABILITY] or 0) + rng.choice((-2, -1, 1))))
        out.updates.setdefault("risks", {})[r.key] = _plain_keys(
            {
                F.RISK_PROBABILITY: s,
                F.RISK_STATUS: rng.choice(("Tiltak gjennomført", "Identifisert", "Ikke lenger aktuell")),
                F.RISK_PROBABILITY_POST_ACTION: max(0, s - 1),
                F.RISK_CONSEQUENCE_POST_ACTION: max(0, int(r.values[F.RISK_CONSEQUENCE] or 0) - 1),
            }
        )
    if data.index == 0 or rng.random() < 0.3:
        out.creates["risks"] = [
            Row(
                "r-ny",
                {
                    "Title": "Forsinkelse i nasjonal integrasjon",
                    F.RISK_DESCRIPTION: "Den nasjonale løsningen vi er avhengig av er forsinket med ett kvartal.",
                    F.RISK_ACTION: "Følge opp i nasjonalt nettverk; vurdere midlertidig løsning.",
                    F.PROJECT_PHASE: data.phase,
                    F.RISK_PROXIMITY: "Umiddelbart",
                    F.RISK_STRATEGY: "Overvåke",
                    F.ACTION_RESPONSIBLE: data.leader,
                    F.RISK_PROBABILITY: 4,
                    F.RISK_CONSEQUENCE: 4,
                    F.RISK_STATUS: "Identifisert",
                    F.SHOW_IN_PORTFOLIO: True,
                },
                content_type="Risiko",
            )
        ]
    measured = {m.values[F.MEASURE_INDICATOR_LOOKUP].key for m in data.rows["measurements"]}
    indicators = {r.key: r for r in data.rows["indicators"]}
    last_values: dict[str, float] = {}
    for m in data.rows["measurements"]:
        last_values[m.values[F.MEASURE_INDICATOR_LOOKUP].key] = m.values[F.MEASUREMENT_VALUE]
    deleted: str | None = None
    candidates = sorted(measured - {"i1", "i2"})  # keep the equal-target and over-delivery cases
    if data.index == 0 and candidates:
        deleted = candidates[-1]
        out.deletes["indicators"] = [deleted]
    for key in sorted(measured - {deleted} if deleted else measured):
        ind = indicators[key].values
        if rng.random() < 0.25 and data.index != 0:
            continue
        start = ind[F.START_VALUE] if ind[F.START_VALUE] is not None else last_values[key]
        step = (ind[F.DESIRED_VALUE] - start) * rng.uniform(0.05, 0.2)
        value = _rounded(ind[F.MEASUREMENT_UNIT], last_values[key] + step)
        out.creates.setdefault("measurements", []).append(
            Row(
                f"{key}m-ny",
                {
                    "Title": f"{ind['Title'][:60]} – {today:%m.%Y}",
                    F.MEASUREMENT_DATE: today,
                    F.MEASUREMENT_VALUE: value,
                    F.MEASUREMENT_COMMENT: "Ny måling etter endringen.",
                    F.MEASURE_INDICATOR_LOOKUP: Ref("indicators", key),
                },
            )
        )
    movable = [
        k
        for k in sorted(indicators)
        if k != deleted
        and indicators[k].values[F.START_VALUE] is not None
        and indicators[k].values[F.START_VALUE] != indicators[k].values[F.DESIRED_VALUE]
    ]
    if movable and (data.index == 0 or rng.random() < 0.4):
        key = rng.choice(movable)
        ind = indicators[key].values
        moved = ind[F.START_VALUE] + (ind[F.DESIRED_VALUE] - ind[F.START_VALUE]) * 0.8
        out.updates.setdefault("indicators", {})[key] = _plain_keys(
            {F.DESIRED_VALUE: _rounded(ind[F.MEASUREMENT_UNIT], moved)}
        )
    return out
