"""Replay of recorded SharePoint Online answers (PnP Core SDK's MockData) against the emulator.

Each file in ``recordings/`` (made by ``make_recordings.py``; origin inside each) holds a request
reconstructed from the SDK's test and the answer SPO gave. The replay runs them in order on one
site, in the recording's own dialect (``nometadata``, or verbose for change logs), and compares the
status, the error code and message, and the recorded keys with the kinds of their values (string,
number, boolean, array, object; a recorded ``null`` accepts any kind). Every recording that differs
must be listed in :data:`ACCEPTED` with its reason, and every listed one must still differ: the
table is kept in docs/emulator.md, "Conformance".
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.schema_check import recording
from tests.conformance.spo import MINIMAL, NOMETADATA, VERBOSE, Rest, new_site
from veiviser.emulator.server import EmulatorServer

RECORDINGS = Path(__file__).resolve().parent / "recordings"
ACCEPT = {"nometadata": NOMETADATA, "verbose": VERBOSE, "minimalmetadata": MINIMAL}

# Recordings where the emulator knowingly differs from SPO, and why (docs/emulator.md, "Conformance").
# None today: every recording matches.
ACCEPTED: dict[str, str] = {}


def load() -> list[dict[str, Any]]:
    rows = [json.loads(p.read_text(encoding="utf-8")) for p in RECORDINGS.glob("*.json")]
    return sorted(rows, key=lambda r: r["order"])


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_diff(recorded: Any, got: Any, where: str, out: list[str]) -> None:
    """Differences in keys and value kinds between a recorded answer and the emulator's."""
    if recorded is None:
        return
    if kind(recorded) != kind(got):
        out.append(f"{where}: {kind(got)}, recorded {kind(recorded)}")
        return
    if isinstance(recorded, dict):
        for key, value in recorded.items():
            if key == "__metadata":
                if (got.get("__metadata") or {}).get("type") != value.get("type"):
                    out.append(f"{where}.__metadata.type: {got.get('__metadata')}, recorded {value}")
                continue
            if key not in got:
                out.append(f"{where}.{key}: missing")
            else:
                shape_diff(value, got[key], f"{where}.{key}", out)
    elif isinstance(recorded, list) and recorded:
        if not got:
            out.append(f"{where}: empty, recorded {len(recorded)} element(s)")
        else:
            shape_diff(recorded[0], got[0], f"{where}[0]", out)


