"""The run lock: at most one sync run at a time, across processes and hosts, on any database.

A row in ``sync_locks`` (owner, host, process id and start, heartbeat, expiry) is the lock. A
holder that died is recognised three ways (see docs/sync.md, "The run lock"):

- on the same host, its process is gone (or the pid now belongs to a younger process): the lock is
  taken over at once;
- on PostgreSQL, the holder also keeps a session-level advisory lock, which the server releases
  when the holder's connection dies: whoever gets the advisory lock knows the row's holder is dead;
- across hosts on any other database, the holder renews the expiry from a daemon thread (every
  third of its one-minute lifetime); once the expiry has passed the lock is taken over.

Every takeover is a compare-and-swap on the stale owner, is logged, and marks that owner's
unfinished runs ``abandoned`` in the run log.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from veiviser.errors import VeiviserError
from veiviser.sync.report import EXIT_LOCK_HELD
from veiviser.sync.schema import Database, advisory_key, from_db, locks_table, runs_table, to_db, utcnow

log = logging.getLogger(__name__)

#: The lock name used by ``veiviser sync run``.
RUN_LOCK = "sync-run"

#: Lock owners of runs shared by several workers start with this (the rest is the run id); such a
#: row has no single holder process (see :mod:`veiviser.sync.claims`).
SHARED = "shared-run:"

#: How long a holder's lock lives without a heartbeat (it renews every third of this).
DEFAULT_TTL = timedelta(minutes=1)


class LockHeldError(VeiviserError):
    """Another run holds the run lock."""

    exit_code = EXIT_LOCK_HELD


class LockLostError(VeiviserError):
    """This run's lock was taken over by another process (our heartbeat stopped for too long)."""

    exit_code = EXIT_LOCK_HELD


