"""Means with Student-t confidence intervals, and paired differences between policies.

Each replication is one independent draw of a metric, so the interval of a mean over
n replications is the Student t interval ``mean +- t(level, n-1) * sd / sqrt(n)``.

Replication r of every policy sees the same leaks (common random numbers), so the
difference between two policies is taken replication by replication: its interval
is much tighter than comparing two independent means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from tokensim.analysis.checks import SOURCE, as_list, require_columns, require_frame, require_level
from tokensim.errors import InputError
from tokensim.stats import t_interval


def mean_ci(values: Sequence[float] | np.ndarray | pd.Series, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the two ends of its t-interval (NaN values are ignored; one value gives a zero-width interval)."""
    return t_interval(values, require_level(level))


def _half_widths(n: pd.Series | np.ndarray, sd: pd.Series | np.ndarray, level: float) -> np.ndarray:
    """Half-widths of t-intervals, vectorised; zero for one value (as `mean_ci`), NaN for none."""
    n = np.asarray(n, dtype=float)
    sd = np.nan_to_num(np.asarray(sd, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = stats.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, 1))
        half = np.where(n > 1, t * sd / np.sqrt(n), 0.0)
    return np.where(n > 0, half, np.nan)


def _metric_columns(frame: pd.DataFrame, metrics: str | Sequence[str] | None) -> list[str]:
    """The metrics to analyse: the named ones (checked), or every outcome metric the frame has."""
    from tokensim.outcome import METRIC_FIELDS

    if metrics is None:
        found = [m for m in METRIC_FIELDS if m in frame.columns]
        if not found:
            raise InputError.single(
                SOURCE, "", "no metric columns in the results; expected some of: " + ", ".join(METRIC_FIELDS)
            )
        return found
    names = as_list(metrics)
    require_columns(frame, names, "metric column")
    text = [m for m in names if not pd.api.types.is_numeric_dtype(frame[m]) or pd.api.types.is_bool_dtype(frame[m])]
    if text:
        raise InputError.single(SOURCE, ", ".join(text), "is not a numeric metric column")
    return names


