"""Throughput of the local SharePoint emulator with zero added latency.

Two ways to load the server, reported side by side:

- **in-process**: client and server in one Python process (they share the GIL, so this
  under-reports what the server can do, but it is how most tests use the emulator);
- **separate process**: the load comes from worker processes (``multiprocessing``, spawn),
  so the server's threads have the GIL to themselves; with ``--workers N`` several at once.

Scenarios: item GET by id with ``http.client`` on one keep-alive connection (the ceiling),
item GET through the real office365 client, and 100-item ``$batch`` writes through
``ctx.execute_batch()``. Run: ``python bench/emulator.py [--seconds S] [--workers N]
[--profile FILE]``; takes well under a minute with the defaults.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import multiprocessing as mp
import pstats
import time
from typing import Any
from urllib.parse import urlsplit

from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation

from veiviser.emulator.server import EmulatorServer

SEED_ITEMS = 20


# ---------------------------------------------------------------------------------------- load
def _raw_get(
    url: str, token: str, list_id: str, ids: list[int], seconds: float, tag: str
) -> tuple[int, float]:
    """Item GETs on one keep-alive ``http.client`` connection for ``seconds``."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json;odata=verbose"}
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        conn.request("GET", f"/_api/Web/lists('{list_id}')/items({ids[n % len(ids)]})", headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET answered {resp.status}")
        n += 1
    conn.close()
    return n, time.perf_counter() - started


def _context(url: str, token: str) -> ClientContext:
    def tok() -> dict[str, Any]:
        return {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    return ClientContext(url).with_access_token(tok).with_transport(timeout=(10, 120))


def _client_get(
    url: str, token: str, list_id: str, ids: list[int], seconds: float, tag: str
) -> tuple[int, float]:
    """Item GETs through the real office365 client (one request each)."""
    lst = _context(url, token).web.lists.get_by_id(list_id)
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        lst.get_item_by_id(ids[n % len(ids)]).get().execute_query()
        n += 1
    return n, time.perf_counter() - started


def _batch_write(
    url: str, token: str, list_id: str, ids: list[int], seconds: float, tag: str
) -> tuple[int, float]:
    """100-item ``$batch`` writes through ``execute_batch``; returns HTTP batches (100 items each)."""
    ctx = _context(url, token)
    lst = ctx.web.lists.get_by_id(list_id)
    lst.get().execute_query()
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        lst.items.queue_records([{"Title": f"{tag}-{n}-{k}"} for k in range(100)])
        ctx.execute_batch(items_per_batch=100)
        n += 1
    return n, time.perf_counter() - started


SCENARIOS = {
    "item GET, http.client keep-alive": (_raw_get, 1),
    "item GET, office365 client": (_client_get, 1),
    "100-item $batch write": (_batch_write, 100),
}


def _worker(args: tuple[str, str, str, str, list[int], float, str, Any]) -> None:
    name, url, token, list_id, ids, seconds, tag, queue = args
    fn = SCENARIOS[name][0]
    queue.put(fn(url, token, list_id, ids, seconds, tag))


# ---------------------------------------------------------------------------------------- runs
def _prepare(server: EmulatorServer) -> tuple[str, list[int]]:
    ctx = _context(server.url, server.token)
    lst = ctx.web.lists.add(ListCreationInformation("Bench", None, 100)).execute_query()
    lst.items.queue_records([{"Title": f"seed {i}"} for i in range(SEED_ITEMS)])
    ctx.execute_batch()
    return lst.properties["Id"], [item.id for item in lst.items.get().execute_query()]


def _server_ms(server: EmulatorServer) -> float:
    """Median time the server spent per top-level request since the last reset (from its request log)."""
    durations = sorted(
        r.duration_ms
        for r in server.log.recent()
        if r.kind in ("request", "batch") and not r.path.lower().endswith("/contextinfo")
    )
    server.log.reset()
    return durations[len(durations) // 2] if durations else 0.0


def run(seconds: float = 3.0, workers: int = 2) -> list[dict[str, Any]]:
    """Rows ``{scenario, mode, procs, requests, seconds, requests_per_s, items_per_s, server_ms}``."""
    rows: list[dict[str, Any]] = []
    with EmulatorServer() as server:
        list_id, ids = _prepare(server)
        spawn = mp.get_context("spawn")
        for name, (fn, per_request) in SCENARIOS.items():
            server.log.reset()
            n, elapsed = fn(server.url, server.token, list_id, ids, seconds, "in")
            rows.append(
                {
                    "scenario": name,
                    "mode": "in-process",
                    "procs": 1,
                    "requests": n,
                    "seconds": elapsed,
                    "server_ms": _server_ms(server),
                }
            )
            for procs in sorted({1, workers}):
                server.log.reset()
                queue = spawn.Queue()
                jobs = [
                    spawn.Process(
                        target=_worker,
                        args=(
                            (name, server.url, server.token, list_id, ids, seconds, f"p{procs}-{k}", queue),
                        ),
                    )
                    for k in range(procs)
                ]
                for job in jobs:
                    job.start()
                results = [queue.get(timeout=seconds * 10 + 60) for _ in jobs]
                for job in jobs:
                    job.join()
                total = sum(r[0] for r in results)
                span = max(r[1] for r in results)
                rows.append(
                    {
                        "scenario": name,
                        "mode": "separate process",
                        "procs": procs,
                        "requests": total,
                        "seconds": span,
                        "server_ms": _server_ms(server),
                    }
                )
            for row in rows:
                if row["scenario"] == name:
                    row["requests_per_s"] = row["requests"] / row["seconds"]
                    row["items_per_s"] = row["requests_per_s"] * per_request
    return rows


def profile_server(seconds: float, out: str) -> str:
    """cProfile the server side while a separate process drives raw GETs, then $batch writes."""
    with EmulatorServer() as server:
        list_id, ids = _prepare(server)
        spawn = mp.get_context("spawn")
        profiler = cProfile.Profile()  # one load connection = one handler thread at a time
        handler_cls = server._httpd.RequestHandlerClass  # type: ignore[union-attr]
        original = handler_cls.handle_one_request

        def profiled(self: Any) -> None:
            profiler.runcall(original, self)

        handler_cls.handle_one_request = profiled  # type: ignore[method-assign]
        try:
            for name in ("item GET, http.client keep-alive", "100-item $batch write"):
                queue = spawn.Queue()
                job = spawn.Process(
                    target=_worker,
                    args=((name, server.url, server.token, list_id, ids, seconds, "prof", queue),),
                )
                job.start()
                queue.get(timeout=seconds * 10 + 60)
                job.join()
        finally:
            handler_cls.handle_one_request = original  # type: ignore[method-assign]
    profiler.dump_stats(out)
    stats = pstats.Stats(out)
    import io

    buf = io.StringIO()
    stats.stream = buf  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(25)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    parser.add_argument("--workers", type=int, default=2, help="load processes in the widest measurement")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the server under out-of-process load instead"
    )
    args = parser.parse_args()
    if args.profile:
        print(profile_server(args.seconds, args.profile))
        return
    rows = run(args.seconds, args.workers)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'scenario':34s} {'load from':18s} {'procs':>5s} {'requests':>8s} {'req/s':>8s} {'items/s':>8s} "
        f"{'server ms/req':>13s}"
    )
    for r in rows:
        print(
            f"{r['scenario']:34s} {r['mode']:18s} {r['procs']:5d} {r['requests']:8d} "
            f"{r['requests_per_s']:8.1f} {r['items_per_s']:8.0f} {r['server_ms']:13.2f}"
        )
    print("server ms/req: median time inside the server per top-level request (its request log).")


if __name__ == "__main__":
    main()
