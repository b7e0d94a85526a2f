"""One mistake on a shared layer line is one finding that names the clusters, not one per cluster.

values/kiali.yaml applies to every cluster, so a bad key there used to come back once per cluster:
the same file:line:col, rule, path and message, which reads like several problems and inflates the
error count pre-commit and CI show.
"""

from __future__ import annotations

import json

from meshcharts.checks.validate import fold_clusters
from meshcharts.core.diagnostics import Diagnostic, Location
from meshcharts.core.reporter import format_diagnostic
from tests.conftest import MINIMAL_STACK, StackDir

THREE_CLUSTERS = MINIMAL_STACK.replace("  west:\n", "  north:\n    vars: {clusterId: c-north}\n  west:\n")


def test_a_shared_layer_mistake_is_one_finding_naming_every_cluster(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", THREE_CLUSTERS)
    stack_dir.write("values/kiali.yaml", "deployment:\n  image_pull_polcy: Always\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line]
    assert lines == [
        'values/kiali.yaml:2:3: east, north, west/kiali: deployment.image_pull_polcy: unknown key "image_pull_polcy" (did you mean "image_pull_policy"?)'
    ]
    assert "1 error," in result.stdout


def test_json_keeps_cluster_first_and_lists_the_clusters(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK)
    stack_dir.write("values/kiali.yaml", "deployment:\n  image_pull_polcy: Always\n")
    stack_dir.write("values/clusters/west/kiali.yaml", "auth:\n  strategy: anonymus\n")
    document = json.loads(stack_dir.cli("validate", "-o", "json").output)
    by_path = {error["path"]: error for error in document["errors"]}
    assert len(document["errors"]) == 2
    shared = by_path["deployment.image_pull_polcy"]
    assert (shared["cluster"], shared["clusters"]) == ("east", ["east", "west"])
    assert list(shared)[:4] == ["file", "line", "column", "cluster"]  # DESIGN.md's fields stay, in order
    assert {"file", "line", "column", "cluster", "component", "path", "message", "rule"} <= set(shared)
    single = by_path["auth.strategy"]
    assert (single["cluster"], single["clusters"]) == ("west", ["west"])


def test_findings_that_differ_only_by_the_cluster_name_fold() -> None:
    here = Location("values/kiali.yaml", 3, 5)

    def finding(cluster: str) -> Diagnostic:
        return Diagnostic(f"nothing in cluster {cluster} provides prometheus", "wiring.no-provider", here, cluster, "kiali", "x.url")

    folded = fold_clusters([finding("east"), finding("west")])
    assert len(folded) == 1
    assert folded[0].clusters == ("east", "west")
    assert format_diagnostic(folded[0]) == "values/kiali.yaml:3:5: east, west/kiali: x.url: nothing in cluster <cluster> provides prometheus"


def test_different_lines_rules_or_components_do_not_fold() -> None:
    here = Location("values/kiali.yaml", 3, 5)
    base = Diagnostic("bad", "schema.type", here, "east", "kiali", "a")
    others = [
        Diagnostic("bad", "schema.type", Location("values/kiali.yaml", 4, 5), "west", "kiali", "a"),
        Diagnostic("bad", "schema.enum", here, "west", "kiali", "a"),
        Diagnostic("bad", "schema.type", here, "west", "other", "a"),
        Diagnostic("worse", "schema.type", here, "west", "kiali", "a"),
    ]
    folded = fold_clusters([base, *others])
    assert folded == [base, *others]
    assert all(len(d.clusters) <= 1 for d in folded)
