#!/usr/bin/env python3
"""Benchmark: ``meshcharts export`` of the bundled example on many clusters, as a user runs it.

The bundled example's components (Kiali with its CRD chart, Jaeger, mesh-extras) on N generated
clusters; each run is one whole ``meshcharts export --to ENGINE`` process (imports included), timed
from start to exit, median of --runs. Also the time per cluster, so linear growth shows as a flat
column. Wall and CPU time (user + system of the process): on a shared machine the CPU column is
the steadier one. Nothing is asserted.

    .venv/bin/python benchmarks/export_speed.py --clusters 100,250,500,1000 --engines flux,fleet --runs 3
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_stack(root: Path, count: int) -> None:
    """The example's components on ``count`` clusters c0..c{count-1}, sharing the example's values layers."""
    text = (REPO / "meshcharts.yaml").read_text(encoding="utf-8")
    components = text[text.index("\ncomponents:") :]
    clusters = "".join(
        f"  c{index}: {{env: prod, vars: {{clusterId: c-{index}, registry: mtr.example.com, storageClass: sata}}, crds: [ui.cattle.io]}}\n"
        for index in range(count)
    )
    (root / "meshcharts.yaml").write_text("name: bench\nclusters:\n" + clusters + components.lstrip("\n"), encoding="utf-8")
    shutil.copytree(REPO / "values", root / "values", ignore=shutil.ignore_patterns("clusters"))


def run_once(root: Path, engine: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one export process; CPU (user + system of the child) suffers less from a busy machine."""
    command = [sys.executable, "-m", "meshcharts", "export", "--to", engine, "--charts-url", "http://127.0.0.1:8080",
               "--ledger", str(root / "ledger.sqlite"), "--out", str(root / f"out-{engine}")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, env={**os.environ}, check=False)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"export failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return took, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clusters", default="100,250,500,1000", help="comma-separated cluster counts")
    parser.add_argument("--engines", default="flux,argocd,fleet", help="comma-separated engines")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| clusters | releases | engine | wall (median) | CPU (median) | CPU per cluster |")
    print("|---|---|---|---|---|---|")
    for count in [int(part) for part in args.clusters.split(",")]:
        with tempfile.TemporaryDirectory(prefix="meshcharts-export-bench-") as folder:
            root = Path(folder)
            make_stack(root, count)
            for engine in args.engines.split(","):
                runs = [run_once(root, engine) for _ in range(args.runs)]
                wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
                print(f"| {count} | {count * 4} | {engine} | {wall:.2f} s | {cpu:.2f} s | {cpu / count * 1000:.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
