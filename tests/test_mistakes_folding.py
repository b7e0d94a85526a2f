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
    assert format_diagnostic(folded[0]) == "values/kiali.yaml:3:5: east, west/kiali: x.url: nothing in each cluster provides prometheus"


def test_a_removed_api_on_every_cluster_says_what_each_runs(stack_dir: StackDir) -> None:
    """Folded text is true for every cluster it names: no placeholder, no single cluster's name."""
    stack_dir.write(
        "meshcharts.yaml",
        'name: demo\nclusters:\n  east: {kubernetes: "1.32"}\n  west: {kubernetes: "1.32"}\n'
        "components:\n  tracing: {type: rancher-tracing, version: 100.0.0, namespace: istio-system}\n",
    )
    stack_dir.write("values/tracing.yaml", "global:\n  rbac:\n    pspEnabled: true\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("values/tracing.yaml:3:17: east, west/tracing: global.rbac.pspEnabled: true here makes rancher-tracing")
    assert "which Kubernetes 1.25 removed (each cluster runs 1.32)" in lines[0]
    assert "<cluster>" not in result.output


def test_clusters_that_run_different_versions_keep_their_own_findings(stack_dir: StackDir) -> None:
    stack_dir.write(
        "meshcharts.yaml",
        'name: demo\nclusters:\n  east: {kubernetes: "1.30"}\n  west: {kubernetes: "1.32"}\n'
        "components:\n  tracing: {type: rancher-tracing, version: 100.0.0, namespace: istio-system}\n",
    )
    stack_dir.write("values/tracing.yaml", "global:\n  rbac:\n    pspEnabled: true\n")
    lines = [line for line in stack_dir.cli("validate").stderr.splitlines() if line]
    assert [line.split(": ")[1] for line in lines] == ["east/tracing", "west/tracing"]
    assert "(cluster east runs 1.30)" in lines[0] and "(cluster west runs 1.32)" in lines[1]


def test_a_cluster_name_outside_the_phrase_does_not_fold() -> None:
    """A message naming its cluster other than as "cluster NAME" would be wrong for the others folded: it stays per cluster."""
    here = Location("values/kiali.yaml", 3, 5)
    findings = [Diagnostic(f"the {name} Grafana loads ConfigMaps only", "wiring.x", here, name, "kiali", "x.url") for name in ("east", "west")]
    assert fold_clusters(findings) == findings


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
