"""Field types: creation from REST bodies and schema XML, calculated formulas, ``SchemaXml``.

Checking the values written to fields is in ``values.py``.
"""

from __future__ import annotations

import ast
import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from .api import RestError
from .naming import entity_property_name, field_internal_name

# TypeAsString -> (FieldTypeKind, __metadata.type)
TYPES: dict[str, tuple[int, str]] = {
    "Integer": (1, "SP.FieldNumber"),
    "Text": (2, "SP.FieldText"),
    "Note": (3, "SP.FieldMultiLineText"),
    "DateTime": (4, "SP.FieldDateTime"),
    "Counter": (5, "SP.Field"),
    "Choice": (6, "SP.FieldChoice"),
    "Lookup": (7, "SP.FieldLookup"),
    "LookupMulti": (7, "SP.FieldLookup"),
    "Boolean": (8, "SP.Field"),
    "Number": (9, "SP.FieldNumber"),
    "Currency": (10, "SP.FieldCurrency"),
    "URL": (11, "SP.FieldUrl"),
    "Computed": (12, "SP.FieldComputed"),
    "Guid": (14, "SP.FieldGuid"),
    "MultiChoice": (15, "SP.FieldMultiChoice"),
    "Calculated": (17, "SP.FieldCalculated"),
    "Attachments": (19, "SP.Field"),
    "User": (20, "SP.FieldUser"),
    "UserMulti": (20, "SP.FieldUser"),
    "ContentTypeId": (25, "SP.Field"),
    "TaxonomyFieldType": (0, "SP.Taxonomy.TaxonomyField"),
    "TaxonomyFieldTypeMulti": (0, "SP.Taxonomy.TaxonomyField"),
}
KIND_TO_TYPE = {
    1: "Integer",
    2: "Text",
    3: "Note",
    4: "DateTime",
    6: "Choice",
    7: "Lookup",
    8: "Boolean",
    9: "Number",
    10: "Currency",
    11: "URL",
    12: "Computed",
    14: "Guid",
    15: "MultiChoice",
    17: "Calculated",
    20: "User",
}
METADATA_TO_TYPE = {
    "SP.FieldText": "Text",
    "SP.FieldMultiLineText": "Note",
    "SP.FieldNumber": "Number",
    "SP.FieldCurrency": "Currency",
    "SP.FieldDateTime": "DateTime",
    "SP.FieldChoice": "Choice",
    "SP.FieldMultiChoice": "MultiChoice",
    "SP.FieldLookup": "Lookup",
    "SP.FieldUser": "User",
    "SP.FieldCalculated": "Calculated",
    "SP.FieldUrl": "URL",
    "SP.FieldGuid": "Guid",
    "SP.FieldComputed": "Computed",
    "SP.Taxonomy.TaxonomyField": "TaxonomyFieldType",
}

VALIDATION = "-2146232832, Microsoft.SharePoint.SPFieldValidationException"
BAD_QUERY = "-1, Microsoft.SharePoint.Client.InvalidClientQueryException"
ARGUMENT = "-2147024809, System.ArgumentException"

# Properties a client may set on a field (MERGE / typed POST); anything else is rejected.
SETTABLE = {
    "Title",
    "Description",
    "Required",
    "Indexed",
    "Hidden",
    "DefaultValue",
    "Group",
    "Choices",
    "FillInChoice",
    "MinimumValue",
    "MaximumValue",
    "Formula",
    "OutputType",
    "EnforceUniqueValues",
    "ValidationFormula",
    "ValidationMessage",
    "StaticName",
    "ReadOnlyField",
    "MaxLength",
    "NumberOfLines",
    "RichText",
    "DisplayFormat",
    "AllowMultipleValues",
    "SelectionMode",
    "LookupList",
    "LookupField",
    "FieldTypeKind",
    "JSLink",
    "EditFormat",
    "CurrencyLocaleId",
    "DateTimeCalendarType",
    "FriendlyDisplayFormat",
    "ShowInFiltersPane",
    "ClientSideComponentId",
    "CustomFormatter",
    "TermSetId",
    "SspId",
    "IsDependentLookup",
    "PrimaryFieldId",
    "UnlimitedLengthInDocumentLibrary",
    "AppendOnly",
    "AllowHyperlink",
    "RestrictedMode",
    "ShowAsPercentage",
    "SelectionGroup",
    "DefaultFormula",
    "Direction",
    "Filterable",
    "Sortable",
    "Indexable",
}


