"""kwokctl, driven without a shell: the configuration it gets, the commands we run, what it wrote.

One kwokctl cluster per stack cluster, ``runtime: binary`` on the binaries :mod:`build` made. Every
component listens where ``options.bindAddress`` says (kwokctl passes it to etcd's client and peer URLs,
kube-apiserver's, kube-controller-manager's and kube-scheduler's ``--bind-address`` and the
kwok-controller's ``--server-address``); its default is 0.0.0.0, so we set 127.0.0.1.

Stages: kwokctl gives the kwok-controller its default node and pod stages only when the configuration
names no Stage at all, and kwok's own volume stages serve only the class ``kwok-volume``. So our
volume stages go to the kwok-controller as a second ``--config`` file (its ``--config`` is a list),
beside the defaults kwokctl keeps writing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from meshcharts.core.diagnostics import Diagnostic, InvalidInput
from meshcharts.sandbox.build import SandboxBinaries

BIND_ADDRESS = "127.0.0.1"

#: The provisioner our StorageClasses name: no controller serves it, so only our Stage binds claims.
PROVISIONER = "sandbox.meshcharts.io/volume"

_STAGE_API = "kwok.x-k8s.io/v1alpha1"


def kwokctl_configuration(binaries: SandboxBinaries, stages_file: Path) -> dict[str, Any]:
    """The KwokctlConfiguration of every sandbox cluster (ports are left to kwokctl: free ones)."""
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "bindAddress": BIND_ADDRESS,
            "securePort": True,
            "kubeAuthorization": True,
            "etcdBinary": str(binaries.path("etcd")),
            "kubeApiserverBinary": str(binaries.path("kube-apiserver")),
            "kubeControllerManagerBinary": str(binaries.path("kube-controller-manager")),
            "kubeSchedulerBinary": str(binaries.path("kube-scheduler")),
            "kubectlBinary": str(binaries.path("kubectl")),
            "kwokControllerBinary": str(binaries.path("kwok")),
        },
        "componentsPatches": [
            {"name": "kwok-controller", "extraArgs": [{"key": "config", "value": str(stages_file)}]},
            # One of each per cluster: nothing to elect, and a lease renewal that times out on a busy
            # machine would make them exit for good (kwokctl does not restart them).
            {"name": "kube-scheduler", "extraArgs": [{"key": "leader-elect", "value": "false"}]},
            {"name": "kube-controller-manager", "extraArgs": [{"key": "leader-elect", "value": "false"}]},
        ],
    }


def _class_match(classes: Sequence[str]) -> str:
    quoted = ", ".join("'" + name.replace("'", "\\'") + "'" for name in classes)
    return f"has(self.spec.storageClassName) && self.spec.storageClassName in [{quoted}]"


def _stage(name: str, kind: str, expressions: Sequence[str], steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": _STAGE_API,
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": kind},
            "selector": {"matchExpressions": [{"cel": {"expression": expression}} for expression in expressions]},
            "steps": steps,
        },
    }


# The PersistentVolume a claim gets: named after the claim's uid, bound to it, sized as it asked.
_PV_TEMPLATE = f"""\
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pvc-{{{{ .metadata.uid }}}}
  annotations:
    pv.kubernetes.io/provisioned-by: {PROVISIONER}
spec:
  accessModes:
  {{{{ YAML .spec.accessModes 2 }}}}
  capacity:
  {{{{ YAML .spec.resources.requests 2 }}}}
  persistentVolumeReclaimPolicy: Delete
  storageClassName: {{{{ .spec.storageClassName | Quote }}}}
  volumeMode: {{{{ default "Filesystem" .spec.volumeMode | Quote }}}}
  claimRef:
    apiVersion: v1
    kind: PersistentVolumeClaim
    name: {{{{ .metadata.name | Quote }}}}
    namespace: {{{{ .metadata.namespace | Quote }}}}
    uid: {{{{ .metadata.uid | Quote }}}}
  hostPath:
    path: /nonexistent/meshcharts-sandbox/pvc-{{{{ .metadata.uid }}}}
