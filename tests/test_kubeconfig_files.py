"""Every place that builds a Kubernetes client from a kubeconfig turns a file that is no kubeconfig into
one line naming it (never a YAML traceback, never an internal error), and never quotes the file: its
lines hold tokens and keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshcharts.core.diagnostics import ConfigError, InvalidInput
from meshcharts.core.reporter import format_diagnostic
from meshcharts.deploy.live import api_client
from meshcharts.sandbox import seed

BROKEN = "apiVersion: v1\nusers:\n- name: ops\n  user: {token: s3cr3t-t0ken}\ncontexts: [{name: east\n"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(BROKEN, encoding="utf-8")
    return path


def test_a_clusters_client_from_a_broken_kubeconfig(broken: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        api_client(str(broken), "east", "east")
    (line,) = [format_diagnostic(d) for d in raised.value.diagnostics]
    assert line.startswith(f"east: cannot use kube-context 'east' from {broken}:6:1: not a kubeconfig: not YAML (")
    assert "s3cr3t" not in line


def test_the_environments_kubeconfig_is_read_the_same_way(broken: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(broken))
    with pytest.raises(ConfigError) as raised:
        api_client(None, "east", "east")
    assert f"from {broken}:6:1: not a kubeconfig" in raised.value.diagnostics[0].message


def test_the_sandboxs_client_from_a_broken_kubeconfig(broken: Path) -> None:
    with pytest.raises(InvalidInput) as raised:
        seed.api_client(broken, "east")
    (line,) = [format_diagnostic(d) for d in raised.value.diagnostics]
    assert line.startswith(f"{broken}:6:1: not a kubeconfig: not YAML (") and line.endswith("(run `meshcharts sandbox up` again to rewrite it)")
    assert raised.value.diagnostics[0].rule == "sandbox.kubeconfig"
    assert "s3cr3t" not in line


def test_the_sandboxs_client_for_a_context_its_kubeconfig_lacks(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nclusters: []\ncontexts: []\nusers: []\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        seed.api_client(path, "east")
    assert format_diagnostic(raised.value.diagnostics[0]).startswith(f"{path}: cannot use kube-context 'east': ")
