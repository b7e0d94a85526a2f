"""Build the sandbox's binaries from the Go module proxy into a cache keyed by their versions.

Nothing the sandbox runs is downloaded ready-made: this machine (and CI) reach package registries
only. Kubernetes' control plane and etcd are built from ``gobuild/`` (a Go module shipped in the
package, so an installed wheel builds the same thing), kwok and kwokctl with ``go install``, and helm
3.22 / 4.3 the same way. A cold build costs about 20 minutes on 2 cores (kube-apiserver alone about
10), so the results live outside any checkout,
``${MESHCHARTS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/meshcharts}/sandbox/<versions-key>/bin/``, shared
by every clone on the machine; a re-run only checks that the files are there (well under a second).
Builds go to a temporary name first and are renamed into place, so a killed build never leaves a
half-written binary that a later run would trust, and a flock keeps two runs from building twice.

This module imports only the standard library and :mod:`meshcharts.core`, so
``python3 -m meshcharts.sandbox.build`` works before the rest of meshcharts' dependencies exist
(``.ci/install-helm`` runs it that way).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from meshcharts.core.diagnostics import (
    ConfigError,
    Diagnostic,
    InvalidInput,
    MeshchartsError,
)

#: Receives one line of progress at a time (what is being built, how far, how long it took).
Progress = Callable[[str], None]

KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.0"
KWOK_VERSION = "v0.8.0"
GOBUILD_DIR = Path(__file__).resolve().parent / "gobuild"

#: How often a long build says it is still going, in seconds.
TICK_SECONDS = 30.0

GO_MISSING = (
    "Go is needed to build the sandbox's Kubernetes, kwok and helm binaries from the Go module proxy: "
    "install Go 1.21 or newer (apt-get install golang-go, or https://go.dev/dl/) and make sure `go` is on PATH"
)


def _version_ldflags(packages: Sequence[str], version: str) -> tuple[str, ...]:
    """``-X`` flags stamping a Kubernetes version into the ``version`` packages that report it.

    Unstamped, the binaries call themselves v0.0.0-master and charts with ``kubeVersion:`` refuse to
    install on them.
    """
    major, minor = version.lstrip("v").split(".")[:2]
    flags: list[str] = []
    for package in packages:
        flags += [f"-X {package}.gitVersion={version}", f"-X {package}.gitMajor={major}", f"-X {package}.gitMinor={minor}"]
    return tuple(flags)


@dataclass(frozen=True)
class GoBinary:
    """One binary to build: its file name, the Go package, and how to check the result.

    ``version`` None builds ``package`` inside :data:`GOBUILD_DIR` (its go.mod pins the versions);
    otherwise ``go install package@version`` builds it in its own module graph.
    """

    name: str
    package: str
    version: str | None
    ldflags: tuple[str, ...]
    check_args: tuple[str, ...]
    expect: str

    def recipe(self) -> str:
        """Everything that decides the bytes built, for the cache key."""
        return "\n".join((self.name, self.package, self.version or "gobuild", *self.ldflags, *self.check_args))


_K8S_LDFLAGS = _version_ldflags(("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"), KUBERNETES_VERSION)


def _kube(name: str, package: str) -> GoBinary:
    return GoBinary(name, package, None, _K8S_LDFLAGS, ("--version",), KUBERNETES_VERSION)


#: The control plane and kwok, in build order: the longest first, so progress is honest about the wait.
SANDBOX_BINARIES: tuple[GoBinary, ...] = (
    _kube("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"),
    _kube("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager"),
    _kube("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler"),
    GoBinary("kubectl", "k8s.io/kubernetes/cmd/kubectl", None, _K8S_LDFLAGS, ("version", "--client"), KUBERNETES_VERSION),
    GoBinary("etcd", "go.etcd.io/etcd/server/v3", None, (), ("--version",), ETCD_VERSION.lstrip("v")),
    GoBinary("kwok", "sigs.k8s.io/kwok/cmd/kwok", KWOK_VERSION, (), ("--version",), KWOK_VERSION.lstrip("v")),
    GoBinary("kwokctl", "sigs.k8s.io/kwok/cmd/kwokctl", KWOK_VERSION, (), ("--version",), KWOK_VERSION.lstrip("v")),
)


def _helm3(version: str) -> GoBinary:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    ldflags = [f"-X helm.sh/helm/v3/internal/version.version=v{version}"]
    # Without these, helm 3 templates against Kubernetes 1.20 (its compiled-in default).
    for package in ("helm.sh/helm/v3/pkg/lint/rules", "helm.sh/helm/v3/pkg/chartutil"):
        ldflags += [f"-X {package}.k8sVersionMajor={major}", f"-X {package}.k8sVersionMinor={minor}"]
    return GoBinary("helm", "helm.sh/helm/v3/cmd/helm", f"v{version}", tuple(ldflags), ("version", "--template", "{{.Version}}"), f"v{version}")


def _helm4(version: str) -> GoBinary:
    # helm 4 reads its Kubernetes version from client-go's module version in the build info, so only
    # its own version needs stamping (unstamped it says "v4.3", which pyhelm3 rejects as not semver).
    ldflags = (f"-X helm.sh/helm/v4/internal/version.version=v{version}",)
    return GoBinary("helm", "helm.sh/helm/v4/cmd/helm", f"v{version}", ldflags, ("version", "--template", "{{.Version}}"), f"v{version}")


#: helm versions built from source (3.10.1 comes ready-made from npm, see .ci/install-helm).
HELM_BUILDS: dict[str, GoBinary] = {"3.22.0": _helm3("3.22.0"), "4.3.1": _helm4("4.3.1")}


def cache_root() -> Path:
    """``$MESHCHARTS_CACHE``, else ``$XDG_CACHE_HOME/meshcharts``, else ``~/.cache/meshcharts`` (as install-helm)."""
    explicit = os.environ.get("MESHCHARTS_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path(os.environ.get("HOME") or "/tmp") / ".cache"
    return base / "meshcharts"


def sandbox_key() -> str:
    """The versions-key directory name: readable versions plus a digest of everything else that matters.

    The digest covers gobuild's go.mod and go.sum and every binary's recipe, so a changed pin or flag
    builds into a new directory instead of trusting binaries built from something else.
    """
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        digest.update((GOBUILD_DIR / name).read_bytes())
    for binary in SANDBOX_BINARIES:
        digest.update(binary.recipe().encode())
    return f"k8s-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}_kwok-{KWOK_VERSION}_{digest.hexdigest()[:12]}"


def sandbox_bin_dir() -> Path:
    """Where the control plane and kwok binaries live (built or not)."""
    return cache_root() / "sandbox" / sandbox_key() / "bin"


def helm_bin_dir(version: str) -> Path:
    """Where helm ``version`` lives, the same place .ci/install-helm keeps the npm-installed 3.10.1."""
    return cache_root() / "helm" / version


def stderr_progress(line: str) -> None:
    """The default :data:`Progress`: one line on stderr, flushed (CI logs show it as it happens)."""
    print(line, file=sys.stderr, flush=True)


def elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def is_built(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_go() -> Path:
    """The ``go`` binary on PATH, or a :class:`ConfigError` saying in one line what to install."""
    go = shutil.which("go")
    if go is None:
        raise ConfigError(Diagnostic(message=GO_MISSING, rule="sandbox.go-missing"))
    return Path(go)


def go_available() -> bool:
    """Whether the binaries could be built here (tests skip the live suite on this, and only on this)."""
    return shutil.which("go") is not None


@contextmanager
def locked(lock_file: Path, progress: Progress, waiting: str) -> Iterator[None]:
    """Hold ``lock_file`` exclusively (flock); when another process holds it, say ``waiting`` and wait."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(waiting)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _go_command(go: Path, binary: GoBinary, output: Path) -> tuple[list[str], Path, dict[str, str]]:
    """argv, working directory and environment that build ``binary`` into ``output``."""
    env = dict(os.environ)
    # Static binaries with no C toolchain needed; no go.work from a parent directory steering the build.
    env.update({"CGO_ENABLED": "0", "GOWORK": "off"})
    flags = ["-trimpath", "-buildvcs=false", "-ldflags", " ".join(("-s", "-w", *binary.ldflags))]
    if binary.version is None:
        return [str(go), "build", "-mod=readonly", *flags, "-o", str(output), binary.package], GOBUILD_DIR, env
    # `go build pkg@version` does not exist; go install does, into GOBIN.
    env["GOBIN"] = str(output.parent)
    return [str(go), "install", *flags, f"{binary.package}@{binary.version}"], output.parent, env


