"""``sandbox up|down|status|kubeconfig``: a click group over :class:`Sandbox`, on plain inputs.

:func:`make_sandbox_group` takes a resolver that turns the click context into :class:`SandboxInputs`.
``meshcharts sandbox`` uses :func:`stack_inputs`: one cluster per stack cluster, kube-contexts named as
the stack names them, the CRD groups the stack says are installed outside it, and a storage class for
every class the composed values name (so claims bind). Without a resolver the inputs come from
options (``python -m meshcharts.cli.sandbox --workdir DIR --cluster NAME[=CONTEXT][:GROUP,...]``).
``up --crd-dir FOLDER`` (repeatable) adds ``<group>.yaml`` stand-ins, looked up before the shipped
ones, for a group the sandbox does not ship. ``up --gitops flux`` also runs Flux's controllers per
cluster and serves the stack's pulled charts (``meshcharts.lock`` entries found in the chart cache) as a
Helm repository on 127.0.0.1, whose URL ``up`` and ``status`` print (``chart repository: URL``, or
``gitops.chartRepository.url`` in JSON).

Exit codes as everywhere (DESIGN.md): 0 ok, 1 failure, 2 usage or config error (a click usage error,
no stack, a CRD group the sandbox cannot provide); ``status`` exits 1 when any cluster is not running,
so scripts can test it. Progress goes to stderr, results to stdout; with ``--output json`` stdout is
exactly one JSON document, the result or the error document, and nothing else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from meshcharts.cli.app import OUTPUT, STACK, handles_errors
from meshcharts.core.diagnostics import ConfigError, Diagnostic, InvalidInput
from meshcharts.core.reporter import print_json
from meshcharts.helm.locate import find_helm
from meshcharts.sandbox.build import stderr_progress
from meshcharts.sandbox.chartrepo import ChartArchive
from meshcharts.sandbox.gitops import ENGINES
from meshcharts.sandbox.cluster import (
    DEFAULT_CRD_DIR,
    DEFAULT_STORAGE_CLASS,
    ClusterState,
    ClusterStatus,
    Sandbox,
    CrdRequest,
    SandboxCluster,
)

CRD_DIR_HELP = "a folder of <group>.yaml stand-in CRDs, looked up before the shipped ones (repeatable)"


@dataclass(frozen=True)
class SandboxInputs:
    """Everything the sandbox needs to know about a stack, as plain values."""

    workdir: Path
    clusters: tuple[SandboxCluster, ...]
    storage_classes: tuple[str, ...] = (DEFAULT_STORAGE_CLASS,)
    crd_dirs: tuple[Path, ...] = (DEFAULT_CRD_DIR,)
    charts: tuple[ChartArchive, ...] = ()

    def sandbox(self, helm: Path | None = None) -> Sandbox:
        return Sandbox(self.workdir, self.clusters, storage_classes=self.storage_classes, crd_dirs=self.crd_dirs, charts=self.charts, helm=helm)


Resolver = Callable[[click.Context], SandboxInputs]


def parse_cluster(spec: str) -> SandboxCluster:
    """``NAME[=CONTEXT][:GROUP,GROUP...]`` → :class:`SandboxCluster`."""
    head, _, groups = spec.partition(":")
    name, _, context = head.partition("=")
    if not name:
        raise ConfigError(Diagnostic(message=f"--cluster {spec!r}: expected NAME[=CONTEXT][:GROUP,...]", rule="sandbox.usage"))
    return SandboxCluster(name=name, context=context or None, crd_groups=tuple(g for g in groups.split(",") if g))


def _inputs_from_options(ctx: click.Context) -> SandboxInputs:
    params = ctx.parent.params if ctx.parent else {}
    specs: tuple[str, ...] = params.get("clusters") or ()
    workdir: Path = params.get("workdir") or Path(".meshcharts") / "sandbox"
    classes: tuple[str, ...] = params.get("storage_classes") or (DEFAULT_STORAGE_CLASS,)
    charts_dir: Path | None = params.get("charts_dir")
    charts = tuple(ChartArchive(path.name, path) for path in sorted(charts_dir.glob("*.tgz"))) if charts_dir else ()
    return SandboxInputs(workdir, tuple(parse_cluster(spec) for spec in specs), classes, charts=charts)


def _status_line(status: ClusterStatus) -> str:
    line = f"{status.name:<16} {status.state.value:<9} context={status.context}"
    if status.server:
        line += f" {status.server}"
    if status.state is ClusterState.DEGRADED:
        line += f" (not running: {', '.join(status.dead)})"
    return line


def _report(sandbox: Sandbox, output: str, extra: dict[str, Any]) -> list[ClusterStatus]:
    """Each cluster's state: one line per cluster, or one JSON document with ``extra`` first; with
    ``--gitops flux``, each cluster's controllers and the chart repository too."""
    statuses = sandbox.status()
    gitops = sandbox.gitops_status()
    if output == "json":
        document = {**extra, "clusters": [status.as_json() for status in statuses]}
        if gitops is not None:
            document["gitops"] = gitops.as_json()
        print_json(document)
        return statuses
    for status in statuses:
        click.echo(_status_line(status))
        flux = [c for c in status.components if c.name in ("source-controller", "helm-controller")]
        if flux:
            click.echo("  flux: " + ", ".join(f"{c.name} {'pid ' + str(c.pid) if c.running else 'not running'}" for c in flux))
    if gitops is not None and gitops.repository is not None:
        repository = gitops.repository
        state = f"pid {repository.pid}" if repository.running else "not running"
        click.echo(f"chart repository: {repository.url} ({state}; {len(repository.charts)} chart(s) in {repository.folder})")
    return statuses


