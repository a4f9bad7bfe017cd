"""The sync's state: change tokens, the central item map, site summaries and the run log.

:class:`StateStore` is the one object the sync, the CLI and the reports open: it is this module's
state, :class:`~veiviser.sync.history.History` (row versions),
:class:`~veiviser.sync.lock.RunLocks` (the run lock) and :class:`~veiviser.sync.claims.Claims`
(a run's site queue, shared by worker processes) over one database
(:mod:`veiviser.sync.schema`). The tables:

- ``sync_tokens``: the change token per (site, list) with the list id it belongs to and when it
  was issued (SharePoint Online never says a token expired, so the age is tracked here);
- ``sync_central``: per source row, the hub item it was written to and the hash of what was written;
- ``sync_site_summary``: per site, row count and findings, so an unchanged site costs one read;
- ``sync_runs``, ``sync_run_sites``, ``sync_findings``: the run log.

Every write is idempotent. See docs/sync.md, "The state store".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from veiviser.sync.claims import Claims
from veiviser.sync.history import History
from veiviser.sync.quality import QualityFinding
from veiviser.sync.schema import (
    central_table,
    chunks,
    findings_table,
    from_db,
    last_finished_run_id,
    run_sites_table,
    runs_table,
    summaries_table,
    to_db,
    tokens_table,
    utcnow,
)


@dataclass(frozen=True)
class TokenRecord:
    """A stored change token."""

    site_id: str
    list_name: str
    list_id: str
    token: str
    issued_at: datetime
    site_url: str = ""


@dataclass(frozen=True)
class SiteRunResult:
    """One site's outcome in a run."""

    site_url: str
    status: str  # ok | failed | skipped
    site_id: str | None = None
    title: str | None = None
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


