"""The learning rate limiter (docs/sharepoint.md, "Pacing"): a fake clock, and the emulator's RU meter as the tenant."""

from __future__ import annotations

import itertools
import time

import pytest
import requests

from tests.support.emulator import connection_settings
from veiviser.emulator.server import EmulatorServer
from veiviser.emulator.throttle import ResourceMeter
from veiviser.sharepoint import connect, describe_pace
from veiviser.sharepoint.transport import (
    LARGEST_TIER_RU_PER_MINUTE,
    SMALLEST_TIER_RU_PER_MINUTE,
    RateLimiter,
    shared_limiter,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def _limiter(clock: FakeClock, ru: float = SMALLEST_TIER_RU_PER_MINUTE, **kwargs: object) -> RateLimiter:
    return RateLimiter(ru, 2.0, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def _busy_minute(limiter: RateLimiter, clock: FakeClock, headers: dict[str, str] | None = None) -> None:
    """Callers wait on the bucket for a whole window; every answer carries ``headers``."""
    end = clock.now + limiter.window_s
    while clock.now < end:
        limiter.acquire()
        limiter.observe(_response(200, headers))


def test_starts_at_the_smallest_tier_and_raises_step_by_step_while_unthrottled() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    assert limiter.learned_ru_per_minute == 1250
    seen = [limiter.learned_ru_per_minute]
    for _ in range(4):
        _busy_minute(limiter, clock)
        seen.append(limiter.learned_ru_per_minute)
    assert seen[0] < seen[1] < seen[2] < seen[3] < seen[4]
    assert all(b / a == pytest.approx(RateLimiter.RAISE, rel=0.01) for a, b in itertools.pairwise(seen))
    for _ in range(20):
        _busy_minute(limiter, clock)
    assert limiter.learned_ru_per_minute == LARGEST_TIER_RU_PER_MINUTE  # never above the largest tier


def test_no_raise_without_demand_or_within_a_window() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(10):  # a few requests a minute never wait for the bucket
        limiter.acquire()
        clock.sleep(30)
        limiter.observe(_response(200))
    assert limiter.learned_ru_per_minute == 1250
    limiter.acquire(700)  # more than the bucket holds: a wait, but the window has only just begun
    limiter.observe(_response(200))
    assert limiter.learned_ru_per_minute == 1250


def test_low_remaining_cuts_once_per_window_and_caps_at_the_announced_limit() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, ru=3000)
    low = {"RateLimit-Limit": "2500", "RateLimit-Remaining": "300", "RateLimit-Reset": "20"}
    assert limiter.announced_ru_per_minute is None  # nothing announced yet
    limiter.observe(_response(200, low))
    assert limiter.learned_ru_per_minute == 2400  # 3000 × 0.8
    assert limiter.announced_ru_per_minute == 2500
    limiter.observe(_response(200, low))
    assert limiter.learned_ru_per_minute == 2400  # one cut per window
    assert limiter.tokens <= 300  # the bucket holds no more than the server says remains
    clock.sleep(61)
    limiter.observe(_response(200, low))
    assert limiter.learned_ru_per_minute == 2000  # not 1920: the cut stops at 80 % of the limit
    clock.sleep(61)
    limiter.observe(_response(200, low))
    assert limiter.learned_ru_per_minute == 2000  # at the edge the bucket alone protects
    assert limiter.tokens <= 300
    for _ in range(10):
        _busy_minute(limiter, clock)
    assert limiter.learned_ru_per_minute == 2500  # raised again, never above RateLimit-Limit


def test_headers_above_20_percent_hold_the_rate() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    _busy_minute(limiter, clock, {"RateLimit-Limit": "1250", "RateLimit-Remaining": "400"})
    _busy_minute(limiter, clock, {"RateLimit-Limit": "1250", "RateLimit-Remaining": "400"})
    assert limiter.learned_ru_per_minute == 1250 and limiter.cuts == 0 and limiter.raises == 0


def test_a_429_halves_the_rate_and_nobody_comes_back_before_retry_after() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, ru=2000)
    limiter.observe(_response(429, {"Retry-After": "7"}))
    limiter.observe(_response(429, {"Retry-After": "7"}))  # a second one already in flight
    assert limiter.learned_ru_per_minute == 1000 and limiter.cuts == 1
    start = clock.now
    limiter.acquire()
    assert clock.now - start >= 7
    for _ in range(10):
        _busy_minute(limiter, clock)
    assert limiter.learned_ru_per_minute <= 2000  # never back to the pace that drew the 429


