"""All report views computed once from a dataset, with the analytics functions of the package.

Every writer (Excel, star schema, HTML) reads a :class:`ReportViews`; none recomputes a figure.
A view that cannot be computed (e.g. a frame lacks a required column) becomes an empty view and
an error finding, so one bad input never stops the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from veiviser.errors import VeiviserError
from veiviser.portfolio.benefits import BenefitAnalysis, analyse_benefits, planned_vs_realised
from veiviser.portfolio.dataset import PortfolioDataset
from veiviser.portfolio.findings import AnalysisFinding, findings_frame
from veiviser.portfolio.frames import is_missing, prepare, to_timestamp
from veiviser.portfolio.history import changes_since, target_moves
from veiviser.portfolio.itposmo import ItposmoResult, assess_itposmo
from veiviser.portfolio.prioritisation import PriorityResult, score_projects
from veiviser.portfolio.risks import (
    OPPORTUNITY,
    RISK,
    RiskMatrix,
    opportunities,
    prepare_risks,
    risk_matrix,
    risk_summary,
    risks_without_owner,
    unacceptable_risks,
)
from veiviser.portfolio.stakeholders import stakeholder_counts
from veiviser.schemas.names import F

#: Default look-back for "changes since" when no date is given.
DEFAULT_SINCE_DAYS = 30


# The stakeholder fields the report counts by, in column order.
STAKEHOLDER_GROUPING = tuple(
    str(f) for f in (F.STAKEHOLDER_GROUP, F.STAKEHOLDER_INFLUENCE, F.STAKEHOLDER_INTEREST)
)


@dataclass
class ReportViews:
    """The computed views; frames are never None (empty when there is no data)."""

    as_of: pd.Timestamp
    since: pd.Timestamp
    title: str
    source: str
    projects: pd.DataFrame
    benefits: BenefitAnalysis | None
    planned_realised: pd.DataFrame
    risks: pd.DataFrame  # prepared risks (kind, factor, factor_after, closed)
    matrices: dict[tuple[str, str], RiskMatrix]  # (kind, stage) -> portfolio matrix
    unacceptable: pd.DataFrame
    without_owner: pd.DataFrame
    opportunities: pd.DataFrame
    risk_summary: pd.DataFrame
    stakeholders: pd.DataFrame
    stakeholder_counts: pd.DataFrame
    itposmo: ItposmoResult | None
    priority: PriorityResult | None
    changes: pd.DataFrame
    target_moves: pd.DataFrame
    history: pd.DataFrame
    findings: list[AnalysisFinding] = field(default_factory=list)
    project_titles: dict[str, str] = field(default_factory=dict)  # project_key -> title

    @property
    def findings_frame(self) -> pd.DataFrame:
        return findings_frame(self.findings)


def _attempt(
    findings: list[AnalysisFinding], what: str, frame: str, func: Callable[[], Any], fallback: Any
) -> Any:
    """Run one view; a VeiviserError becomes an error finding and ``fallback``. ``what`` names the
    view (a code word of :data:`veiviser.portfolio.words.NB`)."""
    try:
        return func()
    except VeiviserError as exc:
        findings.append(
            AnalysisFinding(
                "error",
                "view-not-computed",
                f"{what} could not be computed: {exc}",
                frame=frame,
                hint=exc.hint or "Correct the input named in the message and run the report again.",
                details={"view": what},
            )
        )
        return fallback


def build_views(dataset: PortfolioDataset, *, since: object | None = None) -> ReportViews:
    """Compute every view of the report for ``dataset`` (changes since ``since``; default 30 days
    before ``as_of``)."""
    as_of = dataset.as_of
    since_ts = (
        to_timestamp(since, "since") if since is not None else as_of - pd.Timedelta(days=DEFAULT_SINCE_DAYS)
    )
    if since_ts > as_of:
        raise VeiviserError(
            f"--since {since_ts:%Y-%m-%d} is after the report date {as_of:%Y-%m-%d}",
            hint="Give a date on or before the as-of date of the data.",
        )
    findings: list[AnalysisFinding] = []
    empty = pd.DataFrame()

    projects = _attempt(
        findings,
        "Project list",
        "projects",
        lambda: prepare("projects", dataset.projects, findings=findings),
        empty,
    )
    analysis = _attempt(
        findings,
        "Benefits realisation",
        "benefits",
        lambda: analyse_benefits(dataset.benefits, dataset.indicators, dataset.measurements, as_of=as_of),
        None,
    )
    if analysis is not None:
        findings.extend(analysis.findings)
    pvr = planned_vs_realised(analysis, by=("owner", "year")) if analysis is not None else empty

    risk_findings: list[AnalysisFinding] = []
    risks = _attempt(
        findings, "Risk picture", "risks", lambda: prepare_risks(dataset.risks, risk_findings), None
    )
    matrices: dict[tuple[str, str], RiskMatrix] = {}
    if risks is not None:
        findings.extend(risk_findings)
        for kind in (RISK, OPPORTUNITY):
            for stage in ("before", "after"):
                matrices[(kind, stage)] = risk_matrix(dataset.risks, kind=kind, stage=stage)
        unacceptable = unacceptable_risks(dataset.risks)
        no_owner = risks_without_owner(dataset.risks)
        opps = opportunities(dataset.risks)
        summary = risk_summary(dataset.risks)
    else:
        risks = unacceptable = no_owner = opps = summary = empty

    stakeholders = _attempt(
        findings,
        "Stakeholders",
        "stakeholders",
        lambda: prepare("stakeholders", dataset.stakeholders, findings=findings),
        empty,
    )
    counts = (
        stakeholder_counts(dataset.stakeholders, by=STAKEHOLDER_GROUPING) if not stakeholders.empty else empty
    )

    itposmo = None
    ratings = dataset.itposmo_ratings()
    if ratings is not None and not ratings.empty:
        itposmo = _attempt(
            findings,
            "ITPOSMO assessment",
            "itposmo",
            lambda: assess_itposmo(ratings, dataset.itposmo_settings()),
            None,
        )
        if itposmo is not None:
            findings.extend(itposmo.problems)

    priority = None
    pratings = dataset.priority_ratings()
    if pratings is not None and not pratings.empty:
        priority = _attempt(
            findings, "Prioritisation", "priorities", lambda: score_projects(pratings, dataset.model()), None
        )
        if priority is not None:
            findings.extend(priority.problems)
            findings.extend(priority.warnings)

    history = _attempt(findings, "History", "history", lambda: prepare("history", dataset.history), empty)
    changes = empty
    moves = empty
    if not history.empty:
        changes = _attempt(
            findings,
            "Changes since",
            "history",
            lambda: changes_since(
                dataset.history, since_ts, as_of=as_of, kinds=("risks", "benefits", "indicators")
            ),
            empty,
        )
        moves = _attempt(findings, "Target moves", "history", lambda: target_moves(dataset.history), empty)
        if not moves.empty:
            moves = moves[moves["moves"] > 0].reset_index(drop=True)

    titles = _titles(projects, dataset)
    if analysis is not None:
        for name in ("measurements", "indicators", "benefits", "gaps"):
            setattr(analysis, name, _fill_titles(getattr(analysis, name), titles))
    risks, unacceptable, no_owner, opps, summary, changes = (
        _fill_titles(f, titles) for f in (risks, unacceptable, no_owner, opps, summary, changes)
    )
    projects = _project_view(projects, analysis, summary)
    return ReportViews(
        as_of=as_of,
        since=since_ts,
        title=dataset.title,
        source=dataset.source,
        projects=projects,
        benefits=analysis,
        planned_realised=pvr,
        risks=risks,
        matrices=matrices,
        unacceptable=unacceptable,
        without_owner=no_owner,
        opportunities=opps,
        risk_summary=summary,
        stakeholders=stakeholders,
        stakeholder_counts=counts,
        itposmo=itposmo,
        priority=priority,
        changes=changes,
        target_moves=moves,
        history=history,
        findings=findings,
        project_titles=titles,
    )


def _titles(projects: pd.DataFrame, dataset: PortfolioDataset) -> dict[str, str]:
    """project_key -> title, from the projects frame and, for unknown projects, from the rows."""
    titles: dict[str, str] = {}
    for name in ("risks", "stakeholders", "benefits", "indicators", "measurements", "history"):
        frame = getattr(dataset, name)
        if {"project_key", "project_title"} <= set(frame.columns):
            for key, title in zip(frame["project_key"], frame["project_title"], strict=True):
                if not is_missing(key) and not is_missing(title):
                    titles.setdefault(str(key), str(title))
    if not projects.empty:
        for key, title in zip(projects["project_key"], projects["project_title"], strict=True):
            if not is_missing(key) and not is_missing(title):
                titles[str(key)] = str(title)
    return titles


def _fill_titles(frame: pd.DataFrame, titles: dict[str, str]) -> pd.DataFrame:
    """``project_title`` filled from ``titles`` where it is missing."""
    if frame is None or frame.empty or "project_key" not in frame.columns:
        return frame
    out = frame.copy()
    known = out["project_key"].map(lambda k: titles.get(str(k)) if not is_missing(k) else None)
    if "project_title" not in out.columns:
        out["project_title"] = known
    else:
        out["project_title"] = out["project_title"].where(~out["project_title"].map(is_missing), known)
    return out


def _project_view(
    projects: pd.DataFrame, analysis: BenefitAnalysis | None, summary: pd.DataFrame
) -> pd.DataFrame:
    """One row per project with its key properties, risk counts and benefit status counts."""
    if projects.empty:
        return projects
    out = projects.copy()
    if not summary.empty:
        s = summary.set_index("project_key")
        for col in ("open_risks", "unacceptable", "without_owner", "open_opportunities", "max_factor"):
            out[col] = out["project_key"].map(s[col])
    if analysis is not None and not analysis.benefits.empty:
        ben = analysis.benefits
        out["benefits"] = out["project_key"].map(ben.groupby("project_key").size()).fillna(0).astype(int)
        worst = ben[ben["status"].isin(["behind", "stale"])].groupby("project_key").size()
        out["benefits_behind_or_stale"] = out["project_key"].map(worst).fillna(0).astype(int)
    for col in (
        "open_risks",
        "unacceptable",
        "without_owner",
        "open_opportunities",
        "benefits",
        "benefits_behind_or_stale",
    ):
        if col in out.columns:
            out[col] = out[col].map(lambda v: 0 if is_missing(v) else int(v))
    return out
