"""A failed helm command as meshcharts reports it: :class:`HelmError`, with a stable rule per failure kind.

Apart from :mod:`meshcharts.helm.client` so that code which only needs to *catch* a helm failure
(plan's renderer, which turns a chart that will not render into a finding) does not import pyhelm3:
its package imports pydantic, asyncio and its models on the way (about 0.2 s of start-up), and a plan
whose releases are all unchanged runs no helm at all. The pyhelm3 error classes are therefore matched
by name along the error's class hierarchy, which is what ``isinstance`` would test.
"""

from __future__ import annotations

from typing import Protocol

from meshcharts.core.diagnostics import Diagnostic, ExitCode, MeshchartsError
from meshcharts.core.secrets import redact

#: pyhelm3 error class (by name, see the module docstring) → stable diagnostic rule, most specific first.
_RULES: tuple[tuple[str, str], ...] = (
    ("ChartNotFoundError", "helm.chart-not-found"),
    ("FailedToRenderChartError", "helm.render-failed"),
    ("ReleaseNotFoundError", "helm.release-not-found"),
    ("ResourceAlreadyExistsError", "helm.resource-exists"),
    ("InvalidResourceError", "helm.invalid-resource"),
    ("ConnectionError", "helm.connection"),
    ("CommandCancelledError", "helm.cancelled"),
)


class CommandFailure(Protocol):
    """What a pyhelm3 error (``pyhelm3.errors.Error`` and its subclasses) carries of the failed command."""

    returncode: int
    stdout: bytes
    stderr: bytes


class HelmError(MeshchartsError):
    """A helm command failed. Exit 1, like any other failed render, plan or apply."""

    exit_code = ExitCode.INVALID

    def __init__(self, helm_error: CommandFailure, *, what: str, cluster: str | None = None,
                 component: str | None = None, secrets: tuple[str, ...] = ()) -> None:
        classes = {cls.__name__ for cls in type(helm_error).__mro__}
        rule = next((r for name, r in _RULES if name in classes), "helm.command-failed")
        stdout = redact(helm_error.stdout.decode(errors="replace"), secrets).encode()
        stderr = redact(helm_error.stderr.decode(errors="replace"), secrets).encode()
        # The same class as helm's error, but holding only redacted output: nothing keeps the clear text.
        self.helm_error: CommandFailure = type(helm_error)(helm_error.returncode, stdout, stderr)  # type: ignore[call-arg]
        detail = _helm_message(stderr) or f"exit code {helm_error.returncode}"
        super().__init__(
            Diagnostic(message=f"{what}: {detail}", rule=rule, cluster=cluster, component=component)
        )


def _helm_message(stderr: bytes) -> str:
    """Helm's error without the ``Error: `` prefix, on one line; all of stderr if it has none.

    Helm also prints warnings (e.g. about kubeconfig permissions) before it, which would bury the
    cause. The error itself may run over several lines, and the cause is often not on the first:
    ``1 error occurred:`` then ``\t* Deployment.apps "kiali" is invalid: ...`` (a rejected object),
    or helm 4's ``resource ... not ready`` then ``context deadline exceeded``. Helm prints its error
    last, so everything from the ``Error:`` line on is kept.
    """
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    start = next((index for index, line in enumerate(lines) if line.startswith("Error: ")), None)
    if start is None:
        return "; ".join(lines)
    message = lines[start].removeprefix("Error: ")
    for line in lines[start + 1 :]:
        line = line.removeprefix("Error: ").removeprefix("* ")
        message += f" {line}" if message.endswith(":") else f"; {line}"
    return message


__all__ = ["CommandFailure", "HelmError"]
