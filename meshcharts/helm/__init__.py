"""The helm adapter: everything meshcharts asks of the helm binary goes through here.

``runner`` finds and runs helm (no shell, values on stdin, version-aware flags) on top of pyhelm3's
command builder; ``client`` is the typed, sync facade the rest of meshcharts uses.
"""

from meshcharts.helm.client import HelmClient, HelmError, LintResult, parse_manifests
from meshcharts.helm.locate import HELM_ENV, HELM_VERSION_ENV, find_helm
from meshcharts.helm.runner import HelmCommand, classify_error, interrupt_running_helm, run_sync

__all__ = [
    "HELM_ENV",
    "HELM_VERSION_ENV",
    "HelmClient",
    "HelmCommand",
    "HelmError",
    "LintResult",
    "classify_error",
    "interrupt_running_helm",
    "find_helm",
    "parse_manifests",
    "run_sync",
]
