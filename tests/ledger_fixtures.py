"""A real PostgreSQL server on 127.0.0.1 for the ledger tests, and a ``ledger_url`` for both databases.

The server: ``initdb`` into a temporary folder, then ``postgres`` itself listening on 127.0.0.1 at a
free port with its socket in that folder (run directly rather than through ``pg_ctl``, which starts
it via /bin/sh, so the fixture holds the process and stops it for sure). initdb refuses to run as
root, so as root the server runs as the ``postgres`` system user (or ``nobody``) in a folder it owns.
Password authentication (scram) over TCP, so the tests see a real password in a real URL. The
password goes to initdb in a 0600 file, never in argv.

Binaries: ``initdb`` on PATH, else the newest /usr/lib/postgresql/*/bin (Debian's layout);
``.ci/install-postgres`` installs them. The PostgreSQL tests skip, with one reason, only when none exist.

Import the fixtures in a test module; the server is one per test process however many modules do.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

SUPERUSER = "meshcharts"


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``, or None."""
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: _major(path.parent.name), reverse=True)
    candidates += versions
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


def _major(name: str) -> int:
    return int(name) if name.isdigit() else -1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the server's child process: a SIGINT (fast shutdown) when the test process dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


class PostgresServer:
    """One throwaway server; :meth:`database` makes a fresh database and returns its URL."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.password = "p%w/" + secrets.token_urlsafe(12)  # '%' and '/' must be escaped in a URL
        self.root = Path(tempfile.mkdtemp(prefix="meshcharts-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._databases = 0
        self._user: int | None = None
        self._group: int | None = None
        if os.geteuid() == 0:
            entry = self._unprivileged_user()
            self._user, self._group = entry.pw_uid, entry.pw_gid

    @staticmethod
    def _unprivileged_user() -> pwd.struct_passwd:
        for name in ("postgres", "nobody"):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise RuntimeError("running as root and neither the postgres nor the nobody user exists")

    def _run_as(self) -> dict[str, object]:
        if self._user is None:
            return {}
        return {"user": self._user, "group": self._group, "extra_groups": []}

    def start(self) -> None:
        self.sockets.mkdir()
        password_file = self.root / "pwfile"
        password_file.write_text(self.password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        if self._user is not None:
            for path in (self.root, self.sockets, password_file):
                os.chown(path, self._user, self._group or -1)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        initdb = subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(password_file),
             "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"],
            cwd=self.root, env=env, capture_output=True, text=True, check=False, **self._run_as(),  # type: ignore[call-overload]
        )
        password_file.unlink()
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr.strip() or initdb.stdout.strip()}")
        for _attempt in range(3):
            self.port = _free_port()
            if self._launch(env):
                return
        raise RuntimeError(f"postgres did not start: {self._log_tail()}")

    def _launch(self, env: dict[str, str]) -> bool:
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the server writes it for its whole life
        self.process = subprocess.Popen(  # type: ignore[call-overload]
            [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.sockets),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent, **self._run_as(),
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                psycopg.connect(self._conninfo("postgres"), connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.2)
        self.stop()
        return False

    def _conninfo(self, database: str) -> str:
        return make_conninfo(host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password, dbname=database)

    def url(self, database: str, password: str | None = None) -> str:
        secret = urllib.parse.quote(self.password if password is None else password, safe="")
        return f"postgresql://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; its URL (with the password)."""
        self._databases += 1
        name = f"ledger_{self._databases}"
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - our own counter
        return self.url(name)

    def _log_tail(self) -> str:
        try:
            return " | ".join((self.root / "server.log").read_text(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: ends sessions, writes nothing we keep
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


_SERVER: PostgresServer | None = None


def _shared_server() -> PostgresServer:
    global _SERVER
    if _SERVER is None:
        bin_dir = find_postgres_bin()
        if bin_dir is None:
            pytest.skip("no PostgreSQL server binaries (initdb, postgres) on PATH or in /usr/lib/postgresql/*/bin; run .ci/install-postgres")
        server = PostgresServer(bin_dir)
        try:
            server.start()
        except BaseException:
            server.remove()
            raise
        _SERVER = server
    return _SERVER


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The test process's PostgreSQL server (started on first use, removed at the end of the session)."""
    global _SERVER
    server = _shared_server()
    yield server
    if _SERVER is server:
        server.remove()
        _SERVER = None


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a fresh, empty ledger: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.ledger.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.database()
