"""Item queries: ``$select``/``$filter``/``$orderby``/``$top`` paging, the list view threshold, CAML ``GetItems``."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from .. import fields as F
from ..api import ApiResponse, RestError
from ..odata import (
    Compare,
    Field,
    Literal,
    Logical,
    bad_query,
    evaluate,
    filter_fields,
    parse_filter,
    parse_orderby,
)
from .common import (
    ARGUMENT,
    DEFAULT_PAGE,
    MAX_PAGE,
    THROTTLED,
    VIEW_THRESHOLD,
    Ctx,
    norm_guid,
    sort_key,
    unwrap,
)
from .core import ModelCore


def _throttled() -> RestError:
    """SPO's answer to a query over the list view threshold (docs/emulator.md, "Errors")."""
    return RestError(
        500, THROTTLED, "The attempted operation is prohibited because it exceeds the list view threshold."
    )


def _conjuncts(tree: Any) -> list[Any]:
    """The conditions joined by ``and`` at the top of a filter (one for any other filter)."""
    if isinstance(tree, Logical) and tree.op.lower() == "and":
        return _conjuncts(tree.left) + _conjuncts(tree.right)
    return [tree]


class Queries(ModelCore):
    """Item queries: filters, ordering, paging and the list view threshold (docs/emulator.md, "Paging")."""

    def _resolver(
        self, ctx: Ctx, lst: dict[str, Any], emap: dict[str, dict[str, Any]]
    ) -> tuple[Callable[[str], None], Callable[[str], bool], Callable[[dict[str, Any], str], Any]]:
        """Three closures over the list's fields: ``check(path)`` raises for an unknown column,
        ``indexed(path)`` tells whether a filter on it passes the view threshold, and
        ``resolve_in(item, path)`` reads a (lookup, taxonomy, URL, …) value as filters compare it."""
        lowmap = {k.lower(): v for k, v in emap.items()}
        ct_names = {c["StringId"]: c["Name"] for c in self._ctypes(ctx.site, lst)}

        def field_for(name: str) -> tuple[dict[str, Any] | None, str]:
            fld = emap.get(name) or lowmap.get(name.lower())
            if fld is not None:
                return fld, "value"
            if name.lower().endswith("id"):
                lk = emap.get(name[:-2]) or lowmap.get(name[:-2].lower())
                if lk is not None and F.is_lookup(lk):
                    return lk, "id"
            return None, ""

        def check(path: str) -> None:
            head = path.split("/")[0]
            if head.lower() in ("id", "contenttype", "contenttypeid"):
                return
            fld, _ = field_for(head)
            if fld is None:
                raise RestError(
                    400,
                    ARGUMENT,
                    f"Column '{head}' does not exist. It may have been deleted by another user.",
                )

        def indexed(path: str) -> bool:
            head = path.split("/")[0]
            if head.lower() in ("id",):
                return True
            fld, _ = field_for(head)
            return bool(fld and fld.get("Indexed"))

        def resolve_in(item: dict[str, Any], path: str) -> Any:
            head, _, sub = path.partition("/")
            low = head.lower()
            if low == "id":
                return item["ID"]
            if low == "contenttype":
                return ct_names.get(item.get("ContentTypeId"))
            if low == "contenttypeid":
                return item.get("ContentTypeId")
            fld, mode = field_for(head)
            if fld is None:
                return None
            if fld.get("IsDependentLookup"):
                primary = next(
                    (f for f in emap.values() if f["Id"] == norm_guid(fld.get("PrimaryFieldId"))), None
                )
                value = item.get(primary["InternalName"]) if primary else None
            else:
                value = item.get(fld["InternalName"])
            if F.is_lookup(fld) and mode == "id":
                return value
            if F.is_lookup(fld) and not sub:
                sub = "Id" if F.is_user(fld) else (fld.get("LookupField") or "Title")
            if F.is_lookup(fld) and sub:
                ids = value if isinstance(value, list) else ([value] if value is not None else [])
                vals = []
                for tid in ids:
                    target = self._lookup_target(ctx, {**fld, "IsDependentLookup": False}, tid)
                    vals.append(target.get(sub, target.get(sub.capitalize())))
                return vals if isinstance(value, list) else (vals[0] if vals else None)
            t = fld["TypeAsString"]
            if t.startswith("Taxonomy") and value:
                terms = value if isinstance(value, list) else [value]
                labels = [x["Label"] for x in terms]
                return labels if isinstance(value, list) else labels[0]
            if t == "URL" and value:
                return value.get("Url")
            return value

        return check, indexed, resolve_in

    def _query_items(self, ctx: Ctx, lst: dict[str, Any]) -> ApiResponse:
        opts = ctx.opts
        items = self.store.items(lst["Id"])
        flds = self.store.under("field", lst["Id"])
        emap = {f["EntityPropertyName"]: f for f in flds}
        check, indexed, resolve_in = self._resolver(ctx, lst, emap)
        tree = parse_filter(opts.filter) if opts.filter else None
        order = parse_orderby(opts.orderby) if opts.orderby else []
        if opts.get("$order_by") is not None:
            raise bad_query("The query parameter '$order_by' is not supported; use $orderby.")
        referenced = (filter_fields(tree) if tree is not None else []) + [k for k, _ in order]
        for path in referenced:
            check(path)
        # An equality on an indexed text column is answered through its index, as SPO does: the
        # threshold check counts among those items only, not by scanning the list.
        pool = self._indexed_candidates(lst, tree, emap, items) if tree is not None else None
        if len(items) > VIEW_THRESHOLD:
            self._check_threshold(items.values() if pool is None else pool, tree, order, indexed, resolve_in)
        top = DEFAULT_PAGE if opts.top is None else min(opts.top, MAX_PAGE)
        after = opts.skiptoken.get("p_ID")
        try:
            after_id = int(after) if after not in (None, "") else None
        except ValueError as exc:
            raise bad_query(f"Invalid $skiptoken p_ID '{after}'.") from exc
        rows: list[dict[str, Any]]
        more = False
        if tree is None and not order:
            ids = list(items.keys())
            start = 0
            if after_id is not None:
                start = bisect.bisect_right(ids, after_id)
            chosen = ids[start : start + top]
            more = start + top < len(ids)
            rows = [items[i] for i in chosen]
        else:
            candidates = self._indexed_candidates(lst, tree, emap, items) if pool is None else pool
            if tree is not None:
                candidates = [it for it in candidates if evaluate(tree, functools.partial(resolve_in, it))]
            if order:
                candidates.sort(key=lambda it: it["ID"])
                for key, desc in reversed(order):

                    def by_key(it: dict[str, Any], k: str = key) -> tuple[int, Any]:
                        return sort_key(resolve_in(it, k))

                    candidates.sort(key=by_key, reverse=desc)
            start = 0
            if after_id is not None:
                pos = next((i for i, it in enumerate(candidates) if it["ID"] == after_id), None)
                if pos is not None:
                    start = pos + 1
                elif not order:
                    start = next(
                        (i for i, it in enumerate(candidates) if it["ID"] > after_id), len(candidates)
                    )
            rows = candidates[start : start + top]
            more = start + top < len(candidates)
        results = [self._item_json(ctx, lst, it, opts, flds) for it in rows]
        payload: dict[str, Any] = {"results": results}
        if more and rows:
            payload["__next"] = self._next_url(ctx, rows[-1]["ID"])
        return ApiResponse.json({"d": payload})

    def _check_threshold(
        self,
        items: Iterable[dict[str, Any]],
        tree: Any,
        order: list[tuple[str, bool]],
        indexed: Callable[[str], bool],
        resolve_in: Callable[[dict[str, Any], str], Any],
    ) -> None:
        """Refuse a query on a list over the threshold that SPO would have to scan for
        (docs/emulator.md, "List view threshold"): ordering on a column that is not indexed, a
        filter without an indexed condition joined by ``and`` at its top, or indexed conditions that
        still match more than :data:`VIEW_THRESHOLD` items. ``ID`` is indexed, and a filter on ``ID``
        alone passes at any size (SPO reads the ID range directly). ``items`` are the list's items,
        or those the filter's index lookup found."""
        if any(not indexed(key) for key, _ in order):
            raise _throttled()
        if tree is None:
            return
        conjuncts = _conjuncts(tree)
        usable = [c for c in conjuncts if all(indexed(p) for p in filter_fields(c))]
        if not usable:
            raise _throttled()
        if all(p.split("/")[0].lower() == "id" for c in usable for p in filter_fields(c)):
            return
        matched = sum(
            1 for it in items if all(evaluate(c, functools.partial(resolve_in, it)) for c in usable)
        )
        if matched > VIEW_THRESHOLD:
            raise _throttled()

    def _indexed_candidates(
        self,
        lst: dict[str, Any],
        tree: Any,
        emap: dict[str, dict[str, Any]],
        items: dict[int, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """The items a filter can match: through the column's index when the filter is equality
        with text (``Col eq 'a' or Col eq 'b'``) on one indexed text column, else every item. The
        filter is still evaluated on the result (docs/emulator.md, "Indexed columns")."""
        values = _text_equalities(tree)
        fld = emap.get(values[0]) if values else None
        if not values or fld is None or not fld.get("Indexed") or fld.get("TypeAsString") != "Text":
            return list(items.values())
        index = self.store.text_index(lst["Id"], fld["InternalName"])
        ids = sorted({iid for value in values[1] for iid in index.get(value, ())})
        return [items[i] for i in ids if i in items]

    def _next_url(self, ctx: Ctx, last_id: int) -> str:
        parts = [(k, v) for k, v in ctx.opts.raw if k.lower() not in ("$skiptoken", "p_id", "paged", "$skip")]
        token = quote(f"Paged=TRUE&p_ID={last_id}", safe="")
        safe = "$',/:()*@"
        query = "&".join(f"{k}={quote(v, safe=safe)}" for k, v in parts)
        path = quote(ctx.request.path, safe="/()'$:@,=")
        sep = "&" if query else ""
        return f"{ctx.request.scheme}://{ctx.request.host}{path}?{query}{sep}$skiptoken={token}"

    def _get_items_caml(self, ctx: Ctx, lst: dict[str, Any]) -> ApiResponse:
        query = unwrap(ctx.request.json(), "query")
        view_xml = str(query.get("ViewXml") or "")
        m = re.search(r"<RowLimit[^>]*>\s*(\d+)\s*</RowLimit>", view_xml, re.I)
        limit = int(m.group(1)) if m else None
        paging = query.get("ListItemCollectionPosition")
        after = 0
        if isinstance(paging, dict):
            pm = re.search(r"p_ID=(\d+)", str(paging.get("PagingInfo") or ""))
            after = int(pm.group(1)) if pm else 0
        items = self.store.items(lst["Id"])
        chosen = [it for iid, it in items.items() if iid > after]
        if len(items) > VIEW_THRESHOLD and "<where>" in view_xml.lower():
            raise _throttled()
        if limit is not None:
            chosen = chosen[:limit]
        flds = self.store.under("field", lst["Id"])
        return ApiResponse.json(
            {"d": {"results": [self._item_json(ctx, lst, it, None, flds) for it in chosen]}}
        )


def _text_equalities(tree: Any) -> tuple[str, list[str]] | None:
    """``(column, [values])`` when ``tree`` is ``Col eq 'v'`` or an ``or`` of those on one column."""
    if isinstance(tree, Compare) and tree.op == "eq":
        if isinstance(tree.left, Field) and isinstance(tree.right, Literal) and tree.right.kind == "str":
            return tree.left.name, [tree.right.value]
        return None
    if isinstance(tree, Logical) and tree.op == "or":
        left, right = _text_equalities(tree.left), _text_equalities(tree.right)
        if left is not None and right is not None and left[0] == right[0]:
            return left[0], left[1] + right[1]
    return None
