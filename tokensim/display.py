"""User text as tokensim shows it: short quotes in messages, no control characters on a terminal.

Names, values and keys come from files anyone can write. A message quotes at most a
short prefix of a value (a 700 KB value must not become a 700 KB "one line" message),
and text printed to a terminal carries no control characters: an ANSI escape in a
node name must not clear the screen or forge output.
"""

from __future__ import annotations

import re
import reprlib

#: Characters of a value a message quotes (assumption: 80, one terminal line; enough to recognise a value).
QUOTE_LIMIT = 80


# C0 and C1 controls but the newline (ESC starts ANSI sequences; \r and \b overwrite what was printed),
# the bidirectional overrides and isolates of "Trojan Source" (CVE-2021-42574), which reorder a line,
# and lone surrogates (undecodable bytes of a file name), which a strict terminal encoding cannot print.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` itself if at most ``limit`` characters, else its start and how long it was.

    >>> shorten("x" * 100, 8)
    'xxxxxxxx... (100 characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A value as a message quotes it: its repr, of at most about ``limit`` characters.

    A string longer than ``limit`` is quoted by its start and says its length; a
    collection by its first items (``reprlib``), never expanded in full.

    >>> quote("15m"), quote("y" * 100, 5), quote(list(range(100)))
    ("'15m'", "'yyyyy'... (100 characters)", '[0, 1, 2, 3, 4, 5, ...]')
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value)} characters)"
    short = reprlib.Repr()  # bounds the work too: a nested list of 10^5 items is never turned into text in full
    short.maxlevel, short.maxstring, short.maxother = 3, limit, limit
    short.maxtuple = short.maxlist = short.maxarray = short.maxdict = short.maxset = short.maxfrozenset = 6
    text = short.repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: control characters but newlines shown as escapes (``\\x1b``).

    Escaped rather than dropped, so the user sees what their file holds.

    >>> terminal_text("edge\\x1b[2J\\rproxy")
    'edge\\\\x1b[2J\\\\rproxy'
    """
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def plain_value(value: object) -> object:
    """A NumPy scalar as the Python value it holds (a value prints and serialises cleanly); others as they are."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
