#!/usr/bin/env python3
"""Benchmark: plan and apply as a user runs them (whole processes), on a real two-cluster sandbox.

On a copy of the bundled example stack, the stand-in charts as the offline chart source, each case is
one ``meshcharts`` process, timed from start to exit (imports included), run --runs times; medians
and ratios are printed, nothing is asserted:

* first apply: both clusters, from nothing (every release uninstalled before each run);
* unchanged apply right after the first (the clusters still busy with what it started), then, after
  ``--settle`` seconds, unchanged apply and unchanged plan, each against the first apply; goal: at
  least 10x faster, with the drift check included (both compare every live object);
* drift: the same;
* plan of a changed value against the same releases diffed by hand, as a helmfile user would:
  per cluster in parallel, per release ``helm template ... | kubectl diff --server-side -f -``.

    .venv/bin/python benchmarks/plan_speed.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from apply_speed import Bench as ApplyBench  # benchmarks/ is on sys.path when this script runs
from meshcharts.deploy.sources import cache_dir
from meshcharts.sandbox.build import sandbox_bin_dir

REPO = Path(__file__).resolve().parent.parent
MESHCHARTS = [sys.executable, "-m", "meshcharts"]


class Bench(ApplyBench):
    """apply_speed's sandbox and stack copy, driven as whole ``meshcharts`` processes."""

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        os.environ["KUBECONFIG"] = self.kubeconfig
        self.stack_model = self.project.stack
        self.kubectl = str(sandbox_bin_dir() / "kubectl")

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> float:
        started = time.perf_counter()
        done = subprocess.run([*MESHCHARTS, *args], cwd=self.stack, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode not in ok:
            raise SystemExit(f"meshcharts {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return seconds

    def by_hand(self) -> float:
        """helm template | kubectl diff --server-side for every release, clusters in parallel."""
        subprocess.run([*MESHCHARTS, "render"], cwd=self.stack, check=True, stdout=subprocess.DEVNULL)

        def cluster(name: str) -> None:
            context = self.stack_model.clusters[name].context
            index = yaml.safe_load((self.stack / "charts-out" / name / "releases.yaml").read_text())
            lock = {entry["chart"]: entry for entry in yaml.safe_load((self.stack / "meshcharts.lock").read_text())["charts"]}
            for release in index["releases"]:
                folder = self.stack / "charts-out" / name
                chart = folder / release["chart"] if (folder / str(release["chart"])).exists() else cache_dir() / f"{lock[release['chart']]['digest'].removeprefix('sha256:')}.tgz"
                with open(folder / release["values"], "rb") as values:
                    rendered = subprocess.run(
                        [self.helm, "template", release["release"], str(chart), "-n", release["namespace"], "--values", "-",
                         "--kubeconfig", self.kubeconfig, "--kube-context", context],
                        stdin=values, check=True, capture_output=True,
                    )
                subprocess.run(
                    [self.kubectl, "diff", "--server-side", "--force-conflicts", "-n", release["namespace"], "-f", "-", "--context", context],
                    input=rendered.stdout, check=False, capture_output=True,
                )

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(self.stack_model.clusters)) as pool:
            list(pool.map(cluster, self.stack_model.clusters))
        return time.perf_counter() - started


def report(name: str, ours: list[float], reference: list[float], goal: str) -> None:
    """Medians and their ratio, then each side's runs (the machine is shared: the spread says how much)."""
    a, b = statistics.median(ours), statistics.median(reference)
    runs = " ".join(f"{value:.2f}" for value in ours)
    print(f"{name:<48} {a:6.2f} s vs {b:6.2f} s   {b / a:5.1f}x faster   goal {goal}   (runs: {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds the clusters get after the first apply before the unchanged runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="meshcharts-bench-") as scratch:
        bench = Bench(Path(scratch))
        try:
            first, right_after, reapply, plan, drift, changed, hand = [], [], [], [], [], [], []
            layer = bench.stack / "values" / "clusters" / "east" / "tracing.yaml"
            for _ in range(args.runs):
                bench.uninstall()
                first.append(bench.run("apply", "--yes"))
                right_after.append(bench.run("apply", "--yes"))
                time.sleep(args.settle)  # the clusters finish what the first apply started (pods, endpoints, GC)
                reapply.append(bench.run("apply", "--yes"))
                plan.append(bench.run("plan"))
                drift.append(bench.run("drift"))
                layer.write_text("jaeger:\n  spanStorageType: memory\n", encoding="utf-8")
                changed.append(bench.run("plan"))
                hand.append(bench.by_hand())
                layer.unlink()
            print(f"helm {bench.helm}; {args.runs} runs, medians; whole processes")
            report("unchanged apply right after the first", right_after, first, ">= 10x")
            report("unchanged apply vs first apply", reapply, first, ">= 10x")
            report("unchanged plan vs first apply", plan, first, ">= 10x")
            report("drift vs first apply", drift, first, ">= 10x")
            report("plan of one change vs helm template | kubectl diff", changed, hand, ">= 1x")
        finally:
            bench.sandbox.down()


if __name__ == "__main__":
    main()
