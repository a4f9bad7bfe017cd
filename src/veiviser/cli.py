"""The ``veiviser`` command line: thin click commands over library functions.

Each command parses its arguments, calls one library function and prints the result. Errors the
user can fix (:class:`veiviser.errors.VeiviserError`) are printed without a traceback.
"""

from __future__ import annotations

import sys

import click

from veiviser import __version__
from veiviser.errors import VeiviserError


class _Group(click.Group):
    """A click group that turns VeiviserError into a clean message and exit code."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except VeiviserError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="veiviser")
def main() -> None:
    """veiviser: Prosjektveiviseren on SharePoint Online."""


# --- emulator ------------------------------------------------------------------------------------


@main.group(cls=_Group)
def emulator() -> None:
    """The local SharePoint Online emulator."""


# --- emulator serve (HTTP layer; owner: emulator HTTP engineer) ---------------------------------


@emulator.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind (loopback unless --allow-remote).",
)
@click.option("--port", default=0, show_default=True, type=int, help="TCP port (0 picks a free one).")
@click.option(
    "--data", type=click.Path(dir_okay=False), default=None, help="SQLite file for the emulator's state."
)
@click.option("--token", default=None, help="Bearer token clients must send (random if omitted).")
@click.option("--latency-ms", default=0.0, type=float, show_default=True, help="Added latency per request.")
@click.option(
    "--jitter-ms", default=0.0, type=float, show_default=True, help="Random extra latency (0..N ms)."
)
@click.option(
    "--fault-rate", default=0.0, type=float, show_default=True, help="Share of calls failing with 429/503."
)
@click.option(
    "--throttle-ru-per-minute",
    default=None,
    type=int,
    help="Resource-unit budget per minute (off if omitted).",
)
@click.option("--allow-remote", is_flag=True, help="Allow binding a non-loopback address.")
@click.option(
    "--users",
    "users_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="CSV or YAML file of the tenant's people (upn/email, name, id); default: the built-in directory.",
)
def emulator_serve(
    host: str,
    port: int,
    data: str | None,
    token: str | None,
    latency_ms: float,
    jitter_ms: float,
    fault_rate: float,
    throttle_ru_per_minute: int | None,
    allow_remote: bool,
    users_file: str | None,
) -> None:
    """Serve the SharePoint Online emulator until Ctrl+C or SIGTERM."""
    from veiviser.emulator.model.directory import load_users
    from veiviser.emulator.server import EmulatorServer, serve_until_signal

    users = load_users(users_file) if users_file else None

    server = EmulatorServer(
        host=host,
        port=port,
        data=data,
        token=token,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        fault_rate=fault_rate,
        throttle_ru_per_minute=throttle_ru_per_minute,
        allow_remote=allow_remote,
        users=users,
    )
    serve_until_signal(server, announce=lambda line: click.echo(line, nl=True) or sys.stdout.flush())


# --- end emulator serve --------------------------------------------------------------------------


# --- portfolio: itposmo, prioritise (owner: portfolio analytics engineer) -----------------------


@main.command("itposmo")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
@click.option(
    "--bands", type=click.Path(dir_okay=False), default=None, help="YAML with bands and concern thresholds."
)
def itposmo_command(file: str, fmt: str, bands: str | None) -> None:
    """ITPOSMO design-reality gap assessment from FILE (CSV or YAML, one row per project).

    Columns: project (or prosjekt), and the seven ratings 0–10: I/Informasjon, T/Teknologi,
    P/Prosesser, O1/Mål og verdier, S/Bemanning og kompetanse, M/Styring, O2/Andre ressurser
    (English names work too). Per-project problems are printed to stderr.
    """
    from veiviser.portfolio.console import itposmo_from_file, itposmo_output, problem_lines

    result = itposmo_from_file(file, bands)
    click.echo(itposmo_output(result, fmt), nl=False)
    for text, colour in problem_lines(result.problems):
        click.secho(text, fg=colour, err=True)


@main.command("prioritise")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--model", default="trondheim", show_default=True, help="Preset name (trondheim) or a model YAML file."
)
@click.option(
    "--weight", "weights", multiple=True, metavar="CRITERION=W", help="Set a criterion's weight (repeatable)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
def prioritise_command(file: str, model: str, weights: tuple[str, ...], fmt: str) -> None:
    """Rank proposals in FILE (CSV or YAML: project + one column per criterion) by weighted criteria."""
    from veiviser.portfolio.console import (
        parse_weights,
        prioritise_from_file,
        priority_output,
        problem_lines,
    )

    result = prioritise_from_file(file, model, parse_weights(weights))
    click.echo(priority_output(result, fmt), nl=False)
    for text, colour in problem_lines(result.problems, result.warnings):
        click.secho(text, fg=colour, err=True)


# --- end portfolio -------------------------------------------------------------------------------


# --- portfolio report (owner: portfolio reports engineer; --hub/--state: sync engineer) ----------


@main.command("report")
@click.option(
    "--hub", default=None, help="URL of the portfolio hub: report on the synced portfolio (with --state)."
)
@click.option(
    "--state",
    default=None,
    help="SQLAlchemy URL of the sync's state store (with --hub; default: $VEIVISER_STATE_URL or the SQLite file).",
)
@click.option(
    "--dataset",
    "dataset_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Instead of --hub: a folder with dataset.json and one CSV/Parquet file per frame.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write the reports to.",
)
@click.option(
    "--since",
    default=None,
    metavar="YYYY-MM-DD",
    help="Show changes since this date (default: 30 days before as_of).",
)
def report_command(
    hub: str | None, state: str | None, dataset_dir: str | None, out_dir: str, since: str | None
) -> None:
    """Write the Excel workbook, the HTML report and the Power BI star schema.

    Source: the synced portfolio (--hub URL, history from --state) or a dataset folder (--dataset DIR).
    """
    if (hub is None) == (dataset_dir is None):
        raise click.UsageError("Give exactly one of --hub URL (the synced portfolio) or --dataset DIR.")
    if dataset_dir is not None:
        from veiviser.portfolio.dataset import PortfolioDataset
        from veiviser.portfolio.reports import write_reports

        paths = write_reports(PortfolioDataset.from_directory(dataset_dir), out_dir, since=since)
    else:
        from veiviser.reporting import report_from_hub

        paths = report_from_hub(str(hub), out_dir, state=state, since=since)
    click.echo(f"HTML report:  {paths.html}")
    click.echo(f"Excel:        {paths.excel}")
    click.echo(f"Power BI:     {paths.star_dir} ({len(paths.parquet)} tables as Parquet and CSV)")
    if paths.findings:
        click.secho(
            f"{paths.findings} data-quality finding(s): see the Datakvalitet section.", fg="yellow", err=True
        )


# --- end portfolio report ------------------------------------------------------------------------


# --- template: check, schema, show (owner: template engineer) ------------------------------------


@main.group(cls=_Group)
def template() -> None:
    """Site templates: validate, publish the JSON Schema, show the standard template."""


@template.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def template_check(files: tuple[str, ...]) -> None:
    """Validate template or extension FILES; every problem is listed with file and line."""
    from veiviser.schemas.template_loader import check_files

    for line in check_files(files):
        click.echo(line)


@template.command("schema")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the schema to this file.")
def template_schema(out: str | None) -> None:
    """Print (or write) the JSON Schema of template files."""
    from pathlib import Path

    from veiviser.schemas.template_loader import template_json_schema_text

    text = template_json_schema_text()
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {out}")
    else:
        click.echo(text, nl=False)


@template.command("show")
@click.option("--kind", type=click.Choice(["project", "hub"]), default="project", show_default=True)
@click.option(
    "--template", "source", default="standard", show_default=True, help="Built-in name or YAML file."
)
@click.option(
    "--extension",
    "extensions",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Extension file (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def template_show(kind: str, source: str, extensions: tuple[str, ...], fmt: str) -> None:
    """Show a template (with extensions merged) as an overview or as JSON."""
    from veiviser.schemas.template_loader import describe_template, load_template

    loaded = load_template(source, kind=kind, extensions=extensions)
    if fmt == "json":
        click.echo(loaded.model_dump_json(indent=2, exclude_defaults=True))
    else:
        click.echo(describe_template(loaded), nl=False)


# --- end template --------------------------------------------------------------------------------


# --- sync: run, status (owner: sync engineer) ----------------------------------------------------


@main.group(cls=_Group)
def sync() -> None:
    """Nightly portfolio sync from project sites into the hub."""


@sync.command("run")
@click.option("--hub", required=True, help="URL of the portfolio hub site.")
@click.option(
    "--workers", default=4, show_default=True, type=click.IntRange(1, 64), help="Sites synced in parallel."
)
@click.option(
    "--state",
    default=None,
    help="SQLAlchemy URL of the state store (default: $VEIVISER_STATE_URL or a SQLite file).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the run report as JSON.",
)
@click.option(
    "--site", "sites", multiple=True, help="Extra site to sync besides the hub register (repeatable)."
)
@click.option(
    "--token-max-age-days",
    default=45.0,
    show_default=True,
    type=float,
    help="Re-read a list fully when its change token is older.",
)
@click.option("--json-logs", is_flag=True, help="Log JSON lines to stderr (for schedulers).")
def sync_run(
    hub: str,
    workers: int,
    state: str | None,
    report_path: str | None,
    sites: tuple[str, ...],
    token_max_age_days: float,
    json_logs: bool,
) -> None:
    """Sync every project site of the hub (its register and the sites joined to it).

    \b
    Exit codes:
      0   every site synced
      2   bad arguments
      3   the run failed: the hub or its register cannot be read
      4   some sites failed; all others were synced (see FAILED lines / the report)
      5   the state store cannot be opened or used
      75  another run holds the lock (busy, not broken: try again later)
    """
    from veiviser.sync.commands import configure_logging, run_sync, summary_lines

    configure_logging(json_logs)
    report = run_sync(
        hub,
        workers=workers,
        state=state,
        report_path=report_path,
        token_max_age_days=token_max_age_days,
        sites=sites,
        progress=not json_logs,
    )
    for line in summary_lines(report):
        click.echo(line, err=report.exit_code != 0 and line.startswith("  "))
    sys.exit(report.exit_code)


@sync.command("status")
@click.option("--state", default=None, help="SQLAlchemy URL of the state store.")
@click.option("--runs", default=5, show_default=True, type=int, help="How many recent runs to show.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def sync_status_command(state: str | None, runs: int, fmt: str) -> None:
    """Last runs, per-site lag and failures."""
    import json as _json

    from veiviser.sync.commands import sync_status

    status = sync_status(state, runs=runs)
    if fmt == "json":
        click.echo(_json.dumps(status, ensure_ascii=False, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    def cell(value: object) -> str:
        return "" if value is None or value != value else str(value)  # None and NaN read as empty

    console = Console()
    if not console.is_terminal:  # piped or in a log: no terminal width to honour, so nothing is cut
        console = Console(width=160)
    runs_table = Table(
        title="Last runs", title_justify="left", box=None, padding=(0, 1), pad_edge=False, header_style="bold"
    )
    for column in (
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
    ):
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
    console.print(runs_table if status["runs"] else "No sync runs recorded yet.")
    sites_table = Table(
        title="Sites", title_justify="left", box=None, padding=(0, 1), pad_edge=False, header_style="bold"
    )
    sites_table.add_column("status", no_wrap=True)
    sites_table.add_column("lag (h)", justify="right", no_wrap=True)
    url_width = max((len(cell(site["site_url"])) for site in status["sites"]), default=4)
    sites_table.add_column("site", min_width=url_width, no_wrap=True)  # a URL is never cut or folded
    sites_table.add_column("last error", overflow="fold")
    for site in status["sites"]:
        sites_table.add_row(
            cell(site["last_status"]),
            cell(site["lag_hours"]),
            cell(site["site_url"]),
            cell(site["last_error"]),
        )
    if status["sites"]:
        console.print(sites_table)
    if status["lock"]:
        click.echo(f"lock held by {status['lock']['owner']} until {status['lock']['expires_at']}")


# --- end sync ------------------------------------------------------------------------------------


# --- provision: hub, project, bulk, plan, upgrade (owner: provisioning engineer) ----------------


def _provisioner(hub: str, extensions: tuple[str, ...], owner: str | None = None, adopt: bool = False):
    """Templates are loaded (and validated) before any connection is made."""
    from veiviser.provisioning.engine import Provisioner
    from veiviser.schemas.settings import ConnectionSettings
    from veiviser.schemas.template_loader import load_template

    project_t = load_template(
        "standard", kind="project", extensions=[e for e in extensions if _ext_kind(e) == "project"]
    )
    hub_t = load_template("standard", kind="hub", extensions=[e for e in extensions if _ext_kind(e) == "hub"])
    try:
        settings = ConnectionSettings()
    except Exception as exc:  # pydantic ValidationError: report as a user error
        raise VeiviserError(
            f"SharePoint connection settings are incomplete: {exc}",
            hint="See the VEIVISER_* variables in the README.",
        ) from None
    return Provisioner(
        hub, settings=settings, project_template=project_t, hub_template=hub_t, owner=owner, adopt=adopt
    )


def _ext_kind(path: str) -> str:
    from veiviser.schemas.template_loader import read_raw

    return str(read_raw(path)[1].get("kind", "project"))


def _print_site(result, dry_run: bool) -> None:
    from rich.console import Console

    console = Console()
    if dry_run and result.plan is not None:
        console.print(result.plan)
    else:
        console.print(
            f"{result.url}: [bold]{result.outcome}[/bold]"
            + (f" ({result.plan.summary()})" if result.plan is not None else "")
        )


_ext_option = click.option(
    "--extension",
    "extensions",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Template extension file (repeatable).",
)


@main.group(cls=_Group)
def provision() -> None:
    """Provision the portfolio hub and project sites (idempotent; never deletes)."""


@provision.command("hub")
@click.option(
    "--url", required=True, help="Portfolio site URL (https://<tenant>.sharepoint.com/sites/<alias>)."
)
@click.option("--owner", default=None, help="Site owner (e-mail) if the site must be created.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@_ext_option
def provision_hub(url: str, owner: str | None, dry_run: bool, extensions: tuple[str, ...]) -> None:
    """Ensure the portfolio site exists, is a hub and carries the hub lists."""
    _print_site(_provisioner(url, extensions, owner).hub(dry_run=dry_run), dry_run)


def _project_options(f):
    for opt in reversed(
        [
            click.option("--hub", required=True, help="Portfolio hub URL."),
            click.option("--title", required=True, help="Project title."),
            click.option("--alias", default=None, help="Site alias (derived from the title when omitted)."),
            click.option("--owner", default=None, help="Project owner e-mail (also the site owner)."),
            click.option("--leader", default=None, help="Project leader e-mail."),
            click.option(
                "--phase",
                default=None,
                help="Phase (Idé, Konsept, Planlegge, Gjennomføre, Avslutte, Realisere).",
            ),
            click.option("--unit", default=None, help="Responsible unit."),
            click.option("--service-area", default=None, help="Service area."),
            click.option("--start-year", default=None, type=int, help="Start year."),
            click.option(
                "--adopt", is_flag=True, help="Take over an existing site that veiviser did not make."
            ),
            _ext_option,
        ]
    ):
        f = opt(f)
    return f


def _run_project(
    dry_run: bool,
    hub: str,
    title: str,
    alias: str | None,
    owner: str | None,
    leader: str | None,
    phase: str | None,
    unit: str | None,
    service_area: str | None,
    start_year: int | None,
    adopt: bool,
    extensions: tuple[str, ...],
) -> None:
    from veiviser.provisioning.aliases import derive_alias, validate_alias
    from veiviser.provisioning.engine import ProjectRequest

    prov = _provisioner(hub, extensions, owner, adopt)
    try:
        alias = validate_alias(alias) if alias else derive_alias(title)
    except ValueError as exc:
        raise VeiviserError(f"--alias: {exc}", hint="Use ASCII letters, digits and '-'.") from None
    request = ProjectRequest(
        title=title,
        alias=alias,
        owner=owner,
        leader=leader,
        phase=phase,
        unit=unit,
        service_area=service_area,
        start_year=start_year,
    )
    _print_site(prov.project(request, dry_run=dry_run), dry_run)


@provision.command("project")
@_project_options
def provision_project(**kwargs) -> None:
    """Create (if needed) and provision one project site; add it to the hub register."""
    _run_project(False, **kwargs)


def _bulk(
    file: str,
    hub: str,
    workers: int,
    owner: str | None,
    extensions: tuple[str, ...],
    dry_run: bool,
    state_dir: str | None,
) -> None:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from veiviser.provisioning.bulk import provision_bulk

    prov = _provisioner(hub, extensions, owner)
    console = Console()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("provisioning", total=None)

        def on_input(data) -> None:
            bar.update(task, total=len(data.projects))
            if data.problems:
                console.print(f"[yellow]{data.render_problems()}[/yellow]")

        result = provision_bulk(
            prov,
            file,
            workers=workers,
            dry_run=dry_run,
            state_dir=state_dir,
            progress=lambda r: bar.advance(task),
            on_input=on_input,
        )
    table = Table(title=f"{result.file}: " + ", ".join(f"{n} {k}" for k, n in result.counts().items()))
    for col in ("alias", "title", "result", "detail"):
        table.add_column(col)
    for r in result.results:
        table.add_row(r.alias, r.title[:60], r.outcome, r.detail)
    console.print(table)
    if not result.ok:
        sys.exit(1)


@provision.command("bulk")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--hub", required=True, help="Portfolio hub URL.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 16))
@click.option("--owner", default=None, help="Site owner for rows without a project owner.")
@click.option(
    "--state-dir", default=None, type=click.Path(file_okay=False), help="Where the progress journal lives."
)
@_ext_option
def provision_bulk_command(
    file: str, hub: str, workers: int, owner: str | None, state_dir: str | None, extensions: tuple[str, ...]
) -> None:
    """One project site per row of FILE (CSV/xlsx); resumable; per-row result table."""
    _bulk(file, hub, workers, owner, extensions, False, state_dir)


@provision.command("upgrade")
@click.option("--hub", required=True, help="Portfolio hub URL.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 16))
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--site", "sites", multiple=True, help="Also this site joined to the hub (repeatable).")
@_ext_option
def provision_upgrade(
    hub: str, workers: int, dry_run: bool, sites: tuple[str, ...], extensions: tuple[str, ...]
) -> None:
    """Bring every project site of the hub (register and joined sites) to the current template (additive)."""
    from veiviser.provisioning.bulk import upgrade

    result = upgrade(_provisioner(hub, extensions), workers=workers, dry_run=dry_run, sites=sites)
    for note in result.notes:
        click.echo(f"note: {note}")
    for r in result.results:
        click.echo(
            f"{r.url}: {r.outcome}"
            + (f" — {r.error}" if r.error else f" ({r.plan.summary()})" if r.plan is not None else "")
            + "".join(f" [{n}]" for n in r.register_notes)
        )
    if not result.ok:
        sys.exit(1)


@provision.group("plan", cls=_Group)
def provision_plan() -> None:
    """Show what hub/project/bulk would change; writes nothing."""


@provision_plan.command("hub")
@click.option("--url", required=True)
@_ext_option
def provision_plan_hub(url: str, extensions: tuple[str, ...]) -> None:
    """Plan the hub."""
    _print_site(_provisioner(url, extensions).hub(dry_run=True), True)


@provision_plan.command("project")
@_project_options
def provision_plan_project(**kwargs) -> None:
    """Plan one project site."""
    _run_project(True, **kwargs)


@provision_plan.command("bulk")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--hub", required=True)
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 16))
@_ext_option
def provision_plan_bulk(file: str, hub: str, workers: int, extensions: tuple[str, ...]) -> None:
    """Plan every row of FILE."""
    _bulk(file, hub, workers, None, extensions, True, None)


# --- end provision -------------------------------------------------------------------------------


# --- demo (owner: demo engineer) -----------------------------------------------------------------


@main.command("demo")
@click.option(
    "--out",
    "out_dir",
    default="veiviser-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the reports and the sync's history store.",
)
@click.option(
    "--data",
    "data_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Keep the emulator's SQLite file here (serve it again with `veiviser emulator serve --data`).",
)
@click.option(
    "--projects", default=None, type=click.IntRange(1), help="Only the first N projects (a quicker look)."
)
def demo_command(out_dir: str, data_path: str | None, projects: int | None) -> None:
    """The whole tour without a tenant: emulator, hub and Trondheim portfolio, two syncs, the report."""
    from veiviser.demo.tour import run_demo, summary_lines

    result = run_demo(out_dir, data_path, projects=projects, progress=sys.stderr.isatty())
    for line in summary_lines(result):
        click.echo(line)


# --- end demo ------------------------------------------------------------------------------------
