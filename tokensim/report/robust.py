"""The report's section for a sampled design: how robust each policy is across the worlds, and where the choice fails.

A sampled sweep (``lhs``, ``sobol``) runs every policy in many *worlds*, one per design point:
draws of the factors nobody knows. For one model's rows the section holds

- **robustness** (`tokensim.analysis.robustness`): per policy its maximum and mean regret over
  the worlds, the share of worlds where it is best and, with the report's target, the share
  where it meets it (with its Clopper-Pearson interval), and the regret figure;
- **where the choice fails** (`tokensim.analysis.discover`, PRIM): for the policy the report
  recommends (the knee, or the configuration that meets the target; when none does, the policy
  with the least maximum regret), the box of the factors where its blast radius is above the
  target (without one: above 10% of the baseline's in the same world), with the discovery figure.

Grid sweeps, Morris screening and plain `tokensim run` rows get no such section (docs/report.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from tokensim.analysis.text import number
from tokensim.errors import InputError
from tokensim.experiment.factor_columns import is_factor_column
from tokensim.report.figures import design_of, figure_data_uri

if TYPE_CHECKING:
    from tokensim.analysis.discovery import Condition, Discovery
    from tokensim.experiment import Experiment
    from tokensim.model.architecture import Architecture

METRIC = "blast_radius"
#: Designs whose points are a sample of worlds (Morris's one-at-a-time trajectories are for screening).
ROBUST_DESIGNS: frozenset[str] = frozenset({"lhs", "sobol"})
#: Without a target, the recommended policy fails in a world where its blast radius is above this share of the baseline's.
RELATIVE = 0.1
#: The density PRIM's box must reach to say where the failures concentrate (`tokensim.analysis.discover`'s default).
THRESHOLD = 0.8


def factors_of(rows: pd.DataFrame) -> list[str]:
    """The factor columns (dotted paths) that take a value in every row and vary over these rows."""
    return [c for c in rows.columns if is_factor_column(c) and rows[c].notna().all() and rows[c].nunique() > 1]


def applies(rows: pd.DataFrame, experiment: Experiment | None) -> bool:
    """Whether one model's rows get the section: an lhs or sobol design, several worlds and factors, two policies."""
    return (
        design_of(experiment) in ROBUST_DESIGNS
        and "design_point" in rows.columns
        and rows["design_point"].nunique() > 1
        and rows["policy"].nunique() > 1
        and bool(factors_of(rows))
    )


def _names(policies: Sequence[object]) -> str:
    """``dpop``, ``dpop and mtls``, ``bearer, dpop and mtls``."""
    said = [str(p) for p in policies]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"


def robustness_sentences(table: pd.DataFrame, target: float | None, level: float) -> str:
    """Which policy has the least maximum regret and, with a target, which meets it in the most worlds."""
    worlds = int(table["worlds"].max())
    least = table[table["max_regret"] == table["max_regret"].min()]
    first, one = least.iloc[0], len(least) == 1
    text = f"{_names(list(least['policy']))} {'has' if one else 'share'} the least maximum regret over the {worlds} sampled worlds"
    if first["max_regret"] == 0:
        text += f", 0: {'it is' if one else 'they are'} the best policy (or tied for best) in every one of them"
    else:
        text += (
            f": {'its' if one else 'their'} blast radius is never more than {number(first['max_regret'])} above the "
            f"best policy's in the same world (mean regret {number(first['mean_regret'])})"
        )
    others = table[table["max_regret"] > first["max_regret"]]
    if not others.empty:
        text += f"; {others.iloc[0]['policy']}'s worst world is {number(others.iloc[0]['max_regret'])} above the best"
    text += "."
    if target is None:
        top = table[table["share_best"] == table["share_best"].max()]
        if first["max_regret"] == 0:  # already said: best in every world
            return text
        return text + (
            f" {_names(list(top['policy']))} {'is' if len(top) == 1 else 'are'} the best policy in the most worlds "
            f"({top.iloc[0]['share_best']:.0%} of them, ties counted)."
        )
    top = table[table["satisficing_share"] == table["satisficing_share"].max()]
    row = top.iloc[0]
    if row["satisficing_share"] == 0:
        return text + f" No policy meets the target ({number(target)}) in any sampled world."
    hits = round(float(row["satisficing_share"]) * int(row["worlds"]))
    each = "" if len(top) == 1 else " each"
    return text + (
        f" {_names(list(top['policy']))} {'meets' if len(top) == 1 else 'meet'} the target ({number(target)}) in the "
        f"most worlds: {hits} of {int(row['worlds'])}{each} ({row['satisficing_share']:.0%}, {level:.0%} CI "
        f"{row['satisficing_low']:.0%} to {row['satisficing_high']:.0%}), judged on each world's mean."
    )


