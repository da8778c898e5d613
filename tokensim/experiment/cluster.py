"""Dask clusters for sweeps: a local cluster set up for tokensim's runs, or a running scheduler.

Dask is an optional extra (`pip install 'tokensim[dask]'`); it is imported only when a
cluster is asked for, and an `ImportError` says which extra to install.

A local cluster's processes end with the sweep. Distributed itself makes each worker process
exit when its parent dies (SIGKILL included: the worker waits on a pipe the parent holds
open, ``distributed.process.AsyncProcess._immediate_exit_when_closed``); the nannies and the
scheduler run in the sweep's own process. tokensim adds that the workers leave SIGINT,
SIGTERM and SIGHUP to the sweep (a terminal's Ctrl-C reaches the whole process group, and
each worker would print its own traceback): the cluster is started with those signals held
(`signals.signals_held`), which its event-loop thread and every worker process it starts
inherit, so the sweep alone handles them and shuts the cluster down.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from tokensim.experiment.signals import signals_held, start_resource_tracker

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

#: Settings of tokensim's local clusters, for pure-Python runs of a few milliseconds each:
#:
#: - Dask's statistical profiler samples every running task's stack every 10 ms; with it a
#:   worker spent 1-10 % more CPU on the same tasks (paired measurements, docs/benchmarks.md,
#:   "Sweeps"). Its profile feeds only the dashboard, which a sweep's cluster does not serve.
#: - Every scheduler, nanny and worker checks its event loop's health every 20 ms and polls
#:   the system every 0.1-0.5 s. An idle 2-worker cluster measured 94 ms of CPU per second in
#:   this process (scheduler and nannies) and 62 ms in the workers: 8 % of two cores taken
#:   from the runs. With these intervals: 18 and 14 ms. A blocked event loop is still
#:   reported (after 3 s), and the memory monitor still acts within a second.
CLUSTER_CONFIG: dict[str, bool | str] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


#: What an `ImportError` says when Dask is asked for but not installed.
MISSING = "Dask is not installed; pip install 'tokensim[dask]'"


def local_dask_cluster(n_workers: int) -> tuple[Client, LocalCluster]:
    """Start a local Dask cluster of ``n_workers`` single-threaded worker processes.

    Returns ``(client, cluster)``; pass the client as ``Experiment.run(executor=client)``
    and close both when done (each is a context manager). One thread per worker because a
    run holds the GIL throughout; no dashboard; `CLUSTER_CONFIG` for the scheduler, nannies
    and workers (those added by ``cluster.scale`` too). The caller's Dask configuration is
    left as it was. The workers never see SIGINT, SIGTERM or SIGHUP (held, see above):
    the caller handles them and closes the cluster; a worker exits when this process dies.

    Not run as a doctest (it starts worker processes, several seconds; tests/test_experiments.py
    runs a sweep on such a cluster):

    >>> client, cluster = local_dask_cluster(2)                 # doctest: +SKIP
    >>> with cluster, client:                                   # doctest: +SKIP
    ...     frame = experiment.run(executor=client)
    """
    if n_workers < 1:
        raise ValueError(f"a local Dask cluster needs at least 1 worker, got {n_workers}")
    try:  # Dask is optional (and takes about a second to import): loaded when a cluster is asked for
        import dask
        import distributed
    except ImportError:
        raise ImportError(MISSING) from None
    # The scheduler and the nannies, which run in this process, read the settings as they
    # start (scoped: this process's configuration is restored after). `config` goes to every
    # nanny, which hands it to its worker, those added later by `cluster.scale` included.
    cluster: LocalCluster | None = None
    start_resource_tracker()  # the workers are spawned: started inside, it would release the held signals
    try:
        with dask.config.set(CLUSTER_CONFIG), signals_held():  # a signal held meanwhile is raised on leaving
            cluster = distributed.LocalCluster(  # type: ignore[no-untyped-call]  # Dask's constructors are untyped
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # The scheduler serves HTTP (health, metrics) even without a dashboard, on port 8787 by
                # default: any free port instead, so that a second cluster on the machine does not warn.
                scheduler_kwargs={"dashboard_address": ":0"},
                config=CLUSTER_CONFIG,
            )
        return distributed.Client(cluster), cluster  # type: ignore[no-untyped-call]
    except BaseException as err:
        if cluster is not None:
            close_dask(None, cluster, quiet=isinstance(err, KeyboardInterrupt))
        raise


def close_dask(client: Client | None, cluster: LocalCluster | None, *, quiet: bool = False) -> None:
    """Close a client, then a local cluster (either may be None), without Dask's log lines of the shutdown.

    A local cluster is always closed quietly: its workers write to this process's stderr, and
    as the scheduler stops, a worker whose heartbeat meets the closed connection logs an ERROR
    with a traceback (seen on a loaded machine with ``--dask-local 8``), once every run is
    stored; the shutdown is tokensim's own. ``quiet`` quietens this process's Dask logger for a
    client of a scheduler given by address too: for a sweep being interrupted, whose shutdown
    drops tasks and workers as the user asked (that scheduler's workers log elsewhere).
    """
    logger = logging.getLogger("distributed")
    level = logger.level
    if quiet or cluster is not None:
        logger.setLevel(logging.CRITICAL)
    if client is not None and cluster is not None:  # the workers' own loggers, reached through the client
        with contextlib.suppress(Exception):  # a worker already gone has nothing left to say
            client.run(_quieten)
    try:
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]  # distributed leaves Client.close unannotated
        if cluster is not None:
            cluster.close()
    finally:
        logger.setLevel(level)


def _quieten() -> None:
    """Run on a local cluster's workers as the sweep closes it: no more log lines from Dask."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def connect_dask(address: str, timeout: str = "10s") -> Client:
    """A client of the running Dask scheduler at ``address`` (e.g. ``tcp://host:8786``).

    Raises `OSError` when the scheduler cannot be reached within ``timeout``. Its workers
    keep their own settings: start them with ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``
    and ``DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=200ms`` to save what `CLUSTER_CONFIG` saves.
    """
    try:  # optional, as in `local_dask_cluster`
        import distributed
    except ImportError:
        raise ImportError(MISSING) from None
    return distributed.Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
