"""Which columns of a results frame identify a configuration, and a short human label for one.

A configuration is what a user chose: the model, the policy and any policy parameter
or sweep factor that takes more than one value for the same model and policy (for
example ``access_ttl`` in a TTL sweep). Seeds, replications, metrics, hashes and
run bookkeeping never identify a configuration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from tokensim.analysis.checks import require_frame
from tokensim.model.policy import PARAMETERS
from tokensim.model.units import format_duration

#: Columns that always name a configuration when present.
IDENTITY_COLUMNS: tuple[str, ...] = ("model", "policy")

#: Policy parameters measured in hours (labels show them as 5m, 1h, 30d).
DURATION_PARAMETERS: frozenset[str] = frozenset({"access_ttl", "refresh_ttl", "reuse_grace", "proof_window", "jit_ttl"})

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


def _candidates(results: pd.DataFrame) -> list[str]:
    """Columns that may identify a configuration: policy parameters, the horizon, sweep factors."""
    from tokensim.sim.outcome import METRIC_FIELDS

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
        and not (c.startswith("policy.") and c.split(".", 1)[1] in results.columns)
    ]
    return [c for c in params + extra + factors if c not in RUN_COLUMNS]


def configuration_columns(results: pd.DataFrame) -> list[str]:
    """The columns that identify a configuration: ``model``, ``policy`` (when present) and every
    policy parameter, horizon or sweep factor that varies for one model and policy.

    Parameters that only follow from the policy's name (``low_risk`` of ``dpop``) are left out:
    they add nothing to the label and nothing to the grouping.
    """
    results = require_frame(results)
    identity = [c for c in IDENTITY_COLUMNS if c in results.columns]
    candidates = _candidates(results)
    if not candidates:
        return identity
    if identity:
        spread = results.groupby(identity, sort=False, dropna=False)[candidates].nunique(dropna=False).max()
    else:
        spread = results[candidates].nunique(dropna=False)
    return identity + [c for c in candidates if spread[c] > 1]


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


def duration_text(hours: float) -> str:
    """Hours as a short duration: exact units when they fit (15m, 8h, 30d), else 3 significant digits."""
    text = format_duration(hours)
    if not text.endswith("h") or text[:-1].isdigit():
        return text
    for unit, size in (("d", 24.0), ("h", 1.0), ("m", 1 / 60), ("s", 1 / 3600)):
        if hours >= size * (2 if unit == "d" else 1):
            return f"{hours / size:.3g}{unit}"
    return f"{hours * 3600:.3g}s"


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
    records = table[columns].to_dict("records")
    return pd.Series([config_label(rec, shown) for rec in records], index=table.index, dtype=object)
