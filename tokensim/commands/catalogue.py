"""``tokensim models``, ``policies`` and ``schema``: what is built in, and the input files' schema."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tokensim.display import quote
from tokensim.errors import InputError, did_you_mean

#: Characters a description needs beside the names, else it goes below each name (assumption: a short phrase).
MIN_DESCRIPTION = 40


def models() -> None:
    """List the built-in models with their descriptions."""
    from tokensim.builtin import builtin_models
    from tokensim.commands.formats import terminal_width, wrapped
    from tokensim.model.architecture import load_model

    names = builtin_models()
    width, column = terminal_width(), max(map(len, names)) + 2
    beside = width - column >= MIN_DESCRIPTION  # else each description goes below its name, indented
    for name in names:
        first, rest = (f"{name:<{column}}", " " * column) if beside else ("    ", "    ")
        if not beside:
            typer.echo(name)
        typer.echo(wrapped(load_model(name).description, first, width, continuation=rest))


def policies() -> None:
    """List the policy presets, and every policy parameter: its default, what it means and what it allows."""
    from tokensim.commands.parameters import policies_text

    typer.echo(policies_text())


def schema(
    kind: Annotated[
        str, typer.Option("--kind", help="Which file: model (the default), policy or experiment.")
    ] = "model",
) -> None:
    """Print the JSON Schema of model files (or policy or experiment files), for editors: see docs/guide.md."""
    from tokensim.schemas import SCHEMA_KINDS, file_schema

    if kind not in SCHEMA_KINDS:
        raise InputError.single(
            "--kind",
            "kind",
            f"unknown kind {quote(kind)}{did_you_mean(kind, SCHEMA_KINDS)}; use {', '.join(SCHEMA_KINDS)}",
        )
    typer.echo(json.dumps(file_schema(kind), indent=2))  # type: ignore[arg-type]
