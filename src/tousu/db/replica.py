"""Reads that may come from a streaming replica: reports, exports and the dashboard.

When DATABASE_REPLICA_URL is set, settings add a "replica" database and this router. Code that only
reads and can live with figures a few seconds old marks itself with `replica_reads` (a view
decorator) or `reading_from_replica()` (a block); every other read, and every write, goes to the
primary ("default"). The replica is used only while it is fresh: its lag, measured on the replica
itself (now() - pg_last_xact_replay_timestamp(), zero when it has replayed all it received), is
checked at most every TOUSU_REPLICA_CHECK_SECONDS and must stay within TOUSU_REPLICA_MAX_LAG
seconds; a replica that lags further, or cannot be reached, is left alone and the primary answers
until the next check finds it caught up.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"

_wanted = contextvars.ContextVar("tousu_replica_reads", default=False)

# Lag in seconds as the replica sees it; 0 when everything received is replayed (an idle primary
# sends nothing, and the last replayed transaction's age would otherwise look like lag); 0 too on a
# server that is not in recovery (a promoted replica is as fresh as a primary).
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9)
END
"""


def measure_lag(alias: str = REPLICA) -> float:
    """The replica's lag in seconds (PostgreSQL); raises if the replica cannot be asked."""
    with connections[alias].cursor() as cursor:
        cursor.execute(LAG_SQL)
        return float(cursor.fetchone()[0])


class ReplicaHealth:
    """Whether the replica is fresh enough, remembered for `every` seconds so that a busy page
    costs one lag query per few seconds per process, not one per read."""

    def __init__(
        self,
        *,
        max_lag: float,
        every: float,
        measure: Callable[[], float] = measure_lag,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_lag, self.every = max_lag, every
        self.measure, self.clock = measure, clock
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._fresh = False
        self.lag: float | None = None

    def fresh(self) -> bool:
        now = self.clock()
        with self._lock:
            if self._checked_at is not None and now - self._checked_at < self.every:
                return self._fresh
            self._checked_at = now
            try:
                self.lag = self.measure()
            except Exception as exc:  # unreachable or broken: the primary answers meanwhile
                log.warning("replica not usable, reading from the primary: %s", exc)
                self.lag, self._fresh = None, False
                return False
            self._fresh = self.lag <= self.max_lag
            if not self._fresh:
                log.warning(
                    "replica lags %.1f s (bound %.1f s), reading from the primary",
                    self.lag,
                    self.max_lag,
                )
            return self._fresh


_health: ReplicaHealth | None = None


def health() -> ReplicaHealth:
    global _health
    if _health is None:
        _health = ReplicaHealth(
            max_lag=float(getattr(settings, "TOUSU_REPLICA_MAX_LAG", 30)),
            every=float(getattr(settings, "TOUSU_REPLICA_CHECK_SECONDS", 5)),
        )
    return _health


def set_health(value: ReplicaHealth | None) -> None:
    """Replace the process's health tracker (tests; None: build it again from settings)."""
    global _health
    _health = value


@contextmanager
def reading_from_replica():
    token = _wanted.set(True)
    try:
        yield
    finally:
        _wanted.reset(token)


def _streamed(iterator):
    # A streamed body (CSV export) is read after the view has returned: keep reading from the
    # replica while it is produced.
    with reading_from_replica():
        yield from iterator


def replica_reads(view):
    """A view whose reads may come from the replica (writes still go to the primary)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with reading_from_replica():
            response = view(request, *args, **kwargs)
        if getattr(response, "streaming", False) and not hasattr(response, "file_to_stream"):
            response.streaming_content = _streamed(response.streaming_content)
        return response

    return wrapper


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """Reads marked for the replica go there while it is fresh; everything else goes to the
    primary. Never a write, never a migration, never a read inside a transaction on the primary
    (it must see its own writes)."""

    def db_for_read(self, model, **hints):
        if not _wanted.get() or not replica_configured():
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA if health().fresh() else PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY
