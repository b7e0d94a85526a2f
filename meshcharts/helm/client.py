"""The typed, synchronous face of helm for the rest of meshcharts.

:class:`HelmClient` plays the part of ``pyhelm3.client.Client`` (typed results over a command runner)
but is sync, because meshcharts is, and never goes through ``pyhelm3.client.Client``'s values handling:

    pyhelm3's Client takes ``*values`` and merges them with ``mergeconcat``, which CONCATENATES lists.
    Helm REPLACES lists, and meshcharts composes the layers itself with Helm's rules (DESIGN.md: "lists
    and scalars replace"). So every call here hands helm exactly ONE values dict, the composed one,
    through :class:`~meshcharts.helm.runner.HelmCommand` directly. Never pass pyhelm3 two dicts.

One client per cluster: kubeconfig and kube-context are fixed at construction, so release verbs
(install_or_upgrade, list, status, history) slot in as thin methods over the same command.
Helm failures come out as :class:`HelmError`, a :class:`~meshcharts.core.diagnostics.MeshchartsError`
the CLI prints like every other finding; the pyhelm3 error stays available as ``helm_error``.

Secrets: dry verbs (lint, template) take :class:`~meshcharts.core.secrets.PlaceholderValues`; release
verbs take only :class:`~meshcharts.core.secrets.ResolvedValues`, and every secret in it is redacted
from whatever helm prints before it reaches a message, a log or the ``helm_error`` kept on the error
(helm's render errors can echo values).
"""

from __future__ import annotations

import os
import re
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import semver
import yaml
from pyhelm3 import errors

from meshcharts.core.diagnostics import Diagnostic, ExitCode, MeshchartsError
from meshcharts.core.secrets import PlaceholderValues, ResolvedValues, redact
from meshcharts.helm.failures import HelmError
from meshcharts.helm.manifests import parse_manifests
from meshcharts.helm.runner import HelmCommand, run_sync

T = TypeVar("T")

