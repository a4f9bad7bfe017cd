"""Write generated demo data to a project site and the hub through the gateway (``$batch`` only).

Per project site: one ``$batch`` with ``EnsureUser`` for every person plus the Usikkerhet content
types (list content type ids differ per list, so Risiko/Mulighet are resolved by their site
content type parent, never hard-coded), then the lists in lookup order — risks, stakeholders,
changes and benefits; indicators (``GtGainLookupId``); measurements
(``GtMeasureIndicatorLookupId``). A failed row raises :class:`DemoError` naming site, list and row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from veiviser.demo.data import DEMO_LIST_KEYS, ChangeSet, Person, ProjectData, Ref, Row
from veiviser.errors import VeiviserError
from veiviser.schemas.template import Template
from veiviser.sharepoint import LookupValue, OperationResult, SiteClient
from veiviser.sharepoint import items as rest

REGISTER_LIST = "Prosjekter"
RATINGS_LIST = "Prioriteringsvurderinger"


class DemoError(VeiviserError):
    """Writing demo data failed; the message names the site, list and row."""

    exit_code = 3


@dataclass
class WrittenProject:
    """Where a project's demo data went: site, site id and item ids per kind and local key."""

    url: str
    site_id: str
    ids: dict[str, dict[str, int]] = field(default_factory=lambda: {k: {} for k in DEMO_LIST_KEYS})
    users: dict[str, int] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for v in self.ids.values())


def list_titles(template: Template) -> dict[str, str]:
    """List key -> list title for the generated kinds (from the project template)."""
    return {kind: template.get_list(kind).title for kind in DEMO_LIST_KEYS}


def _check(results: Sequence[OperationResult], site: str, list_title: str, keys: Sequence[str]) -> None:
    failed = [(keys[i] if i < len(keys) else r.key, r) for i, r in enumerate(results) if not r.ok]
    if failed:
        key, r = failed[0]
        more = f" (and {len(failed) - 1} more rows)" if len(failed) > 1 else ""
        raise DemoError(
            f"site {site}, list {list_title!r}, demo row {key!r}: {r.error}{more}",
            hint="The demo writes to a fresh emulator; remove the --data file and run it again.",
        )


def _prepare(site: SiteClient, written: WrittenProject, people: Sequence[Person], risks_title: str) -> None:
    """EnsureUser for new people and the Usikkerhet content types, in one ``$batch``."""
    ops = [rest.ensure_user(p.email, key=("user", p.email)) for p in people if p.email not in written.users]
    if not written.content_types:
        ops.append(rest.get_content_types(risks_title, key=("ct", "")))
    if not ops:
        return
    for r in site.batch(ops):
        if not r.ok:
            raise DemoError(
                f"site {site.url}: {r.error}",
                hint="Check that the site was provisioned with the project template.",
            )
        kind, name = r.key
        if kind == "user":
            written.users[name] = int(r.value["Id"])
        else:
            for ct in r.value or []:
                written.content_types[str(ct.get("Name"))] = str(ct.get("StringId"))


def _content_type_id(written: WrittenProject, name: str, template: Template) -> str:
    """The list's content type id for «Risiko»/«Mulighet» (a child of the site content type)."""
    site_ct = template.content_type(name).id.upper()
    for ct_name, ct_id in written.content_types.items():
        if ct_id.upper().startswith(site_ct) or ct_name == name:
            return ct_id
    raise DemoError(
        f"site {written.url}, list 'Usikkerhet': content type {name!r} is missing",
        hint="Provision the site with the standard project template first.",
    )


def _resolve(row: Row, written: WrittenProject, template: Template) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.values.items():
        if value is None:
            continue  # left empty (SharePoint refuses null for a person/lookup field's navigation name)
        if isinstance(value, Person):
            out[name] = LookupValue(written.users[value.email])
        elif isinstance(value, Ref):
            out[name] = LookupValue(written.ids[value.kind][value.key])
        elif isinstance(value, list) and value and all(isinstance(v, Ref) for v in value):
            out[name] = [LookupValue(written.ids[v.kind][v.key]) for v in value]
        else:
            out[name] = value
    if row.content_type:
        out["ContentTypeId"] = _content_type_id(written, row.content_type, template)
    return out


