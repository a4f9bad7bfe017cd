"""The SharePoint gateway: the only code that imports office365-rest-python-client, msal or requests.

Public API::

    from veiviser.sharepoint import ListTarget, connect, items, odata_literal, schema
    with connect("https://contoso.sharepoint.com/sites/alfa", counter=counter) as site:
        rows = list(site.iter_items("Usikkerhet", select=["Id", "Title"]))
        results = site.create_items("Usikkerhet", [{"Title": "Ny"}])
        risks = ListTarget.by_title("Usikkerhet")
        answers = site.batch([schema.read_views(risks), items.get_items(risks, select=["Id"], top=10)])
        web = site.run(schema.read_web())

Callers speak in list titles or ids, field names and values; the request builders in
:mod:`veiviser.sharepoint.schema` (lists, fields, content types, views) and
:mod:`veiviser.sharepoint.items` (items, changes, users) own the REST dialect (docs/sharepoint.md).
"""

from veiviser.sharepoint.batch import Operation, OperationResult
from veiviser.sharepoint.client import ListInfo, ListRef, SiteClient, connect
from veiviser.sharepoint.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    SharePointError,
    ThrottledError,
    TransportError,
    UnknownUserError,
    ValidationError,
)
from veiviser.sharepoint.paths import ListTarget
from veiviser.sharepoint.transport import RateLimiter, RequestCounter, RetryPolicy, describe_pace
from veiviser.sharepoint.values import LookupValue, normalise_item, odata_literal, to_sharepoint

__all__ = [
    "AuthError",
    "ConflictError",
    "ListInfo",
    "ListRef",
    "ListTarget",
    "LookupValue",
    "NotFoundError",
    "Operation",
    "OperationResult",
    "RateLimiter",
    "RequestCounter",
    "RetryPolicy",
    "SharePointError",
    "SiteClient",
    "ThrottledError",
    "TransportError",
    "UnknownUserError",
    "ValidationError",
    "connect",
    "describe_pace",
    "normalise_item",
    "odata_literal",
    "to_sharepoint",
]
