"""``tokensim models``, ``policies`` and ``schema``: what is built in, and the model files' schema."""

from __future__ import annotations

import json

import typer


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


def schema() -> None:
    """Print the JSON Schema of model files (for editors)."""
    from tokensim.model.schema import ModelFile

    typer.echo(json.dumps(ModelFile.model_json_schema(), indent=2))
