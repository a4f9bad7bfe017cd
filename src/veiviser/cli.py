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
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback unless --allow-remote).")
@click.option("--port", default=0, show_default=True, type=int, help="TCP port (0 picks a free one).")
@click.option("--data", type=click.Path(dir_okay=False), default=None, help="SQLite file for the emulator's state.")
@click.option("--token", default=None, help="Bearer token clients must send (random if omitted).")
@click.option("--latency-ms", default=0.0, type=float, show_default=True, help="Added latency per request.")
@click.option("--jitter-ms", default=0.0, type=float, show_default=True, help="Random extra latency (0..N ms).")
@click.option("--fault-rate", default=0.0, type=float, show_default=True, help="Share of calls failing with 429/503.")
@click.option("--throttle-ru-per-minute", default=None, type=int, help="Resource-unit budget per minute (off if omitted).")
@click.option("--allow-remote", is_flag=True, help="Allow binding a non-loopback address.")
def emulator_serve(host: str, port: int, data: str | None, token: str | None, latency_ms: float, jitter_ms: float,
                   fault_rate: float, throttle_ru_per_minute: int | None, allow_remote: bool) -> None:
    """Serve the SharePoint Online emulator until Ctrl+C or SIGTERM."""
    from veiviser.emulator.server import EmulatorServer, serve_until_signal

    server = EmulatorServer(host=host, port=port, data=data, token=token, latency_ms=latency_ms,
                            jitter_ms=jitter_ms, fault_rate=fault_rate,
                            throttle_ru_per_minute=throttle_ru_per_minute, allow_remote=allow_remote)
    serve_until_signal(server, announce=lambda line: click.echo(line, nl=True) or sys.stdout.flush())


# --- end emulator serve --------------------------------------------------------------------------
