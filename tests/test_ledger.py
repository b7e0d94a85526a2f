"""The ledger on SQLite and a real PostgreSQL: schema from empty, refusing a newer schema, what a run
records, history order and filters, values stored as given, and no password in any message."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text, update

from meshcharts.ledger import (
    LedgerError,
    ReleaseSpec,
    ReleaseStatus,
    RunOutcome,
    git_commit,
    hash_values,
    history,
    open_ledger,
)
from meshcharts.ledger.database import SCHEMA_HEAD, _alembic_config, head_revision, schema_revision
from meshcharts.ledger.schema import VERSION_TABLE, metadata, runs
from meshcharts.ledger.schema import releases as releases_table
from tests.conftest import REPO_ROOT
from tests.ledger_fixtures import PostgresServer, ledger_url, postgres_server  # noqa: F401  (fixtures)


def spec(cluster: str, component: str, values: dict | None = None, version: str = "1.0.0") -> ReleaseSpec:  # type: ignore[type-arg]
    values = {"component": component, "cluster": cluster} if values is None else values
    return ReleaseSpec(
        cluster=cluster,
        context=f"ctx-{cluster}",
        component=component,
        release=component,
        namespace="istio-system",
        chart=f"{component}-chart",
        chart_version=version,
        values=values,
        values_hash=hash_values(values),
        chart_digest="sha256:" + "ab" * 32,
    )


def test_an_empty_database_is_migrated_to_exactly_the_schema_the_code_queries(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        assert schema_revision(ledger.database) == head_revision() == "0002"
        with ledger.database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, metadata) == []
    with open_ledger(ledger_url) as again:  # a second open finds it current and changes nothing
        assert schema_revision(again.database) == "0002"


def test_the_head_a_current_ledger_is_checked_against_is_alembics_head() -> None:
    assert SCHEMA_HEAD == head_revision()


def test_a_ledger_already_at_head_opens_without_loading_alembic(tmp_path: Path) -> None:
    """Opening is on every apply's path: Alembic and the dialects it imports cost a third of a second."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    program = (
        "import sys\n"
        "from meshcharts.ledger import open_ledger\n"
        f"open_ledger({url!r}).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    again = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")  # created and migrated; then only read