#: ``engine.go:159: `` in front of helm's log lines.
_GO_SOURCE_PREFIX = re.compile(r"^[\w./-]+\.go:\d+: ")

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

    def _call(self, coro: Coroutine[Any, Any, T], what: str, component: str | None = None,
              secrets: tuple[str, ...] = ()) -> T:
        """Run one command synchronously; helm failures become :class:`HelmError`, secrets redacted."""
        try:
            return run_sync(coro)
        except errors.Error as exc:
            raise HelmError(exc, what=what, cluster=self.cluster, component=component, secrets=secrets) from None

    def version(self) -> semver.Version:
        """The helm binary's version, detected once per client (flags differ between Helm 3 and 4)."""
        return self._call(self.command.detected_version(), what=f"{self.command.executable} version")

    def lint(self, chart_dir: Path, values: Mapping[str, Any] | None, *, strict: bool = True) -> LintResult:
        """``helm lint`` with the composed values on stdin; ``strict`` makes warnings fail too.

        Secrets stand as their placeholders: lint never needs, and never sees, a clear secret.
        """
        returncode, stdout, stderr = self._call(
            self.command.lint(Path(chart_dir), PlaceholderValues.of(values).values, strict=strict), what=f"helm lint {chart_dir}"
        )
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
        """The manifests ``helm template`` renders for exactly these values (no merging on our side).

        Run through our own command list rather than pyhelm3's ``template``, whose lazy
        ``yaml.load_all`` would parse outside any error handling and turn timestamps into datetimes.
        """
        command: list[Any] = ["template", release, chart, "--include-crds" if include_crds else "--skip-crds", "--values", "-"]
        command += ["--namespace", namespace]
        if repo:
            command += ["--repo", repo]
        if version:
            command += ["--version", version]
        what = f"helm template {release} {chart}"
        stdout = self._call(self.command.run(command, PlaceholderValues.of(values).to_json()), what=what)
        return parse_manifests(stdout, what)

    def render_for_cluster(
        self,
        release: str,
        chart: Path,
        values: ResolvedValues,
        *,
        namespace: str,
        kube_version: str,
        api_versions: list[str],
        is_upgrade: bool,
        component: str | None = None,
    ) -> list[dict[str, Any]]:
        """The objects ``helm upgrade -i`` would apply: ``helm template`` with the real values and the
        cluster's own Capabilities (its version and every API group/version/kind it serves).

        The values carry clear secrets (a Secret the chart renders must compare equal to the live one),
        so they go on stdin only, the result stays in memory, and helm's errors are redacted.
        """
        if not isinstance(values, ResolvedValues):
            raise TypeError("render_for_cluster takes ResolvedValues: the plan must render what apply installs")
        command: list[Any] = ["template", release, chart, "--skip-crds", "--values", "-", "--namespace", namespace]
        command += ["--kube-version", kube_version]
        for api_version in api_versions:
            command += ["--api-versions", api_version]
        if is_upgrade:
            command.append("--is-upgrade")
        what = f"helm template {release} {chart}"
        stdout = self._call(self.command.run(command, values.to_json()), what=what, component=component, secrets=values.secrets)
        return parse_manifests(stdout, what)  # a YAML error names its line and problem, never the text

    def package(self, chart_dir: Path, dest: Path) -> Path:
        """``helm package`` into ``dest`` (created if missing); the path of the ``.tgz`` written."""
        Path(dest).mkdir(parents=True, exist_ok=True)
        return self._call(self.command.package(Path(chart_dir), Path(dest)), what=f"helm package {chart_dir}")

    def repo_index(self, folder: Path, url: str) -> None:
        """``helm repo index`` of a folder of chart archives, their URLs under ``url``."""
        self._call(self.command.repo_index(Path(folder), url), what=f"helm repo index {folder}")

    def install_or_upgrade(
        self,
        release: str,
        chart: Path | str,
        values: ResolvedValues,
        *,
        namespace: str,
        version: str | None = None,
        repo: str | None = None,
        atomic: bool = False,
        wait: bool = False,
        timeout: int | str | None = None,
        description: str | None = None,
        component: str | None = None,
    ) -> dict[str, Any]:
        """``helm upgrade --install`` with the one composed values dict on stdin; helm's release JSON.

        Takes :class:`ResolvedValues` only, so a placeholder can never be installed as a value, and
        redacts its secrets from any error helm prints.
        """
        if not isinstance(values, ResolvedValues):
            raise TypeError("install_or_upgrade takes ResolvedValues (resolve_secrets at apply time), never placeholders")
        result: dict[str, Any] = self._call(
            self.command.install_or_upgrade(
                release, chart, values.values, namespace=namespace, version=version, repo=repo,
                atomic=atomic, wait=wait, timeout=timeout, create_namespace=True, description=description,
            ),
            what=f"helm upgrade --install {release}",
            component=component,
            secrets=values.secrets,
        )
        return result

    def list_releases(self) -> list[dict[str, Any]]:
        """Every release on the cluster, in every namespace and state: one helm call per cluster."""
        releases: list[dict[str, Any]] = self._call(
            self.command.list(all=True, all_namespaces=True, max_releases=100000), what="helm list --all --all-namespaces"
        )
        return releases

    def pull(self, chart: str, *, repo: str | None, version: str, destination: Path) -> Path:
        """``helm pull`` one pinned chart (repository or ``oci://``) into ``destination``; the archive written."""
        Path(destination).mkdir(parents=True, exist_ok=True)
        command: list[Any] = ["pull", chart, "--version", version, "--destination", destination]
        if repo:
            command += ["--repo", repo]
        self._call(self.command.run(command), what=f"helm pull {chart} {version}")
        archives = sorted(Path(destination).glob("*.tgz"))
        if len(archives) != 1:
            raise MeshchartsError(Diagnostic(message=f"helm pull {chart} {version} wrote {len(archives)} archives, expected one", rule="helm.bad-output"))
        return archives[0]
