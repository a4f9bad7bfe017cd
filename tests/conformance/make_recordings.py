"""Extract the recorded SharePoint Online answers the replay test uses from PnP Core SDK's MockData.

Not run in CI. Usage::

    python tests/conformance/make_recordings.py <mirror git dir of pnp/pnpcore> [--commit <sha>]

For each entry of ``MANIFEST`` the recorded answer (``…response.json``: status and body, one part
when it is a ``$batch`` answer) is read at the commit, trimmed to what the replay compares (status,
error code and message, the keys named in ``compare`` with their values, the recorded key set) and
written to ``recordings/<name>.json`` with its origin (repository, path, commit). The request each
entry replays is reconstructed from the SDK's test and source (``test`` names the test method).
Placeholders in requests (``{list:<title>}``, ``{hub_id}``, ``{site_url}``…) are filled in by
``test_replay.py``; the recorded tenant's site URL is replaced by ``{site_url}`` in messages.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "recordings"
REPO = "pnp/pnpcore"
RECORDED_SITE = "https://bertonline.sharepoint.com/sites/prov-2"
SP = "src/sdk/PnP.Core.Test/SharePoint/MockData/"
BASE = "src/sdk/PnP.Core.Test/Base/MockData/"
ADMIN = "src/sdk/PnP.Core.Admin.Test/SharePoint/MockData/"

LIST_KEYS = [
    "AllowContentTypes",
    "BaseTemplate",
    "BaseType",
    "ContentTypesEnabled",
    "Created",
    "Description",
    "EnableAttachments",
    "EnableFolderCreation",
    "EnableVersioning",
    "EntityTypeName",
    "Hidden",
    "Id",
    "ItemCount",
    "LastItemModifiedDate",
    "ListItemEntityTypeFullName",
    "NoCrawl",
    "ParentWebUrl",
    "Title",
    "CurrentChangeToken",
    "DefaultViewUrl",
    "LastItemDeletedDate",
    "OnQuickLaunch",
]
FIELD_KEYS = [
    "CanBeDeleted",
    "DefaultValue",
    "Description",
    "EntityPropertyName",
    "FieldTypeKind",
    "Group",
    "Hidden",
    "Id",
    "Indexed",
    "InternalName",
    "ReadOnlyField",
    "Required",
    "SchemaXml",
    "StaticName",
    "Title",
    "TypeAsString",
    "EnforceUniqueValues",
    "Sortable",
    "Filterable",
]
FIELD_EXTRA = {
    "Number": ["MaximumValue", "MinimumValue", "ShowAsPercentage"],
    "Currency": ["CurrencyLocaleId", "MaximumValue", "MinimumValue"],
    "Choice": ["Choices", "EditFormat", "FillInChoice"],
    "MultiChoice": ["Choices", "FillInChoice"],
    "DateTime": ["DisplayFormat", "DateTimeCalendarType"],
    "Lookup": ["AllowMultipleValues", "LookupField", "LookupList", "LookupWebId"],
    "LookupMulti": ["AllowMultipleValues", "LookupField", "LookupList"],
    "User": ["AllowMultipleValues", "SelectionMode", "SelectionGroup", "LookupField"],
    "UserMulti": ["AllowMultipleValues", "SelectionMode", "LookupField"],
    "URL": ["DisplayFormat"],
    "Calculated": ["Formula", "OutputType", "DateFormat"],
    "Note": ["NumberOfLines", "RichText", "AppendOnly"],
    "Text": ["MaxLength"],
    "TaxonomyFieldType": ["TermSetId", "SspId", "TextField", "AllowMultipleValues", "IsKeyword", "Open"],
    "TaxonomyFieldTypeMulti": ["TermSetId", "SspId", "TextField", "AllowMultipleValues", "IsKeyword", "Open"],
}
ITEM_KEYS_BASE = [
    "Id",
    "ID",
    "Title",
    "Modified",
    "Created",
    "AuthorId",
    "EditorId",
    "ContentTypeId",
    "FileSystemObjectType",
    "GUID",
    "Attachments",
    "OData__UIVersionString",
]
VUI_KEYS = ["ErrorCode", "ErrorMessage", "FieldName", "FieldValue", "HasException", "ItemId"]
CHANGE_KEYS = ["ChangeToken", "ChangeType", "SiteId", "Time"]
HUB_KEYS = [
    "Description",
    "ID",
    "LogoUrl",
    "ParentHubSiteId",
    "RequiresJoinApproval",
    "SiteDesignId",
    "SiteId",
    "SiteUrl",
    "Targets",
    "Title",
    "HideNameInNavigation",
]
CREATE_LIST = {"__metadata": {"type": "SP.List"}, "BaseTemplate": 100}


def _rec(
    name: str,
    file: str,
    test: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    batch: bool = False,
    part: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A manifest entry: the recording, the SDK test, the reconstructed request, what to compare."""
    request: dict[str, Any] = {"method": method, "path": path}
    if body is not None:
        request["body"] = body
    if batch:
        request["batch"] = True
    return {"name": name, "file": file, "test": test, "part": part, "request": request, **extra}


