"""The tradeoff between blast radius and integration cost: the Pareto front and its knee.

Both axes are minimised. A configuration is on the front when no other configuration
is at least as good on both axes and strictly better on one (ties on both axes stay on
the front together). The knee is the front's point of best compromise: on axes scaled
to [0, 1] over the front, the point farthest below the chord joining the front's two
ends (cheapest and safest), i.e. where paying more stops buying much less blast radius.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from tokensim.analysis.checks import SOURCE, as_list, require_columns, require_frame, require_numeric
from tokensim.analysis.configurations import config_labels, configuration_columns
from tokensim.analysis.intervals import interval_table
from tokensim.errors import InputError


def pareto_front(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The rows of ``table`` not dominated on columns ``x`` and ``y`` (both minimised), sorted by x then y.

    Rows with a missing x or y are never on the front. Rows identical on (x, y) are all kept.
    The index labels of ``table`` are kept, so ``table.loc[front.index]`` finds them.
    """
    require_columns(table, [x, y], "column")
    require_numeric(table, [x, y])
    points = table[[x, y]].astype(float).dropna()
    values = points.to_numpy(dtype=float)
    # j dominates i when j <= i on both axes and j < i on one of them.
    le = np.all(values[None, :, :] <= values[:, None, :], axis=2)
    lt = np.any(values[None, :, :] < values[:, None, :], axis=2)
    dominated = np.any(le & lt, axis=1)
    front: pd.DataFrame = table.loc[points.index[~dominated]]
    return front.sort_values([x, y], kind="stable")


def knee_point(front: pd.DataFrame, x: str, y: str) -> Hashable:
    """Index label of the knee of a Pareto front (as returned by `pareto_front`).

    Both axes are min-max scaled over the front. With at least three distinct points the knee
    is the point farthest from the chord between the two ends, on the side of the utopia point
    (lowest x and lowest y); when no point lies on that side (a straight or concave front) or
    the front has fewer than three distinct points, it is the point closest to the utopia point.
    Ties there go to the safer point (lower y): on an L-shaped front (cheap and exposed, or
    dearer and safe) the knee is the point that removes the exposure, the choice a security
    review asks about; identical points keep the front's order.
    """
    require_columns(front, [x, y], "column")
    require_numeric(front, [x, y])
    points = front[[x, y]].astype(float).dropna()
    if points.empty:
        raise InputError.single(SOURCE, "", f"no points with both {x} and {y}: the front is empty")
    values = points.to_numpy()
    low, span = values.min(axis=0), np.ptp(values, axis=0)
    scaled = np.divide(values - low, span, out=np.zeros_like(values), where=span > 0)
    distinct = len(np.unique(values, axis=0))
    if distinct >= 3:
        # Sorted by x, the ends of a front are (0, 1) and (1, 0): the chord is x + y = 1,
        # and the distance below it (towards the utopia point) is (1 - x - y) / sqrt(2).
        below = (1.0 - scaled.sum(axis=1)) / np.sqrt(2.0)
        if below.max() > 1e-12:
            farthest: Hashable = points.index[int(np.argmax(below))]
            return farthest
    utopia = np.hypot(scaled[:, 0], scaled[:, 1])
    closest = np.flatnonzero(utopia <= utopia.min() + 1e-12)
    nearest: Hashable = points.index[int(closest[np.argmin(scaled[closest, 1])])]
    return nearest


def tradeoff_table(
    results: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    x: str = "integration_cost",
    y: str = "blast_radius",
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per configuration: its label, replication count, means and intervals of x and y, and
    whether it is on the Pareto front (``pareto``) and the front's knee (``knee``, exactly one row;
    with several models, one front and one knee per model).

    Columns: the ``by`` columns (default: `configuration_columns`), ``label``, ``n``,
    ``{y}_mean``, ``{y}_low``, ``{y}_high``, ``{x}_mean``, ``{x}_low``, ``{x}_high``, ``pareto``, ``knee``.
    The front and knee are taken on the means; intervals are Student t over replications.
    """
    results = require_frame(results)
    require_columns(results, [x, y], "metric column")
    columns = configuration_columns(results) if by is None else as_list(by)
    table = interval_table(results, [y, x], by=columns, level=level)
    table.insert(len(columns), "label", config_labels(table, columns))
    table["pareto"] = False
    table["knee"] = False
    # Architectures are not alternatives to each other: with several models, one front (and knee) per model.
    per_model = "model" in columns and table["model"].nunique(dropna=False) > 1
    for _, part in table.groupby("model", sort=False, dropna=False) if per_model else [(None, table)]:
        front = pareto_front(part, f"{x}_mean", f"{y}_mean")
        table.loc[front.index, "pareto"] = True
        if not front.empty:
            table.loc[knee_point(front, f"{x}_mean", f"{y}_mean"), "knee"] = True
    return table
