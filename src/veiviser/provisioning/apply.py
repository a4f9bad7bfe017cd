"""Execute a :class:`~veiviser.provisioning.plan.Plan` in ``$batch`` es, round by round, with a result per step.

:func:`build_operation` turns one step into one request with the gateway's builders
(:mod:`veiviser.sharepoint.schema`); this module names lists by key and id, never by URL.
Round 1 creates lists and content types; their ids come back in the answers and feed round 2
(fields, lookups, views, items). Every step succeeds or fails on its own (SharePoint changesets
are not transactional, docs/sharepoint.md, "$batch"); a failed step is reported with site, list
and field, and because every step is additive and planned from the site's actual state, the next
run plans only what is still missing — interrupted runs converge without duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from veiviser.errors import VeiviserError
from veiviser.provisioning.plan import ROUND_CONTENT, ROUND_CREATE, ROUND_STAMP, Plan, Step
from veiviser.provisioning.state import SiteState
from veiviser.sharepoint import ListTarget, Operation, SiteClient
from veiviser.sharepoint import items as rest
from veiviser.sharepoint import schema as sp
from veiviser.sharepoint.schema import is_generic_item_ct


@dataclass
class StepResult:
    step: Step
    ok: bool
    error: str | None = None


@dataclass
class ApplyReport:
    """Per-step outcomes of one apply on one site."""

    site: str
    results: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[StepResult]:
        return [r for r in self.results if not r.ok]

    @property
    def applied(self) -> int:
        return sum(r.ok for r in self.results)


class ProvisionError(VeiviserError):
    """Provisioning could not complete; the message names site, list and field of each failure."""

    exit_code = 4

    def __init__(self, message: str, *, hint: str | None = None, report: ApplyReport | None = None) -> None:
        super().__init__(
            message,
            hint=hint or "Fix the cause and run the same command again; it continues where it stopped.",
        )
        self.report = report


def failure_message(report: ApplyReport, limit: int = 8) -> str:
    lines = [f"{len(report.failures)} of {len(report.results)} steps failed on {report.site}:"]
    for r in report.failures[:limit]:
        lines.append(f"  - {r.step.label}: {r.error}")
    if len(report.failures) > limit:
        lines.append(f"  … and {len(report.failures) - limit} more")
    return "\n".join(lines)


class _AlreadyDone(Exception):
    """The step needs no call: the site is already as the template wants (found at apply time)."""


class _Ids:
    """List ids and entity types known so far (from the state, then from round 1 answers)."""

    def __init__(self, state: SiteState) -> None:
        self.ids = {k: ls.id for k, ls in state.lists.items() if ls.id}
        self.types = {k: ls.entity_type for k, ls in state.lists.items() if ls.entity_type}
        self.items: dict[tuple[str, str], int] = {}
        """(list key, step target) → id of an item created in this apply."""
        self.generic_ct: dict[str, str | None] = {}
        """List key → its generic Item content type ID, read at apply time for lists created in this apply."""


def _list(ids: _Ids, key: str) -> ListTarget:
    return ListTarget.by_id(ids.ids[key])


def build_operation(step: Step, ids: _Ids, index: int) -> Operation:
    """The request for one step; KeyError when a list it needs does not exist (yet)."""
    d = step.data
    where: sp.Where = {"key": index, "list": step.list}
    if step.action == "create_list":
        return sp.create_list(d["values"], **where)
    if step.action == "create_content_type":
        return sp.create_content_type(d["id"], d["name"], d["description"], d["group"], **where)
    if step.action == "create_site_field":
        return sp.create_field_as_xml(d["schema_xml"], **where)
    if step.action == "add_field_link":
        owner = _list(ids, step.list) if step.list else None
        return sp.add_field_link(d["ct"], d["field"], owner, **where)
    lst = _list(ids, step.list or "")
    if step.action == "update_list":
        return sp.update_list(lst, d["values"], **where)
    if step.action == "create_field":
        xml = d["schema_xml"]
        if d.get("lookup_list"):
            target = ids.ids[d["lookup_list"]]
            xml = xml.replace("{listid:" + d["lookup_list"] + "}", "{" + target + "}")
        return sp.create_field_as_xml(xml, lst, **where)
    if step.action == "extend_choices":
        return sp.set_choices(lst, step.target, d["choices"], multi=bool(d.get("multi")), **where)
    if step.action == "set_indexed":
        return sp.set_indexed(lst, step.target, **where)
    if step.action == "bind_content_type":
        return sp.bind_content_type(lst, d["id"], **where)
    if step.action == "remove_content_type":
        ct_id = d["id"] or ids.generic_ct[step.list or ""]
        if ct_id is None:
            raise _AlreadyDone
        if not ct_id:
            raise VeiviserError("could not read the list's content types; the generic one was not removed")
        return sp.remove_content_type(lst, ct_id, **where)
    if step.action == "create_view":
        return sp.create_view(
            lst,
            step.target,
            fields=d["fields"],
            row_limit=d["row_limit"],
            query=d["query"],
            default=d["default"],
            **where,
        )
    if step.action == "update_view":
        return sp.update_view(lst, step.target, d["values"], **where)
    if step.action == "add_view_field":
        return sp.add_view_field(lst, step.target, d["field"], **where)
    if step.action in ("create_item", "update_item", "stamp_item"):
        entity_type = ids.types[step.list or ""]
        context = f"list {step.list!r}, {step.target}"
        if step.action == "create_item":
            return rest.create_item(lst, d["values"], entity_type, context=context, key=index, list=step.list)
        item_id = int(d["id"]) if d.get("id") is not None else ids.items[(step.list or "", d["created"])]
        return rest.merge_item(
            lst, item_id, d["values"], entity_type, context=context, key=index, list=step.list
        )
    raise ValueError(f"unknown step action {step.action!r}")


def apply_plan(site: SiteClient, plan: Plan, state: SiteState) -> ApplyReport:
    """Run the plan's steps against ``site``; returns per-step results (never raises for a failed step)."""
    report = ApplyReport(site=site.url)
    ids = _Ids(state)
    for rnd in (ROUND_CREATE, ROUND_CONTENT, ROUND_STAMP):
        steps = [s for s in plan.steps if s.round == rnd]
        if rnd == ROUND_STAMP and not report.ok:
            report.results.extend(StepResult(s, False, "not stamped: earlier steps failed") for s in steps)
            continue
        ops: list[Operation] = []
        sent: list[Step] = []
        _read_generic_cts(site, steps, ids)
        for step in steps:
            try:
                op = build_operation(step, ids, len(ops))
            except _AlreadyDone:
                report.results.append(StepResult(step, True))
                continue
            except KeyError as exc:
                what = (
                    f"item {exc.args[0][1]!r}" if isinstance(exc.args[0], tuple) else f"list {exc.args[0]!r}"
                )
                report.results.append(StepResult(step, False, f"needs {what}, which does not exist yet"))
                continue
            except VeiviserError as exc:
                report.results.append(StepResult(step, False, str(exc)))
                continue
            ops.append(op)
            sent.append(step)
        if not ops:
            continue
        for step, result in zip(sent, site.batch(ops), strict=True):
            if result.ok:
                report.results.append(StepResult(step, True))
                if step.action == "create_list" and isinstance(result.value, dict):
                    ids.ids[step.list or ""] = str(result.value.get("Id", "")).strip("{}").lower()
                    ids.types[step.list or ""] = str(result.value.get("ListItemEntityTypeFullName") or "")
                if step.action == "create_item" and isinstance(result.value, dict) and result.value.get("Id"):
                    ids.items[(step.list or "", step.target)] = int(result.value["Id"])
            else:
                err = result.error
                if err is not None and hasattr(err, "located"):
                    err.located(
                        field=step.target
                        if step.action in ("create_field", "extend_choices", "set_indexed")
                        else None
                    )
                report.results.append(StepResult(step, False, str(err)))
    return report


def _read_generic_cts(site: SiteClient, steps: list[Step], ids: _Ids) -> None:
    """The generic Item content type IDs of lists created in this apply (one batch of GETs)."""
    wanted = [
        s.list
        for s in steps
        if s.action == "remove_content_type"
        and s.data.get("id") is None
        and s.list in ids.ids
        and s.list not in ids.generic_ct
    ]
    if not wanted:
        return
    ops = [sp.read_list_content_types(_list(ids, key), key=key, list=key) for key in wanted if key]
    for r in site.batch(ops):
        if not r.ok:
            ids.generic_ct[r.key] = ""
            continue
        found = r.value.get("results", []) if isinstance(r.value, dict) else r.value
        sids = [str(c.get("StringId", "")) for c in (found or []) if isinstance(c, dict)]
        ids.generic_ct[r.key] = next((sid for sid in sids if is_generic_item_ct(sid)), None)


def ensure_applied(site: SiteClient, plan: Plan, state: SiteState) -> ApplyReport:
    """:func:`apply_plan`, raising :class:`ProvisionError` when any step failed."""
    report = apply_plan(site, plan, state)
    if not report.ok:
        raise ProvisionError(failure_message(report), report=report)
    return report
