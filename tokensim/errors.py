"""The one error type users see for bad input: it names the file and the field."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (dotted path) and what."""

    path: str
    message: str


@dataclass
class InputError(Exception):
    """Bad input (model, policy, experiment or option): every problem, with its place.

    ``source`` is the file name (or a label such as ``--set``); each problem has a
    dotted field path such as ``nodes.spa.leaks[0].rate``.
    """

    source: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = []
        for p in self.problems:
            where = f"{self.source}: {p.path}" if p.path else self.source
            lines.append(f"{where}: {p.message}")
        return "\n".join(lines) if lines else f"{self.source}: invalid input"

    @classmethod
    def single(cls, source: str, path: str, message: str) -> InputError:
        return cls(source, [Problem(path, message)])


def format_loc(loc: tuple[object, ...] | list[object]) -> str:
    """Turn a location tuple into a dotted path: ('nodes', 'spa', 'leaks', 0) -> nodes.spa.leaks[0]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            if not text.isprintable():  # a key with a newline or control character: keep one line per problem
                text = repr(text)
            out += ("." if out else "") + text
    return out
