"""Factor columns of a results frame typed so they sort by value, not as text.

A factor's column holds its values as the experiment file wrote them (``"15m"``,
``"1h"``, ``"3/day"``): the label a reader recognises. As text they sort ``15m, 1h,
5m, 8h``. Every loaded frame therefore makes a unit-valued factor column an ordered
categorical whose categories are its labels in order of the hours (or rate per hour)
they stand for: ``sort_values`` and ``groupby`` list ``5m, 15m, 1h, 8h``, while each value is
still its label (``frame[col] == "15m"`` works). Folders of different experiments have
different categories: ``pd.concat`` of their frames gives text again, and comparing their
columns needs ``.astype(str)`` (or `pandas.api.types.union_categoricals`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from tokensim.model.units import UnitError, parse_duration, parse_rate


def magnitude(label: object) -> float | None:
    """The number a factor label stands for (a number, a duration in hours, a rate per hour); None for text.

    >>> magnitude("15m"), magnitude("3/day"), magnitude("2.5"), magnitude("fallback")
    (0.25, 0.125, 2.5, None)
    """
    if not isinstance(label, str):
        return None
    try:
        return float(label)
    except ValueError:
        pass
    try:
        return parse_rate(label) if "/" in label else parse_duration(label)
    except UnitError:
        return None


def ordered_labels(labels: Iterable[object]) -> list[str] | None:
    """``labels`` in order of what they stand for (ties keep their first order), or None if any is not a unit value."""
    distinct = list(dict.fromkeys(labels))
    values = [magnitude(label) for label in distinct]
    if not distinct or any(v is None for v in values):
        return None
    order = sorted(range(len(distinct)), key=lambda i: values[i])  # type: ignore[arg-type,return-value]
    return [str(distinct[i]) for i in order]


def is_factor_column(name: object) -> bool:
    """A factor's column: a dotted path (`policy.access_ttl`, `nodes.edge.leaks[0].rate`); no record field has a dot."""
    return isinstance(name, str) and "." in name


def declared_levels(factors: Mapping[str, object]) -> dict[str, list[object]]:
    """The values an experiment's grid factors declare (``factors:`` lists; a sampled range declares none)."""
    return {name: list(values) for name, values in factors.items() if isinstance(values, (list, tuple))}


def typed_factors(frame: pd.DataFrame, levels: Mapping[str, Sequence[object]] | None = None) -> pd.DataFrame:
    """``frame`` with each text factor column whose values are all numbers or unit strings an ordered categorical.

    The categories are the factor's declared ``levels`` (the experiment's list) and any other
    value the column holds, in order of what they stand for: a folder still being filled has
    the dtype of the finished one, so the two compare and concatenate as one. Numeric columns
    (sampled designs) and text factors (``fallback``, ``fail``) are left as they are.
    """
    changed = {}
    for name in frame.columns:
        column = frame[name]
        if not is_factor_column(name) or pd.api.types.is_numeric_dtype(column):
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            continue
        order = ordered_labels([*(levels or {}).get(str(name), ()), *column.dropna()])
        if order is not None:
            changed[str(name)] = pd.Categorical(column, categories=order, ordered=True)
    return frame.assign(**changed) if changed else frame
