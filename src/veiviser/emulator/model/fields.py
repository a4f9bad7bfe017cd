"""Fields (site columns and list columns): lookup, creation from JSON and from schema XML, seeding."""

from __future__ import annotations

import uuid
from typing import Any

from .. import fields as F
from ..api import ApiResponse, RestError
from ..naming import field_internal_name, unique_internal_name
from ..odata import bad_query
from ..paths import Segment
from .common import (
    ARGUMENT,
    DUPLICATE,
    SP_EXCEPTION,
    Ctx,
    check_property_type,
    ctx_url,
    looks_like_guid,
    norm_guid,
    results_of,
    strip_meta,
    unwrap,
)
from .core import ModelCore
from .state import Node, NodeKind, Step

# Fields every site and list starts with.
BUILTIN_FIELDS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    # (type, title, internal, extra)
    ("Counter", "ID", "ID", {"ReadOnlyField": True, "CanBeDeleted": False}),
    ("Text", "Title", "Title", {"Required": True}),
    ("ContentTypeId", "Content Type ID", "ContentTypeId", {"ReadOnlyField": True, "Hidden": True}),
    ("Computed", "Content Type", "ContentType", {"ReadOnlyField": True}),
    ("DateTime", "Modified", "Modified", {"ReadOnlyField": True}),
    ("DateTime", "Created", "Created", {"ReadOnlyField": True}),
    ("User", "Created By", "Author", {"ReadOnlyField": True}),
    ("User", "Modified By", "Editor", {"ReadOnlyField": True}),
    ("Attachments", "Attachments", "Attachments", {"ReadOnlyField": True}),
    ("Guid", "GUID", "GUID", {"ReadOnlyField": True, "Hidden": True}),
    ("Computed", "Title", "LinkTitle", {"ReadOnlyField": True}),
    ("Computed", "Title", "LinkTitleNoMenu", {"ReadOnlyField": True}),
    ("Computed", "Edit", "Edit", {"ReadOnlyField": True}),
    ("Computed", "Type", "DocIcon", {"ReadOnlyField": True}),
    ("Computed", "Name", "LinkFilename", {"ReadOnlyField": True}),
)


