"""Which database a ledger lives in: ``--ledger URL`` resolved, and the redacted form of it we print.

Accepted: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, a plain path (SQLite), and
``postgresql://user:password@host:port/db`` (also ``postgres://`` and ``postgresql+psycopg://``).
No URL means the default: ``<stack root>/meshcharts.ledger.sqlite``.

A URL may carry a password; :class:`LedgerURL` never shows it (``str``/``repr`` are the redacted
form) and :meth:`LedgerURL.scrub` removes it from driver messages before they reach the user.
Standard library only, so resolving a URL costs nothing on the CLI path.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from meshcharts.core.model import Stack
from meshcharts.ledger.errors import ledger_error

DEFAULT_FILENAME = "meshcharts.ledger.sqlite"
REDACTED = "***"

Backend = Literal["sqlite", "postgresql"]

_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True)
class LedgerURL:
    """A resolved ledger location. ``sqlalchemy_url`` holds the secret: pass it to the engine only."""

    backend: Backend
    display: str
    sqlalchemy_url: str = field(repr=False)
    path: Path | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"LedgerURL({self.display!r})"

    def scrub(self, text: str) -> str:
        """``text`` with every form of the password replaced, for messages built from driver errors."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, REDACTED)
        return text


def default_ledger_path(stack_root: Path) -> Path:
    """Where a stack's ledger lives when no URL is given (git-ignored by ``*.ledger.sqlite``)."""
    return stack_root / DEFAULT_FILENAME


def resolve_ledger_url(url: str | None, *, default_dir: Path | None = None) -> LedgerURL:
    """``--ledger URL`` (or the default file in ``default_dir``) as a :class:`LedgerURL`.

    Raises LedgerError with one redacted line for anything we cannot use.
    """
    if url is None or not url.strip():
        if default_dir is None:
            raise ledger_error("no ledger given and no stack folder to put the default one in", "ledger.url")
        return _sqlite(default_ledger_path(default_dir))
    url = url.strip()
    if "://" not in url:
        return _sqlite(Path(url))
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme in _SQLITE_SCHEMES:
        if "?" in rest or not rest.startswith("/") or rest == "/":
            raise ledger_error(
                f"ledger URL {redact_url(url)}: expected sqlite:///relative/file or sqlite:////absolute/file",
                "ledger.url",
            )
        return _sqlite(Path(rest[1:]))
    if scheme in _POSTGRES_SCHEMES:
        return _postgres(url, rest)
    raise ledger_error(
        f"ledger URL {redact_url(url)}: unsupported scheme {scheme!r}",
        "ledger.url",
        hint="use a file path, sqlite:///FILE or postgresql://USER@HOST/DB",
    )


def redact_url(url: str) -> str:
    """``url`` with the password (in the authority or a ``password=`` query parameter) shown as ***."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if has_password else f"{user}@{hostport}"
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{key}={REDACTED if key.lower() == 'password' else value}" for key, value in pairs)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _sqlite(path: Path) -> LedgerURL:
    resolved = path.expanduser().absolute()
    return LedgerURL(
        backend="sqlite",
        display=str(resolved),
        sqlalchemy_url=f"sqlite:///{resolved}",
        path=resolved,
    )


def _postgres(url: str, rest: str) -> LedgerURL:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        raise ledger_error(f"ledger URL {redact_url(url)}: {error}", "ledger.url") from None
    if not parts.hostname and "host=" not in parts.query:
        raise ledger_error(f"ledger URL {redact_url(url)}: no host", "ledger.url", hint="postgresql://USER@HOST:PORT/DB")
    secrets: list[str] = []
    if parts.password:
        secrets += [parts.password, urllib.parse.unquote(parts.password)]
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == "password" and value:
            secrets += [value, urllib.parse.quote(value, safe="")]
    return LedgerURL(
        backend="postgresql",
        display=redact_url(url),
        sqlalchemy_url="postgresql+psycopg://" + rest,
        secrets=tuple(sorted(set(secrets), key=len, reverse=True)),
    )


def ledger_url_for(stack: Stack, explicit: str | None) -> str | None:
    """``--ledger`` if given, else the stack file's ``ledger:`` (a relative file is beside the stack), else None (the default file)."""
    if explicit:
        return explicit
    if stack.ledger and "://" not in stack.ledger:
        return str(stack.root / stack.ledger)
    return stack.ledger
