"""Provision the portfolio hub and project sites: create, join, ensure the template, register.

:class:`Provisioner` holds the connection settings, the templates and the hub URL; its methods
are what the CLI calls:

* :meth:`Provisioner.hub` — the portfolio site exists, is a hub and carries the hub lists;
* :meth:`Provisioner.project` — the team site (``STS#3``, Lcid 1044, owner) exists and is ready,
  is joined to the hub, carries the project template, has its one ``Prosjektegenskaper`` item,
  and the hub register ``Prosjekter`` has its item keyed by site id (plus yearly costs);
* every method takes ``dry_run=True`` to plan without writing.

A re-run that finds nothing to do reads one ``$batch`` on the project site and one register query
on the hub and writes nothing. A site that exists with someone else's content is refused unless
``adopt=True``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from veiviser.errors import VeiviserError
from veiviser.provisioning.apply import ApplyReport, ProvisionError, apply_plan, failure_message
from veiviser.provisioning.plan import DataItem, Plan, plan
from veiviser.provisioning.register import (
    read_register,
    write_costs,
    write_register_item,
)
from veiviser.provisioning.state import SiteState, read_state
from veiviser.schemas.settings import ConnectionSettings
from veiviser.schemas.template import Template
from veiviser.schemas.template_loader import load_template
from veiviser.sharepoint import (
    LookupValue,
    NotFoundError,
    RateLimiter,
    RequestCounter,
    SharePointError,
    SiteClient,
    UnknownUserError,
    connect,
)
from veiviser.sharepoint import schema as sp
from veiviser.sharepoint.auth import check_credentials, is_app_only
from veiviser.sharepoint.client import settings_from_env
from veiviser.sharepoint.sites import create_site, site_url_for, wait_until_ready
from veiviser.sharepoint.transport import shared_limiter

PROPERTIES_KEY = "properties"


class ForeignSiteError(VeiviserError):
    """The site exists and holds someone else's content; veiviser will not write to it."""

    exit_code = 5


@dataclass(frozen=True)
class ProjectRequest:
    """What one project site should be: identity, people, phase and yearly costs (NOK thousands)."""

    title: str
    alias: str
    owner: str | None = None
    leader: str | None = None
    phase: str | None = None
    unit: str | None = None
    service_area: str | None = None
    start_year: int | None = None
    lifecycle_status: str | None = None
    operating_costs: Mapping[int, Decimal] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Any) -> ProjectRequest:
        """From a :class:`veiviser.schemas.project.ProjectSpec` (bulk input)."""
        same = ("title", "alias", "owner", "leader", "phase", "unit", "service_area", "start_year")
        values = {name: getattr(spec, name) for name in (*same, "lifecycle_status")}
        return cls(**values, operating_costs=dict(spec.operating_costs))


#: Request attributes that must be one of a Choice field's values: (attribute, CLI option, internal name).
_CHOICE_OPTIONS = (
    ("phase", "--phase", "GtProjectPhase"),
    ("lifecycle_status", "--lifecycle-status", "GtProjectLifecycleStatus"),
    ("service_area", "--service-area", "GtProjectServiceArea"),
)


class RequestError(VeiviserError):
    """A project request that does not fit the template (exit code 2: nothing was written)."""

    exit_code = 2


@dataclass
class SiteResult:
    """The outcome for one site: ``created``, ``updated``, ``up to date``, ``planned`` or ``failed``."""

    url: str
    outcome: str
    title: str = ""
    alias: str = ""
    plan: Plan | None = None
    report: ApplyReport | None = None
    error: str | None = None
    site_id: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome not in ("failed", "invalid")

    @property
    def detail(self) -> str:
        """One line for a result table: the error, else the plan's short summary, else the notes."""
        if self.error:
            return self.error
        return self.plan.short_summary() if self.plan is not None else "; ".join(self.notes)

    def to_dict(self) -> dict[str, Any]:
        """The outcome as plain data (the plan as :meth:`Plan.to_dict`); ``--output json`` prints it."""
        return {
            "url": self.url,
            "outcome": self.outcome,
            "title": self.title,
            "alias": self.alias,
            "site_id": self.site_id,
            "error": self.error,
            "detail": self.detail,
            "notes": list(self.notes),
            "plan": self.plan.to_dict() if self.plan is not None else None,
        }

    @property
    def register_notes(self) -> list[str]:
        """The notes about the hub register (e.g. a joined site that was registered again)."""
        return [n for n in self.notes if "register" in n]


