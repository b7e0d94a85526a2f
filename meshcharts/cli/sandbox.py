"""``sandbox up|down|status|kubeconfig``: a click group over :class:`Sandbox`, on plain inputs.

:func:`make_sandbox_group` takes a resolver that turns the click context into :class:`SandboxInputs`.
``meshcharts sandbox`` uses :func:`stack_inputs`: one cluster per stack cluster, kube-contexts named as
the stack names them, the CRD groups the stack says are installed outside it, and a storage class for
every class the composed values name (so claims bind). Without a resolver the inputs come from
options (``python -m meshcharts.cli.sandbox --workdir DIR --cluster NAME[=CONTEXT][:GROUP,...]``).
``up --crd-dir FOLDER`` (repeatable) adds ``<group>.yaml`` stand-ins, looked up before the shipped
ones, for a group the sandbox does not ship.

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
from meshcharts.sandbox.build import stderr_progress
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

    def sandbox(self) -> Sandbox:
        return Sandbox(self.workdir, self.clusters, storage_classes=self.storage_classes, crd_dirs=self.crd_dirs)


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
    return SandboxInputs(workdir, tuple(parse_cluster(spec) for spec in specs), classes)


def _status_line(status: ClusterStatus) -> str:
    line = f"{status.name:<16} {status.state.value:<9} context={status.context}"
    if status.server:
        line += f" {status.server}"
    if status.state is ClusterState.DEGRADED:
        line += f" (not running: {', '.join(status.dead)})"
    return line


def _report(sandbox: Sandbox, output: str, extra: dict[str, Any]) -> list[ClusterStatus]:
    """Each cluster's state: one line per cluster, or one JSON document with ``extra`` first."""
    statuses = sandbox.status()
    if output == "json":
        print_json({**extra, "clusters": [status.as_json() for status in statuses]})
    else:
        for status in statuses:
            click.echo(_status_line(status))
    return statuses


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
        ]

    @group.command(short_help="Start (or reuse) one cluster per stack cluster.", help="Start (or reuse) one cluster per stack cluster; build the binaries first if needed.")
    @click.option("--crd-dir", "crd_dirs", multiple=True, type=click.Path(path_type=Path, exists=True, file_okay=False), metavar="FOLDER", help=CRD_DIR_HELP)
    @OUTPUT
    @click.pass_context
    @handles_errors
    def up(ctx: click.Context, crd_dirs: tuple[Path, ...], output: str) -> None:
        inputs = resolver(ctx)
        sandbox = replace(inputs, crd_dirs=(*crd_dirs, *inputs.crd_dirs)).sandbox()
        if not sandbox.clusters:
            raise ConfigError(Diagnostic(message="no clusters to start", rule="sandbox.usage"))
        kubeconfig = sandbox.up(stderr_progress)
        crds = {cluster.name: list(cluster.crd_groups) for cluster in sandbox.clusters}
        statuses = _report(sandbox, output, {"kubeconfig": str(kubeconfig), "crds": crds})
        if output == "text":
            click.echo(f"kubeconfig: {kubeconfig}")
        sys.exit(0 if all(s.state is ClusterState.RUNNING for s in statuses) else 1)

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
        sys.exit(0 if statuses and all(s.state is ClusterState.RUNNING for s in statuses) else 1)

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
    return SandboxInputs(stack.root / ".meshcharts" / "sandbox", tuple(clusters), (DEFAULT_STORAGE_CLASS, *others))


#: ``meshcharts sandbox`` (registered lazily by :class:`meshcharts.cli.app.LazyGroup`).
sandbox_command = make_sandbox_group(stack_inputs)

#: The stand-alone group (inputs from its options): ``python -m meshcharts.cli.sandbox``.
sandbox = make_sandbox_group()

if __name__ == "__main__":
    sandbox()