def _needs_helm(gitops: str | None, sandbox: Sandbox) -> Path | None:
    """The helm that indexes the chart repository, when ``up`` will run Flux (asked now or before)."""
    return find_helm() if gitops or sandbox.flux.enabled else None


def make_sandbox_group(resolve: Resolver | None = None, name: str = "sandbox") -> click.Group:
    """The ``sandbox`` click group; ``resolve`` supplies the inputs (default: its own options)."""
    resolver = resolve or _inputs_from_options

    @click.group(name=name, short_help="Run local Kubernetes clusters, one per stack cluster.", help="Local Kubernetes clusters (real API servers on 127.0.0.1), one per stack cluster.")
    @click.pass_context
    def group(ctx: click.Context, **_: Any) -> None:
        ctx.ensure_object(dict)

    if resolve is not None:
        group = STACK(group)

    if resolve is None:
        group.params += [
            click.Option(["--workdir"], type=click.Path(path_type=Path), help="default: .meshcharts/sandbox"),
            click.Option(["--cluster", "clusters"], multiple=True, metavar="NAME[=CONTEXT][:GROUP,...]"),
            click.Option(["--storage-class", "storage_classes"], multiple=True, help=f"first is the default; default {DEFAULT_STORAGE_CLASS}"),
            click.Option(["--charts", "charts_dir"], type=click.Path(path_type=Path, exists=True, file_okay=False), help="<name>-<version>.tgz files the --gitops chart repository serves"),
        ]

    @group.command(short_help="Start (or reuse) one cluster per stack cluster.", help="Start (or reuse) one cluster per stack cluster; build the binaries first if needed.")
    @click.option("--crd-dir", "crd_dirs", multiple=True, type=click.Path(path_type=Path, exists=True, file_okay=False), metavar="FOLDER", help=CRD_DIR_HELP)
    @click.option("--gitops", type=click.Choice(ENGINES), default=None, help="also run this GitOps engine's controllers per cluster and a chart repository of the pulled charts on 127.0.0.1 (kept until down)")
    @OUTPUT
    @click.pass_context
    @handles_errors
    def up(ctx: click.Context, crd_dirs: tuple[Path, ...], gitops: str | None, output: str) -> None:
        base = resolver(ctx)
        inputs = replace(base, crd_dirs=(*crd_dirs, *base.crd_dirs))
        sandbox = inputs.sandbox()
        if not sandbox.clusters:
            raise ConfigError(Diagnostic(message="no clusters to start", rule="sandbox.usage"))
        sandbox = inputs.sandbox(helm=_needs_helm(gitops, sandbox))
        kubeconfig = sandbox.up(stderr_progress, gitops=gitops)
        crds = {cluster.name: list(cluster.crd_groups) for cluster in sandbox.clusters}
        statuses = _report(sandbox, output, {"kubeconfig": str(kubeconfig), "crds": crds})
        gitops_status = sandbox.gitops_status()
        if output == "text":
            click.echo(f"kubeconfig: {kubeconfig}")
        ready = all(s.state is ClusterState.RUNNING for s in statuses) and (gitops_status is None or gitops_status.running)
        sys.exit(0 if ready else 1)

    @group.command(short_help="Delete the sandbox clusters.", help="Delete the sandbox clusters; nothing is left running or listening.")
    @OUTPUT
    @click.pass_context
    @handles_errors
    def down(ctx: click.Context, output: str) -> None:
        sandbox = resolver(ctx).sandbox()
        sandbox.down(stderr_progress)
        left = sandbox.processes()
        if output == "json":
            print_json({"down": not left, "running": sorted(left)})
        else:
            click.echo("sandbox down: nothing running" if not left else f"still running: {sorted(left)}")
        sys.exit(0 if not left else 1)

    @group.command(short_help="Show the state of each sandbox cluster.", help="State of each cluster: running, degraded, stopped or absent (exit 1 unless all run).")
    @OUTPUT
    @click.pass_context
    @handles_errors
    def status(ctx: click.Context, output: str) -> None:
        sandbox = resolver(ctx).sandbox()
        kubeconfig = sandbox.kubeconfig_path if sandbox.kubeconfig_path.is_file() else None
        statuses = _report(sandbox, output, {"kubeconfig": str(kubeconfig) if kubeconfig else None})
        gitops = sandbox.gitops_status()
        running = statuses and all(s.state is ClusterState.RUNNING for s in statuses) and (gitops is None or gitops.running)
        sys.exit(0 if running else 1)

    @group.command(short_help="Print the path of the sandbox's kubeconfig.", help="Print the path of the sandbox's kubeconfig (contexts named as the stack names them).")
    @OUTPUT
    @click.pass_context
    @handles_errors
    def kubeconfig(ctx: click.Context, output: str) -> None:
        sandbox = resolver(ctx).sandbox()
        path = sandbox.kubeconfig_path
        if not path.is_file():
            raise InvalidInput(
                Diagnostic(message=f"no sandbox kubeconfig at {path}", rule="sandbox.not-up", hint="run `meshcharts sandbox up` first")
            )
        if output == "json":
            print_json({"kubeconfig": str(path), "contexts": [c.context_name for c in sandbox.clusters]})
        else:
            click.echo(str(path))

    return group


