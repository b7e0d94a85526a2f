"""The low-level side of the helm adapter: run the binary (found by :mod:`.locate`), turn failures into pyhelm3 errors.

We build on :class:`pyhelm3.command.Command` (its argument building for every helm verb is good and
maintained upstream) and replace only what is unsafe or broken for us, without forking it:

* ``Command.run`` hands a ``shlex.join``-ed string to asyncio's shell-based subprocess call. meshcharts
  never uses a shell (quoting bugs, injection through chart or release names), so :meth:`HelmCommand.run`
  executes the argument list with ``create_subprocess_exec``; ``client_version`` (a shell run of
  ``subprocess.run`` upstream) goes through the same path.
* ``install_or_upgrade(disable_validation=True)`` does ``list.extend("--disable-openapi-validation")``,
  which adds the flag one character per argument. Our override asks upstream for everything else and
  adds the flag itself, as one argument.
* ``install_or_upgrade`` defaults ``atomic_arg`` to Helm 4's ``--rollback-on-failure``, which Helm 3
  rejects. We detect the binary's version once and pick ``--atomic`` or ``--rollback-on-failure``.
* ``--kube-token`` would put a bearer token in argv (visible in ``ps``); we pass ``HELM_KUBETOKEN`` in
  the child's environment instead.

Values always reach helm on stdin (``--values -``), as upstream already does: they may hold secrets,
which must be neither in argv nor in a file.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import json
import os
import re
import shlex
import signal
import threading
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import semver
from pyhelm3 import errors
from pyhelm3.command import CHART_NOT_FOUND, CONNECTION_ERROR, Command

from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.helm.locate import HELM_ENV, find_helm

T = TypeVar("T")

#: The helm processes running now, each with the event loop that owns it (a signal must be sent from
#: that loop: asyncio's process objects are not thread-safe, and only the loop knows it has not yet
#: reaped the pid, which could by then belong to another process).
_RUNNING: dict[asyncio.subprocess.Process, asyncio.AbstractEventLoop] = {}
_RUNNING_LOCK = threading.Lock()


def interrupt_running_helm() -> int:
    """Send SIGINT to every helm this process runs; how many were told.

    helm meets SIGINT by cancelling: the release is recorded ``failed`` rather than left ``pending-*``
    (the live interrupt tests see it, with helm 3.22). Ctrl-C on a terminal already reaches helm, as part of
    the foreground process group; a SIGTERM or SIGINT sent to meshcharts alone (a CI runner's cancel)
    does not, and without this the interrupted apply would wait out helm's whole ``--timeout``.
    """
    with _RUNNING_LOCK:
        running = list(_RUNNING.items())
    for proc, loop in running:
        try:
            loop.call_soon_threadsafe(_send_interrupt, proc)
        except RuntimeError:  # its loop has closed: that helm is done
            continue
    return len(running)


def _send_interrupt(proc: asyncio.subprocess.Process) -> None:
    try:
        proc.send_signal(signal.SIGINT)
    except ProcessLookupError:
        pass

#: Flags that exist only from a given helm version on; pyhelm3 passes them through blindly and an older
#: helm would fail with "unknown flag" after the chart was already fetched. Keyed by pyhelm3's option name.
_MINIMUM_HELM_FOR_OPTION: dict[str, semver.Version] = {
    "take_ownership": semver.Version(3, 17, 0),
    "force_replace": semver.Version(4, 0, 0),
    "force_conflicts": semver.Version(4, 0, 0),
    "server_side": semver.Version(4, 0, 0),
}

#: Arguments a caller (our ``install_or_upgrade`` override) asks :meth:`HelmCommand.run` to add to the
#: command upstream builds. A ContextVar, so concurrent releases in one event loop never see each other's.
_EXTRA_ARGS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("_EXTRA_ARGS", default=())

#: pyhelm3's stderr → error class rules, in its order (first match wins). Upstream keeps them inline in
#: ``Command.run`` where they cannot be called, so this is the one short piece we restate (reusing its
#: regexes), plus one rule of ours at the end.
_ERROR_RULES: tuple[tuple[Any, type[errors.Error]], ...] = (
    ("context canceled", errors.CommandCancelledError),
    ("etcdserver", errors.ConnectionError),
    ("release: not found", errors.ReleaseNotFoundError),
    ("failed to render chart", errors.FailedToRenderChartError),
    ("execution error", errors.FailedToRenderChartError),
    ("rendered manifests contain a resource that already exists", errors.ResourceAlreadyExistsError),
    ("is invalid", errors.InvalidResourceError),
    (CHART_NOT_FOUND, errors.ChartNotFoundError),
    (CONNECTION_ERROR, errors.ConnectionError),
    # Ours, not upstream's: an unreachable API server (refused, DNS) is a connection problem too.
    ("kubernetes cluster unreachable", errors.ConnectionError),
)


def classify_error(stderr: bytes) -> type[errors.Error]:
    """The pyhelm3 error class for a failed helm run, so callers can catch e.g. ``ChartNotFoundError``."""
    text = stderr.decode(errors="replace").lower()
    for rule, error_cls in _ERROR_RULES:
        if (rule in text) if isinstance(rule, str) else (rule.search(text) is not None):
            return error_cls
    return errors.Error


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, which is what meshcharts is.

    ``asyncio.run`` refuses to nest in a running loop (a notebook, an async automation script); there
    the coroutine runs on a fresh loop in a worker thread instead, so the sync API works everywhere.
    """
    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    if not in_loop:
        # Outside the except block, so helm's errors are not chained to "no running event loop".
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="meshcharts-helm") as pool:
        return pool.submit(asyncio.run, coro).result()


