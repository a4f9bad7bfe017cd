"""Bearer-token checks and form digests (``contextinfo``) for the emulator's HTTP layer.

SharePoint Online demands ``Authorization: Bearer <token>`` on every call and a valid
``X-RequestDigest`` on every write. An invalid or expired digest is answered with 403 and
exactly ``-2130575251, Microsoft.SharePoint.SPException``: office365-rest-python-client 3.3.0
recovers (drops the digest, re-fetches, re-sends once) only on that code
(docs/emulator.md, "Authentication and form digests").
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from datetime import UTC, datetime

from veiviser.emulator.api import ApiResponse, Headers, RestError, SiteLocation

DIGEST_TIMEOUT_S = 1800
LIBRARY_VERSION = "16.0.25919.12007"
INVALID_DIGEST_CODE = "-2130575251, Microsoft.SharePoint.SPException"
INVALID_DIGEST_MESSAGE = (
    "The security validation for this page is invalid and might be corrupted. "
    "Please use your web browser's Back button to try your operation again."
)


def new_token() -> str:
    """A random bearer token for an emulator instance."""
    return secrets.token_urlsafe(24)


def bearer_ok(headers: Headers, token: str) -> bool:
    """Whether ``Authorization`` is ``Bearer <token>`` (scheme case-insensitive)."""
    value = headers.get("Authorization") or ""
    scheme, _, given = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def unauthorized() -> ApiResponse:
    """The 401 SharePoint Online answers to a missing or rejected token."""
    resp = RestError(
        401,
        "-2147024891, System.UnauthorizedAccessException",
        "Access denied. You do not have permission to perform this action or access this resource.",
    ).to_response()
    resp.headers["WWW-Authenticate"] = (
        'Bearer realm="emulator", client_id="00000003-0000-0ff1-ce00-000000000000"'
    )
    return resp


def invalid_digest() -> RestError:
    """The 403 for a write without a valid, unexpired form digest."""
    return RestError(403, INVALID_DIGEST_CODE, INVALID_DIGEST_MESSAGE)


class DigestStore:
    """Issues and validates form digests; thread-safe.

    Digests are not bound to a site (the emulator is lenient here); each expires after
    ``timeout_s`` seconds, and :meth:`expire_all` invalidates every digest at once.
    """

    def __init__(self, timeout_s: int = DIGEST_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        now = datetime.now(UTC).strftime("%d %b %Y %H:%M:%S -0000")
        digest = f"0x{secrets.token_hex(64).upper()},{now}"
        with self._lock:
            self._prune(time.monotonic())
            self._expiry[digest] = time.monotonic() + self.timeout_s
        return digest

    def valid(self, digest: str | None) -> bool:
        if not digest:
            return False
        with self._lock:
            expiry = self._expiry.get(digest.strip())
        return expiry is not None and expiry > time.monotonic()

    def expire_all(self) -> None:
        """Invalidate every digest issued so far (the next write gets the 403)."""
        with self._lock:
            self._expiry.clear()

    def _prune(self, now: float) -> None:
        if len(self._expiry) > 10_000:
            self._expiry = {d: t for d, t in self._expiry.items() if t > now}


def context_info(digest: str, location: SiteLocation, timeout_s: int) -> ApiResponse:
    """The ``POST /_api/contextinfo`` answer, wrapped as SPO does."""
    return ApiResponse.json(
        {
            "d": {
                "GetContextWebInformation": {
                    "__metadata": {"type": "SP.ContextWebInformation"},
                    "FormDigestTimeoutSeconds": timeout_s,
                    "FormDigestValue": digest,
                    "LibraryVersion": LIBRARY_VERSION,
                    "SiteFullUrl": location.site_url,
                    "SupportedSchemaVersions": {
                        "__metadata": {"type": "Collection(Edm.String)"},
                        "results": ["14.0.0.0", "15.0.0.0"],
                    },
                    "WebFullUrl": location.web_url,
                }
            }
        }
    )
