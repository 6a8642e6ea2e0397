"""The scikit-learn route: GridSearchCV over BackpropClassifier under joblib's Dask backend."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
distributed = pytest.importorskip("distributed")

import joblib  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from backprop.sklearn import BackpropClassifier  # noqa: E402


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_on_dask_workers_matches_the_sequential_search():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    grid = {"hidden_layer_sizes": [(16,), (32,)], "learning_rate_init": [0.003, 0.01]}
    est = BackpropClassifier(max_iter=8, random_state=0)

    sequential = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(X, y)
        workers = {task["worker"] for task in stream.data}
        addresses = set(client.scheduler_info()["workers"])

    assert len(stream.data) > 0  # the fits ran as Dask tasks...
    assert workers and workers <= addresses  # ...in the cluster's worker processes
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"],
                               sequential.cv_results_["mean_test_score"])
    assert on_dask.best_params_ == sequential.best_params_
    assert on_dask.best_score_ > 0.8
