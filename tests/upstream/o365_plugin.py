"""A pytest plugin that points office365-rest-python-client's own SharePoint tests at the emulator.

Loaded with ``-p o365_plugin`` by :mod:`upstream_runner` in a pytest subprocess whose rootdir is a
checkout of the client's ``tests/`` folder (never part of this repository). The upstream tests
are written for a real tenant with certificate auth: this plugin only supplies settings and a
token, it changes no test. It

- sets the ``OFFICE365_*`` settings variables to the emulator's URLs (``tests/settings.py``
  requires five of them; the secrets are dummies the emulator never sees),
- replaces ``SPTestCase.setUpClass`` with one building
  ``ClientContext(team_site_url).with_access_token(...)``,
- writes each test's outcome to ``VEIVISER_UPSTREAM_REPORT`` (JSON lines) for the runner.

Inputs (environment): ``VEIVISER_EMULATOR_URL`` (root site), ``VEIVISER_EMULATOR_TOKEN``,
``VEIVISER_UPSTREAM_TEAM_SITE`` (server-relative path, default ``/sites/project``).
"""

from __future__ import annotations

import json
import os
from typing import Any

_URL = os.environ.get("VEIVISER_EMULATOR_URL", "").rstrip("/")
_TOKEN = os.environ.get("VEIVISER_EMULATOR_TOKEN", "")
_TEAM = os.environ.get("VEIVISER_UPSTREAM_TEAM_SITE", "/sites/project")
_REPORT = os.environ.get("VEIVISER_UPSTREAM_REPORT", "")

if _URL:
    # tests/settings.py reads these at import time: set them before any upstream module loads.
    for key, value in {
        "OFFICE365_TENANT": "emulator.onmicrosoft.com",
        "OFFICE365_CLIENT_ID": "00000000-0000-0000-0000-000000000001",
        "OFFICE365_CLIENT_SECRET": "not-a-secret",
        "OFFICE365_USERNAME": "admin@emulator.local",
        "OFFICE365_PASSWORD": "not-a-secret",
        "OFFICE365_ROOT_SITE_URL": _URL,
        "OFFICE365_SITE_URL": _URL,
        "OFFICE365_TEAM_SITE_URL": _URL + _TEAM,
        "OFFICE365_ADMIN_SITE_URL": _URL,
    }.items():
        os.environ[key] = value


def _token() -> dict[str, Any]:
    return {"access_token": _TOKEN, "token_type": "Bearer", "expires_in": 3600}


def pytest_configure(config: Any) -> None:
    """Patch ``SPTestCase.setUpClass`` once the upstream ``tests`` package is importable."""
    if not _URL:
        raise RuntimeError(
            "VEIVISER_EMULATOR_URL is not set; run the upstream tests through upstream_runner."
        )
    import sys

    root = str(config.rootpath)
    if root not in sys.path:
        sys.path.insert(0, root)
    from office365.sharepoint.client_context import ClientContext
    from tests.sharepoint import sharepoint_case  # the upstream package, not ours

    def set_up_class(cls: type) -> None:
        cls.client = ClientContext(_URL + _TEAM).with_access_token(_token)  # type: ignore[attr-defined]

    sharepoint_case.SPTestCase.setUpClass = classmethod(set_up_class)  # type: ignore[assignment]


def pytest_runtest_logreport(report: Any) -> None:
    """Append one JSON line per test outcome (setup errors and skips included)."""
    if not _REPORT:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = report.outcome
        if report.when == "setup" and outcome == "failed":
            outcome = "error"
        message = ""
        if outcome != "passed" and report.longrepr is not None:
            text = str(report.longrepr)
            message = text.strip().splitlines()[-1][:300] if text.strip() else ""
        with open(_REPORT, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"nodeid": report.nodeid, "outcome": outcome, "message": message}) + "\n")
