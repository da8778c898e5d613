"""Executors: where tasks run, behind one small protocol.

`TaskExecutor` is all the orchestrator knows: how many runs it works on at once (which
sizes the tasks), the rows of each task as it completes, and ``close``. Two kinds
implement it: `SerialExecutor` (this process) and `FuturesExecutor` (any
`concurrent.futures.Executor`: a process pool, a thread pool, a Dask client's executor).
`open_executor` picks one for what `Experiment.run` was given. The process pool it creates
ends with the sweep: its workers leave Ctrl-C to the parent and exit when it dies
(`signals.bind_to_parent`), and a sweep that stops early (an interrupt, an error) stops them
at once rather than letting them finish tasks whose rows nobody will store.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tokensim.experiment.signals import signals_held
from tokensim.experiment.tasks import Row, Task, pack, run_packed_task, run_task
from tokensim.workers import bind_to_parent, stop_workers

if TYPE_CHECKING:
    from distributed import Client
    from typing_extensions import TypeIs


class TaskExecutor(Protocol):
    """Runs tasks and hands back each one's rows as it completes."""

    @property
    def parallelism(self) -> int:
        """How many runs it works on at once (tasks are sized for it)."""
        ...

    def completed(self, tasks: Sequence[Task]) -> Generator[list[Row]]:
        """Each task's rows, in the order the tasks complete; closing the iterator cancels what has not started."""
        ...

    def close(self) -> None:
        """Release what this executor started (a pool it created); a caller's executor is left running."""
        ...


class SerialExecutor:
    """Every task in this process, one after the other (no pickling)."""

    parallelism = 1

    def completed(self, tasks: Sequence[Task]) -> Generator[list[Row]]:
        for task in tasks:
            yield run_task(task)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class FuturesExecutor:
    """Tasks submitted, pickled, to a `concurrent.futures.Executor`; ``owned``: shut it down on `close`."""

    executor: Executor
    parallelism: int
    owned: bool = False

    def completed(self, tasks: Sequence[Task]) -> Generator[list[Row]]:
        futures: list[Future[list[Row]]] = []
        finished = False
        try:
            # A pool starts its workers as tasks are submitted: a stopping signal waits until
            # they are started, so that none runs the parent's handler (`signals_held`).
            with signals_held() if self.owned else contextlib.nullcontext():
                for task in tasks:
                    futures.append(self.executor.submit(run_packed_task, pack(task)))
            for future in as_completed(futures):
                yield future.result()
            finished = True
        finally:
            if not finished:  # interrupted (Ctrl-C, an error storing rows): the rows still to come will not be stored
                self.abandon(futures)

    def abandon(self, futures: list[Future[list[Row]]]) -> None:
        """Drop the tasks not yet started; those running too, in a pool of tokensim's own (their workers are stopped)."""
        for future in futures:
            future.cancel()
        if self.owned and isinstance(self.executor, ProcessPoolExecutor):
            stop_workers(self.executor)

    def close(self) -> None:
        if self.owned:
            self.executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class DaskExecutor(FuturesExecutor):
    """A Dask client's `concurrent.futures` executor, made for one sweep (``Client.get_executor``)."""

    def abandon(self, futures: list[Future[list[Row]]]) -> None:
        """Cancel the sweep's Dask tasks, through Dask's executor.

        Not by cancelling its futures here: a task that completes meanwhile then has its
        result set on a cancelled future, and distributed logs that InvalidStateError with
        its traceback (``distributed.cfexecutor._cascade_future``).
        """
        self.executor.shutdown(wait=False)

    def close(self) -> None:
        self.executor.shutdown(wait=False)  # the client is the caller's; this executor is the sweep's


class DaskClient(Protocol):
    """What tokensim asks of a `distributed.Client` (Dask's own methods are untyped)."""

    def nthreads(self) -> Mapping[str, int]: ...

    def get_executor(self) -> Executor: ...


def dask_parallelism(client: DaskClient) -> int:
    """A Dask client's workers' threads, so that a large cluster gets enough tasks to keep every worker busy.

    This machine's cores while no worker has joined yet.
    """
    return sum(client.nthreads().values()) or os.cpu_count() or 1


def is_dask_client(executor: object) -> TypeIs[Client]:
    """Whether ``executor`` is a `distributed.Client`.

    Without importing Dask (about a second, and an optional extra): a client exists only once
    ``distributed`` has been imported.
    """
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(executor, distributed.Client)


def open_executor(executor: Executor | Client | None, workers: int | None) -> TaskExecutor:
    """The executor for `Experiment.run`'s arguments; `close` it when done.

    ``None``: a process pool of ``workers`` processes (default: all cores), serial when that
    is one. A Dask client: its executor, tasks sized for its workers' threads. Any other
    `concurrent.futures.Executor`: used as given, tasks sized for ``workers`` (default: this
    machine's cores, as an executor's size is not public). ``workers``, when given, always sizes the tasks.
    """
    if executor is None:
        n = workers or os.cpu_count() or 1
        if n <= 1:
            return SerialExecutor()
        return FuturesExecutor(ProcessPoolExecutor(max_workers=n, initializer=bind_to_parent), n, owned=True)
    if is_dask_client(executor):
        return _dask_executor(executor, workers)
    return FuturesExecutor(executor, workers or os.cpu_count() or 1)


def _dask_executor(client: DaskClient, workers: int | None) -> DaskExecutor:
    """A Dask client's `concurrent.futures` executor, tasks sized for its threads (or ``workers``)."""
    return DaskExecutor(client.get_executor(), workers or dask_parallelism(client))
