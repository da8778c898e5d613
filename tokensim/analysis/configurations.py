"""Which columns of a results frame identify a configuration, and a short human label for one.

A configuration is what a user chose: the model, the policy and any policy parameter
or sweep factor that takes more than one value for the same model and policy (for
example ``access_ttl`` in a TTL sweep). Seeds, replications, metrics, hashes and
run bookkeeping never identify a configuration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pandas as pd

from tokensim.analysis.checks import require_frame
from tokensim.model.policy import PARAMETERS
from tokensim.model.units import duration_text

#: Columns that always name a configuration when present.
IDENTITY_COLUMNS: tuple[str, ...] = ("model", "policy")

#: Policy parameters measured in hours (labels show them as 5m, 1h, 30d).
DURATION_PARAMETERS: frozenset[str] = frozenset(
    {"access_ttl", "refresh_ttl", "reuse_grace", "proof_window", "nonce_lifetime", "jit_ttl", "refresh_idle_ttl"}
)

#: Bookkeeping columns of runs and sweeps: never part of a configuration.
RUN_COLUMNS: frozenset[str] = frozenset(
    {
        "experiment",
        "experiment_hash",
        "run_id",
        "run_index",
        "design_point",
        "seed",
        "replication",
        "tokensim_version",
        "config_hash",
    }
)


def _candidates(results: pd.DataFrame, *, every: bool = False) -> list[str]:
    """Columns that may identify a configuration: policy parameters, the horizon, sweep factors.

    With ``every``, in the frame's order and with each policy factor beside the parameter
    column it repeats; else parameters, horizon, then factors, one column per setting.
    """
    from tokensim.outcome import METRIC_FIELDS

    params = [p for p in PARAMETERS if p != "name" and p in results.columns]
    extra = ["horizon_hours"] if "horizon_hours" in results.columns else []
    # Sweep factors are dotted paths (policy.access_ttl, nodes.edge.leaks[0].rate, attacker.replay_rate).
    # A policy factor repeats a policy parameter column (which holds the value in hours): keep one.
    factors = [
        c
        for c in results.columns
        if isinstance(c, str)
        and "." in c
        and c not in METRIC_FIELDS
        and (every or not (c.startswith("policy.") and c.split(".", 1)[1] in results.columns))
    ]
    if every:
        named = {*IDENTITY_COLUMNS, *params, *extra, *factors}
        return [c for c in results.columns if c in named and c not in RUN_COLUMNS]
    return [c for c in params + extra + factors if c not in RUN_COLUMNS]


def configuration_columns(results: pd.DataFrame, *, every: bool = False) -> list[str]:
    """The columns that identify a configuration: ``model``, ``policy`` (when present) and every
    policy parameter, horizon or sweep factor that varies for one model and policy.

    Parameters that only follow from the policy's name (``low_risk`` of ``dpop``) are left out:
    they add nothing to the label and nothing to the grouping. With ``every``, all the columns
    that hold a setting, varying or not, in the frame's order: what a figure checks it does
    not average over (`pooled_columns`).
    """
    results = require_frame(results)
    if every:
        return _candidates(results, every=True)
    identity = [c for c in IDENTITY_COLUMNS if c in results.columns]
    candidates = _candidates(results)
    if not candidates:
        return identity
    if identity:
        spread = results.groupby(identity, sort=False, dropna=False)[candidates].nunique(dropna=False).max()
    else:
        spread = results[candidates].nunique(dropna=False)
    return identity + [c for c in candidates if spread[c] > 1]


def pooled_columns(results: pd.DataFrame, keys: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """The setting columns (besides ``keys`` and ``exclude``) that vary within one ``keys`` cell.

    A mean over such a cell would average over those settings: figures refuse to draw it.
    """
    others = [c for c in configuration_columns(results, every=True) if c not in keys and c not in exclude]
    if not others or not keys:
        return []
    spread = results.groupby(list(keys), sort=False, dropna=False)[others].nunique(dropna=False).max()
    return [c for c in others if spread[c] > 1]


def format_value(column: str, value: Any) -> str:
    """A configuration value as people write it: durations as 5m/1h, numbers to 3 digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "true" if value else "false"
    name = column.split(".", 1)[1] if column.startswith("policy.") else column
    if isinstance(value, (int, float)) and (name in DURATION_PARAMETERS or name == "horizon_hours"):
        return duration_text(float(value))
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def config_label(config: Mapping[str, Any], shown: Sequence[str]) -> str:
    """A short label for one configuration, e.g. ``"dpop, access_ttl=15m, rotation"``.

    ``shown`` lists the columns worth showing (those that vary). Model and policy appear
    as bare names; a true/false setting as its name or ``no name``; the rest as ``name=value``.
    """
    parts = []
    for column in shown:
        value = config[column]
        if column in IDENTITY_COLUMNS:
            parts.append(format_value(column, value))
        elif isinstance(value, bool):
            parts.append(column if value else f"no {column}")
        else:
            parts.append(f"{column}={format_value(column, value)}")
    return ", ".join(parts)


def config_labels(table: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One label per row of ``table`` from ``columns``, showing only the columns that vary across rows.

    When nothing varies (one configuration), the policy (else the first column) is shown.
    """
    columns = list(columns)
    shown = [c for c in columns if table[c].nunique(dropna=False) > 1]
    if not shown and columns:
        shown = ["policy"] if "policy" in columns else columns[:1]
    # to_dict gives Python scalars (format_value reads ints and floats); its keys are these str columns
    records = cast("list[dict[str, Any]]", table[columns].to_dict("records"))
    return pd.Series([config_label(rec, shown) for rec in records], index=table.index, dtype=object)
