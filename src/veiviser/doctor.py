"""``veiviser doctor``: is this machine ready for the tenant? One check per prerequisite, as data.

The checks run in order and each says what it saw; a check that fails says, in one sentence, how
to fix it. Checks that need an earlier one (a token needs settings, the lists need the hub) are
reported as not run. The write check is a harmless round trip: one item is created in the hub's
register list and deleted again (docs/operations.md, "veiviser doctor").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pydantic

from veiviser.errors import VeiviserError
from veiviser.schemas.catalog import catalogue
from veiviser.schemas.names import Kind
from veiviser.schemas.settings import ConnectionSettings, LoadedProfile, load_profile
from veiviser.sharepoint import AuthError, NotFoundError, RateLimiter, SharePointError, SiteClient, connect
from veiviser.sharepoint.auth import LOGIN_AUTHORITY, token_provider
from veiviser.sharepoint.sites import SiteInfo, hub_joined_site_urls, site_info

#: Title of the item the write check creates and deletes again.
PROBE_TITLE = "veiviser doctor: skrivetest (slettes straks)"


@dataclass
class Check:
    """One prerequisite: whether it holds, what was seen, and the fix when it does not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class DoctorReport:
    """Every check in order, plus warnings that do not fail the run (e.g. secrets in the file)."""

    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rate_limit: dict[str, str] = field(default_factory=dict)
    """The last ``RateLimit-*`` headers SharePoint sent (empty when it sent none)."""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [asdict(c) for c in self.checks],
            "warnings": list(self.warnings),
            "rate_limit": dict(self.rate_limit),
        }


class _WatchingLimiter(RateLimiter):
    """The app's pacing, plus a note of the budget headers of every answer."""

    def __init__(self, settings: ConnectionSettings) -> None:
        super().__init__(settings.ru_per_minute)
        self.seen: dict[str, str] = {}

    def observe(self, response: Any) -> None:
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith("ratelimit-")}
        if headers:
            self.seen = headers
        super().observe(response)


class _Doctor:
    def __init__(self, report: DoctorReport) -> None:
        self.report = report

    suffix = ""
    """Appended to the names of the per-hub checks when a profile has several hubs."""

    def add(self, name: str, ok: bool, detail: str, fix: str = "") -> bool:
        self.report.checks.append(Check(name + self.suffix, ok, detail, "" if ok else fix))
        return ok

    def skip(self, names: list[str], because: str) -> None:
        for name in names:
            self.add(name, False, f"not checked: {because}", f"Fix the {because} first.")


_REMOTE_CHECKS = [
    "token",
    "hub",
    "hub registration",
    "hub lists: read",
    "hub lists: write",
    "tenant site list",
    "RU budget",
]


def run_doctor(
    hub: str | None = None, *, profile: str | None = None, state: str | None = None
) -> DoctorReport:
    """Run every check against ``hub`` (default: every hub of the profile) and return the report.

    With several hubs, the per-hub checks run for each, named ``"<check> [<hub URL>]"``. Never
    raises for what it checks: every problem is a failed :class:`Check`.
    """
    report = DoctorReport()
    doc = _Doctor(report)
    loaded = _check_config(doc, profile)
    settings = _check_settings(doc, loaded)
    hubs = [hub] if hub else (loaded.profile.hub_urls if loaded else [])
    state_url = state or (loaded.profile.state_url if loaded else None)
    if settings is None:
        doc.skip(_REMOTE_CHECKS, "connection settings")
    elif not hubs:
        doc.add("hub URL", False, "no hub URL given", 'Pass --hub URL or set hub = "…" in the profile.')
        doc.skip(_REMOTE_CHECKS, "hub URL")
    else:
        for hub_url in hubs:
            doc.suffix = f" [{hub_url}]" if len(hubs) > 1 else ""
            _check_remote(doc, settings, hub_url)
        doc.suffix = ""
    _check_state(doc, state_url)
    return report


def _check_config(doc: _Doctor, profile: str | None) -> LoadedProfile | None:
    try:
        loaded = load_profile(profile)
    except VeiviserError as exc:
        doc.add("config file", False, str(exc), exc.hint or "Fix the config file.")
        return None
    doc.report.warnings.extend(loaded.warnings)
    if loaded.file is None:
        doc.add("config file", True, "none (the environment alone)")
    else:
        doc.add("config file", True, f"{loaded.file}, profile {loaded.name!r}")
    return loaded