def _lst(name: str, file: str, title: str, *, test: str, batch: bool = False) -> dict[str, Any]:
    body = {**CREATE_LIST, "Title": title}
    return {
        "name": name,
        "file": file,
        "test": test,
        "part": 0 if batch else None,
        "request": {"method": "POST", "path": "/_api/web/lists", "body": body, "batch": batch},
        "compare": LIST_KEYS,
    }


def _field(name: str, file: str, list_title: str, *, test: str) -> dict[str, Any]:
    return {
        "name": name,
        "file": file,
        "test": test,
        "part": None,
        "request": {
            "method": "POST",
            "path": f"/_api/web/lists/getbytitle('{list_title}')/fields/CreateFieldAsXml",
            "body": {
                "parameters": {
                    "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
                    "SchemaXml": "{recorded:SchemaXml}",
                    "Options": 8,
                }
            },
        },
        "compare": "field",
    }


def _vui(name: str, file: str, list_title: str, item: int | None, *, test: str) -> dict[str, Any]:
    if item is None:
        path = f"/_api/web/lists/getbytitle('{list_title}')/AddValidateUpdateItemUsingPath"
        body: dict[str, Any] = {
            "listItemCreateInfo": {
                "__metadata": {"type": "SP.ListItemCreationInformationUsingPath"},
                "FolderPath": {
                    "__metadata": {"type": "SP.ResourcePath"},
                    "DecodedUrl": "{list_url:" + list_title + "}",
                },
            },
            "formValues": "{recorded:formValues}",
            "bNewDocumentUpdate": False,
        }
    else:
        path = f"/_api/web/lists/getbytitle('{list_title}')/items({item})/ValidateUpdateListItem"
        body = {"formValues": "{recorded:formValues}", "bNewDocumentUpdate": False}
    return {
        "name": name,
        "file": file,
        "test": test,
        "part": None,
        "request": {"method": "POST", "path": path, "body": body},
        "compare": VUI_KEYS,
    }


SPECIAL = "PNP_SDK_TEST_SpecialFieldRestUpdateTest"
FIELD_KINDS = (
    "Number",
    "Currency",
    "Choice",
    "MultiChoice",
    "DateTime",
    "Url",
    "User",
    "MultilineText",
    "AsXml",
    "Lookup",
    "CalculatedAsText",
    "CalculatedSpecificAsNumber",
)
SPECIAL_ITEM_KEYS = [
    *ITEM_KEYS_BASE,
    "URLField1",
    "URLField2",
    "UserSingleField1Id",
    "UserSingleField1StringId",
    "UserMultiField1Id",
    "UserMultiField1StringId",
    "TaxonomyField1",
    "TaxonomyMultiField1",
    "ChoiceSingle1",
    "ChoiceMulti1",
    "LookupSingleField1Id",
    "LookupMultiField1Id",
]
F = SP + "ListFieldTests/"
T = "ListFieldTests."
SF = SP + "ListItemTests/SpecialFieldRestUpdateTest-"
CHANGE_QUERY = {
    "query": {
        "__metadata": {"type": "SP.ChangeQuery"},
        "Add": True,
        "Update": True,
        "Item": True,
        "List": True,
        "Web": True,
        "Site": True,
        "Field": True,
    }
}

