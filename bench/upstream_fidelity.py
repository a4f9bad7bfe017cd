"""Print per-file pass/fail of office365-rest-python-client's own SharePoint tests against the emulator.

Usage::

    python bench/upstream_fidelity.py /tmp/o365-upstream/tests            # the subset in upstream_runner.SUBSET
    python bench/upstream_fidelity.py /tmp/o365-upstream/tests --full     # every test in those files
    python bench/upstream_fidelity.py /tmp/o365-upstream/tests --full test_web.py test_folder.py

The tests folder is an export of the client's ``tests/`` with its ``office365/`` package of the same
commit beside it (not part of this repository);
``VEIVISER_UPSTREAM_TESTS`` is used when no path is given.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.*

from tests.upstream.upstream_runner import KNOWN_FAILING, SUBSET, run_upstream, select


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "tests",
        nargs="?",
        default=os.environ.get("VEIVISER_UPSTREAM_TESTS", ""),
        help="path of the client's tests/ folder",
    )
    parser.add_argument("--full", action="store_true", help="run every test of the files, not the subset")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="list each failing test with its message"
    )
    parser.add_argument("files", nargs="*", help="test files (default: the subset's files)")
    args = parser.parse_args(argv)
    if not args.tests or not Path(args.tests, "sharepoint").is_dir():
        parser.error("give the path of the client's tests/ folder (or set VEIVISER_UPSTREAM_TESTS)")
    files = args.files or list(SUBSET)
    subset = {f: (None if args.full else SUBSET.get(f)) for f in files}
    tests_dir = Path(args.tests)
    ids = select(tests_dir, subset)
    result = run_upstream(tests_dir, ids)
    per_file = result.per_file()
    print(f"{'file':<28} {'selected':>8} {'passed':>7} {'failed':>7} {'error':>6} {'skipped':>8}")
    totals = [0, 0, 0, 0, 0]
    for name in files:
        selected = sum(1 for i in ids if i.split("::")[0].endswith("/" + name))
        counts = per_file.get(name, {})
        row = [
            selected,
            counts.get("passed", 0),
            counts.get("failed", 0),
            counts.get("error", 0),
            counts.get("skipped", 0),
        ]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        print(f"{name:<28} {row[0]:>8} {row[1]:>7} {row[2]:>7} {row[3]:>6} {row[4]:>8}")
    print(f"{'total':<28} {totals[0]:>8} {totals[1]:>7} {totals[2]:>7} {totals[3]:>6} {totals[4]:>8}")
    if totals[0]:
        scope = "every test of the files" if args.full else "the in-scope subset"
        print(f"{totals[1]} of {totals[0]} passed ({totals[1] / totals[0]:.1%}) in {scope}")
    if args.verbose:
        for line in result.failures():
            name = line.split(": ", 1)[0].rsplit("::", 1)[-1]
            print("  " + line + (f"  [known: {KNOWN_FAILING[name]}]" if name in KNOWN_FAILING else ""))
    return 0 if totals[1] == totals[0] else 1


if __name__ == "__main__":
    raise SystemExit(main())
