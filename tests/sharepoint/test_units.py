"""Unit tests of the gateway's pure parts: values, escaping, errors, retry-after, limiter, msal, batch format."""

from __future__ import annotations

import json
import math
import os
import stat
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException

from veiviser.errors import VeiviserError
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint import auth
from veiviser.sharepoint.batch import Operation, parse_batch_response, render_batch, unwrap
from veiviser.sharepoint.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    SharePointError,
    ThrottledError,
    TransportError,
    ValidationError,
    classify,
    from_client_exception,
)
from veiviser.sharepoint.transport import RateLimiter, normalise_endpoint, parse_retry_after, retry_delay
from veiviser.sharepoint.values import (
    LookupValue,
    from_sharepoint,
    normalise_item,
    odata_literal,
    row_to_sharepoint,
    to_sharepoint,
)

# --- values ---------------------------------------------------------------------------------------


def test_missing_values_become_null() -> None:
    for value in (
        None,
        float("nan"),
        np.nan,
        np.float64("nan"),
        pd.NaT,
        pd.NA,
        np.datetime64("NaT"),
        Decimal("NaN"),
    ):
        assert to_sharepoint(value) is None


def test_numpy_scalars_become_python() -> None:
    assert to_sharepoint(np.int64(7)) == 7 and type(to_sharepoint(np.int64(7))) is int
    assert type(to_sharepoint(np.float32(1.5))) is float
    assert to_sharepoint(np.bool_(True)) is True
    json.dumps(row_to_sharepoint({"a": np.int64(1), "b": np.float64(2.5)}))


def test_decimal_becomes_float() -> None:
    assert to_sharepoint(Decimal("12.50")) == 12.5
    assert type(to_sharepoint(Decimal("3"))) is float
    with pytest.raises(ValidationError):
        to_sharepoint(Decimal("Infinity"))


def test_dates_are_aware_utc_and_naive_is_refused() -> None:
    oslo = timezone(timedelta(hours=2))
    assert to_sharepoint(datetime(2026, 6, 1, 12, 0, tzinfo=oslo)) == "2026-06-01T10:00:00Z"
    assert to_sharepoint(pd.Timestamp("2026-03-01T11:00:00Z")) == "2026-03-01T11:00:00Z"
    assert to_sharepoint(date(2026, 3, 1)) == "2026-03-01T00:00:00Z"
    with pytest.raises(ValidationError, match="naive datetime") as info:
        row_to_sharepoint({"GtStartDate": datetime(2026, 1, 1)})
    assert "GtStartDate" in str(info.value) and info.value.hint


def test_multi_values_and_lookups() -> None:
    assert to_sharepoint(["A", "B"]) == {
        "results": ["A", "B"],
        "__metadata": {"type": "Collection(Edm.String)"},
    }
    assert to_sharepoint((1, 2))["__metadata"]["type"] == "Collection(Edm.Int32)"
    body = row_to_sharepoint(
        {
            "GtOwner": LookupValue(7),
            "Parent": {"Id": 3, "Title": "x"},
            "Members": [LookupValue(1), LookupValue(2)],
        }
    )
    assert body == {
        "GtOwnerId": 7,
        "ParentId": 3,
        "MembersId": {"results": [1, 2], "__metadata": {"type": "Collection(Edm.Int32)"}},
    }


def test_unsupported_and_infinite_values_error() -> None:
    with pytest.raises(ValidationError):
        to_sharepoint(object())
    with pytest.raises(ValidationError):
        to_sharepoint(math.inf)


def test_read_normalisation() -> None:
    item = {
        "__metadata": {"type": "SP.Data.XListItem"},
        "Id": 1,
        "Modified": "2026-03-01T11:00:00Z",
        "Choices": {"__metadata": {"type": "Collection(Edm.String)"}, "results": ["A", "B"]},
        "Client": {0: 7, 1: 8},
        "Author": {"__deferred": {"uri": "x"}},
        "Editor": {"__metadata": {"type": "SP.Data.UserInfoItem"}, "Id": 5, "Title": "Kari"},
        "Tax": {
            "__metadata": {"type": "SP.Taxonomy.TaxonomyFieldValue"},
            "Label": "L",
            "TermGuid": "g",
            "WssId": 1,
        },
        "Title": "Plain",
    }
    out = normalise_item(item)
    assert out["Modified"] == datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert out["Choices"] == ["A", "B"] and out["Client"] == [7, 8]
    assert "Author" not in out and "__metadata" not in out
    assert out["Editor"] == {"Id": 5, "Title": "Kari"}
    assert out["Tax"] == {"Label": "L", "TermGuid": "g", "WssId": 1}
    assert from_sharepoint("2026-03-01T11:00:00") == datetime(2026, 3, 1, 11, tzinfo=UTC)


