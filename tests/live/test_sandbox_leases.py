"""On the running sandbox: the scheduler and controller-manager were started without leader election
(see tests/test_live_sandbox_leases.py for why a lost lease would stop the cluster scheduling Pods)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live.conftest import LiveClusters

pytestmark = pytest.mark.live


def test_scheduler_and_controller_manager_run_without_leader_election(live_clusters: LiveClusters) -> None:
    sandbox = live_clusters.require_sandbox()
    seen = []
    for pid in sandbox.processes():
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        program = Path(argv[0].decode()).name
        if program in ("kube-scheduler", "kube-controller-manager"):
            seen.append(program)
            assert b"--leader-elect=false" in argv, program
    assert sorted(seen) == sorted(["kube-scheduler", "kube-controller-manager"] * len(sandbox.clusters))
