"""Rendering the stand-in charts with the real helm, and reading back what matters: Services, Pods, CRDs.

Shared by tests/test_standin_charts.py and tests/test_standin_facts.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "standin-charts"
KUBE_VERSION = "1.37.2"  # the sandbox's Kubernetes; helm 3.10 would otherwise assume 1.20


class Helm:
    """The real helm binary with private config dirs; values always go in on stdin, never as files."""

    def __init__(self, binary: Path, home: dict[str, str]) -> None:
        self.binary = binary
        self.env = {"PATH": "/usr/bin:/bin", **home}

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.binary), *args], input=stdin, env=self.env, capture_output=True, text=True, check=False)

    def template(
        self, chart: Path, release: str, namespace: str, values: dict[str, Any], kube_version: str = KUBE_VERSION
    ) -> list[dict[str, Any]]:
        """`helm template --include-crds` with these values: the rendered objects (a failure fails the test)."""
        result = self.run(
            "template", release, str(chart), "--namespace", namespace, "--kube-version", kube_version,
            "--include-crds", "--values", "-", stdin=yaml.safe_dump(values),
        )
        assert result.returncode == 0, f"helm template {chart.name}: {result.stderr}"
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def package(helm_binary: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Run scripts/standin-charts OUT with this helm."""
    env = {**os.environ, "MESHCHARTS_HELM": str(helm_binary)}
    return subprocess.run([sys.executable, str(SCRIPT), str(out)], env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def standins(helm_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """scripts/standin-charts run once: chart name-version -> its .tgz."""
    result = package(helm_binary, tmp_path_factory.mktemp("standin-charts"))
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    return {path.name.removesuffix(".tgz"): path for path in paths}


@pytest.fixture(scope="session")
def helm(helm_binary: Path, helm_home: dict[str, str]) -> Helm:
    return Helm(helm_binary, helm_home)


def services(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Service name -> {namespace, type, selector, ports: [{name, port, targetPort, protocol}]}.

    targetPort is filled in as Kubernetes does when the chart leaves it out: the port itself.
    """
    found = {}
    for doc in docs:
        if doc["kind"] != "Service":
            continue
        spec = doc["spec"]
        found[doc["metadata"]["name"]] = {
            "namespace": doc["metadata"].get("namespace"),
            "type": spec.get("type", "ClusterIP"),
            "selector": spec.get("selector") or {},
            "ports": [
                {"name": p.get("name"), "port": p["port"], "targetPort": p.get("targetPort", p["port"]), "protocol": p.get("protocol", "TCP")}
                for p in spec["ports"]
            ],
        }
    return found


def service_ports(docs: list[dict[str, Any]]) -> dict[str, list[tuple[str | None, int, int | str]]]:
    """Service name -> [(port name, port, targetPort)]: the facts the reference states."""
    return {name: [(p["name"], p["port"], p["targetPort"]) for p in s["ports"]] for name, s in services(docs).items()}


def pod_templates(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every workload's Pod: {workload, labels, containers, ports}."""
    pods = []
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        template = doc["spec"]["template"]
        containers = template["spec"]["containers"]
        pods.append({
            "workload": f"{doc['kind']}/{doc['metadata']['name']}",
            "labels": template["metadata"].get("labels") or {},
            "containers": containers,
            "ports": [port for container in containers for port in container.get("ports") or []],
        })
    return pods


def crds(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """CRD name -> {group, kind, scope, versions: {name: (served, storage)}}."""
    return {
        doc["metadata"]["name"]: {
            "group": doc["spec"]["group"],
            "kind": doc["spec"]["names"]["kind"],
            "scope": doc["spec"]["scope"],
            "versions": {v["name"]: (v["served"], v["storage"]) for v in doc["spec"]["versions"]},
        }
        for doc in docs
        if doc["kind"] == "CustomResourceDefinition"
    }
