"""``$batch`` through the real client and as raw wire text (docs/emulator.md, "$batch")."""

from __future__ import annotations

import json
from email import message_from_bytes

import pytest
import requests

from veiviser.emulator.api import ApiResponse, RestError
from veiviser.emulator.batch import build_batch_response, parse_batch

SITE = "/sites/demo"


def _digest(server) -> dict[str, str]:
    auth = {"Authorization": f"Bearer {server.token}"}
    d = requests.post(server.url + SITE + "/_api/contextinfo", headers=auth).json()
    return auth | {"X-RequestDigest": d["d"]["GetContextWebInformation"]["FormDigestValue"]}


def _parts(resp: requests.Response) -> list[tuple[int, bytes]]:
    """(status, body) per flat application/http part, checking CRLF framing like the client."""
    assert resp.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    msg = message_from_bytes(
        b"Content-Type: " + resp.headers["Content-Type"].encode() + b"\r\n\r\n" + resp.content
    )
    out = []
    for part in msg.get_payload():
        assert part.get_content_type() == "application/http"
        payload = part.get_payload(decode=True)
        head, sep, body = payload.partition(b"\r\n\r\n")
        assert sep, payload
        status_line = head.split(b"\r\n")[0].decode()
        assert status_line.startswith("HTTP/1.1 ")
        out.append((int(status_line.split()[1]), body))
    return out


