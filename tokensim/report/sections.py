"""The analysis sections of the report, per model: tradeoff, recommendation, TTL and exposure, paired differences.

How the recommendation is chosen (docs/report.md): with a target, `tokensim.analysis.recommend`
picks the cheapest configuration whose blast-radius interval lies under it. Without one,
the target is the upper end of the interval of the Pareto front's knee (the point where
paying more stops buying much less blast radius), so the recommendation is the cheapest
configuration confidently as safe as the knee: usually the knee itself.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tokensim.errors import InputError
from tokensim.report import figures
from tokensim.report.format import interval, number

METRIC = "blast_radius"
COST = "integration_cost"
LEVEL = 0.95


def default_target(table: pd.DataFrame) -> tuple[float, str]:
    """The target used when none is given: the upper end of the knee's interval (1 when that is 0), and why."""
    knee = table[table["knee"].astype(bool)]
    if knee.empty:  # no point with both means: recommend refuses below, nothing else to aim at
        return 1.0, "no knee (no configuration has both means)"
    row = knee.iloc[0]
    high = float(row[f"{METRIC}_high"])
    if not high > 0:
        return 1.0, (f"no target was given; the knee of the Pareto front, {row['label']}, had no blast radius in any "
                     "replication, so the target is 1 (any blast radius at all)")
    return high, (f"no target was given, so the target is the upper end of the {LEVEL:.0%} interval of the knee of the "
                  f"Pareto front, {row['label']} ({number(high)}); the knee is the front's best compromise between "
                  "integration cost and blast radius (docs/analysis.md)")


def recommendation(rows: pd.DataFrame, by: list[str], target: float | None) -> dict[str, Any]:
    """The recommendation for one model's rows, with how its target was chosen."""
    from tokensim.analysis import recommend, tradeoff_table

    if target is None:
        target, how = default_target(tradeoff_table(rows, by=by, x=COST, y=METRIC, level=LEVEL))
    else:
        how = f"the target {number(target)} was given"
    rec = recommend(rows, target, metric=METRIC, cost=COST, by=by, level=LEVEL)
    runner = rec.runner_up
    return {
        "rec": rec, "how": how, "target": target, "label": rec.label, "text": rec.text, "met": rec.met,
        "metric": interval(rec.metric_mean, rec.metric_low, rec.metric_high, rec.n, clip=True),
        "cost": interval(rec.cost_mean, rec.cost_low, rec.cost_high, rec.n, clip=True), "n": rec.n,
        "runner_up": None if runner is None else {
            "label": runner["label"],
            "metric": interval(runner[f"{METRIC}_mean"], runner[f"{METRIC}_low"], runner[f"{METRIC}_high"], runner["n"], clip=True),
            "cost": interval(runner[f"{COST}_mean"], runner[f"{COST}_low"], runner[f"{COST}_high"], runner["n"], clip=True),
            "margin": number(rec.margin)},
    }


def tradeoff_rows(table: pd.DataFrame, chosen: str) -> list[dict[str, Any]]:
    """The tradeoff table as the report prints it, cheapest first."""
    out = []
    for _, row in table.sort_values([f"{COST}_mean", f"{METRIC}_mean"], kind="stable").iterrows():
        out.append({"label": row["label"], "n": int(row["n"]),
                    "metric": interval(row[f"{METRIC}_mean"], row[f"{METRIC}_low"], row[f"{METRIC}_high"], row["n"], clip=True),
                    "cost": interval(row[f"{COST}_mean"], row[f"{COST}_low"], row[f"{COST}_high"], row["n"], clip=True),
                    "pareto": bool(row["pareto"]), "knee": bool(row["knee"]), "chosen": row["label"] == chosen})
    return out


def differences(rows: pd.DataFrame, baseline: str, by: list[str], sampled: bool) -> dict[str, Any]:
    """Paired differences of the main metrics against ``baseline`` (replication r against replication r).

    Rows pair within every other setting that varies (TTL, rotation...); for a sampled
    design, on (design point, replication), averaged over the design.
    """
    from tokensim.analysis import paired_differences
    from tokensim.sim.outcome import MAIN_METRICS

    metrics = [m for m in MAIN_METRICS if m in rows.columns]
    if baseline not in set(rows["policy"].astype(str)):
        return {"note": f"the baseline {baseline!r} was not run on this model", "rows": [], "metrics": metrics, "within": []}
    if rows["policy"].nunique() < 2:
        return {"note": "only one policy was run on this model: nothing to compare", "rows": [], "metrics": metrics, "within": []}
    within = [] if sampled else [c for c in by if c not in ("model", "policy")]
    pair_on = ("design_point", "replication") if sampled else ("replication",)
    try:
        frame = paired_differences(rows, metrics, baseline=baseline, pair_on=pair_on, within=within, level=LEVEL)
    except InputError as err:
        return {"note": f"no paired differences: {err}", "rows": [], "metrics": metrics, "within": within}
    out = []
    for key, part in frame.groupby([*within, "policy"], sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        cells = {}
        for _, r in part.iterrows():
            low, high = r["ci_low"], r["ci_high"]
            sign = "lower" if high < 0 else ("higher" if low > 0 else "")
            cells[r["metric"]] = {"text": interval(r["mean_difference"], low, high, r["n"]), "sign": sign if r["n"] >= 2 else ""}
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


def model_analysis(rows: pd.DataFrame, *, experiment: Any, target: float | None, baseline: str) -> dict[str, Any]:
    """Everything the report says about one model's results."""
    from tokensim.viz import tradeoff_figure

    by = figures.config_by(rows, experiment)
    sampled = figures.design_of(experiment) in figures.SAMPLED_DESIGNS
    rec = recommendation(rows, by, target)
    table = rec["rec"].table
    section: dict[str, Any] = {
        "recommendation": rec, "by": by, "sampled": sampled,
        "tradeoff": {"image": figures.figure_data_uri(tradeoff_figure(table, x=COST, y=METRIC)),
                     "rows": tradeoff_rows(table, rec["label"])},
        "ttl": None, "exposure": None,
        "differences": differences(rows, baseline, by, sampled),
    }
    choice = rec["rec"].choice
    if figures.ttl_column(rows) is not None:
        section["ttl"] = optional_figure(lambda: figures.ttl_figure_for(rows, METRIC, experiment), "TTL")
    if figures.exposure_varies(rows):
        column = figures.revocation_column(rows)
        others = figures.varying(rows, experiment, exclude=("rotation", "reuse_detection", *([column] if column else [])))
        sliced, said = figures.anchored(rows, others, choice)
        fig = optional_figure(lambda: figures.exposure_figure_for(sliced, "exposure_hours", experiment), "exposure")
        fig["fixed"] = said
        section["exposure"] = fig
    section["single_replication"] = bool(table["n"].max() < 2)
    section["replications"] = (int(table["n"].min()), int(table["n"].max()))
    section["level"] = LEVEL
    return section
