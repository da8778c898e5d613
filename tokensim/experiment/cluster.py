"""Dask clusters for sweeps: a local cluster set up for tokensim's runs, or a running scheduler.

Dask is an optional extra (`pip install 'tokensim[dask]'`); it is imported only when a
cluster is asked for, and an `ImportError` says which extra to install.
"""

from __future__ import annotations

from typing import Any

#: Worker settings for tokensim's runs. Dask's statistical profiler samples every running
#: task's stack every 10 ms; a tokensim run is pure Python (SimPy generators), so with it
#: a worker spent 3-10 % more CPU on the same tasks than without it (paired measurements,
#: docs/benchmarks.md, "Sweeps"). The profile feeds only the dashboard's profile page,
#: which a sweep's cluster does not serve.
WORKER_CONFIG: dict[str, Any] = {"distributed.worker.profile.enabled": False}


def _distributed() -> Any:
    try:
        import dask
        import distributed
    except ImportError:
        raise ImportError("Dask is not installed; pip install 'tokensim[dask]'") from None
    return dask, distributed


def local_dask_cluster(n_workers: int) -> tuple[Any, Any]:
    """Start a local Dask cluster of ``n_workers`` single-threaded worker processes.

    Returns ``(client, cluster)``; pass the client as ``Experiment.run(executor=client)``
    and close both when done (each is a context manager). One thread per worker because a
    run holds the GIL throughout; no dashboard, and the workers run with `WORKER_CONFIG`.
    The settings apply to this cluster's workers only (those added by ``cluster.scale`` too):
    the caller's Dask configuration is left as it was.

    >>> client, cluster = local_dask_cluster(2)                 # doctest: +SKIP
    >>> with cluster, client:                                   # doctest: +SKIP
    ...     frame = experiment.run(executor=client)
    """
    if n_workers < 1:
        raise ValueError(f"a local Dask cluster needs at least 1 worker, got {n_workers}")
    _, distributed = _distributed()
    # `config` goes to every nanny, which hands it to its worker: workers added later by
    # `cluster.scale` get it too, and this process's own configuration is not touched.
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, config=WORKER_CONFIG)
    try:
        return distributed.Client(cluster), cluster
    except BaseException:
        cluster.close()
        raise


def connect_dask(address: str, timeout: str = "10s") -> Any:
    """A client of the running Dask scheduler at ``address`` (e.g. ``tcp://host:8786``).

    Raises `OSError` when the scheduler cannot be reached within ``timeout``. Its workers
    keep their own settings: start them with ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``
    to save the profiler's cost (see `WORKER_CONFIG`).
    """
    _, distributed = _distributed()
    return distributed.Client(address, timeout=timeout)
