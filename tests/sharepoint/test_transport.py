"""The transport's retry loop, driven through a fake ``requests`` adapter (no network, no sleeping)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from veiviser.sharepoint import RateLimiter, RequestCounter, RetryPolicy, ThrottledError, TransportError
from veiviser.sharepoint.transport import GatewaySession

SITE = "https://contoso.sharepoint.com/sites/alfa/_api"

Script = list[int | tuple[int, Mapping[str, str]] | BaseException]


class FakeAdapter(BaseAdapter):
    """Answers each request with the next entry of ``script``: a status, (status, headers) or an exception."""

    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = list(script)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        status, headers = step if isinstance(step, tuple) else (step, {})
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response._content = b"{}"
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def session(script: Script, **policy: Any) -> tuple[GatewaySession, FakeAdapter, list[float]]:
    slept: list[float] = []
    gateway = GatewaySession(
        user_agent="NONISV|test|veiviser/0",
        policy=RetryPolicy(**{"max_attempts": 4, "max_total_seconds": 300.0, **policy}),
        counter=RequestCounter(),
        sleep=slept.append,
    )
    adapter = FakeAdapter(script)
    gateway.mount("https://", adapter)
    return gateway, adapter, slept


def test_throttled_request_waits_retry_after_then_succeeds() -> None:
    s, adapter, slept = session([(429, {"Retry-After": "7"}), 200])
    assert s.get(f"{SITE}/Web").status_code == 200
    assert slept == [7.0]
    assert len(adapter.sent) == 2
    assert s.counter is not None and s.counter.total == 2  # every attempt is counted


def test_wait_is_the_larger_of_retry_after_and_ratelimit_reset() -> None:
    s, _, slept = session([(503, {"Retry-After": "3", "RateLimit-Reset": "11"}), 200])
    assert s.post(f"{SITE}/Web/lists", json={}).status_code == 200  # 503 is retried even for a create
    assert slept == [11.0]


def test_server_errors_are_retried_only_for_idempotent_requests() -> None:
    s, adapter, slept = session([500])
    assert s.post(f"{SITE}/Web/lists", json={}).status_code == 500  # a create may have been applied
    assert len(adapter.sent) == 1 and slept == []

    s, adapter, slept = session([(502, {"Retry-After": "1"}), 200])
    merge = s.post(f"{SITE}/Web/lists(guid'x')", json={}, headers={"X-HTTP-Method": "MERGE"})
    assert merge.status_code == 200
    assert slept == [1.0] and len(adapter.sent) == 2

    s, adapter, _ = session([(504, {"Retry-After": "0"}), (408, {"Retry-After": "0"}), 200])
    assert s.get(f"{SITE}/Web").status_code == 200
    assert len(adapter.sent) == 3


def test_contextinfo_post_counts_as_idempotent() -> None:
    s, adapter, _ = session([(500, {"Retry-After": "0"}), 200])
    assert s.post(f"{SITE}/contextinfo").status_code == 200
    assert len(adapter.sent) == 2


def test_backoff_without_server_delay() -> None:
    s, _, slept = session([500, 500, 200], backoff_base=2.0)
    assert s.get(f"{SITE}/Web").status_code == 200
    assert len(slept) == 2
    assert 1.0 <= slept[0] <= 2.0 and 2.0 <= slept[1] <= 4.0  # full jitter over [½, 1] × 2^(n-1) × base


def test_throttling_past_the_attempt_cap_raises_throttled_error() -> None:
    s, adapter, slept = session([(429, {"Retry-After": "1"})] * 4)
    with pytest.raises(ThrottledError) as info:
        s.get(f"{SITE}/Web")
    assert len(adapter.sent) == 4 and slept == [1.0, 1.0, 1.0]
    assert info.value.status == 429
    assert "after 4 attempts" in str(info.value)


def test_throttling_past_the_time_cap_raises_before_sleeping() -> None:
    s, adapter, slept = session([(429, {"Retry-After": "200"})] * 3, max_total_seconds=300.0)
    with pytest.raises(ThrottledError) as info:
        s.get(f"{SITE}/Web")
    assert slept == [200.0]  # the second 200 s wait would pass 300 s: not taken
    assert len(adapter.sent) == 2
    assert "200.0 s of waiting" in str(info.value)


def test_server_error_past_the_cap_returns_the_last_answer() -> None:
    s, adapter, _ = session([(500, {"Retry-After": "0"})] * 4)
    assert s.get(f"{SITE}/Web").status_code == 500  # the client maps it to its error
    assert len(adapter.sent) == 4


def test_connection_errors_retried_for_reads_only() -> None:
    s, adapter, slept = session([requests.exceptions.ConnectionError("reset"), 200], backoff_base=0.5)
    assert s.get(f"{SITE}/Web").status_code == 200
    assert len(adapter.sent) == 2 and len(slept) == 1

    s, adapter, _ = session([requests.exceptions.ConnectionError("reset")])
    with pytest.raises(TransportError, match="not retried because it is not idempotent"):
        s.post(f"{SITE}/Web/lists", json={})
    assert len(adapter.sent) == 1


def test_connection_errors_past_the_cap_raise_transport_error() -> None:
    s, adapter, _ = session([requests.exceptions.Timeout("slow")] * 4, backoff_base=0.01)
    with pytest.raises(TransportError, match=r"failed after 4 attempts \(Timeout\)"):
        s.get(f"{SITE}/Web")
    assert len(adapter.sent) == 4


def test_tls_errors_are_never_retried() -> None:
    s, adapter, _ = session([requests.exceptions.SSLError("bad certificate")])
    with pytest.raises(TransportError, match="TLS error"):
        s.get(f"{SITE}/Web")
    assert len(adapter.sent) == 1


class CountingLimiter(RateLimiter):
    """A limiter that records what each attempt asked for and never waits."""

    def __init__(self) -> None:
        super().__init__(ru_per_minute=1e9, cost_per_request=1)
        self.asked: list[int] = []
        self.observed: list[int] = []

    def acquire(self, requests_count: int = 1, *, ru: float | None = None) -> float:
        self.asked.append(int(ru) if ru is not None else requests_count)
        return 0.0

    def observe(self, response: requests.Response) -> None:
        self.observed.append(response.status_code)


def test_every_attempt_is_paced_by_its_batch_members_costs() -> None:
    s, adapter, _ = session([(429, {"Retry-After": "0"}), 200])
    limiter = CountingLimiter()
    s.limiter = limiter
    members = (
        b"GET "
        + SITE.encode()
        + b"/_api/web/lists/getbytitle('Usikkerhet')/items?$filter=Id%20ge%201 HTTP/1.1",
        b"POST " + SITE.encode() + b"/_api/web/lists/getbytitle('Usikkerhet')/items(4) HTTP/1.1",
        b"GET " + SITE.encode() + b"/_api/web/lists/getbytitle('Usikkerhet')/items(5) HTTP/1.1",
    )
    body = b"".join(b"--b\r\nContent-Type: application/http\r\n\r\n" + line + b"\r\n\r\n" for line in members)
    response = s.post(f"{SITE}/$batch", data=body, headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert response.status_code == 200
    assert limiter.asked == [5, 5]  # a query 2, a write 2, one item 1: charged on each attempt
    assert limiter.observed == [429, 200]
    assert len(adapter.sent) == 2
