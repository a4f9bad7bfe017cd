"""What every part of the object model shares: constants, error codes, small value helpers, the
per-request :class:`Ctx`.

The error codes and wire details are those SharePoint Online answers with; see docs/emulator.md.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..api import ApiRequest
from ..odata import QueryOptions, bad_query

if TYPE_CHECKING:
    from .core import ModelCore

log = logging.getLogger(__name__)

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
TICKS_AT_EPOCH = 621355968000000000
DEFAULT_PAGE = 100
MAX_PAGE = 5000
VIEW_THRESHOLD = 5000
APP_LOGIN = "i:0i.t|ms.sp.ext|veiviser-emulator@tenant"

ARGUMENT = "-2147024809, System.ArgumentException"
# a missing list item, as SPO answers it (recorded: tests/conformance/recordings/batch-item-missing.json)
ITEM_MISSING = "-2130575338, System.ArgumentException"
LIST_MISSING = "-1, System.ArgumentException"
DUPLICATE = "-2130575342, Microsoft.SharePoint.SPException"
SP_EXCEPTION = "-2146232832, Microsoft.SharePoint.SPException"
THROTTLED = "-2147024860, Microsoft.SharePoint.SPQueryThrottledException"
BAD_QUERY = "-1, Microsoft.SharePoint.Client.InvalidClientQueryException"
NO_SITE = "-1, Microsoft.Online.SharePoint.Common.SpoNoSiteException"
NOT_SUPPORTED = "-1, System.NotSupportedException"
ETAG_MISMATCH = "-1, Microsoft.SharePoint.Client.ClientServiceException"  # 412 on a stale IF-MATCH

# Service operations invoked with POST that only read. A failed request of one of these leaves the
# in-memory caches as they are (no reload from disk); anything else sent with a write method may
# have changed cached objects in place before it failed. EnsureUser is not here: it adds the user.
READ_ONLY_OPERATIONS = frozenset(
    {
        "getchanges",  # Site/Web/List getChanges
        "getitems",  # List GetItems (CAML query)
        "getlistitemchangessincetoken",
        "getlistusingpath",  # Web GetListUsingPath, invoked as a service operation
        "getsitepropertiesfromsharepointbyfilters",  # Tenant: the site list
        "getsitepropertiesbyurl",  # Tenant
    }
)

TEMPLATES = {"STS#3": 68, "STS#0": 1, "SITEPAGEPUBLISHING#0": 68, "GROUP#0": 64}

# Built-in content types seeded on every site (SharePoint's fixed IDs).
BUILTIN_CTYPES = [
    ("0x01", "Item", "List Content Types"),
    ("0x0101", "Document", "Document Content Types"),
    ("0x0102", "Event", "List Content Types"),
    ("0x0108", "Task", "List Content Types"),
    ("0x0120", "Folder", "Folder Content Types"),
]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def ticks_now(dt: datetime | None = None) -> int:
    dt = dt or utc_now()
    return TICKS_AT_EPOCH + int(dt.timestamp() * 10_000_000)


def ticks_to_iso(ticks: int) -> str:
    return iso_z(datetime.fromtimestamp((ticks - TICKS_AT_EPOCH) / 10_000_000, tz=UTC))


def norm_guid(value: Any) -> str:
    return str(value or "").strip().strip("{}").lower()


def strip_meta(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_query("The request body must be a JSON object.")
    check_meta(body)
    return {k: v for k, v in body.items() if k != "__metadata"}


def json_light_body(ctx: Ctx) -> bool:
    """True when the request body is declared JSON light: its Content-Type says ``odata=nometadata``
    or ``odata=minimalmetadata``. A plain ``application/json`` body is read as before (its type
    required; docs/emulator.md, "Dialects")."""
    ctype = ctx.request.headers.get("content-type", "").lower().replace(" ", "")
    return "odata=nometadata" in ctype or "odata=minimalmetadata" in ctype


def check_meta(body: dict[str, Any]) -> None:
    """``__metadata``, when present, must be an object (``{"type": "…"}``), as SPO's reader requires."""
    meta = body.get("__metadata")
    if meta is not None and not (isinstance(meta, dict) and isinstance(meta.get("type", ""), str)):
        raise bad_query(
            "An unexpected 'PrimitiveValue' node was found for '__metadata'; it must be an object "
            'such as {"type": "SP.Data.<List>ListItem"}.'
        )


def unwrap(body: Any, *names: str) -> dict[str, Any]:
    """The parameters object of a service operation (``{"parameters": {...}}`` or the body itself)."""
    params = strip_meta(body)
    for name in names:
        for key, value in params.items():
            if key.lower() == name.lower() and isinstance(value, dict):
                return strip_meta(value)
    return params


def results_of(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.get("results") or [])
    if isinstance(value, list):
        return value
    return []


def collection_of(values: list[Any], type_name: str = "Collection(Edm.String)") -> dict[str, Any]:
    return {"__metadata": {"type": type_name}, "results": values}


