"""Checks of output paths, made before any work: a bad path must not cost the results."""

from __future__ import annotations

import os
from pathlib import Path

from tokensim.errors import InputError


def writable_file(path: Path, flag: str) -> None:
    """Refuse, before any work, an output file that cannot be written; create its folder."""
    if path.is_dir():
        raise InputError.single(flag, str(path), "is a folder; give a file name")
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
    if folder.exists() and not folder.is_dir():
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
