"""Provisioning cost on the emulator with 50 ms latency: veiviser beside a naive implementation.

Three scenarios, each run by veiviser's plan/apply engine and, in the same run on a fresh
emulator of its own, by a naive implementation written here (one REST call per list, field,
content type, view, view field and seed item; no ``$batch``, no state read):

(a) one new project site with the full standard template;
(b) a no-op re-run on that site (the naive variant checks every object with its own GET);
(c) the 23-project Trondheim file (``provision bulk`` with 4 workers);
(d) ``--projects`` (default 100) project sites from one bulk file (the Trondheim rows repeated
    under new titles), the naive implementation measured on ``--naive-projects`` (default 10) of
    them and scaled, which the table says.

Reported per scenario: HTTP requests the emulator served (top-level requests plus ``$batch``
envelopes), write operations (non-GET requests and batch parts, form digests excluded), resource
units (the emulator's meter at SharePoint's costs, docs/emulator.md "Resource units per request";
``$batch`` members one by one) and wall time. Targets (issue 3): ≤ 30 requests per new site, ≤ 5 requests and 0 writes for a no-op
re-run, ≥ 5× fewer requests than naive.

The client's RU budget is set very large: the emulator does not throttle here, and the default
(1 250 RU/min, SharePoint Online's) would make the client pace itself.

Run: ``python bench/provision.py [--latency-ms 50] [--workers 4] [--quick]``. ``--quick`` uses the
first 4 projects of the file for (c) and 10 projects for (d) (about a minute in all); the full run
takes several minutes. A Markdown table follows the plain one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.bulk import provision_bulk
from veiviser.provisioning.bulk_input import read_projects
from veiviser.provisioning.engine import ProjectRequest, Provisioner
from veiviser.provisioning.plan import NEW_LIST_VIEW, _field_order, list_create_values
from veiviser.provisioning.state import url_leaf
from veiviser.schemas.settings import ConnectionSettings
from veiviser.schemas.template import BUILTIN_FIELDS, Template, render_view_query
from veiviser.sharepoint import RateLimiter, SiteClient, connect, odata_literal
from veiviser.sharepoint.paths import title_segment
from veiviser.sharepoint.sites import create_site, wait_until_ready

OWNER = "admin@kommune.no"
TRONDHEIM = "trondheim-portefolje-2018-2021.csv"
HUGE_BUDGET = 1e9
UNMETERED = 10**9  # an emulator RU budget no run reaches: the meter only counts


# ------------------------------------------------------------------------------ measurement
@dataclass
class Figures:
    requests: int
    writes: int
    seconds: float
    ru: int = 0

    def scaled(self, factor: float) -> Figures:
        return Figures(
            round(self.requests * factor),
            round(self.writes * factor),
            self.seconds * factor,
            round(self.ru * factor),
        )


def measure(server: EmulatorServer, action: Callable[[], Any]) -> Figures:
    """Run ``action`` and count what the emulator served meanwhile."""
    server.log.reset()
    server.set_throttle(UNMETERED)
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    writes = sum(
        n
        for (kind, method, endpoint), n in server.log.counts().items()
        if kind != "batch" and method not in ("GET", "HEAD") and not endpoint.endswith("/contextinfo")
    )
    assert server.meter is not None
    return Figures(server.log.totals()["http"], writes, seconds, server.meter.totals()[0])


def settings_for(server: EmulatorServer) -> ConnectionSettings:
    return ConnectionSettings(
        auth="token",
        access_token=server.token,
        org="Benchmark",
        admin_url=server.url,
        ru_per_minute=HUGE_BUDGET,
    )


def provisioner(server: EmulatorServer) -> Provisioner:
    return Provisioner(
        f"{server.url}/sites/portefolje",
        settings=settings_for(server),
        owner=OWNER,
        limiter=RateLimiter(HUGE_BUDGET, 1),
        wait_interval=0.05,
    )


# ------------------------------------------------------------------------------ the naive way
class Naive:
    """One REST call per object, in template order, the way a hand-written script does it.

    Lists that come with the site (the document library) are left alone, which only flatters the
    naive figures.
    """

    def __init__(self, prov: Provisioner) -> None:
        self.prov = prov
        self.template: Template = prov.project_template

    def client(self, url: str) -> SiteClient:
        return connect(url, self.prov.settings, limiter=self.prov.limiter)

    def create(self, request: ProjectRequest) -> None:
        """Create the site, join the hub, build the template object by object, write two items."""
        url = self.prov.project_url(request.alias)
        root = self.client(self.prov.hub_url.split("/sites/")[0])
        create_site(root, request.alias, request.title, request.owner or OWNER)
        wait_until_ready(root, url, interval=0.05)
        site = self.client(url)
        site.call("POST", f"Site/JoinHubSite('{self.prov.hub_id()}')")
        t = self.template
        for ct in sorted(t.content_types, key=lambda c: len(c.id)):
            site.call(
                "POST",
                "Web/ContentTypes",
                {
                    "Id": {"StringValue": ct.id, "__metadata": {"type": "SP.ContentTypeId"}},
                    "Name": ct.name,
                    "Group": ct.group or "Prosjektportalen",
                    "__metadata": {"type": "SP.ContentType"},
                },
            )
        ids: dict[str, str] = {}
        types: dict[str, str] = {}
        for lst in t.lists:
            if lst.existing:
                continue
            created = site.call(
                "POST", "Web/lists", {**list_create_values(lst), "__metadata": {"type": "SP.List"}}
            )
            ids[lst.key] = str(created["Id"])
            types[lst.key] = str(created["ListItemEntityTypeFullName"])
            if url_leaf(lst) != lst.title:
                site.call(
                    "MERGE",
                    f"Web/lists(guid'{ids[lst.key]}')",
                    {"Title": lst.title, "__metadata": {"type": "SP.List"}},
                )
        for lst in t.lists:
            if lst.key not in ids:
                continue
            base = f"Web/lists(guid'{ids[lst.key]}')"
            parents: dict[str, str] = {}
            for fdef in _field_order(lst):
                if fdef.name in BUILTIN_FIELDS:
                    continue
                xml = fdef.schema_xml(
                    parent_id=None if not fdef.projected_from else _uuid(parents[fdef.projected_from])
                )
                if fdef.lookup_list:
                    xml = xml.replace("{listid:" + fdef.lookup_list + "}", "{" + ids[fdef.lookup_list] + "}")
                made = site.call(
                    "POST",
                    f"{base}/Fields/CreateFieldAsXml",
                    {
                        "parameters": {
                            "SchemaXml": xml,
                            "Options": 8,
                            "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
                        }
                    },
                )
                parents[fdef.name] = str(made["Id"])
            for ref in lst.content_types:
                site.call("POST", f"{base}/ContentTypes/AddAvailableContentType('{t.content_type(ref).id}')")
            for view in lst.views:
                vpath = f"{base}/Views/GetByTitle({title_segment(view.title)})"
                if view.title == NEW_LIST_VIEW.get(lst.template_type):
                    site.call(
                        "MERGE",
                        vpath,
                        {
                            "ViewQuery": render_view_query(view, lst),
                            "RowLimit": view.row_limit,
                            "__metadata": {"type": "SP.View"},
                        },
                    )
                else:
                    site.call(
                        "POST",
                        f"{base}/Views/Add",
                        {
                            "parameters": {
                                "Title": view.title,
                                "RowLimit": view.row_limit,
                                "Query": render_view_query(view, lst),
                                "SetAsDefaultView": view.default,
                                "__metadata": {"type": "SP.ViewCreationInformation"},
                            }
                        },
                    )
                for name in view.fields:
                    if name != "LinkTitle":
                        site.call("POST", f"{vpath}/ViewFields/AddViewField({title_segment(name)})")
            for seed in lst.seed_items:
                values = {k: v for k, v in seed.values.items() if v is not None}
                site.call("POST", f"{base}/items", {**values, "__metadata": {"type": types[lst.key]}})
        props = t.get_list("properties")
        site.call(
            "POST",
            f"Web/lists(guid'{ids[props.key]}')/items",
            {"Title": request.title, "GtSiteUrl": url, "__metadata": {"type": types[props.key]}},
        )
        hub = self.client(self.prov.hub_url)
        hub.call(
            "POST",
            "Web/lists/GetByTitle('Prosjekter')/items",
            {"Title": request.title, "GtSiteUrl": url, "__metadata": {"type": "SP.Data.ProsjekterListItem"}},
        )

    def check(self, request: ProjectRequest) -> None:
        """The naive idempotent re-run: one GET per object to see that it is there (nothing to write)."""
        url = self.prov.project_url(request.alias)
        site = self.client(url)
        site.get("Site", {"$select": "Id,HubSiteId"})
        for ct in self.template.content_types:
            site.get(f"Web/ContentTypes('{ct.id}')", {"$select": "StringId"})
        for lst in self.template.lists:
            if lst.existing:  # the site's own library: the naive script leaves it alone (see create)
                continue
            base = f"Web/lists/GetByTitle({title_segment(lst.title)})"
            site.get(base, {"$select": "Id"})
            for fdef in lst.fields:
                if fdef.name not in BUILTIN_FIELDS:
                    site.get(
                        f"{base}/Fields/getByInternalNameOrTitle({title_segment(fdef.name)})",
                        {"$select": "Id"},
                    )
            for ref in lst.content_types:
                site.get(
                    f"{base}/ContentTypes",
                    {"$filter": f"Name eq {odata_literal(self.template.content_type(ref).name)}"},
                )
            for view in lst.views:
                site.get(f"{base}/Views/GetByTitle({title_segment(view.title)})/ViewFields")
            for seed in lst.seed_items:
                filt = " and ".join(
                    f"{k} eq {odata_literal(seed.values.get(k))}"
                    for k in lst.key_fields
                    if seed.values.get(k) is not None
                )
                site.get(
                    f"{base}/items",
                    {"$filter": filt, "$select": "Id"} if filt else {"$select": "Id", "$top": 1},
                )
        self.client(self.prov.hub_url).get(
            "Web/lists/GetByTitle('Prosjekter')/items",
            {"$filter": f"GtSiteUrl eq {odata_literal(url)}", "$select": "Id"},
        )


def _uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text.strip("{}"))


# ------------------------------------------------------------------------------ scenarios
ALFA = ProjectRequest(
    title="Alfa (digitalt løft)",
    alias="alfa",
    owner="eier@kommune.no",
    leader="leder@kommune.no",
    phase="Konsept",
    unit="IKT",
    start_year=2020,
)


def bulk_file(directory: Path, rows: int | None) -> Path:
    """The Trondheim file as it is, or its first ``rows`` data lines (header and section row kept)."""
    with resources.as_file(resources.files("veiviser").joinpath("data", TRONDHEIM)) as src:
        lines = Path(src).read_bytes().splitlines(keepends=True)
    target = directory / TRONDHEIM
    target.write_bytes(b"".join(lines if rows is None else lines[: rows + 2]))
    return target


def many_projects_file(directory: Path, count: int) -> Path:
    """``count`` project rows: the Trondheim rows over and over, each title made unique."""
    with resources.as_file(resources.files("veiviser").joinpath("data", TRONDHEIM)) as src:
        lines = Path(src).read_text(encoding="utf-8").splitlines()
    head, body = lines[:2], [line for line in lines[2:] if line.strip()]
    rows = []
    for i in range(count):
        title, rest = body[i % len(body)].split(";", 1)
        rows.append(f"{title} {i + 1:03d};{rest}")
    target = directory / f"prosjekter-{count}.csv"
    target.write_text("\n".join(head + rows) + "\n", encoding="utf-8")
    return target


def run_many(latency_ms: float, workers: int, count: int, naive_count: int) -> tuple[str, Figures, Figures]:
    """(d): ``count`` projects by ``provision bulk``; the naive way on ``naive_count`` of them, scaled."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmulatorServer(latency_ms=latency_ms) as smart_srv,
        EmulatorServer(latency_ms=latency_ms) as naive_srv,
    ):
        path = many_projects_file(Path(tmp), count)
        smart, naive_prov = provisioner(smart_srv), provisioner(naive_srv)
        smart.hub()
        naive_prov.hub()
        result: list[Any] = []
        d = measure(smart_srv, lambda: result.append(provision_bulk(smart, path, workers=workers)))
        failed = [r for r in result[0].results if not r.ok]
        if failed:
            raise SystemExit(f"bulk failed for {len(failed)} rows: {failed[0].error}")
        specs = read_projects(path).projects[:naive_count]
        naive = Naive(naive_prov)

        def naive_some() -> None:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(lambda s: naive.create(ProjectRequest.from_spec(s)), specs))

        dn = measure(naive_srv, naive_some).scaled(count / len(specs))
        label = f"(d) bulk, {count} projects, {workers} workers (naive: {len(specs)}, scaled)"
        return label, d, dn


