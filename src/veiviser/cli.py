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
