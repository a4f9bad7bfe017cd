"""Records the sync and analytics pass around: one project, risk, stakeholder, benefit, indicator, measurement.

Attribute names are English; aliases are the SharePoint internal names (``GtRiskProbability``), so a
record validates straight from an item's JSON and dumps back with ``model_dump(by_alias=True)``.
Parsing is tolerant of what SharePoint and Prosjektportalen 365 actually return: numbers as
strings, the phase as a Choice string or a taxonomy value (``{"Label": …}`` or ``"-1;#Label|guid"``),
lookups as ``{"Id":…, "Title":…}`` or ``<Name>Id``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field


def source_key(site_id: str, list_id: str, item_id: int | str) -> str:
    """The central lists' key column ``GtSourceKey``: ``<siteId>:<listId>:<itemId>`` (GUIDs lower-case, no braces)."""
    return f"{_guid(site_id)}:{_guid(list_id)}:{int(item_id)}"


def _guid(value: str) -> str:
    return str(value).strip().strip("{}").lower()


def _to_number(value: Any) -> Any:
    """``"4"``, ``"4,5"``, ``"1 151,5"`` and ``""`` → 4.0, 4.5, 1151.5 and None."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.replace("\u00a0", "").replace(" ", "").strip()
        if not text:
            return None
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        return float(text)
    return value


def _to_phase(value: Any) -> Any:
    """A phase from a Choice string or a PP365 taxonomy value, as its label."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        label = value.get("Label") or value.get("label") or value.get("TermLabel")
        return str(label) if label else None
    if isinstance(value, str):
        text = value
        if ";#" in text:
            text = text.split(";#", 1)[1]
        if "|" in text:
            text = text.split("|", 1)[0]
        return text.strip() or None
    return value


def _to_text(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, dict):  # person/lookup expanded: {"Title": …} or {"Label": …}
        for key in ("Title", "Label", "Name", "Email", "LookupValue"):
            if value.get(key):
                return str(value[key])
        return None
    return str(value) if isinstance(value, int | float) else value


def _to_bool(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "ja", "yes")
    return value


def _to_int(value: Any) -> Any:
    if isinstance(value, dict):
        value = value.get("Id", value.get("ID", value.get("LookupId")))
    if value in (None, "", 0, "0"):
        return None
    return int(float(value)) if isinstance(value, str | float) else value


def _to_keys(value: Any) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


Number = Annotated[float | None, BeforeValidator(_to_number)]
Phase = Annotated[str | None, BeforeValidator(_to_phase)]
Text = Annotated[str | None, BeforeValidator(_to_text)]
Flag = Annotated[bool | None, BeforeValidator(_to_bool)]
LookupId = Annotated[int | None, BeforeValidator(_to_int)]


class SourceRecord(BaseModel):
    """Fields every record from a project site carries: which site, list and item it came from."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    site_id: str = Field(alias="GtSiteId")
    list_id: str = Field(alias="GtSourceListId")
    item_id: int = Field(
        validation_alias=AliasChoices("GtSourceItemId", "Id", "ID"), serialization_alias="GtSourceItemId"
    )
    title: Text = Field(None, alias="Title")
    modified: datetime | None = Field(
        None,
        validation_alias=AliasChoices("GtSourceModified", "Modified"),
        serialization_alias="GtSourceModified",
    )
    project_title: Text = Field(None, alias="GtProjectTitle")
    project_url: Text = Field(None, alias="GtSiteUrl")
    project_phase: Phase = Field(None, alias="GtProjectPhaseText")

    @property
    def source_key(self) -> str:
        """``<siteId>:<listId>:<itemId>``, the central lists' ``GtSourceKey``."""
        return source_key(self.site_id, self.list_id, self.item_id)


