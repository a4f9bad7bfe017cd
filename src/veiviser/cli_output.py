"""Everything the ``veiviser`` command line prints: rich tables, JSON and CSV.

The library functions return data (dataclasses and dicts); :mod:`veiviser.cli` parses the
arguments, calls them and hands the result to one function here. ``--output json`` prints the same
dict the Python API returns (``to_dict``/``*_data``), so a script and the CLI see one shape
(docs/architecture.md).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from veiviser.portfolio.reports.inert import csv_safe_frame
from veiviser.sharepoint import describe_pace

if TYPE_CHECKING:
    from veiviser.certificates import AppCertificate
    from veiviser.doctor import DoctorReport
    from veiviser.portfolio.findings import AnalysisFinding
    from veiviser.portfolio.itposmo import ItposmoResult
    from veiviser.portfolio.prioritisation import PriorityResult
    from veiviser.provisioning.bulk import BulkResult, UpgradeResult
    from veiviser.provisioning.engine import SiteResult
    from veiviser.provisioning.steps import Plan
    from veiviser.schemas.template import Template

#: The choices of every ``--output`` option; ``text`` is the old ``--format text`` (= table).
OUTPUTS = ("table", "json", "csv")
WIDE = 160
"""Columns when the output is not a terminal (piped or in a log): nothing is cut."""


def normalise_output(fmt: str) -> str:
    """``text`` (the old ``--format`` value) means ``table``."""
    return "table" if fmt == "text" else fmt


# --- plumbing -------------------------------------------------------------------------------------


def console(file: io.StringIO | None = None) -> Console:
    """A console for the terminal, or one wide enough that a pipe or a log cuts nothing."""
    out = Console(file=file) if file is not None else Console()
    if file is not None or not out.is_terminal:
        out = Console(file=file, width=WIDE, color_system=None if file is not None else "auto")
    return out


def render(*parts: RenderableType) -> str:
    """Renderables as plain text (no colours), as a pipe or a test would see them."""
    buf = io.StringIO()
    out = console(buf)
    for part in parts:
        out.print(part)
    return buf.getvalue()


def to_json(data: Any) -> str:
    """``data`` as indented JSON (non-ASCII kept; dates and other objects as text)."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV with a header; a list or dict cell is written as JSON."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                for k, v in row.items()
            }
        )
    return buf.getvalue()


def cell(value: object) -> str:
    """A table cell: None and NaN read as empty."""
    return "" if value is None or value != value else str(value)


def _table(title: str | None = None, **kwargs: Any) -> Table:
    return Table(
        title=title,
        title_justify="left",
        box=None,
        padding=(0, 1),
        pad_edge=False,
        header_style="bold",
        **kwargs,
    )


# --- sync status ----------------------------------------------------------------------------------

_RUN_COLUMNS = (
    "run",
    "status",
    "started (UTC)",
    "sites",
    "failed",
    "new",
    "changed",
    "deleted",
    "findings",
    "requests",
)
SITE_COLUMNS = ("site_url", "title", "last_status", "last_ok", "lag_hours", "last_error")


def sync_status(status: Mapping[str, Any], fmt: str) -> str:
    """``veiviser sync status``: JSON is the library's dict; CSV one row per site; else two tables."""
    fmt = normalise_output(fmt)
    if fmt == "json":
        return to_json(status)
    if fmt == "csv":
        return to_csv(status["sites"], SITE_COLUMNS)
    runs_table = _table("Last runs")
    for column in _RUN_COLUMNS:
        runs_table.add_column(
            column, no_wrap=True, justify="left" if column in ("status", "started (UTC)") else "right"
        )
    for r in status["runs"]:
        counts = r.get("counts") or {}
        runs_table.add_row(
            cell(r["id"]),
            cell(r["status"]),
            cell(r["started_at"])[:16],
            cell(counts.get("sites")),
            cell(r["failed_sites"]),
            *(cell(counts.get(k)) for k in ("created", "updated", "deleted", "findings", "requests")),
        )
    parts: list[RenderableType] = [runs_table if status["runs"] else "No sync runs recorded yet."]
    if status["sites"]:
        sites_table = _table("Sites")
        sites_table.add_column("status", no_wrap=True)
        sites_table.add_column("lag (h)", justify="right", no_wrap=True)
        url_width = max(len(cell(site["site_url"])) for site in status["sites"])
        sites_table.add_column("site", min_width=url_width, no_wrap=True)  # a URL is never cut or folded
        sites_table.add_column("last error", overflow="fold")
        for site in status["sites"]:
            sites_table.add_row(
                cell(site["last_status"]),
                cell(site["lag_hours"]),
                cell(site["site_url"]),
                cell(site["last_error"]),
            )
        parts.append(sites_table)
    for finding in status.get("site_findings") or []:  # missing or renamed lists, held deletions
        parts.append(Text(f"{finding['rule']}: {finding['message']}"))
    if status["lock"]:
        parts.append(Text(f"lock held by {status['lock']['owner']} until {status['lock']['expires_at']}"))
    queue = status.get("queue")
    if queue:
        parts.append(
            Text(
                f"shared run: {queue['done']} sites done, {queue['failed']} failed, "
                f"{queue['claimed']} in progress, {queue['pending']} waiting"
            )
        )
    return render(*parts)


