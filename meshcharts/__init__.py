"""meshcharts: declare the Istio observability stack once, override per cluster, validate and wire it
before anything is deployed.

The public API lives in :mod:`meshcharts.api` and is re-exported here lazily, so ``import meshcharts``
stays cheap on the pre-commit path.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "open_project",
    "compose",
    "explain_values",
    "validate_project",
    "validate_files",
    "render_project",
    "Project",
    "Composition",
    "ValidationReport",
    "ExplainedValue",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        from meshcharts import api

        return getattr(api, name)
    if name in ("Diagnostic", "MeshchartsError", "ConfigError", "InvalidInput", "ExitCode"):
        from meshcharts.core import diagnostics

        return getattr(diagnostics, name)
    raise AttributeError(f"module 'meshcharts' has no attribute {name!r}")


__all__ = sorted(_API | {"Diagnostic", "MeshchartsError", "ConfigError", "InvalidInput", "ExitCode", "__version__"})