def _as_arg(part: Any) -> str | bytes:
    """pyhelm3 puts ints and Paths in its command lists; exec needs str or bytes."""
    if isinstance(part, (str, bytes)):
        return part
    if isinstance(part, os.PathLike):
        return os.fspath(part)
    return str(part)


class HelmCommand(Command):
    """pyhelm3's Command without a shell, with version-aware flags, plus ``lint`` and ``package``.

    One instance per cluster: kubeconfig and kube-context are fixed at construction, as upstream.
    ``env`` adds variables to the child's environment (e.g. ``HELM_CACHE_HOME`` for a private cache).
    Subclasses may override :meth:`_execute` to observe every argv and stdin (tests do).
    """

    def __init__(
        self,
        *,
        executable: str | os.PathLike[str] | None = None,
        kubeconfig: Path | None = None,
        kubecontext: str | None = None,
        kubeapiserver: str | None = None,
        kubetoken: str | None = None,
        insecure_skip_tls_verify: bool = False,
        default_timeout: int | str = "5m",
        history_max_revisions: int = 10,
        unpack_directory: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            executable=os.fspath(executable or find_helm()),
            # The stack file allows ``~/.kube/config``; helm would take the ``~`` literally.
            kubeconfig=Path(kubeconfig).expanduser() if kubeconfig else None,
            kubecontext=kubecontext,
            kubeapiserver=kubeapiserver,
            insecure_skip_tls_verify=insecure_skip_tls_verify,
            default_timeout=default_timeout,
            history_max_revisions=history_max_revisions,
            unpack_directory=unpack_directory,
        )
        # Not handed to upstream, which would put it in argv; see _child_env.
        self._kubetoken_env = kubetoken
        self._env = dict(env or {})
        self._helm_version: semver.Version | None = None

    @property
    def executable(self) -> str:
        """The helm binary this command runs."""
        return str(self._executable)

    # -- running ---------------------------------------------------------------------------------

    def _argv(self, command: Sequence[Any]) -> list[str | bytes]:
        """The full argv: binary, the verb's arguments, extras from overrides, then cluster flags."""
        argv: list[Any] = [self._executable, *command, *_EXTRA_ARGS.get()]
        if self._kubeconfig:
            argv += ["--kubeconfig", self._kubeconfig]
        if self._kubecontext:
            argv += ["--kube-context", self._kubecontext]
        if self._kubeapiserver:
            argv += ["--kube-apiserver", self._kubeapiserver]
        if self._insecure_skip_tls_verify:
            argv.append("--kube-insecure-skip-tls-verify")
        return [_as_arg(part) for part in argv]

    def _child_env(self) -> dict[str, str]:
        env = {**os.environ, **self._env}
        if self._kubetoken_env:
            env["HELM_KUBETOKEN"] = self._kubetoken_env
        return env

    async def _execute(self, argv: list[str | bytes], input: bytes | None) -> tuple[int, bytes, bytes]:
        """Start helm without a shell, feed ``input`` on stdin, return (exit code, stdout, stderr).

        A binary that vanished or cannot be run is a config error (one line, exit 2), not a crash.
        """
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._child_env(),
            )
        except OSError as exc:
            raise ConfigError(
                Diagnostic(
                    message=f"cannot run helm at {self._executable}: {exc.strerror or exc}",
                    rule="helm.not-found",
                    hint=f"run .ci/install-helm, or set {HELM_ENV} to a helm 3.10+ binary",
                )
            ) from None
        with _RUNNING_LOCK:
            _RUNNING[proc] = asyncio.get_running_loop()
        try:
            stdout, stderr = await proc.communicate(input)
        except asyncio.CancelledError:
            # As upstream: let helm terminate cleanly (it may be mid-release), then propagate.
            try:
                proc.terminate()
                await proc.communicate()
            except ProcessLookupError:
                pass
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(proc, None)
        assert proc.returncode is not None
        return proc.returncode, stdout, stderr

    async def run_unchecked(self, command: Sequence[Any], input: bytes | None = None) -> tuple[int, bytes, bytes]:
        """Run ``helm <command>`` and return (exit code, stdout, stderr) whatever the exit code.

        For verbs whose failure is an answer (``lint``); everything else goes through :meth:`run`.
        """
        argv = self._argv(command)
        shown = shlex.join(self._log_format(part) for part in argv)
        self._logger.info("running command: %s", shown)
        returncode, stdout, stderr = await self._execute(argv, input)
        log = self._logger.info if returncode == 0 else self._logger.warning
        log("command %s: %s", "succeeded" if returncode == 0 else "failed", shown)
        return returncode, stdout, stderr

    async def run(self, command: list[Any], input: bytes | None = None) -> bytes:  # type: ignore[override]
        """Run ``helm <command>``; stdout on success, else the pyhelm3 error class upstream would raise."""
        returncode, stdout, stderr = await self.run_unchecked(command, input)
        if returncode == 0:
            return stdout
        raise classify_error(stderr)(returncode, stdout, stderr)

    # -- version ---------------------------------------------------------------------------------

    def _parse_version(self, raw: str) -> semver.Version:
        try:
            return semver.Version.parse(raw.strip().removeprefix("v"))
        except ValueError as exc:
            raise ConfigError(
                Diagnostic(message=f"{self._executable} reported an unreadable version {raw.strip()!r}",
                           rule="helm.version")
            ) from exc

    async def detected_version(self) -> semver.Version:
        """The binary's version, asked once per command: every version-dependent flag choice reads this."""
        if self._helm_version is None:
            self._helm_version = self._parse_version(await self.version())
        return self._helm_version

    def client_version(self) -> semver.Version:  # type: ignore[override]
        """Upstream's name for the same question (a shell run there); here :meth:`detected_version`."""
        return run_sync(self.detected_version())

    async def atomic_flag(self) -> str:
        """Helm 4 renamed ``--atomic`` to ``--rollback-on-failure``; Helm 3 knows only the former."""
        return "--atomic" if (await self.detected_version()).major < 4 else "--rollback-on-failure"

    # -- verbs upstream lacks or gets wrong -------------------------------------------------------

    async def install_or_upgrade(  # type: ignore[override]
        self,
        release_name: str,
        chart_ref: Path | str,
        values: dict[str, Any] | None = None,
        *,
        atomic_arg: str | None = None,
        disable_validation: bool = False,
        **options: Any,
    ) -> Any:
        """Upstream's ``helm upgrade --install`` with the flag fixes described in the module docstring.

        ``values`` is the one composed dict (see :mod:`meshcharts.helm.client` on why never several).
        """
        version = await self.detected_version()
        for option, minimum in _MINIMUM_HELM_FOR_OPTION.items():
            if options.get(option) and version < minimum:
                raise ConfigError(
                    Diagnostic(
                        message=f"helm {version} has no flag for {option!r} (needs helm {minimum}+)",
                        rule="helm.unsupported-flag",
                    )
                )
        extra = ("--disable-openapi-validation",) if disable_validation else ()
        token = _EXTRA_ARGS.set(_EXTRA_ARGS.get() + extra)
        try:
            return await super().install_or_upgrade(
                release_name, chart_ref, values,
                atomic_arg=atomic_arg or await self.atomic_flag(), disable_validation=False, **options,
            )
        finally:
            _EXTRA_ARGS.reset(token)

    async def lint(self, chart_dir: Path, values: dict[str, Any] | None, *, strict: bool) -> tuple[int, bytes, bytes]:
        """``helm lint CHART --values -``; returns the raw result because a failed lint is an answer, not an error.

        Helm 3.10 reads ``--values -`` from stdin for lint as for template (checked: a ``fail`` gated on
        a stdin value shows up in lint's output), so no values file is ever written.
        """
        command: list[Any] = ["lint", chart_dir, "--values", "-"]
        if strict:
            command.append("--strict")
        return await self.run_unchecked(command, json.dumps(values or {}).encode())

    async def repo_index(self, folder: Path, url: str) -> None:
        """``helm repo index DIR --url URL``: the index.yaml that makes a folder of archives a Helm repository."""
        await self.run(["repo", "index", folder, "--url", url])

    async def package(self, chart_dir: Path, destination: Path) -> Path:
        """``helm package CHART --destination DIR``; the path of the archive helm wrote."""
        stdout = await self.run(["package", chart_dir, "--destination", destination])
        match = re.search(rb"saved it to:\s*(\S.*?)\s*$", stdout, re.MULTILINE)
        if match:
            return Path(match.group(1).decode())
        raise errors.Error(0, stdout, b"helm package did not say where it saved the chart")