def _grouping(frame: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    from tokensim.analysis.configurations import configuration_columns

    columns = configuration_columns(frame) if by is None else as_list(by)
    if not columns:
        raise InputError.single(
            SOURCE, "by", "nothing to group by: the results have no model or policy column; name the columns"
        )
    require_columns(frame, columns, "grouping column")
    return columns


def interval_table(
    frame: pd.DataFrame,
    metrics: str | Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Wide summary: one row per group, columns ``n`` then ``{metric}_mean``, ``_low``, ``_high`` per metric.

    ``by`` defaults to the configuration columns (`configuration_columns`), ``metrics`` to
    every outcome metric present. ``n`` counts rows in the group; a metric's interval ignores
    its NaN values (e.g. ``time_to_containment_hours`` of runs without a detection).
    Groups keep their order of first appearance.
    """
    frame = require_frame(frame)
    level = require_level(level)
    names = _metric_columns(frame, metrics)
    columns = _grouping(frame, by)
    grouped = frame.groupby(columns, sort=False, dropna=False)
    stats_ = grouped[names].agg(["count", "mean", "std"])
    out = grouped.size().rename("n").to_frame()
    for metric in names:
        mean = stats_[(metric, "mean")]
        half = _half_widths(stats_[(metric, "count")], stats_[(metric, "std")], level)
        out[f"{metric}_mean"] = mean.to_numpy()
        out[f"{metric}_low"] = mean.to_numpy() - half
        out[f"{metric}_high"] = mean.to_numpy() + half
    return out.reset_index()


def summarise(
    frame: pd.DataFrame,
    metrics: str | Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Long summary: one row per group and metric with ``n``, ``mean``, ``ci_low``, ``ci_high``.

    ``metrics=None`` summarises every outcome metric present; ``by=None`` (the default) groups
    by the configuration columns (model, policy and whatever a sweep varied), so that different
    models and settings are never pooled into one mean unless ``by`` asks for it. Groups keep
    their order of first appearance; ``n`` counts the metric's non-missing values.
    """
    frame = require_frame(frame)
    level = require_level(level)
    names = _metric_columns(frame, metrics)
    columns = _grouping(frame, by)
    stats_ = frame.groupby(columns, sort=False, dropna=False)[names].agg(["count", "mean", "std"])
    keys = stats_.index.to_frame(index=False)
    parts = []
    for metric in names:
        n = stats_[(metric, "count")].to_numpy()
        mean = stats_[(metric, "mean")].to_numpy()
        half = _half_widths(n, stats_[(metric, "std")], level)
        parts.append(
            keys.assign(
                metric=metric,
                n=n.astype(int),
                mean=mean,
                ci_low=mean - half,
                ci_high=mean + half,
                _order=np.arange(len(keys)),
            )
        )
    out = pd.concat(parts, ignore_index=True).sort_values("_order", kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def design_average(
    frame: pd.DataFrame,
    metrics: str | Sequence[str] | None = None,
    by: str | Sequence[str] = ("model", "policy"),
    *,
    over: str = "design_point",
    replication: str = "replication",
) -> pd.DataFrame:
    """One row per configuration (``by``) and replication: each metric averaged over the design points.

    For sampled designs (Latin hypercube, Sobol, Morris), whose factors are uncertainties
    drawn from ranges. Every design point runs replication r on the same random streams
    (common random numbers), so the rows of one replication are not independent draws and a
    t-interval over design points x replications has no valid meaning (it can be too narrow
    or too wide). Averaged over the design, each replication gives one independent value; a
    t-interval over these (n = replications) is an interval for the mean over *this design's
    points*. It leaves out the error of sampling the factors: another sample of points would
    move the mean.

    Only replications that cover every design point of their model (as many as the frame
    holds for that model) are kept, so each average is over the same points; the number of
    rows left out is in ``result.attrs["left_out_rows"]``. A group with no complete
    replication (an interrupted sweep) is an `InputError`. A metric missing at some points
    (``time_to_containment_hours`` of runs without a detection) is averaged over the points
    where it has a value. ``design_points`` counts the points of each average.
    """
    frame = require_frame(frame)
    names = _metric_columns(frame, metrics)
    keys = as_list(by)
    if not keys:
        raise InputError.single(
            SOURCE, "by", "name the configuration columns to average within, e.g. ('model', 'policy')"
        )
    require_columns(frame, [*keys, over, replication], "column")
    grouped = frame.groupby([*keys, replication], sort=False, dropna=False)
    out = grouped[names].mean()
    out.insert(0, "design_points", grouped[over].nunique())
    out["_rows"] = grouped.size()
    # The design's points: per model (every model runs the same design), else over the frame.
    if "model" in keys:
        points = frame.groupby("model", sort=False, dropna=False)[over].nunique()
        total = np.asarray(out.index.get_level_values("model").map(points))  # type: ignore[arg-type]  # pandas-stubs: Index.map takes a Series too
    else:
        total = np.asarray(frame[over].nunique())
    full = out["design_points"].to_numpy() == total
    complete = pd.Series(full, index=out.index).groupby(level=keys, sort=False, dropna=False).any()
    if not complete.all():
        key = complete.index[~complete.to_numpy()][0]
        key = key if isinstance(key, tuple) else (key,)
        named = ", ".join(f"{c} {v!r}" for c, v in zip(keys, key))
        raise InputError.single(
            SOURCE,
            over,
            f"{named}: no replication covers every design point of its model "
            "(an interrupted sweep? resume it), so there is no average over the design to compare",
        )
    kept: pd.DataFrame = out[full]  # a boolean mask: rows (pandas-stubs types it Any)
    result = kept.drop(columns="_rows").reset_index()
    result.attrs["left_out_rows"] = int(out.loc[~full, "_rows"].sum())
    return result


def paired_differences(
    frame: pd.DataFrame,
    metrics: str | Sequence[str] | None,
    baseline: str,
    *,
    pair_on: str | Sequence[str] = ("replication",),
    by: str = "policy",
    within: str | Sequence[str] = (),
    level: float = 0.95,
) -> pd.DataFrame:
    """Per policy (``by``) and metric: mean of (policy - baseline) over paired replications, with its interval.

    Rows pair when they agree on ``pair_on`` (the replication: common random numbers) and on
    ``within``, the columns held fixed in the comparison (e.g. ``["model", "access_ttl"]``
    gives one difference per model and TTL). A pair key must name one row of each policy: if a
    policy repeats a key (a sweep), add the swept columns (or ``design_point``) to ``within``.
    """
    frame = require_frame(frame)
    level = require_level(level)
    names = _metric_columns(frame, metrics)
    pairs, held = as_list(pair_on), as_list(within)
    require_columns(frame, [by, *pairs, *held], "column")
    keys = held + pairs
    if baseline not in set(frame[by]):
        known = ", ".join(map(str, pd.unique(frame[by])))
        raise InputError.single(SOURCE, "baseline", f"unknown baseline {by} {baseline!r}; the results hold: {known}")
    base = frame[frame[by] == baseline]
    if base.duplicated(keys).any():
        raise InputError.single(
            SOURCE,
            "pair_on",
            f"the baseline {baseline!r} has several rows per ({', '.join(keys)}): "
            "add the columns a sweep varied (or design_point) to `within`",
        )
    base = base.set_index(keys)[names].add_suffix("__base")
    rows = []
    for name, group in frame.groupby(by, sort=False):
        if name == baseline:
            continue
        if group.duplicated(keys).any():  # two settings of one policy would be pooled into one mean
            raise InputError.single(
                SOURCE,
                "pair_on",
                f"{by} {name!r} has several rows per ({', '.join(keys)}): "
                "add the columns a sweep varied (or design_point) to `within`",
            )
        joined = group.set_index(keys)[names].join(base, how="inner")
        subgroups = joined.groupby(level=held, sort=False, dropna=False) if held else [((), joined)]
        for fixed, part in subgroups:
            fixed = fixed if isinstance(fixed, tuple) else (fixed,)
            for metric in names:
                diff = part[metric] - part[f"{metric}__base"]
                mean, low, high = mean_ci(diff, level)
                rows.append(
                    {
                        **dict(zip(held, fixed)),
                        by: name,
                        "baseline": baseline,
                        "metric": metric,
                        "n": int(diff.notna().sum()),
                        "mean_difference": mean,
                        "ci_low": low,
                        "ci_high": high,
                    }
                )
    return pd.DataFrame(rows)
