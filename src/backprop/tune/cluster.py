"""The Dask cluster a study runs on: an embedded ``LocalCluster`` or an existing scheduler.

By default ``backprop tune`` starts a ``distributed.LocalCluster`` of worker
*processes* on 127.0.0.1, one per CPU core with one thread each, and every
trial limits its BLAS to ``cores // workers`` threads (one when the workers
fill the machine): trials run side by side instead of fighting over the
cores.  The embedded scheduler lets no task run twice after a worker dies
(``distributed.scheduler.allowed-failures = 0``), so the trial of a dead
worker fails at once and the study goes on with the others.

``--scheduler tcp://HOST:8786`` connects to a cluster started by hand
(``dask scheduler`` and ``dask worker``, see docs/tune.md); that cluster's
own settings apply, and a trial whose task is started a second time after its
worker died fails as well (``backprop.tune.objective``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin


def machine_cores() -> int:
    """The CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _log_to_file(log_path: Path | None) -> None:
    """Send Dask's log lines to ``log_path`` instead of the terminal."""
    for name in ("distributed", "dask"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                logger.removeHandler(handler)
        logger.propagate = False
        if log_path is not None:
            handler = logging.FileHandler(log_path, encoding="utf-8")
            fmt = "%(asctime)s %(name)s %(levelname)s %(message)s"
            handler.setFormatter(logging.Formatter(fmt))
            logger.addHandler(handler)


class TrialWorker(WorkerPlugin):
    """A Dask worker plugin that readies each worker (also one that joins later) for trials.

    It turns off Optuna's experimental-feature warnings (``DaskStorage`` warns
    each time a task's arguments are unpickled) and, in the embedded
    cluster's workers, makes the process ignore SIGINT: Ctrl-C in the
    terminal reaches the whole process group, and the trials are stopped by
    the client instead (``backprop.tune.runner``), so that no worker dies
    halfway through writing a result.
    """

    name = "backprop-tune-worker"

    def __init__(self, ignore_sigint: bool = False) -> None:
        self.ignore_sigint = ignore_sigint

    def setup(self, worker) -> None:
        import signal
        import threading

        from backprop.tune.objective import quiet_optuna

        quiet_optuna()
        if self.ignore_sigint and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def start(scheduler: str | None, workers: int | None, log_path: Path | None = None):
    """Start the embedded cluster or connect to ``scheduler``.

    Parameters
    ----------
    scheduler : str or None
        ``tcp://HOST:PORT`` of a running ``dask scheduler``; None starts a
        ``LocalCluster`` on 127.0.0.1.
    workers : int or None
        Worker processes of the embedded cluster (default: one per core).
    log_path : Path, optional
        File that receives Dask's log lines (the terminal shows progress only).

    Returns
    -------
    (distributed.Client, LocalCluster or None, int)
        The client, the cluster to close afterwards (None for ``scheduler``)
        and the BLAS threads each trial may use.
    """
    import dask
    from distributed import Client, LocalCluster

    _log_to_file(log_path)
    cores = machine_cores()
    if scheduler is not None:
        if workers is not None:
            raise ValueError(
                "--workers sizes the embedded cluster; with --scheduler the workers are the "
                "ones started by dask worker, so drop --workers"
            )
        try:
            client = Client(scheduler, timeout="20s", set_as_default=False)
        except OSError as exc:
            raise ValueError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); start it with "
                "dask scheduler, or drop --scheduler to use this machine's cores"
            ) from None
        client.register_plugin(TrialWorker())
        return client, None, 1
    n = workers if workers is not None else cores
    if n < 1:
        raise ValueError(f"--workers {n}: give at least 1 worker process")
    config = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.worker.daemon": False,
        "logging.distributed": "error",
    }
    with dask.config.set(config):
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL,
        )
        client = Client(cluster, set_as_default=False)
    client.register_plugin(TrialWorker(ignore_sigint=True))
    return client, cluster, max(1, cores // n)


def stop(client, cluster) -> None:
    """Close the client and, for the embedded cluster, its workers and scheduler."""
    try:
        client.close(timeout=10)
    finally:
        if cluster is not None:
            cluster.close(timeout=10)


def slots(client) -> int:
    """Trials the cluster can run at once: its worker threads (0 while no worker is connected)."""
    return sum(client.nthreads().values())
