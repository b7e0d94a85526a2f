"""``python -m meshcharts`` runs the CLI."""

from meshcharts.cli import run

run()