def run(latency_ms: float, workers: int, quick: bool) -> list[tuple[str, Figures, Figures]]:
    rows: list[tuple[str, Figures, Figures]] = []
    with (
        EmulatorServer(latency_ms=latency_ms) as smart_srv,
        EmulatorServer(latency_ms=latency_ms) as naive_srv,
    ):
        smart, naive_prov = provisioner(smart_srv), provisioner(naive_srv)
        smart.hub()
        naive_prov.hub()
        naive = Naive(naive_prov)
        a = measure(smart_srv, lambda: smart.project(ALFA))
        an = measure(naive_srv, lambda: naive.create(ALFA))
        rows.append(("(a) new project site", a, an))
        b = measure(smart_srv, lambda: smart.project(ALFA))
        bn = measure(naive_srv, lambda: naive.check(ALFA))
        rows.append(("(b) no-op re-run", b, bn))
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmulatorServer(latency_ms=latency_ms) as smart_srv,
        EmulatorServer(latency_ms=latency_ms) as naive_srv,
    ):
        path = bulk_file(Path(tmp), 4 if quick else None)
        smart, naive_prov = provisioner(smart_srv), provisioner(naive_srv)
        smart.hub()
        naive_prov.hub()
        result: list[Any] = []
        c = measure(smart_srv, lambda: result.append(provision_bulk(smart, path, workers=workers)))
        failed = [r for r in result[0].results if not r.ok]
        if failed:
            raise SystemExit(f"bulk failed for {len(failed)} rows: {failed[0].error}")
        specs = read_projects(path).projects
        naive = Naive(naive_prov)

        def naive_bulk() -> None:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(lambda s: naive.create(ProjectRequest.from_spec(s)), specs))

        cn = measure(naive_srv, naive_bulk)
        rows.append((f"(c) bulk, {len(specs)} projects, {workers} workers", c, cn))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="4 projects for (c), 10 for (d)")
    parser.add_argument("--projects", type=int, default=100, help="project sites in (d)")
    parser.add_argument("--naive-projects", type=int, default=10, help="of them, provisioned the naive way")
    args = parser.parse_args(argv)
    if args.quick:
        args.projects, args.naive_projects = 10, 3
    rows = run(args.latency_ms, args.workers, args.quick)
    rows.append(run_many(args.latency_ms, args.workers, args.projects, args.naive_projects))
    print(
        f"\nProvisioning on the emulator, {args.latency_ms:g} ms latency (requests = HTTP requests served)\n"
    )
    head = f"{'scenario':40} {'veiviser req':>12} {'writes':>7} {'time s':>7} | {'naive req':>9} {'writes':>7} {'time s':>7} | {'fewer':>6}"
    print(head)
    print("-" * len(head))
    for name, s, n in rows:
        ratio = f"{n.requests / s.requests:.1f}x" if s.requests else "∞"
        print(
            f"{name:40} {s.requests:>12} {s.writes:>7} {s.seconds:>7.1f} | {n.requests:>9} {n.writes:>7} "
            f"{n.seconds:>7.1f} | {ratio:>6}"
        )
    print()
    print(markdown(rows, args.latency_ms))
    (a, an), (b, _bn), (c, cn), (d, dn) = [(s, n) for _, s, n in rows]
    checks = [
        ("new site ≤ 30 requests", a.requests <= 30),
        ("no-op re-run ≤ 5 requests and 0 writes", b.requests <= 5 and b.writes == 0),
        ("≥ 5× fewer requests than naive (new site)", an.requests >= 5 * a.requests),
        ("≥ 5× fewer requests than naive (bulk)", cn.requests >= 5 * c.requests),
        (f"≥ 5× fewer requests than naive ({args.projects} projects)", dn.requests >= 5 * d.requests),
    ]
    print()
    for label, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {label}")
    return 0 if all(ok for _, ok in checks) else 1


def markdown(rows: list[tuple[str, Figures, Figures]], latency_ms: float) -> str:
    """The figures as a Markdown table (per-site columns for the bulk scenarios)."""
    lines = [
        f"Provisioning on the emulator, {latency_ms:g} ms latency; RU at the costs in docs/emulator.md.",
        "",
        "| scenario | requests | writes | RU | time | naive requests | naive RU | naive time | fewer requests |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s, n in rows:
        ratio = f"{n.requests / s.requests:.1f}×" if s.requests else "∞"
        lines.append(
            f"| {name} | {s.requests:,} | {s.writes:,} | {s.ru:,} | {s.seconds:.1f} s | {n.requests:,} | "
            f"{n.ru:,} | {n.seconds:.1f} s | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