"""


def volume_stages(classes: Sequence[str]) -> list[dict[str, Any]]:
    """Stages that play a dynamic provisioner for ``classes``: claim → bound volume, and back on delete.

    A claim of one of the classes with no volume yet gets a PersistentVolume bound to it, and the
    claim is marked Bound the way kube-controller-manager's binder would; a deleted claim releases its
    volume, and a released volume (reclaim policy Delete) is deleted.
    """
    match = _class_match(classes)
    provision = _stage(
        "meshcharts-pvc-provision",
        "PersistentVolumeClaim",
        [match, "!has(self.metadata.deletionTimestamp)", "!has(self.spec.volumeName)", "self.status.phase != 'Bound'"],
        [
            {"apply": {"template": _PV_TEMPLATE}},
            {
                "patch": {
                    "root": "metadata",
                    "template": (
                        "annotations:\n"
                        '  pv.kubernetes.io/bind-completed: "yes"\n'
                        '  pv.kubernetes.io/bound-by-controller: "yes"\n'
                        f"  volume.kubernetes.io/storage-provisioner: {PROVISIONER}\n"
                    ),
                }
            },
            {"patch": {"root": "spec", "template": "volumeName: pvc-{{ .metadata.uid }}\n"}},
            {
                "patch": {
                    "root": "status",
                    "subresource": "status",
                    "template": (
                        "phase: Bound\n"
                        "accessModes:\n{{ YAML .spec.accessModes 1 }}\n"
                        "capacity:\n{{ YAML .spec.resources.requests 1 }}\n"
                    ),
                }
            },
        ],
    )
    bind = _stage(
        "meshcharts-pv-bind",
        "PersistentVolume",
        [match, "!has(self.metadata.deletionTimestamp)", "has(self.spec.claimRef.name)", "!(self.status.phase in ['Bound', 'Released', 'Failed'])"],
        [{"patch": {"root": "status", "subresource": "status", "template": "phase: Bound\n"}}],
    )
    release = _stage(
        "meshcharts-pvc-release",
        "PersistentVolumeClaim",
        [match, "has(self.metadata.deletionTimestamp)", "has(self.spec.volumeName)"],
        [
            {
                "apply": {
                    "subresource": "status",
                    "type": "merge",
                    "template": (
                        "apiVersion: v1\nkind: PersistentVolume\n"
                        "metadata:\n  name: {{ .spec.volumeName | Quote }}\nstatus:\n  phase: Released\n"
                    ),
                }
            }
        ],
    )
    delete = _stage(
        "meshcharts-pv-delete",
        "PersistentVolume",
        [match, "!has(self.metadata.deletionTimestamp)", "self.spec.persistentVolumeReclaimPolicy == 'Delete'", "self.status.phase == 'Released'"],
        [{"delete": True}],
    )
    return [provision, bind, release, delete]


def write_yaml_documents(path: Path, documents: Sequence[dict[str, Any]]) -> None:
    """Write ``documents`` as one multi-document YAML file, atomically (a reader sees old or new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    os.replace(temporary, path)


class Kwokctl:
    """Runs kwokctl with its work directory pinned to ours and never touching ``~/.kube/config``."""

    def __init__(self, binaries: SandboxBinaries, workdir: Path) -> None:
        self.binaries = binaries
        self.workdir = workdir

    def _env(self) -> dict[str, str]:
        # A user's KWOK_* settings (runtime, ports, versions) must not change what the sandbox is.
        env = {key: value for key, value in os.environ.items() if not key.startswith("KWOK_")}
        env["KWOK_WORKDIR"] = str(self.workdir)
        # kwokctl runs kubectl, whose discovery cache would otherwise land in ~/.kube/cache.
        env["KUBECACHEDIR"] = str(self.workdir / "kube-cache")
        # kwokctl looks kubectl up on PATH before its configured binary: make that ours.
        env["PATH"] = os.pathsep.join((str(self.binaries.bin_dir), env.get("PATH", "")))
        return env

    def run(self, *args: str, timeout: float = 300.0) -> str:
        """Run ``kwokctl ARGS``; its output, or an :class:`InvalidInput` with the last lines of it."""
        argv = [str(self.binaries.kwokctl), *args]
        try:
            result = subprocess.run(
                argv, env=self._env(), capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as exc:
            raise InvalidInput(
                Diagnostic(message=f"kwokctl {' '.join(args)} did not finish in {timeout:.0f}s", rule="sandbox.kwokctl")
            ) from exc
        if result.returncode != 0:
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-6:])
            raise InvalidInput(
                Diagnostic(message=f"kwokctl {' '.join(args)} failed (exit {result.returncode}): {tail}", rule="sandbox.kwokctl")
            )
        return result.stdout

    def cluster_dir(self, name: str) -> Path:
        return self.workdir / "clusters" / name

    def create(self, name: str, config: Path) -> None:
        # --kubeconfig "": kwokctl would otherwise add a context to ~/.kube/config and switch to it.
        self.run("create", "cluster", "--name", name, "--config", str(config), "--kubeconfig", "", "--runtime", "binary")

    def start(self, name: str) -> None:
        self.run("start", "cluster", "--name", name)

    def delete(self, name: str) -> None:
        # Here kwokctl refuses "" ("empty path"); a file of ours that never exists keeps ~/.kube/config untouched.
        self.run("delete", "cluster", "--name", name, "--kubeconfig", str(self.workdir / "no-kubeconfig"))

    def scale_nodes(self, name: str, replicas: int) -> None:
        self.run("scale", "node", "--name", name, "--replicas", str(replicas))

    def known_clusters(self) -> list[str]:
        """Clusters kwokctl has in our work directory (one directory each)."""
        clusters = self.workdir / "clusters"
        if not clusters.is_dir():
            return []
        return sorted(entry.name for entry in clusters.iterdir() if (entry / "kwok.yaml").is_file())


