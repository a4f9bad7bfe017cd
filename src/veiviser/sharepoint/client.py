"""``connect()`` and :class:`SiteClient`: reads, paging, single calls and ``$batch`` writes for one site.

A :class:`SiteClient` wraps one short-lived ``ClientContext``. All calls go through the client's
request pipeline (``execute_request_direct``: auth, form digest, digest-expiry recovery) and our
:class:`~veiviser.sharepoint.transport.GatewaySession` (retry, pacing, counting). No client
queries are ever queued, so nothing can be left pending (docs/sharepoint.md, "Retries in the transport").

Ordering contract of :meth:`SiteClient.batch`: operations are sent in the given order and
SharePoint applies them in that order. An operation that fails transiently (408/429/5xx) and is
re-sent lands *after* the operations that followed it. Put operations that depend on each other
(create, then update the same item) in separate ``batch`` calls.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pydantic
from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.http.http_method import HttpMethod
from office365.runtime.http.request_options import RequestOptions
from office365.sharepoint.client_context import ClientContext
from requests import RequestException

from veiviser import __version__
from veiviser.errors import VeiviserError
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint.auth import token_provider
from veiviser.sharepoint.batch import (
    Operation,
    OperationResult,
    RawPart,
    encode_url,
    parse_batch_response,
    render_batch,
    unwrap,
)
from veiviser.sharepoint.batching import BatchRunner
from veiviser.sharepoint.errors import (
    NotFoundError,
    SharePointError,
    TransportError,
    UnknownUserError,
    from_client_exception,
)
from veiviser.sharepoint.items import create_item, delete_item, ensure_user, merge_item
from veiviser.sharepoint.paths import ListTarget
from veiviser.sharepoint.transport import (
    GatewaySession,
    RateLimiter,
    RequestCounter,
    RetryPolicy,
    shared_limiter,
)
from veiviser.sharepoint.values import normalise_item

log = logging.getLogger("veiviser.sharepoint")
log.addHandler(logging.NullHandler())
# The client logs exceptions raised inside its hooks at ERROR; we report them ourselves.
logging.getLogger("office365.runtime.types.event_handler").setLevel(logging.CRITICAL)

VERBOSE = "application/json;odata=verbose"
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_QUERY_SAFE = "'(),/:=*@!$;~"


@dataclass(frozen=True)
class ListInfo:
    """A resolved list: id, title and the entity type name item bodies need (docs/sharepoint.md, "List names")."""

    id: str
    title: str
    entity_type: str

    @property
    def target(self) -> ListTarget:
        return ListTarget.by_id(self.id)

    @property
    def path(self) -> str:
        return self.target.path


ListRef = str | ListInfo
"""A list by id (GUID text) or by title; titles are resolved once per SiteClient."""


def user_agent(org: str) -> str:
    """``NONISV|<org>|veiviser/<version>`` (decorated traffic is not deprioritised; docs/sharepoint.md, "Throttling")."""
    return f"NONISV|{org}|veiviser/{__version__}"


def query_string(params: Mapping[str, Any] | None) -> str:
    """``?$top=5&$filter=Title%20eq%20'A'`` — OData punctuation kept, spaces and non-ASCII encoded."""
    if not params:
        return ""
    pairs = [f"{k}={quote(str(v), safe=_QUERY_SAFE)}" for k, v in params.items() if v is not None]
    return "?" + "&".join(pairs) if pairs else ""


class SiteClient:
    """SharePoint REST for one site. Create with :func:`connect`; use as a context manager or ``close()``."""

    def __init__(
        self,
        ctx: ClientContext,
        *,
        settings: ConnectionSettings,
        session: GatewaySession,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._ctx = ctx
        self.settings = settings
        self.session = session
        self.url = ctx.base_url.rstrip("/")
        self._sleep = sleep
        self._lists: dict[str, ListInfo] = {}
        self._users: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ctx.pending_request().beforeExecute += self._render_batch_body

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def counter(self) -> RequestCounter | None:
        return self.session.counter

    @property
    def limiter(self) -> RateLimiter | None:
        return self.session.limiter

    @property
    def service_root(self) -> str:
        return f"{self.url}/_api"

    def __enter__(self) -> SiteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget caches; the shared HTTP session stays open for clones."""
        self._lists.clear()

    def for_site(self, url: str, *, share_digest: bool = False) -> SiteClient:
        """A SiteClient for another site with the same credentials, transport, counter and limiter.

        ``share_digest`` lets the new client send this client's form digest instead of fetching
        its own (one ``contextinfo`` request per site saved). Only for bearer-token auth, which
        every veiviser auth mode is: SharePoint Online does not check the digest of OAuth calls,
        and if it ever refuses one (403 ``-2130575251``) the client fetches the site's own digest
        and re-sends once, as after an expiry.
        """
        clone = SiteClient(
            self._ctx.clone(url.rstrip("/")), settings=self.settings, session=self.session, sleep=self._sleep
        )
        if share_digest:
            clone._ctx.pending_request()._ctx_web_info = self.form_digest()
        return clone

    def form_digest(self) -> Any:
        """This site's form digest information (fetched with ``contextinfo`` if not yet valid)."""
        request = self._ctx.pending_request()
        try:
            request.warm_up()
        except (ClientRequestException, RequestException, SharePointError) as exc:
            raise from_client_exception(exc, site=self.url) from None
        return request.context_info

    def admin(self) -> SiteClient:
        """The tenant admin site from ``VEIVISER_ADMIN_URL`` (never derived from the host; docs/sharepoint.md, "Client-library habits we work around")."""
        if not self.settings.admin_url:
            raise VeiviserError(
                "tenant admin operations need the admin site URL",
                hint="Set VEIVISER_ADMIN_URL (https://<tenant>-admin.sharepoint.com; the emulator root in demos).",
            )
        return self.for_site(self.settings.admin_url)

    def _send(self, request: RequestOptions, **where: Any) -> Any:
        if self._ctx.has_pending_request:  # never send someone's stale queries
            raise SharePointError("internal: the client context has queued queries", site=self.url)
        request.ensure_header("Accept", VERBOSE)
        try:
            return self._ctx.pending_request().execute_request_direct(request)
        except (ClientRequestException, RequestException, SharePointError) as exc:
            raise from_client_exception(exc, site=self.url, **where) from None

    @staticmethod
    def _json(response: Any) -> Any:
        ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return response.content
        if not response.content.strip():
            return None
        return response.json()

    # -- single calls -----------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, **where: Any) -> Any:
        """GET ``_api/<path>``; returns ``d`` (a collection's ``results`` list, operation wrapper removed).

        Values are raw verbose JSON; list items are normalised by :meth:`iter_items` only.
        """
        url = encode_url(f"{self.service_root}/{path.lstrip('/')}") + query_string(params)
        return unwrap(self._json(self._send(RequestOptions(url), **where)), path)

    def call(
        self, method: str, path: str, body: Any = None, *, if_match: str | None = None, **where: Any
    ) -> Any:
        """One non-batched REST call (POST, MERGE, DELETE …); returns the unwrapped answer or ``None``.

        A MERGE/DELETE sends ``IF-MATCH: <if_match>`` (default ``*``: any version).
        """
        verb = method.upper()
        if verb == "GET":
            return self.get(path, **where)
        url = encode_url(f"{self.service_root}/{path.lstrip('/')}")
        request = RequestOptions(url, method=HttpMethod.Post, data=body)
        request.set_header("Content-Type", VERBOSE)
        if verb != "POST":
            request.set_header("X-HTTP-Method", verb)
            request.set_header("IF-MATCH", if_match or "*")
        return unwrap(self._json(self._send(request, **where)), path)

    def run(self, op: Operation) -> Any:
        """One :class:`Operation` as a single (non-batched) call; returns the unwrapped answer.

        Raises the operation's :class:`SharePointError` on failure (``list``/``item`` filled in).
        """
        where = {name: value for name, value in (("list", op.list), ("item", op.item)) if value is not None}
        return self.call(op.method, op.path, op.body, if_match=op.if_match, **where)

    # -- lists and items --------------------------------------------------------------------

    def resolve_list(self, ref: ListRef) -> ListInfo:
        """Id, title and entity type of a list given by id or title (cached per SiteClient)."""
        if isinstance(ref, ListInfo):
            return ref
        key = ref.strip().lower()
        with self._lock:
            if key in self._lists:
                return self._lists[key]
        m = _GUID.match(ref.strip())
        path = (ListTarget.by_id(m.group(1)) if m else ListTarget.by_title(ref)).path
        try:
            d = self.get(path, {"$select": "Id,Title,ListItemEntityTypeFullName"}, list=ref)
        except NotFoundError as exc:
            raise exc.located(list=ref) from None
        info = ListInfo(str(d["Id"]), str(d["Title"]), str(d.get("ListItemEntityTypeFullName") or ""))
        with self._lock:
            self._lists[key] = info
            self._lists[info.id.lower()] = info
        return info

    def forget_list(self, ref: ListRef) -> None:
        """Drop a cached list resolution (after a rename or delete)."""
        with self._lock:
            key = ref.id if isinstance(ref, ListInfo) else ref
            self._lists.pop(key.strip().lower(), None)

    def iter_pages(self, url: str, **where: Any) -> Iterator[list[dict[str, Any]]]:
        """Follow ``__next`` from an absolute first-page URL; yields each page's raw ``results``."""
        seen: set[str] = set()
        while url:
            if url in seen:
                raise SharePointError(
                    f"paging loops: {url} was returned twice as __next", site=self.url, **where
                )
            seen.add(url)
            payload = self._json(self._send(RequestOptions(url), **where))
            d = payload.get("d", payload) if isinstance(payload, dict) else {}
            results = d.get("results") if isinstance(d, dict) else None
            if not isinstance(results, list):
                raise SharePointError("a page of items had no 'results' list", site=self.url, **where)
            yield results
            url = d.get("__next") or ""

    def rest_of_pages(self, result: OperationResult, **where: Any) -> Iterator[dict[str, Any]]:
        """The normalised items of the pages after a batched first page (``result.next_url``).

        A ``$batch`` GET of ``…/items?$top=N`` answers one page; this reads only the remaining
        pages (nothing when the first page was the last).
        """
        if not result.next_url:
            return
        for page in self.iter_pages(result.next_url, **where):
            for raw in page:
                yield normalise_item(raw)

    def iter_items(
        self,
        list_ref: ListRef,
        *,
        select: Sequence[str] | None = None,
        filter: str | None = None,
        expand: Sequence[str] | None = None,
        orderby: str | None = None,
        page_size: int = 500,
    ) -> Iterator[dict[str, Any]]:
        """All items of a list, page by page via ``__next`` (never ``get_all``/``paged``; docs/sharepoint.md, "Paging").

        Items are normalised (:func:`~veiviser.sharepoint.values.normalise_item`). ``orderby`` is
        sent as ``$orderby`` (the library's ``order_by`` sends ``$order_by``). Build ``filter`` literals with ``odata_literal``.
        """
        if not 1 <= page_size <= 5000:
            raise ValueError("page_size must be between 1 and 5000")
        info = self.resolve_list(list_ref)
        params = {
            "$select": ",".join(select) if select else None,
            "$filter": filter,
            "$expand": ",".join(expand) if expand else None,
            "$orderby": orderby,
            "$top": page_size,
        }
        url = encode_url(f"{self.service_root}/{info.path}/items") + query_string(params)
        for page in self.iter_pages(url, list=info.title):
            for raw in page:
                yield normalise_item(raw)

    # -- batch ------------------------------------------------------------------------------

    def _render_batch_body(self, request: RequestOptions) -> None:
        """beforeExecute hook (after auth and digest): render a batch body with the current headers."""
        render = getattr(request, "_veiviser_render", None)
        if render is not None:
            request.data = render(request.headers)

    def _post_batch(self, ops: list[Operation]) -> list[RawPart]:
        state: dict[str, str] = {}

        def render(headers: Mapping[str, str]) -> bytes:
            extra = {k: v for k, v in headers.items() if k.lower() in ("authorization", "x-requestdigest")}
            boundary, body = render_batch(ops, self.service_root, extra)
            headers["Content-Type"] = f"multipart/mixed; boundary={boundary}"  # type: ignore[index]
            state["boundary"] = boundary
            return body

        request = RequestOptions(f"{self.service_root}/$batch", method=HttpMethod.Post, data=b"")
        request._veiviser_render = render  # type: ignore[attr-defined]
        response = self._send(request)
        return parse_batch_response(response.headers.get("Content-Type", ""), response.content)

    def batch(
        self,
        operations: Iterable[Operation],
        *,
        max_ops: int = 100,
        max_bytes: int = 1_048_576,
    ) -> list[OperationResult]:
        """Run operations in ``$batch`` requests; one :class:`OperationResult` per operation, same order.

        Split by ``max_ops`` and ``max_bytes``. Transient sub-responses (408/429/5xx; 500/502/504 only
        for operations safe to re-send) are re-sent after the largest ``Retry-After``, within the
        retry caps; permanent failures are reported per row and do not stop the others.
        """
        runner = BatchRunner(
            site=self.url,
            service_root=self.service_root,
            post=self._post_batch,
            invalidate_digest=lambda: self._ctx.pending_request().invalidate_digest(),
            policy=self.session.policy,
            limiter=self.limiter,
            sleep=self._sleep,
        )
        return runner.run(operations, max_ops=max_ops, max_bytes=max_bytes)

    # -- item helpers -----------------------------------------------------------------------

    def create_items(
        self, list_ref: ListRef, rows: Iterable[Mapping[str, Any]], **batch_options: Any
    ) -> list[OperationResult]:
        """Create one item per row (keys = row positions); ``value`` is the created item."""
        info = self.resolve_list(list_ref)
        ops = [
            create_item(
                info.target,
                row,
                info.entity_type,
                context=f"list {info.title!r}, row {n}",
                key=n,
                list=info.title,
            )
            for n, row in enumerate(rows)
        ]
        return self.batch(ops, **batch_options)

    def update_items(
        self, list_ref: ListRef, changes: Mapping[int, Mapping[str, Any]], **batch_options: Any
    ) -> list[OperationResult]:
        """MERGE changed values into items by id (keys = item ids); no per-item type lookups."""
        info = self.resolve_list(list_ref)
        ops = [
            merge_item(
                info.target,
                int(item_id),
                values,
                info.entity_type,
                context=f"list {info.title!r}, item {item_id}",
                key=item_id,
                list=info.title,
            )
            for item_id, values in changes.items()
        ]
        return self.batch(ops, **batch_options)

    def delete_items(
        self, list_ref: ListRef, ids: Iterable[int], **batch_options: Any
    ) -> list[OperationResult]:
        """Delete items by id (keys = item ids)."""
        info = self.resolve_list(list_ref)
        ops = [delete_item(info.target, int(i), key=i, list=info.title) for i in ids]
        return self.batch(ops, **batch_options)

    def ensure_user(self, email: str) -> int:
        """The site's user id for an e-mail/UPN (``EnsureUser``; cached per SiteClient).

        Raises :class:`~veiviser.sharepoint.errors.UnknownUserError` when the tenant does not know
        the person.
        """
        key = email.strip().lower()
        with self._lock:
            if key in self._users:
                return self._users[key]
        try:
            d = self.run(ensure_user(email.strip()))
        except UnknownUserError as exc:
            raise _unknown(email.strip(), exc) from None
        user_id = int(d["Id"])
        with self._lock:
            self._users[key] = user_id
        return user_id

    def ensure_users(self, emails: Iterable[str]) -> tuple[dict[str, int], dict[str, UnknownUserError]]:
        """Site user ids for e-mails/UPNs, the ones not yet known in one ``$batch`` of ``EnsureUser``.

        Returns ``(ids, unknown)`` keyed by the lower-case e-mail: ``ids`` of the people the site
        knows now, ``unknown`` the people the tenant does not know (docs/sharepoint.md, "People"). Any other failure is raised.
        """
        wanted: dict[str, str] = {}
        for email in emails:
            if email and email.strip():
                wanted.setdefault(email.strip().lower(), email.strip())
        with self._lock:
            missing = [e for key, e in wanted.items() if key not in self._users]
        unknown: dict[str, UnknownUserError] = {}
        for r in self.batch([ensure_user(e, key=e) for e in missing]) if missing else []:
            if r.ok:
                with self._lock:
                    self._users[str(r.key).lower()] = int(r.value["Id"])
            elif isinstance(r.error, UnknownUserError):
                unknown[str(r.key).lower()] = _unknown(str(r.key), r.error)
            else:
                raise r.error or SharePointError(f"EnsureUser answered HTTP {r.status}", site=self.url)
        with self._lock:
            ids = {key: self._users[key] for key in wanted if key in self._users}
        return ids, unknown

    def remember_users(self, ids: Mapping[str, int]) -> None:
        """Seed the user cache with ids this site already answered (e.g. from another client's check)."""
        with self._lock:
            self._users.update({e.strip().lower(): int(i) for e, i in ids.items()})


