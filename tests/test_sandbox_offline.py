"""The sandbox's parts that need no running cluster: the build cache, what kwokctl is told, the CLI's
plain inputs, and the /proc readers the loopback checks rest on."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from meshcharts.cli.sandbox import make_sandbox_group, parse_cluster
from meshcharts.core.diagnostics import ConfigError
from meshcharts.sandbox import build, ports, procs
from meshcharts.sandbox.cluster import Sandbox, SandboxCluster
from meshcharts.sandbox.kwok import BIND_ADDRESS, kwokctl_configuration, volume_stages


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _no_go_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


def test_the_go_module_replaces_all_33_staging_modules_with_their_published_versions() -> None:
    text = (build.GOBUILD_DIR / "go.mod").read_text()
    replaces = [line.split() for line in text.splitlines() if "=> k8s.io/" in line]
    assert len(replaces) == 33
    assert all(left == right and version == "v0.37.2" for left, _, right, version in replaces)
    assert "\tk8s.io/kubernetes v1.37.2 " in text and "=> ./staging" not in text
    assert (build.GOBUILD_DIR / "go.sum").stat().st_size > 0


def test_binaries_are_stamped_with_the_kubernetes_version() -> None:
    apiserver = next(b for b in build.SANDBOX_BINARIES if b.name == "kube-apiserver")
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {package}.gitVersion=v1.37.2" in apiserver.ldflags
        assert f"-X {package}.gitMajor=1" in apiserver.ldflags and f"-X {package}.gitMinor=37" in apiserver.ldflags
    helm3 = build.HELM_BUILDS["3.22.0"]
    assert "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37" in helm3.ldflags
    assert "-X helm.sh/helm/v3/internal/version.version=v3.22.0" in helm3.ldflags
    assert build.HELM_BUILDS["4.3.1"].ldflags == ("-X helm.sh/helm/v4/internal/version.version=v4.3.1",)


def test_the_cache_is_keyed_by_versions_under_meshcharts_cache(cache: Path) -> None:
    bin_dir = build.sandbox_bin_dir()
    assert bin_dir.parent.parent == cache / "sandbox"
    assert bin_dir.parent.name.startswith("k8s-v1.37.2_etcd-v3.7.0_kwok-v0.8.0_")
    assert build.helm_bin_dir("3.22.0") == cache / "helm" / "3.22.0"


def test_a_built_cache_is_reused_in_well_under_a_second_without_go(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = build.sandbox_bin_dir()
    bin_dir.mkdir(parents=True)
    for binary in build.SANDBOX_BINARIES:
        path = bin_dir / binary.name
        path.write_bytes(b"")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    _no_go_on_path(monkeypatch, tmp_path)
    lines: list[str] = []
    started = time.monotonic()
    binaries = build.ensure_sandbox_binaries(lines.append)
    assert time.monotonic() - started < 0.5
    assert binaries.kwokctl == bin_dir / "kwokctl" and lines == []


def test_missing_go_is_one_line_saying_what_to_install(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_go_on_path(monkeypatch, tmp_path)
    with pytest.raises(ConfigError) as caught:
        build.ensure_sandbox_binaries(lambda line: None)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.rule == "sandbox.go-missing" and "\n" not in diagnostic.message
    assert "install Go" in diagnostic.message


def test_the_build_command_fails_with_one_line_and_exit_1_without_go(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_go_on_path(monkeypatch, tmp_path)
    assert build.main(["helm", "3.22.0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "install Go" in err[0]
    assert build.main(["helm", "3.9.9"]) == 1
    assert "3.22.0, 4.3.1" in capsys.readouterr().err


def test_every_listener_kwokctl_starts_is_told_to_bind_loopback(tmp_path: Path) -> None:
    config = kwokctl_configuration(build.SandboxBinaries(tmp_path), tmp_path / "stages.yaml")
    options = config["options"]
    assert BIND_ADDRESS == "127.0.0.1" and options["bindAddress"] == "127.0.0.1"
    assert options["runtime"] == "binary"
    for key in ("etcdBinary", "kubeApiserverBinary", "kubeControllerManagerBinary", "kubeSchedulerBinary", "kwokControllerBinary"):
        assert Path(options[key]).parent == tmp_path
    patch = config["componentsPatches"][0]
    assert patch["name"] == "kwok-controller" and patch["extraArgs"] == [{"key": "config", "value": str(tmp_path / "stages.yaml")}]


def test_volume_stages_serve_exactly_the_offered_classes() -> None:
    stages = volume_stages(["standard", "sata"])
    text = yaml.safe_dump_all(stages)
    assert "kwok-volume" not in text
    for stage in stages:
        expressions = [e["cel"]["expression"] for e in stage["spec"]["selector"]["matchExpressions"]]
        assert expressions[0] == "has(self.spec.storageClassName) && self.spec.storageClassName in ['standard', 'sata']"
    kinds = {stage["metadata"]["name"]: stage["spec"]["resourceRef"]["kind"] for stage in stages}
    assert kinds["meshcharts-pvc-provision"] == "PersistentVolumeClaim"
    assert kinds["meshcharts-pv-delete"] == "PersistentVolume"


def test_cluster_specs_and_names_are_checked() -> None:
    assert parse_cluster("east=rancher-east:ui.cattle.io,monitoring.coreos.com") == SandboxCluster(
        "east", "rancher-east", ("ui.cattle.io", "monitoring.coreos.com")
    )
    assert parse_cluster("west").context_name == "west"
    with pytest.raises(ConfigError):
        Sandbox(Path("/nonexistent"), [SandboxCluster("East_1")])
    with pytest.raises(ConfigError, match="both use context"):
        Sandbox(Path("/nonexistent"), [SandboxCluster("a", "same"), SandboxCluster("b", "same")])


def test_cli_kubeconfig_before_up_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(make_sandbox_group(), ["--workdir", str(tmp_path), "--cluster", "east", "kubeconfig"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"no sandbox kubeconfig at {tmp_path.resolve() / 'kubeconfig'} (run `meshcharts sandbox up` first)"]


def test_cli_status_and_down_on_nothing(tmp_path: Path) -> None:
    group = make_sandbox_group()
    status = CliRunner().invoke(group, ["--workdir", str(tmp_path), "--cluster", "east=ctx-east", "status", "--output", "json"])
    assert status.exit_code == 1
    assert yaml.safe_load(status.output)["clusters"][0] == {
        "cluster": "east", "context": "ctx-east", "state": "absent", "server": None, "components": [], "listening": [],
    }
    down = CliRunner().invoke(group, ["--workdir", str(tmp_path), "--cluster", "east", "down"])
    assert down.exit_code == 0 and "nothing running" in down.output


def test_listeners_are_read_from_proc_with_their_addresses() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        (mine,) = [item for item in procs.listeners([os.getpid()]) if item.port == port]
        assert mine.address == "127.0.0.1" and mine.loopback
        assert procs.port_listening(port)
    assert procs.is_alive(os.getpid()) and not procs.is_alive(os.getpid(), Path("/nonexistent"))


def test_a_new_cluster_gets_ports_no_recorded_cluster_has_and_none_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stopped cluster listens on nothing, yet its ports stay its own; a port in use is skipped too.

    The machine may run other sandboxes: the ports are whatever is free now, not fixed numbers.
    """
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path / "cache"))
    mine = tmp_path / "mine" / "clusters" / "new"
    recorded = ports.choose(mine)
    assert set(recorded) == set(ports.PORT_OPTIONS) and len(set(recorded.values())) == len(recorded)
    stopped = tmp_path / "other" / "clusters" / "stopped"
    stopped.mkdir(parents=True)
    (stopped / "kwok.yaml").write_text(yaml.safe_dump({"kind": "KwokctlConfiguration", "options": recorded}))
    ports.register(stopped)
    assert ports.registered() == [stopped.resolve()]
    free_now = ports.choose(mine)
    assert not set(free_now.values()) & set(recorded.values())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", free_now["etcdPeerPort"]))
        busy.listen()
        chosen = ports.choose(mine)
    assert not set(chosen.values()) & (set(recorded.values()) | {free_now["etcdPeerPort"]})
    ports.forget(stopped.parent / "gone")  # forgetting what is not there is fine
    assert ports.registered() == [stopped.resolve()]