STORAGE_CLASS_KEYS = ("storageClass", "storageClassName")


def storage_classes_named(values: Any) -> set[str]:
    """Every ``storageClass``/``storageClassName`` string in composed values (the sandbox offers them all)."""
    found: set[str] = set()
    pending = [values]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if key in STORAGE_CLASS_KEYS and isinstance(item, str) and item and item != "-":
                    found.add(item)
                else:
                    pending.append(item)
        elif isinstance(node, list):
            pending.extend(node)
    return found


def stack_inputs(ctx: click.Context) -> SandboxInputs:
    """The sandbox for the stack found from ``--stack`` (or the current folder)."""
    from meshcharts.api import open_project

    params = ctx.find_root().params if ctx.parent is None else (ctx.parent.params or {})
    project = open_project(params.get("stack_path"))
    stack = project.stack
    clusters = []
    classes: set[str] = set()
    charts = _pulled_charts(stack.root)
    for cluster in stack.clusters.values():
        requests = [
            CrdRequest(group, location, f"crds[{index}]")
            for index, (group, location) in enumerate(zip(cluster.crds, cluster.crd_locations or [None] * len(cluster.crds)))
        ]
        for external in stack.external.values():
            operator_run = external.provides == "prometheus" and external.monitors.get("mode") == "operator"
            if operator_run and cluster.name in external.clusters:
                requests.append(CrdRequest("monitoring.coreos.com", external.location, f"external.{external.name}.monitors"))
        groups = tuple(sorted({request.group for request in requests}))
        clusters.append(SandboxCluster(cluster.name, context=cluster.context, crd_groups=groups, crd_requests=tuple(requests)))
        for composition in project.compose_all(cluster.name):
            classes |= storage_classes_named(composition.values(secrets="placeholder"))
    others = tuple(sorted(classes - {DEFAULT_STORAGE_CLASS}))
    return SandboxInputs(stack.root / ".meshcharts" / "sandbox", tuple(clusters), (DEFAULT_STORAGE_CLASS, *others), charts=charts)


def _pulled_charts(stack_root: Path) -> tuple[ChartArchive, ...]:
    """The charts ``meshcharts pull`` recorded in meshcharts.lock and cached, as ``<name>-<version>.tgz``."""
    from meshcharts.deploy.sources import cached_archive, read_lock

    found: dict[str, ChartArchive] = {}
    for entry in read_lock(stack_root).values():
        path = cached_archive(entry)
        file_name = f"{entry.request.name}-{entry.request.version}.tgz"
        if path is not None and file_name not in found:
            found[file_name] = ChartArchive(file_name, path)
    return tuple(found[name] for name in sorted(found))


#: ``meshcharts sandbox`` (registered lazily by :class:`meshcharts.cli.app.LazyGroup`).
sandbox_command = make_sandbox_group(stack_inputs)

#: The stand-alone group (inputs from its options): ``python -m meshcharts.cli.sandbox``.
sandbox = make_sandbox_group()

if __name__ == "__main__":
    sandbox()