# --- provisioning ---------------------------------------------------------------------------------

STEP_COLUMNS = ("site", "round", "action", "list", "target", "detail")


def plan_renderable(plan: Plan) -> Group:
    """One site's plan: a title with the summary, the steps, the drift and the notes."""
    parts: list[RenderableType] = [Text(f"{plan.site} — {plan.template}: {plan.summary()}", style="bold")]
    if plan.steps:
        table = Table(show_lines=False)
        for col in ("#", "round", "action", "list", "target", "detail"):
            table.add_column(col)
        for i, s in enumerate(plan.steps, 1):
            table.add_row(str(i), str(s.round), s.action, s.list or "", s.target, s.detail)
        parts.append(table)
    if plan.drift:
        drift = Table(title="Drift (reported, not changed)")
        for col in ("list", "target", "message"):
            drift.add_column(col)
        for d in plan.drift:
            drift.add_row(d.list or "", d.target, d.message)
        parts.append(drift)
    parts.extend(Text(n, style="dim") for n in plan.notes)
    return Group(*parts)


def _plan_rows(plans: Iterable[Plan]) -> list[dict[str, Any]]:
    return [
        {
            "site": p.site,
            "round": s.round,
            "action": s.action,
            "list": s.list,
            "target": s.target,
            "detail": s.detail,
        }
        for p in plans
        for s in p.steps
    ]


def site_result(result: SiteResult, dry_run: bool, fmt: str = "table") -> str:
    """``provision hub/project`` and ``provision plan hub/project``."""
    fmt = normalise_output(fmt)
    if fmt == "json":
        return to_json(result.to_dict())
    if fmt == "csv":
        return to_csv(_plan_rows([result.plan] if result.plan is not None else []), STEP_COLUMNS)
    if dry_run and result.plan is not None:
        return render(plan_renderable(result.plan))
    summary = f" ({result.plan.summary()})" if result.plan is not None else ""
    return render(Text(f"{result.url}: ") + Text(result.outcome, style="bold") + Text(summary))


BULK_COLUMNS = ("alias", "title", "url", "outcome", "detail")


def bulk(result: BulkResult, fmt: str = "table") -> str:
    """``provision bulk`` and ``provision plan bulk``: the per-row result table."""
    fmt = normalise_output(fmt)
    if fmt == "json":
        return to_json(result.to_dict())
    if fmt == "csv":
        return to_csv(result.to_dict()["results"], BULK_COLUMNS)
    table = Table(title=f"{result.file}: " + ", ".join(f"{n} {k}" for k, n in result.counts().items()))
    for col in ("alias", "title", "result", "detail"):
        table.add_column(col)
    for r in result.results:
        table.add_row(r.alias, r.title[:60], r.outcome, r.detail)
    if result.learned_ru_per_minute:
        return render(
            table, Text(describe_pace(result.learned_ru_per_minute, result.announced_ru_per_minute))
        )
    return render(table)


def upgrade_lines(result: UpgradeResult) -> list[str]:
    """``provision upgrade``: the notes, then one line per site."""
    lines = [f"note: {note}" for note in result.notes]
    for r in result.results:
        detail = f" — {r.error}" if r.error else f" ({r.plan.summary()})" if r.plan is not None else ""
        lines.append(f"{r.url}: {r.outcome}{detail}" + "".join(f" [{n}]" for n in r.register_notes))
    if result.learned_ru_per_minute:
        lines.append(describe_pace(result.learned_ru_per_minute, result.announced_ru_per_minute))
    return lines


# --- templates ------------------------------------------------------------------------------------


def template(loaded: Template, fmt: str, overview: str) -> str:
    """``template show``: the template as JSON, or the overview text the loader describes."""
    if fmt == "json":
        return loaded.model_dump_json(indent=2, exclude_defaults=True) + "\n"
    return overview


# --- portfolio: itposmo, prioritise ---------------------------------------------------------------