def run_go(argv: list[str], cwd: Path, env: dict[str, str], log: Path, label: str, progress: Progress) -> None:
    """Run one go command, its output to ``log``; tick every :data:`TICK_SECONDS`; fail with the log's tail."""
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            while True:
                try:
                    process.wait(timeout=TICK_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    progress(f"      {label}: still building, {elapsed(time.monotonic() - started)}")
        except BaseException:
            process.kill()
            process.wait()
            raise
    if process.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        raise InvalidInput(
            Diagnostic(
                message=f"building {label} failed (go exited {process.returncode}): " + " | ".join(tail),
                rule="sandbox.build-failed",
                hint=f"full output in {log}",
            )
        )


def _check(path: Path, binary: GoBinary) -> None:
    """The built binary runs and reports the version we stamped, or the build is not trusted."""
    try:
        result = subprocess.run([str(path), *binary.check_args], capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise InvalidInput(Diagnostic(message=f"{path} does not run: {exc}", rule="sandbox.build-failed")) from exc
    if binary.expect not in result.stdout + result.stderr:
        raise InvalidInput(
            Diagnostic(
                message=f"{path} reports {(result.stdout or result.stderr).strip()[:120]!r}, expected {binary.expect}",
                rule="sandbox.build-failed",
            )
        )


def _build_one(go: Path, binary: GoBinary, destination: Path, label: str, progress: Progress) -> None:
    """Build into a private temporary directory beside ``destination``, check it, rename it into place."""
    with tempfile.TemporaryDirectory(prefix=f".build-{binary.name}.", dir=destination.parent) as work:
        work_dir = Path(work)
        output = work_dir / binary.name
        argv, cwd, env = _go_command(go, binary, output)
        log = destination.parent / f".{binary.name}.build.log"
        run_go(argv, cwd, env, log, label, progress)
        _check(output, binary)
        os.replace(output, destination)
        log.unlink()  # kept only when the build failed, for the diagnostic's hint


def _ensure(targets: Sequence[tuple[GoBinary, Path]], what: str, progress: Progress) -> None:
    """Build whichever of ``targets`` (binary, destination path) is missing, with numbered progress lines."""
    missing = [(binary, path) for binary, path in targets if not is_built(path)]
    if not missing:
        return
    go = find_go()
    lock_dir = missing[0][1].parent
    # Not ``.lock``: .ci/install-helm holds that one on the same directory while it calls us.
    with locked(lock_dir / ".build.lock", progress, f"waiting for another build in {lock_dir} to finish"):
        # Another run may have built them while we waited for the lock.
        missing = [(binary, path) for binary, path in targets if not is_built(path)]
        total_started = time.monotonic()
        total = len(targets)
        done = total - len(missing)
        if missing:
            progress(f"building {what}: {len(missing)} of {total} binaries to build into {lock_dir} (a cold build takes a while; cached afterwards)")
        for binary, path in missing:
            done += 1
            source = f"{binary.package}@{binary.version}" if binary.version else f"{binary.package} (gobuild)"
            progress(f"[{done}/{total}] building {binary.name} from {source}")
            started = time.monotonic()
            _build_one(go, binary, path, binary.name, progress)
            progress(f"[{done}/{total}] {binary.name} built in {elapsed(time.monotonic() - started)}")
        if missing:
            progress(f"{what} ready in {elapsed(time.monotonic() - total_started)}: {lock_dir}")


@dataclass(frozen=True)
class SandboxBinaries:
    """Paths of the built control plane, kubectl and kwok binaries (all present once returned)."""

    bin_dir: Path

    def path(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def kwokctl(self) -> Path:
        return self.path("kwokctl")


def ensure_sandbox_binaries(progress: Progress = stderr_progress) -> SandboxBinaries:
    """Build (once per machine) and return the sandbox's binaries; raises a :class:`MeshchartsError`."""
    bin_dir = sandbox_bin_dir()
    _ensure([(binary, bin_dir / binary.name) for binary in SANDBOX_BINARIES], "sandbox binaries", progress)
    return SandboxBinaries(bin_dir)


def ensure_helm(version: str, progress: Progress = stderr_progress) -> Path:
    """Build (once per machine) helm ``version`` (one of :data:`HELM_BUILDS`) and return its path."""
    binary = HELM_BUILDS.get(version.lstrip("v"))
    if binary is None:
        raise ConfigError(
            Diagnostic(
                message=f"helm {version} is not built here; known: {', '.join(sorted(HELM_BUILDS))} (3.10.1 comes from npm)",
                rule="sandbox.helm-version",
            )
        )
    path = helm_bin_dir(version.lstrip("v")) / "helm"
    _ensure([(binary, path)], f"helm {version}", progress)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m meshcharts.sandbox.build [sandbox | helm VERSION]``: build, print the path on stdout."""
    parser = argparse.ArgumentParser(prog="python -m meshcharts.sandbox.build", description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", default="sandbox", choices=("sandbox", "helm"))
    parser.add_argument("version", nargs="?", help="helm version, e.g. 3.22.0")
    args = parser.parse_args(argv)
    if args.what == "helm" and not args.version:
        parser.error("helm needs a VERSION")
    return run_build(lambda: [ensure_helm(args.version) if args.what == "helm" else ensure_sandbox_binaries().bin_dir])


def run_build(build: Callable[[], Sequence[object]]) -> int:
    """A build entry point's run: what ``build`` made printed on stdout one per line, exit 0; a
    MeshchartsError as ``meshcharts sandbox: ...`` lines on stderr, exit 1; Ctrl-C, exit 130."""
    try:
        made = build()
    except MeshchartsError as exc:
        for diagnostic in exc.diagnostics:
            print(f"meshcharts sandbox: {diagnostic.message}" + (f" ({diagnostic.hint})" if diagnostic.hint else ""), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("meshcharts sandbox: build interrupted", file=sys.stderr)
        return 130
    for item in made:
        print(item)
    return 0


if __name__ == "__main__":
    sys.exit(main())