def this_process() -> dict[str, Any]:
    """Host, process id and process start time of the calling process (the lock row's holder)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "process_started": _started(pid)}


def _started(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def holder_is_dead(row: Any) -> str | None:
    """Why the holder of a lock row is certainly dead, or None if it may be alive.

    Only a holder on this host can be checked: its process is gone, or its pid was reused by a
    process that started later than the holder did.
    """
    if row.get("host") != socket.gethostname() or not row.get("pid"):
        return None
    pid = int(row["pid"])
    if not psutil.pid_exists(pid):
        return f"its process {pid} on this host is gone"
    started, recorded = _started(pid), row.get("process_started")
    if started is not None and recorded is not None and abs(started - float(recorded)) > 1.0:
        return f"its process {pid} on this host is gone (the pid now belongs to another process)"
    try:
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return f"its process {pid} on this host has exited"
    except psutil.Error:
        return f"its process {pid} on this host is gone"
    return None


class RunLocks(Database):
    """Named locks in the state store database (the lock half of :class:`~veiviser.sync.state.StateStore`)."""

    def acquire_lock(
        self,
        name: str = RUN_LOCK,
        *,
        owner: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        now: datetime | None = None,
    ) -> RunLock:
        """Take the named lock, or raise :class:`LockHeldError` if a live holder has it.

        A lock whose holder is dead (see the module docstring) is taken over; the takeover is
        logged and the previous holder's runs are marked abandoned.
        """
        owner = owner or make_owner()
        session = self._advisory_session(name) if self.is_postgres else None
        try:
            taken_over, reason = self._take_row(name, owner, ttl, now, session is not None)
        except BaseException:
            if session is not None:
                end_session(*session)
            raise
        lock = RunLock(self, name, owner, ttl, session)
        if taken_over is not None:
            lock.takeover_message = (
                f"Took over the sync lock '{name}' from {taken_over['owner']} ({reason}; last heartbeat "
                f"{from_db(taken_over['heartbeat_at']):%Y-%m-%d %H:%M:%S} UTC); that run was killed "
                "or lost its database connection, and is marked abandoned."
            )
            log.warning(lock.takeover_message)
            self.abandon_runs(taken_over["owner"], lock.takeover_message)
        return lock

    def _take_row(
        self, name: str, owner: str, ttl: timedelta, now: datetime | None, proven_dead: bool
    ) -> tuple[dict[str, Any] | None, str]:
        """Insert our lock row, or swap out a dead holder's; returns the row taken over and why."""
        now_db = to_db(now or utcnow())
        values = {
            "owner": owner,
            "acquired_at": now_db,
            "heartbeat_at": now_db,
            "expires_at": now_db + ttl,
            **this_process(),
        }
        try:
            with self._begin() as conn:
                conn.execute(locks_table.insert().values(name=name, **values))
            return None, ""
        except IntegrityError:
            pass
        with self._begin() as conn:
            row = conn.execute(sa.select(locks_table).where(locks_table.c.name == name)).mappings().first()
            if row is None:  # released between our insert and select: try once more
                return self._take_row(name, owner, ttl, now, proven_dead)
            if proven_dead:
                reason = "its database session ended"
            elif not str(row["owner"]).startswith(SHARED) and (dead := holder_is_dead(row)) is not None:
                reason = dead
            elif row["expires_at"] <= now_db:
                reason = f"its heartbeat expired at {from_db(row['expires_at']):%Y-%m-%d %H:%M:%S} UTC"
            else:
                raise held_error(name, row)
            # Compare-and-swap on the dead holder, so two racing takeovers cannot both win.
            swapped = conn.execute(
                locks_table.update()
                .where(
                    locks_table.c.name == name,
                    locks_table.c.owner == row["owner"],
                    locks_table.c.expires_at == row["expires_at"],
                )
                .values(**values)
            ).rowcount
            if not swapped:
                raise LockHeldError(
                    f"Another sync run took the lock '{name}' just now.",
                    hint="Wait for that run to finish.",
                ) from None
            return dict(row), reason

    def _advisory_session(self, name: str, *, shared: bool = False) -> tuple[Connection, int]:
        """A connection holding the session-level advisory lock for ``name``, and its key (PostgreSQL).

        ``shared``: the lock's shared mode, which the workers of one shared run hold together and
        which excludes only an exclusive holder (docs/sync.md, "Several workers, several hubs").
        """
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise self._unusable(exc) from exc
        try:
            key = advisory_key(conn, f"lock:{name}")
            try_lock = sa.func.pg_try_advisory_lock_shared if shared else sa.func.pg_try_advisory_lock
            got = conn.execute(sa.select(try_lock(key))).scalar()
            conn.commit()
        except SQLAlchemyError as exc:
            conn.close()
            raise self._unusable(exc) from exc
        if got:
            return conn, key
        conn.close()
        row = self.lock_holder(name)
        raise held_error(name, row or {"owner": "another session"})

    def lock_holder(self, name: str = RUN_LOCK) -> dict[str, Any] | None:
        with self._begin() as conn:
            row = conn.execute(sa.select(locks_table).where(locks_table.c.name == name)).mappings().first()
        if row is None:
            return None
        return {k: (from_db(v) if isinstance(v, datetime) else v) for k, v in row.items()}

    def _heartbeat(self, name: str, owner: str, ttl: timedelta) -> bool:
        now = to_db(utcnow())
        with self._begin() as conn:
            return bool(
                conn.execute(
                    locks_table.update()
                    .where(locks_table.c.name == name, locks_table.c.owner == owner)
                    .values(heartbeat_at=now, expires_at=now + ttl)
                ).rowcount
            )

    def _release(self, name: str, owner: str) -> bool:
        with self._begin() as conn:
            return bool(
                conn.execute(
                    locks_table.delete().where(locks_table.c.name == name, locks_table.c.owner == owner)
                ).rowcount
            )

    def abandon_runs(self, owner: str, message: str) -> int:
        """Mark runs of a vanished owner that are still 'running' as abandoned."""
        with self._begin() as conn:
            return conn.execute(
                runs_table.update()
                .where(runs_table.c.owner == owner, runs_table.c.status == "running")
                .values(status="abandoned", finished_at=to_db(utcnow()), message=message)
            ).rowcount