MANIFEST: list[dict[str, Any]] = [
    # --- lists: a missing list, creation, reads ------------------------------------------------
    _rec(
        "list-missing-by-title",
        SP + "ListTests/ListLinqGetExceptionMethods-0-00002.response.json",
        "ListTests.ListLinqGetExceptionMethods",
        "GET",
        "/_api/web/lists/getbytitle('ListLinqGetExceptionMethods')",
    ),
    _lst(
        "list-create-linq",
        SP + "ListTests/ListLinqGetExceptionMethods-0-00003.response.json",
        "ListLinqGetExceptionMethods",
        test="ListTests.ListLinqGetExceptionMethods",
    ),
    _rec(
        "list-get-by-title",
        SP + "ListTests/ListLinqGetExceptionMethods-1-00002.response.json",
        "ListTests.ListLinqGetExceptionMethods",
        "GET",
        "/_api/web/lists/getbytitle('ListLinqGetExceptionMethods')",
        compare=LIST_KEYS,
    ),
    _rec(
        "list-get-documents-select",
        SP + "ListTests/GetListByTitle-0-00002.response.json",
        "ListTests.GetListByTitle",
        "GET",
        "/_api/web/lists/getbytitle('Documents')?$select=Id,ListExperienceOptions,Title",
    ),
    _lst(
        "list-create-paging",
        BASE + "PagingTests/RESTListItemPaging-0-00003.response.json",
        "RESTListItemPaging",
        test="PagingTests.RESTListItemPaging",
    ),
    _lst(
        "list-create-additem",
        BASE + "AddExpandoTests/AddListItemViaRest-0-00003.response.json",
        "AddListItemViaRest",
        test="AddExpandoTests.AddListItemViaRest",
    ),
    _lst(
        "list-create-wrongvalues",
        SP + "ListItemTests/UpdateWithWrongValuesInteractive-0-00003.response.json",
        "UpdateWithWrongValuesInteractive",
        test="ListItemTests.UpdateWithWrongValuesInteractive",
    ),
    _rec(
        "list-missing-special",
        SF + "0-00005.response.json",
        "ListItemTests.SpecialFieldRestUpdateTest",
        "GET",
        f"/_api/web/lists/getbytitle('{SPECIAL}')",
    ),
    _lst(
        "list-create-special",
        SF + "0-00006.response.json",
        SPECIAL,
        test="ListItemTests.SpecialFieldRestUpdateTest",
    ),
    # --- fields of every kind (CreateFieldAsXml with the recorded schema) ---------------------
    *[
        entry
        for kind in FIELD_KINDS
        for entry in (
            _field(
                f"field-{kind.lower()}",
                F + f"AddListField{kind}Test-0-00003.response.json",
                "Documents",
                test=f"{T}AddListField{kind}Test",
            ),
            {
                "name": f"field-{kind.lower()}-delete",
                "file": F + f"AddListField{kind}Test-0-00004.response.json",
                "test": f"{T}AddListField{kind}Test",
                "part": None,
                "request": {
                    "method": "DELETE",
                    "path": "/_api/web/lists/getbytitle('Documents')/fields/getbyinternalnameortitle('ADDED_x0020_FIELD')",
                },
            },
        )
    ],
    _field(
        "field-date-wrongvalues",
        SP + "ListItemTests/UpdateWithWrongValuesInteractive-0-00004.response.json",
        "UpdateWithWrongValuesInteractive",
        test="ListItemTests.UpdateWithWrongValuesInteractive",
    ),
    *[
        _field(
            f"field-special-{n}",
            SF + f"0-000{n:02d}.response.json",
            SPECIAL,
            test="ListItemTests.SpecialFieldRestUpdateTest",
        )
        for n in (7, 8, 9, 10, 11, 13, 15, 16, 17, 18)
    ],
    # --- items: AddValidateUpdateItemUsingPath / ValidateUpdateListItem ------------------------
    _vui(
        "vui-add-title",
        BASE + "AddExpandoTests/AddListItemViaRest-0-00005.response.json",
        "AddListItemViaRest",
        None,
        test="AddExpandoTests.AddListItemViaRest",
    ),
    _vui(
        "vui-add-date",
        SP + "ListItemTests/UpdateWithWrongValuesInteractive-0-00005.response.json",
        "UpdateWithWrongValuesInteractive",
        None,
        test="ListItemTests.UpdateWithWrongValuesInteractive",
    ),
    _vui(
        "vui-update-bad-date",
        SP + "ListItemTests/UpdateWithWrongValuesInteractive-0-00008.response.json",
        "UpdateWithWrongValuesInteractive",
        1,
        test="ListItemTests.UpdateWithWrongValuesInteractive",
    ),
    _vui(
        "vui-add-special",
        SF + "0-00019.response.json",
        SPECIAL,
        None,
        test="ListItemTests.SpecialFieldRestUpdateTest",
    ),
    _rec(
        "items-special-read",
        SF + "3-00003.response.json",
        "ListItemTests.SpecialFieldRestUpdateTest",
        "GET",
        f"/_api/web/lists/getbytitle('{SPECIAL}')/items",
        compare=SPECIAL_ITEM_KEYS,
    ),
    _vui(
        "vui-update-special",
        SF + "0-00021.response.json",
        SPECIAL,
        1,
        test="ListItemTests.SpecialFieldRestUpdateTest",
    ),
    _rec(
        "items-special-read-updated",
        SF + "5-00003.response.json",
        "ListItemTests.SpecialFieldRestUpdateTest",
        "GET",
        f"/_api/web/lists/getbytitle('{SPECIAL}')/items",
        compare=SPECIAL_ITEM_KEYS,
    ),
    _vui(
        "vui-clear-special",
        SF + "0-00022.response.json",
        SPECIAL,
        1,
        test="ListItemTests.SpecialFieldRestUpdateTest",
    ),
    _rec(
        "items-special-read-cleared",
        SF + "7-00003.response.json",
        "ListItemTests.SpecialFieldRestUpdateTest",
        "GET",
        f"/_api/web/lists/getbytitle('{SPECIAL}')/items",
        compare=[
            *ITEM_KEYS_BASE,
            "URLField1",
            "UserSingleField1Id",
            "UserMultiField1Id",
            "TaxonomyField1",
            "TaxonomyMultiField1",
            "LookupSingleField1Id",
            "LookupMultiField1Id",
        ],
    ),
    _rec(
        "items-expand-date",
        SP + "ListItemTests/UpdateWithWrongValuesInteractive-0-00007.response.json",
        "ListItemTests.UpdateWithWrongValuesInteractive",
        "GET",
        "/_api/web/lists/getbytitle('UpdateWithWrongValuesInteractive')?$select=Id,Items&$expand=Items",
        compare=["Id", "Items"],
        item_keys=[*ITEM_KEYS_BASE, "MyDateField"],
    ),
    # --- paging ---------------------------------------------------------------------------------
    _rec(
        "items-page-1",
        BASE + "PagingTests/RESTListItemPaging-0-00007.response.json",
        "PagingTests.RESTListItemPaging",
        "GET",
        "/_api/web/lists/getbytitle('RESTListItemPaging')/items?$top=2",
        compare=["odata.nextLink", "value"],
        item_keys=ITEM_KEYS_BASE,
    ),
    _rec(
        "items-page-2",
        BASE + "PagingTests/RESTListItemPaging-0-00011.response.json",
        "PagingTests.RESTListItemPaging",
        "GET",
        "{next}",
        compare=["odata.nextLink", "value"],
        item_keys=ITEM_KEYS_BASE,
    ),
    _rec(
        "items-expand-all",
        BASE + "PagingTests/RESTListItemPaging-0-00009.response.json",
        "PagingTests.RESTListItemPaging",
        "GET",
        "/_api/web/lists/getbytitle('RESTListItemPaging')?$select=Items/Id,Items/ID,Items/Title&$expand=Items",
        compare=["Items"],
        item_keys=["Id", "ID", "Title"],
    ),
    # --- change logs at list, web and site scope (verbose, as the SDK asks for them) ----------
    _rec(
        "changes-list",
        SP + "ListTests/GetListChangesTest-0-00003.response.json",
        "ListTests.GetListChangesTest",
        "POST",
        "/_api/web/lists/getbytitle('RESTListItemPaging')/getchanges",
        body=CHANGE_QUERY,
        dialect="verbose",
        compare=[*CHANGE_KEYS, "ItemId", "ListId", "WebId", "UniqueId"],
    ),
    _rec(
        "changes-web",
        SP + "WebTests/GetWebChangesAsyncTest-0-00002.response.json",
        "WebTests.GetWebChangesAsyncTest",
        "POST",
        "/_api/web/getchanges",
        body=CHANGE_QUERY,
        dialect="verbose",
        compare=[*CHANGE_KEYS, "ListId", "WebId"],
    ),
    _rec(
        "changes-site",
        SP + "SiteTests/GetSiteChangesTest-0-00002.response.json",
        "SiteTests.GetSiteChangesTest",
        "POST",
        "/_api/site/getchanges",
        body=CHANGE_QUERY,
        dialect="verbose",
        compare=CHANGE_KEYS,
    ),
    # --- hubs -----------------------------------------------------------------------------------
    _rec(
        "hub-site-before",
        SP + "HubSiteTests/RegisterHubSiteTest-0-00002.response.json",
        "HubSiteTests.RegisterHubSiteTest",
        "GET",
        "/_api/site?$select=HubSiteId,Id,IsHubSite",
    ),
    _rec(
        "hub-register",
        SP + "HubSiteTests/RegisterHubSiteTest-0-00003.response.json",
        "HubSiteTests.RegisterHubSiteTest",
        "POST",
        "/_api/site/RegisterHubSite",
        compare=HUB_KEYS,
    ),
    _rec(
        "hub-site-after",
        SP + "HubSiteTests/RegisterHubSiteTest-0-00004.response.json",
        "HubSiteTests.RegisterHubSiteTest",
        "GET",
        "/_api/site?$select=HubSiteId,Id,IsHubSite",
    ),
    _rec(
        "hub-join",
        SP + "HubSiteTests/JoinUnJoinHubSiteTest-2-00003.response.json",
        "HubSiteTests.JoinUnJoinHubSiteTest",
        "POST",
        "/_api/site/JoinHubSite('{hub_id}')",
        site="second",
    ),
    _rec(
        "hub-leave",
        SP + "HubSiteTests/JoinUnJoinHubSiteTest-2-00004.response.json",
        "HubSiteTests.JoinUnJoinHubSiteTest",
        "POST",
        "/_api/site/JoinHubSite('00000000-0000-0000-0000-000000000000')",
        site="second",
    ),
    _rec(
        "hub-unregister",
        SP + "HubSiteTests/RegisterHubSiteTest-0-00005.response.json",
        "HubSiteTests.RegisterHubSiteTest",
        "POST",
        "/_api/site/UnRegisterHubSite",
    ),
    # --- SPSiteManager ----------------------------------------------------------------------------
    _rec(
        "sitemanager-create",
        ADMIN + "SiteCreationTests/CreateCommunicationSiteUsingDelegatedPermissions-0-00002.response.json",
        "SiteCreationTests.CreateCommunicationSiteUsingDelegatedPermissions",
        "POST",
        "/_api/SPSiteManager/create",
        body={
            "request": {
                "__metadata": {"type": "Microsoft.SharePoint.Portal.SPSiteCreationRequest"},
                "Title": "PnP Core SDK Test",
                "Url": "{root_url}/sites/pnpcoresdktestcommsite",
                "Lcid": 1033,
                "ShareByEmailEnabled": False,
                "Description": "",
                "WebTemplate": "SITEPAGEPUBLISHING#0",
                "Owner": "eier@kommune.no",
            }
        },
        site="root",
    ),
    _rec(
        "sitemanager-status",
        ADMIN + "SiteCreationTests/CreateCommunicationSiteUsingDelegatedPermissions-0-00004.response.json",
        "SiteCreationTests.CreateCommunicationSiteUsingDelegatedPermissions",
        "GET",
        "/_api/SPSiteManager/status?url='{root_url}/sites/pnpcoresdktestcommsite'",
        site="root",
    ),
    # --- errors -----------------------------------------------------------------------------------
    _rec(
        "error-user-missing",
        SP + "WebTests/GetUserMissingTest-0-00002.response.json",
        "WebTests.GetUserMissingTest",
        "GET",
        "/_api/web/getuserbyid(890879070)",
    ),
    # --- $batch parts: 201, 204, 404 ------------------------------------------------------------
    _lst(
        "batch-list-create",
        BASE + "AddTests/AddListViaBatchRest-0-00003.response.json",
        "AddListViaBatchRest",
        test="AddTests.AddListViaBatchRest",
        batch=True,
    ),
    _lst(
        "batch-list-create-2",
        BASE + "DeleteTests/DeleteListViaBatchRest-0-00003.response.json",
        "DeleteListViaBatchRest",
        test="DeleteTests.DeleteListViaBatchRest",
        batch=True,
    ),
    _rec(
        "batch-list-update",
        BASE + "UpdateTests/UpdatePropertyViaBatchRest-0-00003.response.json",
        "UpdateTests.UpdatePropertyViaBatchRest",
        "MERGE",
        "/_api/web/lists/getbytitle('AddListViaBatchRest')",
        body={"__metadata": {"type": "SP.List"}, "Description": "updated"},
        batch=True,
        part=0,
    ),
    _rec(
        "batch-item-missing",
        BASE + "BatchClientTests/HandleBatchErrorsForLargeBatch-0-00009.response.json",
        "BatchClientTests.HandleBatchErrorsForLargeBatch",
        "GET",
        "/_api/web/lists/getbytitle('RESTListItemPaging')/items(9999)",
        batch=True,
        part=24,
    ),
]


