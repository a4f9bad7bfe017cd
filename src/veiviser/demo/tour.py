"""The one-command tour: :func:`run_demo` behind ``veiviser demo``.

Steps: start the emulator in-process; provision the hub and one project site per row of the
Trondheim portfolio shipped in the package (workers in parallel), each filled with generated data
(:mod:`veiviser.demo.data`) as soon as it exists; ITPOSMO and prioritisation ratings on the hub;
first sync; the change step; second sync; the reports (Excel, HTML, Power BI star schema) from the
sync's history store. Nothing waits artificially; the emulator runs without latency.

Files in ``out_dir``: the reports (``portefoljerapport.html``/``.xlsx``, ``powerbi/``) and the
sync's state store ``veiviser-demo-state.sqlite`` (replaced on every run: it belongs to the demo's
emulator). With ``data_path`` the emulator keeps its SQLite file there for
``veiviser emulator serve --data PATH``.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from veiviser.demo.data import (
    DEFAULT_SEED,
    EMAIL_DOMAIN,
    generate_project,
    plan_changes,
)
from veiviser.demo.writer import (
    DemoError,
    WrittenProject,
    apply_changes,
    write_hub_ratings,
    write_project,
)
from veiviser.errors import VeiviserError
from veiviser.schemas.settings import ConnectionSettings
from veiviser.schemas.template_loader import load_bundle

CSV_NAME = "trondheim-portefolje-2018-2021.csv"
STATE_NAME = "veiviser-demo-state.sqlite"
HUB_ALIAS = "portefolje"
ADMIN = f"portefoljekontoret@{EMAIL_DOMAIN}"
SOURCE_KINDS = ("risks", "stakeholders", "benefits", "indicators", "measurements")


@dataclass
class DemoResult:
    """What the demo did and where its files are."""

    out_dir: Path
    html: Path
    excel: Path
    star_dir: Path
    state: Path
    data_path: Path | None
    hub_url: str
    projects: int
    items_written: int
    changes: dict[str, int]
    syncs: list[dict[str, Any]]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    findings: int = 0


def portfolio_csv() -> Path:
    """The Trondheim portfolio file shipped in the package."""
    return Path(str(resources.files("veiviser.data").joinpath(CSV_NAME)))


def _check_out_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".veiviser-probe-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DemoError(
            f"Cannot write to the output folder {out}: {exc.strerror or exc}",
            hint="Choose another folder with --out, or give yourself write access to this one.",
        ) from None
    return out.resolve()


def _check_data_path(path: Path) -> Path:
    if path.exists():
        raise DemoError(
            f"The emulator data file {path} already exists",
            hint=f"Explore it with `veiviser emulator serve --data {path}`, or delete it / give another "
            "--data path to run the demo again.",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".veiviser-probe-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DemoError(
            f"Cannot write the emulator data file {path}: {exc.strerror or exc}",
            hint="Give a --data path in a folder you can write to.",
        ) from None
    return path.resolve()


class _Steps:
    """A rich progress display (or nothing): one line per step, a bar for per-project work."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        self._progress: Any = None

    @contextmanager
    def running(self) -> Iterator[_Steps]:
        if not self.enabled:
            yield self
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        ) as progress:
            self._progress = progress
            yield self
        self._progress = None

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Callable[[], None]]:
        started = time.perf_counter()
        task = self._progress.add_task(label, total=total or 1) if self._progress is not None else None

        def advance() -> None:
            if task is not None:
                self._progress.advance(task)

        yield advance
        if task is not None:
            self._progress.update(task, completed=total or 1)
        self.timings[label] = round(time.perf_counter() - started, 2)


def _settings(server: Any) -> ConnectionSettings:
    # Generous local limits: the emulator is not throttled, so nothing should pace the demo.
    # (Passed as a mapping: the other fields keep their defaults, which mypy cannot see in pydantic's
    # positional Field defaults.)
    values: dict[str, Any] = {
        "auth": "token",
        "access_token": server.token,
        "org": "veiviser-demo",
        "admin_url": server.url,
        "ru_per_minute": 1e9,
        "retry_max_total_seconds": 60,
    }
    return ConnectionSettings(**values)


def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo")