class Replay:
    """The state a replay run keeps: the sites, and what earlier answers told."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.sites = {"main": new_site(server), "second": new_site(server), "root": Rest(server, "")}
        self.next_link = ""
        # the person the recorded tests name in their person values, known to their tenant
        server.add_user("bert.jansen@bertonline.onmicrosoft.com", "Bert Jansen")

    def fill(self, text: str, rest: Rest) -> str:
        def repl(m: re.Match[str]) -> str:
            name, _, arg = m.group(1).partition(":")
            if name == "list_id":
                return "{" + rest.ok("GET", f"/_api/web/lists/getbytitle('{arg}')?$select=Id")["Id"] + "}"
            if name == "list_url":
                d = rest.ok(
                    "GET", f"/_api/web/lists/getbytitle('{arg}')/RootFolder?$select=ServerRelativeUrl"
                )
                return str(d["ServerRelativeUrl"])
            if name == "hub_id":
                return str(self.sites["main"].ok("GET", "/_api/site?$select=Id")["Id"])
            if name == "root_url":
                return str(self.server.url)
            if name == "next":
                return self.next_link
            return m.group(0)

        return re.sub(r"\{(list_id:[^}]*|list_url:[^}]*|hub_id|root_url|next)\}", repl, text)

    def prepare(self, rec: dict[str, Any], rest: Rest) -> None:
        """Data the recorded test had made by calls the replay does not compare."""
        if rec["name"] == "items-page-1":
            entity = rest.ok("GET", "/_api/web/lists/getbytitle('RESTListItemPaging')")[
                "ListItemEntityTypeFullName"
            ]
            for n in range(10):
                rest.ok(
                    "POST",
                    "/_api/web/lists/getbytitle('RESTListItemPaging')/items",
                    {"__metadata": {"type": entity}, "Title": f"Item {n}"},
                )
        match = re.search(
            r"getbytitle\('([^']*)'\)/items\((\d+)\)/ValidateUpdateListItem", rec["request"]["path"]
        )
        if match or rec["name"].startswith("items-special") or rec["name"] == "items-expand-date":
            title = (
                match.group(1)
                if match
                else re.search(r"getbytitle\('([^']*)'\)", rec["request"]["path"]).group(1)
            )  # type: ignore[union-attr]
            if not rest.ok("GET", f"/_api/web/lists/getbytitle('{title}')/items?$select=Id")["results"]:
                entity = rest.ok("GET", f"/_api/web/lists/getbytitle('{title}')")[
                    "ListItemEntityTypeFullName"
                ]
                rest.ok(
                    "POST",
                    f"/_api/web/lists/getbytitle('{title}')/items",
                    {"__metadata": {"type": entity}, "Title": "Item1"},
                )

    def send(self, rec: dict[str, Any]) -> tuple[int, Any]:
        rest = self.sites[rec["site"]]
        self.prepare(rec, rest)
        req = rec["request"]
        path = self.fill(req["path"], rest)
        body = json.loads(self.fill(json.dumps(req["body"]), rest)) if req.get("body") is not None else None
        accept = ACCEPT[rec["dialect"]]
        if req.get("batch"):
            return self._batch(rest, req["method"], path, body, accept)
        r = rest.call(req["method"], path, body, accept=accept)
        return r.status_code, (r.json() if r.content else None)

    def _batch(self, rest: Rest, method: str, path: str, body: Any, accept: str) -> tuple[int, Any]:
        url = rest.base + path
        if method == "GET":
            payload = (
                f"--batch_r\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                f"GET {url} HTTP/1.1\r\nAccept: {accept}\r\n\r\n--batch_r--\r\n"
            )
        else:
            verb, extra = (
                ("POST", "") if method == "POST" else ("POST", f"X-HTTP-Method: {method}\r\nIF-MATCH: *\r\n")
            )
            payload = (
                "--batch_r\r\nContent-Type: multipart/mixed; boundary=changeset_c\r\n\r\n"
                "--changeset_c\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                f"{verb} {url} HTTP/1.1\r\nAccept: {accept}\r\nContent-Type: application/json;odata=verbose\r\n"
                f"{extra}\r\n{json.dumps(body)}\r\n--changeset_c--\r\n--batch_r--\r\n"
            )
        r = rest.call(
            "POST",
            "/_api/$batch",
            raw=payload.encode(),
            headers={"Content-Type": "multipart/mixed; boundary=batch_r"},
        )
        assert r.status_code == 200, r.text[:300]
        part = r.text.split("--batchresponse_")[1].replace("\r\n", "\n")
        status = int(re.search(r"HTTP/1\.1 (\d{3})", part).group(1))  # type: ignore[union-attr]
        text = part.split("\n\n", 2)[2].strip() if part.count("\n\n") >= 2 else ""
        return status, (json.loads(text) if text else None)


def compare(rec: dict[str, Any], status: int, got: Any, site_url: str) -> list[str]:
    out: list[str] = []
    if status != rec["status"]:
        out.append(f"status {status}, recorded {rec['status']}")
    if "error" in rec:
        err = (got or {}).get("odata.error") or (got or {}).get("error") or {}
        code = err.get("code")
        message = (err.get("message") or {}).get("value")
        if code != rec["error"]["code"]:
            out.append(f"error code {code!r}, recorded {rec['error']['code']!r}")
        if message != rec["error"]["message"].replace("{site_url}", site_url):
            out.append(f"error message {message!r}, recorded {rec['error']['message']!r}")
        return out
    recorded = rec.get("body")
    if recorded is None:
        return out
    if rec["dialect"] == "verbose":
        rows = (got or {}).get("d", {}).get("results", [])
        want = recorded["results"][0] if recorded["results"] else None
        if want is not None:
            same = [r for r in rows if (r.get("__metadata") or {}).get("type") == want["__metadata"]["type"]]
            if not same:
                types = sorted({(r.get("__metadata") or {}).get("type") for r in rows})
                out.append(f"no {want['__metadata']['type']} among {types}")
            else:
                shape_diff(want, same[0], "d.results[?]", out)
        return out
    shape_diff(recorded, got, "answer", out)
    return out


ROWS = load()


@pytest.fixture(scope="module")
def replay_run() -> tuple[dict[str, list[str]], list[str]]:
    """Replay every recording in order on a fresh emulator; the differences by recording name.
    The emulator's verbose answers are checked against $metadata meanwhile (schema_check)."""
    differences: dict[str, list[str]] = {}
    with EmulatorServer() as server, recording() as recorder:
        replay = Replay(server)
        for rec in ROWS:
            status, got = replay.send(rec)
            if rec["name"] == "items-page-1" and isinstance(got, dict):
                replay.next_link = str(got.get("odata.nextLink", ""))
            differences[rec["name"]] = compare(rec, status, got, replay.sites[rec["site"]].base)
    return differences, recorder.problems


@pytest.fixture
def replayed(replay_run) -> dict[str, list[str]]:
    return replay_run[0]


def test_replayed_verbose_answers_conform_to_metadata(replay_run):
    problems = replay_run[1]
    assert problems == [], "\n".join(problems[:20])


def test_recordings_are_sixty_or_more_with_their_origin():
    assert len(ROWS) >= 60
    for rec in ROWS:
        assert rec["origin"]["repository"] == "pnp/pnpcore" and len(rec["origin"]["commit"]) == 40
        assert rec["origin"]["path"].endswith(".response.json")
    assert set(ACCEPTED) <= {r["name"] for r in ROWS}


def test_replay_summary(replayed, capsys):
    """Reports N replayed, M matching, and each accepted difference with its reason."""
    matching = [n for n, d in replayed.items() if not d]
    with capsys.disabled():
        print(f"\nreplayed {len(replayed)} recorded SPO answers, {len(matching)} matching")
        for name, found in replayed.items():
            if found:
                print(f"  {name}: {'; '.join(found)[:300]}  [{ACCEPTED.get(name, 'NOT ACCEPTED')}]")
    assert len(replayed) == len(ROWS) >= 60


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(r["name"], marks=pytest.mark.xfail(strict=True, reason=ACCEPTED[r["name"]]))
        if r["name"] in ACCEPTED
        else r["name"]
        for r in ROWS
    ],
)
def test_recorded_answer_matches(replayed, name):
    assert replayed[name] == []
