"""A run shared by several worker processes: the run's site queue (``sync_claims``) and who works on it.

Several ``veiviser sync run --worker`` processes, on one machine or many, sharing one store, form
one run: the first creates it, holds the run lock row as ``shared-run:<id>`` and queues every site;
the others join it. Each worker claims a pending site (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite the database's write lock serialises the claims), keeps its claims and the
lock row alive with its heartbeat, and marks each site done. A claim whose expiry passed (its worker
died) is claimed again by another worker. The last worker to find the queue empty finishes the run
and releases the lock. See docs/sync.md, "Several workers, several hubs".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from veiviser.sync.lock import (
    RUN_LOCK,
    SHARED,
    LockHeldError,
    RunLock,
    RunLocks,
    end_session,
    held_error,
    holder_is_dead,
    make_owner,
    this_process,
)
from veiviser.sync.schema import (
    claims_table,
    from_db,
    locks_table,
    run_sites_table,
    runs_table,
    to_db,
    utcnow,
)


@dataclass(frozen=True)
class QueuedSite:
    """A site in a shared run's queue: where it lives, which hub it belongs to, how it was found."""

    url: str
    hub_url: str
    title: str = ""
    source: str = "register"
    register_id: int | None = None


@dataclass
class SharedRun:
    """This worker's place in a shared run: the run, the lock row it keeps alive, whether it made it."""

    run_id: int
    lock: RunLock
    worker: str
    created: bool


def hubs_key(hubs: Sequence[str]) -> str:
    """The run log's ``hub_url`` for a run over several hubs: their URLs, space-separated, in order."""
    return " ".join(h.rstrip("/") for h in hubs)


