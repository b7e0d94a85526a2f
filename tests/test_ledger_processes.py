"""The ledger across real processes: the stack+cluster lock makes a second apply wait or refuse,
a ``kill -9`` mid-release is repaired as interrupted (never deployed), and concurrent first opens
migrate once. Each test runs on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from meshcharts.ledger import (
    LockHeld,
    LockHolder,
    ReleaseStatus,
    RunOutcome,
    open_ledger,
)
from meshcharts.ledger.database import head_revision
from tests.conftest import REPO_ROOT
from tests.ledger_fixtures import ledger_url, postgres_server  # noqa: F401  (fixtures)

T = TypeVar("T")


@contextmanager
def child(url: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m tests.ledger_child ARGS`` with the ledger URL in its environment; its first line."""
    env = {**os.environ, "MESHCHARTS_TEST_LEDGER": url}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger_child", *args],
        cwd=REPO_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, f"the child exited before it was ready: {process.communicate()[1]}"
        yield process, line.split()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def eventually(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    """``probe()`` once it returns something (PostgreSQL notices a killed client's socket closing in ms, not 0)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


def test_a_second_apply_waits_for_the_lock_then_gets_it(ledger_url: str) -> None:
    with child(ledger_url, "hold", "mesh", "east") as (holder, (_, holder_run)):
        with open_ledger(ledger_url) as ledger, ledger.start_run("mesh", "/stacks/mesh") as run:
            waited_for: list[LockHolder] = []
            assert holder.stdin is not None
            threading.Timer(1.5, holder.stdin.close).start()  # the other apply finishes in 1.5 s
            with ledger.lock("mesh", "east", run, timeout=30, on_wait=waited_for.append) as lock:
                assert lock.waited >= 1.0
                assert [h.run_id for h in waited_for] == [int(holder_run)]
                assert waited_for[0].pid == holder.pid
            assert holder.wait(timeout=30) == 0


def test_a_second_apply_refuses_after_the_timeout_naming_the_holder(ledger_url: str) -> None:
    with child(ledger_url, "hold", "mesh", "east") as (holder, (_, holder_run)):
        with open_ledger(ledger_url) as ledger, ledger.start_run("mesh", "/stacks/mesh") as run:
            started = time.monotonic()
            with pytest.raises(LockHeld) as raised:
                with ledger.lock("mesh", "east", run, timeout=1):
                    pytest.fail("took a lock another live process holds")
            assert 1.0 <= time.monotonic() - started < 10
            message = str(raised.value)
            assert f"stack mesh, cluster east: another apply holds the lock: run {holder_run} ({ledger.identity.who}, pid {holder.pid}, since 20" in message
            assert message.endswith("; waited 1s") and raised.value.exit_code == 1
            with ledger.lock("mesh", "west", run):  # other clusters of the stack are free
                pass
            with ledger.lock("other-stack", "east", run):  # and so is the same cluster for another stack
                pass


def test_an_interrupted_apply_stops_waiting_for_the_lock_at_once(ledger_url: str) -> None:
    """Ctrl-C while an apply waits for another's lock: the wait ends now, not at --lock-timeout."""
    with child(ledger_url, "hold", "mesh", "east") as (_, (_, holder_run)):
        with open_ledger(ledger_url) as ledger, ledger.start_run("mesh", "/stacks/mesh") as run:
            cancel = threading.Event()
            threading.Timer(1.0, cancel.set).start()
            started = time.monotonic()
            with pytest.raises(LockHeld) as raised:
                with ledger.lock("mesh", "east", run, timeout=300, cancel=cancel):
                    pytest.fail("took a lock another live process holds")
            assert time.monotonic() - started < 10
            assert f"stack mesh, cluster east: interrupted while waiting for the lock: run {holder_run} (" in str(raised.value)


def test_kill_9_mid_release_is_repaired_as_interrupted_and_frees_the_lock(ledger_url: str) -> None:
    with child(ledger_url, "crash", "mesh", "east") as (crashed, (_, run_id, release_id)):
        os.kill(crashed.pid, signal.SIGKILL)
        crashed.wait(timeout=30)
    with open_ledger(ledger_url, repair=False) as ledger:
        assert ledger.run(int(run_id)).outcome is RunOutcome.RUNNING  # what the crash left
        (left,) = ledger.history()
        assert (left.id, left.status) == (int(release_id), ReleaseStatus.PENDING)
        repaired = eventually(ledger.repair)
        assert [r.id for r in repaired] == [int(run_id)]
        run = ledger.run(int(run_id))
        assert run.outcome is RunOutcome.INTERRUPTED and run.note and run.note.startswith("interrupted: ")
        (release,) = ledger.history()
        assert release.status is ReleaseStatus.INTERRUPTED and release.ended_at is not None
        assert ledger.last_deployed("mesh", "east", "kiali") is None  # nothing recorded as deployed
        with ledger.start_run("mesh", "/s") as next_run, ledger.lock("mesh", "east", next_run) as lock:
            assert lock.waited < 1.0  # the dead run's lock went with the repair


def test_a_lock_held_by_a_killed_apply_is_taken_over(ledger_url: str) -> None:
    with child(ledger_url, "crash", "mesh", "east") as (crashed, (_, run_id, _release)):
        with open_ledger(ledger_url) as ledger, ledger.start_run("mesh", "/s") as run:
            os.kill(crashed.pid, signal.SIGKILL)
            crashed.wait(timeout=30)
            with ledger.lock("mesh", "east", run, timeout=10):
                assert ledger.run(int(run_id)).outcome is RunOutcome.INTERRUPTED


def test_the_next_start_repairs_without_being_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/repair.ledger.sqlite"
    with child(url, "crash", "mesh", "east") as (crashed, (_, run_id, _release)):
        os.kill(crashed.pid, signal.SIGKILL)
        crashed.wait(timeout=30)
    with open_ledger(url, repair=False) as ledger:
        ledger.start_run("mesh", "/s").finish()
        assert ledger.run(int(run_id)).outcome is RunOutcome.INTERRUPTED


def test_processes_opening_a_fresh_ledger_at_once_migrate_it_once(ledger_url: str) -> None:
    env = {**os.environ, "MESHCHARTS_TEST_LEDGER": ledger_url}
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.ledger_child", "open"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 3, outputs
    assert {out.strip() for out, _err in outputs} == {f"revision {head_revision()}"} == {"revision 0002"}
