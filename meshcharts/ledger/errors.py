"""The ledger's errors: one line each, exit code 1, never a traceback and never a password.

Kept free of SQLAlchemy so the CLI layer can import it without paying for the database stack.
"""

from __future__ import annotations

from meshcharts.core.diagnostics import Diagnostic, ExitCode, MeshchartsError


class LedgerError(MeshchartsError):
    """The ledger cannot be used: a bad URL, an unreachable database, a schema from a newer meshcharts.

    Exit 1, as DESIGN.md gives ``history`` and ``apply`` for an error that is not a usage mistake.
    """

    exit_code = ExitCode.INVALID


def ledger_error(message: str, rule: str, hint: str | None = None) -> LedgerError:
    """A LedgerError carrying one Diagnostic; ``message`` must already be redacted."""
    return LedgerError(Diagnostic(message=message, rule=rule, hint=hint))


class LockHeld(LedgerError):
    """Another live run holds the lock for this stack and cluster and did not let go in time."""

    def __init__(self, message: str, run_id: int) -> None:
        super().__init__(Diagnostic(message=message, rule="ledger.locked"))
        self.run_id = run_id
