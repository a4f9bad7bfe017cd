"""``ValidateUpdateListItem``: form values as text, checked per field as SPO does.

Every value arrives as the text a SharePoint form would post (docs/emulator.md,
"ValidateUpdateListItem"). Each field is parsed and tried on its own; a bad value marks that field
with ``HasException`` and an ``ErrorCode``/``ErrorMessage`` and the whole answer stays HTTP 200.
The item is written only when every field is valid, so a failed call changes nothing.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from .. import fields as F
from ..api import ApiResponse, RestError
from ..naming import list_item_entity_type_full_name
from ..values import convert
from .common import NOT_SUPPORTED, Ctx, iso_z, results_of, strip_meta
from .core import ModelCore

FIELD_ERROR = -2146232832  # the ErrorCode SPO gives an invalid form value
DATE_HINT = "Enter a date like this: 2/23/2012"  # SPO's message (en-US), recorded
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?Z?)?$")
_NB = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2})[:.](\d{2}))?$")
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::\d{2})?\s*([AaPp][Mm])?)?$")


class FormValueError(Exception):
    """One form value SPO would refuse; the message is the field's ``ErrorMessage``."""


def parse_form_date(raw: str, lcid: int) -> str:
    """ISO, or the site's locale (``23.02.2012`` on 1044, ``2/23/2012`` on 1033) → ``…Z`` text."""
    text = raw.strip()
    parts: tuple[int, int, int, int, int, int] | None = None
    if m := _ISO.match(text):
        y, mo, d, h, mi, s = m.groups()
        parts = (int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    elif (m := _NB.match(text)) and lcid == 1044:
        d, mo, y, h, mi = m.groups()
        parts = (int(y), int(mo), int(d), int(h or 0), int(mi or 0), 0)
    elif m := _US.match(text):
        mo, d, y, h, mi, ampm = m.groups()
        hour = int(h or 0)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
        parts = (int(y), int(mo), int(d), hour, int(mi or 0), 0)
    elif m := _NB.match(text):  # dd.mm.yyyy is also taken on other sites
        d, mo, y, h, mi = m.groups()
        parts = (int(y), int(mo), int(d), int(h or 0), int(mi or 0), 0)
    if parts is None:
        raise FormValueError(DATE_HINT)
    try:
        return iso_z(datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]))
    except ValueError as exc:
        raise FormValueError(DATE_HINT) from exc


def parse_form_number(raw: str, lcid: int) -> float:
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    # 1044 writes 1.234,5; other sites 1,234.5
    norwegian = lcid == 1044 and "," in text
    text = text.replace(".", "").replace(",", ".") if norwegian else text.replace(",", "")
    try:
        return float(text)
    except ValueError as exc:
        raise FormValueError("Only numbers can go here.") from exc


def _ids(raw: str) -> list[int]:
    """Lookup form values: ``1``, ``1;#``, ``1;#Title``, ``1;#;#2;#`` or ``1;#A;#2;#B``."""
    tokens = raw.split(";#")
    ids = []
    for token in tokens[::2]:
        token = token.strip()
        if not token:
            continue
        if not token.lstrip("-").isdigit():
            raise FormValueError(f"'{raw}' is not a lookup value; write it as <id>;#<title>.")
        ids.append(int(token))
    return ids


def _people_logins(raw: str) -> list[str]:
    """Person form values: ``[{"Key": "i:0#.f|membership|x@y"}]`` (JSON), or logins split by ``;``."""
    text = raw.strip()
    if text.startswith("["):
        try:
            entries = json.loads(text)
        except ValueError as exc:
            raise FormValueError(f"'{raw}' is not a valid list of people.") from exc
        keys = []
        for entry in entries if isinstance(entries, list) else []:
            key = entry.get("Key") if isinstance(entry, dict) else entry
            if not isinstance(key, str) or not key.strip():
                raise FormValueError(
                    f"'{raw}' is not a valid list of people; give each as {{\"Key\": login}}."
                )
            keys.append(key)
        return keys
    return [p.strip() for p in re.split(r";#|;", text) if p.strip()]