class StateStore(Claims, History):
    """The sync's state and history database. Creates tables on first use; safe to share by threads."""

    # -- change tokens --

    def get_token(self, site_id: str, list_name: str) -> TokenRecord | None:
        with self._begin() as conn:
            row = conn.execute(
                sa.select(tokens_table).where(
                    tokens_table.c.site_id == site_id, tokens_table.c.list_name == list_name
                )
            ).first()
        return _token_from_row(row) if row else None

    def tokens_for_site(self, site_id: str) -> dict[str, TokenRecord]:
        """All stored tokens of a site, by list name."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(tokens_table).where(tokens_table.c.site_id == site_id)).all()
        return {row.list_name: _token_from_row(row) for row in rows}

    def tokens_for_url(self, site_url: str) -> dict[str, TokenRecord]:
        """All stored tokens of the site at a URL, by list name (the site id is checked by the caller)."""
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(tokens_table).where(tokens_table.c.site_url == site_url.rstrip("/").lower())
            ).all()
        return {row.list_name: _token_from_row(row) for row in rows}

    def set_tokens(self, records: Iterable[TokenRecord], *, run_id: int | None = None) -> None:
        """Store (insert or replace) tokens in one transaction."""
        records = list(records)
        if not records:
            return
        with self._begin() as conn:
            for rec in records:
                key = (tokens_table.c.site_id == rec.site_id) & (tokens_table.c.list_name == rec.list_name)
                values = {
                    "list_id": rec.list_id,
                    "token": rec.token,
                    "issued_at": to_db(rec.issued_at),
                    "site_url": rec.site_url.rstrip("/").lower(),
                    "run_id": run_id,
                }
                updated = conn.execute(tokens_table.update().where(key).values(**values)).rowcount
                if not updated:
                    conn.execute(
                        tokens_table.insert().values(site_id=rec.site_id, list_name=rec.list_name, **values)
                    )

    def all_tokens(self) -> dict[str, dict[str, TokenRecord]]:
        """Every stored token by site URL (lower case) and list name: one query for a whole run."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(tokens_table)).all()
        out: dict[str, dict[str, TokenRecord]] = {}
        for row in rows:
            out.setdefault((row.site_url or "").rstrip("/").lower(), {})[row.list_name] = _token_from_row(row)
        return out

    def set_site_summary(
        self, site_id: str, *, site_url: str, title: str | None, rows: int, findings: list[dict[str, Any]]
    ) -> None:
        """Store the row count and findings of a site's current rows (call before its tokens)."""
        values = {
            "site_url": site_url.rstrip("/").lower(),
            "title": title,
            "rows": rows,
            "findings": findings,
            "updated_at": to_db(utcnow()),
        }
        with self._begin() as conn:
            if not conn.execute(
                summaries_table.update().where(summaries_table.c.site_id == site_id).values(**values)
            ).rowcount:
                conn.execute(summaries_table.insert().values(site_id=site_id, **values))

    def site_summary(self, site_id: str) -> dict[str, Any] | None:
        """``{"title", "rows", "findings"}`` stored by :meth:`set_site_summary`, or None."""
        with self._begin() as conn:
            row = (
                conn.execute(sa.select(summaries_table).where(summaries_table.c.site_id == site_id))
                .mappings()
                .first()
            )
        return (
            None
            if row is None
            else {"title": row["title"], "rows": int(row["rows"]), "findings": list(row["findings"] or [])}
        )

    def record_site_results(
        self, run_id: int, results: Sequence[tuple[SiteRunResult, Iterable[QualityFinding]]]
    ) -> None:
        """Several sites' outcomes and findings in one transaction (see :meth:`record_site_result`)."""
        if not results:
            return
        with self._begin() as conn:
            for result, findings in results:
                self._site_result(conn, run_id, result)
                rows = _finding_rows(run_id, findings)
                if rows:
                    conn.execute(findings_table.insert(), rows)

    def set_token(self, record: TokenRecord, *, run_id: int | None = None) -> None:
        self.set_tokens([record], run_id=run_id)

    def delete_tokens(self, site_id: str, list_names: Sequence[str] | None = None) -> None:
        """Forget tokens of a site (all, or the named lists): the next run re-reads them fully."""
        stmt = tokens_table.delete().where(tokens_table.c.site_id == site_id)
        if list_names is not None:
            stmt = stmt.where(tokens_table.c.list_name.in_(list(list_names)))
        with self._begin() as conn:
            conn.execute(stmt)

    # -- central item map (source key -> hub item id and the hash of what was written) --

    def central_map(self, site_id: str) -> dict[str, dict[str, tuple[int, str]]]:
        """``{kind: {source_key: (central_id, central_hash)}}`` for one site."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(central_table).where(central_table.c.site_id == site_id)).all()
        out: dict[str, dict[str, tuple[int, str]]] = {}
        for r in rows:
            out.setdefault(r.kind, {})[r.source_key] = (int(r.central_id), r.central_hash)
        return out

    def central_etags(self, site_id: str) -> dict[tuple[str, int], str]:
        """``{(kind, central_id): etag}`` of one site's central items, as the sync last wrote them."""
        c = central_table.c
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(c.kind, c.central_id, c.etag).where(c.site_id == site_id, c.etag.is_not(None))
            ).all()
        return {(r.kind, int(r.central_id)): str(r.etag) for r in rows}

    def set_central(
        self,
        kind: str,
        entries: Iterable[tuple[str, str, int, str]],
        etags: Mapping[str, str | None] | None = None,
    ) -> None:
        """Store ``(source_key, site_id, central_id, central_hash)`` entries (insert or replace), with
        the ETag each item got from that write (``etags`` by source key; none: read before the next
        update)."""
        etags = etags or {}
        entries = list(entries)
        if not entries:
            return
        with self._begin() as conn:
            for chunk in chunks(entries):
                conn.execute(
                    central_table.delete().where(
                        central_table.c.kind == kind, central_table.c.source_key.in_([e[0] for e in chunk])
                    )
                )
                conn.execute(
                    central_table.insert(),
                    [
                        {
                            "kind": kind,
                            "source_key": k,
                            "site_id": s,
                            "central_id": c,
                            "central_hash": h,
                            "etag": etags.get(k),
                        }
                        for k, s, c, h in chunk
                    ],
                )

    def drop_central(self, kind: str, source_keys: Iterable[str]) -> None:
        keys = list(source_keys)
        with self._begin() as conn:
            for chunk in chunks(keys):
                conn.execute(
                    central_table.delete().where(
                        central_table.c.kind == kind, central_table.c.source_key.in_(chunk)
                    )
                )

    # -- run log --

    def start_run(self, hub_url: str, *, owner: str = "", at: datetime | None = None) -> int:
        with self._begin() as conn:
            result = conn.execute(
                runs_table.insert().values(
                    hub_url=hub_url,
                    owner=owner,
                    started_at=to_db(at or utcnow()),
                    status="running",
                    counts={},
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def record_site_result(self, run_id: int, result: SiteRunResult) -> None:
        """Store (or replace) one site's outcome for a run."""
        with self._begin() as conn:
            self._site_result(conn, run_id, result)

    @staticmethod
    def _site_result(conn: Connection, run_id: int, result: SiteRunResult) -> None:
        values = {
            "site_id": result.site_id,
            "title": result.title,
            "status": result.status,
            "error": result.error,
            "counts": result.counts,
            "requests": result.requests,
            "started_at": to_db(result.started_at),
            "finished_at": to_db(result.finished_at or utcnow()),
        }
        key = (run_sites_table.c.run_id == run_id) & (run_sites_table.c.site_url == result.site_url)
        if not conn.execute(run_sites_table.update().where(key).values(**values)).rowcount:
            conn.execute(run_sites_table.insert().values(run_id=run_id, site_url=result.site_url, **values))

    def add_findings(self, run_id: int, findings: Iterable[QualityFinding]) -> int:
        rows = _finding_rows(run_id, findings)
        if rows:
            with self._begin() as conn:
                conn.execute(findings_table.insert(), rows)
        return len(rows)

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        counts: dict[str, Any] | None = None,
        message: str | None = None,
        at: datetime | None = None,
    ) -> None:
        with self._begin() as conn:
            conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id)
                .values(
                    status=status,
                    finished_at=to_db(at or utcnow()),
                    counts=counts or {},
                    message=message,
                )
            )

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        with self._begin() as conn:
            rows = (
                conn.execute(sa.select(runs_table).order_by(runs_table.c.id.desc()).limit(limit))
                .mappings()
                .all()
            )
            failed: dict[int, int] = dict(
                conn.execute(
                    sa.select(run_sites_table.c.run_id, sa.func.count())
                    .where(run_sites_table.c.status == "failed")
                    .group_by(run_sites_table.c.run_id)
                ).all()
            )
        return [
            {
                "id": r["id"],
                "hub_url": r["hub_url"],
                "owner": r["owner"],
                "started_at": from_db(r["started_at"]),
                "finished_at": from_db(r["finished_at"]),
                "status": r["status"],
                "counts": r["counts"] or {},
                "message": r["message"],
                "failed_sites": int(failed.get(r["id"], 0)),
            }
            for r in rows
        ]

    def last_run(self, *, finished: bool = True) -> dict[str, Any] | None:
        """The newest run (only finished ones when ``finished``)."""
        with self._begin() as conn:
            if finished:
                run_id = last_finished_run_id(conn)
            else:
                run_id = conn.execute(sa.select(sa.func.max(runs_table.c.id))).scalar()
        if run_id is None:
            return None
        return next(r for r in self.runs(limit=10_000) if r["id"] == run_id)

    def _mappings(self, stmt: sa.Select[Any]) -> Sequence[sa.RowMapping]:
        with self._begin() as conn:
            return conn.execute(stmt).mappings().all()

    def site_results(self, run_id: int) -> list[dict[str, Any]]:
        """Every site's outcome in a run, by URL."""
        rows = self._mappings(
            sa.select(run_sites_table)
            .where(run_sites_table.c.run_id == run_id)
            .order_by(run_sites_table.c.site_url)
        )
        return [
            {
                **dict(r),
                "started_at": from_db(r["started_at"]),
                "finished_at": from_db(r["finished_at"]),
            }
            for r in rows
        ]

    def findings(self, run_id: int) -> list[dict[str, Any]]:
        """A run's data-quality findings, in the order they were recorded."""
        rows = self._mappings(
            sa.select(findings_table).where(findings_table.c.run_id == run_id).order_by(findings_table.c.id)
        )
        out = []
        for r in rows:
            item = dict(r)
            item["value"] = None if r["value"] is None else json.loads(r["value"])
            out.append(item)
        return out

    def site_lag(self, now: datetime | None = None) -> pd.DataFrame:
        """Per site: last successful sync, lag since then, and the latest outcome (with its error)."""
        now = now or utcnow()
        ok = (
            sa.select(
                run_sites_table.c.site_url,
                sa.func.max(run_sites_table.c.finished_at).label("last_ok"),
            )
            .where(run_sites_table.c.status == "ok")
            .group_by(run_sites_table.c.site_url)
            .subquery()
        )
        latest = (
            sa.select(
                run_sites_table.c.site_url,
                sa.func.max(run_sites_table.c.run_id).label("run_id"),
            )
            .group_by(run_sites_table.c.site_url)
            .subquery()
        )
        stmt = (
            sa.select(
                run_sites_table.c.site_url,
                run_sites_table.c.title,
                run_sites_table.c.status,
                run_sites_table.c.error,
                run_sites_table.c.run_id,
                ok.c.last_ok,
            )
            .join(
                latest,
                (latest.c.site_url == run_sites_table.c.site_url)
                & (latest.c.run_id == run_sites_table.c.run_id),
            )
            .outerjoin(ok, ok.c.site_url == run_sites_table.c.site_url)
            .order_by(run_sites_table.c.site_url)
        )
        with self._begin() as conn:
            rows = conn.execute(stmt).mappings().all()
        records = []
        for r in rows:
            last_ok = from_db(r["last_ok"])
            records.append(
                {
                    "site_url": r["site_url"],
                    "title": r["title"],
                    "last_status": r["status"],
                    "last_error": r["error"],
                    "last_run_id": r["run_id"],
                    "last_ok": last_ok,
                    "lag": (now - last_ok) if last_ok else None,
                }
            )
        return pd.DataFrame.from_records(
            records,
            columns=["site_url", "title", "last_status", "last_error", "last_run_id", "last_ok", "lag"],
        )


def _finding_rows(run_id: int, findings: Iterable[QualityFinding]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "site_url": f.site_url,
            "list_title": f.list_title,
            "item_id": f.item_id,
            "field": f.field,
            "value": None if f.value is None else json.dumps(f.value, ensure_ascii=False, default=str),
            "rule": f.rule,
            "message": f.message,
        }
        for f in findings
    ]


def _token_from_row(row: Any) -> TokenRecord:
    return TokenRecord(
        site_id=row.site_id,
        list_name=row.list_name,
        list_id=row.list_id,
        token=row.token,
        issued_at=from_db(row.issued_at),
        site_url=row.site_url or "",
    )
