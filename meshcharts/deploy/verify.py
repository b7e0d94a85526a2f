"""``meshcharts verify``: the stack's wiring, checked against the live clusters.

Validate proves the values agree with each other; a cluster can still disagree with them: Kiali's
Prometheus URL names a Service that was never installed or has no ready Pods, the live Prometheus'
monitor selectors (set by whoever installed it, maybe by hand) do not pick up Istio's monitors, a
CRD is missing or not Established, Grafana's sidecar looks for another label. Each of those is
"Kiali shows no traffic" in the write-ups, found by hand with kubectl. verify asks the API server
(reads only) and says which value, at which file:line, to change.

:func:`verify_project` opens a client per cluster (clusters in parallel; an unreachable one is one
line, the others are still verified); :func:`verify_cluster` takes a client already open, so apply
and plan can run the same checks on the connection they hold.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.core.suggest import did_you_mean
from meshcharts.deploy.discovery import ClusterFacts
from meshcharts.deploy.live import api_client
from meshcharts.deploy.verify_findings import Check, Findings
from meshcharts.deploy.verify_live import check_cluster
from meshcharts.deploy.verify_reads import ClusterReads, Forbidden, Unreachable
from meshcharts.deploy.verify_targets import cluster_targets
from meshcharts.kube import KubeClient


@dataclass(frozen=True)
class VerifyOptions:
    """Which clusters to verify and how to reach them. ``kubeconfig`` overrides every cluster's."""

    cluster: str | None = None
    kubeconfig: str | None = None
    concurrency: int = 4  # clusters verified at once


@dataclass
class ClusterVerify:
    """What verify found on one cluster; ``unreachable`` when the cluster could not be read (to the end)."""

    name: str
    checks: list[Check] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    unreachable: bool = False
    server_version: str | None = None

    @property
    def ok(self) -> bool:
        return not self.unreachable and not any(problem.is_error for problem in self.problems)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for check in self.checks:
            found[check.kind] = found.get(check.kind, 0) + 1
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "unreachable": self.unreachable,
            "server_version": self.server_version,
            "checks": [check.as_json() for check in self.checks],
            "problems": [problem.as_json() for problem in self.problems],
        }


@dataclass
class VerifyResult:
    """Every verified cluster, by name."""

    clusters: dict[str, ClusterVerify]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.clusters.values())

    @property
    def problems(self) -> list[Diagnostic]:
        return [problem for result in self.clusters.values() for problem in result.problems]

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "clusters": {name: result.as_json() for name, result in self.clusters.items()}}


def verify_cluster(project: Project, cluster: str, api: KubeClient, known: ClusterFacts | None = None) -> ClusterVerify:
    """Verify one cluster of ``project`` through a KubeClient the caller opened (and closes).

    ``known``: the caller's discovery of the same cluster (plan's), whose version and namespaces verify
    then does not ask again. Never raises for what the cluster says: an API server that does not answer
    gives a result with ``unreachable`` set and one ``cluster.unreachable`` problem; what was found
    before stays listed.
    """
    context, location = project.stack.clusters[cluster].context, project.stack.clusters[cluster].location
    targets = cluster_targets(project, cluster)
    findings = Findings(cluster)
    result = ClusterVerify(cluster)
    reads = ClusterReads(api, known)
    try:
        result.server_version = reads.probe()
        check_cluster(reads, targets, findings)
    except Unreachable as error:
        result.unreachable = True
        findings.problem("cluster.unreachable", f"cluster {cluster} (context {context}) does not answer: {error}", component=None, location=location,
                         hint=f"is the cluster up? check clusters.{cluster}.context and kubeconfig in the stack, or --kubeconfig")
    except Forbidden as error:
        findings.problem("verify.forbidden", f"cluster {cluster} (context {context}): {error}", component=None, location=location,
                         hint="verify needs read access to Services, EndpointSlices, Pods, Namespaces, ConfigMaps, Deployments, StatefulSets, CRDs and monitoring.coreos.com objects")
    result.checks = findings.checks
    result.problems = findings.problems
    return result


def verify_project(project: Project | Path | str, options: VerifyOptions | None = None) -> VerifyResult:
    """Verify every cluster of the stack (or ``options.cluster``), clusters in parallel.

    Raises ConfigError (exit 2) for an unknown cluster or a kubeconfig/context that cannot be used,
    before any cluster is read; whatever the clusters say is in the result.
    """
    options = options or VerifyOptions()
    if not isinstance(project, Project):
        project = Project.open(project)
    stack = project.stack
    if options.cluster is not None and options.cluster not in stack.clusters:
        raise ConfigError(Diagnostic(message=f'no cluster "{options.cluster}" in stack {stack.name}', rule="usage.unknown-cluster", hint=did_you_mean(options.cluster, stack.clusters)))
    names = [options.cluster] if options.cluster else list(stack.clusters)
    problems: list[Diagnostic] = []
    for name in names:
        # Composed before the threads (a Project's cache is not for concurrent writers). A values file
        # that cannot be read is exit 2, as for explain: verifying without it would mislead.
        for composition in project.compose_all(name):
            if composition.broken:
                problems.extend(problem for problem in composition.problems if problem.is_error and problem not in problems)
    if problems:
        raise ConfigError(problems)
    clients: dict[str, KubeClient] = {}
    for name in names:
        cluster = stack.clusters[name]
        try:
            clients[name] = api_client(options.kubeconfig or cluster.kubeconfig, cluster.context, name)
        except ConfigError as error:
            problems.extend(error.diagnostics)
    try:
        if problems:
            raise ConfigError(problems)
        workers = max(1, min(options.concurrency, len(names)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="meshcharts-verify") as pool:
            futures = {name: pool.submit(verify_cluster, project, name, clients[name]) for name in names}
            return VerifyResult({name: future.result() for name, future in futures.items()})
    finally:
        for api in clients.values():
            api.close()
