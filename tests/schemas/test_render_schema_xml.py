"""``render_schema_xml`` on its own: the exact text, every attribute flag, and its errors."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from veiviser.schemas.template import FieldDef, render_schema_xml

FIXED = uuid.UUID("12345678-1234-5678-1234-567812345678")


def test_simple_text_field_exact_text() -> None:
    f = FieldDef(name="GtX", display_name="X", type="Text", id=FIXED)
    assert render_schema_xml(f) == (
        '<Field ID="{12345678-1234-5678-1234-567812345678}" Name="GtX" StaticName="GtX" '
        'DisplayName="X" Type="Text" Required="FALSE" />'
    )


def test_derived_id_is_stable() -> None:
    a = ET.fromstring(render_schema_xml(FieldDef(name="GtX", display_name="X", type="Text")))
    b = ET.fromstring(render_schema_xml(FieldDef(name="GtX", display_name="Y", type="Note")))
    assert a.get("ID") == b.get("ID")


def test_flags() -> None:
    f = FieldDef.model_validate(
        {
            "name": "GtFlag",
            "display_name": "Flag",
            "type": "Choice",
            "description": "Om <noe> & mer",
            "required": True,
            "indexed": True,
            "unique": True,
            "hidden": True,
            "read_only": True,
            "show_in_new_form": False,
            "show_in_edit_form": False,
            "fill_in": True,
            "format": "RadioButtons",
            "choices": ["A", "B"],
            "default": "A",
        }
    )
    el = ET.fromstring(render_schema_xml(f))
    assert dict(el.attrib) == {
        "ID": "{" + str(f.field_id) + "}",
        "Name": "GtFlag",
        "StaticName": "GtFlag",
        "DisplayName": "Flag",
        "Type": "Choice",
        "Description": "Om <noe> & mer",
        "Required": "TRUE",
        "Indexed": "TRUE",
        "EnforceUniqueValues": "TRUE",
        "Hidden": "TRUE",
        "ShowInNewForm": "FALSE",
        "ShowInEditForm": "FALSE",
        "ReadOnly": "TRUE",
        "FillInChoice": "TRUE",
        "Format": "RadioButtons",
    }
    assert el.findtext("Default") == "A"
    assert [c.text for c in el.iter("CHOICE")] == ["A", "B"]


def test_number_attributes() -> None:
    f = FieldDef(
        name="GtPct",
        display_name="P",
        type="Number",
        min=0,
        max=1.5,
        decimals=2,
        percentage=True,
        default=0.25,
    )
    el = ET.fromstring(render_schema_xml(f))
    assert (el.get("Min"), el.get("Max"), el.get("Decimals"), el.get("Percentage")) == (
        "0",
        "1.5",
        "2",
        "TRUE",
    )
    assert el.findtext("Default") == "0.25"


def test_text_length_and_taxonomy_types() -> None:
    el = ET.fromstring(render_schema_xml(FieldDef(name="GtT", display_name="T", type="Text", max_length=40)))
    assert el.get("MaxLength") == "40"
    tax = ET.fromstring(render_schema_xml(FieldDef(name="GtTx", display_name="Tx", type="Taxonomy")))
    assert tax.get("Type") == "TaxonomyFieldType" and tax.get("Mult") is None
    multi = ET.fromstring(render_schema_xml(FieldDef(name="GtTm", display_name="Tm", type="TaxonomyMulti")))
    assert multi.get("Type") == "TaxonomyFieldTypeMulti" and multi.get("Mult") == "TRUE"


def test_lookup_with_list_id_and_delete_behaviour() -> None:
    f = FieldDef(
        name="GtL",
        display_name="L",
        type="Lookup",
        lookup_list="benefits",
        relationship_delete_behavior="Restrict",
        indexed=True,
    )
    placeholder = ET.fromstring(render_schema_xml(f))
    assert placeholder.get("List") == "{listid:benefits}" and placeholder.get("ShowField") == "Title"
    el = ET.fromstring(render_schema_xml(f, list_id="{ABC}"))
    assert el.get("List") == "{ABC}" and el.get("RelationshipDeleteBehavior") == "Restrict"


def test_projected_lookup_needs_the_parent_id() -> None:
    f = FieldDef(
        name="GtL_ID",
        display_name="L:ID",
        type="Lookup",
        lookup_list="x",
        projected_from="GtL",
        show_field="ID",
    )
    with pytest.raises(ValueError, match="parent lookup"):
        render_schema_xml(f)
    el = ET.fromstring(render_schema_xml(f, list_id="L1", parent_id=FIXED))
    assert el.get("FieldRef") == "{" + str(FIXED) + "}" and el.get("ReadOnly") == "TRUE"
    assert el.get("ShowField") == "ID" and el.get("RelationshipDeleteBehavior") is None
