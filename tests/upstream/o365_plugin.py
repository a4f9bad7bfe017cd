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
        # newer upstream commits read tests/settings.cfg and take the secrets from this variable
        "office365_python_sdk_securevars": "not-a-user;not-a-secret;not-a-client;not-a-secret",
    }.items():
        os.environ[key] = value


def _point_settings_at_the_emulator() -> None:
    """Newer upstream commits keep the URLs in ``tests/settings.cfg`` (read into ``tests.settings``
    and copied to ``tests.test_*_url``); point them at the emulator before any test module imports
    them."""
    import tests  # the upstream package

    settings = getattr(tests, "settings", None)
    if settings is None or not hasattr(settings, "set"):
        return  # an older commit: tests/settings.py reads the OFFICE365_* variables set above
    urls = {
        "root_site_url": _URL,
        "site_url": _URL,
        "team_site_url": _URL + _TEAM,
        "admin_site_url": _URL,
    }
    for key, value in urls.items():
        settings.set("default", key, value)
        setattr(tests, f"test_{key}", value)


def _token() -> Any:
    """The emulator's token in the form the client of the upstream commit expects: a
    ``TokenResponse`` where it has one (newer commits), else the plain dict."""
    raw = {"access_token": _TOKEN, "token_type": "Bearer", "expires_in": 3600}
    try:
        from office365.runtime.auth.token_response import TokenResponse
    except ImportError:
        return raw
    return TokenResponse.from_json(raw)


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
    import office365
    from office365.sharepoint.client_context import ClientContext
    from tests.sharepoint import sharepoint_case  # the upstream package, not ours

    client_dir = os.path.dirname(os.path.dirname(office365.__file__))
    if os.path.realpath(client_dir) != os.path.realpath(root):
        raise RuntimeError(
            f"the office365 client was imported from {client_dir}, not from the upstream export {root}: "
            "tests and client must come from the same commit."
        )

    def set_up_class(cls: type) -> None:
        cls.client = ClientContext(_URL + _TEAM).with_access_token(_token)  # type: ignore[attr-defined]

    _point_settings_at_the_emulator()
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
