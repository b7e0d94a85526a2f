"""The helm adapter: everything meshcharts asks of the helm binary goes through here.

``runner`` finds and runs helm (no shell, values on stdin, version-aware flags) on top of pyhelm3's
command builder; ``client`` is the typed, sync facade the rest of meshcharts uses; ``failures`` and
``manifests`` are what code that reads helm's output needs without running helm.

The names below are re-exported lazily: importing any module of this package (``locate``,
``constraints``, ``manifests``) must not import pyhelm3, whose package brings pydantic and asyncio
(about 0.2 s), paid by every plan and apply that calls no helm.
"""

from __future__ import annotations

from meshcharts.core.lazy import lazy_exports

#: Public name -> the module that defines it.
_LAZY = {
    **dict.fromkeys(("HelmClient", "LintResult"), "meshcharts.helm.client"),
    "HelmError": "meshcharts.helm.failures",
    "parse_manifests": "meshcharts.helm.manifests",
    **dict.fromkeys(("HELM_ENV", "HELM_VERSION_ENV", "find_helm"), "meshcharts.helm.locate"),
    **dict.fromkeys(("HelmCommand", "classify_error", "interrupt_running_helm", "run_sync"), "meshcharts.helm.runner"),
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
