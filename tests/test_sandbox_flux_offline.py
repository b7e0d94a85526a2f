"""``sandbox up --gitops flux`` without a cluster: the controllers' wrapper modules, their command
lines (loopback only), the cache, the CLI's usage errors, and the chart repository's server."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from meshcharts.cli.sandbox import make_sandbox_group
from meshcharts.sandbox import chartrepo, fluxbuild, procs
from meshcharts.sandbox.flux import ClusterFlux, controller_argv, write_cluster_kubeconfig
from meshcharts.sandbox.fluxbuild import FluxBuild
from tests.conftest import REPO_ROOT

#: What ``go mod edit -json`` prints for helm-controller v1.6.4's go.mod (abridged requires).
HELM_CONTROLLER_GO_MOD = {
    "Module": {"Path": "github.com/fluxcd/helm-controller"},
    "Go": "1.26.0",
    "Require": [
        {"Path": "github.com/fluxcd/helm-controller/api", "Version": "v1.6.4"},
        {"Path": "helm.sh/helm/v4", "Version": "v4.2.4"},
        {"Path": "cel.dev/expr", "Version": "v0.25.1", "Indirect": True},
    ],
    "Replace": [
        {"Old": {"Path": "github.com/fluxcd/helm-controller/api"}, "New": {"Path": "./api"}},
        {"Old": {"Path": "github.com/opencontainers/go-digest"}, "New": {"Path": "github.com/opencontainers/go-digest", "Version": "v1.0.1-0.20231025023718-d50d2fec9c98"}},
        {"Old": {"Path": "sigs.k8s.io/kustomize/api"}, "New": {"Path": "sigs.k8s.io/kustomize/api", "Version": "v0.21.1"}},
    ],
}


def test_the_wrapper_module_requires_the_controller_and_keeps_only_its_published_replaces() -> None:
    text = fluxbuild.wrapper_go_mod(fluxbuild.HELM_CONTROLLER, HELM_CONTROLLER_GO_MOD)
    assert text.startswith("module meshcharts.local/flux/helm-controller\n\ngo 1.26.0\n")
    assert "\tgithub.com/fluxcd/helm-controller v1.6.4\n" in text
    assert "\tgithub.com/fluxcd/helm-controller/api v1.6.4\n" in text and "\tcel.dev/expr v0.25.1\n" in text
    assert "./api" not in text
    assert "\tgithub.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20231025023718-d50d2fec9c98\n" in text
    assert "\tsigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1\n" in text


def test_source_controller_gets_the_artifact_module_the_proxy_serves() -> None:
    upstream = {"Go": "1.26.0", "Require": [{"Path": "github.com/fluxcd/pkg/artifact", "Version": "v0.18.0"}], "Replace": []}
    text = fluxbuild.wrapper_go_mod(fluxbuild.SOURCE_CONTROLLER, upstream)
    assert "\tgithub.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.1\n" in text
    assert "\tgithub.com/fluxcd/source-controller v1.9.6\n" in text


def test_the_controllers_are_cached_by_version_under_meshcharts_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path))
    folders = [fluxbuild.controller_dir(controller) for controller in fluxbuild.FLUX_CONTROLLERS]
    assert [folder.parent for folder in folders] == [tmp_path / "flux"] * 2
    assert folders[0].name.startswith("source-controller-v1.9.6_") and folders[1].name.startswith("helm-controller-v1.6.4_")


def test_a_built_cache_is_used_without_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path))
    for controller in fluxbuild.FLUX_CONTROLLERS:
        folder = fluxbuild.controller_dir(controller)
        (folder / "crds").mkdir(parents=True)
        (folder / "crds" / f"{controller.name}.yaml").write_text("kind: CustomResourceDefinition\n")
        binary = folder / controller.name
        binary.write_text("#!/bin/sh\n")
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    lines: list[str] = []
    built = fluxbuild.ensure_flux(lines.append)
    assert lines == []
    assert set(built.binaries) == {"source-controller", "helm-controller"} and len(built.crd_files) == 2


def test_every_address_a_controller_listens_on_is_loopback(tmp_path: Path) -> None:
    build = FluxBuild({"source-controller": Path("/x/source-controller"), "helm-controller": Path("/x/helm-controller")}, ())
    cluster = ClusterFlux(tmp_path)
    source = controller_argv(build, cluster, "source-controller", 31000)
    helm = controller_argv(build, cluster, "helm-controller", None)
    for argv in (source, helm):
        addresses = [arg.split("=", 1)[1] for arg in argv if arg.split("=", 1)[0].endswith("-addr")]
        assert addresses and all(address.startswith("127.0.0.1:") for address in addresses), argv
        assert "--watch-all-namespaces" in argv and "--enable-leader-election=false" in argv
    assert "--storage-addr=127.0.0.1:31000" in source and "--storage-adv-addr=127.0.0.1:31000" in source
    assert f"--storage-path={tmp_path / 'storage'}" in source


def test_each_cluster_gets_a_kubeconfig_of_its_own_context(tmp_path: Path) -> None:
    merged = tmp_path / "kubeconfig"
    merged.write_text(yaml.safe_dump({
        "clusters": [{"name": "a", "cluster": {"server": "https://127.0.0.1:1"}}, {"name": "b", "cluster": {"server": "https://127.0.0.1:2"}}],
        "users": [{"name": "a", "user": {"token": "x"}}, {"name": "b", "user": {"token": "y"}}],
        "contexts": [{"name": "a", "context": {"cluster": "a", "user": "a"}}, {"name": "b", "context": {"cluster": "b", "user": "b"}}],
        "current-context": "a",
    }))
    target = tmp_path / "flux" / "b" / "kubeconfig"
    write_cluster_kubeconfig(merged, "b", target)
    single = yaml.safe_load(target.read_text())
    assert single["current-context"] == "b"
    assert [c["cluster"]["server"] for c in single["clusters"]] == ["https://127.0.0.1:2"]
    assert target.stat().st_mode & 0o077 == 0, "it holds the client credentials: 0600"


def test_cli_up_with_an_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(make_sandbox_group(), ["--workdir", str(tmp_path), "--cluster", "a", "up", "--gitops", "argocd"])
    assert result.exit_code == 2
    assert "'argocd' is not 'flux'" in result.output


@pytest.mark.helm
def test_the_chart_repository_serves_the_charts_on_loopback_and_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path / "cache"))
    helm = REPO_ROOT / ".tools" / "helm" / "3.10.1" / "helm"
    if not os.access(helm, os.X_OK):
        pytest.skip("run .ci/install-helm")
    chart = tmp_path / "src" / "probe"
    shutil.copytree(REPO_ROOT / "tests" / "fixtures" / "charts" / "sandbox-probe", chart)
    packaged = tmp_path / "packaged"
    packaged.mkdir()
    subprocess.run([str(helm), "package", str(chart), "--destination", str(packaged)], check=True, capture_output=True)
    (archive,) = packaged.glob("*.tgz")
    state = tmp_path / "repository"
    lines: list[str] = []
    url = chartrepo.ensure(state, [chartrepo.ChartArchive(archive.name, archive)], helm, state / "server.log", lines.append)
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/index.yaml", timeout=10) as response:
            index = yaml.safe_load(response.read())
        assert [entry["urls"] for entry in index["entries"]["sandbox-probe"]] == [[f"{url}/{archive.name}"]]
        status = chartrepo.status(state)
        assert status is not None and status.running and status.charts == (archive.name,)
        pids = chartrepo.processes(state)
        assert [str(item) for item in procs.listeners(pids) if not item.loopback] == []
        # A second ensure keeps the running server and its URL.
        assert chartrepo.ensure(state, [], helm, state / "server.log", lines.append) == url
        assert chartrepo.processes(state) == pids
        assert lines[-1] == "chart repository: no pulled charts yet; `meshcharts pull`, then `sandbox up` again fills it (same URL)"
        with urllib.request.urlopen(f"{url}/index.yaml", timeout=10) as response:
            assert not (yaml.safe_load(response.read()) or {}).get("entries"), "the rewritten folder is served at once"
    finally:
        chartrepo.stop(state)
    assert all(procs.is_gone(pid) for pid in pids)
    assert chartrepo.processes(state) == {}
