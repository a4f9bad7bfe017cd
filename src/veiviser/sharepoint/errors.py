"""SharePoint errors: one hierarchy under :class:`veiviser.errors.VeiviserError`.

Every error names what it knows of *where* (site, list, item, field) and says what to do.
:func:`from_client_exception` maps the client's ``ClientRequestException`` (status, HRESULT,
message) and ``requests`` transport errors onto this hierarchy.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from office365.runtime.client_request_exception import ClientRequestException

from veiviser.errors import VeiviserError

# HRESULTs (docs/sharepoint.md, "Errors").
HR_NOT_FOUND = ("-2147024809", "-2147024894", "-2130575338")
HR_DUPLICATE = "-2130575342"
HR_DIGEST_EXPIRED = "-2130575251"
HR_LIST_VIEW_THRESHOLD = "-2147024860"

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class SharePointError(VeiviserError):
    """A SharePoint call failed. Attributes say where (``site``, ``list``, ``item``, ``field``)."""

    exit_code = 3
    default_hint = "Check the site URL and the values sent; run again with -v for the request log."

    def __init__(
        self,
        message: str,
        *,
        site: str | None = None,
        list: str | None = None,
        item: int | str | None = None,
        field: str | None = None,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.detail = message
        self.site = site
        self.list = list
        self.item = item
        self.field = field
        self.status = status
        self.code = code
        super().__init__(self._render(), hint=hint or self.default_hint)

    def _render(self) -> str:
        where = [
            f"{label} {value!r}" if label != "site" else f"site {value}"
            for label, value in (
                ("site", self.site),
                ("list", self.list),
                ("item", self.item),
                ("field", self.field),
            )
            if value is not None
        ]
        prefix = f"[{', '.join(where)}] " if where else ""
        status = f" (HTTP {self.status}{', ' + self.code if self.code else ''})" if self.status else ""
        return f"{prefix}{self.detail}{status}"

    def located(self, **where: Any) -> SharePointError:
        """Fill in location attributes that are still unknown; returns ``self``."""
        for key, value in where.items():
            if value is not None and getattr(self, key, None) is None:
                setattr(self, key, value)
        self.args = (self._render(),)
        return self

    def __str__(self) -> str:
        return self._render()


class NotFoundError(SharePointError):
    default_hint = (
        "Check the name or id; provision the site/list first (veiviser provision) if it is missing."
    )


class ThrottledError(SharePointError):
    exit_code = 4
    default_hint = (
        "SharePoint kept throttling (429/503). Run again later (nights are off-peak), lower the "
        "concurrency, or raise VEIVISER_RETRY_MAX_TOTAL_SECONDS / VEIVISER_RETRY_MAX_ATTEMPTS."
    )


class ValidationError(SharePointError):
    default_hint = "Fix the value in the source data (type, choice, required field) and run again."


class UnknownUserError(ValidationError):
    """The tenant's directory does not know a person (``EnsureUser`` answered 400; docs/sharepoint.md, "People")."""

    default_hint = (
        "Check the spelling of the e-mail address, or ask for the person to be added to the tenant "
        "(Entra ID); then run the command again."
    )


class EditConflictError(SharePointError):
    """An ``IF-MATCH`` write found the item changed since it was read (412; docs/sharepoint.md, "ETags")."""

    default_hint = "Someone else changed the item in the meantime: read it again and re-apply the change."


class AuthError(SharePointError):
    exit_code = 5
    default_hint = (
        "Check VEIVISER_AUTH and its credentials (VEIVISER_ACCESS_TOKEN, or tenant/client id and "
        "certificate), and that the app has Sites.FullControl.All or the site permission it needs."
    )


class ConflictError(SharePointError):
    default_hint = "The object already exists; read it instead of creating it (ensure), or pick another name."


class TransportError(SharePointError):
    exit_code = 6
    default_hint = (
        "Could not reach SharePoint. Check the network, VEIVISER_PROXY and the site URL. A write that "
        "failed this way may still have been applied: look it up by its key before retrying."
    )


def _message_of(exc: ClientRequestException) -> str:
    msg = getattr(exc, "message", None) or ""
    if not msg and exc.args:
        msg = str(exc.args[-1])
    return str(msg).split("\n")[0].strip() or "SharePoint returned an error"


_FIELD_PATTERNS = (
    re.compile(r"[Cc]olumn '([^']+)' does not exist"),
    re.compile(r"property '([^']+)' does not exist", re.IGNORECASE),
    re.compile(r"[Ff]ield '([^']+)'"),
)


def guess_field(message: str) -> str | None:
    """The field a SharePoint error message talks about, if it names one."""
    for pattern in _FIELD_PATTERNS:
        m = pattern.search(message)
        if m:
            return m.group(1)
    return None


def classify(status: int | None, code: str | None, message: str, **where: Any) -> SharePointError:
    """Build the right :class:`SharePointError` subclass from status, ``"<hresult>, <type>"`` and text."""
    code = code or None
    hresult = code.split(",")[0].strip() if code else ""
    ctype = code.split(",", 1)[1].strip() if code and "," in code else ""
    where.setdefault("field", guess_field(message))
    kwargs: dict[str, Any] = {"status": status, "code": code, **where}
    low = message.lower()
    if hresult == HR_LIST_VIEW_THRESHOLD:
        return ValidationError(
            message,
            hint="The query hits the list view threshold (5 000): filter/order only on indexed columns.",
            **kwargs,
        )
    if status in (429, 503):
        return ThrottledError(message, **kwargs)
    if status == 400 and "specified user" in low and "could not be found" in low:
        return UnknownUserError(message, **kwargs)
    if status == 412:
        return EditConflictError(message, **kwargs)
    if hresult == HR_DUPLICATE or (hresult == "-1" and "already exists" in low) or status == 409:
        return ConflictError(message, **kwargs)
    if status == 404 or hresult in HR_NOT_FOUND or ctype.endswith("NotFoundException"):
        # A missing list is "-1, System.ArgumentException" with 404 (docs/sharepoint.md, "Errors").
        return NotFoundError(message, **kwargs)
    if status in (401, 403) or "accessdenied" in (code or "").lower():
        return AuthError(message, **kwargs)
    if status is not None and 400 <= status < 500:
        return ValidationError(message, **kwargs)
    return SharePointError(message, **kwargs)


def from_client_exception(exc: BaseException, **where: Any) -> SharePointError:
    """Map a client or ``requests`` exception to a veiviser error naming ``where`` it happened."""
    if isinstance(exc, SharePointError):
        return exc.located(**where)
    if isinstance(exc, ClientRequestException):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        return classify(status, getattr(exc, "code", None), _message_of(exc), **where)
    if isinstance(exc, requests.exceptions.Timeout):
        return TransportError(f"SharePoint did not answer in time ({type(exc).__name__})", **where)
    if isinstance(exc, requests.exceptions.RequestException):
        response = getattr(exc, "response", None)
        if response is not None:
            return classify(response.status_code, None, str(exc), **where)
        return TransportError(f"cannot reach SharePoint: {type(exc).__name__}", **where)
    return SharePointError(f"unexpected {type(exc).__name__}: {exc}", **where)
