"""The writer's lock of a results folder: one sweep writes a folder at a time.

A sweep holds an exclusive ``flock`` on ``DIR/writer.lock`` from before it checks the folder
until its last chunk is stored, and writes who it is into the file (pid, host, start time,
command). A second writer (another ``tokensim sweep``, a second ``--resume``, an
``Experiment.run`` from Python, in this process or another) is refused with those details
before it runs or writes anything.

Why ``fcntl.flock`` on an open file, and not the file's existence or the ``filelock`` package:
the kernel drops the lock when its holder dies (``kill -9`` included), so a stale lock is never
obeyed, and there is nothing to clean up; two opens conflict even within one process (two
`Experiment.run` threads). ``filelock`` takes the same ``flock`` but keeps no holder details and
cannot help with the one trap of ``flock``: a process forked while the lock is held (a
``fork``-started process pool's workers) shares the locked file description, and would keep the
lock alive after its parent died. `FolderLock` closes its descriptor in every child forked
from the holder (`os.register_at_fork`), so the lock ends with the process that took it.
POSIX systems only (``fcntl``); where it is missing (Windows) the lock is not taken.

Readers (``tokensim results``) never block a writer for longer than a probe: `writer_of`
takes a shared lock for an instant; a writer retries for `PATIENCE_S` before refusing.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shlex
import socket
import sys
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from tokensim.errors import InputError

LOCK_NAME = "writer.lock"
PATIENCE_S = 1.0  # assumption: longer than any reader's probe (microseconds), short beside a sweep's start
_COMMAND_CHARS = 200  # the holder's command line is quoted up to this length (assumption: enough to recognise it)


@dataclass(frozen=True)
class LockHolder:
    """Who holds a folder's lock: what its refusal message names."""

    pid: int
    host: str
    started: str  # UTC, ISO 8601
    command: str

    def describe(self) -> str:
        """One line: process, host, since when, doing what."""
        return f"process {self.pid} on {self.host}, since {self.started} ({self.command})"


class FolderLock:
    """The exclusive lock of a results folder, as a context manager (`acquire` on enter, `release` on exit)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        self._fork_hook = False

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or raise `InputError` naming the folder and its holder; the folder must exist."""
        try:
            import fcntl
        except ImportError:  # no flock on this platform: run unlocked, as before the lock existed
            return
        if not self._fork_hook:  # before the descriptor exists: a fork from another thread cannot slip in between
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _forget_in_child(ref))
            self._fork_hook = True
        deadline = time.monotonic() + PATIENCE_S
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise InputError.single(
                    str(self.folder),
                    "",
                    f"cannot lock the folder for writing ({self.path.name}): {err.strerror or err}",
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise InputError.single(str(self.folder), "", _refusal(holder)) from None
            except OSError as err:  # ENOLCK: a file system without locks
                os.close(fd)
                raise InputError.single(
                    str(self.folder),
                    "",
                    f"cannot lock the folder for writing ({err.strerror or err}): its file system keeps no locks, "
                    "so a second writer could not be kept out; choose an --out folder on a local disk",
                ) from None
            self._fd = fd
            break
        me = LockHolder(os.getpid(), socket.gethostname(), _now(), shlex.join(sys.argv)[:_COMMAND_CHARS])
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(me)).encode(), 0)

    def release(self) -> None:
        """Let the folder go (emptying the holder details first); a no-op when not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor of the file description drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None


def _forget_in_child(ref: weakref.ReferenceType[FolderLock]) -> None:
    """In a process forked from the holder: close the inherited descriptor (the parent keeps the lock)."""
    lock = ref()
    if lock is not None and lock._fd is not None:
        with contextlib.suppress(OSError):
            os.close(lock._fd)
        lock._fd = None


def writer_of(folder: str | Path) -> LockHolder | None:
    """The holder of a folder's lock if a sweep is writing it now, else None (a probe: an instant's shared lock)."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY)
    except OSError:  # no lock file: never written by a locking sweep
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or LockHolder(0, "?", "?", "details not written yet")
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> LockHolder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode())
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["started"]), str(data["command"]))
    except (OSError, ValueError, KeyError, TypeError):  # being written, or emptied: no details
        return None


def _refusal(holder: LockHolder | None) -> str:
    """Why a writer is refused, and what to do."""
    if holder is None:
        who = "another process (its details are not written yet)"
    elif holder.host == socket.gethostname() and not _alive(holder.pid):
        who = (
            f"a process started by {holder.describe()}, which has ended; a process it started still holds "
            "the lock (find it with `fuser` on the lock file) and must end first"
        )
    else:
        who = holder.describe()
    return (
        f"another sweep is writing this folder: {who}; wait for it to finish (or stop it), then continue with --resume"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
