"""`tokensim policies` says what every policy parameter means and allows (issue 14), from the same
descriptions, Literal choices and unit rules as the JSON Schema, in a 100-column terminal."""

from __future__ import annotations

import sys
from typing import Literal, get_args, get_origin

import pytest

from tokensim.cli import main
from tokensim.commands.parameters import WIDTH, allowed
from tokensim.model.policy import PRESETS, Policy
from tokensim.schemas import file_schema


@pytest.fixture
def text(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setattr(sys, "argv", ["tokensim", "policies"])
    try:
        main()
    except SystemExit as done:
        assert not done.code
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def entry(text: str, name: str) -> str:
    """The lines of one parameter: its own line and the indented ones below it, joined."""
    lines = text.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("parameter ")) :]
    start = next(i for i, line in enumerate(lines) if line.split(" ", 1)[0] == name)
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        block.append(line.strip())
    return " ".join(block)


def literal_choices(annotation: object) -> list[str]:
    """Every choice of the Literal types inside an annotation (tuples, unions, Annotated)."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [c for arg in get_args(annotation) for c in literal_choices(arg)]


def test_literal_choices_finds_the_choices_of_every_literal_parameter() -> None:
    assert literal_choices(Policy.model_fields["low_risk"].annotation) == ["bearer", "dpop", "mtls"]
    assert sum(bool(literal_choices(f.annotation)) for f in Policy.model_fields.values()) == 8


def test_every_line_fits_100_columns(text: str) -> None:
    assert max(len(line) for line in text.splitlines()) <= WIDTH == 100


@pytest.mark.parametrize("name", [n for n in Policy.model_fields])
def test_every_parameter_says_its_default_meaning_and_allowed_values(text: str, name: str) -> None:
    block = entry(text, name)
    prop = file_schema("policy")["properties"][name]
    assert " ".join(prop["description"].split()) in block
    assert "allows: " in block
    for choice in literal_choices(Policy.model_fields[name].annotation):
        assert choice in block.split("allows:", 1)[1], (name, choice)
    default = prop["default"]
    shown = "unset" if default is None else ",".join(default) if isinstance(default, list) else str(default).lower()
    assert block.split()[1] == (shown if default != {} else "none")


def test_durations_say_their_units_and_range(text: str) -> None:
    block = entry(text, "access_ttl")
    assert "1h" in block.split()[1] and "units: ms, s, m, h, d, w, mo, y" in block and "at most 1000y" in block
    assert "or 0" in entry(text, "reuse_grace") and "or 0" not in block
    assert "or unset" in entry(text, "refresh_idle_ttl")


def test_the_presets_table_shows_what_they_set(text: str) -> None:
    lines = text.splitlines()
    header = next(line for line in lines if line.split() == list(PRESETS))
    rows = {line.split()[0]: line.split()[1:] for line in lines[lines.index(header) + 1 : lines.index(header) + 4]}
    assert rows == {
        "low_risk": ["bearer", "dpop", "mtls", "bearer", "bearer"],
        "privileged": ["bearer", "dpop", "mtls", "dpop,mtls", "dpop,mtls"],
        "jit": ["false", "false", "false", "false", "true"],
    }


def test_allowed_words_for_lists_and_version_1_booleans() -> None:
    props = file_schema("policy")["properties"]
    assert allowed(props["low_risk"]) == "a list of bearer, dpop, mtls, first choice first; or as text: dpop,mtls"
    assert allowed(props["jti_tracking"]).startswith("one of none, per_node, global; or true or false (version 1")
