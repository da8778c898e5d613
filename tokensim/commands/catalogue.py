"""``tokensim models``, ``policies`` and ``schema``: what is built in, and the model files' schema."""

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
    """List the policy presets and every parameter with its default."""
    from tokensim.analysis.configurations import DURATION_PARAMETERS
    from tokensim.model.policy import PRESETS, preset
    from tokensim.model.units import format_duration

    rows = [
        {
            k: ("none" if v is None else format_duration(v) if k in DURATION_PARAMETERS else "{}" if v == "{}" else v)
            for k, v in preset(name).parameters().items()
        }
        for name in PRESETS
    ]
    import pandas as pd

    typer.echo(pd.DataFrame(rows).set_index("name").T.to_string())


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
