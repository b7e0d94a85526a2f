"""``meshcharts export``: the releases apply would install, as Flux, Argo CD and Fleet objects.

Offline: what the objects say is checked against the one model of a cluster's releases
(``build_releases``): the same order (dependsOn, sync waves), charts and values; secrets never in
clear (a canary value set in the environment appears in no file and no output); byte-identical
re-exports; each export recorded in the ledger. That the engines' API servers accept the objects is
tests/live/test_export_crds.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

import meshcharts
from meshcharts.compose.project import Project
from meshcharts.deploy.releases import build_releases, value_at
from tests.conftest import REPO_ROOT, StackDir

CANARY = "canary-7f3e91-never-in-a-file"
CHARTS_URL = "http://127.0.0.1:8080/charts"


@pytest.fixture()
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StackDir:
    """The bundled example with a Grafana token from the environment on east (the canary is set)."""
    shutil.copy(REPO_ROOT / "meshcharts.yaml", tmp_path / "meshcharts.yaml")
    shutil.copytree(REPO_ROOT / "values", tmp_path / "values")
    stack = StackDir(tmp_path)
    stack.write("values/clusters/east/kiali.yaml", "external_services:\n  grafana:\n    auth: {type: bearer, token: !env GRAFANA_TOKEN}\n")
    monkeypatch.setenv("GRAFANA_TOKEN", CANARY)
    return stack


def _export(stack: StackDir, engine: str, *extra: str) -> Any:
    return stack.cli("export", "--to", engine, "--charts-url", CHARTS_URL, *extra)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _documents(folder: Path) -> dict[str, dict[str, Any]]:
    """Every YAML file below ``folder`` but charts/: exactly one object each."""
    found = {}
    for path in sorted(folder.rglob("*.yaml")):
        if "charts" in path.relative_to(folder).parts:
            continue
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert len(documents) == 1, f"{path} holds {len(documents)} objects"
        found[str(path.relative_to(folder))] = documents[0]
    return found


def _model(stack: StackDir):  # type: ignore[no-untyped-def]
    return build_releases(Project.open(stack.root))


def _without(values: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """The composed values with each secret's key removed (the model's dotted paths, no dots in keys here)."""
    copy = json.loads(json.dumps(values))
    for path in paths:
        *parents, last = path.split(".")
        node = copy
        for step in parents:
            node = node[step]
        del node[last]
    return copy


def test_flux_objects_carry_the_releases_order_values_and_secret_references(example: StackDir) -> None:
    result = _export(example, "flux")
    assert result.exit_code == 0, result.output
    folder = example.root / "gitops-out" / "flux"
    objects = _documents(folder)
    model = _model(example)
    for cluster, releases in model.clusters.items():
        for item in releases:
            release = objects[f"clusters/{cluster}/helmrelease-{item.name}.yaml"]
            spec = release["spec"]
            assert (release["kind"], release["metadata"]["namespace"]) == ("HelmRelease", "flux-system")
            assert (spec["releaseName"], spec["targetNamespace"], spec["storageNamespace"]) == (item.name, item.namespace, item.namespace)
            assert [dep["name"] for dep in spec.get("dependsOn", [])] == sorted(item.after)
            assert spec.get("values", {}) == _without(item.values, item.secret_paths)
            assert spec["chart"]["spec"]["version"] == item.chart_version or item.release.generated
            source = objects[f"clusters/{cluster}/helmrepository-{spec['chart']['spec']['sourceRef']['name']}.yaml"]
            assert source["spec"]["url"] == (CHARTS_URL if item.release.generated else item.release.repo)
        pairs = [(o["spec"]["releaseName"], o["spec"]["storageNamespace"]) for name, o in objects.items() if name.startswith(f"clusters/{cluster}/helmrelease-")]
        assert len(pairs) == len(set(pairs)) == len(releases)
    kiali = objects["clusters/east/helmrelease-rancher-kiali-server.yaml"]["spec"]
    assert kiali["valuesFrom"] == [
        {"kind": "Secret", "name": "rancher-kiali-server-secret-values", "valuesKey": "GRAFANA_TOKEN", "targetPath": "external_services.grafana.auth.token"}
    ]
    assert "token" not in kiali["values"]["external_services"]["grafana"]["auth"]
    assert "valuesFrom" not in objects["clusters/west/helmrelease-rancher-kiali-server.yaml"]["spec"]
    assert "Secrets to create" in result.output
    assert "cluster east, beside its Flux: flux-system/rancher-kiali-server-secret-values  keys: GRAFANA_TOKEN" in result.output


def test_no_secret_in_clear_anywhere_and_a_re_export_is_byte_identical(example: StackDir) -> None:
    for engine in ("flux", "fleet"):
        result = _export(example, engine)
        assert result.exit_code == 0, result.output
        assert CANARY not in result.output
        first = _files(example.root / "gitops-out" / engine)
        for name, data in first.items():
            assert CANARY.encode() not in data, name
            if name.endswith(".tgz"):
                assert CANARY.encode() not in gzip.decompress(data), name
        again = _export(example, engine)
        assert again.exit_code == 0, again.output
        assert _files(example.root / "gitops-out" / engine) == first
    elsewhere = example.root.parent / f"{example.root.name}-elsewhere"
    assert _export(example, "flux", "--out", str(elsewhere)).exit_code == 0
    assert _files(elsewhere) == _files(example.root / "gitops-out" / "flux")
    assert CANARY.encode() not in (example.root / "meshcharts.ledger.sqlite").read_bytes()


def test_fleet_bundles_per_release_with_each_clusters_values_and_dependencies(example: StackDir) -> None:
    result = _export(example, "fleet", "-o", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    bundles = _documents(example.root / "gitops-out" / "fleet")
    model = _model(example)
    for cluster, releases in model.clusters.items():
        for item in releases:
            bundle = bundles[f"bundles/{item.name}/fleet.yaml"]
            assert bundle["defaultNamespace"] == item.namespace and bundle["helm"]["releaseName"] == item.name
            assert bundle["labels"]["meshcharts.dev/release"] == item.name
            wanted = [dep["selector"]["matchLabels"]["meshcharts.dev/release"] for dep in bundle.get("dependsOn", [])]
            assert wanted == sorted(item.after)
            (target,) = [t for t in bundle["targetCustomizations"] if t.get("clusterName") == cluster]
            assert target.get("helm", {}).get("values", {}) == _without(item.values, item.secret_paths)
            assert bundle["targetCustomizations"][-1] == {"name": "outside-the-stack", "clusterSelector": {}, "doNotDeploy": True}
    east = [t for t in bundles["bundles/rancher-kiali-server/fleet.yaml"]["targetCustomizations"] if t["name"] == "east"][0]
    assert east["helm"]["valuesFrom"] == [{"secretKeyRef": {"name": "rancher-kiali-server-secret-values", "namespace": "istio-system", "key": "values.yaml"}}]
    (secret,) = document["secrets"]
    assert (secret["cluster"], secret["namespace"], secret["name"]) == ("east", "istio-system", "rancher-kiali-server-secret-values")
    assert secret["keys"][0]["key"] == "values.yaml" and "external_services.grafana.auth.token = $GRAFANA_TOKEN" in secret["keys"][0]["value"]
    assert bundles["bundles/mesh-extras/fleet.yaml"]["helm"]["repo"] == CHARTS_URL


def test_argocd_applications_name_the_cluster_and_order_by_sync_wave(example: StackDir) -> None:
    example.write("values/clusters/east/kiali.yaml", "deployment: {replicas: 2}\n")  # no secret: Argo CD can take it
    result = _export(example, "argocd")
    assert result.exit_code == 0, result.output
    apps = _documents(example.root / "gitops-out" / "argocd")
    model = _model(example)
    for cluster, releases in model.clusters.items():
        waves: dict[str, int] = {}
        for item in releases:
            app = apps[f"applications/{cluster}/{item.name}.yaml"]
            waves[item.name] = int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
            assert all(waves[dep] < waves[item.name] for dep in item.after)
            assert app["metadata"]["name"] == f"{cluster}-{item.name}"
            assert app["spec"]["destination"] == {"name": cluster, "namespace": item.namespace}
            assert app["spec"]["source"]["helm"]["releaseName"] == item.name
            assert app["spec"]["source"]["helm"].get("valuesObject", {}) == item.values
        assert waves["rancher-kiali-server"] == waves["rancher-kiali-server-crd"] + 1


def test_argocd_refuses_a_secret_naming_it_and_writes_and_records_nothing(example: StackDir) -> None:
    result = _export(example, "argocd")
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[0]
    assert line.startswith("values/clusters/east/kiali.yaml:3:")
    assert "east/kiali: external_services.grafana.auth.token: !env GRAFANA_TOKEN cannot be exported for Argo CD" in line
    assert CANARY not in result.output
    assert not (example.root / "gitops-out").exists()
    assert not (example.root / "meshcharts.ledger.sqlite").exists()


def test_each_export_is_a_run_in_history_with_a_row_per_release(example: StackDir) -> None:
    assert _export(example, "flux", "--cluster", "west").exit_code == 0
    history = example.cli("history", "-o", "json")
    assert history.exit_code == 0, history.output
    document = json.loads(history.output)
    (run,) = document["runs"]
    assert run["command"] == "export" and run["outcome"] == "succeeded" and "export --to flux" in run["note"]
    rows = document["releases"]
    assert {row["status"] for row in rows} == {"exported"} and {row["cluster"] for row in rows} == {"west"}
    assert sorted(row["release"] for row in rows) == sorted(item.name for item in _model(example).clusters["west"])


def test_a_generated_chart_needs_a_charts_url_and_the_stack_can_name_it_and_a_mirror(example: StackDir) -> None:
    result = example.cli("export", "--to", "flux")
    assert result.exit_code == 2
    assert "east/mesh-extras, west/mesh-extras: the chart is generated by meshcharts or on disk" in result.output
    assert not (example.root / "gitops-out").exists()
    stack = (example.root / "meshcharts.yaml").read_text()
    example.write("meshcharts.yaml", stack + "export:\n  chartRepository: https://mirror.example.com/helm\n  chartsUrl: https://git.example.com/charts\n")
    result = example.cli("export", "--to", "fleet")
    assert result.exit_code == 0, result.output
    bundles = _documents(example.root / "gitops-out" / "fleet")
    assert bundles["bundles/rancher-tracing/fleet.yaml"]["helm"]["repo"] == "https://mirror.example.com/helm"
    assert bundles["bundles/mesh-extras/fleet.yaml"]["helm"]["repo"] == "https://git.example.com/charts"
    index = yaml.safe_load((example.root / "gitops-out/fleet/charts/index.yaml").read_text())
    (entry,) = index["entries"]["mesh-extras"]
    assert entry["urls"] == [f"https://git.example.com/charts/{entry['name']}-{entry['version']}.tgz"]
    result = example.cli("export", "--to", "flux", "--chart-repository", "oci://registry.local:5000/mesh")
    assert result.exit_code == 0, result.output
    objects = _documents(example.root / "gitops-out" / "flux")
    assert objects["clusters/east/helmrepository-registry-local-5000-mesh.yaml"]["spec"] == {"interval": "10m", "url": "oci://registry.local:5000/mesh", "type": "oci"}
    assert not (example.root / "gitops-out/flux/clusters/east/helmrepository-charts-rancher-io.yaml").exists()
    example.write("meshcharts.yaml", stack + "export: {chartRepository: ftp://mirror}\n")
    assert example.cli("export", "--to", "fleet").exit_code == 2
    assert example.cli("export", "--to", "fleet", "--charts-url", CHARTS_URL, "--chart-repository", "ftp://x").exit_code == 2


def test_export_replaces_only_its_own_folder(example: StackDir, tmp_path_factory: pytest.TempPathFactory) -> None:
    mine = example.write("gitops-out/flux/notes.txt", "someone's notes\n")
    result = _export(example, "flux")
    assert result.exit_code == 2 and "was not written by meshcharts export" in result.output
    assert mine.read_text() == "someone's notes\n"
    shutil.rmtree(example.root / "gitops-out")
    outside = tmp_path_factory.mktemp("outside")
    (example.root / "gitops-out").symlink_to(outside)
    result = _export(example, "flux")
    assert result.exit_code == 2 and "outside the stack folder" in result.output
    assert list(outside.iterdir()) == []


def test_the_python_api_exports_without_the_cli(example: StackDir) -> None:
    result = meshcharts.export(example.root, meshcharts.ExportOptions("fleet", charts_url=CHARTS_URL, out=example.root / "fleet-out"))
    assert result.output == (example.root / "fleet-out").resolve()
    assert [secret.name for secret in result.secrets] == ["rancher-kiali-server-secret-values"]
    assert value_at(_model(example).clusters["east"].by_name()["rancher-kiali-server"].values, "external_services.grafana.auth.token") == "<secret from env GRAFANA_TOKEN>"
    assert "README.md" in result.files and (example.root / "fleet-out" / "README.md").is_file()


def test_charts_on_disk_are_packaged_into_the_exports_helm_repository(example: StackDir) -> None:
    example.write("charts/tracing/Chart.yaml", "apiVersion: v2\nname: rancher-tracing\nversion: 100.0.0\n")
    example.write("charts/tracing/templates/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tracing}\n")
    stack = (example.root / "meshcharts.yaml").read_text()
    example.write("meshcharts.yaml", stack.replace("    version: 100.0.0\n", "    version: 100.0.0\n    chart: ./charts/tracing\n", 1))
    result = _export(example, "flux")
    assert result.exit_code == 0, result.output
    folder = example.root / "gitops-out" / "flux"
    index = yaml.safe_load((folder / "charts" / "index.yaml").read_text())
    assert sorted(index["entries"]) == ["mesh-extras", "rancher-tracing"]
    (entry,) = index["entries"]["rancher-tracing"]
    assert entry["urls"] == [f"{CHARTS_URL}/rancher-tracing-100.0.0.tgz"] and entry["created"] == "1980-01-01T00:00:00Z"
    archive = (folder / "charts" / "rancher-tracing-100.0.0.tgz").read_bytes()
    assert hashlib.sha256(archive).hexdigest() == entry["digest"]
    release = yaml.safe_load((folder / "clusters" / "east" / "helmrelease-rancher-tracing.yaml").read_text())
    assert release["spec"]["chart"]["spec"]["sourceRef"]["name"] == "meshcharts-charts"
    rows = json.loads(example.cli("history", "-o", "json").output)["releases"]
    assert {row["chart_digest"] for row in rows if row["release"] == "rancher-tracing"} == {f"sha256:{entry['digest']}"}


def test_a_release_whose_dependencies_differ_between_clusters_is_one_fleet_bundle_per_cluster(example: StackDir) -> None:
    stack = (example.root / "meshcharts.yaml").read_text()
    stack = stack.replace("    type: rancher-kiali-server\n", "    type: rancher-kiali-server\n    needs: [tracing]\n", 1)
    example.write("meshcharts.yaml", stack.replace("    type: rancher-tracing\n", "    type: rancher-tracing\n    clusters: [east]\n", 1))
    (example.root / "values/clusters/west/tracing.yaml").unlink()
    example.write("values/clusters/west/extras.yaml", "exposure:\n  navLinks:\n    jaeger: null\n")
    result = _export(example, "fleet")
    assert result.exit_code == 0, result.output
    bundles = _documents(example.root / "gitops-out" / "fleet")
    assert "bundles/rancher-kiali-server-crd/fleet.yaml" not in bundles  # waits for tracing on east only
    east, west = bundles["bundles/rancher-kiali-server-crd/east/fleet.yaml"], bundles["bundles/rancher-kiali-server-crd/west/fleet.yaml"]
    assert [d["selector"]["matchLabels"]["meshcharts.dev/release"] for d in east["dependsOn"]] == ["rancher-tracing"]
    assert "dependsOn" not in west
    assert [t.get("clusterName") for t in east["targetCustomizations"]] == ["east", None]
    assert [t.get("clusterName") for t in west["targetCustomizations"]] == ["west", None]
    assert [t.get("clusterName") for t in bundles["bundles/rancher-tracing/fleet.yaml"]["targetCustomizations"]] == ["east", None]


def test_one_generated_chart_archive_serves_every_cluster_without_any_clusters_values(example: StackDir) -> None:
    example.write("values/clusters/west/extras.yaml", "exposure:\n  navLinks:\n    jaeger: {label: Tracing, group: Service Mesh}\n")
    result = _export(example, "fleet")
    assert result.exit_code == 0, result.output
    folder = example.root / "gitops-out" / "fleet"
    (archive,) = (folder / "charts").glob("mesh-extras-*.tgz")
    with tarfile.open(archive) as tar:
        assert yaml.safe_load(tar.extractfile("mesh-extras/values.yaml").read()) == {}  # type: ignore[union-attr]
    targets = {t["name"]: t for t in _documents(folder)["bundles/mesh-extras/fleet.yaml"]["targetCustomizations"]}
    assert targets["west"]["helm"]["values"]["exposure"]["navLinks"]["jaeger"]["label"] == "Tracing"
    assert targets["east"]["helm"]["values"]["exposure"]["navLinks"]["jaeger"]["label"] == "Jaeger"


def test_the_engines_folders_hold_only_their_objects_apart_from_charts(example: StackDir) -> None:
    """charts/index.yaml is no Kubernetes object: Argo CD's directory source and Fleet's GitRepo path
    (which makes a bundle of any folder with YAML and no fleet.yaml) must not see it."""
    example.write("values/clusters/east/kiali.yaml", "deployment: {replicas: 2}\n")
    for engine, top in (("flux", "clusters"), ("argocd", "applications"), ("fleet", "bundles")):
        assert _export(example, engine).exit_code == 0
        folder = example.root / "gitops-out" / engine
        assert sorted(path.name for path in folder.iterdir()) == sorted([".meshcharts-render", "README.md", "charts", top])
        for path in (folder / top).rglob("*.yaml"):
            if engine == "fleet":
                assert path.name == "fleet.yaml", path
            else:
                assert "kind" in yaml.safe_load(path.read_text()), path


def test_a_ledger_url_meshcharts_cannot_use_stops_export_before_anything_is_written(example: StackDir) -> None:
    result = _export(example, "flux", "--ledger", "mysql://db.example.com/mesh")
    assert result.exit_code == 2
    assert "--ledger: ledger URL mysql://db.example.com/mesh: unsupported scheme 'mysql'" in result.output
    assert not (example.root / "gitops-out").exists()
