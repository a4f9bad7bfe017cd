"""``veiviser report --hub``: the synced portfolio (history store + hub) to the three reports.

This orchestration sits above both packages it joins: :mod:`veiviser.sync.dataset` loads the
dataset, :mod:`veiviser.portfolio.reports` writes the reports, and neither imports the other.
"""

from __future__ import annotations

from typing import Any

from veiviser.portfolio.reports import ReportPaths, write_reports
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sync.dataset import load_dataset


def report_from_hub(
    hub: str,
    out_dir: str,
    *,
    state: str | None = None,
    since: object | None = None,
    as_of: Any = None,
    settings: ConnectionSettings | None = None,
) -> ReportPaths:
    """Load the synced dataset and write the HTML, Excel and Power BI reports into ``out_dir``.

    ``since`` defaults to 30 days before ``as_of`` (see
    :func:`~veiviser.portfolio.reports.write_reports`).
    """
    dataset = load_dataset(state, hub, as_of=as_of, settings=settings)
    return write_reports(dataset, out_dir, since=since)


__all__ = ["report_from_hub"]