class ProjectRecord(BaseModel):
    """A project's properties (Prosjektegenskaper item 1 / hub Prosjekter item)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    site_id: str = Field(alias="GtSiteId")
    title: Text = Field(None, alias="Title")
    site_url: Text = Field(None, alias="GtSiteUrl")
    group_id: Text = Field(None, alias="GtGroupId")
    phase: Phase = Field(
        None,
        validation_alias=AliasChoices("GtProjectPhase", "GtProjectPhaseText"),
        serialization_alias="GtProjectPhase",
    )
    project_number: Text = Field(None, alias="GtProjectNumber")
    manager: Text = Field(None, alias="GtProjectManager")
    owner: Text = Field(None, alias="GtProjectOwner")
    service_area: Text = Field(
        None,
        validation_alias=AliasChoices("GtProjectServiceAreaText", "GtProjectServiceArea"),
        serialization_alias="GtProjectServiceAreaText",
    )
    unit: Text = Field(None, alias="GtProjectUnit")
    start_year: Number = Field(None, alias="GtStartYear")
    start_date: date | None = Field(None, alias="GtStartDate")
    end_date: date | None = Field(None, alias="GtEndDate")
    lifecycle_status: Text = Field(None, alias="GtProjectLifecycleStatus")
    template_version: Text = Field(None, alias="GtTemplateVersion")


class RiskRecord(SourceRecord):
    """A risk or opportunity from Usikkerhet; ``kind`` is the content type (Risiko / Mulighet)."""

    kind: Text = Field(
        None,
        validation_alias=AliasChoices("GtUncertaintyType", "ContentType"),
        serialization_alias="GtUncertaintyType",
    )
    description: Text = Field(None, alias="GtRiskDescription")
    phase: Phase = Field(None, alias="GtProjectPhase")
    proximity: Text = Field(None, alias="GtRiskProximity")
    action: Text = Field(None, alias="GtRiskAction")
    strategy: Text = Field(None, alias="GtRiskStrategy")
    probability: Number = Field(None, alias="GtRiskProbability")
    consequence: Number = Field(None, alias="GtRiskConsequence")
    probability_post_action: Number = Field(None, alias="GtRiskProbabilityPostAction")
    consequence_post_action: Number = Field(None, alias="GtRiskConsequencePostAction")
    status: Text = Field(None, alias="GtRiskStatus")
    show_in_portfolio: Flag = Field(None, alias="GtShowInPortfolio")

    @property
    def factor(self) -> float | None:
        """S × K, or None when either is missing or 0 ("not assessed")."""
        if not self.probability or not self.consequence:
            return None
        return self.probability * self.consequence


class StakeholderRecord(SourceRecord):
    group: Text = Field(None, alias="GtStakeholderGroup")
    context: Text = Field(None, alias="GtStakeholderContext")
    strategy: Text = Field(None, alias="GtStakeholderStrategy")
    interest: Text = Field(None, alias="GtStakeholderInterest")
    influence: Text = Field(None, alias="GtStakeholderInfluence")
    influence_possibility: Text = Field(
        None, alias="GtStakeholderInfluencePossibilty"
    )  # misspelt as in PP365
    actions: Text = Field(None, alias="GtStakeholderActions")


class BenefitRecord(SourceRecord):
    gains_type: Text = Field(None, alias="GtGainsType")
    prerequisites: Text = Field(None, alias="GtPrereqProfitAchievement")
    turnover: Text = Field(None, alias="GtGainsTurnover")
    responsible: Text = Field(None, alias="GtGainsResponsible")
    owner: Text = Field(None, alias="GtGainsOwner")
    realization_time: date | None = Field(None, alias="GtRealizationTime")
    show_in_portfolio: Flag = Field(None, alias="GtShowInPortfolio")
    change_keys: Annotated[list[str], BeforeValidator(_to_keys)] = Field(
        default_factory=list, alias="GtChangeKeys"
    )


class IndicatorRecord(SourceRecord):
    start_value: Number = Field(None, alias="GtStartValue")
    desired_value: Number = Field(None, alias="GtDesiredValue")
    unit: Text = Field(None, alias="GtMeasurementUnit")
    benefit_item_id: LookupId = Field(
        None,
        validation_alias=AliasChoices("GtGainLookupId", "GtGainLookup"),
        serialization_alias="GtGainLookupId",
    )
    benefit_key: Text = Field(None, alias="GtGainKey")
    benefit_title: Text = Field(None, alias="GtGainTitle")


class MeasurementRecord(SourceRecord):
    date: datetime | None = Field(None, alias="GtMeasurementDate")
    value: Number = Field(None, alias="GtMeasurementValue")
    comment: Text = Field(None, alias="GtMeasurementComment")
    indicator_item_id: LookupId = Field(
        None,
        validation_alias=AliasChoices("GtMeasureIndicatorLookupId", "GtMeasureIndicatorLookup"),
        serialization_alias="GtMeasureIndicatorLookupId",
    )
    indicator_key: Text = Field(None, alias="GtIndicatorKey")
    indicator_title: Text = Field(None, alias="GtIndicatorTitle")
    benefit_key: Text = Field(None, alias="GtGainKey")
    benefit_title: Text = Field(None, alias="GtGainTitle")
