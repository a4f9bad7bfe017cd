"""The nightly sync on the emulator with 50 ms latency, beside a naive sync, in the same run.

Portfolio: ``--sites`` project sites × ``--scale`` × (20 risks, 15 stakeholders, 10 benefits,
20 indicators, 60 measurements), seeded fast through ``$batch`` with latency off. Then, with the
latency on, three runs each of veiviser's sync and of a naive one (read every list in full,
one write request per item, into a second hub):

1. initial sync, 2. unchanged re-run, 3. re-run after 1 % of the items were edited.

Prints HTTP requests (client side, every exchange: contextinfo, ``$batch`` envelopes, retries),
requests per site and wall time for each. Targets (issue 4): unchanged ≤ 1.2 requests/site,
1 %-changed ≤ 3 requests/site, initial ≥ 10× fewer requests than naive, unchanged 200 sites ≤ 5 s
with 8 workers.

The emulator runs **out of process** by default (``veiviser emulator serve --data FILE`` as a
subprocess, on its own CPU, like a real tenant whose CPU is not the client's); its latency is set
by restarting it on the same data file between the phases. ``--in-process`` serves it from a thread
of the benchmark's own process instead (client and server then share one interpreter and take
turns, which the wall times show). The mode is printed with the figures.

Run: ``python bench/sync.py`` (full: 200 sites, a few minutes) or ``python bench/sync.py --sites 20``.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from veiviser.emulator.server import EmulatorServer
from veiviser.schemas.settings import ConnectionSettings
from veiviser.schemas.template_loader import load_bundle
from veiviser.sharepoint import Operation, RateLimiter, RequestCounter, SiteClient, connect
from veiviser.sharepoint.sites import create_site, join_hub, register_hub, site_status, wait_until_ready
from veiviser.sync.kinds import KINDS
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
PROJECT_LISTS = ("risks", "stakeholders", "benefits", "indicators", "measurements", "properties")
SIZES = {"risks": 20, "stakeholders": 15, "benefits": 10, "indicators": 20, "measurements": 60}


class InProcess:
    """The emulator in a thread of this process (``--in-process``)."""

    mode = "in-process emulator (one interpreter for client and server)"

    def __init__(self, data: str | None) -> None:
        self.server = EmulatorServer(data=data).start()
        self.url, self.token = self.server.url, self.server.token

    def set_latency(self, ms: float) -> None:
        self.server.faults.set_latency(ms)

    def close(self) -> None:
        self.server.stop()


class OutOfProcess:
    """``veiviser emulator serve`` as a subprocess on a fixed port, token and data file.

    The latency is a start option, so :meth:`set_latency` restarts the server on the same data
    (same URL and token, so the site URLs stored in the register stay valid).
    """

    mode = "out-of-process emulator (`veiviser emulator serve` subprocess)"

    def __init__(self, data: str) -> None:
        self.data = data
        self.token = secrets.token_urlsafe(24)
        with socket.socket() as probe:  # a free port, kept across restarts
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.latency: float | None = None
        self.proc: subprocess.Popen[str] | None = None
        self.set_latency(0)

    def set_latency(self, ms: float) -> None:
        if ms == self.latency and self.proc is not None:
            return
        self.close()
        cmd = [
            sys.executable,
            "-c",
            "from veiviser.cli import main; main()",
            "emulator",
            "serve",
            "--port",
            str(self.port),
            "--data",
            self.data,
            "--token",
            self.token,
            "--latency-ms",
            str(ms),
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "Emulator listening on URL (token: TOKEN)"
        if not line.startswith("Emulator listening on "):
            self.close()
            raise SystemExit(f"the emulator subprocess did not start: {line.strip() or 'no output'}")
        url = line.split()[3]
        if url != self.url:
            raise SystemExit(f"the emulator subprocess listens on {url}, expected {self.url}")
        self.latency = ms

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


Emulator = InProcess | OutOfProcess


def settings(server: Emulator) -> ConnectionSettings:
    return ConnectionSettings(
        auth="token",
        access_token=server.token,
        org="Bench",
        admin_url=server.url,
        retry_max_total_seconds=120,
    )


def client(server: Emulator, url: str, counter: RequestCounter | None = None) -> SiteClient:
    # The emulator does not throttle here; the RU budget must not be what is measured.
    return connect(url, settings(server), counter=counter, limiter=RateLimiter(1e9, 1))


# --- seeding (latency off) ------------------------------------------------------------------------


def _ok(results: list[Any], what: str) -> list[Any]:
    bad = [str(r.error) for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"{what}: {bad[:3]}")
    return results


def make_site(server: Emulator, alias: str) -> SiteClient:
    root = client(server, server.url)
    url = f"{server.url}/sites/{alias}"
    if not site_status(root, url).ready:
        create_site(root, alias, alias, "admin@bench.no")
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


def seed_project(server: Emulator, hub_id: str, alias: str, scale: float) -> str:
    site = make_site(server, alias)
    join_hub(site, hub_id)
    ids = apply_lists(site, load_bundle().project, PROJECT_LISTS)
    n = {k: max(1, round(v * scale)) for k, v in SIZES.items()}
    rng = random.Random(alias)

    def create(key: str, rows: list[dict[str, Any]]) -> list[int]:
        info = site.resolve_list(ids[key])
        return [int(r.value["Id"]) for r in _ok(site.create_items(info, rows), key)]

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


def seed(server: Emulator, sites: int, scale: float, workers: int) -> tuple[str, str, list[str]]:
    """(hub url, naive hub url, project site urls)."""
    hubs = []
    for alias in ("portefolje", "naiv"):
        hub = make_site(server, alias)
        hub_id = register_hub(hub)
        apply_lists(hub, load_bundle().hub, HUB_LISTS)
        hubs.append((hub, hub_id))
    (hub, hub_id), (naive_hub, _) = hubs
    with ThreadPoolExecutor(workers) as pool:
        urls = list(pool.map(lambda n: seed_project(server, hub_id, f"p{n:03d}", scale), range(sites)))
    for i in range(0, len(urls), 100):
        rows = [{"Title": url.rsplit("/", 1)[-1], "GtSiteUrl": url} for url in urls[i : i + 100]]
        _ok(hub.create_items("Prosjekter", rows), "register")
    return hub.url, naive_hub.url, urls


def edit_share(server: Emulator, urls: list[str], share: float, seed_value: int, scale: float) -> int:
    """Edit ``share`` of all items (titles), spread at random over the sites; returns the count."""
    rng = random.Random(seed_value)
    targets: list[tuple[str, str, int]] = []
    for url in urls:
        for name in KIND_ORDER:
            for item_id in range(1, max(1, round(SIZES[name] * scale)) + 1):
                targets.append((url, KINDS[name].list_title, item_id))
    chosen = rng.sample(targets, max(1, round(len(targets) * share)))
    by_site: dict[str, dict[str, list[int]]] = {}
    for url, title, item_id in chosen:
        by_site.setdefault(url, {}).setdefault(title, []).append(item_id)
    for url, lists in by_site.items():
        site = client(server, url)
        for title, ids in lists.items():
            _ok(site.update_items(title, {i: {"Title": f"Endret {i}"} for i in ids}), "edit")
    return len(chosen)


# --- the naive sync -------------------------------------------------------------------------------


class NaiveSync:
    """Read every list of every site in full; one create/update request per item (no $batch)."""

    def __init__(self, server: Emulator, hub_url: str, counter: RequestCounter) -> None:
        self.server = server
        self.hub_url = hub_url
        self.counter = counter
        self.central, _ = load_central_lists()
        self.ids: dict[str, int] = {}  # source key -> central item id, remembered between runs

    def site(self, url: str) -> None:
        site = client(self.server, url, self.counter)
        hub = client(self.server, self.hub_url, self.counter)
        for name in KIND_ORDER:
            kind = KINDS[name]
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


# --- measuring ------------------------------------------------------------------------------------


def timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply the items per list.")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--naive-sites",
        type=int,
        default=None,
        help="Run the naive sync on only this many sites and scale its figures up.",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="Serve the emulator from a thread of this process (default: a subprocess).",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "emulator.sqlite")
        server: Emulator = InProcess(None) if args.in_process else OutOfProcess(data)
        try:
            run(args, server, tmp)
        finally:
            server.close()


def run(args: argparse.Namespace, server: Emulator, tmp: str) -> None:
    """Seed (latency off), then the three runs of each sync with the latency on; print the table."""
    print(f"mode: {server.mode}")
    started = time.perf_counter()
    hub_url, naive_url, urls = seed(server, args.sites, args.scale, args.workers)
    items = sum(max(1, round(v * args.scale)) for v in SIZES.values()) * args.sites
    print(f"seeded {args.sites} sites, {items} items in {time.perf_counter() - started:.0f} s (latency off)")
    server.set_latency(args.latency_ms)
    state = f"sqlite:///{Path(tmp) / 'state.sqlite'}"
    naive_urls = urls[: args.naive_sites] if args.naive_sites else urls
    factor = len(urls) / len(naive_urls)
    naive_counter = RequestCounter()
    naive = NaiveSync(server, naive_url, naive_counter)
    rows = []
    for label in ("initial", "unchanged", "1 % changed"):
        if label == "1 % changed":
            server.set_latency(0)
            edited = edit_share(server, urls, 0.01, 7, args.scale)
            server.set_latency(args.latency_ms)
            label = f"1 % changed ({edited} items)"
        counter = RequestCounter()
        report, seconds = timed(
            lambda c=counter: sync_portfolio(
                hub_url,
                settings=settings(server),
                state=state,
                counter=c,
                limiter=RateLimiter(1e9, 1),
                options=SyncOptions(workers=args.workers),
            )
        )
        if report.exit_code != 0:
            raise SystemExit(f"sync failed: {report.to_dict()['failed'][:3]}")
        naive_counter.reset()
        _, naive_seconds = timed(lambda: naive.run(naive_urls, args.workers))
        rows.append((label, counter.total, seconds, naive_counter.total * factor, naive_seconds * factor))
    print(
        f"\n{args.sites} sites, {items} items, {args.latency_ms:.0f} ms latency, {args.workers} workers, "
        f"{server.mode}"
        + (f" (naive measured on {len(naive_urls)} sites, scaled ×{factor:g})" if factor != 1 else "")
    )
    print(
        f"{'run':<28}{'requests':>10}{'per site':>10}{'seconds':>9}  |{'naive req':>11}{'per site':>10}"
        f"{'seconds':>9}{'ratio':>8}"
    )
    for label, req, sec, nreq, nsec in rows:
        print(
            f"{label:<28}{req:>10}{req / args.sites:>10.2f}{sec:>9.1f}  |{nreq:>11.0f}"
            f"{nreq / args.sites:>10.1f}{nsec:>9.1f}{nreq / max(req, 1):>7.1f}×"
        )


if __name__ == "__main__":
    main()
