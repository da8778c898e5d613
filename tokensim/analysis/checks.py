"""Input checks shared by the analysis functions: bad input becomes one clear `InputError`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any

import pandas as pd

from tokensim.errors import InputError

#: The ``source`` of analysis input errors (there is no file: the input is a DataFrame).
SOURCE = "results"


def require_frame(results: Any) -> pd.DataFrame:
    """The results as a non-empty DataFrame, or an InputError saying what was passed instead."""
    if not isinstance(results, pd.DataFrame):
        raise InputError.single(SOURCE, "", f"expected a pandas DataFrame of result rows, got {type(results).__name__}")
    if results.empty:
        raise InputError.single(SOURCE, "", "no result rows to analyse")
    return results


def require_columns(results: pd.DataFrame, columns: Iterable[str], what: str = "column") -> None:
    """Every named column must exist; the error lists the missing ones and the metric columns there are."""
    from tokensim.outcome import METRIC_FIELDS

    missing = [c for c in columns if c not in results.columns]
    if missing:
        present = [m for m in METRIC_FIELDS if m in results.columns]
        hint = (
            f"; metrics present: {', '.join(present)}"
            if present
            else f"; columns present: {', '.join(map(str, results.columns))}"
        )
        raise InputError.single(SOURCE, ", ".join(map(str, missing)), f"no such {what} in the results{hint}")


def as_list(value: str | Sequence[str] | None) -> list[str]:
    """A column name or a sequence of names as a list (None: empty)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def require_level(level: Any) -> float:
    """A confidence level strictly between 0 and 1."""
    if isinstance(level, bool) or not isinstance(level, Real) or not 0 < float(level) < 1:
        raise InputError.single(SOURCE, "level", f"confidence level must be a number between 0 and 1, got {level!r}")
    return float(level)


def require_positive(value: Any, name: str) -> float:
    """A finite number above zero (booleans and strings refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(float(value))
        or not float(value) > 0
    ):
        raise InputError.single(SOURCE, name, f"must be a positive number, got {value!r}")
    return float(value)


def require_numeric(results: pd.DataFrame, columns: Iterable[str]) -> None:
    """Each named column must hold numbers (booleans and text refused), for the axes of a front."""
    text = [
        c for c in columns if not pd.api.types.is_numeric_dtype(results[c]) or pd.api.types.is_bool_dtype(results[c])
    ]
    if text:
        raise InputError.single(
            SOURCE, ", ".join(map(str, text)), "is not a numeric column: a Pareto front needs numbers on both axes"
        )
