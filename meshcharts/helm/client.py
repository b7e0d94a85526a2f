"""The typed, synchronous face of helm for the rest of meshcharts.

:class:`HelmClient` plays the part of ``pyhelm3.client.Client`` (typed results over a command runner)
but is sync, because meshcharts is, and never goes through ``pyhelm3.client.Client``'s values handling:

    pyhelm3's Client takes ``*values`` and merges them with ``mergeconcat``, which CONCATENATES lists.
    Helm REPLACES lists, and meshcharts composes the layers itself with Helm's rules (DESIGN.md: "lists
    and scalars replace"). So every call here hands helm exactly ONE values dict, the composed one,
    through :class:`~meshcharts.helm.runner.HelmCommand` directly. Never pass pyhelm3 two dicts.

One client per cluster: kubeconfig and kube-context are fixed at construction, so release verbs
(install_or_upgrade, status, get_manifest, history) slot in as thin methods over the same command.
Helm failures come out as :class:`HelmError`, a :class:`~meshcharts.core.diagnostics.MeshchartsError`
the CLI prints like every other finding; the pyhelm3 error stays available as ``helm_error``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import semver
from pyhelm3 import errors

from meshcharts.core.diagnostics import Diagnostic, ExitCode, MeshchartsError
from meshcharts.core.model import EnvRef
from meshcharts.helm.runner import HelmCommand, run_sync

T = TypeVar("T")

#: ``engine.go:159: `` in front of helm's log lines.
_GO_SOURCE_PREFIX = re.compile(r"^[\w./-]+\.go:\d+: ")

#: pyhelm3 error class → stable diagnostic rule, most specific first (they subclass errors.Error).
_RULES: tuple[tuple[type[errors.Error], str], ...] = (
    (errors.ChartNotFoundError, "helm.chart-not-found"),
    (errors.FailedToRenderChartError, "helm.render-failed"),
    (errors.ReleaseNotFoundError, "helm.release-not-found"),
    (errors.ResourceAlreadyExistsError, "helm.resource-exists"),
    (errors.InvalidResourceError, "helm.invalid-resource"),
    (errors.ConnectionError, "helm.connection"),
    (errors.CommandCancelledError, "helm.cancelled"),
)


class HelmError(MeshchartsError):
    """A helm command failed. Exit 1, like any other failed render, plan or apply."""

    exit_code = ExitCode.INVALID

    def __init__(self, helm_error: errors.Error, *, what: str, cluster: str | None = None,
                 component: str | None = None) -> None:
        self.helm_error = helm_error
        rule = next((r for cls, r in _RULES if isinstance(helm_error, cls)), "helm.command-failed")
        detail = _helm_message(helm_error.stderr) or f"exit code {helm_error.returncode}"
        super().__init__(
            Diagnostic(message=f"{what}: {detail}", rule=rule, cluster=cluster, component=component)
        )


def _helm_message(stderr: bytes) -> str:
    """Helm's ``Error:`` lines without the prefix, on one line; all of stderr if it has none.

    Helm also prints warnings (e.g. about kubeconfig permissions) that would bury the cause.
    """
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    chosen = [line.removeprefix("Error: ") for line in lines if line.startswith("Error: ")] or lines
    return "; ".join(chosen)


@dataclass(frozen=True)
class LintResult:
    """What ``helm lint`` said. ``messages`` are ``[SEVERITY] text`` lines, helm's own order."""

    ok: bool
    messages: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Only the warnings and errors (helm also prints INFO such as "icon is recommended")."""
        return [m for m in self.messages if m.startswith(("[WARNING]", "[ERROR]"))]


def _lint_messages(stdout: bytes, stderr: bytes) -> list[str]:
    """The findings of a lint run: ``[SEV] ...`` lines from stdout, then the engine's lines from stderr.

    Helm 3.10 prints template-engine findings in lint mode (``required``/``fail`` hits) on stderr as
    ``engine.go:159: [INFO] Missing required value: ...``; they tell a user which value is missing,
    so they are kept with the file:line prefix of helm's source dropped.
    """
    messages = [
        line.strip() for line in stdout.decode(errors="replace").splitlines() if line.strip().startswith("[")
    ]
    for line in stderr.decode(errors="replace").splitlines():
        line = line.strip()
        if not line or (line.startswith("Error: ") and "chart(s) linted" in line):
            continue
        messages.append(_GO_SOURCE_PREFIX.sub("", line))
    return messages


def _json_default(value: Any) -> Any:
    if isinstance(value, EnvRef):
        # lint/template never see secrets: the placeholder stands in (DESIGN.md: never in clear).
        return value.placeholder
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        # What helm itself makes of an unquoted YAML date: a string.
        return value.isoformat()
    # Name the type only: the value may be a secret.
    raise TypeError(f"values contain a {type(value).__name__}, which helm cannot take")


def plain_values(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values as helm will read them from stdin (JSON types only), with secrets as placeholders."""
    result: dict[str, Any] = json.loads(json.dumps(dict(values or {}), default=_json_default))
    return result


