"""The field catalogue and the name enums agree with the standard templates."""

from __future__ import annotations

from veiviser.schemas.catalog import catalogue
from veiviser.schemas.names import SOURCE_KIND_NAMES, F, Kind, OtherHubField, central_list_key
from veiviser.schemas.parsing import PHASES
from veiviser.schemas.template import FieldType
from veiviser.schemas.template_loader import load_bundle


def test_every_field_name_exists_in_the_templates() -> None:
    names = catalogue().field_names()
    missing = [member.name for member in F if member.value not in names]
    assert missing == []


def test_every_gt_field_of_the_templates_has_a_name() -> None:
    gt_names = {n for n in catalogue().field_names() if n.startswith("Gt")}
    assert gt_names == {member.value for member in F}


def test_other_hub_names_are_not_template_fields() -> None:
    names = catalogue().field_names()
    assert [m.value for m in OtherHubField if m.value in names] == []


def test_source_kinds_are_project_lists_with_a_central_list() -> None:
    cat = catalogue()
    assert [lst.key for lst in cat.source_kinds] == list(SOURCE_KIND_NAMES)
    for kind in SOURCE_KIND_NAMES:
        central = cat.central(kind)
        assert central.key == central_list_key(kind)
        central_names = set(central.names())
        copied = [f.name for f in cat.source(kind).synced_fields if not f.is_lookup]
        assert [n for n in copied if n not in central_names] == []
    assert cat.central(Kind.PROJECTS).title == "Prosjekter"
    assert cat.source(Kind.PROPERTIES).url == "Lists/Prosjektegenskaper"


def test_synced_fields_leave_out_multi_and_projected_lookups() -> None:
    cat = catalogue()
    assert F.CHANGE_LOOKUP not in cat.source(Kind.BENEFITS).names(lambda f: f.synced)
    indicators = cat.source(Kind.INDICATORS)
    assert indicators.names(lambda f: f.synced) == (
        F.START_VALUE,
        F.DESIRED_VALUE,
        F.MEASUREMENT_UNIT,
        F.GAIN_LOOKUP,
    )
    assert indicators.field(F.GAIN_LOOKUP).lookup_list == Kind.BENEFITS
    assert indicators.field(F.GAIN_LOOKUP_PROJECTED_ID).projected


def test_field_kinds() -> None:
    risks = catalogue().source(Kind.RISKS)
    assert risks.field(F.RISK_FACTOR).type == FieldType.CALCULATED and risks.field(F.RISK_FACTOR).is_number
    assert risks.field(F.ACTION_RESPONSIBLE).is_person
    assert risks.field(F.PROJECT_PHASE).phase and not risks.field(F.PROJECT_PHASE).is_text
    assert risks.field(F.SHOW_IN_PORTFOLIO).is_boolean
    assert catalogue().source(Kind.MEASUREMENTS).field(F.MEASUREMENT_DATE).is_date


def test_phase_choices_in_the_templates_are_the_phases() -> None:
    bundle = load_bundle("standard")
    for template in (bundle.project, bundle.hub):
        for lst in template.lists:
            if lst.has_field(F.PROJECT_PHASE):
                assert tuple(lst.field(F.PROJECT_PHASE).choices) == PHASES, lst.key


def test_risk_content_types_exist() -> None:
    cat = catalogue()
    assert cat.content_type_id("Risiko").startswith(cat.content_type_id("Usikkerhet"))
    assert cat.content_type_id("Mulighet").startswith(cat.content_type_id("Usikkerhet"))