class Fields(ModelCore):
    """Site and list columns: lookup by title, id or internal name, and creation."""

    def _step_fields(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst = node.site, node.parent_list
        if name == "getbytitle":
            return Node(
                NodeKind.FIELD,
                site,
                lst,
                self._field_by_title(site, lst, str(seg.args[0] if seg.args else "")),
            )
        if name == "getbyinternalnameortitle":
            return Node(
                NodeKind.FIELD,
                site,
                lst,
                self._field_by_name_or_title(site, lst, str(seg.args[0] if seg.args else "")),
            )
        if name == "getbyid":
            return Node(
                NodeKind.FIELD, site, lst, self._field_by_id(site, lst, seg.args[0] if seg.args else "")
            )
        if name == "addfield" and method == "POST":
            info = unwrap(ctx.request.json(), "parameters")
            fld = self._add_field_from_info(site, lst, info)
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 200)
        if name == "createfieldasxml" and method == "POST":
            info = unwrap(ctx.request.json(), "parameters")
            xml = info.get("SchemaXml")
            if not isinstance(xml, str):
                raise RestError(400, ARGUMENT, "CreateFieldAsXml needs parameters.SchemaXml.")
            fld = self._add_field_from_xml(site, lst, xml, int(info.get("Options") or 0))
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 200)
        if name == "addfieldasxml" and method == "POST":
            info = unwrap(ctx.request.json(), "parameters")
            fld = self._add_field_from_xml(site, lst, str(info.get("schemaXml") or info.get("SchemaXml")), 0)
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 200)
        if name == "adddependentlookupfield" and method == "POST":
            body = unwrap(ctx.request.json())
            primary = self._field_by_id(site, lst, body.get("primaryLookupFieldId"))
            fld = self._add_dependent_lookup(
                site, lst, primary, str(body.get("displayName")), str(body.get("showField"))
            )
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 200)
        return None

    def _step_field(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        if name == "setshowineditform" or name == "setshowindisplayform" or name == "setshowinnewform":
            return ApiResponse.empty(200)
        return None

    def _finish_fields(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst = node.site, node.parent_list
        if method == "GET":
            flds = [self._field_json(ctx, lst, f) for f in self._fields(site, lst)]
            return self._collection_response(ctx, flds, entity_filter=True)
        if method == "POST":
            body = ctx.request.json()
            if not isinstance(body, dict):
                raise bad_query("The request body must be a JSON object.")
            mtype = (body.get("__metadata") or {}).get("type", "SP.Field")
            data = strip_meta(body)
            type_name = F.METADATA_TO_TYPE.get(mtype)
            if "FieldTypeKind" in data:
                type_name = F.KIND_TO_TYPE.get(int(data["FieldTypeKind"]), type_name)
            if type_name is None:
                raise bad_query(f"A type named '{mtype}' could not be resolved by the model.")
            if "TypeAsString" in data:
                type_name = str(data.pop("TypeAsString"))
            fld = self._add_field_from_info(site, lst, {**data, "_type": type_name})
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 201)
        return None

    def _finish_field(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst, fld = node.site, node.parent_list, node.obj
        if method == "GET":
            return self._ok(ctx, self._field_json(ctx, lst, fld))
        if method in ("MERGE", "PATCH", "PUT"):
            body = strip_meta(ctx.request.json())
            for key, value in body.items():
                if key not in F.SETTABLE:
                    raise bad_query(
                        f"The property '{key}' does not exist on type '{F.TYPES[fld['TypeAsString']][1]}' "
                        "or is read-only."
                    )
                if key == "Choices":
                    if isinstance(value, list):
                        raise bad_query(
                            "An unexpected 'StartArray' node was found; send Choices as {\"results\": [...]}."
                        )
                    value = results_of(value)
                if key == "FieldTypeKind":
                    continue
                if key == "Formula":
                    F.compile_formula(str(value))
                check_property_type(key, value)
                fld[key] = value
            self.store.put("field", fld)
            if lst is not None:
                self._log(site, lst, None, 2, "Field", {"FieldId": fld["Id"]})
            return ApiResponse.empty(204)
        if method == "DELETE":
            if not fld.get("CanBeDeleted", True):
                raise RestError(400, SP_EXCEPTION, f"The field '{fld['Title']}' cannot be deleted.")
            self.store.delete("field", fld["_id"])
            if lst is not None:
                self._log(site, lst, None, 3, "Field", {"FieldId": fld["Id"]})
            return ApiResponse.empty(200)
        return None

    def _seed_fields(
        self, site: dict[str, Any], parent: str, builtin_only: bool, library: bool = False
    ) -> None:
        for ftype, title, internal, extra in BUILTIN_FIELDS:
            if library and internal == "Title":
                extra = {**extra, "Required": False}
            extra = {"CanBeDeleted": False, **extra}
            fld = F.new_field(
                ftype,
                title,
                internal,
                Group="_Hidden" if extra.get("Hidden") else "Base Columns",
                FromBaseType=True,
                Sealed=True,
                **extra,
            )
            fld["Id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"builtin:{internal}"))
            fld["_id"] = f"{parent}:{fld['Id']}"
            fld["_parent"] = parent
            self.store.put("field", fld)
        if library:
            for title, internal in (("Name", "FileLeafRef"), ("URL Path", "FileRef")):
                fld = F.new_field(
                    "Text",
                    title,
                    internal,
                    ReadOnlyField=internal == "FileRef",
                    FromBaseType=True,
                    CanBeDeleted=False,
                )
                fld["Id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"builtin:{internal}"))
                fld["_id"], fld["_parent"] = f"{parent}:{fld['Id']}", parent
                self.store.put("field", fld)

    def _fields(self, site: dict[str, Any], lst: dict[str, Any] | None) -> list[dict[str, Any]]:
        return self.store.under("field", lst["Id"] if lst else site["WebId"])

    def _find_field(
        self, site: dict[str, Any], lst: dict[str, Any] | None, name: str
    ) -> dict[str, Any] | None:
        low = name.lower()
        flds = self._fields(site, lst)
        for fld in flds:
            if fld["InternalName"].lower() == low:
                return fld
        for fld in flds:
            if fld["Title"].lower() == low:
                return fld
        return None

    def _field_missing(self, name: str) -> RestError:
        return RestError(
            404, ARGUMENT, f"Column '{name}' does not exist. It may have been deleted by another user."
        )

    def _field_by_title(self, site: dict[str, Any], lst: dict[str, Any] | None, title: str) -> dict[str, Any]:
        for fld in self._fields(site, lst):
            if fld["Title"].lower() == title.lower():
                return fld
        raise self._field_missing(title)

    def _field_by_name_or_title(
        self, site: dict[str, Any], lst: dict[str, Any] | None, name: str
    ) -> dict[str, Any]:
        fld = self._find_field(site, lst, name)
        if fld is None:
            raise self._field_missing(name)
        return fld

    def _field_by_id(self, site: dict[str, Any], lst: dict[str, Any] | None, field_id: Any) -> dict[str, Any]:
        key = norm_guid(field_id)
        for fld in self._fields(site, lst):
            if fld["Id"] == key:
                return fld
        raise RestError(404, ARGUMENT, f"Invalid field name. {{{key}}}  {ctx_url(site)} ")

    def _field_by_entity(self, lst: dict[str, Any], key: str) -> dict[str, Any] | None:
        return self._entity_map(lst).get(key)

    def _entity_map(self, lst: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {f["EntityPropertyName"]: f for f in self.store.under("field", lst["Id"])}

    def _store_field(
        self, site: dict[str, Any], lst: dict[str, Any] | None, fld: dict[str, Any]
    ) -> dict[str, Any]:
        parent = lst["Id"] if lst else site["WebId"]
        existing = self._fields(site, lst)
        if any(f["Id"] == fld["Id"] for f in existing):
            raise RestError(
                500,
                DUPLICATE,
                f"A field with ID '{fld['Id']}' already exists in this {'list' if lst else 'site'}.",
            )
        fld["_id"] = f"{parent}:{fld['Id']}"
        fld["_parent"] = parent
        if fld["TypeAsString"] in ("Lookup", "LookupMulti") and fld.get("LookupList"):
            fld["LookupList"] = "{" + norm_guid(fld["LookupList"]) + "}"
        if fld["TypeAsString"] == "Calculated":
            names = {f["InternalName"] for f in existing}
            for ref in F.formula_names(fld.get("Formula") or ""):
                if ref not in names:
                    raise RestError(
                        400,
                        "-2130575245, Microsoft.SharePoint.SPException",
                        f"The formula refers to a column that does not exist: '{ref}'. Check the "
                        "formula for spelling mistakes or change the column to an existing one.",
                    )
        self.store.put("field", fld)
        text_field = fld.get("TextField")
        if (
            fld["TypeAsString"].startswith("Taxonomy")
            and lst is not None
            and not any(f["Id"] == text_field for f in existing)
        ):
            # SPO makes the hidden note column of a term column, with the id its TextField names
            # (docs/emulator.md, "Lists, views and content types")
            note = F.new_field(
                "Note",
                f"{fld['InternalName']}_0",
                uuid.uuid4().hex[:32].replace("-", ""),
                Id=text_field or str(uuid.uuid4()),
                Hidden=True,
                CanBeDeleted=True,
            )
            note["_id"], note["_parent"] = f"{parent}:{note['Id']}", parent
            self.store.put("field", note)
            fld["TextField"] = note["Id"]
            self.store.put("field", fld)
        if lst is not None:
            self._log(site, lst, None, 1, "Field", {"FieldId": fld["Id"]})
        return fld

    def _add_field_from_info(
        self, site: dict[str, Any], lst: dict[str, Any] | None, info: dict[str, Any]
    ) -> dict[str, Any]:
        title = info.get("Title")
        if not isinstance(title, str) or not title:
            raise RestError(400, ARGUMENT, "A field needs a Title.")
        for key, value in info.items():
            if not key.startswith("_"):
                check_property_type(key, value)
        type_name = info.pop("_type", None)
        if type_name is None:
            kind = info.get("FieldTypeKind")
            type_name = F.KIND_TO_TYPE.get(int(kind)) if kind is not None else None
        if type_name is None:
            raise RestError(400, ARGUMENT, f"FieldTypeKind {info.get('FieldTypeKind')} is not supported.")
        props: dict[str, Any] = {}
        for key, value in info.items():
            if key in ("Title", "FieldTypeKind", "TypeAsString"):
                continue
            if key == "Choices":
                if isinstance(value, list):
                    raise bad_query(
                        "An unexpected 'StartArray' node was found; send Choices as {\"results\": [...]}."
                    )
                props["Choices"] = results_of(value)
            elif key == "LookupListId":
                props["LookupList"] = value
            elif key == "LookupFieldName":
                props["LookupField"] = value
            elif (
                key
                in (
                    "IsCompactName",
                    "ClientSideComponentId",
                    "ClientSideComponentProperties",
                    "CustomFormatter",
                    "StaticName",
                    "DefaultFormula",
                    "ValidationFormula",
                    "ValidationMessage",
                )
                or key in F.SETTABLE
            ):
                if key not in ("IsCompactName",):
                    props[key] = value
            else:
                raise bad_query(f"The property '{key}' does not exist on type 'SP.FieldCreationInformation'.")
        if type_name == "Lookup" and props.get("AllowMultipleValues"):
            type_name = "LookupMulti"
        if type_name == "User" and props.get("AllowMultipleValues"):
            type_name = "UserMulti"
        if type_name == "Calculated":
            F.compile_formula(str(props.get("Formula") or ""))
        taken = {f["InternalName"] for f in self._fields(site, lst)}
        name = unique_internal_name(field_internal_name(title), taken)
        fld = F.new_field(type_name, title, name, **props)
        if type_name in ("Lookup", "LookupMulti"):
            self._check_lookup_target(site, fld)
        return self._store_field(site, lst, fld)

    def _add_field_from_xml(
        self, site: dict[str, Any], lst: dict[str, Any] | None, xml: str, options: int
    ) -> dict[str, Any]:
        fld, attrs = F.from_schema_xml(xml)
        taken = {f["InternalName"] for f in self._fields(site, lst)}
        use_title = bool(options & 8) and not attrs.get("Name") and False
        del use_title
        if fld["InternalName"].lower() in {t.lower() for t in taken}:
            raise RestError(500, DUPLICATE, f'A duplicate field name "{fld["InternalName"]}" was found.')
        if fld["TypeAsString"] in ("Lookup", "LookupMulti"):
            target = attrs.get("List", "")
            if target and not looks_like_guid(target):
                found = self._find_list_by_title(site, target) or next(
                    (
                        x
                        for x in self.store.under("list", site["WebId"])
                        if target.lower().rstrip("/").endswith(x["UrlLeaf"].lower())
                    ),
                    None,
                )
                if found is None:
                    raise RestError(400, SP_EXCEPTION, f"The lookup list '{target}' does not exist.")
                target = found["Id"]
            fld["LookupList"] = target
            if fld.get("IsDependentLookup"):
                primary = next((f for f in self._fields(site, lst) if f["Id"] == fld["PrimaryFieldId"]), None)
                if primary is None:
                    raise RestError(
                        400,
                        SP_EXCEPTION,
                        f"The primary lookup field {fld['PrimaryFieldId']} "
                        "of a dependent lookup does not exist.",
                    )
                fld["LookupList"] = primary.get("LookupList")
            self._check_lookup_target(site, fld)
        if fld["TypeAsString"] == "Calculated":
            refs = fld.pop("FieldRefs", [])
            del refs
        return self._store_field(site, lst, fld)

    def _add_dependent_lookup(
        self,
        site: dict[str, Any],
        lst: dict[str, Any] | None,
        primary: dict[str, Any],
        title: str,
        show_field: str,
    ) -> dict[str, Any]:
        taken = {f["InternalName"] for f in self._fields(site, lst)}
        name = unique_internal_name(field_internal_name(f"{primary['InternalName']}_{show_field}"), taken)
        fld = F.new_field(
            "Lookup",
            title,
            name,
            LookupList=primary.get("LookupList"),
            LookupField=show_field,
            IsDependentLookup=True,
            PrimaryFieldId=primary["Id"],
            ReadOnlyField=True,
        )
        return self._store_field(site, lst, fld)

    def _check_lookup_target(self, site: dict[str, Any], fld: dict[str, Any]) -> None:
        target = norm_guid(fld.get("LookupList"))
        if not target:
            return
        if self.store.get("list", target) is None:
            raise RestError(400, SP_EXCEPTION, f"The lookup list {{{target}}} does not exist on this site.")

    def _seed_task_fields(self, site: dict[str, Any], lst: dict[str, Any]) -> None:
        """The columns SPO's Tasks templates (107, 171) carry, with their fixed field IDs (fieldswss.xml)."""
        specs = [
            (
                "Computed",
                "Completed",
                "Checkmark",
                "ebf1c037-47eb-4355-998d-47ce9f2cc047",
                {"ReadOnlyField": True},
            ),
            (
                "LookupMulti",
                "Predecessors",
                "Predecessors",
                "c3a92d97-2b77-4a25-9698-3ab54874bc6f",
                {"LookupList": "{" + lst["Id"] + "}", "LookupField": "Title"},
            ),
            (
                "Choice",
                "Priority",
                "Priority",
                "a8eb573e-9e11-481a-a8c9-1104a54b2fbd",
                {"Choices": ["(1) High", "(2) Normal", "(3) Low"], "DefaultValue": "(2) Normal"},
            ),
            (
                "Choice",
                "Task Status",
                "Status",
                "c15b34c3-ce7d-490a-b133-3f4de8801b76",
                {
                    "Choices": [
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Deferred",
                        "Waiting on someone else",
                    ],
                    "DefaultValue": "Not Started",
                },
            ),
            (
                "Number",
                "% Complete",
                "PercentComplete",
                "d2311440-1ed6-46ea-b46d-daa643dc3886",
                {"MinimumValue": 0.0, "MaximumValue": 1.0},
            ),
            ("UserMulti", "Assigned To", "AssignedTo", "53101f38-dd2e-458c-b245-0c236cc13d1a", {}),
            ("Note", "Description", "Body", "7662cd2c-f069-4dba-9e35-082cf976e170", {}),
            ("DateTime", "Start Date", "StartDate", "64cd368d-2f95-4bfc-a1f9-8d4324ecb007", {}),
            ("DateTime", "Due Date", "DueDate", "cd21b4c2-6841-4f9e-a23a-738a65f99889", {}),
        ]
        for ftype, title, internal, fid, extra in specs:
            fld = F.new_field(
                ftype,
                title,
                internal,
                Id=fid,
                FromBaseType=False,
                CanBeDeleted=True,
                Group="Base Columns",
                **extra,
            )
            fld["_id"], fld["_parent"] = f"{lst['Id']}:{fid}", lst["Id"]
            self.store.put("field", fld)
