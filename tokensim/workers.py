"""Worker processes tokensim starts (a sweep's pool, `replicate`'s): they leave Ctrl-C to their parent, die with it,
and are stopped at once when it stops early; and how many runs each task of theirs holds (`task_size`).

Shared by `tokensim.experiment` (sweeps) and `tokensim.api` (`replicate(..., workers=N)`), which is why it
lives outside both.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

#: The signals that stop a sweep, as this platform has them (no SIGHUP on Windows).
STOPPING: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

#: Linux's prctl(2) option asking the kernel to send this process a signal when its parent dies.
_PR_SET_PDEATHSIG = 1


def bind_to_parent() -> None:
    """A pool worker's initializer: leave Ctrl-C to the parent, and exit when the parent dies.

    SIGINT is ignored; SIGTERM and SIGHUP take their default action (a forked worker would
    otherwise inherit its parent's handlers), and are released if `signals_held` held them
    when the worker was started. The parent's death, two ways:

    - a daemon thread waits on `multiprocessing.parent_process`'s sentinel, a pipe the
      parent holds open (with every start method), and exits the worker when it closes:
      portable, no polling, at once;
    - on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` too: the kernel kills the worker even
      when it is stuck in a call that holds the GIL, where the thread cannot run. (The
      kernel sends it when the parent *thread* that forked the worker ends; the pool's
      workers are forked by the thread that runs the sweep, which outlives the pool.)
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in STOPPING:
        if sig != signal.SIGINT:
            signal.signal(sig, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # a libc without prctl: the thread still watches
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing: nothing to watch
        return
    threading.Thread(target=_exit_with, args=(parent,), name="tokensim-parent-watch", daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    """Wait for ``parent`` to end (its sentinel closes; at once if it already has), then end this process."""
    parent.join()
    os._exit(1)  # nothing to clean up: a worker's results go to its parent, which is gone


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down and terminate its workers now, mid-task (SIGTERM, whose default action they keep).

    Python 3.14's ``terminate_workers``; before it, the pool's processes are only in its ``_processes``.
    """
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    processes = list((pool._processes or {}).values())  # a copy: the pool's manager thread edits the dict
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back from this thread while inside; a held signal is delivered on leaving.

    Threads started inside, and processes they start, inherit the held set (fork and exec
    keep it): CPython starts its resource tracker the same way. Without ``pthread_sigmask``
    (Windows) it does nothing.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def task_size(remaining: int, parallelism: int) -> int:
    """Guided self-scheduling: a quarter of the remaining runs per worker, 4 to 64 runs.

    Tasks shrink towards the end, so no worker is left alone with a big last one; at least
    4 runs, since each task has a fixed overhead (a Dask task most).
    """
    return max(4, min(64, math.ceil(remaining / max(1, parallelism * 4))))
