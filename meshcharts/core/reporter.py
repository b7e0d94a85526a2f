"""Printing findings: one place decides how a Diagnostic looks as text and as JSON.

Text lines read ``file:line:col: cluster/component: key.path: message (hint)`` so editors and CI logs
can jump to them; warnings say so before the message. A finding folded over several clusters (one line
of a shared layer) names them all: ``east, west/kiali: ...``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from meshcharts.core.diagnostics import Diagnostic


def format_diagnostic(diagnostic: Diagnostic) -> str:
    parts: list[str] = []
    if diagnostic.location is not None:
        parts.append(str(diagnostic.location))
    scope = "/".join(part for part in (", ".join(diagnostic.all_clusters), diagnostic.component) if part)
    if scope:
        parts.append(scope)
    if diagnostic.path:
        parts.append(diagnostic.path)
    message = diagnostic.message
    if not diagnostic.is_error:
        message = "warning: " + message
    if diagnostic.hint:
        message += f" ({diagnostic.hint})"
    parts.append(message)
    return ": ".join(parts)


def print_diagnostics(diagnostics: Iterable[Diagnostic], stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    for diagnostic in diagnostics:
        print(format_diagnostic(diagnostic), file=out)


def print_json(document: Any, stream: TextIO | None = None) -> None:
    """Strict JSON, always: a NaN or infinity (which Python would print bare) becomes a string."""
    try:
        text = json.dumps(document, indent=2, sort_keys=False, default=str, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(document), indent=2, sort_keys=False, default=str, allow_nan=False)
    print(text, file=stream or sys.stdout)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def error_document(diagnostics: list[Diagnostic]) -> dict[str, Any]:
    """The JSON for a command that failed before producing its own result (same shape as validate)."""
    return {
        "valid": False,
        "errors": [d.as_json() for d in diagnostics if d.is_error],
        "warnings": [d.as_json() for d in diagnostics if not d.is_error],
    }
