"""``meshcharts --help`` lists every command with a summary a person can read whole.

click cuts a docstring's first sentence to fit the line and ends it with "...", which read as
"helm upgrade --install every release, in install order,...". Each command (and each command of a
group, such as ``sandbox``) carries a one-sentence summary that fits an 80-column terminal.
"""

from __future__ import annotations

import click
from click.testing import CliRunner

from meshcharts.cli import main


def _groups(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The command path of ``group`` and of every group below it."""
    context = click.Context(group)
    found = [path]
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            found += _groups(command, (*path, name))
    return found


def _summaries(help_text: str) -> dict[str, str]:
    """The Commands section of a help page: command name to the text beside it (wrapped lines joined)."""
    section = help_text.split("\nCommands:\n", 1)[1]
    rows: dict[str, str] = {}
    last = ""
    for line in section.splitlines():
        if not line.strip():
            break
        name, _, text = line.strip().partition(" ")
        if line.startswith("  ") and not line.startswith("   "):
            last = name
            rows[name] = text.strip()
        else:
            rows[last] += " " + line.strip()
    return rows


def test_every_summary_is_a_whole_sentence_on_one_line() -> None:
    runner = CliRunner()
    for path in _groups(main):
        result = runner.invoke(main, [*path, "--help"], env={"COLUMNS": "80"}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        lines = result.output.split("\nCommands:\n", 1)[1].splitlines()
        summaries = _summaries(result.output)
        assert summaries, result.output
        for name, text in summaries.items():
            where = f"meshcharts {' '.join((*path, name))}"
            assert not text.endswith("..."), f"{where}: the summary is cut: {text!r}"
            assert text.endswith("."), f"{where}: the summary is not a sentence: {text!r}"
            assert any(line.strip().endswith(text) and line.lstrip().startswith(name) for line in lines), (
                f"{where}: the summary does not fit on its line: {text!r}"
            )
