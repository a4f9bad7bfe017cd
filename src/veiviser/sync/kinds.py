"""The source kinds the sync reads from every project site (prosjektveiviseren-model.md section 4).

Each kind is one project-site list; its rows land in one central list on the hub and in the
history store under the kind's name (``risks``, ``stakeholders``, ... — the names the portfolio
analytics use for their input frames).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceKind:
    """One project-site list the sync reads."""

    name: str  # kind: history store and analytics frame name
    list_title: str  # nb-NO title on the project site
    list_url: str  # site-relative URL (ASCII; SharePoint drops å/ø)
    fields: tuple[str, ...]  # internal names copied to the central list (besides Title)
    lookups: tuple[tuple[str, str], ...] = ()  # (lookup field, target kind) resolved to source keys
    people: tuple[str, ...] = ()  # User fields


KINDS: dict[str, SourceKind] = {
    "risks": SourceKind(
        name="risks",
        list_title="Usikkerhet",
        list_url="Lists/Usikkerhet",
        fields=(
            "GtRiskDescription",
            "GtProjectPhase",
            "GtRiskProximity",
            "GtRiskAction",
            "GtRiskStrategy",
            "GtActionResponsible",
            "GtRiskProbability",
            "GtRiskConsequence",
            "GtRiskFactor",
            "GtRiskProbabilityPostAction",
            "GtRiskConsequencePostAction",
            "GtRiskFactorPostAction",
            "GtRiskStatus",
            "GtShowInPortfolio",
        ),
        people=("GtActionResponsible",),
    ),
    "stakeholders": SourceKind(
        name="stakeholders",
        list_title="Interessentregister",
        list_url="Lists/Interessentregister",
        fields=(
            "GtStakeholderGroup",
            "GtStakeholderContext",
            "GtStakeholderStrategy",
            "GtStakeholderInterest",
            "GtStakeholderInfluence",
            "GtStakeholderInfluencePossibilty",
            "GtStakeholderActions",
        ),
    ),
    "benefits": SourceKind(
        name="benefits",
        list_title="Gevinstanalyse og gevinstrealiseringsplan",
        list_url="Lists/Gevinstanalyse og gevinstrealiseringsplan",
        fields=(
            "GtGainsType",
            "GtPrereqProfitAchievement",
            "GtGainsTurnover",
            "GtGainsResponsible",
            "GtGainsOwner",
            "GtRealizationTime",
            "GtShowInPortfolio",
        ),
        people=("GtGainsResponsible", "GtGainsOwner"),
    ),
    "indicators": SourceKind(
        name="indicators",
        list_title="Måleindikatorer",
        list_url="Lists/Mleindikatorer",
        fields=("GtStartValue", "GtDesiredValue", "GtMeasurementUnit", "GtGainLookup"),
        lookups=(("GtGainLookup", "benefits"),),
    ),
    "measurements": SourceKind(
        name="measurements",
        list_title="Gevinstoppfølging",
        list_url="Lists/Gevinstoppflging",
        fields=(
            "GtMeasurementDate",
            "GtMeasurementValue",
            "GtMeasurementComment",
            "GtMeasureIndicatorLookup",
        ),
        lookups=(("GtMeasureIndicatorLookup", "indicators"),),
    ),
}

#: The hidden project property list (one item, ID 1), reconciled into the hub's ``Prosjekter``.
PROPERTIES_LIST_TITLE = "Prosjektegenskaper"
PROPERTIES_LIST_URL = "Lists/Prosjektegenskaper"
PROJECTS_LIST_TITLE = "Prosjekter"

#: Content type id prefixes in Usikkerhet (section 3): risks vs opportunities.
RISK_CT_PREFIX = "0x0100A87AE71CBF2643A6BC9D0948BD2EE89701"
OPPORTUNITY_CT_PREFIX = "0x0100A87AE71CBF2643A6BC9D0948BD2EE89702"


def risk_content_type(content_type_id: str | None) -> str | None:
    """«Risiko» / «Mulighet» from a Usikkerhet item's ContentTypeId (None when neither)."""
    if not content_type_id:
        return None
    upper = content_type_id.upper()
    if upper.startswith(RISK_CT_PREFIX.upper()):
        return "Risiko"
    if upper.startswith(OPPORTUNITY_CT_PREFIX.upper()):
        return "Mulighet"
    return None


def source_key(site_id: str, list_id: str, item_id: int) -> str:
    """The portfolio-wide key of a source row: ``<siteId>:<listId>:<itemId>`` (lower-case GUIDs)."""
    return f"{site_id.lower()}:{list_id.lower()}:{int(item_id)}"
