"""``ProjectSpec``: one validated project to provision, as read from a municipality's spreadsheet."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from veiviser.schemas.aliases import validate_alias
from veiviser.schemas.parsing import PHASES

DEFAULT_PHASES: tuple[str, ...] = PHASES
"""The terms of the PP365 term set «Fase» in sort order (``docs/data-model.md``, "Phases").
Only a fallback: callers pass the phase list of the template they provision."""

LIFECYCLE_STATUSES: tuple[str, ...] = ("Aktivt", "Avventer", "Avsluttet")
"""Choices of ``GtProjectLifecycleStatus`` on the hub list «Prosjekter» (``docs/data-model.md``)."""

# Deliberately simple: a user principal name / mail address, not full RFC 5322.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)

AliasSource = Literal["explicit", "derived", "existing"]


class SourceLocation(BaseModel):
    """Where a row came from: file, 1-based line (CSV) or row (spreadsheet), and sheet if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    line: int = Field(ge=1)
    sheet: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}[{self.sheet}]" if self.sheet else self.file
        return f"{where}:{self.line}"


class ProjectSpec(BaseModel):
    """A project site to provision: identity (title, alias), people, phase, unit and yearly costs.

    ``operating_costs`` maps a year to the operating cost in NOK thousands as an exact ``Decimal``.
    ``section`` is the section row the project stood under (e.g. «Pågående prosjekter»);
    ``lifecycle_status`` is one of :data:`LIFECYCLE_STATUSES`, from a Status column or the section.
    ``extra`` keeps the values of columns veiviser does not map, by header.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=255)
    alias: str
    alias_source: AliasSource = "derived"
    owner: str | None = None
    leader: str | None = None
    phase: str | None = None
    unit: str | None = None
    service_area: str | None = None
    start_year: int | None = Field(default=None, ge=1900, le=2100)
    lifecycle_status: Literal["Aktivt", "Avventer", "Avsluttet"] | None = None
    section: str | None = None
    operating_costs: dict[int, Decimal] = Field(default_factory=dict)
    comment: str | None = None
    extra: dict[str, str] = Field(default_factory=dict)
    source: SourceLocation | None = None

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the title is empty")
        return value

    @field_validator("alias")
    @classmethod
    def _alias_valid(cls, value: str) -> str:
        return validate_alias(value)

    @field_validator("owner", "leader")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not EMAIL_RE.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("operating_costs")
    @classmethod
    def _cost_years(cls, value: dict[int, Decimal]) -> dict[int, Decimal]:
        for year in value:
            if not 1900 <= year <= 2100:
                raise ValueError(f"cost year {year} is outside 1900-2100")
        return value