def _terms(raw: str) -> list[tuple[str, str]]:
    """Taxonomy form values: ``Label|Guid;`` (``;``-separated for several) or ``-1;#Label|Guid``."""
    terms = []
    for part in re.split(r";#|;", raw):
        if "|" in part:
            label, guid = part.rsplit("|", 1)
            terms.append((label.strip(), guid.strip()))
        elif part.strip() and not part.strip().lstrip("-").isdigit():
            raise FormValueError(f"'{raw}' is not a term; write it as Label|TermGuid.")
    return terms


def form_text(raw: Any) -> str | None:
    """A form value as the text SPO reads it: JSON numbers and booleans as .NET prints them, a list
    or object as its JSON text (SP.ListItemFormUpdateValue.FieldValue is Edm.String)."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "True" if raw else "False"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, (int, float)):
        return str(raw)
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))


class Forms(ModelCore):
    """``<item>/ValidateUpdateListItem`` and ``<list>/AddValidateUpdateItem[UsingPath]``."""

    def _check_form_values(
        self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any], values: list[Any], item_id: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]]:
        """Each form value parsed and tried on its own: the answer's entries (``ItemId`` ``item_id``),
        the item properties to write and the system dates (Created/Modified) given."""
        emap = self._entity_map(lst)
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        results = []
        patch: dict[str, Any] = {}
        system: dict[str, str] = {}
        for fv in values:
            fv = fv if isinstance(fv, dict) else {}
            name, text = form_text(fv.get("FieldName")), form_text(fv.get("FieldValue"))
            entry: dict[str, Any] = {
                "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                "ErrorCode": 0,
                "ErrorMessage": None,
                "FieldName": name,
                "FieldValue": text,
                "HasException": False,
                "ItemId": item_id,
            }
            fld = emap.get(str(name)) or self._find_field(ctx.site, lst, str(name))
            try:
                if fld is None:
                    raise FormValueError(
                        f"Column '{name}' does not exist. It may have been deleted by another user."
                    )
                text = text or ""
                if fld["InternalName"] in ("Modified", "Created"):
                    system[fld["InternalName"]] = parse_form_date(text, ctx.site["Lcid"]) if text else ""
                else:
                    part = self._form_patch(ctx, lst, fld, text)
                    # try the field alone, so that an error names it (and nothing is written yet)
                    self._apply_values(ctx, lst, dict(item), part, entity)
                    patch.update(part)
            except FormValueError as exc:
                entry.update(HasException=True, ErrorCode=FIELD_ERROR, ErrorMessage=str(exc))
            except RestError as exc:
                entry.update(HasException=True, ErrorCode=FIELD_ERROR, ErrorMessage=exc.message)
            results.append(entry)
        return results, patch, system

    def _set_system_dates(self, lst: dict[str, Any], item: dict[str, Any], system: dict[str, str]) -> None:
        for key, value in system.items():
            if value:
                item[key] = convert(F.new_field("DateTime", key), value, key)
        self.store.put_item(lst["Id"], item)

    def _validate_update(self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any]) -> ApiResponse:
        body = strip_meta(ctx.request.json())
        results, patch, system = self._check_form_values(
            ctx, lst, item, results_of(body.get("formValues")), item["ID"]
        )
        if not any(r["HasException"] for r in results):
            updated = self._update_item(ctx, lst, item, patch, system=bool(body.get("bNewDocumentUpdate")))
            self._set_system_dates(lst, updated, system)
        return ApiResponse.json(
            {
                "d": {
                    "ValidateUpdateListItem": {
                        "__metadata": {"type": "Collection(SP.ListItemFormUpdateValue)"},
                        "results": results,
                    }
                }
            }
        )

    def _add_validate_update(self, ctx: Ctx, lst: dict[str, Any], operation: str) -> ApiResponse:
        """``AddValidateUpdateItem[UsingPath]``: a new item from form values, made only when every value
        is valid. As SPO answers: each entry has ``ItemId`` 0 and a last entry ``Id`` holds the new
        item's id as text (docs/emulator.md, "ValidateUpdateListItem")."""
        body = strip_meta(ctx.request.json())
        info = strip_meta(body.get("listItemCreateInfo") or {})
        if int(info.get("UnderlyingObjectType") or 0) != 0:
            raise RestError(
                400,
                NOT_SUPPORTED,
                f"{operation}: the emulator creates list folders through RootFolder/Folders/add only; "
                "give UnderlyingObjectType 0 (an item).",
            )
        folder = info.get("FolderPath") if operation.endswith("UsingPath") else info.get("FolderUrl")
        if isinstance(folder, dict):
            folder = folder.get("DecodedUrl")
        self._check_root_folder(ctx.site, lst, str(folder or ""), operation)
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        results, patch, system = self._check_form_values(
            ctx, lst, {"ID": int(lst["NextItemId"])}, results_of(body.get("formValues")), 0
        )
        if not any(r["HasException"] for r in results):
            item = self._create_item(ctx, lst, {"__metadata": {"type": entity}, **patch}, require=False)
            self._set_system_dates(lst, item, system)
            results.append(
                {
                    "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                    "ErrorCode": 0,
                    "ErrorMessage": None,
                    "FieldName": "Id",
                    "FieldValue": str(item["ID"]),
                    "HasException": False,
                    "ItemId": 0,
                }
            )
        return ApiResponse.json(
            {
                "d": {
                    operation: {
                        "__metadata": {"type": "Collection(SP.ListItemFormUpdateValue)"},
                        "results": results,
                    }
                }
            }
        )

    def _form_patch(self, ctx: Ctx, lst: dict[str, Any], fld: dict[str, Any], raw: str) -> dict[str, Any]:
        """The item properties one form value sets (``{EntityPropertyName[Id]: value}``)."""
        t, key = fld["TypeAsString"], fld["EntityPropertyName"]
        lcid = int(ctx.site["Lcid"])
        blank = not raw.strip()
        if t.startswith("Taxonomy"):
            note = next((f for f in self._entity_map(lst).values() if f["Id"] == fld.get("TextField")), None)
            if note is None:
                raise FormValueError(f"Column '{fld['Title']}' has no term text field.")
            terms = [] if blank else _terms(raw)
            return {note["EntityPropertyName"]: ";#".join(f"{label}|{guid}" for label, guid in terms)}
        if F.is_lookup(fld):
            if F.is_user(fld):
                ids = [self._ensure_person(ctx, login) for login in ([] if blank else _people_logins(raw))]
            else:
                ids = [] if blank else _ids(raw)
            if F.is_multi(fld):
                return {key + "Id": {"results": ids}}
            if len(ids) > 1:
                raise FormValueError(f"Column '{fld['Title']}' takes one value.")
            return {key + "Id": ids[0] if ids else None}
        if blank:
            return {key: {"results": []} if t == "MultiChoice" else None}
        if t in ("Number", "Currency"):
            return {key: parse_form_number(raw, lcid)}
        if t == "Integer":
            number = parse_form_number(raw, lcid)
            if not number.is_integer():
                raise FormValueError("Only whole numbers can go here.")
            return {key: int(number)}
        if t == "Boolean":
            low = raw.strip().lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "ja", "nei"):
                raise FormValueError(f"'{raw}' is not a yes/no value; use 1 or 0.")
            return {key: low in ("1", "true", "yes", "ja")}
        if t == "DateTime":
            return {key: parse_form_date(raw, lcid)}
        if t == "MultiChoice":
            return {key: {"results": [v for v in raw.split(";#") if v]}}
        if t == "URL":
            url, _, description = raw.partition(", ")
            return {key: {"Url": url.strip(), "Description": description.strip() or url.strip()}}
        return {key: raw}

    def _ensure_person(self, ctx: Ctx, login: str) -> int:
        """A person form value: a site user id, or a login resolved through the tenant directory."""
        head = login.split(";#")[0].strip()
        if head.isdigit():
            return int(self._user_by_id(ctx.site, int(head))["Id"])
        try:
            return int(self._ensure_user(ctx.site, login)["Id"])
        except RestError as exc:
            raise FormValueError(exc.message) from exc
