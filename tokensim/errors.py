"""The one error type users see for bad input: it names the file and the field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from tokensim.display import shorten

#: Problems a message lists (assumption: 20 fill a screen; the rest are counted, so the first ones stay readable).
SHOWN_PROBLEMS = 20
#: Characters of one problem's field path and of its message (assumption: a few terminal lines at most;
#: the places that quote values quote short prefixes already, this bounds any that do not).
PATH_LIMIT = 120
MESSAGE_LIMIT = 400
#: Characters of one key in a field path (assumption: 40, longer than any name in the built-in models).
KEY_LIMIT = 40


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (dotted path) and what."""

    path: str
    message: str


@dataclass
class InputError(Exception):
    """Bad input (model, policy, experiment or option): every problem, with its place.

    ``source`` is the file name (or a label such as ``--set``); each problem has a
    dotted field path such as ``nodes.spa.leaks[0].rate``. The message shows at most
    `SHOWN_PROBLEMS` problems, each path and message shortened: user text is never
    printed in full, however long.
    """

    source: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = []
        for p in self.problems[:SHOWN_PROBLEMS]:
            where = f"{self.source}: {shorten(p.path, PATH_LIMIT)}" if p.path else self.source
            lines.append(f"{where}: {shorten(p.message, MESSAGE_LIMIT)}")
        if len(self.problems) > SHOWN_PROBLEMS:
            lines.append(f"{self.source}: and {len(self.problems) - SHOWN_PROBLEMS} more problems")
        return "\n".join(lines) if lines else f"{self.source}: invalid input"

    @classmethod
    def single(cls, source: str, path: str, message: str) -> InputError:
        return cls(source, [Problem(path, message)])


def format_loc(loc: tuple[object, ...] | list[object]) -> str:
    """Turn a location tuple into a dotted path: ('nodes', 'spa', 'leaks', 0) -> nodes.spa.leaks[0].

    Keys are user text: one with a newline or control character is quoted (one line per
    problem), one longer than `KEY_LIMIT` characters is shortened.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = shorten(str(part), KEY_LIMIT)
            if not text.isprintable():
                text = repr(text)
            out += ("." if out else "") + text
    return out


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'dpop'?)`` for the closest of ``choices`` to a mistyped ``word`` (difflib), else ``""``.

    Case is ignored in the comparison (`DPoP` suggests `dpop`); a word that is one of the choices, or close
    to none of them, gets no suggestion.

        >>> did_you_mean("dpoop", ["bearer", "dpop", "mtls"]), did_you_mean("zzz", ["bearer", "dpop"])
        (" (did you mean 'dpop'?)", '')
    """
    if not isinstance(word, str) or not word.strip():
        return ""
    by_lower = {choice.lower(): choice for choice in choices}
    if word in by_lower.values():
        return ""
    close = difflib.get_close_matches(word.strip().lower(), list(by_lower), n=1)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
