"""``--where COLUMN=VALUE``: the result rows a figure or report is drawn from (moved from report/figures.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tokensim.errors import InputError


def apply_where(results: pd.DataFrame, assignments: Sequence[str], source: str = "--where") -> pd.DataFrame:
    """Keep the rows matching every ``COLUMN=VALUE`` (durations such as ``15m`` for TTL columns, true/false for flags)."""
    from tokensim.analysis.configurations import DURATION_PARAMETERS, format_value
    from tokensim.model.units import UnitError, parse_duration

    rows = results
    for item in assignments:
        column, sep, text = item.partition("=")
        column, text = column.strip(), text.strip()
        if not sep or not column:
            raise InputError.single(source, item, "expected COLUMN=VALUE, e.g. access_ttl=1h")
        if column not in rows.columns:
            raise InputError.single(source, column, "no such column in the results")
        values = rows[column]
        if pd.api.types.is_bool_dtype(values):
            if text.lower() not in ("true", "false"):
                raise InputError.single(source, column, f"expected true or false, got {text!r}")
            mask = values == (text.lower() == "true")
        elif pd.api.types.is_numeric_dtype(values):
            try:
                duration = column in DURATION_PARAMETERS or column == "horizon_hours"
                number = (
                    parse_duration(text) if duration and not _is_number(text) else float(text)
                )  # bare numbers: hours
            except (UnitError, ValueError):
                raise InputError.single(
                    source,
                    column,
                    f"cannot read {text!r} as a "
                    f"{'duration (e.g. 15m, or hours as a number)' if column in DURATION_PARAMETERS else 'number'}",
                ) from None
            mask = pd.Series(np.isclose(values.to_numpy(float), number, rtol=1e-9, atol=0), index=values.index)
            if not mask.any():  # a value as the error messages and labels print it (3 digits: 38.7)
                mask = values.map(lambda v, column=column: format_value(column, v)) == text
        else:
            mask = values.astype(str) == text
        if not mask.any():
            held = ", ".join(format_value(column, v) for v in pd.unique(values.dropna())[:12])
            raise InputError.single(source, column, f"no rows with {column}={text}; the results hold: {held}")
        rows = rows[mask]
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
