"""verify inside plan reuses what plan's discovery read (the server version, every namespace's labels)
instead of asking the API server again; ``meshcharts verify`` on its own still asks, and both find the same.

A local HTTP server plays the API server and counts the requests; the stack is the bundled example.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import meshcharts
from meshcharts.compose.project import Project
from meshcharts.deploy.discovery import discover
from meshcharts.deploy.verify import verify_cluster
from meshcharts.kube import KubeClient, Settings
from tests.conftest import REPO_ROOT
from tests.json_server import JsonHandler, serving

_MONITORING = "/apis/monitoring.coreos.com/v1"
ANSWERS: dict[str, object] = {
    "/version": {"gitVersion": "v1.37.2"},
    "/api": {"kind": "APIGroupDiscoveryList", "items": []},
    "/apis": {"kind": "APIGroupDiscoveryList", "items": []},
    "/apis/storage.k8s.io/v1/storageclasses": {"items": []},
    # The Prometheus selects monitors by their namespace's labels: only discovery's list carries them to verify inside plan.
    "/api/v1/namespaces": {"items": [{"metadata": {"name": "istio-system", "labels": {"kubernetes.io/metadata.name": "istio-system", "istio-injection": "enabled"}}}]},
    f"{_MONITORING}/prometheuses": {"items": [{"metadata": {"name": "k8s", "namespace": "monitoring"},
                                               "spec": {"serviceMonitorSelector": {}, "serviceMonitorNamespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}}]},
    f"{_MONITORING}/servicemonitors": {"items": [{"metadata": {
        "name": "istio-component-monitor", "namespace": "istio-system", "labels": {"monitoring": "istio-components"},
        "annotations": {"meta.helm.sh/release-name": "mesh-extras", "meta.helm.sh/release-namespace": "istio-system"},
    }}]},
}
ASKED: Counter[str] = Counter()
FORBIDDEN: set[str] = set()  # paths answered 403, as to credentials whose role is namespaced


class _Handler(JsonHandler):
    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        path = self.path.split("?")[0]
        ASKED[path] += 1
        answer = ANSWERS.get(path)
        if path in FORBIDDEN:
            self.answer(403, b'{"kind":"Status","code":403,"reason":"Forbidden"}')
        elif answer is None:
            self.answer(404, b'{"kind":"Status","code":404}')
        else:
            self.answer(200, json.dumps(answer).encode())


@pytest.fixture()
def api() -> Iterator[KubeClient]:
    FORBIDDEN.clear()
    with serving(_Handler) as url:
        answering = KubeClient(Settings(context="east", server=url))
        try:
            yield answering
        finally:
            answering.close()


def _example(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The bundled example, opened from a copy in ``folder`` (the current folder: locations are relative to it)."""
    monkeypatch.chdir(folder)
    if not (folder / "meshcharts.yaml").exists():
        shutil.copyfile(REPO_ROOT / "meshcharts.yaml", folder / "meshcharts.yaml")
        shutil.copytree(REPO_ROOT / "values", folder / "values")
    return meshcharts.open_project(folder)


def test_verify_inside_plan_asks_nothing_discovery_already_read(api: KubeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _example(tmp_path, monkeypatch)
    facts = discover(api, "east")
    ASKED.clear()
    inside_plan = verify_cluster(project, "east", api, facts)
    assert (ASKED["/version"], ASKED["/api/v1/namespaces"]) == (0, 0)
    ASKED.clear()
    alone = verify_cluster(project, "east", api)
    assert (ASKED["/version"], ASKED["/api/v1/namespaces"]) == (1, 1)
    assert inside_plan.as_json() == alone.as_json()
    assert alone.server_version == "v1.37.2"
    monitor = next(check for check in alone.checks if check.kind == "monitor")
    assert (monitor.subject, monitor.ok, monitor.detail) == ("ServiceMonitor istio-system/istio-component-monitor", True, "selected by Prometheus monitoring/k8s")


def test_a_namespace_list_discovery_may_not_read_is_asked_by_verify_itself(api: KubeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery carries on without the namespaces (403); verify then asks, and says it may not read them, as on its own."""
    FORBIDDEN.add("/api/v1/namespaces")
    facts = discover(api, "east")
    assert not facts.namespaces_listed
    ASKED.clear()
    inside_plan = verify_cluster(_example(tmp_path, monkeypatch), "east", api, facts)
    assert (ASKED["/version"], ASKED["/api/v1/namespaces"]) == (0, 1)
    (problem,) = [problem for problem in inside_plan.problems if problem.rule == "verify.forbidden"]
    assert "cannot read the namespaces: 403 Forbidden" in problem.message
    assert inside_plan.as_json() == verify_cluster(_example(tmp_path, monkeypatch), "east", api).as_json()
