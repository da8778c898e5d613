"""The analysis sections of the report, per model: tradeoff, recommendation, TTL and exposure, paired differences.

For a sampled design (lhs, sobol), `tokensim.report.robust` adds robustness across worlds and where the choice fails.

How the recommendation is chosen (docs/report.md): with a target, `tokensim.analysis.recommend`
picks the cheapest configuration whose blast-radius interval lies under it. Without one, there is
nothing to meet: the report presents the knee of the Pareto front (the point where paying more
stops buying much less blast radius) as the best compromise, with the runner-up along the front
and what moving to it costs or buys, and claims no target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from tokensim.analysis.text import ci_text, interval, number
from tokensim.display import plain_value
from tokensim.errors import InputError
from tokensim.report import figures

if TYPE_CHECKING:
    from tokensim.experiment import Experiment

METRIC = "blast_radius"
COST = "integration_cost"
LEVEL = 0.95
#: How to ask for a target, as the report prints it.
TARGET_HINT = "tokensim report RESULTS --target X (from Python: build_report(..., target=X))"


def _ci(row: pd.Series, level: float) -> str:
    """`95% CI 1.2 to 3.4, n=5` (the lower end clipped at 0: blast radius cannot be negative)."""
    return ci_text(float(row[f"{METRIC}_low"]), float(row[f"{METRIC}_high"]), int(row["n"]), level, floor=0.0)


def front_runner_up(table: pd.DataFrame) -> pd.Series | None:
    """The knee's runner-up along the Pareto front: the next safer front point, else the next cheaper one.

    Points identical to the knee on both means are skipped (they are the same trade); None when
    the front has no other point.
    """
    mean, cost = f"{METRIC}_mean", f"{COST}_mean"
    knee = table[table["knee"].astype(bool)].iloc[0]
    front = table[table["pareto"].astype(bool)].sort_values([cost, mean], kind="stable")
    other = front[(front[cost] != knee[cost]) | (front[mean] != knee[mean])]
    safer = other[other[cost] >= knee[cost]]
    cheaper = other[other[cost] < knee[cost]]
    chosen: pd.Series | None = safer.iloc[0] if not safer.empty else (cheaper.iloc[-1] if not cheaper.empty else None)
    return chosen


def _trade(knee: pd.Series, runner: pd.Series) -> str:
    """What moving from the knee to ``runner`` costs and buys, in words."""
    mean, cost = f"{METRIC}_mean", f"{COST}_mean"
    extra, lower = float(runner[cost] - knee[cost]), float(knee[mean] - runner[mean])
    spend = (
        f"costs {number(extra)} more"
        if extra > 0
        else (f"costs {number(-extra)} less" if extra < 0 else "costs the same")
    )
    buys = (
        f"lowers blast radius by {number(lower)}"
        if lower > 0
        else f"raises blast radius by {number(-lower)}"
        if lower < 0
        else "leaves blast radius the same"
    )
    return f"{spend} and {buys}"


#: What a knee recommendation says of targets when none was given (one that does not apply says why instead).
NO_TARGET = " No target was given, so no configuration is claimed to meet one."


def knee_summary(table: pd.DataFrame, level: float = LEVEL, no_target: str = NO_TARGET) -> dict[str, Any]:
    """The recommendation without a target: the knee of the front as the best compromise, and its runner-up.

    ``table`` is one model's `tokensim.analysis.tradeoff_table`. ``text`` is the sentence the
    report shows; it makes no claim about a target, and ends with ``no_target``: why there is none.
    """
    mean, cost = f"{METRIC}_mean", f"{COST}_mean"
    knees = table[table["knee"].astype(bool)]
    if knees.empty:
        raise InputError.single(
            "results",
            METRIC,
            "no configuration has both a mean blast radius and a mean integration "
            "cost: there is no Pareto front to report on",
        )
    knee = knees.iloc[0]
    runner = front_runner_up(table)
    text = (
        f"{knee['label']} is the knee of the Pareto front, the best compromise between integration cost and blast "
        f"radius: blast radius {number(knee[mean])} ({_ci(knee, level)}) at integration cost {number(knee[cost])}."
    )
    if runner is None:
        text += " It is the only point of the front: every other configuration costs more for no less blast radius."
    else:
        text += (
            f" The runner-up along the front, {runner['label']}, {_trade(knee, runner)} "
            f"(blast radius {number(runner[mean])}, {_ci(runner, level)})."
        )
    text += no_target
    return {"row": knee, "runner": runner, "text": text}


def _facts(row: pd.Series | dict[str, Any]) -> dict[str, str]:
    return {
        "metric": interval(row[f"{METRIC}_mean"], row[f"{METRIC}_low"], row[f"{METRIC}_high"], row["n"], clip=True),
        "cost": interval(row[f"{COST}_mean"], row[f"{COST}_low"], row[f"{COST}_high"], row["n"], clip=True),
    }


def recommendation(
    rows: pd.DataFrame, by: list[str], target: float | None, not_applicable: str | None = None
) -> dict[str, Any]:
    """The recommendation for one model's rows: against the target when one is given, else the knee of the front.

    ``mode`` is ``target`` or ``knee``; ``table`` the tradeoff table; ``choice`` the chosen
    configuration's columns (the exposure figure is drawn at it); ``chosen_as`` how the
    tradeoff table marks its row. ``not_applicable``: why a target that was given does not apply
    here (the knee is presented, and this is said instead of "no target was given").
    """
    from tokensim.analysis import recommend, tradeoff_table

    if target is None:
        table = tradeoff_table(rows, by=by, x=COST, y=METRIC, level=LEVEL)
        summary = knee_summary(table, LEVEL, NO_TARGET if not_applicable is None else f" {not_applicable}")
        knee, runner = summary["row"], summary["runner"]
        config_cols = list(table.columns[: table.columns.get_loc("label")])
        return {
            "mode": "knee",
            "table": table,
            "choice": {c: plain_value(knee[c]) for c in config_cols},
            "label": str(knee["label"]),
            "text": summary["text"],
            "met": None,
            "target": None,
            "n": int(knee["n"]),
            "chosen_as": "knee, best compromise",
            **_facts(knee),
            "runner_up": None
            if runner is None
            else {"label": runner["label"], **_facts(runner), "margin": _trade(knee, runner)},
            "no_runner_up": "none: the knee is the only point of the Pareto front",
            "how": not_applicable
            or f"none given, so none is claimed to be met. To ask for the cheapest configuration "
            f"whose {LEVEL:.0%} interval of blast radius lies under X: {TARGET_HINT}",
        }
    rec = recommend(rows, target, metric=METRIC, cost=COST, by=by, level=LEVEL)
    runner = rec.runner_up
    return {
        "mode": "target",
        "table": rec.table,
        "choice": rec.choice,
        "label": rec.label,
        "text": rec.text,
        "met": rec.met,
        "target": target,
        "n": rec.n,
        "chosen_as": "recommended" if rec.met else "safest; target not met",
        "metric": interval(*rec.metric_ci, rec.n, clip=True),
        "cost": interval(*rec.cost_ci, rec.n, clip=True),
        "runner_up": None
        if runner is None
        else {"label": runner["label"], **_facts(runner), "margin": f"costs {number(rec.margin)} more"},
        "no_runner_up": "none meets the target",
        "how": f"the target {number(target)} was given",
    }


def tradeoff_rows(table: pd.DataFrame, chosen: str) -> list[dict[str, Any]]:
    """The tradeoff table as the report prints it, cheapest first."""
    out = []
    for _, row in table.sort_values([f"{COST}_mean", f"{METRIC}_mean"], kind="stable").iterrows():
        out.append(
            {
                "label": row["label"],
                "n": int(row["n"]),
                "metric": interval(
                    row[f"{METRIC}_mean"], row[f"{METRIC}_low"], row[f"{METRIC}_high"], row["n"], clip=True
                ),
                "cost": interval(row[f"{COST}_mean"], row[f"{COST}_low"], row[f"{COST}_high"], row["n"], clip=True),
                "pareto": bool(row["pareto"]),
                "knee": bool(row["knee"]),
                "chosen": row["label"] == chosen,
            }
        )
    return out


def differences(rows: pd.DataFrame, baseline: str, by: list[str], sampled: bool) -> dict[str, Any]:
    """Paired differences of the main metrics against ``baseline`` (replication r against replication r).

    Rows pair within every other setting that varies (TTL, rotation...). For a sampled
    design, ``rows`` are already averaged over the design per replication (`design_rows`).
    """
    from tokensim.analysis import paired_differences
    from tokensim.outcome import MAIN_METRICS

    metrics = [m for m in MAIN_METRICS if m in rows.columns]
    if baseline not in set(rows["policy"].astype(str)):
        return {
            "note": f"the baseline {baseline!r} was not run on this model",
            "rows": [],
            "metrics": metrics,
            "within": [],
        }
    if rows["policy"].nunique() < 2:
        return {
            "note": "only one policy was run on this model: nothing to compare",
            "rows": [],
            "metrics": metrics,
            "within": [],
        }
    within = [] if sampled else [c for c in by if c not in ("model", "policy")]
    try:
        frame = paired_differences(rows, metrics, baseline=baseline, pair_on="replication", within=within, level=LEVEL)
    except InputError as err:
        return {"note": f"no paired differences: {err}", "rows": [], "metrics": metrics, "within": within}
    out = []
    for key, part in frame.groupby([*within, "policy"], sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        cells = {}
        for _, r in part.iterrows():
            low, high = r["ci_low"], r["ci_high"]
            sign = "lower" if high < 0 else ("higher" if low > 0 else "")
            cells[r["metric"]] = {
                "text": interval(r["mean_difference"], low, high, r["n"]),
                "sign": sign if r["n"] >= 2 else "",
            }
        setting = ", ".join(f"{c}={_value(c, v)}" for c, v in zip(within, key[:-1]))
        out.append({"policy": key[-1], "setting": setting, "n": int(part["n"].max()), "cells": cells})
    return {"note": None, "rows": out, "metrics": metrics, "within": within}


def _value(column: str, value: Any) -> str:
    from tokensim.analysis.configurations import format_value

    return format_value(column, value)


def optional_figure(draw: Any, what: str) -> dict[str, Any]:
    """Draw a figure that may not apply; an InputError becomes a note in the report instead of a failure."""
    try:
        return {"image": figures.figure_data_uri(draw()), "note": None}
    except InputError as err:
        return {"image": None, "note": f"The {what} figure could not be drawn: {err}"}


def model_analysis(
    rows: pd.DataFrame,
    *,
    experiment: Experiment | None,
    target: float | None,
    baseline: str,
    not_applicable: str | None = None,
) -> dict[str, Any]:
    """Everything the report says about one model's results (``not_applicable``: see `recommendation`)."""
    from tokensim.report.marks import mark_fallback
    from tokensim.report.robust import robust_section

    by = figures.config_by(rows, experiment)
    sampled = figures.design_of(experiment) in figures.SAMPLED_DESIGNS
    compared = figures.design_rows(rows, experiment)  # what the intervals are over: replications
    rec = recommendation(compared, by, target, not_applicable)
    table = rec["table"]
    marked = mark_fallback(table, rows, by, experiment)
    fallback = dict(zip(marked["label"].astype(str), marked["falls_back"].astype(str)))
    for chosen in (rec, rec["runner_up"]):  # a choice that runs bearer where it should bind says so
        if chosen is not None:
            where = fallback.get(str(chosen["label"]), "")
            chosen["fallback"] = f"falls back to bearer on {where}: it does not bind there" if where else ""
    section: dict[str, Any] = {
        "recommendation": rec,
        "by": by,
        "sampled": sampled,
        "tradeoff": {
            "marked": marked,  # drawn in the interactive view (answer.py)
            "rows": tradeoff_rows(table, rec["label"]),
        },
        "ttl": None,
        "exposure": None,
        "differences": differences(compared, baseline, by, sampled),
        "compared": compared,
    }
    choice = rec["choice"]
    if figures.ttl_column(rows) is not None:
        section["ttl"] = optional_figure(lambda: figures.ttl_figure_for(rows, METRIC, experiment), "TTL")
    if figures.exposure_varies(rows):
        column = figures.revocation_column(rows)
        others = figures.varying(
            rows, experiment, exclude=("rotation", "reuse_detection", *([column] if column else []))
        )
        sliced, said = figures.anchored(rows, others, choice)
        fig = optional_figure(lambda: figures.exposure_figure_for(sliced, "exposure_hours", experiment), "exposure")
        fig["fixed"] = said
        section["exposure"] = fig
    section["robust"] = robust_section(
        rows, experiment=experiment, target=target, baseline=baseline, recommendation=rec
    )
    section["left_out"] = int(compared.attrs.get("left_out_rows", 0)) if sampled else 0
    section["design_points"] = int(compared["design_points"].max()) if sampled and "design_points" in compared else None
    section["single_replication"] = bool(table["n"].max() < 2)
    section["replications"] = (int(table["n"].min()), int(table["n"].max()))
    section["level"] = LEVEL
    return section