def _check_settings(doc: _Doctor, loaded: LoadedProfile | None) -> ConnectionSettings | None:
    try:
        settings = loaded.connection_settings() if loaded else ConnectionSettings()
    except pydantic.ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        doc.add(
            "settings",
            False,
            problems,
            "Set the missing values in the profile or as VEIVISER_* variables (secrets only in the environment).",
        )
        return None
    where = f", admin {settings.admin_url}" if settings.admin_url else ", no admin URL"
    doc.add("settings", True, f"auth {settings.auth}{where}, {settings.ru_per_minute:g} RU/min")
    return settings


def _check_remote(doc: _Doctor, settings: ConnectionSettings, hub_url: str) -> None:
    try:
        token_provider(settings, hub_url)()
    except (VeiviserError, ValueError) as exc:
        doc.add("token", False, str(exc), _token_fix(settings))
        doc.skip(_REMOTE_CHECKS[1:], "token")
        return
    except OSError as exc:  # requests' connection errors too: the sign-in service is out of reach
        doc.add(
            "token",
            False,
            f"cannot reach the sign-in service {LOGIN_AUTHORITY} ({type(exc).__name__})",
            "Check DNS, the firewall and the proxy (HTTPS_PROXY) for login.microsoftonline.com.",
        )
        doc.skip(_REMOTE_CHECKS[1:], "token")
        return
    doc.add("token", True, f"acquired ({settings.auth})")
    limiter = _WatchingLimiter(settings)
    try:
        hub = connect(hub_url, settings, limiter=limiter)
    except VeiviserError as exc:
        doc.add("hub", False, str(exc), exc.hint or "Check the hub URL.")
        doc.skip(_REMOTE_CHECKS[2:], "hub")
        return
    info = _check_hub(doc, hub, settings)
    if info is None:
        doc.skip(_REMOTE_CHECKS[2:-1], "hub")
    else:
        doc.add(
            "hub registration",
            info.is_hub,
            f"{info.url} is {'a' if info.is_hub else 'not a'} hub site",
            "Run `veiviser provision hub` (it registers the site as a hub).",
        )
        if _check_read(doc, hub):
            _check_write(doc, hub)
        else:
            doc.skip(["hub lists: write"], "hub lists")
        _check_tenant(doc, hub, info)
    _check_budget(doc, limiter)


def _token_fix(settings: ConnectionSettings) -> str:
    if settings.auth == "certificate":
        return (
            "Check VEIVISER_TENANT_ID, VEIVISER_CLIENT_ID, the certificate file and that its thumbprint is "
            "the one uploaded to the Entra app (`veiviser auth certificate`)."
        )
    if settings.auth == "device-code":
        return "Sign in again on a terminal; check VEIVISER_TENANT_ID and VEIVISER_CLIENT_ID."
    return "Set VEIVISER_ACCESS_TOKEN to a valid bearer token."


def _refused_fix(settings: ConnectionSettings) -> str:
    if settings.auth == "token":
        return "The token was refused: set VEIVISER_ACCESS_TOKEN to a current token for this tenant."
    return (
        "The app's token was refused: grant the SharePoint application permission Sites.FullControl.All "
        "(or Sites.Selected with a grant on this site) and give admin consent."
    )


def _check_hub(doc: _Doctor, hub: SiteClient, settings: ConnectionSettings) -> SiteInfo | None:
    try:
        info = site_info(hub)
    except AuthError as exc:
        doc.add("hub", False, f"{hub.url}: the token was refused (HTTP {exc.status})", _refused_fix(settings))
        return None
    except NotFoundError:
        doc.add(
            "hub",
            False,
            f"{hub.url} does not exist",
            "Check the URL, or create it with `veiviser provision hub --url URL --owner EMAIL`.",
        )
        return None
    except (SharePointError, VeiviserError) as exc:
        doc.add(
            "hub", False, f"{hub.url}: {exc}", "Check the URL, the network and the proxy (VEIVISER_PROXY)."
        )
        return None
    doc.add("hub", True, f"{info.url}: {info.title!r}")
    return info