class HelmClient:
    """Sync, typed helm for one cluster (or none: lint, template and package need no cluster).

    ``command`` lets callers (tests, automation) supply their own :class:`HelmCommand` subclass;
    otherwise one is built from the keyword arguments, finding the binary with ``find_helm``.
    """

    def __init__(
        self,
        command: HelmCommand | None = None,
        *,
        executable: str | os.PathLike[str] | None = None,
        kubeconfig: Path | None = None,
        kube_context: str | None = None,
        timeout: int | str = "5m",
        history_max_revisions: int = 10,
        env: Mapping[str, str] | None = None,
        cluster: str | None = None,
    ) -> None:
        self.command = command or HelmCommand(
            executable=executable,
            kubeconfig=kubeconfig,
            kubecontext=kube_context,
            default_timeout=timeout,
            history_max_revisions=history_max_revisions,
            env=env,
        )
        self.cluster = cluster

    def _call(self, coro: Coroutine[Any, Any, T], what: str, component: str | None = None) -> T:
        """Run one command synchronously; helm failures become :class:`HelmError`."""
        try:
            return run_sync(coro)
        except errors.Error as exc:
            raise HelmError(exc, what=what, cluster=self.cluster, component=component) from exc

    def version(self) -> semver.Version:
        """The helm binary's version, detected once per client (flags differ between Helm 3 and 4)."""
        try:
            return self.command.helm_version
        except errors.Error as exc:
            raise HelmError(exc, what=f"{self.command.executable} version", cluster=self.cluster) from exc

    def lint(self, chart_dir: Path, values: Mapping[str, Any] | None, *, strict: bool = True) -> LintResult:
        """``helm lint`` with the composed values on stdin; ``strict`` makes warnings fail too.

        Values here hold secret placeholders only (``plain_values``), never clear secrets.
        """
        returncode, stdout, stderr = run_sync(self.command.lint(Path(chart_dir), plain_values(values), strict=strict))
        return LintResult(ok=returncode == 0, messages=_lint_messages(stdout, stderr))

    def template(
        self,
        release: str,
        chart: Path | str,
        *,
        namespace: str,
        values: Mapping[str, Any] | None,
        version: str | None = None,
        repo: str | None = None,
        include_crds: bool = False,
    ) -> list[dict[str, Any]]:
        """The manifests ``helm template`` renders for exactly these values (no merging on our side)."""
        rendered = self._call(
            self.command.template(
                release,
                chart,
                plain_values(values),
                namespace=namespace,
                version=version,
                repo=repo,
                include_crds=include_crds,
            ),
            what=f"helm template {release} {chart}",
        )
        return [doc for doc in rendered if isinstance(doc, dict)]

    def package(self, chart_dir: Path, dest: Path) -> Path:
        """``helm package`` into ``dest`` (created if missing); the path of the ``.tgz`` written."""
        Path(dest).mkdir(parents=True, exist_ok=True)
        return self._call(self.command.package(Path(chart_dir), Path(dest)), what=f"helm package {chart_dir}")
