"""``meshcharts export``: the releases ``apply`` would install, as a GitOps engine's own objects.

A fleet of fifty clusters is not pushed to from a laptop: a GitOps engine in (or beside) each cluster
pulls from a repository. This stage turns the one model of a cluster's releases
(:mod:`meshcharts.deploy.releases`: order, chart coordinates, composed values, secret paths) into
Flux HelmReleases, Argo CD Applications or Rancher Fleet bundles, one file per object, byte-identical
on re-run. ``!env`` secrets are never written: each becomes a reference the engine resolves from a
Kubernetes Secret the user creates (the export lists them).

Modules: :mod:`~meshcharts.gitops.model` (the engine-neutral view of each release),
:mod:`~meshcharts.gitops.secrets` (secret references), :mod:`~meshcharts.gitops.charts_repo` (the
packaged generated and local charts), one module per engine, :mod:`~meshcharts.gitops.writer`
(the output folder) and :mod:`~meshcharts.gitops.export` (the whole run, recorded in the ledger).
"""
