"""The share of a metric a policy removes against a baseline, paired replication by replication.

``1 - mean(policy) / mean(baseline)`` over the replications both ran (common random numbers),
with a percentile bootstrap interval that resamples replications as pairs (SciPy's
`scipy.stats.bootstrap`, ``paired=True``): the ratio of two means has no exact t interval, and
the bootstrap keeps each replication's pairing.

    >>> import pandas as pd
    >>> base = pd.Series([10.0, 12.0, 8.0, 10.0], index=[0, 1, 2, 3])
    >>> r = reduction(base, base / 2, level=0.95)
    >>> round(r.share, 3), round(r.low, 3), round(r.high, 3), r.n
    (0.5, 0.5, 0.5, 4)
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

#: Bootstrap resamples: SciPy's default for `scipy.stats.bootstrap` (its coverage is checked in tests/test_report_v2.py).
RESAMPLES = 9999


class Reduction(NamedTuple):
    """What a policy removes: its share of the baseline's mean, its interval, and the pairs it rests on."""

    share: float  # 1 - mean(policy) / mean(baseline); NaN when the baseline's mean is 0
    low: float
    high: float
    n: int


def reduction(baseline: pd.Series, policy: pd.Series, level: float = 0.95, seed: int = 0) -> Reduction:
    """The share of ``baseline``'s mean that ``policy`` removes, both indexed by replication.

    Only replications both hold count. With fewer than two pairs, or no variation to resample,
    the interval is the point itself when the share is exact, else NaN.
    """
    joined = pd.concat([baseline.rename("b"), policy.rename("p")], axis=1, join="inner").dropna()
    n = len(joined)
    b, p = joined["b"].to_numpy(float), joined["p"].to_numpy(float)
    if n == 0 or b.mean() <= 0:
        return Reduction(math.nan, math.nan, math.nan, n)
    share = float(1.0 - p.mean() / b.mean())
    if n < 2:
        return Reduction(share, math.nan, math.nan, n)
    if (np.ptp(b) == 0 and np.ptp(p) == 0) or np.array_equal(b, p):
        return Reduction(share, share, share, n)
    from scipy.stats import DegenerateDataWarning, bootstrap

    def statistic(bs: np.ndarray, ps: np.ndarray, axis: int) -> np.ndarray:
        means = np.mean(bs, axis=axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(means > 0, 1.0 - np.mean(ps, axis=axis) / means, np.nan)

    with warnings.catch_warnings():  # a policy that removes all (or none) of it gives one value: still its interval
        warnings.simplefilter("ignore", DegenerateDataWarning)
        result = bootstrap(
            (b, p),
            statistic,
            paired=True,
            vectorized=True,
            n_resamples=RESAMPLES,
            confidence_level=level,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return Reduction(share, low, high, n)
