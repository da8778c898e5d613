"""Signals and child processes of a sweep: the sweep handles SIGINT, SIGTERM and SIGHUP once; its workers end with it.

Three pieces, each used where a process is started or a command runs:

- `interrupts` (the ``sweep`` command only, never `Experiment.run`: a library does not install
  handlers behind its caller's back) turns the first of SIGINT, SIGTERM and SIGHUP into
  `Interrupted`, a `KeyboardInterrupt`, so that every signal takes Ctrl-C's path: the runner
  stores the runs that finished, the executor stops its workers, the command says what was
  stored. Exit status 128 + the signal's number (130 for SIGINT), the shells' convention.
- `signals_held` keeps those signals from the calling thread while workers are started:
  threads and processes inherit the held set (a signal then waits, it is not lost), so a
  child never runs its parent's handler before it has set its own.
- `bind_to_parent` (defined in `tokensim.workers`, shared with `replicate`) is a process-pool worker's initializer: the worker ignores SIGINT (a
  terminal's Ctrl-C reaches the whole process group; the parent handles it, once) and exits
  when the process that started it dies, by any death, SIGKILL included.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

from tokensim.workers import STOPPING, bind_to_parent, signals_held

__all__ = ["STOPPING", "Interrupted", "bind_to_parent", "interrupts", "signals_held", "start_resource_tracker"]


class Interrupted(KeyboardInterrupt):
    """A stopping signal arrived; a `KeyboardInterrupt`, so that it takes Ctrl-C's path everywhere."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """128 + the signal's number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP): the shells' convention."""
        return 128 + self.signum


@dataclass
class Received:
    """The first stopping signal the command received, if any; `interrupts` fills it."""

    signum: int | None = None
    raised: bool = False  # whether `Interrupted` was raised for it (not while `deferred`)
    deferring: bool = False

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Inside, a first signal is only noted; `Interrupted` is raised on leaving (a cluster half closed helps no one)."""
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
        if self.signum is not None and not self.raised:
            self.raised = True
            raise Interrupted(self.signum)


@contextlib.contextmanager
def interrupts() -> Iterator[Received]:
    """While inside, the first SIGINT, SIGTERM or SIGHUP raises `Interrupted` in the main thread.

    Later ones are ignored until the block ends, so that storing the finished runs and
    stopping the workers is not cut short by a second Ctrl-C (``kill -9`` still ends the
    process at once; at most the rows of the chunk being written are lost, and ``--resume``
    redoes them). The previous handlers are restored on leaving. Outside the main thread
    (where Python allows no handler) nothing is installed.
    """
    received = Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if received.signum is None:
            received.signum = signum
            if not received.deferring:
                received.raised = True
                raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handle) for sig in STOPPING}
    try:
        yield received
    finally:
        for sig, handler in previous.items():  # None: a handler installed outside Python, which cannot be put back
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def start_resource_tracker() -> None:
    """Start CPython's multiprocessing resource tracker now, if this platform has one, before `signals_held`.

    The spawn and forkserver start methods need it, and the thread that starts it ends with
    SIGINT and SIGTERM unblocked (``resource_tracker.ensure_running`` holds them for the
    tracker's start, then unblocks them): inside `signals_held` that would release them
    for every process started afterwards. Started once, it is not started again.
    """
    if hasattr(signal, "pthread_sigmask"):  # POSIX: where the tracker exists, and where signals are held
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
