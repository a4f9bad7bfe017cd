"""Throughput of the local SharePoint emulator with zero added latency.

Measures requests per second for simple item GETs (real office365 client and raw ``requests``,
the latter being the ceiling) and for 100-item ``$batch`` writes through ``ctx.execute_batch()``.
Run: ``python bench/emulator.py [--gets N] [--batches N]``; takes well under a minute.
"""

from __future__ import annotations

import argparse
import time

import requests
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation

from veiviser.emulator.server import EmulatorServer


def _timed(fn, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return time.perf_counter() - started


def run(gets: int = 500, batches: int = 5) -> list[tuple[str, int, float]]:
    """Rows of (scenario, operations, seconds)."""
    rows: list[tuple[str, int, float]] = []
    with EmulatorServer() as server:
        ctx = ClientContext(server.url).with_access_token(server.access_token).with_transport(timeout=(10, 120))
        lst = ctx.web.lists.add(ListCreationInformation("Bench", None, 100)).execute_query()
        lst.items.queue_records([{"Title": f"seed {i}"} for i in range(20)])
        ctx.execute_batch()
        ids = [item.id for item in lst.items.get().execute_query()]

        def client_get(i: int) -> None:
            lst.get_item_by_id(ids[i % len(ids)]).get().execute_query()

        rows.append(("item GET, office365 client", gets, _timed(client_get, gets)))

        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {server.token}",
                                "Accept": "application/json;odata=verbose"})
        base = f"{server.url}/_api/Web/lists('{lst.properties['Id']}')/items("

        def raw_get(i: int) -> None:
            r = session.get(f"{base}{ids[i % len(ids)]})")
            assert r.status_code == 200, r.status_code

        rows.append(("item GET, raw requests", gets * 2, _timed(raw_get, gets * 2)))

        def batch_write(i: int) -> None:
            lst.items.queue_records([{"Title": f"b{i}-{k}"} for k in range(100)])
            ctx.execute_batch(items_per_batch=100)

        seconds = _timed(batch_write, batches)
        rows.append(("100-item $batch write (items)", batches * 100, seconds))
        rows.append(("100-item $batch write (HTTP batches)", batches, seconds))
        server.log.reset()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=500, help="client GETs (raw GETs are twice as many)")
    parser.add_argument("--batches", type=int, default=5, help="100-item $batch writes")
    args = parser.parse_args()
    rows = run(args.gets, args.batches)
    print(f"{'scenario':40s} {'ops':>6s} {'seconds':>8s} {'ops/s':>9s}")
    for name, ops, seconds in rows:
        print(f"{name:40s} {ops:6d} {seconds:8.2f} {ops / seconds:9.1f}")


if __name__ == "__main__":
    main()
