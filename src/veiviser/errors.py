"""The root of veiviser's own errors: messages a user can act on, printed without a traceback."""

from __future__ import annotations


class VeiviserError(Exception):
    """An error with a message that says where and what to do; ``exit_code`` for the CLI."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
