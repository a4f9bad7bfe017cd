"""The SharePoint gateway: the only code that imports office365-rest-python-client, msal or requests.

Public API::

    from veiviser.sharepoint import ListTarget, connect, odata_literal, schema
    with connect("https://contoso.sharepoint.com/sites/alfa", counter=counter) as site:
        rows = list(site.iter_items("Usikkerhet", select=["Id", "Title"]))
        results = site.create_items("Usikkerhet", [{"Title": "Ny"}])
        risks = ListTarget.by_title("Usikkerhet")
        answers = site.batch([schema.read_views(risks), schema.set_indexed(risks, "GtRiskFactor")])
        web = site.run(schema.read_web())

Callers speak in list titles or ids, field names and values; the request builders in
:mod:`veiviser.sharepoint.schema` own the REST dialect (docs/sharepoint.md).
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
    ValidationError,
)
from veiviser.sharepoint.schema import ListTarget
from veiviser.sharepoint.transport import RateLimiter, RequestCounter, RetryPolicy
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
    "ValidationError",
    "connect",
    "normalise_item",
    "odata_literal",
    "to_sharepoint",
]
