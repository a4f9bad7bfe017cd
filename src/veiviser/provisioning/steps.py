"""The plan's vocabulary: rounds, :class:`Step`, :class:`Drift`, :class:`DataItem` and :class:`Plan`.

A :class:`Plan` is data: the ordered steps for one site and the drift it reports. It serialises to
JSON (``to_dict``/``to_json``); :mod:`veiviser.cli_output` prints it as tables; :mod:`veiviser.provisioning.plan` makes
plans and :mod:`veiviser.provisioning.apply` runs them (docs/provisioning.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

ROUND_CREATE = 1
ROUND_CONTENT = 2
ROUND_STAMP = 3
"""Version stamps: applied only when every step of rounds 1 and 2 succeeded."""


@dataclass(frozen=True)
class Step:
    """One additive change; ``data`` holds what the apply engine needs to build the REST call."""

    action: str
    round: int
    list: str | None
    target: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        where = f"{self.list}: " if self.list else ""
        return f"{self.action} {where}{self.target}"


@dataclass(frozen=True)
class Drift:
    """A difference the engine reports but does not change."""

    list: str | None
    target: str
    message: str


@dataclass(frozen=True)
class DataItem:
    """Site data to upsert into a list: matched on ``match`` (field → value), or the list's only item when ``None``.

    ``create_only`` values are written when the item is created and never changed afterwards.
    ``stamp`` values (the template version) are written in the last round, only after a clean
    apply, so a site is never stamped with a version whose steps failed.
    """

    list_key: str
    values: Mapping[str, Any]
    match: Mapping[str, Any] | None = None
    create_only: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    stamp: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """The steps and drift for one site; serialises to JSON (the CLI renders it as tables)."""

    site: str
    template: str
    steps: list[Step] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to write."""
        return not self.steps

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step in self.steps:
            out[step.action] = out.get(step.action, 0) + 1
        return out

    def summary(self) -> str:
        if self.empty:
            text = "up to date"
        else:
            text = ", ".join(f"{n} {action.replace('_', ' ')}" for action, n in self.counts().items())
        if self.drift:
            text += f"; {len(self.drift)} drift"
        return text

    def short_summary(self) -> str:
        """One line for a table row: ``"511 steps on 12 lists; 1 drift"``."""
        if self.empty:
            text = "up to date"
        else:
            lists = {s.list for s in self.steps if s.list}
            text = f"{len(self.steps)} steps" + (f" on {len(lists)} lists" if lists else "")
        if self.drift:
            text += f"; {len(self.drift)} drift"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "template": self.template,
            "summary": self.summary(),
            "steps": [{k: v for k, v in asdict(s).items() if k != "data"} for s in self.steps],
            "drift": [asdict(d) for d in self.drift],
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)
