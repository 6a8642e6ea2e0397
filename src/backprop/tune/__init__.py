"""``backprop tune``: Optuna's search over training recipes, its trials run on Dask.

Modules: :mod:`~backprop.tune.space` (the search space and its TOML file),
:mod:`~backprop.tune.objective` (one trial inside a Dask worker),
:mod:`~backprop.tune.study` (the study in SQLite, served by the scheduler),
:mod:`~backprop.tune.cluster` (the embedded ``LocalCluster`` or a scheduler),
:mod:`~backprop.tune.runner` (ask, submit, tell; the time limit and Ctrl-C),
:mod:`~backprop.tune.results` and :mod:`~backprop.tune.report` (the tune
folder's files), :mod:`~backprop.tune.session` (one ``backprop tune`` run).
Needs the ``tune`` extra: ``pip install backprop[tune]``.
"""
