"""Stopping a sync run on SIGINT or SIGTERM: finish the current writes, release the lock, exit 128 + n.

The first signal sets a :class:`Stop`; the workers start no new site and a site not yet writing
stops before its writes (its tokens are not stored, so the next run reads the same changes). A
site that is writing finishes its hub writes, history and tokens. Then the run is logged as
``interrupted``, the lock released, and ``veiviser sync run`` exits with 130 (SIGINT) or 143
(SIGTERM). The handlers are then back to the defaults, so a second signal acts at once. See
docs/sync.md, "Stopping a run".
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)

#: The signals that stop a run gently.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop(threading.Event):
    """A request to stop the run, set by a signal (``signum``) or by a caller (``signum`` None)."""

    def __init__(self) -> None:
        super().__init__()
        self.signum: int | None = None

    def request(self, signum: int | None = None) -> None:
        if not self.is_set():
            self.signum = signum
        self.set()


@contextmanager
def stop_on_signals(stop: Stop) -> Iterator[Stop]:
    """Route SIGINT and SIGTERM to ``stop`` while the block runs (only in the main thread, where
    Python delivers signals; elsewhere the block runs without handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.request(signum)
        log.warning(
            "%s received: finishing the current writes, then stopping (send it again to stop at once)",
            signal.Signals(signum).name,
        )
        for number, old in previous.items():
            signal.signal(number, old)

    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