def _register_title() -> str:
    return catalogue().central(Kind.PROJECTS).title


def _check_read(doc: _Doctor, hub: SiteClient) -> bool:
    title = _register_title()
    try:
        rows = list(hub.iter_items(title, select=["Id"]))
    except SharePointError as exc:
        return doc.add(
            "hub lists: read",
            False,
            f"list {title!r}: {exc}",
            "Run `veiviser provision hub` to create the hub lists, or grant the app read access to the hub.",
        )
    return doc.add("hub lists: read", True, f"list {title!r}: {len(rows)} items")


def _check_write(doc: _Doctor, hub: SiteClient) -> None:
    title = _register_title()
    fix = (
        "Grant the app write access to the hub (Sites.FullControl.All, or Sites.Selected with a write grant)."
    )
    try:
        created = hub.create_items(title, [{"Title": PROBE_TITLE}])[0]
        if not created.ok:
            raise created.error or SharePointError("the item was not created", site=hub.url, list=title)
        item_id = int(created.value["Id"])
        deleted = hub.delete_items(title, [item_id])[0]
        if not deleted.ok:
            doc.add(
                "hub lists: write",
                False,
                f"list {title!r}: created item {item_id} but could not delete it: {deleted.error}",
                f"Delete item {item_id} ({PROBE_TITLE!r}) by hand and grant the app delete rights.",
            )
            return
    except SharePointError as exc:
        doc.add("hub lists: write", False, f"list {title!r}: {exc}", fix)
        return
    doc.add("hub lists: write", True, f"list {title!r}: created and deleted a test item")


def _check_tenant(doc: _Doctor, hub: SiteClient, info: SiteInfo) -> None:
    name = "tenant site list"
    if not hub.settings.admin_url:
        doc.add(
            name,
            False,
            "no admin URL: joined sites outside the register cannot be found",
            "Set admin_url (https://<tenant>-admin.sharepoint.com) in the profile or VEIVISER_ADMIN_URL.",
        )
        return
    try:
        urls = hub_joined_site_urls(hub.admin(), info.hub_site_id or info.site_id, exclude=hub.url)
    except (SharePointError, VeiviserError) as exc:
        doc.add(
            name,
            False,
            f"{hub.settings.admin_url}: {exc}",
            "Check the admin URL and grant the app Sites.FullControl.All (Sites.Selected cannot read the tenant's site list).",
        )
        return
    doc.add(name, True, f"{hub.settings.admin_url}: {len(urls)} sites joined to the hub")


def _check_budget(doc: _Doctor, limiter: _WatchingLimiter) -> None:
    seen = limiter.seen
    doc.report.rate_limit = dict(seen)
    if not seen:
        doc.add("RU budget", True, "no RateLimit headers: under 80 % of the budget is in use")
        return
    lower = {k.lower(): v for k, v in seen.items()}
    remaining = lower.get("ratelimit-remaining", "?")
    detail = (
        f"RateLimit-Limit {lower.get('ratelimit-limit', '?')}, Remaining {remaining}, "
        f"Reset {lower.get('ratelimit-reset', '?')} s"
    )
    exhausted = remaining.strip() == "0"
    doc.add(
        "RU budget",
        not exhausted,
        detail,
        "The app's resource-unit budget is used up: wait for the reset, and lower workers or ru_per_minute.",
    )


def _shown(url: str) -> str:
    """A database URL fit for the screen: any password masked."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a SQLAlchemy URL)"


def _check_state(doc: _Doctor, state_url: str | None) -> None:
    from veiviser.sync.schema import default_state_url
    from veiviser.sync.state import StateStore

    url = state_url or default_state_url()
    try:
        with StateStore(url) as store:
            runs = store.runs(limit=1)
    except Exception as exc:  # any driver or file error is this check's answer, never a traceback
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        doc.add(
            "state store",
            False,
            f"{_shown(url)}: cannot open: {reason}",
            "Set state_url in the profile (or VEIVISER_STATE_URL) to a SQLAlchemy URL this machine can open.",
        )
        return
    last = f"last run {runs[0]['status']} at {runs[0]['started_at']}" if runs else "no runs yet"
    doc.add("state store", True, f"{_shown(url)}: {last}")
