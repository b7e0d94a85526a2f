"""Build Flux's source-controller and helm-controller from the Go module proxy, with their CRDs.

``sandbox up --gitops flux`` runs the real controllers, so they are built here like the rest of the
sandbox (nothing ready-made is downloaded: this machine and CI reach package registries only). Each
controller is the main package at the root of its module, but ``go install module@version`` refuses
a module whose go.mod has ``replace`` lines, and the two controllers' dependency versions conflict,
so each is built in a wrapper module of its own:

* the controller's go.mod ``require`` lines, copied, plus a require of the controller module itself;
* its upstream go.sum, plus the controller module's own two sums (from ``go mod download -json``);
* the controller's ``replace`` lines except the ones to a local folder (``./api``: the API module is
  published on the proxy at the same version), and for source-controller v1.9.6
  ``github.com/fluxcd/pkg/artifact => v0.18.1`` (the proxy refuses the zip of the version it names);
* ``go build -mod=mod`` (go may add a sum the upstream go.sum lacks; it checks it against the
  checksum database through the proxy).

The proxy serves exact versions only (its version lists are refused), which is all this needs. A cold
build of each takes 2-3 minutes on 2 cores; the results live beside the sandbox's binaries,
``<cache>/flux/<controller>-<version>_<digest>/`` holding the binary and ``crds/`` (the module zip's
``config/crd/bases/``), built into a temporary folder and renamed into place, so a killed build
leaves nothing a later run would trust. Standard library only, like :mod:`meshcharts.sandbox.build`
(``python3 -m meshcharts.sandbox.fluxbuild`` runs before the virtualenv exists).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, InvalidInput
from meshcharts.sandbox.build import (
    Progress,
    cache_root,
    elapsed,
    find_go,
    is_built,
    locked,
    run_build,
    run_go,
    stderr_progress,
)


@dataclass(frozen=True)
class FluxController:
    """One controller to build: its module and version, the replaces it needs beyond upstream's,
    and a flag its ``--help`` must list (the check that the binary is the controller we expect)."""

    name: str
    module: str
    version: str
    extra_replaces: tuple[tuple[str, str], ...]
    expect_flag: str

    def recipe(self) -> str:
        """Everything that decides the bytes built, for the cache key."""
        replaces = (f"{old}=>{new}" for old, new in self.extra_replaces)
        return "\n".join((self.name, self.module, self.version, *replaces, *BUILD_FLAGS, self.expect_flag))


BUILD_FLAGS = ("-mod=mod", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w")

SOURCE_CONTROLLER = FluxController(
    "source-controller",
    "github.com/fluxcd/source-controller",
    "v1.9.6",
    (("github.com/fluxcd/pkg/artifact", "v0.18.1"),),
    "--storage-adv-addr",
)
HELM_CONTROLLER = FluxController("helm-controller", "github.com/fluxcd/helm-controller", "v1.6.4", (), "--watch-all-namespaces")

#: In build order: source-controller first, the longer of the two.
FLUX_CONTROLLERS: tuple[FluxController, ...] = (SOURCE_CONTROLLER, HELM_CONTROLLER)

#: Where the CRDs sit in both controllers' module zips.
CRD_FOLDER = "config/crd/bases"


def controller_dir(controller: FluxController) -> Path:
    """The cache folder of one controller build: readable name and version, digest of the recipe."""
    digest = hashlib.sha256(controller.recipe().encode()).hexdigest()[:12]
    return cache_root() / "flux" / f"{controller.name}-{controller.version}_{digest}"


@dataclass(frozen=True)
class FluxBuild:
    """The built controllers: binary path and CRD files per controller name (all present)."""

    binaries: dict[str, Path]
    crd_files: tuple[Path, ...]


def _built(controller: FluxController) -> bool:
    folder = controller_dir(controller)
    return is_built(folder / controller.name) and any((folder / "crds").glob("*.yaml"))


def _go_json(go: Path, args: Sequence[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run a go command that prints one JSON object; a failure is one line with go's own words."""
    result = subprocess.run(
        [str(go), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False, stdin=subprocess.DEVNULL
    )
    try:
        document = json.loads(result.stdout) if result.stdout.strip() else {}
    except ValueError:
        document = {}
    error = document.get("Error") if isinstance(document, dict) else None
    if result.returncode != 0 or error or not isinstance(document, dict):
        reason = error or " | ".join((result.stderr or result.stdout).strip().splitlines()[-4:])
        raise InvalidInput(Diagnostic(message=f"go {' '.join(args)} failed: {reason}", rule="sandbox.build-failed"))
    return document


def wrapper_go_mod(controller: FluxController, upstream: dict[str, Any]) -> str:
    """The wrapper module's go.mod from the controller's (``go mod edit -json`` of it)."""
    lines = [f"module meshcharts.local/flux/{controller.name}", "", f"go {upstream['Go']}", ""]
    lines += ["require (", f"\t{controller.module} {controller.version}"]
    lines += [f"\t{item['Path']} {item['Version']}" for item in upstream.get("Require") or []]
    lines += [")", "", "replace ("]
    extra = dict(controller.extra_replaces)
    for item in upstream.get("Replace") or []:
        old, new = item["Old"], item["New"]
        if not new.get("Version") or old["Path"] in extra:
            continue  # a local folder (./api); or one we replace ourselves
        left = f"{old['Path']} {old['Version']}" if old.get("Version") else old["Path"]
        lines.append(f"\t{left} => {new['Path']} {new['Version']}")
    lines += [f"\t{path} => {path} {version}" for path, version in controller.extra_replaces]
    lines += [")", ""]
    return "\n".join(lines)


def _check(binary: Path, controller: FluxController) -> None:
    """The built binary runs and lists the flag we rely on, or the build is not trusted."""
    try:
        result = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise InvalidInput(Diagnostic(message=f"{binary} does not run: {exc}", rule="sandbox.build-failed")) from exc
    if controller.expect_flag not in result.stdout + result.stderr:
        raise InvalidInput(
            Diagnostic(message=f"{binary} --help does not list {controller.expect_flag}: not the {controller.name} expected", rule="sandbox.build-failed")
        )


def _build_one(go: Path, controller: FluxController, progress: Progress) -> None:
    """Build one controller and copy its CRDs into a temporary folder, then rename it into place."""
    destination = controller_dir(controller)
    destination.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({"CGO_ENABLED": "0", "GOWORK": "off", "GOFLAGS": ""})
    with tempfile.TemporaryDirectory(prefix=f".build-{controller.name}.", dir=destination.parent) as work:
        work_dir = Path(work)
        module_dir = work_dir / "module"
        result_dir = work_dir / "result"
        module_dir.mkdir()
        (result_dir / "crds").mkdir(parents=True)
        downloaded = _go_json(go, ["mod", "download", "-json", f"{controller.module}@{controller.version}"], module_dir, env)
        source = Path(downloaded["Dir"])
        upstream = _go_json(go, ["mod", "edit", "-json", str(source / "go.mod")], module_dir, env)
        (module_dir / "go.mod").write_text(wrapper_go_mod(controller, upstream), encoding="utf-8")
        sums = (source / "go.sum").read_text(encoding="utf-8")
        own = f"{controller.module} {controller.version} {downloaded['Sum']}\n{controller.module} {controller.version}/go.mod {downloaded['GoModSum']}\n"
        (module_dir / "go.sum").write_text(own + sums, encoding="utf-8")
        binary = result_dir / controller.name
        log = destination.parent / f".{controller.name}.build.log"
        run_go([str(go), "build", *BUILD_FLAGS, "-o", str(binary), controller.module], module_dir, env, log, controller.name, progress)
        _check(binary, controller)
        crds = sorted((source / CRD_FOLDER).glob("*.yaml"))
        if not crds:
            raise InvalidInput(Diagnostic(message=f"{controller.module}@{controller.version} has no CRDs in {CRD_FOLDER}", rule="sandbox.build-failed"))
        for crd in crds:
            shutil.copyfile(crd, result_dir / "crds" / crd.name)
        shutil.rmtree(destination, ignore_errors=True)  # an incomplete folder a crash left behind
        os.replace(result_dir, destination)
        log.unlink(missing_ok=True)  # kept only when the build failed, for the diagnostic's hint


def ensure_flux(progress: Progress = stderr_progress) -> FluxBuild:
    """Build (once per machine and version) both controllers; their binaries and CRD files."""
    missing = [controller for controller in FLUX_CONTROLLERS if not _built(controller)]
    if missing:
        go = find_go()
        lock_dir = cache_root() / "flux"
        with locked(lock_dir / ".build.lock", progress, f"waiting for another build in {lock_dir} to finish"):
            missing = [controller for controller in FLUX_CONTROLLERS if not _built(controller)]
            total = len(FLUX_CONTROLLERS)
            done = total - len(missing)
            started_all = time.monotonic()
            if missing:
                progress(f"building Flux controllers: {len(missing)} of {total} to build into {lock_dir} (cold: 2-3 minutes each on 2 idle cores, longer on a busy machine; cached afterwards)")
            for controller in missing:
                done += 1
                progress(f"[{done}/{total}] building {controller.name} from {controller.module}@{controller.version}")
                started = time.monotonic()
                _build_one(go, controller, progress)
                progress(f"[{done}/{total}] {controller.name} built in {elapsed(time.monotonic() - started)}")
            if missing:
                progress(f"Flux controllers ready in {elapsed(time.monotonic() - started_all)}: {lock_dir}")
    binaries = {controller.name: controller_dir(controller) / controller.name for controller in FLUX_CONTROLLERS}
    crds = tuple(path for controller in FLUX_CONTROLLERS for path in sorted((controller_dir(controller) / "crds").glob("*.yaml")))
    return FluxBuild(binaries, crds)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m meshcharts.sandbox.fluxbuild``: build both controllers, print their folders on stdout."""
    if argv:
        print("usage: python -m meshcharts.sandbox.fluxbuild (no arguments)", file=sys.stderr)
        return 2
    return run_build(lambda: [path.parent for path in ensure_flux().binaries.values()])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
