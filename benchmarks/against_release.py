#!/usr/bin/env python3
"""Benchmark: this checkout against a release of meshcharts, in one run, on the same machine.

The release is taken from git (``git archive REF meshcharts``) into a temporary folder; each case runs
``python -m meshcharts ...`` as a whole process, as pre-commit and CI run it, with ``PYTHONPATH`` set to
the release or to this checkout (same interpreter, same dependencies), alternately, so a busy machine
slows both alike. Medians of wall time and of CPU time (user + system of the child); the ratio is
release / this checkout. Both must give the same exit code and the same summary line.

Cases:

* ``validate-1`` / ``validate-20``: one and twenty clusters' copies of the 6,000-line
  kube-prometheus-stack 88.5.3 values file (the pre-commit path: ``validate FILES``);
* ``keys-100k``: one values file with 100,000 keys (``validate``, then ``render``);
* ``render-1000``: the bundled example's components on 1,000 clusters (``render --out``).

This prints numbers; it asserts nothing (the scaling tests in tests/test_speed.py count work instead).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_VALUES = REPO.parent / "shared" / "reference" / "charts" / "kube-prometheus-stack" / "88.5.3" / "values.yaml"
DEFAULT_BASELINE = "a538e41"  # the package as released before the speed work (v0.1.0 plus the regrouping)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], list[str]]  # builds the stack in a folder; returns the meshcharts arguments
    expect: int = 0  # exit code both must give


@dataclass
class Sample:
    wall: list[float]
    cpu: list[float]


def extract_release(ref: str, target: Path) -> Path:
    """The release's ``meshcharts`` package, from git, into ``target`` (importable via PYTHONPATH)."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref, "meshcharts"], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(target, **safe)  # type: ignore[arg-type]
    return target


def stack_file(root: Path, clusters: list[str], components: str) -> None:
    lines = ["name: bench", "clusters:"] + [f"  {name}: {{}}" for name in clusters]
    (root / "meshcharts.yaml").write_text("\n".join(lines) + "\ncomponents:\n" + components)


def kps_files(values: Path, count: int) -> Callable[[Path], list[str]]:
    def make(root: Path) -> list[str]:
        names = [f"c{index}" for index in range(count)]
        stack_file(root, names, "  monitoring: {type: kube-prometheus-stack, version: 88.5.3, namespace: monitoring}\n")
        files = []
        for name in names:
            path = root / "values" / "clusters" / name / "monitoring.yaml"
            path.parent.mkdir(parents=True)
            shutil.copy(values, path)
            files.append(str(path.relative_to(root)))
        return ["validate", *files]

    return make


def many_keys(keys: int, command: str) -> Callable[[Path], list[str]]:
    def make(root: Path) -> list[str]:
        stack_file(root, ["c0"], "  monitoring: {type: kube-prometheus-stack, version: 88.5.3, namespace: monitoring}\n")
        (root / "values").mkdir()
        body = "".join(f"  k{index}: v{index}\n" for index in range(keys))
        (root / "values" / "monitoring.yaml").write_text("commonLabels:\n" + body)
        return [command] if command == "validate" else [command, "--out", "out"]

    return make


def example_on_clusters(count: int) -> Callable[[Path], list[str]]:
    """The bundled example (Kiali, Jaeger, mesh-extras with rancher-monitoring) with its two clusters cloned."""

    def make(root: Path) -> list[str]:
        text = (REPO / "meshcharts.yaml").read_text(encoding="utf-8")
        components = text[text.index("\ncomponents:") :]
        clusters = "".join(
            f"  c{index}: {{env: prod, vars: {{clusterId: c-{index}, registry: mtr.example.com, storageClass: sata}}, crds: [ui.cattle.io]}}\n"
            for index in range(count)
        )
        (root / "meshcharts.yaml").write_text("name: bench\nclusters:\n" + clusters + components.lstrip("\n"))
        shutil.copytree(REPO / "values", root / "values", ignore=shutil.ignore_patterns("clusters"))
        return ["render", "--out", "out"]

    return make


