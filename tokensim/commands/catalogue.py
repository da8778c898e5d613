"""``tokensim models``, ``policies`` and ``schema``: what is built in, and the input files' schema."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tokensim.display import quote
from tokensim.errors import InputError, did_you_mean


def models() -> None:
    """List the built-in models with their descriptions."""
    from tokensim.builtin import builtin_models
    from tokensim.model.architecture import load_model

    for name in builtin_models():
        typer.echo(f"{name:<32} {load_model(name).description}")


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
