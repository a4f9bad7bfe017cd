"""office365-rest-python-client's own SharePoint tests, unmodified, against the emulator.

Set ``VEIVISER_UPSTREAM_TESTS`` to an export of the client's ``tests/`` folder (e.g.
``git -C <mirror> archive <commit> tests | tar -x -C /tmp/o365-upstream``); without it this test
is skipped. The subset is described in docs/emulator.md, "Upstream fidelity tests" (see
``upstream_runner.SUBSET``); every selected
test must pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.upstream.upstream_runner import SUBSET, run_upstream, select

TESTS_DIR = os.environ.get("VEIVISER_UPSTREAM_TESTS", "")

pytestmark = pytest.mark.skipif(
    not TESTS_DIR,
    reason="VEIVISER_UPSTREAM_TESTS is not set: point it at an export of office365-rest-python-client's "
    "tests/ folder to run the client's own SharePoint tests against the emulator.",
)


def test_upstream_subset_passes_against_the_emulator():
    tests_dir = Path(TESTS_DIR)
    ids = select(tests_dir)
    result = run_upstream(tests_dir, ids)
    assert set(result.outcomes) == set(ids), (
        f"{len(ids) - len(result.outcomes)} selected tests produced no outcome:\n{result.output[-4000:]}"
    )
    assert result.failures() == [], "\n".join(result.failures())
    per_file = result.per_file()
    assert set(per_file) == set(SUBSET)
    assert result.count("passed") == len(ids)
