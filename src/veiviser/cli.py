"""The ``veiviser`` command line: thin click commands over library functions.

Each command parses its arguments, calls one library function and hands the result to
:mod:`veiviser.cli_output`, which renders it (docs/architecture.md). Errors the user can fix
(:class:`veiviser.errors.VeiviserError`) are printed without a traceback. ``--profile NAME`` picks a
profile of the config file (docs/operations.md); the environment overrides it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from veiviser import __version__, cli_output
from veiviser.errors import VeiviserError

if TYPE_CHECKING:
    from veiviser.provisioning.engine import Provisioner
    from veiviser.schemas.settings import ConnectionSettings, LoadedProfile

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    """A click group that turns VeiviserError into a clean message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VeiviserError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            sys.exit(exc.exit_code)


def _output_option(f: F) -> F:
    """``--output table|json|csv``; ``--format`` is the old name and ``text`` means ``table``."""
    option = click.option(
        "--output",
        "--format",
        "fmt",
        type=click.Choice([*cli_output.OUTPUTS, "text"]),
        default="table",
        show_default=True,
        help="table, json (the Python API's shape) or csv; --format is the old name.",
    )
    return option(f)


def _announce(line: str) -> None:
    """A line a waiting script reads at once (e.g. the emulator's URL): printed and flushed."""
    click.echo(line)
    sys.stdout.flush()


@contextmanager
def _environment_defaults(values: dict[str, str]) -> Iterator[None]:
    """Set the variables that are not set already; restore the environment afterwards."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _profile(name: str | None = None) -> LoadedProfile:
    """The profile of this invocation, loaded once; its connection values become the defaults
    of the ``VEIVISER_*`` variables for the rest of the command (the environment wins)."""
    from veiviser.schemas.settings import load_profile

    root = click.get_current_context().find_root()
    root.ensure_object(dict)
    if "profile" not in root.obj:
        loaded = load_profile(name or root.obj.get("profile_name"))
        root.with_resource(_environment_defaults(loaded.environment()))
        for warning in loaded.warnings:
            click.secho(f"Warning: {warning}", fg="yellow", err=True)
        root.obj["profile"] = loaded
    result: LoadedProfile = root.obj["profile"]
    return result


def _hub(hub: str | None) -> str:
    """``--hub``, else the profile's first hub; a usage error when neither gives one."""
    if hub:
        return hub
    urls = _profile().profile.hub_urls
    if not urls:
        raise click.UsageError('Give --hub URL, or set hub = "…" in the profile (docs/operations.md).')
    return urls[0]


def _out_dir_option(*, help: str, default: str | None = None) -> Callable[[F], F]:
    """``--out DIR``: required unless it has a default."""
    return click.option(
        "--out",
        "out_dir",
        required=default is None,
        default=default,
        show_default=default is not None,
        type=click.Path(file_okay=False),
        help=help,
    )


def _hubs(hubs: tuple[str, ...]) -> list[str]:
    """Every ``--hub``, else the profile's hubs; a usage error when neither gives one."""
    if hubs:
        return list(hubs)
    urls = list(_profile().profile.hub_urls)
    if not urls:
        raise click.UsageError('Give --hub URL, or set hub = "…" in the profile (docs/operations.md).')
    return urls


def _settings() -> ConnectionSettings:
    """The connection settings (profile and environment), or a user error saying what is missing."""
    from pydantic import ValidationError

    try:
        return _profile().connection_settings()
    except ValidationError as exc:
        # Name the variable, never echo its value (it may be a secret).
        problems = "; ".join(
            f"VEIVISER_{str(e['loc'][0]).upper()}: {str(e['msg']).removeprefix('Value error, ')}"
            if e.get("loc")
            else str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise VeiviserError(
            f"SharePoint connection settings are incomplete: {problems}",
            hint="See the VEIVISER_* variables and the profile keys in the README (run `veiviser doctor`).",
        ) from None


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="veiviser")
@click.option(
    "--profile",
    "profile_name",
    default=None,
    metavar="NAME",
    help="Profile of veiviser.toml (default: $VEIVISER_PROFILE or 'default').",
)
@click.pass_context
def main(ctx: click.Context, profile_name: str | None) -> None:
    """veiviser: Prosjektveiviseren on SharePoint Online."""
    ctx.ensure_object(dict)
    ctx.obj["profile_name"] = profile_name


