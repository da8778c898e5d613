"""Expected annual loss avoided against a baseline policy, and the return on the cost of switching.

Both pair the runs of each policy with the baseline's on the replication (common random numbers:
replication r of every policy sees the same leaks), as `tokensim.analysis.paired_differences` does,
on the annual loss of each run (its loss times runs per year, `tokensim.analysis.loss`). Cost turns
into money with a day rate (the model's ``loss.day_rate``; several models may share a frame, so it
is an argument). See docs/analysis.md, section "Loss in money".
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tokensim.analysis.checks import SOURCE, as_list, require_columns, require_level, require_positive
from tokensim.analysis.loss import HOURS_PER_YEAR, grouping_columns, loss_groups, require_loss
from tokensim.errors import InputError


def loss_avoided(
    results: pd.DataFrame,
    baseline: str,
    *,
    by: str = "policy",
    within: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Expected annual loss avoided against the ``baseline`` policy, paired on replications (common random
    numbers): per policy, the mean of (baseline - policy) annual loss with its paired t interval.

    ``within`` (default: the other configuration columns, e.g. model and a swept TTL) are held fixed.
    Columns: the ``within`` columns, ``by``, ``baseline``, ``n``, ``loss_avoided``, ``ci_low``, ``ci_high``
    (positive: the policy loses less than the baseline).
    """
    from tokensim.analysis.intervals import paired_differences

    frame = require_loss(results)
    held = [c for c in grouping_columns(frame, None) if c != by] if within is None else as_list(within)
    require_columns(frame, [*held, by], "grouping column")
    if not loss_groups(frame, [*held, by]):  # the checks and notes; rows without a loss are left out
        raise InputError.single(SOURCE, "loss", "no configuration has a loss")
    frame = frame[frame["loss"].notna()]
    annual = frame.assign(_annual_loss=frame["loss"] * HOURS_PER_YEAR / frame["horizon_hours"])
    diffs = paired_differences(annual, "_annual_loss", baseline, by=by, within=held, level=level)
    if diffs.empty:
        return pd.DataFrame(columns=[*held, by, "baseline", "n", "loss_avoided", "ci_low", "ci_high"])
    out = diffs.drop(columns="metric").rename(columns={"mean_difference": "loss_avoided"})
    out["loss_avoided"] = 0.0 - out["loss_avoided"]  # 0.0 - x: no -0.0 when nothing is avoided
    out["ci_low"], out["ci_high"] = 0.0 - diffs["ci_high"], 0.0 - diffs["ci_low"]
    return out.reset_index(drop=True)


def return_on_cost(
    results: pd.DataFrame,
    baseline: str,
    day_rate: float,
    years: float = 1,
    *,
    by: str = "policy",
    within: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Loss avoided over ``years`` per unit of money spent moving from ``baseline`` to each policy.

    Cost in money = ``day_rate`` x (``engineering_cost`` + ``years`` x ``recurring_cost``): the person-days
    of work, one-off and per year (cost model version 2; ``recurring_cost`` counts when the results have
    it). Not the composite ``integration_cost``: its cost points already hold `recurring.years` of
    recurring work and weigh latency and availability, which a day rate does not price. The baseline's
    cost is subtracted (what switching costs). Columns: those of
    `loss_avoided`, then ``cost`` (money over the years), ``loss_avoided_total`` with ``_low``, ``_high``
    (over the years), ``net_benefit`` (avoided minus cost) with its interval, ``return_on_cost`` (avoided
    / cost, with ``_low``, ``_high``; NaN when switching costs nothing or less). No discounting.
    """
    rate = require_positive(day_rate, "day_rate")
    span = require_positive(years, "years")
    level = require_level(level)
    frame = require_loss(results)
    require_columns(frame, ["engineering_cost"], "cost column")
    recurring = frame["recurring_cost"] if "recurring_cost" in frame.columns else 0.0
    priced = frame.assign(_cost=rate * (frame["engineering_cost"] + span * recurring))
    avoided = loss_avoided(priced, baseline, by=by, within=within, level=level)
    held = [c for c in avoided.columns if c not in (by, "baseline", "n", "loss_avoided", "ci_low", "ci_high")]
    costs = priced.groupby([*held, by], sort=False, dropna=False)["_cost"].mean().reset_index()
    base = costs[costs[by] == baseline].drop(columns=by).rename(columns={"_cost": "_base"})
    out = avoided.merge(costs, on=[*held, by], how="left")
    out = out.merge(base, on=held, how="left") if held else out.assign(_base=float(base["_base"].iloc[0]))
    out["cost"] = out.pop("_cost") - out.pop("_base")
    paid = out["cost"].where(out["cost"] > 0)
    for name, column in (("", "loss_avoided"), ("_low", "ci_low"), ("_high", "ci_high")):
        out[f"loss_avoided_total{name}"] = span * out[column]
    for name in ("", "_low", "_high"):
        out[f"net_benefit{name}"] = out[f"loss_avoided_total{name}"] - out["cost"]
    for name in ("", "_low", "_high"):
        out[f"return_on_cost{name}"] = out[f"loss_avoided_total{name}"] / paid
    return out