class Claims(RunLocks):
    """Shared runs and their site queue in the state store (part of :class:`~veiviser.sync.state.StateStore`)."""

    def start_or_join_run(
        self,
        hubs: Sequence[str],
        sites: Sequence[QueuedSite],
        *,
        ttl: timedelta,
        shared: bool = True,
        worker: str | None = None,
    ) -> SharedRun:
        """Join the live shared run of the same hubs, or start one with ``sites`` queued.

        With ``shared=False`` the run is this process's alone (the lock row is not joinable). Raises
        :class:`~veiviser.sync.lock.LockHeldError` when a live run of another kind or of other hubs
        holds the lock. A dead holder's lock is taken over and its runs abandoned, as
        :meth:`~veiviser.sync.lock.RunLocks.acquire_lock` does.
        """
        worker = worker or make_owner()
        session = self._advisory_session(RUN_LOCK, shared=shared) if self.is_postgres else None
        try:
            for _attempt in range(20):
                try:
                    return self._start_or_join(hubs, sites, ttl, shared, worker, session)
                except IntegrityError:  # another worker created the run at the same moment: join it
                    continue
            raise LockHeldError("Could not start or join the shared sync run: the lock row kept changing.")
        except BaseException:
            if session is not None:
                end_session(*session)
            raise

    def _start_or_join(
        self,
        hubs: Sequence[str],
        sites: Sequence[QueuedSite],
        ttl: timedelta,
        shared: bool,
        worker: str,
        session: tuple[Connection, int] | None,
    ) -> SharedRun:
        now = to_db(utcnow())
        key = hubs_key(hubs)
        taken_over: tuple[dict[str, Any], str] | None = None
        with self._begin() as conn:
            if conn.dialect.name == "sqlite":  # take SQLite's write lock first: one worker decides at a time
                conn.execute(locks_table.update().where(sa.false()).values(name=locks_table.c.name))
            row = (
                conn.execute(sa.select(locks_table).where(locks_table.c.name == RUN_LOCK).with_for_update())
                .mappings()
                .first()
            )
            if row is not None:
                # The advisory lock proves an exclusive holder dead (it would hold the lock exclusively);
                # the workers of a shared run hold it together, so for them the heartbeat decides.
                proven = session is not None and not (shared and str(row["owner"]).startswith(SHARED))
                reason = self._dead_reason(row, now, proven=proven)
                if reason is None and shared and str(row["owner"]).startswith(SHARED):
                    run_id = int(str(row["owner"])[len(SHARED) :])
                    run_hubs = conn.execute(
                        sa.select(runs_table.c.hub_url).where(runs_table.c.id == run_id)
                    ).scalar()
                    if run_hubs != key:
                        raise LockHeldError(
                            f"A shared sync run of other hubs is in progress (run {run_id}: {run_hubs}).",
                            hint="Start workers with the same --hub list, or wait for that run to finish.",
                        )
                    lock = RunLock(self, RUN_LOCK, str(row["owner"]), ttl, session, keep_row=True)
                    return SharedRun(run_id, lock, worker, created=False)
                if reason is None:
                    raise held_error(RUN_LOCK, row)
                taken_over = (dict(row), reason)
                conn.execute(
                    locks_table.delete().where(
                        locks_table.c.name == RUN_LOCK, locks_table.c.owner == row["owner"]
                    )
                )
            run_id = int(
                conn.execute(
                    runs_table.insert().values(
                        hub_url=key, owner=worker, started_at=now, status="running", counts={}
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            owner = f"{SHARED}{run_id}" if shared else worker
            conn.execute(runs_table.update().where(runs_table.c.id == run_id).values(owner=owner))
            conn.execute(
                locks_table.insert().values(
                    name=RUN_LOCK,
                    owner=owner,
                    acquired_at=now,
                    heartbeat_at=now,
                    expires_at=now + ttl,
                    **this_process(),
                )
            )
            self._enqueue(conn, run_id, sites)
        lock = RunLock(self, RUN_LOCK, owner, ttl, session, keep_row=shared)
        if taken_over is not None:
            old, reason = taken_over
            lock.takeover_message = (
                f"Took over the sync lock '{RUN_LOCK}' from {old['owner']} ({reason}; last heartbeat "
                f"{from_db(old['heartbeat_at']):%Y-%m-%d %H:%M:%S} UTC); that run was killed or lost "
                "its database connection, and is marked abandoned."
            )
            self.abandon_runs(str(old["owner"]), lock.takeover_message)
        return SharedRun(run_id, lock, worker, created=True)

    @staticmethod
    def _dead_reason(row: Any, now: datetime, *, proven: bool) -> str | None:
        if proven:
            return "its database session ended"
        if not str(row["owner"]).startswith(SHARED) and (dead := holder_is_dead(row)) is not None:
            return dead
        if row["expires_at"] <= now:
            return f"its heartbeat expired at {from_db(row['expires_at']):%Y-%m-%d %H:%M:%S} UTC"
        return None

    @staticmethod
    def _enqueue(conn: Connection, run_id: int, sites: Sequence[QueuedSite]) -> None:
        seen: set[str] = set()
        rows = []
        for s in sites:
            if s.url.rstrip("/").lower() in seen:
                continue  # a site in two hubs' registers is synced once, with the first hub
            seen.add(s.url.rstrip("/").lower())
            info = {"title": s.title, "source": s.source, "register_id": s.register_id}
            rows.append(
                {
                    "run_id": run_id,
                    "site_url": s.url,
                    "hub_url": s.hub_url,
                    "site": json.loads(json.dumps(info, default=str)),
                    "status": "pending",
                    "attempts": 0,
                }
            )
        if rows:
            conn.execute(claims_table.insert(), rows)

    def claim_site(self, run_id: int, worker: str, ttl: timedelta) -> QueuedSite | None:
        """The next pending (or expired) site of the run, now claimed by ``worker``; None if none is free."""
        now = to_db(utcnow())
        free = sa.or_(
            claims_table.c.status == "pending",
            (claims_table.c.status == "claimed") & (claims_table.c.expires_at < now),
        )
        with self._begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(claims_table.update().where(sa.false()).values(status=claims_table.c.status))
            row = (
                conn.execute(
                    sa.select(claims_table)
                    .where(claims_table.c.run_id == run_id, free)
                    .order_by(claims_table.c.site_url)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            conn.execute(
                claims_table.update()
                .where(claims_table.c.run_id == run_id, claims_table.c.site_url == row["site_url"])
                .values(
                    status="claimed",
                    worker=worker,
                    claimed_at=now,
                    expires_at=now + ttl,
                    attempts=claims_table.c.attempts + 1,
                )
            )
        info = dict(row["site"] or {})
        return QueuedSite(
            row["site_url"],
            row["hub_url"],
            str(info.get("title") or ""),
            str(info.get("source") or "register"),
            info.get("register_id"),
        )

    def finish_claim(self, run_id: int, site_url: str, worker: str, status: str) -> bool:
        """Mark a claimed site done (or failed); False if the claim had passed to another worker."""
        with self._begin() as conn:
            return bool(
                conn.execute(
                    claims_table.update()
                    .where(
                        claims_table.c.run_id == run_id,
                        claims_table.c.site_url == site_url,
                        claims_table.c.worker == worker,
                    )
                    .values(status="done" if status == "ok" else "failed", finished_at=to_db(utcnow()))
                ).rowcount
            )

    def renew_claims(self, run_id: int, worker: str, ttl: timedelta) -> int:
        """Extend the expiry of every site ``worker`` is working on (called by its heartbeat)."""
        now = to_db(utcnow())
        with self._begin() as conn:
            return conn.execute(
                claims_table.update()
                .where(
                    claims_table.c.run_id == run_id,
                    claims_table.c.worker == worker,
                    claims_table.c.status == "claimed",
                )
                .values(expires_at=now + ttl)
            ).rowcount

    def queue_counts(self, run_id: int) -> dict[str, int]:
        """How many of the run's sites are pending, claimed, done and failed."""
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(claims_table.c.status, sa.func.count())
                .where(claims_table.c.run_id == run_id)
                .group_by(claims_table.c.status)
            ).all()
        out = {"pending": 0, "claimed": 0, "done": 0, "failed": 0}
        out.update({str(status): int(n) for status, n in rows})
        return out

    def finish_shared_run(self, run_id: int, lock_owner: str, *, message: str | None = None) -> str | None:
        """Finish the run if its queue is empty (once, by whichever worker gets here first).

        Returns the run's status (``ok`` or ``partial``), or None when sites are still pending or
        claimed, or another worker finished it already. The lock row is released with it.
        """
        with self._begin() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    sa.select(claims_table.c.status, sa.func.count())
                    .where(claims_table.c.run_id == run_id)
                    .group_by(claims_table.c.status)
                ).all()
            )
            if counts.get("pending") or counts.get("claimed"):
                return None
            failed = int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(run_sites_table)
                    .where(run_sites_table.c.run_id == run_id, run_sites_table.c.status == "failed")
                ).scalar()
                or 0
            )
            status = "partial" if failed else "ok"
            totals: dict[str, int] = {}
            for (site_counts,) in conn.execute(
                sa.select(run_sites_table.c.counts).where(run_sites_table.c.run_id == run_id)
            ):
                for name, value in (site_counts or {}).items():
                    if isinstance(value, int):
                        totals[name] = totals.get(name, 0) + value
            totals.update(sites=sum(int(n) for n in counts.values()), failed_sites=failed)
            done = conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id, runs_table.c.status == "running")
                .values(status=status, finished_at=to_db(utcnow()), counts=totals, message=message)
            ).rowcount
            conn.execute(
                locks_table.delete().where(locks_table.c.name == RUN_LOCK, locks_table.c.owner == lock_owner)
            )
        return status if done else None
