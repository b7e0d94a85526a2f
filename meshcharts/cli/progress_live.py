"""Apply's live view on a terminal: a rich ``Live`` table of every cluster and release, redrawn as helm works.

Apart from :mod:`meshcharts.cli.progress` so that rich is imported only when this view is shown.
rich's Live is thread-safe for updates; apply's worker threads call :meth:`LiveTable.update` through
the progress observer, under its lock.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

STYLES = {"deployed": "green", "unchanged": "dim", "failed": "bold red", "skipped": "yellow"}


class LiveTable:
    """The table, on stderr, timed from ``started`` (a ``time.monotonic()`` reading)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self._states: dict[tuple[str, str], tuple[str, float]] = {}
        self._live = Live(self._table(), console=Console(stderr=True), refresh_per_second=4, transient=False)

    def start(self) -> None:
        self._live.__enter__()

    def update(self, states: dict[tuple[str, str], tuple[str, float]]) -> None:
        self._states = dict(states)
        self._live.update(self._table())

    def stop(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._live.__exit__(kind, error, trace)

    def _table(self) -> Table:
        table = Table(title=f"meshcharts apply ({time.monotonic() - self.started:.0f}s)", title_justify="left")
        for column in ("cluster", "release", "state"):
            table.add_column(column)
        for (cluster, release), (state, _) in sorted(self._states.items()):
            table.add_row(cluster, release or "(cluster)", f"[{STYLES.get(state, '')}]{state}[/]" if state in STYLES else state)
        return table
