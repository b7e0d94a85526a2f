"""``sandbox up --gitops flux``: Flux's controllers on every sandbox cluster, and the chart repository.

What a GitOps engine would find on a real cluster of the stack: Flux's CRDs and its ``flux-system``
namespace in each cluster, source-controller and helm-controller reconciling there
(:mod:`meshcharts.sandbox.flux`), and a Helm repository on 127.0.0.1 serving the stack's pulled charts
(:mod:`meshcharts.sandbox.chartrepo`), so exported HelmRepositories and HelmReleases are installed by
the engine itself. The choice is remembered in ``<sandbox>/flux/``: a later ``sandbox up`` keeps Flux
(restarting what died or what a recreated cluster needs); only ``sandbox down`` removes it.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.sandbox import chartrepo, flux, procs, seed
from meshcharts.sandbox.build import Progress
from meshcharts.sandbox.chartrepo import ChartArchive, RepositoryStatus
from meshcharts.sandbox.fluxbuild import FluxBuild, ensure_flux
from meshcharts.sandbox.procs import Listener
from meshcharts.sandbox.spec import ComponentStatus, SandboxCluster

#: The engines ``sandbox up --gitops`` runs.
ENGINES = ("flux",)


@dataclass(frozen=True)
class GitopsStatus:
    """What ``status`` reports of the GitOps engine: its name and the chart repository."""

    engine: str
    repository: RepositoryStatus | None

    @property
    def running(self) -> bool:
        return self.repository is not None and self.repository.running

    def as_json(self) -> dict[str, Any]:
        return {"engine": self.engine, "chartRepository": self.repository.as_json() if self.repository else None}


class FluxSandbox:
    """The Flux side of one sandbox work directory."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "flux"

    @property
    def enabled(self) -> bool:
        """Whether ``up --gitops flux`` ran here since the last ``down``."""
        return (self.root / "enabled").is_file()

    @property
    def repository_dir(self) -> Path:
        return self.root / "repository"

    def cluster(self, name: str) -> flux.ClusterFlux:
        return flux.ClusterFlux(self.root / "clusters" / name)

    def prepare(self, helm: Path | None, progress: Progress) -> FluxBuild:
        """Before any cluster starts: the controllers built (cached), helm there for the index."""
        if helm is None:
            raise ConfigError(
                Diagnostic(message="--gitops flux indexes the chart repository with helm, and no helm was found", rule="sandbox.flux",
                           hint="run .ci/install-helm, or set MESHCHARTS_HELM")
            )
        return ensure_flux(progress)

    def up(
        self,
        build: FluxBuild,
        clusters: Sequence[SandboxCluster],
        kubeconfig: Path,
        charts: Sequence[ChartArchive],
        helm: Path,
        progress: Progress,
    ) -> str:
        """Flux's CRDs, namespace and controllers on every cluster, the chart repository served; its URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "enabled").write_text("flux\n", encoding="utf-8")
        crds = [document for path in build.crd_files for document in seed.crd_documents(path)]
        flux.stop_all(self.root / "clusters", keep=[cluster.name for cluster in clusters])
        url = chartrepo.ensure(self.repository_dir, charts, helm, self.repository_dir / "server.log", progress)
        for cluster in clusters:
            api = seed.api_client(kubeconfig, cluster.context_name)
            try:
                seed.apply_crds(api, crds)
                seed.ensure_namespace(api, flux.RUNTIME_NAMESPACE)
            finally:
                api.close()
            progress(f"sandbox {cluster.name}: seeded Flux's {len(crds)} CRD(s) and namespace {flux.RUNTIME_NAMESPACE}")
            state = self.cluster(cluster.name)
            data = flux.write_cluster_kubeconfig(kubeconfig, cluster.context_name, state.kubeconfig)
            flux.ensure_cluster(build, state, data, progress)
        return url

    def components(self, name: str) -> list[ComponentStatus]:
        """One cluster's controllers (none when Flux is not enabled)."""
        return self.cluster(name).statuses() if self.enabled else []

    def status(self) -> GitopsStatus | None:
        return GitopsStatus("flux", chartrepo.status(self.repository_dir)) if self.enabled else None

    def processes(self) -> dict[int, Path]:
        """pid → executable of every running controller and the chart repository's server."""
        found = dict(chartrepo.processes(self.repository_dir))
        clusters = self.root / "clusters"
        if clusters.is_dir():
            for folder in clusters.iterdir():
                found.update(flux.ClusterFlux(folder).processes())
        return found

    def listeners_of(self, name: str) -> list[Listener]:
        return procs.listeners(self.cluster(name).processes())

    def down(self, progress: Progress) -> None:
        """Stop every controller and the chart repository, and forget that Flux was enabled."""
        if not self.root.exists():
            return
        progress("sandbox: stopping Flux's controllers and the chart repository")
        flux.stop_all(self.root / "clusters")
        chartrepo.stop(self.repository_dir)
        shutil.rmtree(self.root, ignore_errors=True)