def test_a_ledger_at_revision_0001_is_upgraded_keeping_its_rows_and_takes_exported_releases(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        with ledger.start_run("mesh", "/stacks/mesh") as run:
            run.record_release(spec("east", "kiali"), ReleaseStatus.UNCHANGED, revision=3)
        with ledger.database.write("going back to 0001") as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert schema_revision(ledger.database) == "0001"
        with pytest.raises(Exception, match="ck_meshcharts_releases_status|CHECK constraint"):
            with ledger.database.write("an exported row in a 0001 ledger") as connection:
                connection.execute(update(releases_table).values(status="exported"))
    with open_ledger(ledger_url) as ledger:
        assert schema_revision(ledger.database) == "0002"
        (kept,) = ledger.history()
        assert (kept.component, kept.status, kept.helm_revision) == ("kiali", ReleaseStatus.UNCHANGED, 3)
        with ledger.start_run("mesh", "/stacks/mesh", "export") as run:
            run.record_release(spec("west", "kiali"), ReleaseStatus.EXPORTED, note="exported for fleet")
        assert [r.status for r in ledger.history()] == [ReleaseStatus.EXPORTED, ReleaseStatus.UNCHANGED]


def test_a_ledger_from_a_newer_meshcharts_is_refused_in_one_line(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger, ledger.database.engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0042'"))
    with pytest.raises(LedgerError) as raised:
        open_ledger(ledger_url)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.rule == "ledger.newer-schema"
    assert "schema revision 0042, newer than this meshcharts knows (up to 0002)" in diagnostic.message
    assert "\n" not in diagnostic.message
    assert raised.value.exit_code == 1


def test_a_run_records_who_where_which_commit_and_every_release(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        with ledger.start_run("mesh", "/stacks/mesh", "apply", "c0ffee" * 6 + "abcd") as run:
            with ledger.lock("mesh", "east", run):
                first = run.begin_release(spec("east", "kiali"))
                assert [r.status for r in run.releases()] == [ReleaseStatus.PENDING]
                run.finish_release(first, ReleaseStatus.DEPLOYED, revision=4, note="recovered from pending-upgrade")
                run.record_release(spec("east", "tracing"), ReleaseStatus.UNCHANGED, revision=2)
        record = ledger.run(run.id)
        assert record.outcome is RunOutcome.SUCCEEDED
        assert record.who == f"{ledger.identity.user}@{ledger.identity.host}" and record.pid == os.getpid()
        assert record.git_commit == "c0ffee" * 6 + "abcd" and record.command == "apply"
        assert record.ended_at is not None and record.ended_at >= record.started_at
        tracing, kiali = ledger.history()
        assert (kiali.status, kiali.helm_revision, kiali.note) == (ReleaseStatus.DEPLOYED, 4, "recovered from pending-upgrade")
        assert (kiali.context, kiali.namespace, kiali.chart, kiali.chart_version) == ("ctx-east", "istio-system", "kiali-chart", "1.0.0")
        assert kiali.chart_digest == "sha256:" + "ab" * 32 and kiali.ended_at is not None
        assert tracing.status is ReleaseStatus.UNCHANGED and tracing.run_id == run.id
        assert kiali.as_json()["status"] == "deployed" and kiali.as_json()["run"] == run.id


def test_a_failed_release_fails_the_run_and_an_unanswered_one_is_never_deployed(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        with ledger.start_run("mesh", "/stacks/mesh") as run:
            failed = run.begin_release(spec("east", "kiali"))
            run.finish_release(failed, ReleaseStatus.FAILED, error="timed out waiting for the condition")
            run.begin_release(spec("east", "tracing"))  # helm never answered
        assert ledger.run(run.id).outcome is RunOutcome.FAILED
        statuses = {r.component: (r.status, r.error) for r in ledger.history()}
        assert statuses == {
            "kiali": (ReleaseStatus.FAILED, "timed out waiting for the condition"),
            "tracing": (ReleaseStatus.INTERRUPTED, None),
        }
        assert ledger.last_deployed("mesh", "east", "kiali") is None
        with pytest.raises(LedgerError, match="cannot end pending"):
            ledger.start_run("mesh", "/stacks/mesh").finish_release(failed, "pending")


def test_an_exception_or_ctrl_c_in_the_run_block_is_recorded(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        with pytest.raises(RuntimeError), ledger.start_run("mesh", "/s") as broken:
            raise RuntimeError("boom")
        with pytest.raises(KeyboardInterrupt), ledger.start_run("mesh", "/s") as stopped:
            raise KeyboardInterrupt
        assert (ledger.run(broken.id).outcome, ledger.run(broken.id).note) == (RunOutcome.FAILED, "stopped by RuntimeError")
        assert ledger.run(stopped.id).outcome is RunOutcome.INTERRUPTED


def test_history_is_newest_first_and_filters_by_cluster_and_component(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        for version in ("1.0.0", "1.1.0"):
            with ledger.start_run("mesh", "/s") as run:
                for cluster in ("east", "west"):
                    for component in ("kiali", "tracing"):
                        run.record_release(spec(cluster, component, version=version), ReleaseStatus.DEPLOYED, revision=1)
        everything = history(ledger)
        assert len(everything) == 8
        assert [r.id for r in everything] == sorted((r.id for r in everything), reverse=True)
        assert [(r.cluster, r.component, r.chart_version) for r in everything[:2]] == [
            ("west", "tracing", "1.1.0"),
            ("west", "kiali", "1.1.0"),
        ]
        east_kiali = history(ledger, cluster="east", component="kiali")
        assert [r.chart_version for r in east_kiali] == ["1.1.0", "1.0.0"]
        assert {r.cluster for r in history(ledger, cluster="west")} == {"west"}
        assert {r.component for r in history(ledger, component="tracing")} == {"tracing"}
        assert len(history(ledger, limit=3)) == 3
        assert history(ledger, cluster="nowhere") == []
        last = ledger.last_deployed("mesh", "east", "kiali")
        assert last is not None and last.chart_version == "1.1.0"
        assert ledger.last_deployed("other-stack", "east", "kiali") is None
        assert [r.id for r in ledger.runs()] == sorted((r.id for r in ledger.runs()), reverse=True)


def test_values_are_stored_exactly_as_given_and_shared_by_hash(ledger_url: str) -> None:
    values = {
        "auth": {"strategy": "token", "token": "***"},  # the caller redacted it
        "ports": [9090, 16686],
        "ratio": 0.25,
        "enabled": True,
        "nothing": None,
        "label": "café ☕",
        "nested": {"list": [{"a": 1}, {"b": [True, None]}]},
    }
    given = repr(values)
    with open_ledger(ledger_url) as ledger, ledger.start_run("mesh", "/s") as run:
        run.record_release(spec("east", "kiali", values), ReleaseStatus.DEPLOYED)
        run.record_release(spec("west", "kiali", values), ReleaseStatus.DEPLOYED)
        assert repr(values) == given  # not touched
        stored = ledger.history()
        assert [r.values for r in stored] == [values, values]
        with ledger.database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM meshcharts_value_sets")).scalar_one() == 1


def test_values_that_are_not_plain_data_are_refused_with_their_key(ledger_url: str) -> None:
    class Secret:
        """Stands in for the stack's !env marker: never stringified into the ledger."""

    with open_ledger(ledger_url) as ledger, ledger.start_run("mesh", "/s") as run:
        with pytest.raises(LedgerError) as raised:
            run.begin_release(dataclasses.replace(spec("east", "kiali"), values={"auth": {"token": Secret()}}))
        assert "east/kiali: values.auth.token: a Secret is not plain data" in str(raised.value)
        assert run.releases() == []


def test_runs_on_another_host_are_judged_by_their_heartbeat(tmp_path: Path) -> None:
    url = str(tmp_path / "hb.ledger.sqlite")
    with open_ledger(url, heartbeat_every=0.1) as beating, open_ledger(url, heartbeat_every=3600) as silent:
        live = beating.start_run("mesh", "/s")
        quiet = silent.start_run("mesh", "/s")
        before = beating.run(live.id).heartbeat_at
        deadline = time.monotonic() + 10
        while beating.run(live.id).heartbeat_at == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert beating.run(live.id).heartbeat_at > before, "the heartbeat thread never beat"
        with beating.database.engine.begin() as connection:  # as if both ran on another host sharing the file
            connection.execute(update(runs).values(host="elsewhere"))
            connection.execute(update(runs).where(runs.c.id == quiet.id).values(heartbeat_at=before - timedelta(minutes=5)))
        assert [r.id for r in beating.repair()] == [quiet.id]
        assert "no heartbeat from" in (beating.run(quiet.id).note or "")
        assert beating.run(live.id).outcome is RunOutcome.RUNNING
        live.finish()


def test_the_default_ledger_is_a_private_wal_file_beside_the_stack(tmp_path: Path) -> None:
    with open_ledger(None, default_dir=tmp_path) as ledger:
        path = tmp_path / "meshcharts.ledger.sqlite"
        assert ledger.url == str(path)
        ledger.start_run("mesh", tmp_path).finish()
        with ledger.database.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert (tmp_path / "meshcharts.ledger.sqlite-wal").exists()
            for name in ("meshcharts.ledger.sqlite", "meshcharts.ledger.sqlite-wal", "meshcharts.ledger.sqlite-shm"):
                assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ledger.db", "{cwd}/ledger.db"),
        ("sqlite:///rel/ledger.db", "{cwd}/rel/ledger.db"),
        ("sqlite:////abs/ledger.db", "/abs/ledger.db"),
        ("postgres://ops:hunter2@db.example:5432/ledger", "postgres://ops:***@db.example:5432/ledger"),
        ("postgresql://ops@db/ledger?password=hunter2&sslmode=require", "postgresql://ops@db/ledger?password=***&sslmode=require"),
    ],
)
def test_ledger_urls_resolve_and_print_without_passwords(url: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshcharts.ledger import resolve_ledger_url

    monkeypatch.chdir(tmp_path)
    resolved = resolve_ledger_url(url)
    assert str(resolved) == repr(resolved)[11:-2] == expected.format(cwd=tmp_path)
    assert "hunter2" not in str(resolved) + repr(resolved)
    if resolved.backend == "postgresql":
        assert resolved.sqlalchemy_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:hunter2@db/ledger", "mysql://root:***@db/ledger: unsupported scheme 'mysql'"),
        ("sqlite://", "expected sqlite:///relative/file"),
        ("postgresql://ops:hunter2@/ledger", "postgresql://ops:***@/ledger: no host"),
        ("postgresql://ops:hunter2@db:port/ledger", "postgresql://ops:***@db:port/ledger: Port could not be cast"),
    ],
)
def test_bad_ledger_urls_are_one_line_without_the_password(url: str, message: str) -> None:
    with pytest.raises(LedgerError) as raised:
        open_ledger(url)
    assert message in str(raised.value) and "hunter2" not in str(raised.value)


def test_a_missing_folder_or_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"folder .*/missing does not exist"):
        open_ledger(str(tmp_path / "missing" / "x.sqlite"))
    with pytest.raises(LedgerError) as raised:
        open_ledger("postgresql://ops:hunter2@127.0.0.1:1/ledger", busy_timeout=2)
    assert "postgresql://ops:***@127.0.0.1:1/ledger: cannot connect:" in str(raised.value)
    assert "hunter2" not in str(raised.value) and "\n" not in str(raised.value)


def test_postgres_errors_never_show_the_password(postgres_server: PostgresServer) -> None:
    secret = postgres_server.password
    encoded = postgres_server.url("x").split(":")[2].split("@")[0]
    assert encoded != secret  # the URL carries it percent-encoded: both forms must be scrubbed
    for url in (postgres_server.url("no_such_db"), postgres_server.url("postgres", password=secret + "x")):
        with pytest.raises(LedgerError) as raised:
            open_ledger(url)
        message = str(raised.value)
        assert "cannot connect" in message and ":***@127.0.0.1" in message
        assert secret not in message and encoded not in message
    with open_ledger(postgres_server.database()) as ledger:
        assert secret not in ledger.url and encoded not in ledger.url and "***" in ledger.url


def test_git_commit_is_read_without_a_shell_and_none_outside_git(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert git_commit(REPO_ROOT) == head
    assert git_commit(REPO_ROOT / "meshcharts.yaml") == head


def test_the_ledger_and_history_command_load_no_database_code_until_used() -> None:
    probe = (
        "import sys, meshcharts, meshcharts.ledger, meshcharts.cli.history\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic', 'psycopg'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_python_example_in_docs_ledger_md_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = (REPO_ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", page, re.S)
    exec(compile(example.replace('"/srv/stacks/mesh"', repr(str(tmp_path))), "docs/ledger.md", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out == "1 kiali deployed 3\n"
    assert (tmp_path / "meshcharts.ledger.sqlite").is_file()