@main.group(cls=_Group)
def emulator() -> None:
    """The local SharePoint Online emulator."""


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
    serve_until_signal(server, announce=_announce)


@main.command("itposmo")
@click.argument("file", type=click.Path(dir_okay=False))
@_output_option
@click.option(
    "--bands", type=click.Path(dir_okay=False), default=None, help="YAML with bands and concern thresholds."
)
def itposmo_command(file: str, fmt: str, bands: str | None) -> None:
    """ITPOSMO design-reality gap assessment from FILE (CSV or YAML, one row per project).

    Columns: project (or prosjekt), and the seven ratings 0–10: I/Informasjon, T/Teknologi,
    P/Prosesser, O1/Mål og verdier, S/Bemanning og kompetanse, M/Styring, O2/Andre ressurser
    (English names work too). Per-project problems are printed to stderr.
    """
    from veiviser.portfolio.console import itposmo_from_file

    result = itposmo_from_file(file, bands)
    click.echo(cli_output.itposmo(result, fmt), nl=False)
    for text, colour in cli_output.problem_lines(result.problems):
        click.secho(text, fg=colour, err=True)


@main.command("prioritise")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--model", default="trondheim", show_default=True, help="Preset name (trondheim) or a model YAML file."
)
@click.option(
    "--weight", "weights", multiple=True, metavar="CRITERION=W", help="Set a criterion's weight (repeatable)."
)
@_output_option
def prioritise_command(file: str, model: str, weights: tuple[str, ...], fmt: str) -> None:
    """Rank proposals in FILE (CSV or YAML: project + one column per criterion) by weighted criteria."""
    from veiviser.portfolio.console import parse_weights, prioritise_from_file

    result = prioritise_from_file(file, model, parse_weights(weights))
    click.echo(cli_output.prioritise(result, fmt), nl=False)
    for text, colour in cli_output.problem_lines(result.problems, [w.message for w in result.warnings]):
        click.secho(text, fg=colour, err=True)


