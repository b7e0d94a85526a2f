"""Every object ``meshcharts export`` writes, judged by a real API server against the engines' real CRDs.

The CRDs come from the engines' own Go module zips at pinned versions, downloaded at test time through
the Go module proxy into ~/.cache/meshcharts/gitops-crds/ (nothing is committed): helm-controller
v1.6.4 and source-controller v1.9.6 (Flux), Rancher Fleet v0.12.0, Argo CD v3.6.1. They are
installed into a sandbox cluster with server-side apply; then each exported object is created with a
server-side dry run and strict field validation, so an unknown or misspelled field fails as surely as
a wrong type. Fleet's ``fleet.yaml`` is not an object itself: Fleet reads it into a Bundle (its
``targetCustomizations`` become the Bundle's ``targets``), and that Bundle is what is judged here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

import meshcharts
from meshcharts.sandbox import seed
from tests.conftest import REPO_ROOT
from tests.live.conftest import LiveClusters

pytestmark = pytest.mark.live

#: (module, version, folder or file of CRDs inside the zip, the Go toolchain the module's go.mod needs)
ENGINE_MODULES = (
    ("github.com/fluxcd/helm-controller", "v1.6.4", "config/crd/bases", None),
    ("github.com/fluxcd/source-controller", "v1.9.6", "config/crd/bases", None),
    ("github.com/rancher/fleet", "v0.12.0", "charts/fleet-crd/templates/crds.yaml", None),
    ("github.com/argoproj/argo-cd/v3", "v3.6.1", "manifests/crds", "go1.27.3"),
)
NAMESPACES = ("flux-system", "argocd", "fleet-default")
CHARTS_URL = "http://127.0.0.1:8080"
MANAGER = "meshcharts-tests"


def crd_cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "meshcharts" / "gitops-crds"


def download(module: str, version: str, toolchain: str | None, scratch: Path) -> Path:
    """The module's files, from the Go module proxy through ``go mod download`` (cached by version)."""
    work = scratch / module.replace("/", "_")
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text("module example.com/meshcharts-crds\n\ngo 1.26\n", encoding="utf-8")
    env = {**os.environ, "GOMODCACHE": str(crd_cache() / "modcache"), "GOFLAGS": "-mod=mod"}
    if toolchain:
        env["GOTOOLCHAIN"] = toolchain
    result = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False)
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        answer = {}
    if result.returncode != 0 or answer.get("Error") or not answer.get("Dir"):
        reason = answer.get("Error") or result.stderr.strip().splitlines()[-1:] or f"exit {result.returncode}"
        pytest.fail(f"go mod download {module}@{version} was refused: {reason}", pytrace=False)
    return Path(answer["Dir"])


def crds(scratch: Path) -> list[dict[str, Any]]:
    """Every CRD of the four pinned engine versions."""
    found = []
    for module, version, where, toolchain in ENGINE_MODULES:
        root = download(module, version, toolchain, scratch) / where
        files = sorted(root.glob("*.yaml")) if root.is_dir() else [root]
        for path in files:
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                    found.append(document)
    return found


