"""The nightly sync at scale (1 000 and 5 000 project sites) on the emulator, beside a naive sync.

For each size in ``--sites`` (default ``1000,5000``) a fresh emulator (in this process, on its own
thread) is seeded **fast**: the hub, a second hub for the naive sync and one prototype project site
are built through REST (latency off); the prototype carries 125 items (20 risks, 15 stakeholders,
10 benefits, 20 indicators, 60 measurements; ``--scale`` multiplies them) and is then copied
straight into the emulator's store (``veiviser.emulator.seed``), change log included, and entered
in the hub's register. Then, with ``--latency-ms`` (default 50) on every HTTP exchange:

1. initial sync, 2. unchanged re-run, 3. re-run after 1 % of the items were edited (edited in
   process, latency off), 4. the unchanged re-run again with the emulator **throttling** at
   ``--throttle`` RU/min (default 6 250, SharePoint Online's largest tier) and the client's budget
   set to the same figure.

veiviser's sync runs in a **subprocess** (``--workers``, default 8), so its peak memory
(``VmHWM``) is its own; the naive sync (read every list in full, one write request per item,
into the second hub) runs in this process on ``--naive-sites`` sites (default 20) and is scaled to
the full size, which the table says. Requests are counted by the client (every exchange:
contextinfo, ``$batch`` envelopes, retries); resource units (RU) by the emulator's meter at
SharePoint's costs (docs/emulator.md, "Resource units per request"; ``$batch`` members one by one).

The initial run's RU floor is what any sync must spend at those costs: one multi-item read (2 RU)
per source list, one write (2 RU) per source item and one write for the site's register entry.

Targets (issue 11): unchanged ≤ 1.05 requests and ≤ 2 RU per site; 5 000 unchanged sites in
< 10 min at 6 250 RU/min with no 429; 1 % changed ≤ 3 requests per site; initial RU within 1.2×
the floor; peak memory < 500 MB for 5 000 sites × 125 items; growth with sites linear or better.

Run: ``python bench/sync.py`` (both sizes: long), ``python bench/sync.py --sites 1000``, or
``python bench/sync.py --quick`` (50 sites, about a minute). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veiviser.emulator.seed import Seeder
from veiviser.emulator.server import EmulatorServer
from veiviser.schemas.settings import ConnectionSettings
from veiviser.schemas.template_loader import load_bundle
from veiviser.sharepoint import Operation, RateLimiter, RequestCounter, SiteClient, connect
from veiviser.sharepoint.sites import create_site, join_hub, register_hub, site_status, wait_until_ready
from veiviser.sync.kinds import SOURCE_KINDS
from veiviser.sync.lists import KIND_ORDER, load_central_lists
from veiviser.sync.options import SyncOptions
from veiviser.sync.run import sync_portfolio

HUB_LISTS = (
    "projects",
    "portfolio_risks",
    "portfolio_stakeholders",
    "portfolio_benefits",
    "portfolio_indicators",
    "portfolio_measurements",
)
PROJECT_LISTS = ("risks", "stakeholders", "changes", "benefits", "indicators", "measurements", "properties")
SIZES = {"risks": 20, "stakeholders": 15, "benefits": 10, "indicators": 20, "measurements": 60}
PROTO = "p00000"
UNMETERED = 10**9  # a meter budget no run reaches: the meter only counts


def settings(server: EmulatorServer, ru_per_minute: float = 1e9) -> ConnectionSettings:
    return ConnectionSettings(
        auth="token",
        access_token=server.token,
        org="Bench",
        admin_url=server.url,
        retry_max_total_seconds=300,
        ru_per_minute=ru_per_minute,
    )


def client(server: EmulatorServer, url: str, counter: RequestCounter | None = None) -> SiteClient:
    # The emulator does not throttle here; the RU budget must not be what is measured.
    return connect(url, settings(server), counter=counter, limiter=RateLimiter(1e9, 1))


# --- seeding (latency off) ------------------------------------------------------------------------


def _ok(results: list[Any], what: str) -> list[Any]:
    bad = [str(r.error) for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"{what}: {bad[:3]}")
    return results


def make_site(server: EmulatorServer, alias: str) -> SiteClient:
    root = client(server, server.url)
    url = f"{server.url}/sites/{alias}"
    if not site_status(root, url).ready:
        create_site(root, alias, alias, "admin@kommune.no")
        wait_until_ready(root, url, timeout=60, interval=0.02)
    return client(server, url)


def apply_lists(site: SiteClient, template: Any, keys: tuple[str, ...]) -> dict[str, str]:
    """The template's lists and fields, created in three ``$batch`` rounds (lookups after targets)."""
    ops = []
    for key in keys:
        leaf = template.get_list(key).url.split("/")[-1]
        ops.append(
            Operation(
                "POST",
                "Web/lists",
                {"Title": leaf, "BaseTemplate": 100, "Description": "", "__metadata": {"type": "SP.List"}},
                key=key,
            )
        )
    ids = {r.key: str(r.value["Id"]) for r in _ok(site.batch(ops), "lists")}
    renames, plain, lookups = [], [], []
    for key in keys:
        ldef = template.get_list(key)
        if ldef.url.split("/")[-1] != ldef.title:
            renames.append(
                Operation(
                    "MERGE",
                    f"Web/lists(guid'{ids[key]}')",
                    {"Title": ldef.title, "__metadata": {"type": "SP.List"}},
                )
            )
        for f in ldef.fields:
            if f.lookup_list and f.lookup_list not in ids:
                continue
            body = {
                "parameters": {
                    "SchemaXml": ldef.schema_xml(f.name, list_ids=ids),
                    "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
                }
            }
            op = Operation("POST", f"Web/lists(guid'{ids[key]}')/Fields/CreateFieldAsXml", body)
            (lookups if f.lookup_list else plain).append(op)
    _ok(site.batch(renames + plain), "fields")
    _ok(site.batch(lookups), "lookup fields")  # projected lookups follow their parent in template order
    return ids


