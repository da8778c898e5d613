"""Saving figures: PNG, SVG or PDF, chosen by the file's suffix."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from tokensim.errors import InputError
from tokensim.viz.style import context

#: Suffix -> matplotlib format. Metadata without dates keeps the files reproducible.
FORMATS: dict[str, str] = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_METADATA: dict[str, dict[str, None]] = {
    "png": {},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` as PNG, SVG or PDF (by suffix) and return the path.

    Another suffix, a folder that does not exist, or something other than a Figure is an
    `InputError` naming the file, so the command line reports it in one line rather than a traceback.
    """
    if not isinstance(fig, Figure):
        raise InputError.single(
            str(path),
            "",
            f"expected a matplotlib Figure to save (as the tokensim.viz functions return), got {type(fig).__name__}",
        )
    out = Path(path)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InputError.single(
            str(out),
            "",
            f"cannot save a figure as {out.suffix or 'a file without a suffix'!r}; use one of {', '.join(FORMATS)}",
        )
    if not out.parent.is_dir():
        raise InputError.single(str(out), "", f"folder {str(out.parent)!r} does not exist")
    with context():
        try:
            fig.savefig(out, format=fmt, bbox_inches="tight", metadata=_METADATA[fmt] or None)
        except OSError as err:
            raise InputError.single(str(out), "", f"cannot write the figure: {err.strerror or err}") from None
    return out
