"""The release ledger: every run of ``apply`` and every release it made, in SQLite or PostgreSQL.

Names are re-exported lazily: importing ``meshcharts.ledger`` (as the CLI does to register
``history``) costs nothing until a ledger is opened; SQLAlchemy, Alembic and psycopg load then.
See docs/ledger.md for what is recorded and how locks and crash repair behave.
"""

from __future__ import annotations

import importlib
from typing import Any

# Light modules (no database driver): imported as they are, typed.
from meshcharts.ledger.errors import LedgerError, LockHeld
from meshcharts.ledger.provenance import git_commit
from meshcharts.ledger.records import (
    LockHolder,
    ReleaseRecord,
    ReleaseSpec,
    ReleaseStatus,
    RunOutcome,
    RunRecord,
)
from meshcharts.ledger.urls import (
    LedgerURL,
    default_ledger_path,
    redact_url,
    resolve_ledger_url,
)
from meshcharts.ledger.values import canonical_json, hash_values

# The database side loads SQLAlchemy, Alembic and psycopg: only when first asked for (typed access:
# ``from meshcharts.ledger.store import open_ledger``).
_EXPORTS = {
    "Ledger": "store",
    "RunHandle": "store",
    "history": "store",
    "open_ledger": "store",
}

__all__ = [
    "Ledger",
    "LedgerError",
    "LedgerURL",
    "LockHeld",
    "LockHolder",
    "ReleaseRecord",
    "ReleaseSpec",
    "ReleaseStatus",
    "RunHandle",
    "RunOutcome",
    "RunRecord",
    "canonical_json",
    "default_ledger_path",
    "git_commit",
    "hash_values",
    "history",
    "open_ledger",
    "redact_url",
    "resolve_ledger_url",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'meshcharts.ledger' has no attribute {name!r}")
    return getattr(importlib.import_module(f"meshcharts.ledger.{module}"), name)
