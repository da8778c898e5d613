"""Robustness across sampled worlds: each policy's regret per world, and minimax regret and satisficing over them.

A *world* is one setting of the uncertain factors: a design point of a model (``model``,
``design_point``). A sampled sweep (``lhs``, ``sobol``) over threat or attacker factors runs
every policy in every world on common random numbers, so the policies of a world are compared
on the same replications (paired). Lower metric values are better (blast radius, loss).

- regret of a policy in a world = its mean metric there minus the lowest mean of any policy
  in that world (Savage's regret: what choosing it costs against hindsight);
- minimax regret (Savage): prefer the policy whose *largest* regret over the worlds is least;
- satisficing (Simon): prefer the policy that meets a target (mean metric at most the
  target) in the largest share of worlds.

These are the robustness metrics of robust decision making (Lempert et al.) and of EMA
Workbench's robustness functions; see docs/analysis.md, section "Robustness".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Literal

import pandas as pd

from tokensim.analysis.checks import SOURCE, require_columns, require_frame, require_level, require_positive
from tokensim.analysis.configurations import pooled_columns
from tokensim.analysis.recommend import Question, Recommendation
from tokensim.analysis.text import ci_text, number
from tokensim.display import plain_value
from tokensim.errors import InputError
from tokensim.stats import Estimate, t_interval

#: The columns naming a world by default: a design point of a model.
WORLD: tuple[str, ...] = ("model", "design_point")
#: World columns that may be absent: a grid without design points (each model is one world), a frame without models.
OPTIONAL_WORLD: frozenset[str] = frozenset(WORLD)
#: What `recommend_robust` can rank by.
RobustRank = Literal["max_regret", "satisficing"]


def _world_columns(results: pd.DataFrame, world: Sequence[str], by: str, replication: str) -> list[str]:
    """The world columns the results have; a missing optional one (``design_point``, ``model``) is dropped."""
    columns = [world] if isinstance(world, str) else list(world)
    if by in columns or replication in columns:
        raise InputError.single(SOURCE, "world", f"a world cannot be named by the {by!r} or {replication!r} column")
    require_columns(results, [c for c in columns if c not in OPTIONAL_WORLD], "world column")
    return [c for c in columns if c in results.columns]


def _check_metric(results: pd.DataFrame, metric: str, by: str, replication: str) -> None:
    """The metric, policy and replication columns exist; the metric holds numbers; two policies or more."""
    require_columns(results, [metric], "metric column")
    require_columns(results, [by, replication])
    numeric = pd.api.types.is_numeric_dtype(results[metric]) and not pd.api.types.is_bool_dtype(results[metric])
    if not numeric:
        raise InputError.single(SOURCE, metric, "is not a numeric metric column")
    policies = results[by].dropna().unique()
    if len(policies) < 2:
        raise InputError.single(
            SOURCE, by, f"regret compares policies: need at least two, got {', '.join(map(str, policies)) or 'none'}"
        )


def paired_rows(
    results: pd.DataFrame, metric: str, by: str, world: list[str], replication: str, carry: Sequence[str] = ()
) -> pd.DataFrame:
    """The rows of replications that every policy of the model holds in that world, with a value of the metric.

    Regret compares policies within a world on common random numbers, so a replication one
    policy lacks (or has no value for) is left out for all of them; a world that is left with
    none is left out. ``attrs`` counts ``left_out_rows`` and ``left_out_worlds``. Several rows
    for one world, policy and replication are refused: they would be averaged over a setting.
    """
    keys = [*world, by, replication]
    frame = results.dropna(subset=[metric])
    if frame.duplicated(keys).any():
        varying = pooled_columns(frame, keys)
        why = f"{', '.join(varying)} varies within them" if varying else "the same run twice"
        raise InputError.single(
            SOURCE,
            varying[0] if varying else replication,
            f"several rows per world, {by} and {replication} ({why}): they would be averaged over; "
            "keep the rows of one setting, or name the column in `world` if it is an uncertain factor",
        )
    scope = frame.groupby("model", sort=False)[by].transform("nunique") if "model" in world else frame[by].nunique()
    held = frame.groupby([*world, replication], sort=False, dropna=False)[by].transform("nunique")
    paired = frame.loc[held == scope, [*keys, metric, *[c for c in carry if c not in keys and c != metric]]]
    if paired.empty:
        raise InputError.single(SOURCE, replication, f"no {replication} is held by every {by} in any world")
    paired.attrs["left_out_rows"] = int(len(results) - len(paired))
    paired.attrs["left_out_worlds"] = (
        len(frame.drop_duplicates(world)) - len(paired.drop_duplicates(world)) if world else 0
    )
    return paired


def regret(
    results: pd.DataFrame,
    metric: str = "blast_radius",
    by: str = "policy",
    world: Sequence[str] = WORLD,
    replication: str = "replication",
    target: float | None = None,
) -> pd.DataFrame:
    """One row per world and policy: the world columns, ``by``, ``{metric}``, ``replications``, ``best``,
    ``regret``, ``relative_regret`` and, with a ``target``, ``satisfies``.

    ``{metric}`` is the policy's mean over the world's paired replications (`paired_rows`:
    those every policy holds), ``best`` the lowest such mean in the world (lower is better),
    ``regret`` = value - best (>= 0; 0 for the best, ties included), ``relative_regret`` =
    regret / best (NaN when best is 0) and ``satisfies`` = value <= target. Without a
    ``design_point`` column each model is one world. ``attrs`` carries `paired_rows`' counts,
    and the ``metric``, ``by`` and ``target`` (for `tokensim.viz.regret.regret_figure`).
    """
    results = require_frame(results)
    _check_metric(results, metric, by, replication)
    if target is not None:
        target = require_positive(target, "target")
    columns = _world_columns(results, world, by, replication)
    paired = paired_rows(results, metric, by, columns, replication)
    grouped = paired.groupby([*columns, by], sort=False, dropna=False)[metric]
    table = grouped.agg(["mean", "count"]).reset_index().rename(columns={"mean": metric, "count": "replications"})
    # Without world columns the whole frame is one world.
    best = table.groupby(columns, sort=False, dropna=False)[metric].transform("min") if columns else table[metric].min()
    table["best"] = best
    table["regret"] = table[metric] - table["best"]
    table["relative_regret"] = (table["regret"] / table["best"]).where(table["best"] != 0)
    if target is not None:
        table["satisfies"] = table[metric] <= target
    table.attrs = {**paired.attrs, "metric": metric, "by": by, "target": target}
    return table


def _percent_name(p: object) -> str:
    """``regret_p50`` for 0.5; refuses anything that is not a share in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, Real) or not 0 <= float(p) <= 1:
        raise InputError.single(SOURCE, "percentiles", f"each must be a share between 0 and 1, got {p!r}")
    return f"regret_p{float(p) * 100:g}"


