"""The release ledger: every run of ``apply`` and every release it made, in SQLite or PostgreSQL.

Names are re-exported lazily: importing ``meshcharts.ledger`` (as the CLI does to register
``history``) costs nothing until a ledger is opened; SQLAlchemy, Alembic and psycopg load then.
See docs/ledger.md for what is recorded and how locks and crash repair behave.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshcharts.ledger.errors import LedgerError, LockHeld
    from meshcharts.ledger.provenance import git_commit
    from meshcharts.ledger.records import LockHolder, ReleaseRecord, ReleaseSpec, ReleaseStatus, RunOutcome, RunRecord
    from meshcharts.ledger.store import Ledger, RunHandle, history, open_ledger
    from meshcharts.ledger.urls import LedgerURL, default_ledger_path, redact_url, resolve_ledger_url
    from meshcharts.ledger.values import canonical_json, hash_values

_EXPORTS = {
    "LedgerError": "errors",
    "LockHeld": "errors",
    "git_commit": "provenance",
    "LockHolder": "records",
    "ReleaseRecord": "records",
    "ReleaseSpec": "records",
    "ReleaseStatus": "records",
    "RunOutcome": "records",
    "RunRecord": "records",
    "Ledger": "store",
    "RunHandle": "store",
    "history": "store",
    "open_ledger": "store",
    "LedgerURL": "urls",
    "default_ledger_path": "urls",
    "redact_url": "urls",
    "resolve_ledger_url": "urls",
    "canonical_json": "values",
    "hash_values": "values",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'meshcharts.ledger' has no attribute {name!r}")
    return getattr(importlib.import_module(f"meshcharts.ledger.{module}"), name)
