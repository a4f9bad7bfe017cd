"""The HTTP layer over the real object model: persistence across restarts and the CLI ``serve``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation

from veiviser.emulator.server import EmulatorServer

VEIVISER = str(Path(sys.executable).with_name("veiviser"))


def _ctx(server: EmulatorServer) -> ClientContext:
    return ClientContext(server.url).with_access_token(server.access_token).with_transport(timeout=(10, 60))


def test_state_survives_a_restart_with_the_same_data_file(tmp_path):
    db = str(tmp_path / "emulator.sqlite")
    with EmulatorServer(data=db) as server:
        ctx = _ctx(server)
        lst = ctx.web.lists.add(ListCreationInformation("Usikkerheter", None, 100)).execute_query()
        lst.items.queue_records([{"Title": f"U{i}"} for i in range(3)])
        ctx.execute_batch()
    with EmulatorServer(data=db) as server:
        items = _ctx(server).web.lists.get_by_title("Usikkerheter").items.get().execute_query()
        assert [i.properties["Title"] for i in items] == ["U0", "U1", "U2"]


def test_cli_serve_prints_exact_first_line_and_stops_on_sigint(tmp_path):
    db = str(tmp_path / "cli.sqlite")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [VEIVISER, "emulator", "serve", "--port", "0", "--data", db, "--token", "tok-123"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline().rstrip("\n")
        m = re.fullmatch(r"Emulator listening on http://127\.0\.0\.1:(\d+) \(token: tok-123\)", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = f"http://127.0.0.1:{m.group(1)}"
        assert requests.get(url + "/_api/Web", headers={"Authorization": "Bearer tok-123"}).status_code == 200
        assert requests.get(url + "/_api/Web").status_code == 401
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_remote_bind_without_flag():
    proc = subprocess.run(
        [VEIVISER, "emulator", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert "Refusing to bind" in proc.stderr and "--allow-remote" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_sigterm_stops_cleanly(tmp_path):
    proc = subprocess.Popen(
        [VEIVISER, "emulator", "serve", "--data", str(tmp_path / "t.sqlite")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("Emulator listening on http://127.0.0.1:")
        time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
