"""Fault injection, latency and RU throttling, observed through the real client and raw HTTP."""

from __future__ import annotations

import json
import time

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException

from veiviser.emulator.faults import FaultRule
from veiviser.emulator.throttle import ResourceMeter, request_cost

SITE = "/sites/demo"


def _auth(server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def _get(server, path: str = "/_api/Web") -> requests.Response:
    return requests.get(server.url + SITE + path, headers=_auth(server), timeout=10)


def test_ratelimit_headers_from_80_percent_then_429(emulator):
    emulator.set_throttle(10, window_s=30)
    statuses, seen_headers = [], []
    for _ in range(11):
        r = _get(emulator)
        statuses.append(r.status_code)
        seen_headers.append("RateLimit-Limit" in r.headers)
    assert statuses == [200] * 10 + [429]
    assert seen_headers[:7] == [False] * 7  # below 80 %
    assert all(seen_headers[7:])
    r = _get(emulator)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["RateLimit-Limit"] == "10" and r.headers["RateLimit-Remaining"] == "0"
    assert json.loads(r.content)["error"]["code"].startswith("-1, ")


def test_client_honours_retry_after_and_early_retry_is_punished(emulator, make_context):
    emulator.set_throttle(6, window_s=2)
    ctx = make_context()
    ctx.web.get().execute_query()  # contextinfo + GET = 2 RU
    while _get(emulator).status_code == 200:
        pass
    # an immediate retry inside the Retry-After window: another 429, window extended
    before = emulator.meter.throttled
    r = _get(emulator)
    assert r.status_code == 429 and emulator.meter.throttled == before + 1
    started = time.monotonic()
    web = ctx.web.get()
    ctx.execute_query_with_incremental_retry(max_retry=5)
    elapsed = time.monotonic() - started
    assert web.properties["Title"] == "Demo"
    assert elapsed >= 1.0  # waited for Retry-After rather than hammering
    assert emulator.log.count("GET", "/_api/web", status=429) >= 2
    assert emulator.log.count("GET", "/_api/web", status=429) <= 4


def test_plain_execute_query_surfaces_429(emulator, make_context):
    ctx = make_context()
    ctx.web.get().execute_query()
    emulator.set_throttle(1, window_s=30)
    _get(emulator)
    with pytest.raises(ClientRequestException) as info:
        ctx.web.get().execute_query()
    assert info.value.response.status_code == 429
    assert "Retry-After" in info.value.response.headers


def test_batch_members_are_charged_and_throttled_individually(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Risiko")
    lst.get().execute_query()
    emulator.set_throttle(8, window_s=1.5)
    lst.items.queue_records([{"Title": f"r{i}"} for i in range(6)])  # 6 × 2 RU > 8
    ctx.execute_batch()
    assert [i.properties["Title"] for i in lst.items.get().execute_query()] == [f"r{i}" for i in range(6)]
    assert emulator.log.count("POST", kind="batch-part", status=429) >= 1
    assert emulator.log.count("POST", kind="batch-part", status=201) == 6


def test_meter_units():
    meter = ResourceMeter(4, window_s=10)
    assert meter.charge(2, now=0).allowed
    d = meter.charge(2, now=1)
    assert d.allowed and d.headers["RateLimit-Remaining"] == "0" and d.headers["RateLimit-Reset"] == "9"
    d = meter.charge(1, now=2)
    assert not d.allowed and d.retry_after == 8
    d = meter.charge(1, now=5)  # early: punished, block extended by the same Retry-After
    assert not d.allowed and d.retry_after == 8
    assert meter.charge(1, now=12.5).allowed is False  # still inside the extended window (5 + 8)
    assert meter.charge(1, now=21).allowed
    assert request_cost("GET", "/sites/a/_api/Web/lists('x')/items(3)") == 1
    assert request_cost("GET", "/sites/a/_api/Web/lists('x')/items") == 2
    assert request_cost("GET", "/sites/a/_api/Web/lists('x')/items(3)", "$top=5") == 2
    assert request_cost("MERGE", "/sites/a/_api/Web/lists('x')/items(3)") == 2
    assert request_cost("POST", "/sites/a/_api/Web/lists('x')/GetItems") == 2


def test_random_faults_at_a_rate_are_seeded(mini_app_class):
    from veiviser.emulator.server import EmulatorServer

    runs = []
    for _ in range(2):
        with EmulatorServer(app=mini_app_class(), fault_rate=0.3, seed=7) as server:
            statuses = []
            for _ in range(100):
                r = _get(server)
                statuses.append(r.status_code)
                if r.status_code != 200:
                    assert r.status_code in (429, 503)
                    assert r.headers["Retry-After"] == "1"
                    assert json.loads(r.content)["error"]["code"]
            runs.append(statuses)
    assert runs[0] == runs[1]
    failures = sum(s != 200 for s in runs[0])
    assert 15 <= failures <= 45


def test_random_faults_per_batch_sub_response(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Risiko")
    lst.get().execute_query()
    emulator.faults.set_random(0.3, seed=3, scope="batch-part")
    lst.items.queue_records([{"Title": f"b{i}"} for i in range(10)])
    ctx.execute_batch()
    titles = [i.properties["Title"] for i in lst.items.get().execute_query()]
    assert sorted(titles) == [f"b{i}" for i in range(10)]  # retried parts land later, none twice
    failed = emulator.log.count("POST", kind="batch-part", status=503) + emulator.log.count(
        "POST", kind="batch-part", status=429
    )
    assert failed >= 1
    assert emulator.log.count("POST", kind="batch-part", status=201) == 10
    assert emulator.log.count(kind="batch", status=200) == emulator.log.count(kind="batch")


def test_scripted_sub_response_faults(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Risiko")
    lst.get().execute_query()
    emulator.faults.add(FaultRule(path=r"/items$", method="POST", scope="batch-part", nth=2, status=503))
    emulator.faults.add(path=r"/items$", method="POST", scope="batch-part", nth=4, status=429, retry_after=1)
    lst.items.queue_records([{"Title": f"b{i}"} for i in range(5)])
    ctx.execute_batch()
    titles = [i.properties["Title"] for i in lst.items.get().execute_query()]
    assert titles == ["b0", "b2", "b4", "b1", "b3"]  # failed parts re-sent alone, after the others
    assert emulator.log.count("POST", kind="batch-part", status=503) == 1
    assert emulator.log.count("POST", kind="batch-part", status=429) == 1


def test_path_rule_nth_count_and_body_fragment(emulator, make_context):
    rule = emulator.faults.add(path=r"/_api/web$", method="GET", nth=2, status=503, retry_after=1)
    assert [_get(emulator).status_code for _ in range(4)] == [200, 503, 200, 200]
    assert rule.fired == 1 and rule.seen == 4
    emulator.faults.remove(rule)
    emulator.faults.add(
        path=r"/_api/web$", count=2, status=500, body={"error": {"code": "-1, X", "message": "m"}}
    )
    assert [_get(emulator).status_code for _ in range(3)] == [500, 500, 200]
    emulator.faults.clear()
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Risiko")
    emulator.faults.add(path=r"/items$", body_contains="poison", status=400)  # permanent: not retried
    lst.items.queue_records([{"Title": "ok"}, {"Title": "poison"}, {"Title": "fine"}])
    with ctx.collect_batch_failures() as failures:
        ctx.execute_batch()
    assert len(failures) == 1 and failures[0][1].response.status_code == 400
    assert [i.properties["Title"] for i in lst.items.get().execute_query()] == ["ok", "fine"]


def test_latency_and_jitter_are_measurable(emulator):
    _get(emulator)
    emulator.faults.set_latency(150, jitter_ms=50)
    started = time.monotonic()
    for _ in range(3):
        assert _get(emulator).status_code == 200
    per_call = (time.monotonic() - started) / 3
    assert 0.15 <= per_call < 0.6
    emulator.faults.clear()
    started = time.monotonic()
    _get(emulator)
    assert time.monotonic() - started < 0.15


def test_hang_rule_triggers_client_read_timeout_and_stop_is_prompt(mini_app_class, make_context):
    from veiviser.emulator.server import EmulatorServer

    server = EmulatorServer(app=mini_app_class()).start()
    ctx = make_context(server=server, timeout=(5, 0.5))
    ctx.web.get().execute_query()
    server.faults.hang(path=r"/_api/web$", seconds=60)
    with pytest.raises(requests.exceptions.ReadTimeout):
        ctx.web.get().execute_query()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