def run_demo(
    out_dir: str | Path = "veiviser-demo",
    data_path: str | Path | None = None,
    *,
    projects: int | None = None,
    progress: bool = True,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    workers: int = 4,
) -> DemoResult:
    """Run the whole tour and return where everything is (see the module docstring).

    ``projects`` limits the number of Trondheim rows (a quick look, or a fast test); ``today``
    anchors the generated dates (default: today's date).
    """
    from veiviser.emulator.server import EmulatorServer
    from veiviser.portfolio.reports import write_reports
    from veiviser.provisioning.bulk_input import read_projects
    from veiviser.provisioning.engine import ProjectRequest, Provisioner
    from veiviser.sharepoint import RateLimiter
    from veiviser.sync.dataset import load_dataset
    from veiviser.sync.options import SyncOptions
    from veiviser.sync.report import SyncReport
    from veiviser.sync.run import sync_portfolio
    from veiviser.sync.state import StateStore

    started = time.perf_counter()
    out = _check_out_dir(Path(out_dir))
    data_file = _check_data_path(Path(data_path)) if data_path else None
    if projects is not None and projects < 1:
        raise DemoError(
            f"--projects must be 1 or more, not {projects}", hint="Leave it out for the whole portfolio."
        )
    today = today or date.today()
    state_file = out / STATE_NAME
    for stale in (
        state_file,
        state_file.with_name(state_file.name + "-wal"),
        state_file.with_name(state_file.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)  # the demo's own store from an earlier run (another emulator)

    bundle = load_bundle()
    criteria_list = bundle.hub.get_list("priority_criteria")
    criteria = tuple(str(s.values["GtCriterionKey"]) for s in criteria_list.seed_items)
    scale_field = criteria_list.field("GtScaleMax")
    scale_max = int(scale_field.default) if scale_field.default is not None else 5
    phases = bundle.project.get_list("properties").field("GtProjectPhase").choices
    specs = read_projects(portfolio_csv(), phases=phases).projects[:projects]
    generated = [
        generate_project(
            s.title,
            index=i,
            unit=s.unit,
            alias=s.alias,
            seed=seed,
            today=today,
            criteria=criteria,
            scale_max=scale_max,
        )
        for i, s in enumerate(specs)
    ]

    steps = _Steps(progress)
    syncs: list[dict[str, Any]] = []
    changes_total = {"updated": 0, "deleted": 0, "created": 0}
    lock = threading.Lock()
    with steps.running(), EmulatorServer(data=str(data_file) if data_file else None) as server:
        settings = _settings(server)
        limiter = RateLimiter(settings.ru_per_minute)
        hub_url = f"{server.url}/sites/{HUB_ALIAS}"
        prov = Provisioner(
            hub_url,
            settings=settings,
            project_template=bundle.project,
            hub_template=bundle.hub,
            owner=ADMIN,
            limiter=limiter,
            wait_timeout=60,
            wait_interval=0.02,
        )
        with steps.step("Portfolio hub"):
            prov.hub(title="Porteføljeoversikt Trondheim (demo)")

        written: list[WrittenProject | None] = [None] * len(specs)

        def provision_and_fill(i: int) -> None:
            spec, data = specs[i], generated[i]
            request = dataclasses.replace(
                ProjectRequest.from_spec(spec),
                phase=data.phase,
                leader=data.leader.email,
                owner=data.owner.email,
                start_year=spec.start_year or 2018 + i % 3,
            )
            res = prov.project(request)
            if not res.ok:
                raise DemoError(f"site {res.url}: provisioning failed: {res.error}")
            written[i] = write_project(prov.client(res.url), data, bundle.project, res.site_id)

        with steps.step(f"Project sites with data ({len(specs)})", len(specs)) as advance:
            _run_all(len(specs), provision_and_fill, workers, advance)
        pairs = [(d, w) for d, w in zip(generated, written, strict=True) if w is not None]
        with steps.step("ITPOSMO and prioritisation ratings on the hub"):
            write_hub_ratings(prov.client(hub_url), pairs)

        with StateStore(f"sqlite:///{state_file}") as store:
            options = SyncOptions(workers=workers)

            def sync(label: str) -> SyncReport:
                with steps.step(label, len(specs)) as advance:
                    report = sync_portfolio(
                        hub_url,
                        settings=settings,
                        state=store,
                        options=options,
                        limiter=limiter,
                        progress=lambda *_: advance(),
                    )
                    _sync_ok(report)
                    syncs.append(report.to_dict())
                return report

            first = sync("Sync 1")
            # "Changes since" = the end of the first sync: the report shows the change step.
            first_synced = first.finished_at or datetime.now(UTC)
            with steps.step("Changes in the projects", len(pairs)) as advance:

                def change(i: int) -> None:
                    d, w = pairs[i]
                    counts = apply_changes(
                        prov.client(w.url), w, plan_changes(d, seed=seed, today=today), bundle.project
                    )
                    with lock:
                        for k, v in counts.items():
                            changes_total[k] += v

                _run_all(len(pairs), change, workers, advance)
            sync("Sync 2")
            with steps.step("Reports (Excel, HTML, Power BI)"):
                dataset = load_dataset(
                    store, prov.client(hub_url), title="Porteføljerapport – Trondheim (demo)"
                )
                paths = write_reports(dataset, out, since=first_synced)

    return DemoResult(
        out_dir=out,
        html=paths.html,
        excel=paths.excel,
        star_dir=paths.star_dir,
        state=state_file,
        data_path=data_file,
        hub_url=hub_url,
        projects=len(pairs),
        items_written=sum(w.count() for _, w in pairs),
        changes=changes_total,
        syncs=syncs,
        seconds=round(time.perf_counter() - started, 1),
        timings=steps.timings,
        findings=paths.findings,
    )


def _run_all(n: int, func: Callable[[int], None], workers: int, advance: Callable[[], None]) -> None:
    """Run ``func(i)`` for every index on a pool; the first error is raised after all have finished."""
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            func(i)
        except BaseException as exc:  # collected and re-raised below, in order
            errors.append(exc)
        finally:
            advance()

    with _pool(max(1, workers)) as pool:
        list(pool.map(one, range(n)))
    if errors:
        first = errors[0]
        if isinstance(first, VeiviserError):
            raise first
        raise DemoError(
            f"The demo failed unexpectedly: {first!r}", hint="Please report this with the command you ran."
        ) from first


def _sync_ok(report: Any) -> None:
    if report.exit_code != 0:
        failed = (
            "; ".join(f"{s.url}: {s.error}" for s in report.failed_sites[:3])
            or report.message
            or report.status
        )
        raise DemoError(
            f"The demo sync did not complete: {failed}", hint="Run the demo again; report it if it repeats."
        )


def summary_lines(result: DemoResult) -> list[str]:
    """What to open and how to go on with a real tenant (printed by ``veiviser demo``)."""
    first, second = [*result.syncs, {}, {}][:2]

    def sync_line(n: int, run: dict[str, Any]) -> str:
        t = run.get("totals", {})
        return (
            f"  Sync {n}: {t.get('created', 0)} new, {t.get('updated', 0)} changed, {t.get('deleted', 0)} deleted, "
            f"{t.get('unchanged', 0)} unchanged central items ({t.get('full_reads', 0)} full list reads)"
        )

    lines = [
        f"Demo finished in {result.seconds:.0f} s: {result.projects} projects, {result.items_written} list items "
        f"written; then {result.changes['updated']} changed, {result.changes['created']} added and "
        f"{result.changes['deleted']} deleted before the second sync.",
        sync_line(1, first),
        sync_line(2, second),
        "",
        "Open the report:",
        f"  HTML report:        {result.html}",
        f"  Excel workbook:     {result.excel}",
        f"  Power BI (star):    {result.star_dir}  (Parquet and CSV; see the README)",
        f"  Sync history store: {result.state}",
    ]
    if result.data_path:
        lines += [
            f"  Emulator data:      {result.data_path}",
            f"    serve it again with: veiviser emulator serve --data {result.data_path}",
            "    (the hub is /sites/portefolje; use the token it prints as VEIVISER_ACCESS_TOKEN)",
        ]
    lines += [
        "",
        "Point veiviser at a real tenant:",
        "  export VEIVISER_AUTH=certificate VEIVISER_TENANT_ID=<tenant guid> VEIVISER_CLIENT_ID=<app id>",
        "  export VEIVISER_CERT_PATH=<cert.pem> VEIVISER_CERT_THUMBPRINT=<thumbprint> VEIVISER_ORG=<your organisation>",
        "  export VEIVISER_ADMIN_URL=https://<tenant>-admin.sharepoint.com",
        "  veiviser provision hub --url https://<tenant>.sharepoint.com/sites/portefolje",
        "  veiviser sync run --hub https://<tenant>.sharepoint.com/sites/portefolje",
        "  (VEIVISER_AUTH=device-code signs you in interactively instead of a certificate.)",
    ]
    return lines