def item_counts(scale: float) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in SIZES.items()}


def seed_project(server: EmulatorServer, hub_id: str, alias: str, scale: float) -> str:
    """One project site with the template's source lists and its items, through REST."""
    site = make_site(server, alias)
    join_hub(site, hub_id)
    ids = apply_lists(site, load_bundle().project, PROJECT_LISTS)
    n = item_counts(scale)
    rng = random.Random(alias)

    def create(key: str, rows: list[dict[str, Any]]) -> list[int]:
        info = site.resolve_list(ids[key])
        created: list[int] = []
        for i in range(0, len(rows), 100):
            created += [int(r.value["Id"]) for r in _ok(site.create_items(info, rows[i : i + 100]), key)]
        return created

    create("properties", [{"Title": f"Prosjekt {alias}", "GtProjectPhase": "Gjennomføre"}])
    create(
        "risks",
        [
            {
                "Title": f"Risiko {i}",
                "GtRiskProbability": rng.randint(1, 5),
                "GtRiskConsequence": rng.randint(1, 5),
                "GtRiskStatus": "Identifisert",
            }
            for i in range(n["risks"])
        ],
    )
    create(
        "stakeholders",
        [{"Title": f"Interessent {i}", "GtStakeholderInfluence": "Stor"} for i in range(n["stakeholders"])],
    )
    benefits = create("benefits", [{"Title": f"Gevinst {i}"} for i in range(n["benefits"])])
    indicators = create(
        "indicators",
        [
            {
                "Title": f"Indikator {i}",
                "GtStartValue": 10,
                "GtDesiredValue": 50,
                "GtGainLookupId": benefits[i % len(benefits)],
            }
            for i in range(n["indicators"])
        ],
    )
    create(
        "measurements",
        [
            {
                "Title": f"Måling {i}",
                "GtMeasurementValue": rng.randint(10, 50),
                "GtMeasurementDate": f"2026-{1 + i % 12:02d}-01",
                "GtMeasureIndicatorLookupId": indicators[i % len(indicators)],
            }
            for i in range(n["measurements"])
        ],
    )
    return site.url


@dataclass
class Portfolio:
    hub_url: str
    naive_url: str
    urls: list[str]


def seed(server: EmulatorServer, sites: int, scale: float) -> Portfolio:
    """Two hubs and a prototype through REST; the other sites copied into the store."""
    hubs = []
    for alias in ("portefolje", "naiv"):
        hub = make_site(server, alias)
        hub_id = register_hub(hub)
        apply_lists(hub, load_bundle().hub, HUB_LISTS)
        hubs.append((hub, hub_id))
    (hub, hub_id), (naive_hub, _) = hubs
    proto_url = seed_project(server, hub_id, PROTO, scale)
    _ok(hub.create_items("Prosjekter", [{"Title": PROTO, "GtSiteUrl": proto_url}]), "register")
    aliases = [f"p{n:05d}" for n in range(1, sites)]
    seeder = Seeder(server.app)
    seeder.clone_site(f"/sites/{PROTO}", [f"/sites/{a}" for a in aliases])
    register_id = next(iter(hub.iter_items("Prosjekter", select=["ID"])))["ID"]
    seeder.clone_item(
        "/sites/portefolje",
        "Prosjekter",
        int(register_id),
        [{f"/sites/{PROTO}": f"/sites/{a}", f'"{PROTO}"': f'"{a}"'} for a in aliases],
    )
    urls = [proto_url] + [f"{server.url}/sites/{a}" for a in aliases]
    return Portfolio(hub.url, naive_hub.url, urls)