@main.command("report")
@click.option(
    "--hub",
    default=None,
    help="URL of the portfolio hub: report on the synced portfolio (default: the profile's hub).",
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
@_out_dir_option(help="Folder to write the reports to.")
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
    neither = hub is None and dataset_dir is None and not _profile().profile.hub_urls
    if neither or (hub is not None and dataset_dir is not None):
        raise click.UsageError(
            "Give exactly one of --hub URL (the synced portfolio; or hub in the profile) or --dataset DIR."
        )
    if dataset_dir is not None:
        from veiviser.portfolio.dataset import PortfolioDataset
        from veiviser.portfolio.reports import write_reports

        paths = write_reports(PortfolioDataset.from_directory(dataset_dir), out_dir, since=since)
    else:
        from veiviser.reporting import report_from_hub

        state = state or _profile().profile.state_url
        paths = report_from_hub(_hub(hub), out_dir, state=state, since=since)
    click.echo(f"HTML report:  {paths.html}")
    click.echo(f"Excel:        {paths.excel}")
    click.echo(f"Power BI:     {paths.star_dir} ({len(paths.parquet)} tables as Parquet and CSV)")
    if paths.findings:
        click.secho(
            f"{paths.findings} data-quality finding(s): see the Datakvalitet section.", fg="yellow", err=True
        )


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
@click.option(
    "--output",
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="An overview (text) or the merged template as JSON; --format is the old name.",
)
def template_show(kind: str, source: str, extensions: tuple[str, ...], fmt: str) -> None:
    """Show a template (with extensions merged) as an overview or as JSON."""
    from veiviser.schemas.template_loader import describe_template, load_template

    loaded = load_template(source, kind=kind, extensions=extensions)
    click.echo(cli_output.template(loaded, fmt, describe_template(loaded)), nl=False)


@main.group(cls=_Group)
def sync() -> None:
    """Nightly portfolio sync from project sites into the hub."""


@sync.command("run")
@click.option(
    "--hub",
    "hubs",
    multiple=True,
    help="URL of a portfolio hub site (repeatable: several hubs in one run; default: the profile's hubs).",
)
@click.option(
    "--workers", default=None, type=click.IntRange(1, 64), help="Sites synced in parallel [profile's, or 4]."
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
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Let deletions through that the guard holds back (every row of a list of 10+, or over half a site's rows).",
)
@click.option(
    "--feedback",
    is_flag=True,
    help="Write what the portfolio sees to each project site's hidden list «Porteføljetilbakemelding».",
)
@click.option(
    "--worker",
    is_flag=True,
    help="Share the run with other 'sync run --worker' processes on the same store and --hub list "
    "(PostgreSQL across machines, SQLite on one machine).",
)
def sync_run(
    hubs: tuple[str, ...],
    workers: int | None,
    state: str | None,
    report_path: str | None,
    sites: tuple[str, ...],
    token_max_age_days: float,
    json_logs: bool,
    allow_mass_delete: bool,
    feedback: bool,
    worker: bool,
) -> None:
    """Sync every project site of the hub (its register and the sites joined to it).

    \b
    Exit codes:
      0   every site synced
      2   bad arguments
      3   the run failed: the hub or its register cannot be read
      4   some sites failed; all others were synced (see FAILED lines / the report)
      5   the state store cannot be opened or used
      6   all synced, but a mass deletion was held back (check the source or --allow-mass-delete)
      75  another run holds the lock (busy, not broken: try again later)
      130 stopped by SIGINT, 143 stopped by SIGTERM (the writes under way finished; run again)
    """
    from veiviser.sync.commands import configure_logging, run_sync, summary_lines

    configure_logging(json_logs)
    profile = _profile().profile
    report = run_sync(
        _hubs(hubs),
        worker=worker,
        workers=workers or profile.workers or 4,
        state=state or profile.state_url,
        report_path=report_path,
        token_max_age_days=token_max_age_days,
        sites=sites,
        progress=not json_logs,
        allow_mass_delete=allow_mass_delete,
        feedback=feedback,
    )
    for line in summary_lines(report):
        click.echo(line, err=report.exit_code != 0 and line.startswith("  "))
    sys.exit(report.exit_code)


@sync.command("status")
@click.option(
    "--state", default=None, help="SQLAlchemy URL of the state store (default: the profile's state_url)."
)
@click.option("--runs", default=5, show_default=True, type=int, help="How many recent runs to show.")
@_output_option
def sync_status_command(state: str | None, runs: int, fmt: str) -> None:
    """Last runs, per-site lag and failures (csv: one row per site)."""
    from veiviser.sync.commands import sync_status

    status = sync_status(state or _profile().profile.state_url, runs=runs)
    click.echo(cli_output.sync_status(status, fmt), nl=False)


def _provisioner(
    hub: str | None, extensions: tuple[str, ...], owner: str | None = None, adopt: bool = False
) -> Provisioner:
    """Templates are loaded (and validated: an extension of unknown kind is refused with file and
    line) before any connection is made; the owner defaults to the profile's."""
    from veiviser.provisioning.engine import Provisioner
    from veiviser.schemas.template_loader import load_bundle

    bundle = load_bundle(extensions=extensions)
    hub_url = _hub(hub)
    return Provisioner(
        hub_url,
        settings=_settings(),
        project_template=bundle.project,
        hub_template=bundle.hub,
        owner=owner or _profile().profile.owner,
        adopt=adopt,
    )


_ext_option = click.option(
    "--extension",
    "extensions",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Template extension file (repeatable).",
)
_hub_option = click.option("--hub", default=None, help="Portfolio hub URL (default: the profile's hub).")


@main.group(cls=_Group)
def provision() -> None:
    """Provision the portfolio hub and project sites (idempotent; never deletes)."""


@provision.command("hub")
@click.option(
    "--url",
    default=None,
    help="Portfolio site URL (https://<tenant>.sharepoint.com/sites/<alias>; default: the profile's hub).",
)
@click.option("--owner", default=None, help="Site owner (e-mail) if the site must be created.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@_ext_option
def provision_hub(url: str | None, owner: str | None, dry_run: bool, extensions: tuple[str, ...]) -> None:
    """Ensure the portfolio site exists, is a hub and carries the hub lists."""
    result = _provisioner(url, extensions, owner).hub(dry_run=dry_run)
    click.echo(cli_output.site_result(result, dry_run), nl=False)
    if not result.ok:
        sys.exit(1)


def _project_options(f: F) -> F:
    for opt in reversed(
        [
            _hub_option,
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
    hub: str | None,
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
    fmt: str = "table",
) -> None:
    from veiviser.provisioning.engine import ProjectRequest
    from veiviser.schemas.aliases import derive_alias, validate_alias

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
    result = prov.project(request, dry_run=dry_run)
    click.echo(cli_output.site_result(result, dry_run, fmt), nl=False)
    if not result.ok:
        sys.exit(1)


@provision.command("project")
@_project_options
def provision_project(**kwargs: Any) -> None:
    """Create (if needed) and provision one project site; add it to the hub register."""
    _run_project(False, **kwargs)


def _bulk(
    file: str,
    hub: str | None,
    workers: int,
    owner: str | None,
    extensions: tuple[str, ...],
    dry_run: bool,
    state_dir: str | None,
    fmt: str = "table",
) -> None:
    from rich.console import Console
    from rich.progress import Progress

    from veiviser.provisioning.bulk import provision_bulk
    from veiviser.provisioning.bulk_input import BulkInput

    prov = _provisioner(hub, extensions, owner)
    progress_console = Console(stderr=True)
    with Progress(console=progress_console, transient=True) as bar:
        task = bar.add_task("provisioning", total=None)

        def on_input(data: BulkInput) -> None:
            bar.update(task, total=len(data.projects))
            if data.problems or data.warnings:  # plain text: titles may hold "[…]" (no rich markup)
                progress_console.print(
                    data.render_problems(), style="yellow", markup=False, highlight=False, soft_wrap=True
                )

        result = provision_bulk(
            prov,
            file,
            workers=workers,
            dry_run=dry_run,
            state_dir=state_dir,
            progress=lambda r: bar.advance(task),
            on_input=on_input,
        )
    click.echo(cli_output.bulk(result, fmt), nl=False)
    if not result.ok:
        sys.exit(1)


@provision.command("bulk")
@click.argument("file", type=click.Path(dir_okay=False))
@_hub_option
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 16))
@click.option("--owner", default=None, help="Site owner for rows without a project owner.")
@click.option(
    "--state-dir", default=None, type=click.Path(file_okay=False), help="Where the progress journal lives."
)
@_ext_option
@_output_option
def provision_bulk_command(
    file: str,
    hub: str | None,
    workers: int,
    owner: str | None,
    state_dir: str | None,
    extensions: tuple[str, ...],
    fmt: str,
) -> None:
    """One project site per row of FILE (CSV/xlsx); resumable; per-row result table."""
    _bulk(file, hub, workers, owner, extensions, False, state_dir, fmt)


@provision.command("upgrade")
@_hub_option
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 16))
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--site", "sites", multiple=True, help="Also this site joined to the hub (repeatable).")
@_ext_option
def provision_upgrade(
    hub: str | None, workers: int, dry_run: bool, sites: tuple[str, ...], extensions: tuple[str, ...]
) -> None:
    """Bring every project site of the hub (register and joined sites) to the current template (additive)."""
    from veiviser.provisioning.bulk import upgrade

    result = upgrade(_provisioner(hub, extensions), workers=workers, dry_run=dry_run, sites=sites)
    for line in cli_output.upgrade_lines(result):
        click.echo(line)
    if not result.ok:
        sys.exit(1)


