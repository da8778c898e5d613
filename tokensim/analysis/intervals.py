"""Means with Student-t confidence intervals, and paired differences between policies.

Replication r of every policy sees the same leaks (common random numbers), so the
difference between two policies is taken replication by replication: its interval
is much tighter than comparing two independent means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(values: Sequence[float] | np.ndarray | pd.Series, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the two ends of its t-interval (NaN values are ignored; one value gives a zero-width interval)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (float("nan"),) * 3
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    sem = float(x.std(ddof=1) / np.sqrt(x.size))
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * sem)
    return mean, mean - half, mean + half


def summarise(frame: pd.DataFrame, metrics: Sequence[str], by: Sequence[str] = ("policy",), level: float = 0.95) -> pd.DataFrame:
    """One row per group and metric: n, mean, ci_low, ci_high (groups in order of appearance)."""
    rows = []
    for key, group in frame.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            mean, low, high = mean_ci(group[metric], level)
            rows.append({**dict(zip(by, key)), "metric": metric, "n": int(group[metric].notna().sum()),
                         "mean": mean, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def paired_differences(frame: pd.DataFrame, metrics: Sequence[str], baseline: str, *, pair_on: Sequence[str] = ("replication",),
                       by: str = "policy", level: float = 0.95) -> pd.DataFrame:
    """Per policy and metric: mean of (policy - baseline) over paired replications, with its interval."""
    base = frame[frame[by] == baseline].set_index(list(pair_on))
    rows = []
    for name, group in frame.groupby(by, sort=False):
        if name == baseline:
            continue
        joined = group.set_index(list(pair_on)).join(base[list(metrics)], rsuffix="__base", how="inner")
        for metric in metrics:
            diff = joined[metric] - joined[f"{metric}__base"]
            mean, low, high = mean_ci(diff, level)
            rows.append({by: name, "baseline": baseline, "metric": metric, "n": int(diff.notna().sum()),
                         "mean_difference": mean, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)
