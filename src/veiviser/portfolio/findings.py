"""Analysis findings: data-quality and per-project problems the analytics report instead of crashing.

Every analytic function returns its findings next to its figures, so a report writer can show
"what could not be computed, where, and what to do" without parsing exceptions. The ``message``
and ``hint`` are English, for the command line; a report shows the Norwegian wording of the
``code`` (:func:`veiviser.portfolio.words.describe`), filled in from the place and ``details``.

:class:`AnalysisFinding` is the portfolio analytics' own record; the sync's data-quality rules have a
different one (``veiviser.sync.quality.Finding``, located by site, list and item).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from veiviser.portfolio.words import describe

FINDING_COLUMNS = ["severity", "code", "message", "frame", "project_key", "item", "field", "hint"]


@dataclass(frozen=True)
class AnalysisFinding:
    """One problem found in the input, located as precisely as the data allows."""

    severity: str  # "error" (figure not computed), "warning" (computed with a caveat), "info"
    code: str  # stable machine-readable code, e.g. "not-measurable"
    message: str
    frame: str | None = None  # input frame / list, e.g. "indicators" or "ratings.csv"
    project_key: str | None = None
    item: str | None = None  # source_key, item id or file row
    field: str | None = None
    hint: str | None = None
    #: the values the Norwegian wording of ``code`` names besides the place (``value``, ``fields``, …)
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    def described(self) -> tuple[str, str]:
        """What is wrong and what to do, in Norwegian (docs/portfolio.md, "Words")."""
        return describe(self.code, {"field": self.field, "project": self.project_key, **self.details})

    @classmethod
    def on_item(
        cls,
        frame: str,
        row: Mapping[str, Any] | pd.Series,
        code: str,
        message: str,
        *,
        field: str,
        hint: str | None = None,
        severity: str = "warning",
        **details: Any,
    ) -> AnalysisFinding:
        """A finding on one list item of ``frame``: located by the row's ``project_key`` and ``source_key``."""
        return cls(
            severity,
            code,
            message,
            frame=frame,
            project_key=row["project_key"],
            item=row["source_key"],
            field=field,
            hint=hint,
            details=details,
        )

    def __str__(self) -> str:
        where = "; ".join(
            f"{label}{value}"
            for label, value in (
                ("", self.frame),
                ("project ", self.project_key),
                ("item ", self.item),
                ("field ", self.field),
            )
            if value not in (None, "")
        )
        text = f"{self.severity}: {self.message}" + (f" ({where})" if where else "")
        return text + (f" — {self.hint}" if self.hint else "")


def is_blank(value: object) -> bool:
    """True for a rating cell with nothing in it: None, NaN or only white space."""
    return (
        value is None
        or (isinstance(value, float) and pd.isna(value))
        or (isinstance(value, str) and not value.strip())
    )


def findings_frame(findings: Iterable[AnalysisFinding]) -> pd.DataFrame:
    """The findings as a DataFrame with the fixed columns of :data:`FINDING_COLUMNS`."""
    rows = [asdict(f) for f in findings]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)
