"""Checks and small conversions shared by the figures (DataFrames in, clear errors out)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from tokensim.analysis.configurations import config_label, pooled_columns
from tokensim.errors import InputError, Problem
from tokensim.model.units import UnitError, parse_duration


def require(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    """Raise an InputError naming every missing column."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError.single(source, "", f"expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns[:12])) + (", ..." if len(frame.columns) > 12 else "")
        raise InputError(
            source, [Problem(c, f"column missing (the frame has: {have or 'no columns'})") for c in missing]
        )
    if frame.empty:
        raise InputError.single(source, "", "no rows to plot")


def check_not_pooled(frame: pd.DataFrame, keys: Sequence[str], source: str, hint: str) -> None:
    """Refuse to average over configurations: every configuration column must be constant per ``keys`` cell."""
    varying = pooled_columns(frame, keys)
    if varying:
        raise InputError.single(
            source,
            varying[0],
            f"{', '.join(varying)} varies within one plotted point, so it would be "
            f"averaged over; filter the rows or {hint}",
        )


def hours(values: pd.Series, source: str) -> pd.Series:
    """A duration column in hours: numbers are hours, strings such as `15m` are parsed."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    try:
        return values.map(parse_duration).astype(float)
    except UnitError as err:
        raise InputError.single(source, str(values.name), str(err)) from None


def floor_of(metric: str) -> float | None:
    """0 for tokensim's outcome metrics (none can be negative), else no floor."""
    from tokensim.outcome import METRIC_FIELDS

    return 0.0 if metric in METRIC_FIELDS else None


def ci_errors(mean: ArrayLike, low: ArrayLike, high: ArrayLike, floor: float | None = None) -> NDArray[np.float64]:
    """Asymmetric error-bar lengths (2 x n) from a mean and its interval (NaN ends give no bar).

    With a ``floor`` the lower end is clipped there, as the command line prints it: the
    t interval of a heavy-tailed non-negative metric can reach below zero, its mean cannot.
    """
    low = np.asarray(low, float)
    if floor is not None:
        low = np.maximum(low, floor)
    below = np.nan_to_num(np.asarray(mean, float) - low, nan=0.0)
    above = np.nan_to_num(np.asarray(high, float) - np.asarray(mean, float), nan=0.0)
    return np.vstack([below, above])


def group_label(keys: Sequence[str], values: Sequence[object]) -> str:
    """A group's label as the analysis layer writes it: `dpop`, `dpop, rotation`, `bearer, access_ttl=15m`."""
    return config_label(dict(zip(keys, values)), list(keys))