def test_250_operations_split_into_100_op_batches_all_land(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Gevinster")
    lst.items.queue_records([{"Title": f"G{i:03d}"} for i in range(250)])
    ctx.execute_batch()
    titles = [i.properties["Title"] for i in lst.items.get().execute_query()]
    assert titles == [f"G{i:03d}" for i in range(250)]
    # one round for the entity-type read, then 100 + 100 + 50 creates
    assert emulator.log.count("POST", "/_api/$batch", kind="batch") == 4
    assert emulator.log.count("POST", kind="batch-part") == 250


def test_changeset_and_gets_mapped_positionally(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Risiko")
    first = lst.add_item({"Title": "one"}).execute_query()
    second = lst.add_item({"Title": "two"}).execute_query()
    first.set_property("Title", "one-updated").update()
    got_second = lst.get_item_by_id(second.id).get()
    got_first = lst.get_item_by_id(first.id).get()
    lst.items.queue_records([{"Title": "three"}])
    ctx.execute_batch()
    assert got_second.properties["Title"] == "two"
    assert got_first.properties["Title"] == "one-updated"  # writes (changeset) run before the GETs
    assert emulator.log.count("MERGE", kind="batch-part") == 1
    assert emulator.log.count("GET", kind="batch-part") == 2


def test_one_failing_part_does_not_undo_the_others(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Interessenter")
    lst.items.queue_records([{"Title": "a"}, {"Title": "bad", "Fail": 1}, {"Title": "c"}])
    with ctx.collect_batch_failures() as failures:
        ctx.execute_batch()
    assert len(failures) == 1
    assert failures[0][1].response.status_code == 400
    assert [i.properties["Title"] for i in lst.items.get().execute_query()] == ["a", "c"]


RAW_BATCH = (
    'Content-Type: multipart/mixed;\n boundary="batch_1"\n\n'
    "--batch_1\n"
    'Content-Type: multipart/mixed; boundary="changeset_9"\n\n'
    "--changeset_9\n"
    "Content-Type: application/http\n"
    "Content-Transfer-Encoding: binary\n\n"
    "POST {base}/sites/demo/_api/Web/lists/GetByTitle('Prosjekt Status æøå')/items HTTP/1.1\n"
    "Content-Type:application/json;odata=verbose\n"
    "Accept:application/json;odata=verbose\n\n\n"
    '{{"Title": "Ny rad", "__metadata": {{"type": "SP.Data.MiniListItem"}}}}\n\n'
    "--changeset_9\n"
    "Content-Type: application/http\n"
    "Content-Transfer-Encoding: binary\n\n"
    "MERGE {base}/sites/demo/_api/Web/lists/GetByTitle('Prosjekt Status æøå')/items(1) HTTP/1.1\n"
    "X-HTTP-Method:MERGE\n"
    "IF-MATCH:*\n\n\n"
    '{{"Title": "Endret"}}\n\n'
    "--changeset_9\n"
    "Content-Type: application/http\n"
    "Content-Transfer-Encoding: binary\n\n"
    "DELETE {base}/sites/demo/_api/Web/lists/GetByTitle('Prosjekt Status æøå')/items(2) HTTP/1.1\n"
    "X-HTTP-Method:DELETE\n"
    "IF-MATCH:*\n\n"
    "--changeset_9--\n\n"
    "--batch_1\n"
    "Content-Type: application/http\n"
    "Content-Transfer-Encoding: binary\n\n"
    "GET {base}/sites/demo/_api/Web/lists/GetByTitle('Prosjekt Status æøå')/items(1)?$select=Title,Id HTTP/1.1\n"
    "Accept:application/json;odata=verbose\n\n"
    "--batch_1\n"
    "Content-Type: application/http\n"
    "Content-Transfer-Encoding: binary\n\n"
    "GET {base}/sites/other/_api/Web HTTP/1.1\n\n"
    "--batch_1--\n"
)


def test_raw_dialect_lf_preamble_utf8_spaces_and_real_verbs(emulator):
    headers = _digest(emulator)
    base_list = emulator.url + SITE + "/_api/Web/lists/GetByTitle('Prosjekt Status æøå')/items"
    for title in ("one", "two"):
        r = requests.post(base_list, headers=headers, json={"Title": title})
        assert r.status_code == 201
    body = RAW_BATCH.format(base=emulator.url).encode("utf-8")
    r = requests.post(
        emulator.url + SITE + "/_api/$batch",
        data=body,
        headers=headers | {"Content-Type": "multipart/mixed; boundary=batch_1"},
    )
    assert r.status_code == 200
    assert b"\r\n--batchresponse_" in r.content and r.content.endswith(b"--\r\n")
    parts = _parts(r)
    assert [s for s, _ in parts] == [201, 204, 200, 200, 400]
    assert json.loads(parts[0][1])["d"]["Title"] == "Ny rad"
    assert parts[1][1] == b"" and parts[2][1] == b""
    assert json.loads(parts[3][1])["d"]["Title"] == "Endret"
    err = json.loads(parts[4][1])["error"]
    assert "same site" in err["message"]["value"] or "must target" in err["message"]["value"]
    rows = requests.get(base_list, headers=headers).json()["d"]["results"]
    assert [row["Title"] for row in rows] == ["Endret", "Ny rad"]


def test_parse_batch_units():
    body = RAW_BATCH.format(base="http://h:1").encode()
    ops = parse_batch(body, "multipart/mixed; boundary=batch_1", "http", "h:1")
    assert [o.method for o in ops] == ["POST", "MERGE", "DELETE", "GET", "GET"]
    assert [o.in_changeset for o in ops] == [True, True, True, False, False]
    assert ops[0].path == "/sites/demo/_api/Web/lists/GetByTitle('Prosjekt Status æøå')/items"
    assert ops[0].host == "h:1"
    assert json.loads(ops[0].body)["Title"] == "Ny rad"
    assert ops[1].headers["if-match"] == "*"
    assert ops[3].query == "$select=Title,Id"
    spaced = (
        "--b\r\nContent-Type: application/http\r\n\r\n"
        "GET http://h/sites/demo/_api/Web/lists/items?$filter=Title eq 'A b' HTTP/1.1\r\n\r\n--b--\r\n"
    )
    op = parse_batch(spaced.encode(), "multipart/mixed; boundary=b", "http", "h")[0]
    assert op.query == "$filter=Title%20eq%20'A%20b'"
    with pytest.raises(RestError) as info:
        parse_batch(
            b"--b\nContent-Type: application/http\n\nGET /x HTTP/1.1\n\n",
            "multipart/mixed; boundary=b",
            "http",
            "h",
        )
    assert info.value.status == 400 and "closing delimiter" in info.value.message
    many = "".join(
        "--b\nContent-Type: application/http\n\nGET /sites/demo/_api/Web HTTP/1.1\n\n" for _ in range(6)
    )
    with pytest.raises(RestError) as info:
        parse_batch((many + "--b--\n").encode(), "multipart/mixed; boundary=b", "http", "h", max_operations=5)
    assert "more than 5 operations" in info.value.message


def test_build_batch_response_is_flat_crlf():
    resp = build_batch_response([ApiResponse.json({"d": {"Id": 1}}, 201), ApiResponse.empty(204)])
    text = resp.body.decode()
    assert text.count("Content-Type: application/http\r\n") == 2
    assert (
        "HTTP/1.1 201 Created\r\nCONTENT-TYPE: application/json;odata=verbose;charset=utf-8\r\n\r\n" in text
    )
    assert "HTTP/1.1 204 No Content\r\n\r\n\r\n--batchresponse_" in text


def test_expired_digest_on_a_batch_is_recovered(emulator, make_context):
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Risiko")
    lst.get().execute_query()
    emulator.expire_digests()
    lst.items.queue_records([{"Title": "a"}, {"Title": "b"}])
    ctx.execute_batch()
    assert [i.properties["Title"] for i in lst.items.get().execute_query()] == ["a", "b"]
    assert emulator.log.count("POST", "/_api/$batch", kind="batch", status=403) == 1
