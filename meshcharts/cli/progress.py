"""Apply's live view: one line per cluster and release, updated as helm works.

On a terminal it is a rich ``Live`` table; elsewhere (CI logs, pipes) each change is one plain line,
so a log reads like a story instead of a redrawn screen. The observer is called from apply's worker
threads; rich's Live is thread-safe for updates, and plain lines are written under a lock.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

STYLES = {"deployed": "green", "unchanged": "dim", "failed": "bold red", "skipped": "yellow"}


class ApplyProgress:
    """An apply observer; use as a context manager around ``apply_project``."""

    def __init__(self, *, live: bool) -> None:
        self.console = Console(stderr=True)
        self.states: dict[tuple[str, str], tuple[str, float]] = {}
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False) if live else None

    def __enter__(self) -> ApplyProgress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(kind, error, trace)

    def __call__(self, cluster: str, release: str | None, state: str) -> None:
        with self._lock:
            self.states[(cluster, release or "")] = (state, time.monotonic())
            if self._live is not None:
                self._live.update(self._table())
            else:
                click.echo(f"{cluster}{'/' + release if release else ''}: {state}", err=True)

    def _table(self) -> Table:
        table = Table(title=f"meshcharts apply ({time.monotonic() - self.started:.0f}s)", title_justify="left")
        for column in ("cluster", "release", "state"):
            table.add_column(column)
        for (cluster, release), (state, _) in sorted(self.states.items()):
            table.add_row(cluster, release or "(cluster)", f"[{STYLES.get(state, '')}]{state}[/]" if state in STYLES else state)
        return table