def held_error(name: str, row: Any) -> LockHeldError:
    where = f" on {row['host']}, process {row['pid']}" if row.get("host") else ""
    since = (
        f", since {from_db(row['acquired_at']):%Y-%m-%d %H:%M:%S} UTC, last heartbeat "
        f"{from_db(row['heartbeat_at']):%Y-%m-%d %H:%M:%S} UTC"
        if row.get("acquired_at")
        else ""
    )
    return LockHeldError(
        f"Another sync run holds the lock '{name}' (owner {row['owner']}{where}{since}).",
        hint="Wait for that run to finish. A killed run's lock is taken over at once on the same host "
        "or on PostgreSQL, otherwise when its heartbeat expires (about a minute).",
    )


def end_session(conn: Connection, key: int) -> None:
    try:
        conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
        conn.commit()
    except SQLAlchemyError as exc:  # the session is gone, and its advisory lock with it
        log.debug("advisory unlock failed: %s", exc)
    finally:
        conn.close()


class RunLock:
    """A held run lock; keep it alive with :meth:`start_heartbeat` and let go with :meth:`release`."""

    def __init__(
        self,
        store: RunLocks,
        name: str,
        owner: str,
        ttl: timedelta,
        session: tuple[Connection, int] | None = None,
        *,
        keep_row: bool = False,
        on_beat: Callable[[], object] | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self.takeover_message: str | None = None
        self.session = session  # PostgreSQL: the connection holding the advisory lock, and its key
        self.keep_row = keep_row  # a shared run's row: the worker that finishes the run removes it
        self.on_beat = on_beat  # what else the heartbeat keeps alive (a worker's claims)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def heartbeat(self) -> None:
        """Extend the expiry; raises :class:`LockLostError` if someone else took the lock."""
        if self.session is not None:
            try:  # the advisory lock lives exactly as long as this session
                self.session[0].execute(sa.select(sa.literal(1)))
                self.session[0].commit()
            except SQLAlchemyError as exc:
                self.lost = True
                raise LockLostError(
                    f"The database session holding the sync lock '{self.name}' ended: {exc}",
                    hint="Another run may have taken over; this run stops. Re-run later.",
                ) from exc
        if not self.store._heartbeat(self.name, self.owner, self.ttl):
            self.lost = True
            raise LockLostError(
                f"The sync lock '{self.name}' is no longer held by this run ({self.owner}).",
                hint="Another run took it over after our heartbeat lapsed; this run stops. Re-run later.",
            )
        if self.on_beat is not None:
            self.on_beat()

    def check(self) -> None:
        """Raise :class:`LockLostError` if the heartbeat thread found the lock taken."""
        if self.lost:
            raise LockLostError(
                f"The sync lock '{self.name}' was taken over by another process.",
                hint="This run stops to avoid overlapping writes. Re-run later.",
            )

    def start_heartbeat(self, interval: float | None = None) -> None:
        """Renew the lock in a daemon thread every ``interval`` seconds (default ttl / 3)."""
        if self._thread is not None:
            return
        period = interval if interval is not None else max(self.ttl.total_seconds() / 3, 0.05)

        def beat() -> None:
            while not self._stop.wait(period):
                try:
                    self.heartbeat()
                except LockLostError:
                    log.error("sync lock %s lost; the run will stop", self.name)
                    return
                except (VeiviserError, SQLAlchemyError) as exc:  # transient DB trouble: try again
                    log.warning("sync lock heartbeat failed: %s", exc)

        self._thread = threading.Thread(target=beat, name=f"lock-heartbeat-{self.name}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            if not self.lost and not self.keep_row:
                self.store._release(self.name, self.owner)
        finally:
            if self.session is not None:
                session, self.session = self.session, None
                end_session(*session)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def make_owner() -> str:
    """A lock owner id: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
