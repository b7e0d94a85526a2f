"""``meshcharts history``: a table or JSON of the ledger, newest first, filters, and one line (exit 1)
for a bad URL or an unreachable database, never with the password in it."""

from __future__ import annotations

import getpass
import json
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from meshcharts.cli.history import make_history_command
from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.ledger import ReleaseSpec, ReleaseStatus, hash_values, open_ledger
from tests.ledger_fixtures import PostgresServer, ledger_url, postgres_server  # noqa: F401  (fixtures)


def history_command(stack_root: Path) -> click.Command:
    """Wired as the CLI wires it: the stack root comes from --stack (or a search), here a fixed folder."""

    def root(stack: Path | None) -> Path:
        if stack is not None and not stack.exists():
            raise ConfigError(Diagnostic(message=f"{stack}: no such stack", rule="usage.stack"))
        return stack_root

    return make_history_command(root)


def invoke(command: click.Command, *args: str) -> Result:
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def record_two_runs(url: str) -> None:
    with open_ledger(url) as ledger:
        for number, outcome in ((1, ReleaseStatus.DEPLOYED), (2, ReleaseStatus.FAILED)):
            with ledger.start_run("mesh", "/stacks/mesh", "apply", f"{number:040x}") as run:
                for cluster in ("east", "west"):
                    values = {"n": number, "cluster": cluster}
                    spec = ReleaseSpec(cluster, f"ctx-{cluster}", "kiali", "kiali", "istio-system", "kiali-server", f"1.8{number}.0", values, hash_values(values))
                    run.record_release(spec, ReleaseStatus.UNCHANGED if cluster == "west" else outcome, revision=number, error="[helm] timed out" if outcome is ReleaseStatus.FAILED and cluster == "east" else None)


def test_history_prints_runs_and_releases_newest_first(ledger_url: str, tmp_path: Path) -> None:
    record_two_runs(ledger_url)
    result = invoke(history_command(tmp_path), "--ledger", ledger_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("succeeded" in line for line in lines) and any("failed" in line for line in lines)
    assert "[helm] timed out" in result.output  # helm's text is shown as text, not as markup
    assert result.output.index("1.82.0") < result.output.index("1.81.0")
    assert f"{getpass.getuser()}@{socket.gethostname()}" in result.output  # who ran it
    if ledger_url.startswith("postgresql"):
        password = ledger_url.split(":")[2].split("@")[0]
        assert ":***@127.0.0.1" in result.output and password not in result.output


def test_history_json_with_filters(ledger_url: str, tmp_path: Path) -> None:
    record_two_runs(ledger_url)
    result = invoke(history_command(tmp_path), "--ledger", ledger_url, "--cluster", "east", "--component", "kiali", "--output", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [(r["cluster"], r["chart_version"], r["status"]) for r in document["releases"]] == [
        ("east", "1.82.0", "failed"),
        ("east", "1.81.0", "deployed"),
    ]
    assert [run["outcome"] for run in document["runs"]] == ["failed", "succeeded"]
    assert document["runs"][0]["git_commit"] == f"{2:040x}"
    assert document["releases"][0]["values"] == {"n": 2, "cluster": "east"}
    limited = json.loads(invoke(history_command(tmp_path), "--ledger", ledger_url, "--limit", "1", "-o", "json").output)
    assert len(limited["releases"]) == 1 and limited["releases"][0]["cluster"] == "west"


def test_history_uses_the_file_beside_the_stack_by_default(tmp_path: Path) -> None:
    record_two_runs(str(tmp_path / "meshcharts.ledger.sqlite"))
    result = invoke(history_command(tmp_path), "-o", "json")
    assert result.exit_code == 0 and len(json.loads(result.output)["releases"]) == 4
    assert json.loads(result.output)["ledger"] == str(tmp_path / "meshcharts.ledger.sqlite")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(history_command(empty))
    assert result.exit_code == 0 and "no runs recorded in" in result.output


def test_history_without_a_stack_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(history_command(tmp_path), "--stack", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and result.output.strip().endswith("nowhere: no such stack")


@pytest.mark.parametrize("output", ["text", "json"])
def test_an_unreachable_ledger_is_one_line_and_exit_1(output: str, tmp_path: Path) -> None:
    result = invoke(history_command(tmp_path), "--ledger", "postgresql://ops:hunter2@127.0.0.1:1/ledger", "-o", output)
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    if output == "text":
        (line,) = result.output.splitlines()
        assert line.startswith("ledger postgresql://ops:***@127.0.0.1:1/ledger: cannot connect:")
    else:
        assert json.loads(result.output)["errors"][0]["rule"] == "ledger.database"


def test_a_bad_url_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = invoke(history_command(tmp_path), "--ledger", "mongodb://ops:hunter2@db/ledger")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "ledger URL mongodb://ops:***@db/ledger: unsupported scheme 'mongodb' (use a file path, sqlite:///FILE or postgresql://USER@HOST/DB)"
    ]


def test_a_wrong_password_is_not_echoed(postgres_server: PostgresServer, tmp_path: Path) -> None:
    wrong = postgres_server.password + "-wrong"
    result = invoke(history_command(tmp_path), "--ledger", postgres_server.url("postgres", password=wrong))
    assert result.exit_code == 1 and "password authentication failed" in result.output
    assert wrong not in result.output and postgres_server.password not in result.output