def environment_for(package_root: Path, bytecode: Path | None) -> dict[str, str]:
    """The child's environment: the package on PYTHONPATH; compiled bytecode kept in ``bytecode`` (as an
    installed wheel has it), or none at all (every run compiles the package, as with
    PYTHONDONTWRITEBYTECODE=1 on an editable install)."""
    environment = {**os.environ, "PYTHONPATH": str(package_root)}
    environment.pop("MESHCHARTS_DEBUG", None)
    if bytecode is None:
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        environment["PYTHONPYCACHEPREFIX"] = str(bytecode)  # outside both source trees
    return environment


def run_once(python: str, environment: dict[str, str], arguments: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, exit code, summary line) of one process."""
    shutil.rmtree(cwd / "out", ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.run([python, "-m", "meshcharts", *arguments], cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = process.stdout.strip().splitlines()
    summary = lines[-1] if lines and arguments[0] == "validate" else ""
    return wall, cpu, process.returncode, summary


def measure(case: Case, environments: dict[str, dict[str, str]], runs: int) -> dict[str, Sample]:
    samples = {label: Sample([], []) for label in environments}
    with tempfile.TemporaryDirectory(prefix=f"meshcharts-bench-{case.name}-") as folder:
        stack = Path(folder)
        arguments = case.make(stack)
        for environment in environments.values():  # a first, untimed run writes the bytecode
            run_once(sys.executable, environment, arguments, stack)
        seen: dict[str, tuple[int, str]] = {}
        for _ in range(runs):
            for label, environment in environments.items():  # alternate, so load on the machine hits both
                wall, cpu, code, summary = run_once(sys.executable, environment, arguments, stack)
                if code != case.expect:
                    raise SystemExit(f"{case.name}: {label} exited {code}, expected {case.expect}")
                seen.setdefault(label, (code, summary))
                samples[label].wall.append(wall)
                samples[label].cpu.append(cpu)
        if len(set(seen.values())) != 1:
            raise SystemExit(f"{case.name}: the two gave different results: {seen}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help=f"git ref of the release to compare with (default {DEFAULT_BASELINE})")
    parser.add_argument("--values", type=Path, default=DEFAULT_VALUES, help="a large kube-prometheus-stack 88.x values file")
    parser.add_argument("--runs", type=int, default=5, help="runs of each side per case (default 5)")
    parser.add_argument("--cases", default="validate-1,validate-20,keys-100k,render-keys-100k,render-1000", help="comma-separated subset")
    parser.add_argument("--no-bytecode", action="store_true", help="compile the package on every run (PYTHONDONTWRITEBYTECODE=1)")
    args = parser.parse_args()
    if not args.values.is_file():
        raise SystemExit(f"no values file at {args.values}; pass --values")
    cases = {
        "validate-1": Case("validate-1", kps_files(args.values, 1)),
        "validate-20": Case("validate-20", kps_files(args.values, 20)),
        "keys-100k": Case("keys-100k", many_keys(100_000, "validate")),
        "render-keys-100k": Case("render-keys-100k", many_keys(100_000, "render")),
        "render-1000": Case("render-1000", example_on_clusters(1000)),
    }
    chosen = [cases[name] for name in args.cases.split(",")]
    with tempfile.TemporaryDirectory(prefix="meshcharts-release-") as folder:
        release = extract_release(args.baseline, Path(folder) / "release")
        bytecode = None if args.no_bytecode else Path(folder) / "bytecode"
        environments = {"release": environment_for(release, bytecode), "this": environment_for(REPO, bytecode)}
        kept = "without bytecode (compiled on every run)" if bytecode is None else "with bytecode"
        print(f"release {args.baseline} against this checkout, {kept}; {args.runs} runs each, alternating; medians")
        print(f"{'case':<18} {'release wall':>12} {'this wall':>10} {'ratio':>6}   {'release cpu':>11} {'this cpu':>9} {'ratio':>6}")
        for case in chosen:
            samples = measure(case, environments, args.runs)
            old, new = samples["release"], samples["this"]
            wall_old, wall_new = statistics.median(old.wall), statistics.median(new.wall)
            cpu_old, cpu_new = statistics.median(old.cpu), statistics.median(new.cpu)
            print(
                f"{case.name:<18} {wall_old:11.3f}s {wall_new:9.3f}s {wall_old / wall_new:5.1f}x   "
                f"{cpu_old:10.3f}s {cpu_new:8.3f}s {cpu_old / cpu_new:5.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