def edit_share(server: EmulatorServer, urls: list[str], share: float, seed_value: int, scale: float) -> int:
    """Edit ``share`` of all items (titles), spread at random over the sites, in process; the count."""
    rng = random.Random(seed_value)
    n = item_counts(scale)
    per_site = sum(n.values())
    chosen = rng.sample(range(len(urls) * per_site), max(1, round(len(urls) * per_site * share)))
    seeder = Seeder(server.app)
    for k in chosen:
        site, offset = divmod(k, per_site)
        for name in KIND_ORDER:
            if offset < n[name]:
                break
            offset -= n[name]
        path = "/" + urls[site].split("/", 3)[3]
        title = SOURCE_KINDS[name].list_title.replace("'", "''")
        body = {"Title": f"Endret {offset + 1}", "__metadata": {"type": entity_type(seeder, path, title)}}
        seeder.call("MERGE", path, f"Web/lists/GetByTitle('{title}')/items({offset + 1})", body)
    return len(chosen)


_ENTITY_TYPES: dict[str, str] = {}


def entity_type(seeder: Seeder, path: str, title: str) -> str:
    if title not in _ENTITY_TYPES:  # the same for every site: the list URLs come from the template
        d = seeder.call("GET", path, f"Web/lists/GetByTitle('{title}')?$select=ListItemEntityTypeFullName")
        _ENTITY_TYPES[title] = d["ListItemEntityTypeFullName"]
    return _ENTITY_TYPES[title]


# --- the naive sync -------------------------------------------------------------------------------


class NaiveSync:
    """Read every list of every site in full; one create/update request per item (no $batch)."""

    def __init__(self, server: EmulatorServer, hub_url: str, counter: RequestCounter) -> None:
        self.server = server
        self.hub_url = hub_url
        self.counter = counter
        self.central, _ = load_central_lists()
        self.ids: dict[str, int] = {}  # source key -> central item id, remembered between runs

    def site(self, url: str) -> None:
        site = client(self.server, url, self.counter)
        hub = client(self.server, self.hub_url, self.counter)
        for name in KIND_ORDER:
            kind = SOURCE_KINDS[name]
            info = site.resolve_list(kind.list_title)
            central = hub.resolve_list(self.central[name].title)
            for item in site.iter_items(info, select=["ID", "Title", "Modified"]):
                key = f"{url}:{info.id}:{item['ID']}"
                values = {"Title": item["Title"], "GtSourceKey": key, "GtSiteUrl": url}
                if key in self.ids:
                    site_path = f"Web/lists(guid'{central.id}')/items({self.ids[key]})"
                    hub.call("MERGE", site_path, {**values, "__metadata": {"type": central.entity_type}})
                else:
                    d = hub.call(
                        "POST",
                        f"Web/lists(guid'{central.id}')/items",
                        {**values, "__metadata": {"type": central.entity_type}},
                    )
                    self.ids[key] = int(d["Id"])

    def run(self, urls: list[str], workers: int) -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(self.site, urls))


# --- veiviser's sync in a subprocess ----------------------------------------------------------------


def child(spec: dict[str, Any]) -> None:
    """``--child``: one sync run; prints its figures as JSON on the last line."""
    counter = RequestCounter()
    conn = ConnectionSettings(  # the token comes from VEIVISER_ACCESS_TOKEN, never the command line
        auth="token",
        org="Bench",
        admin_url=spec["admin_url"],
        retry_max_total_seconds=300,
        ru_per_minute=spec["ru_per_minute"],
    )
    limiter = RateLimiter(1e9, 1) if spec["unpaced"] else None  # None: the product's own pacing
    started = time.perf_counter()
    report = sync_portfolio(
        spec["hub"],
        settings=conn,
        state=spec["state"],
        counter=counter,
        limiter=limiter,
        options=SyncOptions(workers=spec["workers"], feedback=spec["feedback"]),
    )
    seconds = time.perf_counter() - started
    data = report.to_dict()
    out = {
        "exit": report.exit_code,
        "requests": counter.total,
        "seconds": seconds,
        "maxrss_kb": peak_rss_kb(),
        "status_429": counter.statuses().get(429, 0),
        "failed": data.get("failed", [])[:3],
    }
    print(json.dumps(out))