def test_odata_literal() -> None:
    assert odata_literal("O'Brien") == "'O''Brien'"
    assert odata_literal("Måleindikatorer") == "'Måleindikatorer'"
    assert odata_literal(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "datetime'2026-01-02T03:04:05Z'"
    assert odata_literal(True) == "true" and odata_literal(5) == "5" and odata_literal(None) == "null"
    assert odata_literal(np.int64(3)) == "3"
    with pytest.raises(ValidationError):
        odata_literal(datetime(2026, 1, 1))


# --- errors ---------------------------------------------------------------------------------------


def _client_exc(status: int, code: str | None, message: str) -> ClientRequestException:
    resp = requests.Response()
    resp.status_code = status
    resp.headers["Content-Type"] = "application/json;odata=verbose"
    payload = {"error": {"code": code, "message": {"lang": "en-US", "value": message}}} if code else {}
    resp._content = json.dumps(payload).encode()
    resp.url = "http://x/_api/Web"
    return ClientRequestException.from_response(resp)


def test_missing_list_maps_to_not_found() -> None:
    exc = _client_exc(
        404, "-1, System.ArgumentException", "List 'Usikkerhet' does not exist at site with URL 'x'."
    )
    err = from_client_exception(exc, site="http://h/sites/a", list="Usikkerhet")
    assert isinstance(err, NotFoundError) and isinstance(err, VeiviserError)
    assert "Usikkerhet" in str(err) and "http://h/sites/a" in str(err) and err.status == 404 and err.hint


def test_error_classification() -> None:
    assert isinstance(classify(500, "-2130575342, Microsoft.SharePoint.SPException", "exists"), ConflictError)
    assert isinstance(classify(400, "-1, X", "A list already exists"), ConflictError)
    assert isinstance(classify(429, None, "throttled"), ThrottledError)
    assert isinstance(classify(503, None, "busy"), ThrottledError)
    assert isinstance(classify(401, None, "no"), AuthError)
    field_err = classify(
        400, "-2147024809, System.ArgumentException", "Column 'GtFoo' does not exist.", item=4
    )
    assert isinstance(field_err, NotFoundError) and field_err.field == "GtFoo" and field_err.item == 4
    lvt = classify(500, "-2147024860, Microsoft.SharePoint.SPQueryThrottledException", "threshold")
    assert isinstance(lvt, ValidationError) and "indexed" in (lvt.hint or "")
    assert isinstance(
        classify(400, "-1, Microsoft.SharePoint.Client.InvalidClientQueryException", "bad"), ValidationError
    )
    assert isinstance(from_client_exception(requests.exceptions.ConnectionError("x")), TransportError)
    assert isinstance(from_client_exception(requests.exceptions.ReadTimeout("x")), TransportError)
    assert issubclass(ThrottledError, SharePointError)


# --- retry-after and limiter ----------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert retry_delay({"Retry-After": "2", "RateLimit-Reset": "9"}) == 9
    assert retry_delay({"Retry-After": "12", "RateLimit-Reset": "9"}) == 12
    assert retry_delay({}) is None
    assert retry_delay({"retry-after": "3"}) == 3  # $batch sub-response headers are lower-case


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _response(status: int, **headers: str) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.headers.update(headers)
    return resp


def test_limiter_token_bucket_arithmetic() -> None:
    clock = FakeClock()
    limiter = RateLimiter(ru_per_minute=60, cost_per_request=2, clock=clock, sleep=clock.sleep)
    # 1 RU/s, 2 RU per request; the bucket holds a burst of 2 s (2 RU) and starts full.
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(2.0)
    clock.now += 60  # an idle minute refills no more than the burst
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(2.0)
    # A batch of 5 members (10 RU) starts when the burst is there and leaves 8 RU owed ...
    assert limiter.acquire(5) == pytest.approx(2.0)
    assert limiter.acquire() == pytest.approx(10.0)  # ... which the next request waits for


def test_limiter_pauses_everyone_on_429_and_reads_ratelimit_headers() -> None:
    clock = FakeClock()
    limiter = RateLimiter(ru_per_minute=600, cost_per_request=1, clock=clock, sleep=clock.sleep)
    limiter.observe(_response(429, **{"Retry-After": "4"}))
    assert limiter.wait_time() == pytest.approx(4.0)
    assert limiter.acquire() == pytest.approx(4.0)
    limiter.observe(_response(200, **{"RateLimit-Remaining": "3", "RateLimit-Reset": "20"}))
    assert limiter.tokens <= 3
    limiter.observe(_response(200, **{"RateLimit-Remaining": "0", "RateLimit-Reset": "20"}))
    assert limiter.wait_time() >= 20


def test_normalise_endpoint() -> None:
    url = "http://h/sites/a/_api/Web/lists(guid'6f0f3a3e-1111-2222-3333-444455556666')/items(5)?$top=2"
    assert normalise_endpoint(url) == "_api/web/lists({id})/items({n})"
    assert (
        normalise_endpoint("http://h/sites/a/_api/Web/lists/GetByTitle('Måle')")
        == "_api/web/lists/getbytitle({s})"
    )


# --- settings and auth ----------------------------------------------------------------------------


def test_settings_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIVISER_ACCESS_TOKEN", "very-secret-token")
    settings = ConnectionSettings()
    assert "very-secret-token" not in repr(settings) and "very-secret-token" not in str(settings)
    assert settings.timeout == (10.0, 120.0)
    with pytest.raises(Exception, match="VEIVISER_TENANT_ID"):
        ConnectionSettings(auth="certificate", access_token=None)


def test_static_token_has_bearer_type() -> None:
    token = auth.static_token_provider("abc")()
    assert token["token_type"] == "Bearer" and token["access_token"] == "abc"


class FakeConfidential:
    calls: ClassVar[list[tuple]] = []

    def __init__(self, client_id: str, authority: str, client_credential: dict) -> None:
        FakeConfidential.calls.append((client_id, authority, sorted(client_credential)))

    def acquire_token_for_client(self, scopes: list[str]) -> dict:
        FakeConfidential.calls.append(("scopes", scopes))
        return {"access_token": "t", "expires_in": 3600}


def test_certificate_branch(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import msal

    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    monkeypatch.setattr(msal, "ConfidentialClientApplication", FakeConfidential)
    settings = ConnectionSettings(
        auth="certificate",
        tenant_id="tid",
        client_id="cid",
        cert_path=key,
        cert_thumbprint="AB12",
        cert_passphrase="pw",
    )
    token = auth.token_provider(settings, "https://contoso.sharepoint.com/sites/alfa")()
    assert token["token_type"] == "Bearer"
    assert FakeConfidential.calls[0] == (
        "cid",
        "https://login.microsoftonline.com/tid",
        ["passphrase", "private_key", "thumbprint"],
    )
    assert FakeConfidential.calls[1] == ("scopes", ["https://contoso.sharepoint.com/.default"])


def test_certificate_failure_is_auth_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import msal

    class Failing(FakeConfidential):
        def acquire_token_for_client(self, scopes: list[str]) -> dict:
            return {"error": "invalid_client", "error_description": "AADSTS700027: bad cert\ntrace"}

    key = tmp_path / "key.pem"
    key.write_text("k")
    monkeypatch.setattr(msal, "ConfidentialClientApplication", Failing)
    settings = ConnectionSettings(
        auth="certificate", tenant_id="t", client_id="c", cert_path=key, cert_thumbprint="x"
    )
    with pytest.raises(AuthError, match="AADSTS700027"):
        auth.token_provider(settings, "https://contoso.sharepoint.com")()
    missing = ConnectionSettings(
        auth="certificate", tenant_id="t", client_id="c", cert_path=tmp_path / "nope.pem", cert_thumbprint="x"
    )
    with pytest.raises(AuthError, match=r"nope\.pem"):
        auth.token_provider(missing, "https://contoso.sharepoint.com")


class FakeCache:
    def __init__(self) -> None:
        self.state = ""
        self.has_state_changed = False

    def deserialize(self, text: str) -> None:
        self.state = text

    def serialize(self) -> str:
        return self.state or '{"cached": true}'


class FakePublic:
    log: ClassVar[list[str]] = []
    accounts: ClassVar[list[dict]] = []

    def __init__(self, client_id: str, authority: str, token_cache: FakeCache) -> None:
        self.cache = token_cache

    def get_accounts(self) -> list[dict]:
        return FakePublic.accounts

    def acquire_token_silent(self, scopes: list[str], account: dict) -> dict | None:
        FakePublic.log.append("silent")
        return {"access_token": "silent-token", "token_type": "Bearer"}

    def initiate_device_flow(self, scopes: list[str]) -> dict:
        FakePublic.log.append("flow")
        return {"user_code": "ABC", "message": "Go to https://microsoft.com/devicelogin and enter ABC"}

    def acquire_token_by_device_flow(self, flow: dict) -> dict:
        FakePublic.log.append("device")
        self.cache.has_state_changed = True
        return {"access_token": "device-token", "token_type": "Bearer"}


def test_device_code_branch_and_cache_mode(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import msal

    monkeypatch.setattr(msal, "PublicClientApplication", FakePublic)
    monkeypatch.setattr(msal, "SerializableTokenCache", FakeCache)
    cache_path = tmp_path / "cache" / "tokens.json"
    settings = ConnectionSettings(
        auth="device-code", tenant_id="t", client_id="c", token_cache_path=cache_path
    )
    prompts: list[str] = []
    provider = auth.device_code_token_provider(
        settings, "https://contoso.sharepoint.com/sites/a", prompt=prompts.append
    )
    FakePublic.accounts = []
    assert provider()["access_token"] == "device-token"
    assert prompts and "ABC" in prompts[0]
    assert stat.S_IMODE(os.stat(cache_path).st_mode) == 0o600
    FakePublic.accounts = [{"username": "kari"}]
    FakePublic.log.clear()
    assert provider()["access_token"] == "silent-token"
    assert FakePublic.log == ["silent"]


def test_private_file_mode_even_when_file_existed(tmp_path) -> None:
    path = tmp_path / "c.json"
    path.write_text("old")
    os.chmod(path, 0o644)
    auth.write_private_file(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(os.stat(path).st_mode) == 0o600


# --- batch wire format ----------------------------------------------------------------------------


def test_render_batch_keeps_order_and_groups_writes() -> None:
    ops = [
        Operation("POST", "Web/lists(guid'x')/items", {"Title": "Å"}),
        Operation("MERGE", "Web/lists(guid'x')/items(1)", {"Title": "B"}),
        Operation("GET", "Web/lists(guid'x')/items(1)"),
        Operation("DELETE", "Web/lists(guid'x')/items(2)"),
    ]
    boundary, body = render_batch(ops, "http://h/sites/a/_api", {"X-RequestDigest": "d"})
    text = body.decode()
    assert (
        text.index("POST http")
        < text.index("MERGE http")
        < text.index("GET http")
        < text.index("DELETE http")
    )
    assert text.count('boundary="changeset_') == 2  # POST+MERGE share one changeset; DELETE has its own
    assert "\\u00c5" in text and "X-HTTP-Method: MERGE" in text and "IF-MATCH: *" in text
    assert text.endswith(f"--{boundary}--\r\n")


def test_parse_batch_response_flat_and_nested() -> None:
    flat = (
        b"--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nCONTENT-TYPE: application/json;odata=verbose;charset=utf-8\r\n\r\n"
        b'{"d":{"Id":5}}\r\n'
        b"--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n\r\n\r\n"
        b"--batchresponse_1\r\nContent-Type: application/http\r\n\r\n"
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n\r\n\r\n"
        b"--batchresponse_1--\r\n"
    )
    parts = parse_batch_response("multipart/mixed; boundary=batchresponse_1", flat)
    assert [p.status for p in parts] == [201, 204, 429]
    assert parts[0].json() == {"d": {"Id": 5}} and parts[2].headers["retry-after"] == "3"
    with pytest.raises(SharePointError):
        parse_batch_response("application/json", b"{}")


def test_unwrap() -> None:
    assert unwrap({"d": {"results": [1, 2]}}) == [1, 2]
    assert unwrap({"d": {"Create": {"SiteStatus": 2}}}, "spSiteManager/Create") == {"SiteStatus": 2}
    assert unwrap({"d": {"CurrentChangeToken": {"StringValue": "x"}}}, "Web/lists(guid'a')") == {
        "CurrentChangeToken": {"StringValue": "x"}
    }


def test_operation_resend_safety() -> None:
    assert Operation("GET", "Web").safe_to_resend
    assert Operation("MERGE", "x/items(1)").safe_to_resend
    assert not Operation("POST", "Web/lists(guid'a')/items").safe_to_resend
    assert Operation("POST", "Web/lists(guid'a')/getChanges").safe_to_resend
    assert Operation("POST", "Web/EnsureUser('a@b')").safe_to_resend
