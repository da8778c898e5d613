"""A recommendation: the cheapest configuration whose blast radius stays under a target, with its evidence.

"Stays under" is judged on the upper end of the confidence interval, not on the mean:
a configuration is recommended only when the data are confident its mean blast radius
is at most the target (so it needs at least two replications with a value, and, when every
replication gave the same value, at least two that saw a leak). Among those, the one with the lowest mean integration cost wins
(ties: the lower blast radius); the next one is the runner-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from tokensim.analysis.checks import SOURCE, require_columns, require_frame, require_level, require_positive
from tokensim.analysis.pareto import tradeoff_table
from tokensim.analysis.text import ci_text, number
from tokensim.display import plain_value
from tokensim.errors import InputError
from tokensim.stats import Estimate


@dataclass(frozen=True)
class Question:
    """What a recommendation answers: keep ``metric`` under ``target`` with confidence ``level``, cheapest by ``cost``
    (``rank_by="cost"``), or the most robust policy over sampled worlds (`tokensim.analysis.robustness`)."""

    target: float
    metric: str = "blast_radius"
    cost: str = "integration_cost"
    level: float = 0.95
    rank_by: str = "cost"


@dataclass
class Recommendation:
    """The answer to "what is the cheapest configuration that keeps blast radius under the target?".

    ``choice`` maps the configuration columns to their values; ``metric_ci`` and ``cost_ci``
    are the mean and interval of the metric (blast radius by default) and of the cost, over
    ``n`` replications. ``runner_up`` is the next cheapest configuration meeting the target (a
    row of ``table`` as a dict, with ``label`` and the ``{metric}_*`` / ``{cost}_*`` columns) or
    None; ``margin`` is how much more it costs (None without a runner-up). When no
    configuration meets the target, ``met`` is False and ``choice`` is the configuration with
    the lowest mean metric. ``table`` is the tradeoff table; ``question`` what was asked.
    """

    choice: dict[str, Any]
    label: str
    metric_ci: Estimate
    cost_ci: Estimate
    n: int
    runner_up: dict[str, Any] | None
    margin: float | None
    met: bool
    text: str
    table: pd.DataFrame = field(repr=False)
    question: Question


def _number(value: float | None) -> str:
    """A number for the recommendation's sentence (`tokensim.analysis.text`'s ``sentence`` style)."""
    return number(value, "sentence")


def _words(column: str) -> str:
    return column.replace("_", " ")


def recommend(
    results: pd.DataFrame,
    target: float,
    metric: str = "blast_radius",
    cost: str = "integration_cost",
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    rank_by: Literal["cost", "max_regret", "satisficing"] = "cost",
) -> Recommendation:
    """The cheapest configuration whose ``metric`` interval upper bound is at most ``target``.

    ``by`` names the configuration columns (default: `configuration_columns`). The evidence is
    the chosen configuration's interval (Student t over its replications at ``level``), its cost,
    and the runner-up. When nothing meets the target, the safest configuration is returned
    with ``met=False``. ``rank_by="max_regret"`` or ``"satisficing"`` chooses among the policies
    of a sampled sweep by minimax regret or by the share of worlds meeting the target instead
    (`tokensim.analysis.robustness.recommend_robust`; ``by`` is then the policy).
    """
    if rank_by != "cost":
        from tokensim.analysis.robustness import recommend_robust  # it builds on this module's Recommendation

        if by is not None:
            raise InputError.single(SOURCE, "by", f"rank_by={rank_by!r} ranks the policies: leave `by` unset")
        return recommend_robust(results, target, rank_by, metric=metric, cost=cost, level=level)
    results = require_frame(results)
    target = require_positive(target, "target")
    level = require_level(level)
    require_columns(results, [metric, cost], "metric column")
    if "model" in results.columns and results["model"].nunique() > 1:
        models = ", ".join(map(str, pd.unique(results["model"])))
        raise InputError.single(
            SOURCE,
            "model",
            f"the results hold several models ({models}): a recommendation is for one "
            "architecture; pass the rows of one model (results[results['model'] == name])",
        )
    table = tradeoff_table(results, by=by, x=cost, y=metric, level=level)
    config_cols = list(table.columns[: table.columns.get_loc("label")])
    mean, high, cost_mean = f"{metric}_mean", f"{metric}_high", f"{cost}_mean"
    # Evidence per configuration: replications with a value of the metric, and those that saw a leak.
    groups = results.groupby(config_cols, sort=False, dropna=False)
    evidence = pd.DataFrame(
        {
            "_values": groups[metric].count(),
            "_leaky": groups["leaks"].agg(lambda x: int((x > 0).sum()))
            if "leaks" in results.columns
            else groups[metric].count(),
        }
    ).reset_index()
    table = table.merge(evidence, on=config_cols, how="left", sort=False)
    # One value has no interval; a zero-width interval (every replication gave the same value) is
    # evidence only if the runs were tested: at least two of them saw a leak. Otherwise, say a
    # bound policy's 0 in runs where nothing leaked would "meet" any target.
    degenerate = table[high] <= table[f"{metric}_low"]
    tested = ~degenerate | (table["_leaky"] >= 2)
    meets = table[(table[high] <= target) & (table["_values"] >= 2) & tested].sort_values(
        [cost_mean, mean], kind="stable"
    )
    pct = f"{level * 100:g}%"
    floor = 0.0 if (results[metric].dropna() >= 0).all() else -math.inf  # a non-negative metric: CI shown from 0

    def ci(row: Any) -> str:
        if row["_values"] >= 2 and row[high] <= row[f"{metric}_low"]:
            return (
                f"all {int(row['_values'])} replications gave {_number(row[mean])}; "
                f"{int(row['_leaky'])} of them saw a leak"
            )
        return ci_text(row[f"{metric}_low"], row[high], int(row["_values"]), level, floor=floor, style="sentence")

    runner_up: dict[str, Any] | None
    margin: float | None
    if meets.empty:
        row = table.sort_values([mean, cost_mean], kind="stable").iloc[0]
        runner_up, margin, met = None, None, False
        text = (
            f"No configuration keeps {_words(metric)} under {_number(target)} with {pct} confidence; "
            f"the lowest is {row['label']} at {_number(row[mean])} ({ci(row)}), "
            f"{_words(cost)} {_number(row[cost_mean])}."
        )
        if not tested.any() or (table[high] <= target).any():
            text += " Too few replications saw a leak to tell; run more replications or a longer horizon."
    else:
        row = meets.iloc[0]
        met = True
        runner_up = (
            {str(k): plain_value(v) for k, v in meets.iloc[1].drop(["_values", "_leaky"]).items()}
            if len(meets) > 1
            else None
        )
        margin = float(runner_up[cost_mean] - row[cost_mean]) if runner_up is not None else None
        text = (
            f"{row['label']} is the cheapest configuration that keeps {_words(metric)} under {_number(target)}: "
            f"{_number(row[mean])} ({ci(row)}) at {_words(cost)} {_number(row[cost_mean])}"
        )
        if runner_up is None:
            text += "; no other configuration meets the target."
        else:
            text += (
                f"; the runner-up, {runner_up['label']}, costs {_number(margin)} more "
                f"({_words(metric)} {_number(runner_up[mean])}, CI up to {_number(runner_up[high])})."
            )
    return Recommendation(
        choice={c: plain_value(row[c]) for c in config_cols},
        label=str(row["label"]),
        metric_ci=Estimate(float(row[mean]), float(row[f"{metric}_low"]), float(row[high])),
        cost_ci=Estimate(float(row[cost_mean]), float(row[f"{cost}_low"]), float(row[f"{cost}_high"])),
        n=int(row["_values"]),
        runner_up=runner_up,
        margin=margin,
        met=met,
        text=text,
        table=table.drop(columns=["_values", "_leaky"]),
        question=Question(target, metric, cost, level),
    )