def new_field(
    type_as_string: str, title: str, internal_name: str | None = None, **props: Any
) -> dict[str, Any]:
    """A field dict with the properties SP.Field* carries."""
    if type_as_string not in TYPES:
        raise RestError(400, ARGUMENT, f"Field type '{type_as_string}' is not supported.")
    name = internal_name or field_internal_name(title)
    fid = props.pop("Id", None) or str(uuid.uuid4())
    field: dict[str, Any] = {
        "_id": fid,
        "Id": fid,
        "Title": title,
        "InternalName": name,
        "StaticName": props.pop("StaticName", None) or name,
        "EntityPropertyName": entity_property_name(name),
        "TypeAsString": type_as_string,
        "FieldTypeKind": TYPES[type_as_string][0],
        "Required": False,
        "Indexed": False,
        "Hidden": False,
        "ReadOnlyField": False,
        "Sealed": False,
        "CanBeDeleted": True,
        "FromBaseType": False,
        "Group": "Custom Columns",
        "Description": "",
        "DefaultValue": None,
        "EnforceUniqueValues": False,
        "Filterable": True,
        "Sortable": True,
    }
    if type_as_string in ("Choice", "MultiChoice"):
        field.update(Choices=[], FillInChoice=False)
    if type_as_string in ("Number", "Currency", "Integer"):
        field.update(MinimumValue=-1.7976931348623157e308, MaximumValue=1.7976931348623157e308)
    if type_as_string in ("Lookup", "LookupMulti", "User", "UserMulti"):
        field.update(
            LookupList="",
            LookupField="Title",
            AllowMultipleValues=type_as_string.endswith("Multi"),
            IsDependentLookup=False,
            PrimaryFieldId=None,
        )
    if type_as_string in ("User", "UserMulti"):
        field.update(LookupList="{UserInfo}", SelectionMode=0)
    if type_as_string == "Calculated":
        field.update(Formula="", OutputType=2)
    if type_as_string.startswith("Taxonomy"):
        field.update(
            AllowMultipleValues=type_as_string.endswith("Multi"),
            TermSetId=None,
            SspId=None,
            TextField=None,
            IsKeyword=False,
            CreateValuesInEditForm=False,
            Open=False,
        )
    if type_as_string == "DateTime":
        field.update(DisplayFormat=1)
    if type_as_string == "Note":
        field.update(NumberOfLines=6, RichText=False, AppendOnly=False)
    if type_as_string == "Text":
        field.update(MaxLength=255)
    field.update(props)
    return field


def is_multi(field: dict[str, Any]) -> bool:
    return field["TypeAsString"] in (
        "MultiChoice",
        "LookupMulti",
        "UserMulti",
        "TaxonomyFieldTypeMulti",
    ) or bool(field.get("AllowMultipleValues"))


def is_lookup(field: dict[str, Any]) -> bool:
    return field["TypeAsString"] in ("Lookup", "LookupMulti", "User", "UserMulti")


def is_user(field: dict[str, Any]) -> bool:
    return field["TypeAsString"] in ("User", "UserMulti")


def _bool(text: str | None) -> bool:
    return (text or "").strip().upper() == "TRUE"


