"""Learned pacing: does the client's rate limiter converge to the tenant's RU budget?

For each budget in ``--budgets`` (default ``1250,6250`` RU/min, SharePoint Online's smallest and
largest tiers) a fresh emulator throttles at that budget (a sliding one-minute window, 429 with
``Retry-After`` past it, ``RateLimit-*`` headers from 80 % use; docs/emulator.md, "Throttling and
limits"). ``--workers`` threads (default 8) then read list items through veiviser's gateway as
fast as the gateway lets them, for ``--seconds`` (default 540: from 1 250 the limiter rises 25 % a minute), in ``$batch`` requests of 5 queries
(2 RU each at the emulator's costs). Every thread shares one :class:`RateLimiter` built the way the
product builds it: from the settings' ``ru_per_minute`` (``--start``, default 1 250, the product's
default), so at 6 250 the limiter has to learn its way up.

Every ``--every`` seconds (default 10) it prints the limiter's rate (its learned budget,
``learned_ru_per_minute`` when the limiter has one, else its fixed capacity), the budget the
emulator announced in ``RateLimit-Limit`` as the limiter read it, the RU the emulator charged in the
trailing minute and the 429s so far. Target (issue 11 §2): the rate converges to
the budget with at most one 429 — into the band from 80 % (where SharePoint starts sending
``RateLimit-*`` headers and the limiter stops cutting) to 100 % of it.

Run: ``python bench/pacing.py`` (two budgets, about 18 minutes) or ``--quick`` (60 s each).
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from typing import Any

from veiviser.emulator.seed import Seeder
from veiviser.emulator.server import EmulatorServer
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint import RateLimiter, RequestCounter, connect
from veiviser.sharepoint import items as rest
from veiviser.sharepoint.sites import create_site, wait_until_ready

LIST = "Usikkerhet"


@dataclass
class Sample:
    at: float
    rate: float
    window_ru: int
    refused: int
    requests: int
    announced: int | None = None


def limiter_rate(limiter: RateLimiter) -> float:
    """The limiter's current budget in RU/min (learned, when it learns)."""
    learned = getattr(limiter, "learned_ru_per_minute", None)
    return float(learned if learned is not None else limiter.capacity)


def prepare(server: EmulatorServer) -> str:
    """One site with a list of 50 items (in process, no HTTP)."""
    seeder = Seeder(server.app)
    root = connect(server.url, settings(server, 1e9), limiter=RateLimiter(1e9, 1))
    create_site(root, "tempo", "Tempo", "admin@kommune.no")
    url = f"{server.url}/sites/tempo"
    wait_until_ready(root, url, timeout=60, interval=0.05)
    seeder.call(
        "POST",
        "/sites/tempo",
        "Web/lists",
        {"Title": LIST, "BaseTemplate": 100, "Description": "", "__metadata": {"type": "SP.List"}},
    )
    for i in range(50):
        body = {"Title": f"Risiko {i}", "__metadata": {"type": "SP.Data.UsikkerhetListItem"}}
        seeder.call("POST", "/sites/tempo", f"Web/lists/GetByTitle('{LIST}')/items", body)
    return url


def settings(server: EmulatorServer, ru_per_minute: float) -> ConnectionSettings:
    return ConnectionSettings(
        auth="token",
        access_token=server.token,
        org="Bench",
        admin_url=server.url,
        retry_max_total_seconds=600,
        ru_per_minute=ru_per_minute,
    )


def run_budget(budget: int, args: argparse.Namespace) -> list[Sample]:
    server = EmulatorServer(latency_ms=args.latency_ms).start()
    try:
        url = prepare(server)
        server.set_throttle(budget)
        assert server.meter is not None
        conn = settings(server, args.start)
        counter = RequestCounter()
        first = connect(url, conn, counter=counter)  # the product's own limiter, from the settings
        limiter = first.limiter
        assert limiter is not None
        stop = threading.Event()
        errors: list[str] = []

        def work() -> None:
            site = connect(url, conn, counter=counter, limiter=limiter)
            ops = [rest.get_items(LIST, select=["ID", "Title"], top=5, key=i) for i in range(5)]
            while not stop.is_set():
                try:
                    results = site.batch(ops)
                except Exception as exc:  # a give-up after retries: reported, the run goes on
                    errors.append(str(exc)[:200])
                    continue
                errors.extend(str(r.error)[:200] for r in results if not r.ok)

        threads = [threading.Thread(target=work, daemon=True) for _ in range(args.workers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        samples = [Sample(0, limiter_rate(limiter), 0, 0, 0, limiter.announced_ru_per_minute)]
        while (elapsed := time.monotonic() - started) < args.seconds:
            time.sleep(min(args.every, args.seconds - elapsed))
            samples.append(
                Sample(
                    time.monotonic() - started,
                    limiter_rate(limiter),
                    server.meter.used,
                    server.meter.totals()[2],
                    counter.total,
                    limiter.announced_ru_per_minute,
                )
            )
        stop.set()
        for t in threads:
            t.join(timeout=120)
        if errors:
            print(f"[{budget} RU/min] {len(errors)} failed operations, e.g. {errors[0]}")
        return samples
    finally:
        server.stop()


def table(budget: int, samples: list[Sample], args: argparse.Namespace) -> str:
    lines = [
        f"Budget {budget:,} RU/min (emulator), limiter configured at {args.start:,.0f} RU/min, "
        f"{args.workers} workers, {args.latency_ms:g} ms latency",
        "",
        "| t | limiter rate (RU/min) | budget announced (RateLimit-Limit) | emulator RU in the last minute "
        "| 429s so far | requests so far |",
        "|---|---|---|---|---|---|",
    ]
    for s in samples:
        announced = f"{s.announced:,}" if s.announced else "—"
        lines.append(
            f"| {s.at:.0f} s | {s.rate:,.0f} | {announced} | {s.window_ru:,} | {s.refused} | {s.requests:,} |"
        )
    last = samples[-1]
    # SharePoint sends RateLimit-* headers from 80 % use; the limiter cuts when fewer than 20 % remain,
    # so it settles between 80 % and 100 % of the budget (docs/sharepoint.md, "Pacing").
    converged = 0.8 * budget * 0.95 <= last.rate <= budget * 1.05
    lines.append("")
    lines.append(
        f"- [{'x' if converged else ' '}] rate between 80 % and 100 % of the budget at the end "
        f"({last.rate:,.0f} = {last.rate / budget:.0%}; the emulator charged {last.window_ru:,} RU "
        f"in the last minute = {last.window_ru / budget:.0%})"
    )
    lines.append(
        f"- [{'x' if last.announced == budget else ' '}] the budget learned from the answers "
        f"({last.announced:,} RU/min)"
        if last.announced
        else "- [ ] the budget learned from the answers (no RateLimit-Limit seen)"
    )
    lines.append(f"- [{'x' if last.refused <= 1 else ' '}] at most one 429 ({last.refused})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="1250,6250")
    parser.add_argument("--start", type=float, default=1250.0, help="ru_per_minute in the settings")
    parser.add_argument("--seconds", type=float, default=540.0)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="60 s per budget")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 60.0
    out: list[Any] = []
    for budget in (int(b) for b in args.budgets.split(",") if b.strip()):
        out.append(table(budget, run_budget(budget, args), args))
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