def _read(git_dir: str, commit: str, path: str) -> dict[str, Any]:
    text = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data: dict[str, Any] = json.loads(text)
    return data


def _batch_part(text: str, index: int) -> tuple[int, str]:
    parts = [p for p in re.split(r"--batchresponse_[0-9a-f-]+(?:--)?\r?\n?", text) if p.strip()]
    part = parts[index].replace("\r\n", "\n")
    status = int(re.search(r"HTTP/1\.1 (\d{3})", part).group(1))  # type: ignore[union-attr]
    body = part.split("\n\n", 2)[2] if part.count("\n\n") >= 2 else ""
    return status, body.strip()


def _trim(value: Any, keys: list[str] | None) -> Any:
    if isinstance(value, dict) and keys is not None:
        return {k: value[k] for k in keys if k in value}
    return value


def build(entry: dict[str, Any], git_dir: str, commit: str) -> dict[str, Any]:
    recorded = _read(git_dir, commit, entry["file"])
    status, text = recorded["StatusCode"], recorded.get("Response") or ""
    if entry.get("part") is not None:
        status, text = _batch_part(text, entry["part"])
    body = json.loads(text) if text.strip() else None
    dialect = entry.get("dialect", "nometadata")
    request = json.loads(json.dumps(entry["request"]))
    if isinstance(body, dict) and request.get("body"):
        raw = json.dumps(request["body"])
        if "{recorded:SchemaXml}" in raw:
            schema = re.sub(
                r' (SourceID|ColName|RowOrdinal|Version|StaticName|WebId|Customization)="[^"]*"',
                "",
                body["SchemaXml"],
            )
            # a lookup's target list is the replay's own (the list the entry adds the field to)
            list_title = re.search(r"getbytitle\('([^']*)'\)", request["path"]).group(1)  # type: ignore[union-attr]
            schema = re.sub(r' List="[^"]*"', ' List="{list_id:' + list_title + '}"', schema)
            request["body"]["parameters"]["SchemaXml"] = schema
        if "{recorded:formValues}" in raw:
            request["body"]["formValues"] = [
                {
                    "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                    "FieldName": v["FieldName"],
                    "FieldValue": v["FieldValue"],
                }
                for v in body["value"]
                if v["FieldName"] != "Id"
            ]
    out: dict[str, Any] = {
        "name": entry["name"],
        "origin": {"repository": REPO, "path": entry["file"], "commit": commit},
        "test": entry["test"],
        "site": entry.get("site", "main"),
        "dialect": dialect,
        "request": request,
        "status": status,
    }
    if isinstance(body, dict) and ("odata.error" in body or "error" in body):
        err = body.get("odata.error") or body["error"]
        out["error"] = {
            "code": err["code"],
            "message": err["message"]["value"].replace(RECORDED_SITE, "{site_url}"),
        }
        return out
    compare = entry.get("compare")
    if compare == "field":
        compare = FIELD_KEYS + FIELD_EXTRA.get(body.get("TypeAsString", ""), [])
    if dialect == "verbose" and isinstance(body, dict):
        rows = body["d"]["results"]
        out["recorded_keys"] = sorted(k for k in rows[0] if k != "__metadata") if rows else []
        out["body"] = {"results": [_trim(rows[0], ["__metadata", *compare])] if rows else []}
        out["body"]["results"][0]["__metadata"] = {"type": rows[0]["__metadata"]["type"]} if rows else None
        return out
    if isinstance(body, dict):
        item_keys = entry.get("item_keys")
        if "value" in body and isinstance(body["value"], list):
            rows = body["value"]
            out["recorded_keys"] = sorted(rows[0]) if rows and isinstance(rows[0], dict) else []
            trimmed = {k: body[k] for k in body if k != "value" and (compare is None or k in compare)}
            trimmed["value"] = [_trim(r, item_keys or compare) for r in rows[:1]]
            out["body"] = trimmed
        else:
            out["recorded_keys"] = sorted(body)
            trimmed = _trim(body, compare)
            for key in ("Items",):
                if isinstance(trimmed.get(key), list):
                    trimmed[key] = [_trim(r, item_keys) for r in trimmed[key][:1]]
            out["body"] = trimmed
    else:
        out["body"] = body
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", help="git directory of a pnp/pnpcore mirror")
    parser.add_argument("--commit", default="HEAD")
    args = parser.parse_args(argv)
    commit = subprocess.run(
        ["git", f"--git-dir={args.git_dir}", "rev-parse", args.commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    OUT.mkdir(exist_ok=True)
    names = []
    for n, entry in enumerate(MANIFEST):
        rec = build(entry, args.git_dir, commit)
        rec["order"] = n
        (OUT / f"{entry['name']}.json").write_text(
            json.dumps(rec, indent=1, ensure_ascii=False) + "\n", "utf-8"
        )
        names.append(entry["name"])
    print(f"{len(names)} recordings written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
