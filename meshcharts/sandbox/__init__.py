"""The sandbox: local Kubernetes control planes (real API servers, on loopback) per stack cluster.

Exports resolve lazily: ``python3 -m meshcharts.sandbox.build`` must run on the standard library
alone (``.ci/install-helm`` uses it before the virtualenv exists), so importing this package does not
import the Kubernetes client or click.
"""

from __future__ import annotations

from meshcharts.core.lazy import lazy_exports

_EXPORTS = {
    "Sandbox": "meshcharts.sandbox.cluster",
    "SandboxCluster": "meshcharts.sandbox.cluster",
    "CrdRequest": "meshcharts.sandbox.spec",
    "ClusterStatus": "meshcharts.sandbox.cluster",
    "ClusterState": "meshcharts.sandbox.cluster",
    "ComponentStatus": "meshcharts.sandbox.cluster",
    "DEFAULT_STORAGE_CLASS": "meshcharts.sandbox.cluster",
    "SandboxBinaries": "meshcharts.sandbox.build",
    "ensure_sandbox_binaries": "meshcharts.sandbox.build",
    "ensure_helm": "meshcharts.sandbox.build",
    "go_available": "meshcharts.sandbox.build",
    "Listener": "meshcharts.sandbox.procs",
    "ChartArchive": "meshcharts.sandbox.chartrepo",
    "GitopsStatus": "meshcharts.sandbox.gitops",
    "ensure_flux": "meshcharts.sandbox.fluxbuild",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = sorted(_EXPORTS)
