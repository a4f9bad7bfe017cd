"""The sync's boundaries: the REST dialect stays in the gateway, report writers stay above the sync."""

from __future__ import annotations

import re
from pathlib import Path

import veiviser

SRC = Path(veiviser.__file__).parent
REST_DIALECT = re.compile(r"__metadata|_api\b|GetByTitle|Web/lists|SP\.ChangeQuery|Web/EnsureUser")


def _sources() -> list[Path]:
    return [*sorted((SRC / "sync").glob("*.py")), SRC / "demo" / "writer.py"]


def test_sync_and_demo_writer_build_no_rest_requests():
    offenders = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in _sources()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if REST_DIALECT.search(line)
    ]
    assert offenders == [], "build requests with veiviser.sharepoint.items instead:\n" + "\n".join(offenders)


def test_sync_never_imports_the_report_writers():
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted((SRC / "sync").glob("*.py"))
        if "veiviser.portfolio.reports" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
