"""The command line: a thin click layer over the Python API, one module per command group.

Each command parses its options, calls the API and hands the result to the reporter; the group and
the error handling live in :mod:`meshcharts.cli.app`. Commands import the API inside their bodies so
``meshcharts validate`` (the pre-commit path) never pays for render, helm or rich.
"""

from meshcharts.cli import apply, export, history, plan, render, scaffold, validate
from meshcharts.cli.app import main, run

__all__ = ["apply", "export", "history", "main", "plan", "render", "run", "scaffold", "validate"]
