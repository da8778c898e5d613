"""What the command line outputs: paths checked before any work (a bad path must not cost the
results), and text echoed without control characters (`echo`).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import typer

from tokensim.display import terminal_text
from tokensim.errors import InputError

#: Characters of a folder name made from a user's name (assumption: well under the 255 bytes of common file systems).
FOLDER_NAME_LIMIT = 100


def echo(text: str, *, err: bool = False) -> None:
    """Print user-derived text (names, tables, messages) with control characters escaped (`terminal_text`)."""
    typer.echo(terminal_text(text), err=err)


def folder_name(name: str) -> str:
    """A name (an experiment's) as one safe folder name: it cannot leave its parent folder or hide.

    Characters other than letters, digits, ``-``, ``_`` and ``.`` become ``_``, leading
    dots are dropped (no ``..``, no hidden folder), and the result is at most
    `FOLDER_NAME_LIMIT` characters; an empty result is ``experiment``.

    >>> folder_name("ttl-vs-policy"), folder_name("../../x"), folder_name(".hidden/a b")
    ('ttl-vs-policy', '_.._x', 'hidden_a_b')
    """
    safe = re.sub(r"[^\w.-]", "_", name).lstrip(".")[:FOLDER_NAME_LIMIT]
    return safe or "experiment"


def regular_output(path: Path, flag: str) -> None:
    """Refuse an output path that exists and is not a regular file: a FIFO would block, a device swallow."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # absent (it will be created) or unreachable (the write says why)
        return
    if stat.S_ISDIR(mode):
        raise InputError.single(flag, str(path), "is a folder; give a file name")
    if not stat.S_ISREG(mode):
        raise InputError.single(flag, str(path), "is not a regular file (a FIFO, device or socket); give a file name")


def writable_file(path: Path, flag: str) -> None:
    """Refuse, before any work, an output file that cannot be written; create its folder."""
    regular_output(path, flag)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError.single(flag, str(path), f"cannot create its folder: {err.strerror or err}") from None
    existed = path.exists()
    try:  # the one reliable test: open it for writing (and leave no file behind)
        with open(path, "ab"):
            pass
    except OSError as err:
        raise InputError.single(flag, str(path), f"cannot be written: {err.strerror or err}") from None
    if not existed:
        path.unlink()


def writable_folder(folder: Path) -> None:
    """Refuse, before any work, a sweep folder that is a file or cannot be created."""
    if folder.exists() and not folder.is_dir():  # os.stat, never an open: a FIFO cannot block here
        raise InputError.single("--out", str(folder), "is a file; a sweep writes to a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError.single("--out", str(folder), f"cannot create the folder: {err.strerror or err}") from None
    if not os.access(folder, os.W_OK):
        raise InputError.single("--out", str(folder), "is not writable")


def require_suffix(path: Path, allowed: tuple[str, ...], what: str) -> None:
    """Refuse an output file whose suffix names no format ``what`` can be written in."""
    if path.suffix.lower() not in allowed:
        raise InputError.single(
            str(path), "--out", f"unsupported suffix {path.suffix or '(none)'!r} for {what}; use {', '.join(allowed)}"
        )