def _num(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise RestError(400, ARGUMENT, f"Invalid number '{text}' in field schema.") from exc


def from_schema_xml(xml: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A field dict from ``<Field …>`` schema XML, plus the raw attributes (``List``, ``ShowField`` …)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise RestError(
            400, "-2146232832, Microsoft.SharePoint.SPException", f"Field schema XML is not valid: {exc}"
        ) from exc
    if root.tag != "Field":
        raise RestError(
            400,
            "-2146232832, Microsoft.SharePoint.SPException",
            "Field schema XML must have a <Field> root element.",
        )
    a = dict(root.attrib)
    ftype = a.get("Type", "Text")
    if ftype == "Lookup" and _bool(a.get("Mult")):
        ftype = "LookupMulti"
    if ftype == "User" and _bool(a.get("Mult")):
        ftype = "UserMulti"
    if ftype not in TYPES:
        raise RestError(
            400,
            "-2146232832, Microsoft.SharePoint.SPException",
            f"Field type '{ftype}' is not supported by the emulator.",
        )
    title = a.get("DisplayName") or a.get("Name") or a.get("StaticName") or "Field"
    name = a.get("Name") or a.get("StaticName") or field_internal_name(title)
    props: dict[str, Any] = {}
    if a.get("ID"):
        props["Id"] = a["ID"].strip("{}").lower()
    if a.get("StaticName"):
        props["StaticName"] = a["StaticName"]
    for attr, key in (
        ("Required", "Required"),
        ("Indexed", "Indexed"),
        ("Hidden", "Hidden"),
        ("FillInChoice", "FillInChoice"),
        ("EnforceUniqueValues", "EnforceUniqueValues"),
        ("ReadOnly", "ReadOnlyField"),
        ("RichText", "RichText"),
    ):
        if attr in a:
            props[key] = _bool(a[attr])
    if "Group" in a:
        props["Group"] = a["Group"]
    if "Description" in a:
        props["Description"] = a["Description"]
    if "Min" in a:
        props["MinimumValue"] = _num(a["Min"])
    if "Max" in a:
        props["MaximumValue"] = _num(a["Max"])
    if "NumLines" in a:
        props["NumberOfLines"] = int(a["NumLines"])
    if "Format" in a and ftype == "DateTime":
        props["DisplayFormat"] = 0 if a["Format"] == "DateOnly" else 1
    default = root.find("Default")
    if default is not None and default.text is not None:
        props["DefaultValue"] = default.text
    choices = root.find("CHOICES")
    if choices is not None:
        props["Choices"] = [c.text or "" for c in choices.findall("CHOICE")]
    formula = root.find("Formula")
    if formula is not None and formula.text:
        props["Formula"] = formula.text
    if ftype == "Calculated":
        props["OutputType"] = {"Number": 9, "Currency": 10, "DateTime": 4, "Boolean": 8}.get(
            a.get("ResultType", "Text"), 2
        )
        refs = root.find("FieldRefs")
        props["FieldRefs"] = [r.get("Name", "") for r in refs.findall("FieldRef")] if refs is not None else []
    if ftype in ("Lookup", "LookupMulti", "User", "UserMulti"):
        props["LookupField"] = a.get("ShowField", "Title")
        if a.get("FieldRef"):
            props["IsDependentLookup"] = True
            props["PrimaryFieldId"] = a["FieldRef"].strip("{}").lower()
            props["ReadOnlyField"] = True
    if ftype.startswith("Taxonomy"):
        for prop in root.iter("Property"):
            prop_name, value = prop.findtext("Name"), prop.findtext("Value")
            if prop_name == "TermSetId" and value:
                props["TermSetId"] = value.strip("{}").lower()
            elif prop_name == "SspId" and value:
                props["SspId"] = value.strip("{}").lower()
            elif prop_name == "TextField" and value:
                props["TextField"] = value.strip("{}").lower()
    field = new_field(ftype, title, name, **props)
    return field, a


# --------------------------------------------------------------------------- calculated

_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.USub,
    ast.UAdd,
    ast.Pow,
)


def compile_formula(formula: str) -> ast.Expression:
    """Parse an arithmetic SharePoint formula (``=A*B``, ``=[A]+2``) into a checked AST."""
    text = formula.strip()
    if text.startswith("="):
        text = text[1:]
    text = re.sub(r"\[([^\]]+)\]", lambda m: re.sub(r"\W", "_", m.group(1)), text).replace("^", "**")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise RestError(
            400,
            "-2130575245, Microsoft.SharePoint.SPException",
            f"The formula contains a syntax error or is not supported: {formula}",
        ) from exc
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise RestError(
                400,
                "-2130575245, Microsoft.SharePoint.SPException",
                f"The formula contains a syntax error or is not supported: {formula}",
            )
    return tree


def formula_names(formula: str) -> list[str]:
    return [n.id for n in ast.walk(compile_formula(formula)) if isinstance(n, ast.Name)]


def evaluate_formula(formula: str, values: dict[str, Any]) -> Any:
    """Evaluate arithmetic over numbers; empty inputs count as 0 as in SharePoint; errors → None."""
    tree = compile_formula(formula)

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            v = values.get(node.id)
            return 0 if v is None else v
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                return left / right
            return left**right
        raise ValueError("unsupported")

    try:
        result = ev(tree)
    except (ZeroDivisionError, TypeError, ValueError, OverflowError):
        return None
    if isinstance(result, float) and result.is_integer():
        return int(result)
    return result


def schema_xml(field: dict[str, Any]) -> str:
    """A ``SchemaXml`` string close enough to SharePoint's for clients that read it."""
    attrs = {
        "ID": "{" + field["Id"] + "}",
        "Type": field["TypeAsString"],
        "Name": field["InternalName"],
        "StaticName": field["StaticName"],
        "DisplayName": field["Title"],
        "Required": str(bool(field.get("Required"))).upper(),
        "Indexed": str(bool(field.get("Indexed"))).upper(),
    }
    el = ET.Element("Field", attrs)
    if field.get("Choices"):
        ch = ET.SubElement(el, "CHOICES")
        for c in field["Choices"]:
            ET.SubElement(ch, "CHOICE").text = c
    if field.get("Formula"):
        ET.SubElement(el, "Formula").text = field["Formula"]
    if field.get("DefaultValue") is not None:
        ET.SubElement(el, "Default").text = str(field["DefaultValue"])
    return ET.tostring(el, encoding="unicode")