def _create(
    site: SiteClient,
    written: WrittenProject,
    kind: str,
    rows: Sequence[Row],
    titles: Mapping[str, str],
    template: Template,
) -> None:
    if not rows:
        return
    results = site.create_items(titles[kind], [_resolve(r, written, template) for r in rows])
    _check(results, site.url, titles[kind], [r.key for r in rows])
    for row, res in zip(rows, results, strict=True):
        written.ids[kind][row.key] = int(res.value["Id"])


def write_project(
    site: SiteClient, data: ProjectData, template: Template, site_id: str = ""
) -> WrittenProject:
    """Create every generated row of ``data`` on its (provisioned) project site."""
    titles = list_titles(template)
    written = WrittenProject(site.url, site_id)
    _prepare(site, written, data.people(), titles["risks"])
    for kind in DEMO_LIST_KEYS:  # lookup targets come first in DEMO_LIST_KEYS
        _create(site, written, kind, data.rows[kind], titles, template)
    return written


def apply_changes(
    site: SiteClient, written: WrittenProject, changes: ChangeSet, template: Template
) -> dict[str, int]:
    """Apply the change step to a written project; returns counts (updated, deleted, created)."""
    titles = list_titles(template)
    people = [
        v
        for rows in changes.creates.values()
        for r in rows
        for v in r.values.values()
        if isinstance(v, Person)
    ]
    _prepare(site, written, people, titles["risks"])
    counts = {"updated": 0, "deleted": 0, "created": 0}
    for kind, by_key in changes.updates.items():
        if by_key:
            values = {written.ids[kind][k]: v for k, v in by_key.items()}
            _check(site.update_items(titles[kind], values), site.url, titles[kind], list(by_key))
            counts["updated"] += len(by_key)
    for kind in DEMO_LIST_KEYS:
        rows = changes.creates.get(kind, [])
        _create(site, written, kind, rows, titles, template)
        counts["created"] += len(rows)
    for kind, keys in changes.deletes.items():
        if keys:
            _check(
                site.delete_items(titles[kind], [written.ids[kind][k] for k in keys]),
                site.url,
                titles[kind],
                keys,
            )
            for k in keys:
                written.ids[kind].pop(k, None)
            counts["deleted"] += len(keys)
    return counts


def write_hub_ratings(
    hub: SiteClient, projects: Sequence[tuple[ProjectData, WrittenProject]]
) -> dict[str, int]:
    """ITPOSMO ratings on the register items of ``Prosjekter`` and one ``Prioriteringsvurderinger``
    item per project and criterion (keyed ``<siteId>:<criterion>`` as the hub template says)."""
    urls = {w.url.rstrip("/").lower(): (d, w) for d, w in projects}
    register = list(hub.iter_items(REGISTER_LIST, select=["ID", "GtSiteUrl", "GtSiteId"]))
    updates: dict[int, dict[str, Any]] = {}
    for item in register:
        found = urls.get(str(item.get("GtSiteUrl") or "").rstrip("/").lower())
        if found and found[0].itposmo:
            updates[int(item["ID"])] = dict(found[0].itposmo)
        if found and not found[1].site_id:
            found[1].site_id = str(item.get("GtSiteId") or "")
    missing = [
        d.title
        for d, w in projects
        if w.url.rstrip("/").lower()
        not in {str(i.get("GtSiteUrl") or "").rstrip("/").lower() for i in register}
    ]
    if missing:
        raise DemoError(
            f"site {hub.url}, list {REGISTER_LIST!r}: no register item for {', '.join(missing)}",
            hint="Provision the projects before writing the ratings.",
        )
    if updates:
        _check(hub.update_items(REGISTER_LIST, updates), hub.url, REGISTER_LIST, [str(k) for k in updates])
    existing = {
        str(r.get("GtRatingKey") or "") for r in hub.iter_items(RATINGS_LIST, select=["ID", "GtRatingKey"])
    }
    rows = []
    for d, w in projects:
        for criterion, rating in d.priorities.items():
            key = f"{w.site_id}:{criterion}"
            if key not in existing:
                rows.append(
                    {
                        "Title": f"{d.title} – {criterion}",
                        "GtSiteId": w.site_id,
                        "GtProjectTitle": d.title,
                        "GtCriterionKey": criterion,
                        "GtPriorityRating": rating,
                        "GtRatingKey": key,
                    }
                )
    if rows:
        _check(
            hub.create_items(RATINGS_LIST, rows), hub.url, RATINGS_LIST, [str(r["GtRatingKey"]) for r in rows]
        )
    return {"itposmo": len(updates), "priority_ratings": len(rows)}