def _root_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _alias_of(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    if not path.lower().startswith("/sites/"):
        raise VeiviserError(
            f"{url} is not a /sites/<alias> URL", hint="Use https://<tenant>.sharepoint.com/sites/<alias>."
        )
    return path.rsplit("/", 1)[-1]


class Provisioner:
    """Provisioning against one hub; thread-safe for distinct sites (one SiteClient per call)."""

    def __init__(
        self,
        hub_url: str,
        *,
        settings: ConnectionSettings | None = None,
        project_template: Template | None = None,
        hub_template: Template | None = None,
        owner: str | None = None,
        adopt: bool = False,
        counter: RequestCounter | None = None,
        limiter: RateLimiter | None = None,
        wait_timeout: float = 600.0,
        wait_interval: float = 5.0,
    ) -> None:
        if urlsplit(hub_url).scheme not in ("http", "https"):
            raise RequestError(
                f"{hub_url!r} is not a site URL; nothing was sent",
                hint="Give the hub as https://<tenant>.sharepoint.com/sites/<alias>.",
            )
        self.hub_url = hub_url.rstrip("/")
        self.settings = settings
        self.project_template = project_template or load_template("standard", kind="project")
        self.hub_template = hub_template or load_template("standard", kind="hub")
        self.owner = owner
        self.adopt = adopt
        self.counter = counter
        self.limiter = (
            limiter
            if limiter is not None
            else (
                shared_limiter(self.hub_url, settings.ru_per_minute)
                if settings is not None
                else None  # connect() uses the process's limiter for the tenant
            )
        )
        self.wait_timeout = wait_timeout
        self.wait_interval = wait_interval
        self._hub_id: str | None = None
        self._lock = threading.Lock()
        self._hub_people: dict[str, int] = {}  # hub user ids by lower-case e-mail, from the person checks

    # --- plumbing -------------------------------------------------------------------------------

    def client(self, url: str) -> SiteClient:
        return connect(url, self.settings, counter=self.counter, limiter=self.limiter)

    def pace(self) -> tuple[int | None, int | None]:
        """The pace the shared limiter has learned for this tenant and the budget the tenant
        announced (RU/min, either ``None`` when unknown), for the summary."""
        limiter = self.limiter or self.client(self.hub_url).limiter
        if limiter is None:
            return None, None
        return limiter.learned_ru_per_minute, limiter.announced_ru_per_minute

    # --- preflights (docs/provisioning.md, "Preflights") -------------------------------------------

    def connection_settings(self) -> ConnectionSettings:
        """The settings this provisioner connects with (given, or from the environment)."""
        return self.settings or settings_from_env()

    def owner_required(self) -> bool:
        """Whether a site this run creates needs an explicit owner (an app-only token); no request."""
        return is_app_only(self.connection_settings())

    def require_owner(self, what: str, owner: str | None = None) -> None:
        """Refuse before the first request when a site may have to be created without an owner."""
        check_credentials(self.connection_settings())  # an unusable token says so before the owner
        if owner or self.owner or not self.owner_required():
            return
        raise RequestError(
            f"--owner is needed: {what} is created with an app-only token, which must name the "
            "site owner; nothing was sent",
            hint="Pass --owner EMAIL (a person in the tenant). It is only used for sites that do not exist yet.",
        )

    def check_people(self, hub: SiteClient, emails: Iterable[str]) -> dict[str, UnknownUserError]:
        """Resolve people on the hub (one ``$batch`` for those not yet checked); the unknown ones by
        lower-case e-mail. Known ids are remembered for the register writes of this run."""
        with self._lock:
            hub.remember_users(self._hub_people)
        ids, unknown = hub.ensure_users(emails)
        with self._lock:
            self._hub_people.update(ids)
        return unknown

    def _check_request_people(self, hub: SiteClient, request: ProjectRequest) -> None:
        people = {
            "--owner": request.owner or self.owner,
            "--leader": request.leader,
        }
        unknown = self.check_people(hub, [e for e in people.values() if e])
        problems = [
            f"{option} {email} is not a user in the tenant"
            for option, email in people.items()
            if email and email.strip().lower() in unknown
        ]
        if problems:
            raise RequestError(
                f"project {request.title!r}: " + "; ".join(problems) + "; nothing was created",
                hint=UnknownUserError.default_hint,
            )

    def _create(self, url: str, title: str, owner: str | None) -> None:
        owner = owner or self.owner
        if not owner:
            raise VeiviserError(
                f"{url} does not exist and no owner was given to create it",
                hint="Pass --owner EMAIL (an app-only token needs an explicit site owner).",
            )
        root = self.client(_root_of(url))
        create_site(root, _alias_of(url), title, owner)
        wait_until_ready(root, url, timeout=self.wait_timeout, interval=self.wait_interval)

    def _read(
        self, site: SiteClient, template: Template, read_items: tuple[str, ...] = (), new_site: bool = False
    ) -> SiteState | None:
        """The site's state, or None when the site does not exist."""
        try:
            state, _ = read_state(site, template, read_items=read_items, new_site=new_site)
        except NotFoundError:
            return None
        except SharePointError as exc:
            if exc.status == 404:
                return None
            raise
        return state

    # --- hub --------------------------------------------------------------------------------------

    def hub(self, *, dry_run: bool = False, title: str = "Portefølje") -> SiteResult:
        """Ensure the portfolio site exists, is a hub and carries the hub template."""
        template = self.hub_template
        if not dry_run:
            self.require_owner(f"the hub {self.hub_url}, if it does not exist yet,")
        site = self.client(self.hub_url)
        state = self._read(site, template)
        created = False
        notes: list[str] = []
        if state is None:
            if dry_run:
                p = plan(template, SiteState(url=self.hub_url))
                p.notes[:0] = [f"would create the site {self.hub_url} and register it as a hub"]
                return SiteResult(self.hub_url, "planned", title, plan=p)
            self._create(self.hub_url, title, None)
            created = True
            site = self.client(self.hub_url)
            state = self._read(site, template, new_site=True)
            if state is None:
                raise ProvisionError(f"{self.hub_url} was created but cannot be read")
        if not state.is_hub:
            if dry_run:
                notes.append("would register the site as a hub")
            else:
                d = site.run(sp.register_hub_site())
                hub_id = (d or {}).get("ID") or (d or {}).get("Id") if isinstance(d, dict) else None
                state.is_hub, state.hub_site_id = True, str(hub_id or state.site_id).lower()
                notes.append("registered as hub")
        self._hub_id = state.hub_site_id or state.site_id
        p = plan(template, state)
        p.notes.extend(notes)
        if dry_run:
            return SiteResult(
                self.hub_url, "planned", state.title, plan=p, site_id=state.site_id, notes=notes
            )
        report = apply_plan(site, p, state)
        if not report.ok:
            raise ProvisionError(failure_message(report), report=report)
        outcome = "created" if created else ("updated" if report.results or notes else "up to date")
        return SiteResult(
            self.hub_url, outcome, state.title, plan=p, report=report, site_id=state.site_id, notes=notes
        )

    def hub_id(self) -> str:
        """The hub's id (read once)."""
        with self._lock:
            if self._hub_id is None:
                d = self.client(self.hub_url).run(sp.read_site("Id,IsHubSite,HubSiteId"))
                if not d.get("IsHubSite"):
                    raise VeiviserError(
                        f"{self.hub_url} is not a hub site",
                        hint=f"Run `veiviser provision hub --url {self.hub_url}` first.",
                    )
                self._hub_id = str(d.get("HubSiteId") or d["Id"]).lower()
            return self._hub_id

    # --- project ----------------------------------------------------------------------------------

    def project_url(self, alias: str) -> str:
        return site_url_for(self.hub_url, alias)

    def project(self, request: ProjectRequest, *, dry_run: bool = False, resume: bool = False) -> SiteResult:
        """Provision one project site end to end (see the module docstring).

        Choice values (phase, lifecycle status, service area) are checked against the template
        before anything is sent: an unknown value is an error, never silently left out.
        ``resume=True`` says an earlier run of ours started this very site (the bulk journal says
        so) and was stopped before its register entry: its lists are ours, not someone else's.
        """
        request = self.checked_request(request)
        if not dry_run:
            self.require_owner(
                f"the site of project {request.title!r}, if it does not exist yet,", request.owner
            )
        return self._project(request, self.project_url(request.alias), dry_run=dry_run, resume=resume)

    def checked_request(self, request: ProjectRequest) -> ProjectRequest:
        """``request`` with its choice values in the template's spelling; :class:`RequestError` if one is unknown."""
        fixed: dict[str, Any] = {}
        for attr, option, name in _CHOICE_OPTIONS:
            value = getattr(request, attr)
            if not value:
                continue
            try:
                fdef = self.project_template.get_list(PROPERTIES_KEY).field(name)
            except KeyError:
                continue
            if not fdef.choices or fdef.fill_in:
                continue
            match = next((c for c in fdef.choices if c.casefold() == str(value).strip().casefold()), None)
            if match is None:
                raise RequestError(
                    f"{option} {value!r} is not a choice of {fdef.display_name or name} ({name}) "
                    f"for project {request.title!r}; nothing was written",
                    hint="Use one of: " + ", ".join(fdef.choices),
                )
            fixed[attr] = match
        return replace(request, **fixed) if fixed else request

    def upgrade_site(self, request: ProjectRequest, *, dry_run: bool = False) -> SiteResult:
        """Bring an existing project site to the current template; people and parameters are kept."""
        return self._project(request, self.project_url(request.alias), dry_run=dry_run, upgrade=True)

    def _project(
        self, request: ProjectRequest, url: str, *, dry_run: bool, upgrade: bool = False, resume: bool = False
    ) -> SiteResult:
        template = self.project_template
        hub = self.client(self.hub_url)
        site = self.client(url)
        state = self._read(site, template, read_items=(PROPERTIES_KEY,))
        created = False
        if state is None and upgrade:
            raise ProvisionError(
                f"[{url}] the site in the hub register does not exist any more",
                hint="Remove or mark the register item; upgrade never creates sites.",
            )
        if state is None:
            if dry_run:
                p = plan(template, SiteState(url=url), data=[self._properties(request, None, None, url, {})])
                p.notes[:0] = [f"would create the site {url}, join the hub and add it to the register"]
                # Libraries that come with a new site (Dokumenter) cannot exist before it: not drift.
                builtin = {lst.key for lst in template.lists if lst.existing}
                if any(d.list in builtin for d in p.drift):
                    p.drift = [d for d in p.drift if d.list not in builtin]
                    p.notes.append(
                        "the site's own libraries ("
                        + ", ".join(template.get_list(k).title for k in sorted(builtin))
                        + ") get their fields once it exists"
                    )
                return SiteResult(url, "planned", request.title, request.alias, plan=p)
            # Every person of the request is known to the tenant before anything is created.
            self._check_request_people(hub, request)
            self._create(url, request.title, request.owner)
            created = True
            site = self.client(url)
            state = self._read(site, template, read_items=(PROPERTIES_KEY,), new_site=True)
            if state is None:
                raise ProvisionError(
                    f"{url} was created but cannot be read", hint="Run the command again in a minute."
                )
        register, cost_rows = read_register(
            hub, self.hub_url, url, state.site_id, costs=bool(request.operating_costs)
        )
        props_item = self._properties_item(state)
        if upgrade:
            kept = _parameters(props_item)
            request = replace(request, owner=kept.get("owner"), leader=kept.get("leader"))
        if not created:
            self._check_ownership(state, register, props_item, url, resumed=resume)
        hub_id = state.hubs.get(self.hub_url.lower()) or self.hub_id()
        notes: list[str] = []
        mine = [r for r in register if str(r.get("GtSiteId") or "").lower() == state.site_id]
        previous = _parameters(props_item)
        new_people = any(previous.get(k) != getattr(request, k) for k in ("owner", "leader"))
        if not dry_run and not upgrade and not created and (new_people or not mine):
            self._check_request_people(hub, request)  # before the first write for this project
        if not mine and not dry_run:
            # Claim the site in the register before the template is applied: an interrupted run is
            # recognised as ours on the next run (docs/provisioning.md, "Idempotence").
            self._write_register(hub, request, state, None, claim=True)
            register, _ = read_register(hub, self.hub_url, url, state.site_id, costs=False)
        if state.hub_site_id != hub_id:
            notes.append("joined the hub" if not dry_run else "would join the hub")
            if not dry_run:
                site.run(sp.join_hub_site(hub_id))
        people = self._people(site, request, previous, props_item is None, dry_run)
        data = [self._properties(request, state, props_item, url, people)]
        p = plan(template, state, data=data)
        p.notes.extend(notes)
        if dry_run:
            return SiteResult(
                url, "planned", request.title, request.alias, plan=p, site_id=state.site_id, notes=notes
            )
        report = apply_plan(site, p, state)
        if not report.ok:
            raise ProvisionError(failure_message(report), report=report)
        mine = [r for r in register if str(r.get("GtSiteId") or "").lower() == state.site_id]
        wrote_register = self._write_register(
            hub,
            request,
            state,
            mine[0] if mine else None,
            claim=False,
            people_changed=created
            or previous.get("leader") != request.leader
            or previous.get("owner") != request.owner,
        )
        wrote_costs = (
            write_costs(hub, self.hub_url, state, request.title, request.operating_costs, cost_rows)
            if request.operating_costs
            else False
        )
        changed = bool(report.results) or bool(notes) or wrote_register or wrote_costs
        outcome = "created" if created else ("updated" if changed else "up to date")
        return SiteResult(
            url,
            outcome,
            request.title,
            request.alias,
            plan=p,
            report=report,
            site_id=state.site_id,
            notes=notes,
        )

    # --- ownership, properties, register ------------------------------------------------------------

    @staticmethod
    def _properties_item(state: SiteState) -> dict[str, Any] | None:
        ls = state.lists.get(PROPERTIES_KEY)
        if ls is None or not ls.items:
            return None
        return sorted(ls.items, key=lambda r: int(r.get("Id") or r.get("ID") or 0))[0]

    def _check_ownership(
        self,
        state: SiteState,
        register: list[dict[str, Any]],
        props: dict[str, Any] | None,
        url: str,
        *,
        resumed: bool = False,
    ) -> None:
        ids = {str(r.get("GtSiteId") or "").lower() for r in register}
        props_id = str((props or {}).get("GtSiteId") or "").lower()
        ours = state.site_id in ids or props_id == state.site_id
        if ours or self.adopt:
            return
        if resumed and not (ids - {state.site_id}) and (props is None or props_id in ("", state.site_id)):
            return  # our own run was stopped here before the register entry (docs/provisioning.md)
        reasons: list[str] = []
        if ids - {state.site_id}:
            reasons.append("the hub register lists this URL with another site id")
        if props is not None and props_id != state.site_id:
            reasons.append("its Prosjektegenskaper item belongs to another site")
        custom = [ls.title for ls in state.other_lists if ls.base_template == 100 and not ls.hidden]
        if custom:
            reasons.append("it has lists veiviser did not make: " + ", ".join(custom[:5]))
        if state.lists and not reasons:
            reasons.append("it has project lists but no veiviser register entry")
        if reasons:
            raise ForeignSiteError(
                f"[{url}] the site already exists with someone else's content ({'; '.join(reasons)}); nothing was written",
                hint="Choose another alias, or pass --adopt if this site should become a veiviser project site "
                "(veiviser only adds, it never deletes).",
            )

    def _people(
        self, site: SiteClient, request: ProjectRequest, previous: Mapping[str, Any], new: bool, dry_run: bool
    ) -> dict[str, Any]:
        """Person values to write; EnsureUser only when an e-mail changed since the last run."""
        out: dict[str, Any] = {}
        for name, email, key in (
            ("GtProjectManager", request.leader, "leader"),
            ("GtProjectOwner", request.owner, "owner"),
        ):
            if email and (new or previous.get(key) != email):
                out[name] = LookupValue(0) if dry_run else LookupValue(site.ensure_user(email))
        return out

    def _choice(self, list_key: str, name: str, value: str | None, template: Template) -> str | None:
        if not value:
            return None
        try:
            fdef = template.get_list(list_key).field(name)
        except KeyError:
            return None
        return value if not fdef.choices or value in fdef.choices or fdef.fill_in else None

    def _common_values(
        self, request: ProjectRequest, url: str, site_id: str, template: Template, list_key: str
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "Title": request.title,
            "GtSiteUrl": url,
            "GtSiteId": site_id,
            "GtProjectUnit": request.unit,
            "GtStartYear": request.start_year,
            "GtProjectPhase": self._choice(list_key, "GtProjectPhase", request.phase, template),
            "GtProjectPhaseText": request.phase,
            "GtProjectLifecycleStatus": self._choice(
                list_key, "GtProjectLifecycleStatus", request.lifecycle_status, template
            ),
            "GtProjectServiceAreaText": request.service_area,
        }
        area = self._choice(list_key, "GtProjectServiceArea", request.service_area, template)
        if area:
            values["GtProjectServiceArea"] = [area]
        lst = template.get_list(list_key)
        return {k: v for k, v in values.items() if v is not None and (k == "Title" or lst.has_field(k))}

    def _stamp(self) -> dict[str, Any]:
        t = self.project_template
        return {
            "GtProjectTemplate": t.name,
            "GtInstalledVersion": t.version,
            "GtCurrentVersion": t.version,
            "GtTemplateVersion": t.stamp,
            "GtProjectExtensions": ",".join(t.extensions) or None,
        }

    def _properties(
        self,
        request: ProjectRequest,
        state: SiteState | None,
        item: dict[str, Any] | None,
        url: str,
        people: Mapping[str, Any],
    ) -> DataItem:
        site_id = state.site_id if state else ""
        values = self._common_values(request, url, site_id, self.project_template, PROPERTIES_KEY)
        values.update(people)
        params = {
            "alias": request.alias,
            "owner": request.owner,
            "leader": request.leader,
            "hub": self.hub_url,
        }
        previous = _parameters(item)
        if item is None or any(previous.get(k) != v for k, v in params.items()):
            values["TemplateParameters"] = json.dumps(params, ensure_ascii=False, sort_keys=True)
        values = {k: v for k, v in values.items() if v is not None}
        lst = self.project_template.get_list(PROPERTIES_KEY)
        stamp = {k: v for k, v in self._stamp().items() if v is not None and lst.has_field(k)}
        return DataItem(PROPERTIES_KEY, values, match=None, label="Prosjektegenskaper", stamp=stamp)

    def _write_register(
        self,
        hub: SiteClient,
        request: ProjectRequest,
        state: SiteState,
        row: dict[str, Any] | None,
        *,
        claim: bool,
        people_changed: bool = False,
    ) -> bool:
        """Create or update the register item keyed by site id; returns True if it wrote."""
        values = self._common_values(request, state.url, state.site_id, self.hub_template, "projects")
        if claim:
            values.update({"GtInstalledVersion": "0.0.0", "GtTemplateVersion": "0.0.0"})
        else:
            values.update({k: v for k, v in self._stamp().items() if v is not None})
        people = (request.leader, request.owner) if people_changed or row is None else (None, None)
        return write_register_item(
            hub, self.hub_url, state.url, values, row, leader=people[0], owner=people[1]
        )


def _parameters(item: Mapping[str, Any] | None) -> dict[str, Any]:
    if not item:
        return {}
    try:
        value = json.loads(str(item.get("TemplateParameters") or "{}"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