def test_a_503_pauses_without_a_cut_and_learn_false_keeps_the_configured_rate() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.observe(_response(503, {"Retry-After": "3"}))
    assert limiter.wait_time() == pytest.approx(3.0) and limiter.learned_ru_per_minute == 1250
    fixed = _limiter(clock, learn=False)
    _busy_minute(fixed, clock)
    fixed.observe(_response(429, {"Retry-After": "1"}))
    assert fixed.learned_ru_per_minute == 1250


@pytest.mark.parametrize("tenant_budget", [1250, 2500, 6250])
def test_converges_on_the_tenants_budget_with_at_most_one_429(tenant_budget: int) -> None:
    """The emulator's RU meter as the tenant; continuous demand for 15 simulated minutes."""
    clock = FakeClock()
    meter = ResourceMeter(tenant_budget, 60.0)
    limiter = _limiter(clock)
    throttled = 0
    history: list[int] = []
    while clock.now < 15 * 60:
        limiter.acquire()
        decision = meter.charge(2, now=clock.now)
        if decision.allowed:
            limiter.observe(_response(200, decision.headers))
        else:
            throttled += 1
            limiter.observe(_response(429, decision.headers))
        history.append(limiter.learned_ru_per_minute)
    assert throttled <= 1
    assert limiter.announced_ru_per_minute == tenant_budget  # the budget itself is learned exactly
    settled = history[len(history) * 2 // 3 :]
    assert min(settled) >= 0.8 * tenant_budget, (min(settled), tenant_budget)  # never under the edge
    assert max(settled) <= tenant_budget


def test_a_budget_configured_far_above_the_tenants_comes_down_to_it() -> None:
    """Configured at 100,000 RU/min (a typo, or a guess) against a 6,250 tenant: the pace's floor
    (a tenth of the configured budget) must not hold it above the budget the tenant announces."""
    clock = FakeClock()
    meter = ResourceMeter(6250, 60.0)
    limiter = _limiter(clock, ru=100_000)
    throttled = 0
    history: list[int] = []
    while clock.now < 10 * 60:
        limiter.acquire()
        decision = meter.charge(2, now=clock.now)
        if not decision.allowed:
            throttled += 1
        limiter.observe(_response(200 if decision.allowed else 429, decision.headers))
        history.append(limiter.learned_ru_per_minute)
    assert throttled <= 1
    assert limiter.announced_ru_per_minute == 6250
    settled = history[len(history) // 2 :]
    assert min(settled) >= 0.8 * 6250 and max(settled) <= 6250, (min(settled), max(settled))


def test_the_pacing_line_names_the_announced_budget_once_there_is_one() -> None:
    assert describe_pace(1250) == "pacing: 1250 RU/min learned from the tenant"
    assert (
        describe_pace(5000, 6250)
        == "pacing: 5000 RU/min learned from the tenant (80% of the 6250 RU/min it announces)"
    )


def test_one_limiter_per_tenant_per_process() -> None:
    a = shared_limiter("https://contoso.sharepoint.com/sites/a", 1250)
    b = shared_limiter("https://CONTOSO.sharepoint.com/sites/b", 1250)
    c = shared_limiter("https://fabrikam.sharepoint.com/sites/a", 1250)
    assert a is b and a is not c


@pytest.mark.slow
def test_against_the_emulators_ru_meter_the_pace_converges_with_at_most_one_429() -> None:
    """``--throttle-ru-per-minute`` with a 2-second window (120 RU per window = 3,600 RU/min).

    The real client reads ``Web/lists`` (2 RU each on both sides) as fast as the limiter lets it for
    24 s; the limiter starts at the smallest tier, rises while no ``RateLimit-*`` headers come and
    settles under the meter's budget.
    """

    with EmulatorServer(throttle_ru_per_minute=120, throttle_window_s=2.0) as server:
        limiter = RateLimiter(SMALLEST_TIER_RU_PER_MINUTE, 2.0, window_s=2.0)
        site = connect(server.url, connection_settings(server), limiter=limiter)
        site.form_digest()  # contextinfo once, before the clock starts
        assert server.meter is not None
        deadline = time.monotonic() + 24
        seen: list[int] = []
        while time.monotonic() < deadline:
            site.get("Web/lists", {"$select": "Title"})
            seen.append(limiter.learned_ru_per_minute)
        assert server.meter.throttled <= 1
        assert limiter.announced_ru_per_minute == 3600  # 120 RU per 2-second window, per minute
        assert limiter.raises >= 2 and max(seen) > SMALLEST_TIER_RU_PER_MINUTE  # it learned to go faster
        settled = seen[len(seen) // 2 :]
        assert min(settled) >= 0.5 * 3600 and max(settled) <= 3600, (min(settled), max(settled))
