"""SchemaXml rendering for CreateFieldAsXml and CAML view queries."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from veiviser.schemas.template import FieldDef, ListDef, ViewDef, render_view_query
from veiviser.schemas.template_loader import load_template


def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)


def test_number_with_min_max_and_default() -> None:
    f = FieldDef(
        name="GtRiskProbability",
        display_name="Sannsynlighet (S)",
        type="Number",
        min=0,
        max=5,
        decimals=0,
        default=2,
    )
    el = parse(f.schema_xml())
    assert el.attrib["Name"] == el.attrib["StaticName"] == "GtRiskProbability"
    assert (el.attrib["Type"], el.attrib["Min"], el.attrib["Max"], el.attrib["Decimals"]) == (
        "Number",
        "0",
        "5",
        "0",
    )
    assert el.attrib["Required"] == "FALSE"
    assert el.findtext("Default") == "2"
    assert (
        el.attrib["ID"]
        == "{" + str(uuid.uuid5(uuid.UUID("6f1c1c52-4a0e-4f43-9c55-4d1f3f0e2a11"), "GtRiskProbability")) + "}"
    )


def test_escaping_of_attributes_choices_and_default() -> None:
    f = FieldDef(
        name="GtOdd",
        display_name='A & B <"C">',
        type="Choice",
        required=True,
        indexed=True,
        format="Dropdown",
        choices=["x < y", "R&D", 'say "hi"'],
        default="R&D",
        fill_in=True,
    )
    xml = f.schema_xml()
    assert "&amp;" in xml and "&lt;" in xml and "&quot;" in xml
    el = parse(xml)
    assert el.attrib["DisplayName"] == 'A & B <"C">'
    assert [c.text for c in el.iter("CHOICE")] == ["x < y", "R&D", 'say "hi"']
    assert el.findtext("Default") == "R&D"
    assert (el.attrib["Required"], el.attrib["Indexed"], el.attrib["FillInChoice"], el.attrib["Format"]) == (
        "TRUE",
        "TRUE",
        "TRUE",
        "Dropdown",
    )


def test_calculated_field() -> None:
    f = FieldDef(
        name="GtRiskFactor",
        display_name="Risikofaktor",
        type="Calculated",
        formula='=IF(GtA>2,"<høy>",GtB)',
        result_type="Text",
    )
    el = parse(f.schema_xml())
    assert el.attrib["ResultType"] == "Text"
    assert el.findtext("Formula") == '=IF(GtA>2,"<høy>",GtB)'
    assert [r.attrib["Name"] for r in el.find("FieldRefs")] == ["GtA", "GtB"]


def test_lookup_list_placeholder_and_projected_field() -> None:
    project = load_template("standard")
    meas = project.get_list("measurements")
    el = parse(meas.schema_xml("GtMeasureIndicatorLookup"))
    assert el.attrib["List"] == "{listid:indicators}" and el.attrib["ShowField"] == "Title"
    assert el.attrib["ID"] == "{92ae8541-f35e-4c05-8518-b9abce2d0860}"
    list_id = "3f2b8f0e-1111-2222-3333-444455556666"
    el = parse(meas.schema_xml("GtMeasureIndicatorLookup_GtDesiredValue", list_ids={"indicators": list_id}))
    assert el.attrib["List"] == "{" + list_id + "}"
    assert el.attrib["FieldRef"] == "{92ae8541-f35e-4c05-8518-b9abce2d0860}"
    assert (el.attrib["ShowField"], el.attrib["ReadOnly"], el.attrib["Type"]) == (
        "GtDesiredValue",
        "TRUE",
        "Lookup",
    )
    multi = parse(project.get_list("benefits").schema_xml("GtChangeLookup"))
    assert (multi.attrib["Type"], multi.attrib["Mult"], multi.attrib["RelationshipDeleteBehavior"]) == (
        "LookupMulti",
        "TRUE",
        "None",
    )
    with pytest.raises(ValueError, match="parent lookup"):
        meas.field("GtMeasureIndicatorLookup_ID").schema_xml()


def test_user_note_datetime_boolean_currency_and_forms() -> None:
    assert (
        'UserSelectionMode="PeopleOnly"'
        in FieldDef(name="GtU", display_name="U", type="User", format="PeopleOnly").schema_xml()
    )
    el = parse(FieldDef(name="GtUs", display_name="Us", type="UserMulti").schema_xml())
    assert (el.attrib["Mult"], el.attrib["UserSelectionMode"]) == ("TRUE", "PeopleAndGroups")
    el = parse(
        FieldDef(name="GtN", display_name="N", type="Note", rich_text=True, number_of_lines=6).schema_xml()
    )
    assert (el.attrib["RichText"], el.attrib["RichTextMode"], el.attrib["NumLines"]) == (
        "TRUE",
        "FullHtml",
        "6",
    )
    el = parse(
        FieldDef(
            name="GtD", display_name="D", type="DateTime", format="DateOnly", default="[today]"
        ).schema_xml()
    )
    assert (el.attrib["Format"], el.findtext("Default")) == ("DateOnly", "[today]")
    assert (
        parse(FieldDef(name="GtB", display_name="B", type="Boolean", default=False).schema_xml()).findtext(
            "Default"
        )
        == "0"
    )
    el = parse(FieldDef(name="GtC", display_name="C", type="Currency", lcid=1044, decimals=0).schema_xml())
    assert (el.attrib["LCID"], el.attrib["Decimals"]) == ("1044", "0")
    el = parse(
        FieldDef(
            name="GtK",
            display_name="K",
            type="Text",
            indexed=True,
            unique=True,
            max_length=255,
            show_in_new_form=False,
            show_in_edit_form=False,
        ).schema_xml()
    )
    assert (
        el.attrib["EnforceUniqueValues"],
        el.attrib["MaxLength"],
        el.attrib["ShowInNewForm"],
        el.attrib["ShowInEditForm"],
    ) == ("TRUE", "255", "FALSE", "FALSE")


def test_every_standard_field_renders_parseable_xml() -> None:
    for kind in ("project", "hub"):
        t = load_template("standard", kind=kind)
        for lst in t.lists:
            for f in lst.fields:
                el = parse(lst.schema_xml(f.name))
                assert el.attrib["Name"] == f.name
                if f.type.value in ("Choice", "MultiChoice"):
                    assert [c.text for c in el.iter("CHOICE")] == f.choices
            for v in lst.views:
                ET.fromstring("<Query>" + lst.view_query(v.title) + "</Query>")


def test_view_query_raw_and_structured() -> None:
    lst = ListDef(
        key="x", title="X", url="Lists/X", fields=[FieldDef(name="GtFlag", display_name="F", type="Boolean")]
    )
    raw = ViewDef(
        title="Raw",
        fields=["ID"],
        query="<Where><Eq><FieldRef Name='ID'/><Value Type='Counter'>1</Value></Eq></Where>",
    )
    assert render_view_query(raw, lst) == raw.query
    view = ViewDef(title="S", fields=["ID"], filters=[{"field": "GtFlag", "value": True}], order_by=["ID"])
    assert render_view_query(view, lst) == (
        '<Where><Eq><FieldRef Name="GtFlag" /><Value Type="Boolean">1</Value></Eq></Where>'
        '<OrderBy><FieldRef Name="ID" Ascending="TRUE" /></OrderBy>'
    )