def robustness_rows(table: pd.DataFrame, chosen: str | None) -> list[dict[str, Any]]:
    """The robustness table as the report prints it, most robust first."""
    satisficing = "satisficing_share" in table.columns
    return [
        {
            "policy": str(r["policy"]),
            "worlds": int(r["worlds"]),
            "max_regret": number(r["max_regret"]),
            "mean_regret": number(r["mean_regret"]),
            "share_best": f"{r['share_best']:.0%}",
            "satisficing": f"{r['satisficing_share']:.0%} [{r['satisficing_low']:.0%}, {r['satisficing_high']:.0%}]"
            if satisficing
            else "",
            "chosen": str(r["policy"]) == chosen,
        }
        for _, r in table.iterrows()
    ]


def chosen_policy(recommendation: dict[str, Any], table: pd.DataFrame) -> tuple[str, str]:
    """The policy whose failures are looked for, and why it is that one.

    The report's recommendation (the knee without a target, the cheapest configuration that
    meets it with one); when nothing meets the target, the policy with the least maximum regret.
    """
    if recommendation["mode"] == "knee":
        return str(recommendation["choice"]["policy"]), "the knee of the front, the report's best compromise"
    if recommendation["met"]:
        return str(recommendation["choice"]["policy"]), "the recommended policy"
    return str(table.iloc[0]["policy"]), "no configuration meets the target: the policy with the least maximum regret"


def _limits(found: Discovery, models: Sequence[Architecture]) -> list[dict[str, str]]:
    """The chosen box per factor, in words: the factor, its sampled range, the box's ends, whether it narrows it."""
    from tokensim.analysis.discovery import value_text
    from tokensim.labels import factor_label

    out = []
    for factor, row in found.limits.iterrows():
        name, values = str(factor), found.worlds[factor]
        if row["values"] is not None:
            low = high = " or ".join(row["values"])
            sampled = " or ".join(sorted(map(str, values.unique())))
            narrowed = "yes" if row["restricted"] else "no"
        else:
            low, high = value_text(name, float(row["low"])), value_text(name, float(row["high"]))
            sampled = f"{value_text(name, float(values.min()))} to {value_text(name, float(values.max()))}"
            ends = [e for e, cut in (("low end", row["low_restricted"]), ("high end", row["high_restricted"])) if cut]
            narrowed = "both ends" if len(ends) == 2 else (ends[0] if ends else "no")
        out.append(
            {"factor": factor_label(name, models), "sampled": sampled, "low": low, "high": high, "narrowed": narrowed}
        )
    return out


def _condition(policy: str, target: float | None, baseline: str) -> Condition:
    from tokensim.analysis.discovery import Condition

    if target is not None:
        return Condition(policy, METRIC, above=target)
    return Condition(policy, METRIC, above=RELATIVE, relative_to=baseline)


def _never(condition: Condition, policy: str, worlds: int, target: float | None) -> str:
    """The sentence for a condition no world meets."""
    if target is not None:
        return f"{policy} meets the target (blast radius at most {number(target)}) in every sampled world ({worlds})."
    return (
        f"{policy}'s blast radius stays at or below {RELATIVE:.0%} of {condition.relative_to}'s in every sampled "
        f"world ({worlds}): there is no failure to locate."
    )