# The EDM types of the list and field properties a client may write (from SPO's CSDL); a value of
# another JSON type is refused as SPO's OData reader refuses it (docs/emulator.md, "Bad input").
_S, _B, _I, _D = "Edm.String", "Edm.Boolean", "Edm.Int32", "Edm.Double"
PROPERTY_TYPES: dict[str, str] = {
    **dict.fromkeys(
        [
            "Title",
            "Description",
            "Url",
            "Group",
            "DefaultValue",
            "Formula",
            "ValidationFormula",
            "ValidationMessage",
            "StaticName",
            "CustomFormatter",
            "JSLink",
            "ClientSideComponentId",
            "ClientSideComponentProperties",
            "DefaultFormula",
            "TemplateFeatureId",
            "CustomSchemaXml",
            "DefaultContentApprovalWorkflowId",
            "Direction",
            "LookupListId",
            "LookupFieldName",
            "SchemaXml",
        ],
        _S,
    ),
    **dict.fromkeys(
        [
            "Required",
            "Indexed",
            "Hidden",
            "FillInChoice",
            "EnforceUniqueValues",
            "ReadOnlyField",
            "AllowContentTypes",
            "ContentTypesEnabled",
            "EnableVersioning",
            "EnableFolderCreation",
            "OnQuickLaunch",
            "NoCrawl",
            "EnableAttachments",
            "EnableMinorVersions",
            "ForceCheckout",
            "EnableModeration",
            "IrmEnabled",
            "IsCompactName",
        ],
        _B,
    ),
    **dict.fromkeys(
        [
            "BaseTemplate",
            "DocumentTemplateType",
            "QuickLaunchOption",
            "MajorVersionLimit",
            "ReadSecurity",
            "WriteSecurity",
            "FieldTypeKind",
            "OutputType",
        ],
        _I,
    ),
    **dict.fromkeys(["MinimumValue", "MaximumValue"], _D),
}


def check_property_type(key: str, value: Any) -> None:
    """Refuse a written list or field property whose JSON type does not fit its EDM type."""
    edm = PROPERTY_TYPES.get(key)
    if edm is None or value is None:
        return
    if isinstance(value, dict):
        raise bad_query(
            f"An unexpected 'StartObject' node was found for property '{key}'. A 'PrimitiveValue' node "
            f"of type '{edm}' was expected."
        )
    if isinstance(value, list):
        raise bad_query(
            f"An unexpected 'StartArray' node was found for property '{key}'. A 'PrimitiveValue' node "
            f"of type '{edm}' was expected."
        )
    fits = {
        _S: isinstance(value, str),
        _B: isinstance(value, bool),
        _I: isinstance(value, int) and not isinstance(value, bool),
        _D: isinstance(value, int | float) and not isinstance(value, bool),
    }[edm]
    if not fits:
        raise bad_query(
            f"Cannot convert a primitive value to the expected type '{edm}' for property '{key}'. "
            "See the inner exception for more details."
        )


def is_mutating(method: str, operation: str) -> bool:
    """Whether a request may change the object model: every write method, except a POST to a
    read-only service operation (``operation`` is the last path segment, lower case)."""
    if method == "GET":
        return False
    return not (method == "POST" and operation in READ_ONLY_OPERATIONS)


class Ctx:
    """Per-request context: the site, the request and helpers to build absolute URLs."""

    def __init__(self, app: ModelCore, request: ApiRequest, site: dict[str, Any], opts: QueryOptions) -> None:
        self.app = app
        self.request = request
        self.site = site
        self.opts = opts
        host = request.host
        label, _, rest = host.partition(".")
        if label.endswith("-admin") and rest:
            host = f"{label[:-6]}.{rest}"
        self.base = f"{request.scheme}://{host}"  # the tenant host, for URLs of sites
        # the addressed web's own URLs keep the host it was addressed on (the admin site is its own web)
        self.site_url = f"{request.scheme}://{request.host}" + site["Path"]
        self.api = self.site_url + "/_api/"


# Navigation properties SPO emits as ``__deferred`` on every list item (verbose OData).
ITEM_NAVIGATION = (
    "FirstUniqueAncestorSecurableObject",
    "RoleAssignments",
    "AttachmentFiles",
    "ContentType",
    "GetDlpPolicyTip",
    "FieldValuesAsHtml",
    "FieldValuesAsText",
    "FieldValuesForEdit",
    "File",
    "Folder",
    "LikedByInformation",
    "ParentList",
    "Properties",
    "Versions",
)


def looks_like_guid(text: str) -> bool:
    try:
        uuid.UUID(text.strip("{}"))
        return True
    except ValueError:
        return False


def sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def form_date(raw: str) -> str:
    """Form values use the site's locale; accept ISO and ``dd.mm.yyyy [hh:mm]``."""
    m = re.match(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2}))?$", raw.strip())
    if m:
        d, mo, y, h, mi = m.groups()
        return f"{int(y):04d}-{int(mo):02d}-{int(d):02d}T{int(h or 0):02d}:{int(mi or 0):02d}:00Z"
    return raw


def ctx_url(site: dict[str, Any]) -> str:
    return site["Path"] or "/"
