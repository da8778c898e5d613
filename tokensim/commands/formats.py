"""How a command prints a table: for a reader (fitted to the terminal) or for a program (CSV, JSON, Markdown).

With ``--format table`` (the default) a command prints its tables and its messages to
stdout as before, each table wrapped into blocks of columns that fit the terminal's width
(``COLUMNS`` when set, as `shutil.get_terminal_size` reads it; unwrapped into a file or a pipe). With ``csv``, ``json`` or
``markdown``, stdout holds the data alone, so that ``tokensim run ... --format csv > x.csv``
is a valid file; every message (the header line, "wrote PATH", notes) goes to stderr.
"""

from __future__ import annotations

import json
import shutil
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from tokensim.commands.outputs import echo
from tokensim.display import plain_value

if TYPE_CHECKING:
    import pandas as pd

#: Width when stdout is no terminal and COLUMNS is unset: a file or a pipe has no width, so nothing is wrapped.
UNLIMITED_WIDTH = 10_000


class TableFormat(StrEnum):
    """What a command's ``--format`` accepts."""

    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


FormatOpt = Annotated[
    TableFormat,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="table (for reading, fitted to the terminal), or csv, json, markdown: the data alone on stdout, "
        "messages on stderr.",
    ),
]


def terminal_width() -> int:
    """The width to fit in characters: ``COLUMNS`` if set, else the terminal's, else `UNLIMITED_WIDTH` (a file, a pipe)."""
    return shutil.get_terminal_size((UNLIMITED_WIDTH, 24)).columns


def fitted(frame: pd.DataFrame) -> str:
    """``frame`` as text whose lines fit the terminal: columns beyond its width wrap into further blocks.

    A single column wider than the terminal cannot be wrapped and stays as it is.
    """
    return frame.to_string(line_width=terminal_width())


def wrapped(text: str, indent: str = "", width: int | None = None, *, continuation: str | None = None) -> str:
    """``text`` after ``indent``, each line wrapped to ``width`` (the terminal's), never mid-word.

    Continuation lines are indented by ``continuation`` (default: two more than ``indent``); a word
    longer than the width stays whole.
    """
    import textwrap

    width = width or terminal_width()
    return "\n".join(
        textwrap.fill(
            line,
            width=width,
            initial_indent=indent,
            subsequent_indent=indent + "  " if continuation is None else continuation,
            break_long_words=False,
            break_on_hyphens=False,
        )
        if line
        else line
        for line in text.split("\n")
    )


def message(text: str, fmt: TableFormat) -> None:
    """Prose for the reader, wrapped to the terminal: on stdout with the table format, on stderr when stdout holds data."""
    echo(wrapped(text), err=fmt is not TableFormat.table)


def data(frame: pd.DataFrame, fmt: TableFormat) -> None:
    """``frame`` on stdout in a data format (csv, json, markdown); one record per row, no index."""
    flat = frame.reset_index(drop=True)
    if fmt is TableFormat.csv:
        echo(flat.to_csv(index=False).rstrip("\n"))
    elif fmt is TableFormat.json:
        # json.dumps, not DataFrame.to_json: that rounds to 15 decimals (1e-17 becomes 0); NaN is null
        records = flat.astype(object).where(flat.notna(), None).to_dict("records")
        echo(json.dumps(records, indent=2, default=_json_value))
    elif fmt is TableFormat.markdown:
        echo(flat.to_markdown(index=False))
    else:
        raise ValueError(f"{fmt.value} is a format for reading, not data: use fitted()")


def _json_value(value: object) -> object:
    """What json cannot write as it is: a NumPy scalar as the Python number it holds, anything else as text."""
    plain = plain_value(value)
    return str(value) if plain is value else plain
