"""``meshcharts history``: the ledger as a table or JSON. A thin click layer over the ledger API.

:func:`make_history_command` builds the command around a function that finds the stack root (the
CLI registers it with the stack search; tests with their own folder). No database code is imported
until the command runs, so registering it costs ``meshcharts validate`` nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from meshcharts.cli.app import main
from meshcharts.core.diagnostics import ExitCode, MeshchartsError
from meshcharts.core.reporter import error_document, print_diagnostics, print_json
from meshcharts.ledger.records import ReleaseRecord, RunRecord
from meshcharts.load.stack import find_stack_file

StackRoot = Callable[[Path | None], Path]
"""Given ``--stack`` (or None), the stack's root folder: where the default ledger file lives."""

_STYLE = {
    "succeeded": "green",
    "deployed": "green",
    "unchanged": "dim",
    "skipped": "dim",
    "recovered": "yellow",
    "running": "cyan",
    "pending": "cyan",
    "failed": "red",
    "interrupted": "magenta",
}


def make_history_command(stack_root: StackRoot, stack_ledger: Callable[[Path | None], str | None] | None = None) -> click.Command:
    """The ``history`` click command; ``stack_root`` (and ``stack_ledger``, the stack file's ``ledger:``)
    are called only when ``--ledger`` is not given."""

    @click.command("history", short_help="Show what was deployed where, newest first.")
    @click.option("--ledger", "ledger_url", metavar="URL", default=None, help="Ledger: a file, sqlite:///FILE or postgresql://... (default: meshcharts.ledger.sqlite beside the stack).")
    @click.option("--stack", "stack_path", type=click.Path(path_type=Path), default=None, help="Stack file or its folder (default: search upwards for meshcharts.yaml).")
    @click.option("--cluster", default=None, help="Only releases to this cluster.")
    @click.option("--component", default=None, help="Only releases of this component.")
    @click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many releases, newest first.")
    @click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
    def history(ledger_url: str | None, stack_path: Path | None, cluster: str | None, component: str | None, limit: int, output: str) -> None:
        """What was deployed where, newest first: runs (who, when, commit, outcome) and their releases."""
        if ledger_url is None and stack_ledger is not None:
            try:
                ledger_url = stack_ledger(stack_path)
            except MeshchartsError as error:
                print_diagnostics(error.diagnostics)
                sys.exit(int(error.exit_code))
        sys.exit(run_history(ledger_url, lambda: stack_root(stack_path), cluster=cluster, component=component, limit=limit, output=output))

    return history


def run_history(
    ledger_url: str | None,
    default_dir: Callable[[], Path],
    *,
    cluster: str | None = None,
    component: str | None = None,
    limit: int = 20,
    output: str = "text",
) -> int:
    """Print the history; the exit code (0, or the error's: 1 for the ledger, 2 for no stack)."""
    try:
        document = history_document(ledger_url, default_dir, cluster=cluster, component=component, limit=limit)
    except MeshchartsError as error:
        if output == "json":
            print_json(error_document(error.diagnostics))
        else:
            print_diagnostics(error.diagnostics)
        return int(error.exit_code)
    if output == "json":
        print_json(document.as_json())
    else:
        print_text(document)
    return int(ExitCode.OK)


class HistoryDocument:
    """What ``history`` shows: the releases asked for and the runs they belong to."""

    def __init__(self, ledger: str, releases: list[ReleaseRecord], runs: list[RunRecord]) -> None:
        self.ledger = ledger
        self.releases = releases
        self.runs = runs

    def as_json(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger,
            "runs": [run.as_json() for run in self.runs],
            "releases": [release.as_json() for release in self.releases],
        }


def history_document(
    ledger_url: str | None, default_dir: Callable[[], Path], *, cluster: str | None, component: str | None, limit: int
) -> HistoryDocument:
    from meshcharts.ledger.store import open_ledger

    directory = None if ledger_url else default_dir()
    with open_ledger(ledger_url, default_dir=directory) as ledger:
        releases = ledger.history(cluster=cluster, component=component, limit=limit)
        ids = sorted({release.run_id for release in releases})
        if cluster is None and component is None:
            ids = sorted(set(ids) | {run.id for run in ledger.runs(limit=limit)})
        runs = ledger.runs(ids=ids) if ids else []
        return HistoryDocument(ledger.url, releases, runs)


def print_text(document: HistoryDocument) -> None:
    """Two rich tables. Piped output gets a wide fixed width: a log should not truncate a name."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    if not document.runs and not document.releases:
        console.print(f"no runs recorded in {escape(document.ledger)}")
        return
    several = len({run.stack_name for run in document.runs}) > 1
    runs = Table(title=f"Runs ({escape(document.ledger)})", title_justify="left")
    for heading in ("run", "stack", "started", "by", "commit", "outcome", "took", "note"):
        if heading != "stack" or several:
            runs.add_column(heading, no_wrap=heading not in ("by", "note"))
    for run in document.runs:
        cells = [str(run.id), escape(run.stack_name), _when(run.started_at), escape(run.who), (run.git_commit or "-")[:12]]
        cells += [_styled(run.outcome.value), _duration(run.started_at, run.ended_at), escape(run.note or "")]
        runs.add_row(*(cells if several else cells[:1] + cells[2:]))
    console.print(runs)
    if not document.releases:
        console.print("no releases match")
        return
    releases = Table(title="Releases, newest first", title_justify="left")
    # The release name, not only the component: a component may have two (kiali and its CRD chart).
    for heading in ("run", "cluster", "component", "release", "version", "rev", "status", "note"):
        releases.add_column(heading, no_wrap=heading != "note")
    for release in document.releases:
        releases.add_row(
            str(release.run_id), escape(release.cluster), escape(release.component), escape(release.release),
            escape(release.chart_version), str(release.helm_revision or "-"), _styled(release.status.value),
            escape(release.error or release.note or ""),
        )
    console.print(releases)


def _styled(word: str) -> str:
    style = _STYLE.get(word)
    return f"[{style}]{word}[/]" if style else word


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _duration(started: datetime, ended: datetime | None) -> str:
    if ended is None:
        return "-"
    seconds = max(0, int((ended - started).total_seconds()))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _stack_root(stack_path: Path | None) -> Path:
    """The folder of the stack file: ``--stack`` (file or folder) or the nearest meshcharts.yaml above."""
    if stack_path is None:
        return find_stack_file().parent
    return stack_path if stack_path.is_dir() else stack_path.parent


def _stack_ledger(stack_path: Path | None) -> str | None:
    """The stack file's ``ledger:`` URL (a relative file is beside the stack), or None for the default file."""
    from meshcharts.api import open_project
    from meshcharts.ledger.urls import ledger_url_for

    return ledger_url_for(open_project(stack_path).stack, None)


main.add_command(make_history_command(_stack_root, _stack_ledger))