def failures(
    rows: pd.DataFrame, policy: str, target: float | None, baseline: str, models: Sequence[Architecture]
) -> dict[str, Any]:
    """Where ``policy`` fails over one model's worlds: ``kind`` ``box`` (PRIM's box, with ``limits`` and
    ``image``), ``spread`` (no box dense enough), ``everywhere`` (no factor narrowed), ``never`` or ``note``."""
    from tokensim.analysis.discovery import discover, world_table
    from tokensim.viz import discovery_figure

    out: dict[str, Any] = {"kind": "note", "text": "", "limits": [], "image": None, "condition": ""}
    if target is None and policy == baseline:
        out["text"] = (
            f"{policy} is the baseline itself: without a target there is nothing to compare it with. Give one "
            "(--target X) to see in which worlds its blast radius exceeds it."
        )
        return out
    condition, factors = _condition(policy, target, baseline), factors_of(rows)
    out["condition"] = condition.text()
    try:
        _, interest = world_table(rows, condition, factors)
        if not interest.any():
            return {**out, "kind": "never", "text": _never(condition, policy, len(interest), target)}
        if interest.all():  # nothing to set apart (and PRIM needs worlds of both kinds)
            everywhere = f"In every one of the {len(interest)} sampled worlds, {condition.text()}"
            return {**out, "kind": "everywhere", "text": f"{everywhere}: no range of a factor sets the failures apart."}
        found = discover(
            rows,
            policy,
            METRIC,
            above=condition.above,
            relative_to=condition.relative_to,
            factors=factors,
            threshold=THRESHOLD,
        )
    except InputError as err:
        return {**out, "text": f"No scenario discovery: {err}"}
    share = f"In {int(interest.sum())} of {len(interest)} sampled worlds ({interest.mean():.0%}), {condition.text()}"
    out["image"] = figure_data_uri(discovery_figure(found))
    if found.density < THRESHOLD:
        out["kind"], out["text"] = (
            "spread",
            (
                f"{share}. These failures are spread across the sampled ranges: no box of the factors holds them at a "
                f"density of {THRESHOLD:.0%} or more (the densest box PRIM found has density {found.density:.0%} and "
                f"holds {found.coverage:.0%} of them)."
            ),
        )
    elif not found.restricted:
        out["kind"], out["text"] = (
            "everywhere",
            (f"{share}: nearly everywhere in the sampled ranges, so no range of a factor sets them apart."),
        )
    else:
        out["kind"], out["text"], out["limits"] = "box", found.text, _limits(found, models)
    return out


def robust_section(
    rows: pd.DataFrame,
    *,
    experiment: Experiment | None,
    target: float | None,
    baseline: str,
    recommendation: dict[str, Any],
    level: float = 0.95,
) -> dict[str, Any] | None:
    """The section for one model's rows of a sampled design, or None when it does not apply (`applies`).

    ``target`` is the absolute blast radius the report's target stands for on this model (None
    without one); ``recommendation`` is `tokensim.report.sections.recommendation`'s output.
    """
    from tokensim.analysis import regret, robustness
    from tokensim.viz import regret_figure

    if not applies(rows, experiment):
        return None
    try:
        table = robustness(rows, METRIC, target, level=level)
        image = figure_data_uri(regret_figure(regret(rows, METRIC, target=target)))
    except InputError as err:
        return {"note": f"No robustness analysis: {err}", "rows": [], "target": target}
    policy, why = chosen_policy(recommendation, table)
    model = str(rows["model"].iloc[0])
    archs = [] if experiment is None else [v.arch for v in experiment.plan.variants if v.model == model][:1]
    return {
        "note": None,
        "target": target,
        "target_text": None if target is None else number(target),
        "worlds": int(table["worlds"].max()),
        "rows": robustness_rows(table, policy),
        "text": robustness_sentences(table, target, level),
        "image": image,
        "policy": policy,
        "why": why,
        "relative": f"{RELATIVE:.0%}",
        "threshold": f"{THRESHOLD:.0%}",
        "fails": failures(rows, policy, target, baseline, archs),
    }
