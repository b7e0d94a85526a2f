"""The sandbox: one real Kubernetes control plane per stack cluster, on loopback, from local binaries.

It takes plain inputs (cluster name, kube-context name, CRD groups to seed, and a work directory such
as ``<stack root>/.meshcharts/sandbox``), so it knows nothing of the stack file (only, for errors,
where the stack asked for each CRD group). ``up`` builds what is missing (cached), starts or reuses
a kwokctl cluster per entry, adds fake nodes so pods are scheduled and go Ready (``helm --wait``
works), seeds storage classes and CRDs, and writes one kubeconfig whose contexts carry the stack's
names, so the same stack applies unchanged. ``down`` leaves nothing
running and nothing listening; ``status`` tells running, stopped, degraded (some process died) or
absent per cluster.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import yaml

from meshcharts.core.diagnostics import ConfigError, Diagnostic, InvalidInput
from meshcharts.sandbox import controlplane, logs, ports, procs, seed, standins
from meshcharts.sandbox.chartrepo import ChartArchive
from meshcharts.sandbox.gitops import ENGINES, FluxSandbox, GitopsStatus
from meshcharts.sandbox.kubeconfigs import write_kubeconfig
from meshcharts.sandbox.build import (
    Progress,
    SandboxBinaries,
    ensure_sandbox_binaries,
    locked,
    sandbox_bin_dir,
    stderr_progress,
)
from meshcharts.sandbox.kwok import (
    Kwokctl,
    cluster_server,
    kwokctl_configuration,
    volume_stages,
    write_yaml_documents,
)
from meshcharts.sandbox.spec import (  # noqa: F401  (re-exported: the sandbox's public names)
    CLUSTER_NAME,
    CONFIG_MARKER,
    DEFAULT_CRD_DIR,
    DEFAULT_STORAGE_CLASS,
    ClusterState,
    ClusterStatus,
    ComponentStatus,
    CrdRequest,
    SandboxCluster,
)


def _silent(_: str) -> None:
    return None


class Sandbox:
    """The sandbox clusters of one work directory (one stack)."""

    def __init__(
        self,
        workdir: Path,
        clusters: Sequence[SandboxCluster],
        *,
        storage_classes: Sequence[str] = (DEFAULT_STORAGE_CLASS,),
        nodes: int = 3,
        crd_dirs: Sequence[Path] = (DEFAULT_CRD_DIR,),
        stages: Sequence[Mapping[str, Any]] = (),
        charts: Sequence[ChartArchive] = (),
        helm: Path | None = None,
    ) -> None:
        """``stages``: kwok Stages the kwok-controller gets beside its default ones and our volume
        stages (a test's own pod behaviour, e.g. Pods that never become ready)."""
        self.workdir = Path(workdir).resolve()
        self.clusters = list(clusters)
        self.storage_classes = tuple(storage_classes) or (DEFAULT_STORAGE_CLASS,)
        self.nodes = nodes
        # Where ``<group>.yaml`` stand-ins are looked up, in order (the first file of a group wins).
        self.crd_dirs = tuple(Path(folder) for folder in crd_dirs)
        self.stages = [dict(stage) for stage in stages]
        # For ``up --gitops flux``: the pulled charts its chart repository serves, and the helm that indexes them.
        self.charts = tuple(charts)
        self.helm = helm
        self.flux = FluxSandbox(self.workdir)
        self._check_inputs()

    def _check_inputs(self) -> None:
        seen_contexts: dict[str, str] = {}
        for cluster in self.clusters:
            if not CLUSTER_NAME.match(cluster.name):
                raise ConfigError(
                    Diagnostic(
                        message=f"sandbox cluster name {cluster.name!r} must be lowercase letters, digits and '-' (at most 40)",
                        rule="sandbox.cluster-name",
                        cluster=cluster.name,
                    )
                )
            other = seen_contexts.setdefault(cluster.context_name, cluster.name)
            if other != cluster.name:
                raise ConfigError(
                    Diagnostic(
                        message=f"clusters {other} and {cluster.name} both use context {cluster.context_name!r}",
                        rule="sandbox.context-clash",
                        cluster=cluster.name,
                    )
                )

    # Paths ---------------------------------------------------------------------------------------

    @property
    def kubeconfig_path(self) -> Path:
        """The one kubeconfig whose contexts are named as the stack names them (written by ``up``)."""
        return self.workdir / "kubeconfig"

    @property
    def kwok_workdir(self) -> Path:
        return self.workdir / "kwok"

    def _config_path(self) -> Path:
        return self.workdir / "kwokctl.yaml"

    def _cluster_config(self, name: str, chosen: dict[str, int]) -> Path:
        """The stack's kwokctl configuration with the ports chosen for one new cluster."""
        document = yaml.safe_load(self._config_path().read_text(encoding="utf-8"))
        document["options"].update(chosen)
        path = self.workdir / f"kwokctl-{name}.yaml"
        write_yaml_documents(path, [document])
        return path

    def _stages_path(self) -> Path:
        return self.workdir / "volume-stages.yaml"

    def _kwokctl(self, binaries: SandboxBinaries | None = None) -> Kwokctl:
        return Kwokctl(binaries or SandboxBinaries(sandbox_bin_dir()), self.kwok_workdir)

    # up ------------------------------------------------------------------------------------------

    def up(self, progress: Progress = stderr_progress, gitops: str | None = None) -> Path:
        """Start (or reuse, or restart) every cluster; returns :attr:`kubeconfig_path`.

        ``gitops="flux"`` also runs Flux's controllers per cluster and the chart repository
        (:mod:`meshcharts.sandbox.gitops`); once given, later ``up`` runs keep them until ``down``.

        Refuses (ConfigError) before building or starting anything when a cluster asks for a CRD
        group the sandbox has no stand-in for: a sandbox without it is not the cluster the stack
        describes, and apply would fail there halfway through the stack. The stand-in files are
        read first too, so a broken one stops ``up`` before a cluster starts.
        """
        files = standins.check_provided(self.clusters, self.crd_dirs)
        crds = {group: seed.crd_documents(path, group) for group, path in files.items()}
        engine = gitops or ("flux" if self.flux.enabled else None)
        if engine is not None and engine not in ENGINES:
            raise ConfigError(Diagnostic(message=f"--gitops {engine}: the sandbox runs {', '.join(ENGINES)}", rule="sandbox.usage"))
        flux_build = self.flux.prepare(self.helm, progress) if engine else None
        binaries = ensure_sandbox_binaries(progress)
        with self._locked(progress):
            kubeconfig = self._up(self._kwokctl(binaries), binaries, crds, progress)
            if flux_build is not None and self.helm is not None:
                self.flux.up(flux_build, self.clusters, kubeconfig, self.charts, self.helm, progress)
            return kubeconfig

    def _locked(self, progress: Progress) -> AbstractContextManager[None]:
        """One ``up`` or ``down`` at a time per work directory (two would create the same cluster twice)."""
        return locked(self.workdir / ".lock", progress, f"waiting for another sandbox command on {self.workdir}")

    def _up(self, kwokctl: Kwokctl, binaries: SandboxBinaries, crds: dict[str, list[dict[str, Any]]], progress: Progress) -> Path:
        write_yaml_documents(self._stages_path(), [*volume_stages(self.storage_classes), *self.stages])
        write_yaml_documents(self._config_path(), [kwokctl_configuration(binaries, self._stages_path())])
        fingerprint = hashlib.sha256(self._config_path().read_bytes() + self._stages_path().read_bytes()).hexdigest()
        started = [self._up_one(kwokctl, cluster, fingerprint, progress) for cluster in self.clusters]
        self._write_kubeconfig(kwokctl)
        for cluster, fresh in zip(self.clusters, started):
            self._seed(cluster, fresh, crds, progress)
        progress(f"sandbox ready: {len(self.clusters)} cluster(s); kubeconfig {self.kubeconfig_path}")
        return self.kubeconfig_path

    def _up_one(self, kwokctl: Kwokctl, cluster: SandboxCluster, fingerprint: str, progress: Progress) -> bool:
        """Bring one cluster to running; True when anything had to be started."""
        marker = kwokctl.cluster_dir(cluster.name) / CONFIG_MARKER
        current = self._status_one(cluster, with_server=False)
        if current.state is not ClusterState.ABSENT and _read(marker) != fingerprint:
            progress(f"sandbox {cluster.name}: its configuration changed (new binaries or storage classes); recreating it")
            self._delete(kwokctl, cluster.name)
            current = self._status_one(cluster, with_server=False)
        if current.state is ClusterState.RUNNING:
            progress(f"sandbox {cluster.name}: already running")
        elif current.state is ClusterState.ABSENT:
            self._create(kwokctl, cluster, fingerprint, progress)
        else:
            what = f"restarting {', '.join(current.dead)}" if current.state is ClusterState.DEGRADED else "starting"
            progress(f"sandbox {cluster.name}: {current.state.value}; {what}")
            controlplane.forget_dead(kwokctl.cluster_dir(cluster.name))
            with ports.taking_ports(kwokctl.cluster_dir(cluster.name), progress, self._running(cluster), new=False):
                kwokctl.start(cluster.name)
            after = self._status_one(cluster, with_server=False)
            if after.state is not ClusterState.RUNNING:
                # Its data is the user's (their releases): say what to do instead of deleting it.
                raise self._not_running(kwokctl, after, hint="`meshcharts sandbox down` and `up` recreate it on free ports")
        kwokctl.scale_nodes(cluster.name, self.nodes)
        return current.state is not ClusterState.RUNNING

    def _create(self, kwokctl: Kwokctl, cluster: SandboxCluster, fingerprint: str, progress: Progress) -> None:
        """Create a cluster; one that does not come up is deleted and created once more.

        A new cluster holds nothing yet, so a second try costs seconds, and it gets ports afresh: the
        usual reason a component dies at birth is a port someone else took between kwokctl finding
        it free and the component binding it.
        """
        for attempt in (1, 2):
            progress(f"sandbox {cluster.name}: creating (kube-apiserver, etcd, controller-manager, scheduler, kwok on 127.0.0.1)")
            cluster_dir = kwokctl.cluster_dir(cluster.name)
            # What an interrupted create left behind (no kwok.yaml yet) would make kwokctl refuse.
            shutil.rmtree(cluster_dir, ignore_errors=True)
            with ports.taking_ports(cluster_dir, progress, self._running(cluster), new=True) as chosen:
                kwokctl.create(cluster.name, self._cluster_config(cluster.name, chosen))
            (cluster_dir / CONFIG_MARKER).write_text(fingerprint)
            after = self._status_one(cluster, with_server=False)
            if after.state is ClusterState.RUNNING:
                return
            failure = self._not_running(kwokctl, after)
            if attempt == 2:
                raise failure
            progress(f"{failure.diagnostics[0].message}; deleting it and creating it once more")
            self._delete(kwokctl, cluster.name)

    def _running(self, cluster: SandboxCluster) -> Callable[[], bool]:
        return lambda: self._status_one(cluster, with_server=False).state is ClusterState.RUNNING

    @staticmethod
    def _not_running(kwokctl: Kwokctl, status: ClusterStatus, hint: str = "") -> InvalidInput:
        """The one-line error of a cluster whose components are not all running, with the first cause."""
        cluster_dir = kwokctl.cluster_dir(status.name)
        found = logs.cause(cluster_dir, status.dead)
        message = f"sandbox {status.name} did not start: {', '.join(status.dead) or 'no components'} not running"
        if found:
            message += f"; {found}"
        if hint:
            message += f"; {hint}"
        message += f" (logs in {cluster_dir / 'logs'})"
        return InvalidInput(Diagnostic(message=message, rule="sandbox.not-running", cluster=status.name))

    def _seed(self, cluster: SandboxCluster, fresh: bool, crds: dict[str, list[dict[str, Any]]], progress: Progress) -> None:
        api = seed.api_client(self.kubeconfig_path, cluster.context_name)
        try:
            if fresh:
                seed.wait_ready(api)
            seed.ensure_storage_classes(api, self.storage_classes)
            documents = [document for group in cluster.crd_groups for document in crds[group]]
            if documents:
                names = seed.apply_crds(api, documents)
                progress(f"sandbox {cluster.name}: seeded {len(names)} CRD(s) of {', '.join(cluster.crd_groups)}")
        finally:
            api.close()

    # kubeconfig ----------------------------------------------------------------------------------

    def _write_kubeconfig(self, kwokctl: Kwokctl) -> None:
        """One kubeconfig for every cluster, contexts named as the stack names them."""
        write_kubeconfig(self.kubeconfig_path, [(cluster.context_name, kwokctl.cluster_dir(cluster.name) / "kubeconfig.yaml") for cluster in self.clusters])

    # status --------------------------------------------------------------------------------------

    def status(self) -> list[ClusterStatus]:
        """Per requested cluster: its state, its components' pids, its server URL and its listeners
        (Flux's controllers among them when ``--gitops flux`` runs)."""
        return [self._with_gitops(self._status_one(cluster, with_server=True)) for cluster in self.clusters]

    def _with_gitops(self, status: ClusterStatus) -> ClusterStatus:
        controllers = self.flux.components(status.name)
        if not controllers or status.state is ClusterState.ABSENT:
            return status
        state = status.state
        if state is ClusterState.RUNNING and not all(controller.running for controller in controllers):
            state = ClusterState.DEGRADED
        listening = sorted((*status.listeners, *self.flux.listeners_of(status.name)), key=lambda item: (item.port, item.pid))
        return replace(status, state=state, components=(*status.components, *controllers), listeners=tuple(listening))

    def gitops_status(self) -> GitopsStatus | None:
        """The GitOps engine's chart repository (URL, pid, charts), or None without ``--gitops``."""
        return self.flux.status()

    def _status_one(self, cluster: SandboxCluster, *, with_server: bool) -> ClusterStatus:
        kwokctl = self._kwokctl()
        components = controlplane.components(kwokctl.cluster_dir(cluster.name))
        if components is None:
            return ClusterStatus(cluster.name, cluster.context_name, ClusterState.ABSENT)
        statuses = [ComponentStatus(component.name, component.pid, component.running) for component in components]
        alive = [status for status in statuses if status.running]
        if alive and len(alive) == len(statuses):
            state = ClusterState.RUNNING
        else:
            state = ClusterState.DEGRADED if alive else ClusterState.STOPPED
        server = cluster_server(kwokctl.cluster_dir(cluster.name)) if with_server else None
        listening = procs.listeners(status.pid for status in alive if status.pid is not None)
        return ClusterStatus(cluster.name, cluster.context_name, state, server, tuple(statuses), tuple(listening))

    def processes(self) -> dict[int, Path]:
        """pid → binary of every live sandbox process in this work directory (all clusters kwokctl knows)."""
        kwokctl = self._kwokctl()
        found: dict[int, Path] = {}
        for name in kwokctl.known_clusters():
            found.update(controlplane.live_processes(kwokctl.cluster_dir(name)))
        found.update(self.flux.processes())
        return found

    # down ----------------------------------------------------------------------------------------

    def down(self, progress: Progress = _silent) -> None:
        """Delete every cluster of this work directory; nothing stays running or listening afterwards."""
        kwokctl = self._kwokctl()
        if not kwokctl.known_clusters() and not self.flux.root.exists():
            self.kubeconfig_path.unlink(missing_ok=True)
            return
        with self._locked(progress):
            # The controllers first: with their API server gone they would only log errors.
            self.flux.down(progress)
            for name in kwokctl.known_clusters():
                progress(f"sandbox {name}: deleting")
                self._delete(kwokctl, name)
            self.kubeconfig_path.unlink(missing_ok=True)

    def _delete(self, kwokctl: Kwokctl, name: str) -> None:
        running = controlplane.live_processes(kwokctl.cluster_dir(name))
        if kwokctl.binaries.kwokctl.is_file():
            kwokctl.delete(name)
            # kwokctl signals and returns; make sure every process is really gone before we say so.
            procs.wait_gone(running)
        else:
            # The cache was wiped under a running sandbox: stop our processes ourselves, by pid.
            procs.wait_gone(running, timeout=0.0)
            shutil.rmtree(kwokctl.cluster_dir(name), ignore_errors=True)
        ports.forget(kwokctl.cluster_dir(name))
        leftover = [pid for pid in running if not procs.is_gone(pid)]
        if leftover:
            raise InvalidInput(
                Diagnostic(message=f"sandbox {name}: processes {leftover} survived SIGKILL", rule="sandbox.down", cluster=name)
            )


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None