class Judge:
    """Server-side apply of CRDs, and dry-run creates with strict field validation, on one cluster."""

    def __init__(self, api: ApiClient, definitions: list[dict[str, Any]]) -> None:
        self.api = api
        self.plurals = {
            (crd["spec"]["group"], crd["spec"]["names"]["kind"]): (crd["spec"]["names"]["plural"], crd["spec"]["scope"] == "Namespaced")
            for crd in definitions
        }

    def call(self, method: str, path: str, body: Any, query: list[tuple[str, str]], content_type: str) -> Any:
        """One request; the answer as JSON, or ApiException (with the server's message) when refused."""
        verb, url, headers, payload, _ = self.api.param_serialize(
            method=method, resource_path=path, query_params=query,
            header_params={"Content-Type": content_type, "Accept": "application/json"}, body=body, auth_settings=["BearerToken"],
        )
        response = self.api.call_api(verb, url, header_params=headers, body=payload)
        response.read()
        if not 200 <= response.status < 300:
            raise ApiException(http_resp=response)
        return json.loads(response.data)

    def install(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        self.call("PATCH", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", json.dumps(crd),
                  [("fieldManager", MANAGER), ("force", "true")], "application/apply-patch+yaml")

    def established(self, names: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(names)
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                crd = self.call("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", None, [], "application/json")
                conditions = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
                if conditions.get("Established") == "True":
                    waiting.discard(name)
            time.sleep(0.2)
        assert not waiting, f"CRDs not established: {sorted(waiting)}"

    def namespace(self, name: str) -> None:
        body = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        self.call("PATCH", f"/api/v1/namespaces/{name}", body, [("fieldManager", MANAGER)], "application/apply-patch+yaml")

    def dry_run(self, document: dict[str, Any]) -> None:
        """Create ``document`` with ``dryRun=All`` and ``fieldValidation=Strict``; raises ApiException if refused."""
        group, _, version = document["apiVersion"].rpartition("/")
        plural, namespaced = self.plurals[(group, document["kind"])]
        scope = f"/namespaces/{document['metadata']['namespace']}" if namespaced else ""
        self.call("POST", f"/apis/{group}/{version}{scope}/{plural}", document, [("dryRun", "All"), ("fieldValidation", "Strict")], "application/json")


@pytest.fixture(scope="module")
def judge(live_clusters: LiveClusters, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Judge]:
    definitions = crds(tmp_path_factory.mktemp("go-modules"))
    api = seed.api_client(live_clusters.kubeconfig, live_clusters.contexts[0])
    judge = Judge(api, definitions)
    for crd in definitions:
        judge.install(crd)
    judge.established([crd["metadata"]["name"] for crd in definitions])
    for name in NAMESPACES:
        judge.namespace(name)
    yield judge
    api.close()


@pytest.fixture()
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(REPO_ROOT / "meshcharts.yaml", tmp_path / "meshcharts.yaml")
    shutil.copytree(REPO_ROOT / "values", tmp_path / "values")
    monkeypatch.setenv("GRAFANA_TOKEN", "canary-not-read-by-export")
    return tmp_path


def _with_secret(stack: Path) -> None:
    (stack / "values/clusters/east").mkdir(parents=True, exist_ok=True)
    (stack / "values/clusters/east/kiali.yaml").write_text(
        "external_services:\n  grafana:\n    auth: {type: bearer, token: !env GRAFANA_TOKEN}\n", encoding="utf-8"
    )


def _objects(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        str(path.relative_to(folder)): yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(folder.rglob("*.yaml"))
        if "charts" not in path.relative_to(folder).parts
    }


def bundle(name: str, fleet_yaml: dict[str, Any]) -> dict[str, Any]:
    """The Bundle Fleet makes of a fleet.yaml: its labels on the object, targetCustomizations as targets."""
    spec = {key: value for key, value in fleet_yaml.items() if key not in ("labels", "targetCustomizations")}
    spec["targets"] = fleet_yaml.get("targetCustomizations", [])
    return {
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "Bundle",
        "metadata": {"name": name, "namespace": "fleet-default", "labels": fleet_yaml.get("labels", {})},
        "spec": spec,
    }


def test_the_api_server_accepts_every_flux_object_and_refuses_a_misspelled_field(judge: Judge, example: Path) -> None:
    _with_secret(example)
    result = meshcharts.export(example, meshcharts.ExportOptions("flux", charts_url=CHARTS_URL))
    objects = _objects(result.output)
    kinds = sorted({(o["apiVersion"], o["kind"]) for o in objects.values()})
    assert kinds == [("helm.toolkit.fluxcd.io/v2", "HelmRelease"), ("source.toolkit.fluxcd.io/v1", "HelmRepository")]
    for path, document in objects.items():
        try:
            judge.dry_run(document)
        except ApiException as error:
            pytest.fail(f"{path}: refused: {error.body}", pytrace=False)
    broken = objects["clusters/east/helmrelease-rancher-kiali-server.yaml"]
    broken["spec"]["releaseNmae"] = broken["spec"].pop("releaseName")
    with pytest.raises(ApiException) as refused:
        judge.dry_run(broken)
    assert "releaseNmae" in refused.value.body


def test_the_api_server_accepts_every_argocd_application(judge: Judge, example: Path) -> None:
    result = meshcharts.export(example, meshcharts.ExportOptions("argocd", charts_url=CHARTS_URL))
    objects = _objects(result.output)
    assert {o["kind"] for o in objects.values()} == {"Application"} and len(objects) == 8
    for path, document in objects.items():
        try:
            judge.dry_run(document)
        except ApiException as error:
            pytest.fail(f"{path}: refused: {error.body}", pytrace=False)


def test_the_api_server_accepts_every_fleet_bundle(judge: Judge, example: Path) -> None:
    _with_secret(example)
    result = meshcharts.export(example, meshcharts.ExportOptions("fleet", charts_url=CHARTS_URL))
    documents = _objects(result.output)
    assert set(documents) == {f"bundles/{name}/fleet.yaml" for name in ("mesh-extras", "rancher-kiali-server", "rancher-kiali-server-crd", "rancher-tracing")}
    for path, document in documents.items():
        try:
            judge.dry_run(bundle(path.split("/")[1], document))
        except ApiException as error:
            pytest.fail(f"{path}: refused as a Bundle: {error.body}", pytrace=False)
    broken = bundle("rancher-tracing", documents["bundles/rancher-tracing/fleet.yaml"])
    broken["spec"]["helm"]["relaseName"] = "x"
    with pytest.raises(ApiException) as refused:
        judge.dry_run(broken)
    assert "relaseName" in refused.value.body
