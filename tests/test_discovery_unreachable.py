"""An API server that refuses, errs or answers nonsense makes discover() report the cluster unreachable
in one line (rule ``cluster.unreachable``), never a traceback; a local HTTP server plays the API server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from meshcharts.deploy.discovery import ClusterUnreachable, discover
from meshcharts.kube import KubeClient, Settings
from tests.json_server import JsonHandler, serving

ANSWERS: dict[str, tuple[int, bytes]] = {}


class _Handler(JsonHandler):
    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        self.answer(*ANSWERS.get(self.path.split("?")[0], (404, b'{"kind":"Status","code":404}')))


@pytest.fixture()
def server() -> Iterator[str]:
    ANSWERS.clear()
    ANSWERS["/version"] = (200, json.dumps({"gitVersion": "v1.37.2"}).encode())
    with serving(_Handler) as url:
        yield url


def _api(host: str) -> KubeClient:
    return KubeClient(Settings(context="east", server=host))


def _unreachable(host: str) -> str:
    with pytest.raises(ClusterUnreachable) as raised:
        discover(_api(host), "east")
    (diagnostic,) = raised.value.diagnostics
    assert (diagnostic.rule, diagnostic.cluster) == ("cluster.unreachable", "east")
    return diagnostic.message


def test_a_refused_connection() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert _unreachable(f"http://127.0.0.1:{port}").startswith("cannot ask the cluster what it serves: ")


def test_an_error_status_is_named(server: str) -> None:
    ANSWERS["/api"] = (503, b'{"kind":"Status","message":"etcd is down"}')
    assert _unreachable(server) == "cannot ask the cluster what it serves: 503 Service Unavailable"


def test_an_answer_that_is_not_json(server: str) -> None:
    ANSWERS["/api"] = (200, b"<html>a proxy login page</html>")
    assert _unreachable(server).startswith("cannot ask the cluster what it serves: ")


def test_per_group_documents_from_an_older_server(server: str) -> None:
    ANSWERS["/api"] = (200, json.dumps({"kind": "APIVersions", "versions": ["v1"]}).encode())
    ANSWERS["/apis"] = (200, json.dumps({"kind": "APIGroupList", "groups": [{"name": "apps", "versions": [{"groupVersion": "apps/v1"}]}]}).encode())
    ANSWERS["/api/v1"] = (200, json.dumps({"resources": [
        {"name": "services", "kind": "Service", "namespaced": True}, {"name": "services/status", "kind": "Service", "namespaced": True},
        {"name": "namespaces", "kind": "Namespace", "namespaced": False},
    ]}).encode())
    ANSWERS["/apis/apps/v1"] = (200, json.dumps({"resources": [{"name": "deployments", "kind": "Deployment", "namespaced": True}, {"name": "deployments/scale", "kind": "Scale", "namespaced": True}]}).encode())
    ANSWERS["/apis/storage.k8s.io/v1/storageclasses"] = (200, json.dumps({"items": [
        {"metadata": {"name": "fast", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}, {"metadata": {"name": "slow"}},
    ]}).encode())
    ANSWERS["/api/v1/namespaces"] = (200, json.dumps({"items": [{"metadata": {"name": "default"}}]}).encode())
    facts = discover(_api(server), "east")
    assert sorted(facts.resources) == [("apps/v1", "Deployment"), ("v1", "Namespace"), ("v1", "Service")]
    assert (facts.version, facts.storage_classes, facts.default_storage_class, facts.namespaces) == ("1.37.2", {"fast", "slow"}, "fast", {"default"})
    assert facts.storage_classes_listed and facts.namespaces_listed

    # A user whose role is namespaced may not list either: still a cluster, with those left unknown.
    forbidden = (403, b'{"kind":"Status","code":403,"reason":"Forbidden"}')
    ANSWERS["/apis/storage.k8s.io/v1/storageclasses"] = ANSWERS["/api/v1/namespaces"] = forbidden
    facts = discover(_api(server), "east")
    assert (facts.storage_classes_listed, facts.namespaces_listed, facts.storage_classes, facts.namespaces) == (False, False, set(), set())
    ANSWERS["/apis"] = forbidden
    assert _unreachable(server) == "cannot ask the cluster what it serves: 403 Forbidden"
