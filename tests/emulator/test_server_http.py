"""The emulator's HTTP layer driven by the real office365 client (and raw HTTP for malformed input)."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.client_context import ClientContext

from veiviser.emulator.server import EmulatorError, EmulatorServer
from veiviser.errors import VeiviserError

SITE = "/sites/demo"

DIGEST_CODE = "-2130575251, Microsoft.SharePoint.SPException"


def _raw(server: EmulatorServer, data: bytes) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes or 2 s pass."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(data)
        sock.settimeout(2)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def _sp_error(body: bytes) -> dict:
    payload = json.loads(body)
    assert set(payload) == {"error"}
    assert "," in payload["error"]["code"]
    assert payload["error"]["message"]["lang"] == "en-US"
    return payload["error"]


def test_web_get_with_real_client_and_headers(emulator, make_context):
    ctx = make_context()
    web = ctx.web.get().execute_query()
    assert web.properties["Title"] == "Demo"
    r = requests.get(emulator.url + SITE + "/_api/Web", headers={"Authorization": f"Bearer {emulator.token}"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json;odata=verbose")
    assert r.headers["request-id"] == r.headers["SPRequestGuid"]
    assert emulator.log.count("POST", "/_api/contextinfo") == 1


def test_missing_and_wrong_token_get_401(emulator, make_context):
    r = requests.get(emulator.url + SITE + "/_api/Web")
    assert r.status_code == 401
    assert "UnauthorizedAccessException" in _sp_error(r.content)["code"]
    ctx = make_context(token="not-the-token")
    with pytest.raises(ClientRequestException) as info:
        ctx.web.get().execute_query()
    assert info.value.response.status_code == 401


def test_write_without_digest_gets_exact_403(emulator):
    auth = {"Authorization": f"Bearer {emulator.token}", "Accept": "application/json;odata=verbose"}
    r = requests.post(
        emulator.url + SITE + "/_api/Web/lists/GetByTitle('R')/items", headers=auth, json={"Title": "x"}
    )
    assert r.status_code == 403
    err = _sp_error(r.content)
    assert err["code"] == DIGEST_CODE
    assert err["message"]["value"].startswith("The security validation for this page is invalid")
    # contextinfo (any case) issues a digest that then works
    ci = requests.post(emulator.url + SITE + "/_api/ContextInfo", headers=auth)
    info = ci.json()["d"]["GetContextWebInformation"]
    assert info["FormDigestTimeoutSeconds"] == 1800
    assert info["WebFullUrl"] == emulator.url + SITE and info["SiteFullUrl"] == emulator.url + SITE
    assert info["LibraryVersion"].startswith("16.0.")
    r = requests.post(
        emulator.url + SITE + "/_api/Web/lists/GetByTitle('R')/items",
        headers=auth | {"X-RequestDigest": info["FormDigestValue"]},
        json={"Title": "x"},
    )
    assert r.status_code == 201


def test_expired_digest_is_recovered_by_the_client(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Risiko")
    lst.add_item({"Title": "a"}).execute_query()
    emulator.expire_digests()
    item = lst.add_item({"Title": "b"}).execute_query()
    assert item.properties["Title"] == "b"
    assert emulator.log.count("POST", "/_api/contextinfo") == 2
    assert emulator.log.count("POST", "/_api/web/lists/getbytitle('x')/items", status=403) == 1


def test_x_http_method_merge_and_delete(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Risiko")
    item = lst.add_item({"Title": "a"}).execute_query()
    item.set_property("Title", "b").update().execute_query()
    assert lst.get_item_by_id(item.id).get().execute_query().properties["Title"] == "b"
    assert emulator.log.count("MERGE") == 1
    item.delete_object().execute_query()
    assert emulator.log.count("DELETE") == 1
    assert len(lst.items.get().execute_query()) == 0


def test_malformed_requests_get_sharepoint_errors_and_server_survives(emulator, make_context):
    auth = {"Authorization": f"Bearer {emulator.token}"}
    digest = requests.post(emulator.url + SITE + "/_api/contextinfo", headers=auth).json()["d"][
        "GetContextWebInformation"
    ]["FormDigestValue"]
    hdrs = auth | {"X-RequestDigest": digest, "Content-Type": "application/json;odata=verbose"}
    # bad JSON
    r = requests.post(
        emulator.url + SITE + "/_api/Web/lists/GetByTitle('R')/items", headers=hdrs, data=b"{nope"
    )
    assert r.status_code == 400 and "Invalid JSON" in _sp_error(r.content)["message"]["value"]
    # unknown endpoint
    r = requests.get(emulator.url + SITE + "/_api/NoSuchThing", headers=auth)
    assert r.status_code in (400, 404) and _sp_error(r.content)
    # broken $batch bodies
    for ctype, body in [
        ("multipart/mixed; boundary=b1", b"--b1\nContent-Type: application/http\n\nGARBAGE"),
        ("multipart/mixed", b""),
        ("text/plain", b"hello"),
        ("multipart/mixed; boundary=b1", b"\xff\xfe--b1--"),
    ]:
        r = requests.post(
            emulator.url + SITE + "/_api/$batch", headers=hdrs | {"Content-Type": ctype}, data=body
        )
        assert r.status_code == 400, body
        assert _sp_error(r.content)["code"].startswith("-1, ")
    # garbage request lines and headers
    for raw in [
        b"GARBAGE\r\n\r\n",
        b"GET /x HTTP/9.9 extra\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\r\n\r\n",
        b"POST /sites/demo/_api/Web HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    ]:
        reply = _raw(emulator, raw)
        assert reply.startswith(b"HTTP/1.1 4"), reply[:80]
        head, _, body = reply.partition(b"\r\n\r\n")
        assert b"application/json;odata=verbose" in head
        _sp_error(body)
    # a path that is not UTF-8 after decoding
    reply = _raw(emulator, b"GET /sites/demo/_api/Web/%ff HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    # still serving
    assert make_context().web.get().execute_query().properties["Title"] == "Demo"


def test_app_exception_becomes_sharepoint_500(make_context, mini_app_class):
    class Exploding(mini_app_class):
        def handle(self, req):
            if "boom" in req.path.lower():
                raise RuntimeError("kaboom")
            return super().handle(req)

    with EmulatorServer(app=Exploding()) as server:
        r = requests.get(
            server.url + SITE + "/_api/Web/boom", headers={"Authorization": f"Bearer {server.token}"}
        )
        assert r.status_code == 500
        err = _sp_error(r.content)
        assert "kaboom" not in r.text and "Traceback" not in r.text
        assert err["code"].startswith("-2146233088")
        assert make_context(server=server).web.get().execute_query().properties["Title"] == "Demo"


def test_oversized_body_is_refused_with_413(emulator):
    auth = {"Authorization": f"Bearer {emulator.token}"}
    r = requests.post(
        emulator.url + SITE + "/_api/$batch",
        headers=auth | {"Content-Type": "multipart/mixed; boundary=b"},
        data=b"x" * (1_048_576 + 1),
    )
    assert r.status_code == 413
    assert "1048576 bytes" in _sp_error(r.content)["message"]["value"]
    # keep-alive connection still usable
    assert requests.get(emulator.url + SITE + "/_api/Web", headers=auth).status_code == 200


def test_loopback_refusal_and_token_generation(mini_app_class):
    MiniApp = mini_app_class
    with pytest.raises(EmulatorError) as info:
        EmulatorServer(host="0.0.0.0")
    assert isinstance(info.value, VeiviserError)
    assert "--allow-remote" in (info.value.hint or "")
    with pytest.raises(EmulatorError):
        EmulatorServer(host="192.168.1.10")
    a, b = EmulatorServer(app=MiniApp()), EmulatorServer(app=MiniApp())
    assert a.token and b.token and a.token != b.token
    assert EmulatorServer(token="fixed", app=MiniApp()).token == "fixed"
    EmulatorServer(host="0.0.0.0", allow_remote=True, app=MiniApp())  # allowed, not started
    EmulatorServer(host="localhost", app=MiniApp())


def test_start_stop_leaves_no_threads_or_sockets(make_context, mini_app_class):
    MiniApp = mini_app_class
    import threading

    before = {t.ident for t in threading.enumerate()}
    server = EmulatorServer(app=MiniApp()).start()
    ctx = make_context(server=server)
    ctx.web.get().execute_query()  # leaves an idle keep-alive connection open
    port = server.port
    server.stop()
    deadline = time.time() + 5
    while time.time() < deadline and {t.ident for t in threading.enumerate()} - before:
        time.sleep(0.05)
    assert not ({t.ident for t in threading.enumerate()} - before)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    server.stop()  # idempotent


def test_proxy_mode_routes_on_host(emulator):
    proxies = {"http": emulator.url}
    ctx = ClientContext("http://contoso.sharepoint.com/sites/demo").with_access_token(emulator.access_token)
    ctx.with_transport(proxies=proxies, timeout=(10, 60))
    web = ctx.web.get().execute_query()
    assert web.properties["Url"] == "http://contoso.sharepoint.com"
    lst = ctx.web.lists.get_by_title("Prosjekt Status æøå")
    lst.items.queue_records([{"Title": "æ ø å"}, {"Title": "b"}])
    ctx.execute_batch()
    assert [i.properties["Title"] for i in lst.items.get().execute_query()] == ["æ ø å", "b"]
    admin = ClientContext("http://contoso-admin.sharepoint.com").with_access_token(emulator.access_token)
    admin.with_transport(proxies=proxies, timeout=(10, 60))
    assert admin.web.get().execute_query().properties["Url"] == "http://contoso-admin.sharepoint.com"


def test_request_log_normalises_and_distinguishes_kinds():
    from veiviser.emulator.requestlog import RequestLog, normalise_endpoint

    assert normalise_endpoint(
        "/sites/a/_api/Web/Lists(guid'0b7c2f9e-1111-2222-3333-444455556666')/items(12)"
    ) == ("/_api/web/lists({guid})/items({n})")
    assert normalise_endpoint("/_api/Web/lists/GetByTitle('Prosjekt ''X''')/getItemById(3)") == (
        "/_api/web/lists/getbytitle('{s}')/getitembyid({n})"
    )
    log = RequestLog()
    log.record("batch", "POST", "/sites/a/_api/$batch", 200)
    log.record("batch-part", "POST", "/sites/a/_api/Web/lists('x')/items", 201)
    log.record("batch-part", "POST", "/sites/a/_api/Web/lists('y')/items", 429)
    log.record("request", "GET", "/_api/Web", 200)
    assert log.totals() == {"request": 1, "batch": 1, "batch-part": 2, "http": 2}
    assert log.count("POST", "/_api/web/lists('z')/items", kind="batch-part") == 2
    assert log.count(kind="batch-part", status=429) == 1
    assert log.count() == 1  # default kind: ordinary requests only
    assert log.statuses() == {200: 2, 201: 1, 429: 1}
    assert "batch-part" in log.summary()
    log.reset()
    assert log.totals()["http"] == 0


def test_connect_is_refused_with_a_clear_error(emulator):
    reply = _raw(
        emulator, b"CONNECT contoso.sharepoint.com:443 HTTP/1.1\r\nHost: contoso.sharepoint.com:443\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 405")
    assert b"http:// URLs only" in reply
