"""``tokensim policies``: the presets, and what every policy parameter means and allows.

One source with the JSON Schema: each parameter's meaning is its pydantic ``description``, its allowed
values are read from its schema property (enums from the Literal types, unit patterns, ranges), and its
default is the schema's (written as a file writes it). Laid out for a terminal of `WIDTH` columns, or a narrower one's width.
"""

from __future__ import annotations

from typing import Any

from tokensim.commands.formats import wrapped
from tokensim.model import limits
from tokensim.model.file_schema import DURATION_OR_ZERO_PATTERN, DURATION_PATTERN, RATE_PATTERN
from tokensim.model.units import ALLOWED_DURATION, ALLOWED_RATE

#: Columns the text fits (assumption: the 100-column terminal of issue 14; an 80-column one wraps the long lines).
WIDTH = 100
NAME_COLUMN = 18
DEFAULT_COLUMN = 12

_UNIT_TEXT = {
    DURATION_PATTERN: f"{ALLOWED_DURATION}; above 0, at most {limits.DURATION.high_text}",
    DURATION_OR_ZERO_PATTERN: f"{ALLOWED_DURATION}, or 0; at most {limits.DURATION.high_text}",
    RATE_PATTERN: f"{ALLOWED_RATE}, or 0; at most {limits.RATE.high_text}",
}


def allowed(prop: dict[str, Any]) -> str:
    """What a schema property allows, in words: choices, a duration or rate with its unit, a list, a mapping."""
    words: list[str] = []
    also: list[str] = []  # short forms a validator reads as well, said last
    for member in prop.get("anyOf", [prop]):
        nested = member is not prop
        if member.get("pattern") in _UNIT_TEXT:
            words.append(_UNIT_TEXT[member["pattern"]])
        elif "anyOf" in member and nested:
            words.append(allowed(member))
        elif "enum" in member:
            words.append("one of " + ", ".join(map(str, member["enum"])))
        elif member.get("type") == "array" and "enum" in member.get("items", {}):
            words.append(f"a list of {', '.join(member['items']['enum'])}, first choice first")
        elif member.get("type") == "string" and "pattern" in member:
            also.append("or as text: " + ", ".join(member.get("examples", [])))
        elif member.get("type") == "boolean":
            note = f" ({member['description']})" if nested and "description" in member else ""
            (also if nested else words).append(("or " if nested else "") + "true or false" + note)
        elif member.get("type") == "object":
            words.append("a mapping of client names or platforms to parameters (all but name and overrides)")
        elif member.get("type") == "string":
            words.append("text")
        elif member.get("type") == "null":
            also.append("or unset")
    return "; ".join(words + also)


def default_text(prop: dict[str, Any]) -> str:
    """A schema default as a file writes it (`bearer`, `1h`, `false`, `unset`)."""
    if "default" not in prop:
        return "required"
    value = prop["default"]
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return "none" if not value else str(value)
    return str(value)


def parameter_lines(schema: dict[str, Any], width: int = WIDTH) -> list[str]:
    """Per parameter: its name, default and meaning on one line, what it allows below, wrapped to ``width``."""
    indent = " " * (NAME_COLUMN + DEFAULT_COLUMN)
    header = f"{'parameter':<{NAME_COLUMN}}{'default':<{DEFAULT_COLUMN}}meaning / allowed values"
    lines = [header]
    for name, prop in schema["properties"].items():
        if name == "base":
            continue
        head = f"{name:<{NAME_COLUMN - 1}} {default_text(prop):<{DEFAULT_COLUMN - 1}} "
        lines += wrapped(prop["description"], head, width, continuation=indent).split("\n")
        lines += wrapped("allows: " + allowed(prop), indent, width).split("\n")
    return lines


def preset_lines(table: dict[str, dict[str, str]]) -> list[str]:
    """The settings in which the presets differ, one row per setting, one column per preset."""
    names = list(table)
    keys = [k for k in next(iter(table.values())) if len({table[n][k] for n in names}) > 1]
    width = {n: max(len(n), *(len(table[n][k]) for k in keys)) + 2 for n in names}
    lines = [" " * NAME_COLUMN + "".join(f"{n:<{width[n]}}" for n in names).rstrip()]
    for key in keys:
        lines.append(f"{key:<{NAME_COLUMN}}" + "".join(f"{table[n][key]:<{width[n]}}" for n in names).rstrip())
    return lines


def policies_text() -> str:
    """The whole text of `tokensim policies`."""
    from tokensim.commands.formats import terminal_width
    from tokensim.model.file_schema import file_value
    from tokensim.model.policy import PRESETS, preset
    from tokensim.schemas import file_schema

    table = {}
    for name in PRESETS:
        values = file_value(preset(name))
        table[name] = {k: default_text({"default": v}) for k, v in values.items() if k != "name"}
    width = min(WIDTH, terminal_width())  # a narrower terminal: narrower

    def prose(text: str) -> list[str]:
        return wrapped(text, width=width, continuation="").split("\n")

    out = [*prose("presets (--policy NAME, or base: NAME in a policy file) differ only in these parameters:"), ""]
    out += preset_lines(table)
    out += ["", *prose("parameters (--set NAME=VALUE, a policy file, tokensim.preset(NAME, **parameters)):"), ""]
    out += parameter_lines(file_schema("policy"), width)
    out += ["", *prose("tokensim schema --kind policy prints the same as a JSON Schema; sources: docs/parameters.md")]
    return "\n".join(out)
