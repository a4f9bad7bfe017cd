"""``veiviser provision bulk`` killed with SIGKILL at seeded random moments (issue 10 §4).

An emulator process (``veiviser emulator serve --data FILE``) holds the tenant; the bulk command
runs as a subprocess and is killed at ten seeded moments, then run again to the end. Afterwards
every row has exactly one complete site (a further run finds nothing to do) and exactly one
register item, and no second site was made for any row. The bulk journal and the idempotent
provisioner are what make this hold (docs/provisioning.md, "the bulk journal").
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint import connect

pytestmark = pytest.mark.slow

VEIVISER = str(Path(sys.executable).with_name("veiviser"))
TOKEN = "chaos-token"
SEED = 20261207
KILLS = 10
ROWS = ["Legevakt", "Digisos", "Sosialsystem", "Barnehageopptak"]
OWNER = "eier@kommune.no"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            VEIVISER,
            "emulator",
            "serve",
            "--port",
            "0",
            "--data",
            str(tmp_path / "tenant.sqlite"),
            "--token",
            TOKEN,
            "--latency-ms",
            "20",  # a run lasts long enough to be killed inside it on a fast machine too
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert m, line
        yield m.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _env(url: str) -> dict[str, str]:
    return dict(
        os.environ,
        VEIVISER_AUTH="token",
        VEIVISER_ACCESS_TOKEN=TOKEN,
        VEIVISER_ADMIN_URL=url,
        VEIVISER_ORG="Testkommune",
        VEIVISER_RU_PER_MINUTE="1e9",
        COLUMNS="200",
    )


def _bulk(hub: str, csv: Path, state: Path) -> list[str]:
    return [
        VEIVISER,
        "provision",
        "bulk",
        "--hub",
        hub,
        "--owner",
        OWNER,
        "--state-dir",
        str(state),
        str(csv),
    ]


def test_bulk_killed_ten_times_leaves_one_complete_site_per_row(emulator, tmp_path):
    hub = f"{emulator}/sites/portefolje"
    env = _env(emulator)
    done = subprocess.run(
        [VEIVISER, "provision", "hub", "--url", hub, "--owner", OWNER],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    csv = tmp_path / "prosjekter.csv"
    csv.write_text("Tittel\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    state = tmp_path / "journal"
    state.mkdir()

    rng = random.Random(SEED)
    killed = 0
    killed_stderr: list[str] = []
    rows = list(ROWS)
    for i in range(KILLS):
        # One more project per run, so every run has a site to create when it is killed.
        rows.append(f"Prosjekt {i + 1}")
        csv.write_text("Tittel\n" + "\n".join(rows) + "\n", encoding="utf-8")
        proc = subprocess.Popen(
            _bulk(hub, csv, state), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(rng.uniform(0.8, 3.0))  # after the imports, somewhere in the run
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        killed_stderr.append(proc.communicate()[1])
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} runs were still running when killed"

    final = subprocess.run(_bulk(hub, csv, state), env=env, capture_output=True, text=True)
    journal = "".join(f.read_text(errors="replace")[:2000] for f in state.glob("*"))
    assert final.returncode == 0, (
        f"exit {final.returncode}\nstdout:\n{final.stdout}\nstderr:\n{final.stderr}\njournal:\n{journal}\n"
        f"stderr of the killed runs:\n{killed_stderr[-3:]}"
    )
    fresh = tmp_path / "fresh-journal"  # no journal to trust: every site is read and planned again
    fresh.mkdir()
    again = subprocess.run(_bulk(hub, csv, fresh), env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    for title in rows:  # a full plan of every site finds nothing left to do
        row = next((line for line in again.stdout.splitlines() if f" {title} " in line), "")
        assert "up to date" in row, (title, again.stdout)

    settings = ConnectionSettings(auth="token", access_token=TOKEN, admin_url=emulator)  # type: ignore[call-arg]
    register = list(connect(hub, settings).iter_items("Prosjekter", select=["Title", "GtSiteUrl"]))
    titles = Counter(r["Title"] for r in register)
    assert titles == Counter(rows), f"register: {titles}"
    urls = [str(r["GtSiteUrl"]).rstrip("/").lower() for r in register]
    assert len(set(urls)) == len(rows), urls
    assert not any(re.search(r"-[0-9a-f]{4,}$", u) for u in urls), urls  # no hash-suffixed second site
