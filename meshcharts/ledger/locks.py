"""One apply per stack and cluster at a time: a lock row in the ledger, not a file someone forgets.

Taking the lock is one write transaction (SQLite ``BEGIN IMMEDIATE``; PostgreSQL under a
transaction advisory lock on the stack+cluster key), so two processes never both see it free. A
row whose run is dead (see :mod:`meshcharts.ledger.liveness`) does not count: that run is marked
interrupted and the lock taken over. A live holder makes us poll until ``timeout``, then refuse
with a line naming the run, user@host, pid and since when.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from sqlalchemy import Connection, select, text

from meshcharts.ledger.database import Database
from meshcharts.ledger.errors import LedgerError, LockHeld, ledger_error
from meshcharts.ledger.liveness import Liveness, advisory_key, utcnow
from meshcharts.ledger.query import mark_interrupted
from meshcharts.ledger.records import LockHolder, RunOutcome
from meshcharts.ledger.schema import locks, runs

POLL_FIRST = 0.2
POLL_MAX = 1.0


class ClusterLock:
    """``with ledger.lock(stack, cluster, run, timeout=...)``: held inside the block, released after.

    ``on_wait`` is called once with the holder when we start waiting, so a caller can say why it
    is not moving. Setting ``cancel`` ends a wait at once (the user interrupted the apply).
    """

    def __init__(
        self,
        database: Database,
        liveness: Liveness,
        *,
        stack_name: str,
        cluster: str,
        run_id: int,
        timeout: float,
        on_wait: Callable[[LockHolder], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.database = database
        self.liveness = liveness
        self.stack_name = stack_name
        self.cluster = cluster
        self.run_id = run_id
        self.timeout = timeout
        self.on_wait = on_wait
        self.cancel = cancel or threading.Event()
        self.waited = 0.0

    def __enter__(self) -> ClusterLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        try:
            self.release()
        except LedgerError:
            if kind is None:
                raise
            # already failing: the original error matters more; the row goes with the run's finish or repair

    def acquire(self) -> None:
        started = time.monotonic()
        deadline = started + max(0.0, self.timeout)
        pause = POLL_FIRST
        told = False
        while True:
            holder = self._try_acquire()
            if holder is None:
                self.waited = time.monotonic() - started
                return
            if not told and self.on_wait is not None and self.timeout > 0:
                self.on_wait(holder)
                told = True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.cancel.is_set():
                cancelled = self.cancel.is_set()
                waited_for = f"{time.monotonic() - started:.0f}" if cancelled else f"{self.timeout:g}"
                waited = f"; waited {waited_for}s" if self.timeout > 0 else ""
                why = "interrupted while waiting for the lock" if cancelled else "another apply holds the lock"
                raise LockHeld(
                    f"stack {self.stack_name}, cluster {self.cluster}: {why}: {holder.describe()}{waited}", holder.run_id
                )
            self.cancel.wait(min(pause, remaining))
            pause = min(POLL_MAX, pause * 2)

    def release(self) -> None:
        with self.database.write(f"releasing the lock on {self.stack_name}/{self.cluster}") as connection:
            connection.execute(
                locks.delete().where(
                    locks.c.stack_name == self.stack_name, locks.c.cluster == self.cluster, locks.c.run_id == self.run_id
                )
            )

    def _try_acquire(self) -> LockHolder | None:
        """Take the lock in one transaction; the live holder if someone else has it."""
        with self.database.write(f"locking {self.stack_name}/{self.cluster}") as connection:
            if self.database.backend == "postgresql":
                key = advisory_key("lock", self.stack_name, self.cluster)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            row = connection.execute(
                select(locks.c.acquired_at, runs)
                .join(runs, runs.c.id == locks.c.run_id)
                .where(locks.c.stack_name == self.stack_name, locks.c.cluster == self.cluster)
            ).first()
            if row is not None:
                if row.id == self.run_id:
                    raise ledger_error(
                        f"run {self.run_id} already holds the lock on {self.stack_name}/{self.cluster}", "ledger.locked"
                    )
                if row.outcome == RunOutcome.RUNNING.value:
                    why = self.liveness.dead_because(connection, row)
                    if why is None:
                        return LockHolder(run_id=row.id, who=row.who, host=row.host, pid=row.pid, since=row.acquired_at)
                    mark_interrupted(connection, row, why)
                self._drop(connection)
            connection.execute(
                locks.insert().values(
                    stack_name=self.stack_name, cluster=self.cluster, run_id=self.run_id, acquired_at=utcnow()
                )
            )
            return None

    def _drop(self, connection: Connection) -> None:
        connection.execute(locks.delete().where(locks.c.stack_name == self.stack_name, locks.c.cluster == self.cluster))
