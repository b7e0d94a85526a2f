"""The sandbox's scheduler and controller-manager run without leader election.

Found by the live apply tests on a loaded 2-core machine: each of them renews a lease through the API
server every few seconds and exits when one renewal times out ("leaderelection lost"). kwokctl does not
restart them, so the cluster silently stops scheduling Pods and every ``helm --wait`` runs into its
timeout. A sandbox cluster has exactly one of each, so there is no leader to elect.
"""

from __future__ import annotations

from pathlib import Path

from meshcharts.sandbox import build
from meshcharts.sandbox.kwok import kwokctl_configuration


def test_scheduler_and_controller_manager_do_not_elect_a_leader(tmp_path: Path) -> None:
    config = kwokctl_configuration(build.SandboxBinaries(tmp_path), tmp_path / "stages.yaml")
    patches = {patch["name"]: patch["extraArgs"] for patch in config["componentsPatches"]}
    for component in ("kube-scheduler", "kube-controller-manager"):
        assert {"key": "leader-elect", "value": "false"} in patches[component], component
