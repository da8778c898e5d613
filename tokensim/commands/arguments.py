"""The arguments and options several commands share: a model, policies, ``--set`` overrides, where runs go and run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tokensim.errors import InputError

if TYPE_CHECKING:
    from tokensim.model.policy import Policy

ModelArg = Annotated[
    str, typer.Argument(help="A model file (YAML or JSON) or a built-in model name (see `tokensim models`).")
]
PolicyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--policy", "-p", help="A preset (bearer, dpop, mtls, hybrid, hybrid_jit) or a policy file; repeat to compare."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a policy parameter, e.g. --set access_ttl=5m (applies to every policy)."),
]

OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Output folder (default: the file's `out`, else results/NAME).")
]
JobsOpt = Annotated[
    int | None, typer.Option("-j", "--jobs", help="Local worker processes (default: all cores; 1: serial).")
]
DaskOpt = Annotated[
    str | None, typer.Option("--dask", help="Address of a running Dask scheduler, e.g. tcp://host:8786.")
]
DaskLocalOpt = Annotated[int | None, typer.Option("--dask-local", help="Start a local Dask cluster with N workers.")]


def policies_of(names: list[str] | None, overrides: list[str] | None) -> list[Policy]:
    from tokensim.model.policy import parse_assignments, repeated_policies, resolve_policy

    pols = [resolve_policy(n) for n in (names or ["bearer"])]
    if overrides:
        values = parse_assignments(overrides)
        pols = [p.with_overrides(values) for p in pols]
    if repeated_policies(pols):
        names_seen = ", ".join(p.name for p in pols)
        raise InputError.single("--policy", "policy", f"the same policy is named twice: {names_seen}")
    return pols