def problem_lines(problems: Iterable[AnalysisFinding], warnings: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The lines a command prints to stderr after its output, each with its colour: the warnings
    first, then every problem (red for an error, yellow otherwise)."""
    lines = [(f"Warning: {w}", "yellow") for w in warnings]
    lines += [(f"Problem: {p}", "red" if p.severity == "error" else "yellow") for p in problems]
    return lines


def _num(v: object) -> str:
    if v is None or v != v:
        return ""
    return f"{v:g}" if isinstance(v, float) else str(v)


def itposmo(result: ItposmoResult, fmt: str = "table") -> str:
    """The assessment as a rich table, CSV or JSON (problems are separate: ``result.problems``)."""
    from veiviser.portfolio.console import LETTER, itposmo_data
    from veiviser.portfolio.itposmo import DIMENSION_KEYS

    fmt = normalise_output(fmt)
    if fmt == "json":
        return to_json(itposmo_data(result))
    t = result.table
    flat = t.assign(
        concern_dimensions=t["concern_dimensions"].map(lambda ds: " ".join(LETTER[d] for d in ds)),
        gaps_largest_first=t["gaps_largest_first"].map(
            lambda gs: " ".join(f"{LETTER[k]}={v:g}" for k, v in gs)
        ),
    )
    if fmt == "csv":  # formula-looking text neutralised, every field quoted (docs/portfolio.md)
        return str(csv_safe_frame(flat).to_csv(index=False, quoting=csv.QUOTE_ALL))
    table = Table(title="ITPOSMO design-reality gaps (largest total first)")
    for col in ("Project", *(LETTER[k] for k in DIMENSION_KEYS), "Total", "Band", "Likely outcome"):
        table.add_column(col, overflow="fold")
    for col in ("Concern", "Largest gaps first"):
        table.add_column(col, overflow="fold")
    for _, r in flat.iterrows():
        if isinstance(r["problem"], str) and r["problem"]:
            concern = f"not assessed: {r['problem']}"
        elif r["concern"]:
            total = f"total > {result.config.total_concern_above:g}" if r["total_concern"] else ""
            concern = "yes: " + ", ".join(filter(None, [r["concern_dimensions"], total]))
        else:
            concern = "no"
        table.add_row(
            str(r["project"]),
            *(_num(r[k]) for k in DIMENSION_KEYS),
            _num(r["total"]),
            _num(r["band"]),
            _num(r["outcome"]),
            concern,
            r["gaps_largest_first"],
        )
    return render(table)


def prioritise(result: PriorityResult, fmt: str = "table") -> str:
    """The ranking as a rich table with per-criterion contributions, CSV or JSON."""
    from veiviser.portfolio.console import priority_data

    fmt = normalise_output(fmt)
    if fmt == "json":
        return to_json(priority_data(result))
    crit = [c.name for c in result.model.criteria]
    r = result.ranking.assign(missing=result.ranking["missing"].map(", ".join))
    if fmt == "csv":
        return str(csv_safe_frame(r).to_csv(index=False, quoting=csv.QUOTE_ALL))
    table = Table(title=f"Prioritisation: {result.model.name}")
    table.add_column("#")
    table.add_column("Project", overflow="fold")
    table.add_column("Score")
    for c in crit:
        direction = " (−)" if result.model.criterion(c).direction == "against" else ""
        table.add_column(f"{c}{direction}\nw={result.weights[c]:g}", overflow="fold")
    table.add_column("Missing")
    for _, row in r.iterrows():
        table.add_row(
            str(row["rank"]),
            str(row["project"]),
            f"{row['score']:.1f}",
            *("—" if c in row["missing"].split(", ") else f"{row[c]:.1f}" for c in crit),
            row["missing"],
        )
    out = render(table)
    if not result.excluded.empty:
        out += "\nExcluded:\n" + "".join(
            f"  {p}: {reason} ({src})\n" for p, reason, src in result.excluded.itertuples(index=False)
        )
    if result.uncertainty:
        out += f"\nModel uncertainty: {result.uncertainty}\n"
    return out


# --- doctor ---------------------------------------------------------------------------------------

CHECK_COLUMNS = ("name", "ok", "detail", "fix")


def doctor(report: DoctorReport, fmt: str = "table") -> str:
    """``veiviser doctor``: one line per check (✓/✗), and for each ✗ the fix in a sentence."""
    fmt = normalise_output(fmt)
    data = report.to_dict()
    if fmt == "json":
        return to_json(data)
    if fmt == "csv":
        return to_csv(data["checks"], CHECK_COLUMNS)
    lines = []
    for check in report.checks:
        mark = "✓" if check.ok else "✗"
        lines.append(f"{mark} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"    fix: {check.fix}")
    for warning in report.warnings:
        lines.append(f"! {warning}")
    passed = sum(c.ok for c in report.checks)
    lines.append(f"{passed} of {len(report.checks)} checks passed.")
    return "\n".join(lines) + "\n"


# --- auth certificate -----------------------------------------------------------------------------


def certificate(cert: AppCertificate, steps: Sequence[str]) -> str:
    """``auth certificate``: what was written, the thumbprint, then the numbered steps."""
    lines = [
        f"Private key:  {cert.key_path} (mode 0600{', encrypted' if cert.encrypted else ''}; keep it here)",
        f"Certificate:  {cert.cert_path} (upload it to the Entra app)",
        f"Thumbprint:   {cert.thumbprint}",
        f"Valid until:  {cert.not_after:%Y-%m-%d}",
        "",
        "Next steps:",
    ]
    number = 0
    for step in steps:
        if step.startswith("  "):
            lines.append(f"   {step}")
        else:
            number += 1
            lines.append(f"{number}. {step}")
    return "\n".join(lines) + "\n"
