"""Loss in money: annual loss per configuration, its exceedance curve, loss avoided, return on cost.

FAIR's loss event frequency times loss magnitude, with both taken from the simulation rather
than from expert ranges: each run's ``loss`` column prices what its thieves achieved (the
model's ``loss:`` section, tokensim.model.loss), and the runs of one configuration are draws of
the loss over the run's horizon. A year is 365 days (tokensim.model.units).

- Horizon of one year (recommended): each replication is one simulated year, and its loss is
  that year's loss. Exceedance intervals are Clopper-Pearson intervals per threshold (exact
  binomial, over the replications).
- Shorter horizons: a year is composed of k = 1y / horizon runs of the configuration drawn with
  replacement (floor(k) runs, and one more with probability k - floor(k), so the mean is exactly
  k times the mean per run). This assumes the periods of a year are independent and alike (a
  stationary leak process); tenants and records saturate per run, so a composed year can count
  a tenant or record twice (an upper bound where records saturate). A `LossNote` says so.
  Exceedance intervals are then percentile bootstrap intervals over the replications.
- Longer horizons: the expected annual loss is the mean per run over its years; a run longer
  than a year cannot be split, so the distribution and its exceedance are refused.

Every draw of composed years starts from the same seed per configuration, so configurations with
the same replications draw the same replications into each year (common random numbers hold).
Loss avoided against a baseline and the return on switching: tokensim.analysis.loss_avoided.
See docs/analysis.md, section "Loss in money".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from tokensim.analysis.checks import SOURCE, as_list, require_columns, require_frame, require_level
from tokensim.errors import InputError

#: Hours in a year (365 days, as tokensim.model.units reads ``1y``).
HOURS_PER_YEAR = 24.0 * 365
#: Composed years drawn for a distribution, and bootstrap resamples (each of `BOOT_YEARS` years) for an
#: interval (assumption: enough for two-digit percentiles; Monte Carlo noise only widens the band).
YEARS = 10_000
BOOTSTRAP = 200
BOOT_YEARS = 1_000
_CHUNK = 2_000_000  # run draws held at once while composing years (memory bound)
_TOL = 1e-9


class LossNote(UserWarning):
    """What a loss analysis says without stopping: years composed of shorter runs, configurations left out."""


class LossGroup(NamedTuple):
    """The runs of one configuration: its key (values of the grouping columns), losses, runs per year."""

    key: tuple[Any, ...]
    losses: np.ndarray  # one per run, in replication order
    runs_per_year: float  # 1y / horizon


def _note(message: str) -> None:
    warnings.warn(message, LossNote, stacklevel=4)  # the caller of the public function


def require_loss(results: pd.DataFrame) -> pd.DataFrame:
    """The results, if they hold a ``loss`` with values and a ``horizon_hours``; else one clear `InputError`."""
    frame = require_frame(results)
    if "loss" not in frame.columns:
        raise InputError.single(
            SOURCE,
            "loss",
            "no loss column: these results were written before tokensim priced harm in money (simulation "
            "semantics 3, MODEL-v2 section 6), so there is no loss to analyse; run them again on a model with a "
            "`loss:` section (docs/model.md). Every other analysis of them still works",
        )
    require_columns(frame, ["horizon_hours"], "column")
    for column in ("loss", "horizon_hours"):
        if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
            raise InputError.single(SOURCE, column, "is not a numeric column")
    if not frame["loss"].notna().any():
        models = ", ".join(map(str, pd.unique(frame["model"]))) if "model" in frame else "the model"
        raise InputError.single(
            SOURCE,
            "loss",
            f"has no values: {models} has no `loss:` section, so its runs priced nothing; add one "
            "(per_record, per_privileged_request, per_tenant, per_incident: docs/model.md) and run again",
        )
    return frame


def grouping_columns(frame: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    """The columns naming a configuration: ``by`` (checked), or `configuration_columns` by default."""
    from tokensim.analysis.configurations import configuration_columns

    columns = configuration_columns(frame) if by is None else as_list(by)
    if not columns:
        raise InputError.single(SOURCE, "by", "nothing to group by: the results have no model or policy column")
    require_columns(frame, columns, "grouping column")
    return columns


def loss_groups(frame: pd.DataFrame, columns: list[str]) -> list[LossGroup]:
    """One `LossGroup` per configuration with a loss; those without (no `loss:` section) left out with a note."""
    from tokensim.analysis.configurations import config_label

    out, dropped = [], []
    order = "replication" if "replication" in frame.columns else None
    for key, rows in frame.groupby(columns, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        label = config_label(dict(zip(columns, key)), columns)
        rows = rows.sort_values(order, kind="stable") if order else rows
        loss = rows["loss"].to_numpy(float)
        if np.isnan(loss).all():
            dropped.append(label)
            continue
        if np.isnan(loss).any():
            raise InputError.single(
                SOURCE,
                "loss",
                f"{label}: {int(np.isnan(loss).sum())} of {loss.size} runs have no loss (mixed results?)",
            )
        horizons = pd.unique(rows["horizon_hours"])
        if len(horizons) > 1:
            raise InputError.single(
                SOURCE, "horizon_hours", f"{label}: runs of different horizons; add horizon_hours to by"
            )
        if not float(horizons[0]) > 0:
            raise InputError.single(SOURCE, "horizon_hours", f"{label}: must be positive, got {float(horizons[0]):g}")
        out.append(LossGroup(key, loss, HOURS_PER_YEAR / float(horizons[0])))
    if dropped:
        _note(f"left out (no `loss:` section in their model, so no loss): {'; '.join(dropped)}")
    composed = sorted({g.runs_per_year for g in out if abs(g.runs_per_year - 1) > _TOL})
    if composed:
        _note(
            f"runs shorter or longer than a year ({', '.join(f'{k:.3g}' for k in composed)} runs per year): "
            "a year is composed of runs drawn with replacement, assuming its periods independent and alike; "
            "tenants and records saturate per run, so a composed year may count one twice. "
            "A horizon of 1y simulates each year whole"
        )
    return out


def _compose(losses: np.ndarray, runs_per_year: float, years: int, rng: np.random.Generator) -> np.ndarray:
    """``years`` annual losses, each the sum of `runs_per_year` runs drawn with replacement (see module)."""
    if abs(runs_per_year - 1) <= _TOL:
        return losses.copy()
    if runs_per_year < 1:
        raise InputError.single(
            SOURCE,
            "horizon_hours",
            f"runs of {HOURS_PER_YEAR / runs_per_year:g}h are longer than a year: a year's loss cannot be taken "
            "from their totals (the expected annual loss can); run with horizon 1y",
        )
    whole = math.floor(runs_per_year + _TOL)
    frac = runs_per_year - whole if runs_per_year - whole > _TOL else 0.0
    total = np.empty(years)
    step = max(1, _CHUNK // whole)
    for start in range(0, years, step):
        stop = min(years, start + step)
        total[start:stop] = losses[rng.integers(0, losses.size, size=(stop - start, whole))].sum(axis=1)
    if frac:
        extra = rng.random(years) < frac
        total += np.where(extra, losses[rng.integers(0, losses.size, size=years)], 0.0)
    return total


def annual_loss(
    results: pd.DataFrame, by: str | Sequence[str] | None = None, *, years: int = YEARS, seed: int = 0
) -> pd.DataFrame:
    """The annual loss distribution per configuration: one row per (configuration, year), ``annual_loss``.

    With a 1y horizon the years are the replications (``year`` = 0..n-1 in replication order); with a
    shorter one, ``years`` composed years per configuration (see the module), drawn from ``seed``.
    ``by`` defaults to the configuration columns. ``attrs["composed"]`` says whether years were composed.
    """
    frame = require_loss(results)
    columns = grouping_columns(frame, by)
    if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 10**7:
        raise InputError.single(SOURCE, "years", f"must be a whole number of years from 1 to 10^7, got {years!r}")
    parts, composed = [], False
    for group in loss_groups(frame, columns):
        values = _compose(group.losses, group.runs_per_year, years, np.random.default_rng(seed))
        composed |= abs(group.runs_per_year - 1) > _TOL
        part = pd.DataFrame({"year": np.arange(values.size), "annual_loss": values})
        for column, value in zip(reversed(columns), reversed(group.key)):
            part.insert(0, column, value)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.attrs["composed"] = composed
    return out


def expected_annual_loss(
    results: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    quantiles: Sequence[float] = (0.5, 0.9, 0.95, 0.99),
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Per configuration: the expected annual loss with its t interval over replications, and the distribution.

    Columns: the ``by`` columns, ``n`` (runs), ``runs_per_year``, ``annual_loss_mean``, ``_low``, ``_high``
    (the mean per run times runs per year, any horizon; the t interval's lower end clipped at 0, since no
    loss is negative), ``p_any_loss`` (probability of a year with a loss)
    and ``annual_loss_p50`` etc. per quantile (empirical, from the years: with 30 years, p99 is about the
    largest; none for runs longer than a year).
    """
    from tokensim.stats import t_interval

    frame = require_loss(results)
    level = require_level(level)
    columns = grouping_columns(frame, by)
    if not all(isinstance(q, float | int) and not isinstance(q, bool) and 0 <= q <= 1 for q in quantiles):
        raise InputError.single(SOURCE, "quantiles", f"must be shares between 0 and 1, got {list(quantiles)!r}")
    rows = []
    for group in loss_groups(frame, columns):
        k = group.runs_per_year
        mean, low, high = (k * v for v in t_interval(group.losses, level))
        low = max(low, 0.0)  # a loss is never negative: the interval is shown from 0, as the report's are
        row: dict[str, object] = dict(zip(columns, group.key))
        row |= {"n": group.losses.size, "runs_per_year": k}
        row |= {"annual_loss_mean": mean, "annual_loss_low": low, "annual_loss_high": high}
        years = _compose(group.losses, k, YEARS, np.random.default_rng(seed)) if k >= 1 - _TOL else None
        row["p_any_loss"] = float(np.mean(years > 0)) if years is not None else math.nan
        for q in quantiles:
            row[f"annual_loss_p{100 * q:g}"] = float(np.quantile(years, q)) if years is not None else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _clopper_pearson(count: np.ndarray, n: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats

    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        low = np.where(count > 0, stats.beta.ppf(alpha / 2, count, n - count + 1), 0.0)
        high = np.where(count < n, stats.beta.ppf(1 - alpha / 2, count + 1, n - count), 1.0)
    return low, high


def loss_thresholds(results: pd.DataFrame, points: int = 120) -> np.ndarray:
    """Thresholds for an exceedance curve: 0, then ``points`` log-spaced losses from the smallest positive
    loss of one run to the largest a year could hold (runs per year times the largest run loss)."""
    frame = require_loss(results)
    positive = frame.loc[frame["loss"] > 0, ["loss", "horizon_hours"]]
    if positive.empty:
        return np.array([0.0])
    top = float((positive["loss"] * np.maximum(1.0, np.ceil(HOURS_PER_YEAR / positive["horizon_hours"]))).max())
    low = float(positive["loss"].min())
    return np.concatenate([[0.0], np.geomspace(low, max(top, low * 1.0001), int(points))])


def loss_exceedance(
    results: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    thresholds: Sequence[float] | np.ndarray | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """The loss exceedance curve per configuration: P(annual loss > x) on a grid of x, with its interval.

    Columns: the ``by`` columns, ``threshold``, ``probability``, ``ci_low``, ``ci_high``, ``n`` (runs) and
    ``interval`` (``clopper-pearson`` for a 1y horizon, ``bootstrap`` for composed years). Non-increasing
    in the threshold by construction, the interval too. ``thresholds`` default: `loss_thresholds`.
    """
    frame = require_loss(results)
    level = require_level(level)
    columns = grouping_columns(frame, by)
    try:
        grid = loss_thresholds(frame) if thresholds is None else np.sort(np.asarray(thresholds, dtype=float))
    except (TypeError, ValueError):
        raise InputError.single(SOURCE, "thresholds", f"must be finite losses, got {thresholds!r}") from None
    if grid.size == 0 or not np.isfinite(grid).all():
        raise InputError.single(SOURCE, "thresholds", "must be finite losses, at least one")
    parts = []
    for group in loss_groups(frame, columns):
        n, k = group.losses.size, group.runs_per_year
        if abs(k - 1) <= _TOL:
            count = (group.losses[:, None] > grid[None, :]).sum(axis=0)
            probability = count / n
            low, high = _clopper_pearson(count, n, level)
            method = "clopper-pearson"
        else:
            rng = np.random.default_rng(seed)
            probability = (_compose(group.losses, k, YEARS, rng)[:, None] > grid[None, :]).mean(axis=0)
            boot = np.empty((BOOTSTRAP, grid.size))
            for b in range(BOOTSTRAP):
                resample = group.losses[rng.integers(0, n, size=n)]
                boot[b] = (_compose(resample, k, BOOT_YEARS, rng)[:, None] > grid[None, :]).mean(axis=0)
            low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
            method = "bootstrap"
        part = pd.DataFrame(
            {"threshold": grid, "probability": probability, "ci_low": low, "ci_high": high, "n": n, "interval": method}
        )
        for column, value in zip(reversed(columns), reversed(group.key)):
            part.insert(0, column, value)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
