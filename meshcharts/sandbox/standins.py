"""Which CRD groups the sandbox can provide, and the error for a stack that asks for one it cannot.

A stack's ``crds:`` says what a cluster already has from outside the stack; ``apply`` creates objects
of those kinds. A sandbox that seeded nothing for such a group would start, and apply would fail
halfway (``no matches for kind "Gateway" in version "networking.istio.io/v1beta1"``). So ``up`` checks
every requested group against the stand-in files (``<group>.yaml``) before anything starts, and
refuses with one line per missing group at the stack line that names it. Light on purpose: only
the file system, no Kubernetes client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.sandbox.spec import SandboxCluster

SUFFIX = ".yaml"


def stand_ins(crd_dirs: Sequence[Path]) -> dict[str, Path]:
    """API group → its stand-in file, from ``<group>.yaml`` in each folder; an earlier folder wins."""
    found: dict[str, Path] = {}
    for folder in crd_dirs:
        try:
            entries = sorted(Path(folder).iterdir())
        except OSError:
            continue
        for path in entries:
            if path.name.endswith(SUFFIX) and path.is_file():
                found.setdefault(path.name[: -len(SUFFIX)], path)
    return found


def unprovided(clusters: Sequence[SandboxCluster], available: Mapping[str, Path], crd_dirs: Sequence[Path]) -> list[Diagnostic]:
    """One error per cluster and requested group that has no stand-in file, at the line that asks for it."""
    offered = ", ".join(sorted(available)) or "none"
    folders = ", ".join(str(folder) for folder in crd_dirs)
    found = []
    for cluster in clusters:
        for group in cluster.crd_groups:
            if group in available:
                continue
            request = cluster.crd_request(group)
            found.append(
                Diagnostic(
                    message=f"the sandbox cannot provide the CRD group {group} (no {group}{SUFFIX} in {folders}); applying its kinds would fail",
                    rule="sandbox.crds-unavailable",
                    location=request.location,
                    cluster=cluster.name,
                    path=request.path,
                    hint=(
                        f"it provides {offered}; for another, write FOLDER/{group}{SUFFIX} with the group's "
                        "CustomResourceDefinitions and run `sandbox up --crd-dir FOLDER`"
                    ),
                )
            )
    return found


def check_provided(clusters: Sequence[SandboxCluster], crd_dirs: Sequence[Path]) -> dict[str, Path]:
    """The stand-in files of every group the clusters ask for; ConfigError naming each one missing."""
    available = stand_ins(crd_dirs)
    problems = unprovided(clusters, available, crd_dirs)
    if problems:
        raise ConfigError(problems)
    return {group: available[group] for cluster in clusters for group in cluster.crd_groups}
