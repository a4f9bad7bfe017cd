"""The run lock: at most one sync run at a time, across processes and hosts, on any database.

A row in ``sync_locks`` (owner, heartbeat, expiry) is the lock. The holder renews it from a daemon
thread; a holder that was killed stops renewing, and once its expiry has passed the next run takes
the lock over (compare-and-swap on the stale owner) and marks that owner's runs abandoned. See
docs/sync.md, "The run lock".
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from veiviser.errors import VeiviserError
from veiviser.sync.report import EXIT_LOCK_HELD
from veiviser.sync.schema import Database, from_db, locks_table, runs_table, to_db, utcnow

log = logging.getLogger(__name__)

#: The lock name used by ``veiviser sync run``.
RUN_LOCK = "sync-run"


class LockHeldError(VeiviserError):
    """Another run holds the run lock."""

    exit_code = EXIT_LOCK_HELD


class LockLostError(VeiviserError):
    """This run's lock was taken over by another process (our heartbeat stopped for too long)."""

    exit_code = EXIT_LOCK_HELD


class RunLocks(Database):
    """Named locks in the state store database (the lock half of :class:`~veiviser.sync.state.StateStore`)."""

    def acquire_lock(
        self,
        name: str = RUN_LOCK,
        *,
        owner: str | None = None,
        ttl: timedelta = timedelta(minutes=10),
        now: datetime | None = None,
    ) -> RunLock:
        """Take the named lock, or raise :class:`LockHeldError` if a live holder has it.

        A lock whose expiry has passed (its holder was killed and stopped its heartbeat) is taken
        over; the takeover is logged and the previous holder's runs are marked abandoned.
        """
        owner = owner or make_owner()
        now_db = to_db(now or utcnow())
        expires = now_db + ttl
        taken_over: dict[str, Any] | None = None
        try:
            with self._begin() as conn:
                conn.execute(
                    locks_table.insert().values(
                        name=name, owner=owner, acquired_at=now_db, heartbeat_at=now_db, expires_at=expires
                    )
                )
        except IntegrityError:
            with self._begin() as conn:
                row = (
                    conn.execute(sa.select(locks_table).where(locks_table.c.name == name)).mappings().first()
                )
                if row is None:  # released between our insert and select: try once more
                    return self.acquire_lock(name, owner=owner, ttl=ttl, now=now)
                if row["expires_at"] > now_db:
                    raise LockHeldError(
                        f"Another sync run holds the lock '{name}' (owner {row['owner']}, since "
                        f"{from_db(row['acquired_at']):%Y-%m-%d %H:%M:%S} UTC, alive until "
                        f"{from_db(row['expires_at']):%Y-%m-%d %H:%M:%S} UTC).",
                        hint="Wait for that run to finish; a killed run's lock is taken over after it expires.",
                    ) from None
                # Compare-and-swap on the stale holder, so two racing takeovers cannot both win.
                swapped = conn.execute(
                    locks_table.update()
                    .where(
                        locks_table.c.name == name,
                        locks_table.c.owner == row["owner"],
                        locks_table.c.expires_at == row["expires_at"],
                    )
                    .values(owner=owner, acquired_at=now_db, heartbeat_at=now_db, expires_at=expires)
                ).rowcount
                if not swapped:
                    raise LockHeldError(
                        f"Another sync run took the lock '{name}' just now.",
                        hint="Wait for that run to finish.",
                    ) from None
                taken_over = dict(row)
        lock = RunLock(self, name, owner, ttl)
        if taken_over is not None:
            lock.takeover_message = (
                f"Took over the stale sync lock '{name}' from {taken_over['owner']} (last heartbeat "
                f"{from_db(taken_over['heartbeat_at']):%Y-%m-%d %H:%M:%S} UTC, expired "
                f"{from_db(taken_over['expires_at']):%Y-%m-%d %H:%M:%S} UTC); that run was killed "
                "or lost its database connection."
            )
            log.warning(lock.takeover_message)
            self.abandon_runs(taken_over["owner"], lock.takeover_message)
        return lock

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


class RunLock:
    """A held run lock; keep it alive with :meth:`start_heartbeat` and let go with :meth:`release`."""

    def __init__(self, store: RunLocks, name: str, owner: str, ttl: timedelta) -> None:
        self.store = store
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self.takeover_message: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def heartbeat(self) -> None:
        """Extend the expiry; raises :class:`LockLostError` if someone else took the lock."""
        if not self.store._heartbeat(self.name, self.owner, self.ttl):
            self.lost = True
            raise LockLostError(
                f"The sync lock '{self.name}' is no longer held by this run ({self.owner}).",
                hint="Another run took it over after our heartbeat lapsed; this run stops. Re-run later.",
            )

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
        if not self.lost:
            self.store._release(self.name, self.owner)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def make_owner() -> str:
    """A lock owner id: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