def peak_rss_kb() -> int:
    """This process's own peak resident memory (``VmHWM``). ``ru_maxrss`` is no good here: Linux
    carries it over fork and exec, so a child of this (emulator-holding) process would report the
    parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@dataclass
class Run:
    requests: float
    ru: float
    seconds: float
    throttled: int = 0  # 429s the emulator's meter answered
    maxrss_mb: float = 0.0
    client_429: int = 0  # 429s the client saw


def run_sync(
    server: EmulatorServer,
    pf: Portfolio,
    state: str,
    workers: int,
    throttle: int | None = None,
    feedback: bool = True,
) -> Run:
    """veiviser's sync as a subprocess; RU and 429s from the emulator's meter."""
    server.set_throttle(throttle or UNMETERED)
    assert server.meter is not None
    spec = {
        "hub": pf.hub_url,
        "admin_url": server.url,
        "state": state,
        "workers": workers,
        "ru_per_minute": float(throttle) if throttle else 1e9,
        "unpaced": throttle is None,
        "feedback": feedback,
    }
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "VEIVISER_ACCESS_TOKEN": server.token},
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the sync subprocess failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(lines[-1])
    if out["exit"] != 0:
        raise SystemExit(f"sync failed (exit {out['exit']}): {out['failed']}")
    ru, _, throttled = server.meter.totals()
    return Run(out["requests"], ru, out["seconds"], throttled, out["maxrss_kb"] / 1024, out["status_429"])


def run_naive(server: EmulatorServer, naive: NaiveSync, urls: list[str], workers: int, factor: float) -> Run:
    server.set_throttle(UNMETERED)
    assert server.meter is not None
    naive.counter.reset()
    started = time.perf_counter()
    naive.run(urls, workers)
    seconds = time.perf_counter() - started
    ru, _, _ = server.meter.totals()
    return Run(naive.counter.total * factor, ru * factor, seconds * factor)


# --- one size -------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    sites: int
    items: int
    seed_seconds: float
    floor_ru: float
    rows: list[tuple[str, Run, Run | None]]
    naive_sites: int


def measure_size(args: argparse.Namespace, sites: int, tmp: Path) -> SizeResult:
    data = str(tmp / f"emulator-{sites}.sqlite")
    server = EmulatorServer(data=data).start()
    try:
        started = time.perf_counter()
        pf = seed(server, sites, args.scale)
        seed_seconds = time.perf_counter() - started
        n = item_counts(args.scale)
        per_site_items = sum(n.values())
        print(
            f"[{sites} sites] seeded {sites * per_site_items} items in {seed_seconds:.0f} s (latency off)",
            file=sys.stderr,
        )
        floor = 2 * (len(SIZES) + 1) + 2 * per_site_items + 2  # reads, item writes, register entry
        state = f"sqlite:///{tmp / f'state-{sites}.sqlite'}"
        naive_urls = pf.urls[: min(args.naive_sites, sites)]
        factor = sites / max(1, len(naive_urls))  # --naive-sites 0: no naive sync
        naive = NaiveSync(server, pf.naive_url, RequestCounter())
        rows: list[tuple[str, Run, Run | None]] = []
        for label in ("initial", "unchanged", "1 % changed", "unchanged, throttled"):
            throttle = None
            if label == "1 % changed":
                server.faults.set_latency(0)
                edited = edit_share(server, pf.urls, 0.01, 7, args.scale)
                label = f"1 % changed ({edited} items)"
            if label.endswith("throttled"):
                throttle = args.throttle
                label = f"unchanged at {args.throttle} RU/min"
            server.faults.set_latency(args.latency_ms)
            ours = run_sync(server, pf, state, args.workers, throttle, args.feedback)
            print(f"[{sites} sites] {label}: {ours}", file=sys.stderr)
            theirs = None
            if throttle is None and args.naive_sites > 0:
                theirs = run_naive(server, naive, naive_urls, args.workers, factor)
            rows.append((label, ours, theirs))
        return SizeResult(sites, sites * per_site_items, seed_seconds, floor, rows, len(naive_urls))
    finally:
        server.stop()


# --- the tables -----------------------------------------------------------------------------------


def table(results: list[SizeResult], args: argparse.Namespace) -> str:
    head = (
        "| sites | run | requests | req/site | RU/site | wall time | 429s | peak memory "
        "| naive req/site | naive RU/site | naive time | ratio (requests) |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for res in results:
        for label, ours, theirs in res.rows:
            s = res.sites
            naive_cells = (
                f"{theirs.requests / s:.1f} | {theirs.ru / s:.1f} | {fmt_time(theirs.seconds)} | "
                f"{theirs.requests / max(ours.requests, 1):.0f}×"
                if theirs
                else "— | — | — | —"
            )
            lines.append(
                f"| {s:,} | {label} | {ours.requests:,.0f} | {ours.requests / s:.3f} | {ours.ru / s:.2f} | "
                f"{fmt_time(ours.seconds)} | {ours.throttled} | {ours.maxrss_mb:.0f} MB | {naive_cells} |"
            )
    notes = [
        "",
        f"Emulator with {args.latency_ms:.0f} ms latency per HTTP exchange, {args.workers} workers, "
        f"{sum(item_counts(args.scale).values())} items per site; veiviser's sync in a subprocess "
        "(peak memory = its `VmHWM`); RU from the emulator's meter at the costs in docs/emulator.md.",
    ]
    for res in results:
        naive = (
            f"naive sync measured on {res.naive_sites} sites and scaled ×{res.sites / res.naive_sites:g}"
            if res.naive_sites
            else "no naive sync (--naive-sites 0)"
        )
        notes.append(
            f"{res.sites:,} sites: seeded in {res.seed_seconds:.0f} s; {naive}; initial RU floor "
            f"{res.floor_ru:.0f} RU/site (veiviser: {res.rows[0][1].ru / res.sites / res.floor_ru:.2f}× the floor)."
        )
    return "\n".join(lines + notes)


def fmt_time(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def targets(results: list[SizeResult], args: argparse.Namespace) -> list[tuple[bool, str]]:
    checks: list[tuple[bool, str]] = []
    for res in results:
        s = res.sites
        initial, unchanged, changed, throttled = (r[1] for r in res.rows)
        checks += [
            (unchanged.requests / s <= 1.05, f"{s:,} sites: unchanged ≤ 1.05 requests/site"),
            (unchanged.ru / s <= 2, f"{s:,} sites: unchanged ≤ 2 RU/site"),
            (changed.requests / s <= 3, f"{s:,} sites: 1 % changed ≤ 3 requests/site"),
            (initial.ru / s <= 1.2 * res.floor_ru, f"{s:,} sites: initial RU ≤ 1.2 × floor"),
            (throttled.throttled == 0, f"{s:,} sites: no 429 at {args.throttle} RU/min"),
        ]
        if s >= 5000:
            checks += [
                (throttled.seconds < 600, f"{s:,} unchanged sites at {args.throttle} RU/min in < 10 min"),
                (max(r[1].maxrss_mb for r in res.rows) < 500, f"{s:,} sites: peak memory < 500 MB"),
            ]
    if len(results) >= 2:
        a, b = results[0], results[-1]
        grow = b.sites / a.sites
        for i, name in ((0, "initial"), (1, "unchanged")):
            ratio = b.rows[i][1].seconds / max(a.rows[i][1].seconds, 1e-9)
            checks.append((ratio <= grow * 1.15, f"{name}: time grows ×{ratio:.1f} for ×{grow:g} sites"))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", default="1000,5000", help="Comma-separated sizes (default 1000,5000).")
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply the items per list.")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--throttle", type=int, default=6250, help="RU/min of the throttled run.")
    parser.add_argument(
        "--naive-sites", type=int, default=20, help="Sites the naive sync runs on (scaled up)."
    )
    parser.add_argument(
        "--no-feedback",
        dest="feedback",
        action="store_false",
        help="Leave out the feedback to each project site (on by default, as a hub that opted in).",
    )
    parser.add_argument("--quick", action="store_true", help="50 sites, naive on 5 (about a minute).")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    if args.quick:
        args.sites, args.naive_sites = "50", 5
    sizes = [int(s) for s in str(args.sites).split(",") if s.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure_size(args, n, Path(tmp)) for n in sizes]
    print(table(results, args))
    print()
    for ok, label in targets(results, args):
        print(f"- [{'x' if ok else ' '}] {label}")


if __name__ == "__main__":
    main()