def cluster_configuration(cluster_dir: Path) -> dict[str, Any] | None:
    """The KwokctlConfiguration kwokctl wrote for a cluster (its components, its ports), or None."""
    try:
        # kwokctl's file runs to ~25 kB; libyaml's loader reads it ten times faster than pure Python.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        documents = list(yaml.load_all((cluster_dir / "kwok.yaml").read_text(encoding="utf-8"), Loader=loader))
    except (OSError, yaml.YAMLError):
        return None
    for document in documents:
        if isinstance(document, dict) and document.get("kind") == "KwokctlConfiguration":
            return document
    return None


def cluster_components(cluster_dir: Path) -> dict[str, tuple[Path, Path]] | None:
    """name → (pid file, binary) of a kwokctl cluster's components, from the kwok.yaml kwokctl wrote."""
    document = cluster_configuration(cluster_dir)
    if document is None:
        return None
    found: dict[str, tuple[Path, Path]] = {}
    for component in document.get("components") or []:
        binary = Path(component["binary"])
        workdir = Path(component.get("workDir") or cluster_dir)
        found[component["name"]] = (workdir / "pids" / f"{binary.stem}.pid", binary)
    return found


def cluster_ports(cluster_dir: Path) -> set[int]:
    """The ports kwokctl gave the cluster's components (``etcdPort``, ``kubeApiserverPort``, ...)."""
    options = (cluster_configuration(cluster_dir) or {}).get("options") or {}
    return {value for key, value in options.items() if key.endswith("Port") and type(value) is int and value > 0}


def cluster_server(cluster_dir: Path) -> str | None:
    try:
        data = yaml.safe_load((cluster_dir / "kubeconfig.yaml").read_text(encoding="utf-8"))
        return str(data["clusters"][0]["cluster"]["server"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return None
