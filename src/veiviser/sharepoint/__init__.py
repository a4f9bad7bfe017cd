"""The SharePoint gateway: the only code that imports office365-rest-python-client or msal.

Public API::

    from veiviser.sharepoint import connect, Operation, odata_literal
    with connect("https://contoso.sharepoint.com/sites/alfa", counter=counter) as site:
        rows = list(site.iter_items("Usikkerhet", select=["Id", "Title"]))
        results = site.create_items("Usikkerhet", [{"Title": "Ny"}])
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
from veiviser.sharepoint.transport import RateLimiter, RequestCounter, RetryPolicy
from veiviser.sharepoint.values import LookupValue, normalise_item, odata_literal, to_sharepoint

__all__ = [
    "AuthError",
    "ConflictError",
    "ListInfo",
    "ListRef",
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
