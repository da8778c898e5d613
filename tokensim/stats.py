"""The Student t interval of a sample: one rule shared by the analysis and sequential stopping.

A leaf module (numpy only at import) so that `tokensim.experiment`, which stops sweeps on
this interval, does not import `tokensim.analysis`, which itself reads experiments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd


class Estimate(NamedTuple):
    """A mean and the two ends of its confidence interval (unpacks as ``mean, low, high``)."""

    mean: float
    low: float
    high: float


def t_interval(values: Sequence[float] | np.ndarray | pd.Series, level: float = 0.95) -> Estimate:
    """Mean and the two ends of its t-interval at ``level`` (unchecked: 0 < level < 1).

    NaN values are ignored; one value gives a zero-width interval, none gives NaNs.
    """
    # scipy.stats takes over a second to import: only load it when an interval is computed.
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Estimate(math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if x.size == 1:
        return Estimate(mean, mean, mean)
    sem = float(x.std(ddof=1) / np.sqrt(x.size))
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * sem)
    return Estimate(mean, mean - half, mean + half)