def _unknown(email: str, error: UnknownUserError) -> UnknownUserError:
    """The tenant's refusal of a person, said the way a user reads it."""
    return UnknownUserError(
        f"{email} is not a user in the tenant", site=error.site, status=error.status, code=error.code
    )


def settings_from_env() -> ConnectionSettings:
    """Connection settings from the ``VEIVISER_*`` environment; a clear error when incomplete."""
    try:
        return ConnectionSettings()  # fields come from VEIVISER_* variables
    except pydantic.ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        raise VeiviserError(
            f"SharePoint connection settings are incomplete: {problems}",
            hint="See the VEIVISER_* variables in the README.",
        ) from None


def connect(
    site_url: str,
    settings: ConnectionSettings | None = None,
    *,
    counter: RequestCounter | None = None,
    limiter: RateLimiter | None = None,
) -> SiteClient:
    """A :class:`SiteClient` for ``site_url``. Settings default to the ``VEIVISER_*`` environment.

    Without a ``limiter`` the client paces with the process's limiter for the tenant
    (:func:`~veiviser.sharepoint.transport.shared_limiter`), which every other SiteClient of that
    host shares, with what it has learned of the tenant's budget.
    """
    if settings is None:
        settings = settings_from_env()
    if not re.match(r"^https?://[^/]+", site_url or ""):
        raise VeiviserError(
            f"not a site URL: {site_url!r}", hint="Use https://<tenant>.sharepoint.com/sites/<name>."
        )
    site_url = site_url.rstrip("/")
    session = GatewaySession(
        user_agent=user_agent(settings.org),
        policy=RetryPolicy(settings.retry_max_attempts, settings.retry_max_total_seconds),
        counter=counter,
        limiter=limiter if limiter is not None else shared_limiter(site_url, settings.ru_per_minute),
        proxy=settings.proxy,
    )
    proxies = {"http": settings.proxy, "https": settings.proxy} if settings.proxy else None
    ctx = (
        ClientContext(site_url)
        .with_access_token(token_provider(settings, site_url))
        .with_transport(proxies=proxies, timeout=settings.timeout, session=session)
    )
    return SiteClient(ctx, settings=settings, session=session)


__all__ = [
    "ListInfo",
    "ListRef",
    "Operation",
    "OperationResult",
    "SiteClient",
    "TransportError",
    "connect",
]