@provision.group("plan", cls=_Group)
def provision_plan() -> None:
    """Show what hub/project/bulk would change; writes nothing."""


@provision_plan.command("hub")
@click.option("--url", default=None, help="Portfolio site URL (default: the profile's hub).")
@_ext_option
@_output_option
def provision_plan_hub(url: str | None, extensions: tuple[str, ...], fmt: str) -> None:
    """Plan the hub."""
    result = _provisioner(url, extensions).hub(dry_run=True)
    click.echo(cli_output.site_result(result, True, fmt), nl=False)


@provision_plan.command("project")
@_project_options
@_output_option
def provision_plan_project(**kwargs: Any) -> None:
    """Plan one project site."""
    _run_project(True, **kwargs)


@provision_plan.command("bulk")
@click.argument("file", type=click.Path(dir_okay=False))
@_hub_option
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 16))
@_ext_option
@_output_option
def provision_plan_bulk(
    file: str, hub: str | None, workers: int, extensions: tuple[str, ...], fmt: str
) -> None:
    """Plan every row of FILE."""
    _bulk(file, hub, workers, None, extensions, True, None, fmt)


@main.command("doctor")
@click.option("--hub", default=None, help="Portfolio hub URL (default: every hub of the profile).")
@click.option("--profile", "profile_name", default=None, metavar="NAME", help="Profile of veiviser.toml.")
@click.option("--state", default=None, help="SQLAlchemy URL of the state store (default: the profile's).")
@_output_option
def doctor_command(hub: str | None, profile_name: str | None, state: str | None, fmt: str) -> None:
    """Check settings, token, hub, permissions, RU budget and state store; one line per check.

    Exit 0 only when every check passes (1 otherwise). The write check creates one item in the
    hub's register list and deletes it again.
    """
    from veiviser.doctor import run_doctor

    root = click.get_current_context().find_root()
    report = run_doctor(hub, profile=profile_name or (root.obj or {}).get("profile_name"), state=state)
    click.echo(cli_output.doctor(report, fmt), nl=False)
    sys.exit(0 if report.ok else 1)


@main.group(cls=_Group)
def auth() -> None:
    """Connect veiviser to a tenant: the app registration's certificate."""


@auth.command("certificate")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for key and cert."
)
@click.option("--name", "common_name", default="veiviser", show_default=True, help="The certificate's CN.")
@click.option("--days", default=730, show_default=True, type=int, help="Validity in days.")
def auth_certificate(out_dir: str, common_name: str, days: int) -> None:
    """Create a self-signed certificate and key for the Entra app; print the thumbprint and the steps.

    The key (veiviser-app.key.pem, mode 0600) stays here; upload veiviser-app.cer to the app. The
    key is encrypted with $VEIVISER_CERT_PASSPHRASE when that is set. Nothing is overwritten.
    """
    from veiviser.certificates import create_app_certificate, registration_steps

    cert = create_app_certificate(
        out_dir, common_name=common_name, days=days, passphrase=os.environ.get("VEIVISER_CERT_PASSPHRASE")
    )
    click.echo(cli_output.certificate(cert, registration_steps(cert)), nl=False)


@main.command("demo")
@_out_dir_option(default="veiviser-demo", help="Folder for the reports and the sync's history store.")
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
