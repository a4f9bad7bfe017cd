"""The names of lists and fields veiviser's code refers to, as enums (a typo fails at import).

:class:`F` holds the internal names of the template's ``Gt…`` fields; every member must exist in
the standard templates (``tests/schemas/test_catalog.py`` checks this), so code that branches on a
field says ``F.RISK_PROBABILITY`` instead of a hand-typed ``"GtRiskProbability"``. :class:`Kind`
names the row kinds the sync and the analytics share. What the template says *about* each field
(type, lookups, people, numbers) lives in :mod:`veiviser.schemas.catalog`; see
``docs/data-model.md``, "The field catalogue".
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """Row kinds: one project-site list each, plus the project properties and the hub register."""

    RISKS = "risks"
    STAKEHOLDERS = "stakeholders"
    BENEFITS = "benefits"
    INDICATORS = "indicators"
    MEASUREMENTS = "measurements"
    PROPERTIES = "properties"
    PROJECTS = "projects"


#: The kinds the sync reads from every project site, lookup targets first.
SOURCE_KIND_NAMES: tuple[Kind, ...] = (
    Kind.RISKS,
    Kind.STAKEHOLDERS,
    Kind.BENEFITS,
    Kind.INDICATORS,
    Kind.MEASUREMENTS,
)


def central_list_key(kind: str) -> str:
    """The key of the hub list a source kind is copied into (``portfolio_<kind>``)."""
    return f"portfolio_{kind}"


def lookup_id_column(field: str) -> str:
    """The REST column holding a lookup's (or person's) target item id: ``<field>Id``."""
    return f"{field}Id"


class F(StrEnum):
    """Internal names of the template's ``Gt…`` fields (project site lists first, then the hub).

    Names follow the internal name without ``Gt`` in upper snake case; PP365's own spelling is kept
    (``STAKEHOLDER_INFLUENCE_POSSIBILTY``). Projected lookup columns are ``…_PROJECTED_…``.
    """

    RISK_DESCRIPTION = "GtRiskDescription"
    PROJECT_PHASE = "GtProjectPhase"
    RISK_PROXIMITY = "GtRiskProximity"
    RISK_ACTION = "GtRiskAction"
    RISK_STRATEGY = "GtRiskStrategy"
    ACTION_RESPONSIBLE = "GtActionResponsible"
    RISK_PROBABILITY = "GtRiskProbability"
    RISK_CONSEQUENCE = "GtRiskConsequence"
    RISK_FACTOR = "GtRiskFactor"
    RISK_PROBABILITY_POST_ACTION = "GtRiskProbabilityPostAction"
    RISK_CONSEQUENCE_POST_ACTION = "GtRiskConsequencePostAction"
    RISK_FACTOR_POST_ACTION = "GtRiskFactorPostAction"
    RISK_STATUS = "GtRiskStatus"
    SHOW_IN_PORTFOLIO = "GtShowInPortfolio"
    STAKEHOLDER_GROUP = "GtStakeholderGroup"
    STAKEHOLDER_CONTEXT = "GtStakeholderContext"
    STAKEHOLDER_STRATEGY = "GtStakeholderStrategy"
    STAKEHOLDER_INTEREST = "GtStakeholderInterest"
    STAKEHOLDER_INFLUENCE = "GtStakeholderInfluence"
    STAKEHOLDER_INFLUENCE_POSSIBILTY = "GtStakeholderInfluencePossibilty"
    STAKEHOLDER_ACTIONS = "GtStakeholderActions"
    PROCESS = "GtProcess"
    CHALLENGE_DESCRIPTION = "GtChallengeDescription"
    GAINS_TYPE = "GtGainsType"
    GAINS_GOAL = "GtGainsGoal"  # optional: the goal the benefit serves
    PREREQ_PROFIT_ACHIEVEMENT = "GtPrereqProfitAchievement"
    GAINS_TURNOVER = "GtGainsTurnover"
    GAINS_RESPONSIBLE = "GtGainsResponsible"
    GAINS_OWNER = "GtGainsOwner"
    REALIZATION_TIME = "GtRealizationTime"
    CHANGE_LOOKUP = "GtChangeLookup"
    START_VALUE = "GtStartValue"
    DESIRED_VALUE = "GtDesiredValue"
    MEASUREMENT_UNIT = "GtMeasurementUnit"
    GAIN_LOOKUP = "GtGainLookup"
    GAIN_LOOKUP_PROJECTED_ID = "GtGainLookup_ID"
    MEASUREMENT_DATE = "GtMeasurementDate"
    MEASUREMENT_VALUE = "GtMeasurementValue"
    MEASUREMENT_COMMENT = "GtMeasurementComment"
    MEASURE_INDICATOR_LOOKUP = "GtMeasureIndicatorLookup"
    MEASURE_INDICATOR_LOOKUP_PROJECTED_ID = "GtMeasureIndicatorLookup_ID"
    MEASURE_INDICATOR_LOOKUP_PROJECTED_DESIRED_VALUE = "GtMeasureIndicatorLookup_GtDesiredValue"
    ACTION_STATUS = "GtActionStatus"
    ACTION_CHANNEL = "GtActionChannel"
    ACTION_DATE = "GtActionDate"
    ACTION_COMMENT = "GtActionComment"
    COMMUNICATION_TARGET = "GtCommunicationTarget"
    DELIVERY_DESCRIPTION = "GtDeliveryDescription"
    DELIVERY_START_TIME = "GtDeliveryStartTime"
    DELIVERY_END_TIME = "GtDeliveryEndTime"
    DELIVERY_QUALITY_EXPECTATIONS = "GtDeliveryQualityExpectations"
    DELIVERY_ACCEPTANCE_CRITERIA = "GtDeliveryAcceptanceCriteria"
    DELIVERY_QUALITY_TOLERANCE = "GtDeliveryQualityTolerance"
    DELIVERY_QUALITY_RESPONSIBLE = "GtDeliveryQualityResponsible"
    DELIVERY_ACCEPTANCE_METHOD = "GtDeliveryAcceptanceMethod"
    DELIVERY_ACCEPTANCE_RESPONSIBLE = "GtDeliveryAcceptanceResponsible"
    DELIVERY_ACCEPTANCE_DATE = "GtDeliveryAcceptanceDate"
    DELIVERY_STATUS = "GtDeliveryStatus"
    DELIVERY_STATUS_COMMENT = "GtDeliveryStatusComment"
    TAG = "GtTag"
    DELIVERY_STAKEHOLDERS = "GtDeliveryStakeholders"
    PROJECT_LOG_TYPE = "GtProjectLogType"
    PROJECT_LOG_REPORTER = "GtProjectLogReporter"
    PROJECT_LOG_DESCRIPTION = "GtProjectLogDescription"
    PROJECT_LOG_RESPONSIBLE = "GtProjectLogResponsible"
    PROJECT_LOG_CONSEQUENCE = "GtProjectLogConsequence"
    PROJECT_LOG_RECOMMENDATION = "GtProjectLogRecommendation"
    PROJECT_LOG_EXPERIENCE = "GtProjectLogExperience"
    PROJECT_LOG_ACTORS = "GtProjectLogActors"
    PROJECT_LOG_PRODUCT_LOOKUP = "GtProjectLogProductLookup"
    CHECKLIST_STATUS = "GtChecklistStatus"
    COMMENT = "GtComment"
    SORT_ORDER = "GtSortOrder"
    DOCUMENT_TYPE = "GtDocumentType"
    RESOURCE_USER = "GtResourceUser"
    RESOURCE_ROLE = "GtResourceRole"
    START_DATE = "GtStartDate"
    END_DATE = "GtEndDate"
    RESOURCE_LOAD = "GtResourceLoad"
    ALLOCATION_STATUS = "GtAllocationStatus"
    ALLOCATION_COMMENT = "GtAllocationComment"
    PROJECT_FINANCE_NAME = "GtProjectFinanceName"
    PROJECT_NUMBER = "GtProjectNumber"
    ARCHIVE_REFERENCE = "GtArchiveReference"
    PROJECT_SERVICE_AREA = "GtProjectServiceArea"
    PROJECT_TYPE = "GtProjectType"
    PROJECT_MANAGER = "GtProjectManager"
    PROJECT_OWNER = "GtProjectOwner"
    PROJECT_SUPPORT = "GtProjectSupport"
    PROJECT_GOALS = "GtProjectGoals"
    GROUP_ID = "GtGroupId"
    SITE_ID = "GtSiteId"
    SITE_URL = "GtSiteUrl"
    LAST_SYNC_TIME = "GtLastSyncTime"
    PROJECT_LIFECYCLE_STATUS = "GtProjectLifecycleStatus"
    PROJECT_PHASE_TEXT = "GtProjectPhaseText"
    PROJECT_SERVICE_AREA_TEXT = "GtProjectServiceAreaText"
    PROJECT_TYPE_TEXT = "GtProjectTypeText"
    UN_SUST_DEV_GOALS_TEXT = "GtUNSustDevGoalsText"
    PROJECT_ADMIN_ROLES = "GtProjectAdminRoles"
    PROJECT_TEMPLATE = "GtProjectTemplate"
    PROJECT_EXTENSIONS = "GtProjectExtensions"
    PROJECT_LIST_CONTENT = "GtProjectListContent"
    PARENT_PROJECTS = "GtParentProjects"
    CHILD_PROJECTS = "GtChildProjects"
    IS_PARENT_PROJECT = "GtIsParentProject"
    IS_PROGRAM = "GtIsProgram"
    INSTALLED_VERSION = "GtInstalledVersion"
    CURRENT_VERSION = "GtCurrentVersion"
    PROJECT_UNIT = "GtProjectUnit"
    START_YEAR = "GtStartYear"
    TEMPLATE_VERSION = "GtTemplateVersion"
    ITPOSMO_INFORMATION = "GtItposmoInformation"
    ITPOSMO_TECHNOLOGY = "GtItposmoTechnology"
    ITPOSMO_PROCESSES = "GtItposmoProcesses"
    ITPOSMO_OBJECTIVES = "GtItposmoObjectives"
    ITPOSMO_STAFFING = "GtItposmoStaffing"
    ITPOSMO_MANAGEMENT = "GtItposmoManagement"
    ITPOSMO_OTHER_RESOURCES = "GtItposmoOtherResources"
    ITPOSMO_TOTAL = "GtItposmoTotal"
    OVERALL_STATUS = "GtOverallStatus"
    BUDGET_TOTAL = "GtBudgetTotal"
    COSTS_TOTAL = "GtCostsTotal"
    PROJECT_FORECAST = "GtProjectForecast"
    BUDGET_LAST_REPORT_DATE = "GtBudgetLastReportDate"
    STATUS_TIME = "GtStatusTime"
    STATUS_TIME_COMMENT = "GtStatusTimeComment"
    STATUS_BUDGET = "GtStatusBudget"
    STATUS_BUDGET_COMMENT = "GtStatusBudgetComment"
    STATUS_QUALITY = "GtStatusQuality"
    STATUS_QUALITY_COMMENT = "GtStatusQualityComment"
    STATUS_RISK = "GtStatusRisk"
    STATUS_RISK_COMMENT = "GtStatusRiskComment"
    STATUS_OPPORTUNITIES = "GtStatusOpportunities"
    STATUS_OPPORTUNITIES_COMMENT = "GtStatusOpportunitiesComment"
    STATUS_GAIN_ACHIEVEMENT = "GtStatusGainAchievement"
    STATUS_GAIN_ACHIEVEMENT_COMMENT = "GtStatusGainAchievementComment"
    MODERATION_STATUS = "GtModerationStatus"
    LAST_REPORT_DATE = "GtLastReportDate"
    PROJECT_TITLE = "GtProjectTitle"
    COST_YEAR = "GtCostYear"
    OPERATING_COST = "GtOperatingCost"
    COST_COMMENT = "GtCostComment"
    COST_KEY = "GtCostKey"
    CRITERION_KEY = "GtCriterionKey"
    CRITERION_WEIGHT = "GtCriterionWeight"
    CRITERION_DIRECTION = "GtCriterionDirection"
    SCALE_MAX = "GtScaleMax"
    CRITERION_DESCRIPTION = "GtCriterionDescription"
    PRIORITY_RATING = "GtPriorityRating"
    RATING_COMMENT = "GtRatingComment"
    RATING_KEY = "GtRatingKey"
    SOURCE_LIST_ID = "GtSourceListId"
    SOURCE_ITEM_ID = "GtSourceItemId"
    SOURCE_KEY = "GtSourceKey"
    SOURCE_MODIFIED = "GtSourceModified"
    UNCERTAINTY_TYPE = "GtUncertaintyType"
    CHANGE_KEYS = "GtChangeKeys"
    CHANGE_TITLES = "GtChangeTitles"
    GAIN_KEY = "GtGainKey"
    GAIN_TITLE = "GtGainTitle"
    INDICATOR_KEY = "GtIndicatorKey"
    INDICATOR_TITLE = "GtIndicatorTitle"


class OtherHubField(StrEnum):
    """Central-list column names that hubs not built from the standard template may use.

    The sync fills them when a hub has them (see :func:`veiviser.sync.rows.central_values`); the
    standard hub template uses the :class:`F` names instead.
    """

    SOURCE_SITE_ID = "GtSourceSiteId"
    PROJECT_URL = "GtProjectUrl"
    PROJECT_NAME = "GtProjectName"
    BENEFIT_KEY = "GtBenefitKey"
    GAIN_SOURCE_KEY = "GtGainSourceKey"
    MEASURE_INDICATOR_SOURCE_KEY = "GtMeasureIndicatorSourceKey"
    RISK_TYPE = "GtRiskType"
    CONTENT_TYPE_NAME = "GtContentTypeName"