def robustness(
    results: pd.DataFrame,
    metric: str = "blast_radius",
    target: float | None = None,
    percentiles: Sequence[float] = (0.5, 0.9),
    by: str = "policy",
    world: Sequence[str] = WORLD,
    replication: str = "replication",
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per policy (per model and policy with several models), the most robust first.

    Columns: ``by``, ``worlds`` (how many), ``mean_regret``, ``max_regret``, ``regret_p50``,
    ``regret_p90`` (one per percentile, named by percent), ``share_best`` (the share of worlds
    where its regret is 0, ties included) and, with a ``target``, ``satisficing_share`` (the
    share of worlds whose mean metric is at most the target) with its Clopper-Pearson interval
    at ``level`` (``satisficing_low``, ``satisficing_high``; `scipy.stats.binomtest`).

    The criteria, for metrics where lower is better:

    - **minimax regret** (Savage 1951): regret is how much worse a policy does in a world than
      the best policy for that world; the robust choice has the least ``max_regret``, so
      whatever world comes, the choice was never far from the best one could have made.
    - **satisficing** (Simon 1956): rather than optimise, meet a threshold ("blast radius at
      most 500") in as many worlds as possible; the robust choice has the largest
      ``satisficing_share``. The interval treats the worlds as independent draws of the
      factors (about right for ``lhs``, a heuristic for ``sobol``'s quasi-random points).

    Sorted by ``max_regret``, then ``mean_regret``. ``world`` and ``replication`` as `regret`.
    """
    level = require_level(level)
    names = [_percent_name(p) for p in percentiles]
    table = regret(results, metric, by, world, replication, target)
    keys = (["model"] if "model" in table.columns and table["model"].nunique() > 1 else []) + [by]
    grouped = table.groupby(keys, sort=False)
    out = grouped["regret"].agg(["count", "mean", "max"])
    out.columns = pd.Index(["worlds", "mean_regret", "max_regret"])
    for p, name in zip(percentiles, names):
        out[name] = grouped["regret"].quantile(float(p))
    out["share_best"] = grouped["regret"].agg(lambda r: float((r == 0).mean()))
    if target is not None:
        from scipy.stats import binomtest  # scipy.stats takes a second to import: load it when needed

        hits = grouped["satisfies"].sum().astype(int)
        out["satisficing_share"] = hits / out["worlds"]
        ends = [binomtest(int(k), int(n)).proportion_ci(level, "exact") for k, n in zip(hits, out["worlds"])]
        out["satisficing_low"] = [e.low for e in ends]
        out["satisficing_high"] = [e.high for e in ends]
    out = out.reset_index().sort_values([*keys[:-1], "max_regret", "mean_regret"], kind="stable")
    out.attrs = dict(table.attrs)
    return out.reset_index(drop=True)


def _estimates(
    results: pd.DataFrame, metric: str, cost: str, level: float
) -> dict[str, tuple[int, Estimate, Estimate]]:
    """Per policy: the replications, and the mean and t interval of ``metric`` and of ``cost`` over its worlds.

    The worlds of one replication share its random streams, so they are averaged first and the
    interval is taken over the replications (as `design_average`).
    """
    columns = _world_columns(results, WORLD, "policy", "replication")
    paired = paired_rows(results, metric, "policy", columns, "replication", [cost])
    means = paired.groupby(["policy", "replication"], sort=False)[[metric, cost]].mean()
    return {
        str(policy): (len(group), t_interval(group[metric], level), t_interval(group[cost], level))
        for policy, group in means.groupby(level=0, sort=False)
    }


def recommend_robust(
    results: pd.DataFrame,
    target: float,
    rank_by: RobustRank = "max_regret",
    metric: str = "blast_radius",
    cost: str = "integration_cost",
    level: float = 0.95,
) -> Recommendation:
    """The policy that is most robust over the sampled worlds, as a `Recommendation`.

    ``rank_by="max_regret"``: the least maximum regret (minimax regret); ``"satisficing"``:
    the largest share of worlds where the mean metric is at most ``target``. Ties go to the
    lower mean ``cost``; the next policy in that order is the runner-up, and ``margin`` is how
    much more it costs (negative: less). ``met`` says whether the choice meets the target in
    every world. ``metric_ci`` and ``cost_ci`` are means over the worlds with t intervals over
    the ``n`` replications; ``table`` is the `robustness` table with ``{cost}_mean``, in the
    order of the ranking. One model only, as `recommend`.
    """
    results = require_frame(results)
    if rank_by not in ("max_regret", "satisficing"):
        raise InputError.single(SOURCE, "rank_by", f"must be cost, max_regret or satisficing, got {rank_by!r}")
    target = require_positive(target, "target")
    level = require_level(level)
    require_columns(results, [cost], "cost column")
    if "model" in results.columns and results["model"].nunique() > 1:
        raise InputError.single(SOURCE, "model", "a recommendation is for one architecture; pass one model's rows")
    table = robustness(results, metric, target, level=level)
    estimates = _estimates(results, metric, cost, level)
    table[f"{cost}_mean"] = [estimates[str(p)][2].mean for p in table["policy"]]
    order = ["max_regret", f"{cost}_mean"] if rank_by == "max_regret" else ["satisficing_share", f"{cost}_mean"]
    table = table.sort_values(order, ascending=[rank_by == "max_regret", True], kind="stable").reset_index(drop=True)
    row, policy = table.iloc[0], str(table.iloc[0]["policy"])
    second = table.iloc[1] if len(table) > 1 else None
    model = {"model": plain_value(results["model"].iloc[0])} if "model" in results.columns else {}
    question = Question(target, metric, cost, level, rank_by)
    n, metric_ci, cost_ci = estimates[policy]
    floor = 0.0 if (results[metric].dropna() >= 0).all() else -math.inf  # a non-negative metric: CI shown from 0
    evidence = ci_text(metric_ci.low, metric_ci.high, n, level, floor=floor, style="sentence")
    return Recommendation(
        choice={**model, "policy": plain_value(row["policy"])},
        label=policy,
        metric_ci=metric_ci,
        cost_ci=cost_ci,
        n=n,
        runner_up=None if second is None else {str(k): plain_value(v) for k, v in second.items()},
        margin=None if second is None else float(second[f"{cost}_mean"] - row[f"{cost}_mean"]),
        met=bool(row["satisficing_share"] == 1),
        text=_robust_text(row, second, question, f"{number(metric_ci.mean, 'sentence')} ({evidence})"),
        table=table,
        question=question,
    )


def _robust_text(row: pd.Series, second: pd.Series | None, question: Question, evidence: str) -> str:
    """One sentence: the criterion that chose the policy, its regret, satisficing share and mean, the runner-up."""
    metric, worlds, spend = question.metric.replace("_", " "), int(row["worlds"]), f"{question.cost}_mean"
    hits, pct = round(row["satisficing_share"] * worlds), f"{question.level * 100:g}%"
    share = (
        f"it keeps {metric} under {number(question.target, 'sentence')} in {hits} of {worlds} worlds "
        f"({row['satisficing_share']:.0%}, {pct} CI {row['satisficing_low']:.0%} to {row['satisficing_high']:.0%})"
    )
    regrets = f"max regret {number(row['max_regret'], 'sentence')}, mean {number(row['mean_regret'], 'sentence')}"
    if question.rank_by == "max_regret":
        text = f"{row['policy']} has the least maximum regret in {metric} over {worlds} worlds (minimax regret): "
        text += f"{regrets}; {share}"
    else:
        text = f"{row['policy']} meets the target in the most worlds (satisficing): {share}; {regrets}"
    text += f"; {metric} {evidence} over the worlds, {question.cost.replace('_', ' ')} {number(row[spend], 'sentence')}"
    if second is None:
        return text + "."
    what = (
        f"max regret {number(second['max_regret'], 'sentence')}"
        if question.rank_by == "max_regret"
        else f"satisficing share {second['satisficing_share']:.0%}"
    )
    gap = float(second[spend] - row[spend])
    return text + (
        f"; the runner-up, {second['policy']}, has {what} and costs "
        f"{number(abs(gap), 'sentence')} {'more' if gap >= 0 else 'less'}."
    )
