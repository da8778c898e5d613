"""The verdict table of the report's first screen: per architecture and policy, what the policy removes and costs.

Each cell is one policy's best showing on one architecture: its configuration with the lowest
mean blast radius (ties: the cheaper), compared replication by replication with the baseline
policy at the same settings (`tokensim.analysis.reduction`). The words of each cell follow one
rule, in this order (docs/report.md, "Verdict"): the baseline; the recommended configuration's
policy; "no harm to remove" (the baseline's mean is 0); "no clear reduction" (the interval
reaches below 5%); "dominated by P" (P removes at least as much at a lower mean cost);
otherwise "an alternative". A policy some instances cannot do, or whose binding a hop drops,
is marked whatever its words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pandas as pd

from tokensim.analysis.reduction import Reduction, reduction
from tokensim.analysis.text import number

METRIC, COST = "blast_radius", "integration_cost"
#: A reduction whose interval reaches below this share is "no clear reduction" (assumption: 5% is within
#: what a changed leak rate or weight moves; docs/report.md).
CLEAR = 0.05


class Limits(NamedTuple):
    """What keeps a policy from doing what it says on an architecture (from the runs and the route analysis)."""

    unsupported: float  # mean instances per run that cannot do the policy's mechanism
    routes: int  # routes (paths x tiers) that ask for a binding
    fallback: int  # of them, routes on which the request goes as bearer
    failing: int  # of them, routes on which the request fails
    reason: str  # the route analysis's reason for the first of them


class VerdictCell(NamedTuple):
    """One policy on one architecture."""

    policy: str
    label: str  # the configuration shown
    blast: Reduction
    loss: Reduction | None  # None: the model prices no loss
    cost: float
    words: str
    marks: tuple[str, ...]  # what keeps it from doing what it says
    unbound: bool = False  # every route that asks for a binding loses it


def best_configurations(table: pd.DataFrame) -> dict[str, pd.Series]:
    """Per policy, its configuration of the tradeoff table with the lowest mean blast radius (ties: cheaper)."""
    ranked = table.sort_values([f"{METRIC}_mean", f"{COST}_mean"], kind="stable")
    return {str(p): part.iloc[0] for p, part in ranked.groupby("policy", sort=False)}


def rows_of(rows: pd.DataFrame, config: Mapping[str, Any]) -> pd.DataFrame:
    """The rows whose columns read as ``config``'s values (compared as text, as labels are)."""
    mask = pd.Series(True, index=rows.index)
    for column, value in config.items():
        mask &= rows[column].astype(str) == str(value)
    return rows[mask]


def _per_replication(rows: pd.DataFrame, metric: str) -> pd.Series:
    return rows.groupby("replication")[metric].mean()


def limits_text(limits: Limits | None) -> tuple[str, ...]:
    """The marks of a cell, in words."""
    if limits is None:
        return ()
    marks = []
    if limits.fallback or limits.failing:
        lost = limits.fallback + limits.failing
        how = [f"{n} {what}" for n, what in ((limits.fallback, "as bearer"), (limits.failing, "failing")) if n]
        marks.append(f"binding lost on {lost} of {limits.routes} routes ({', '.join(how)}): {limits.reason}")
    if limits.unsupported > 0:
        marks.append(f"{number(limits.unsupported)} instances cannot do it")
    return tuple(marks)


def verdict_cells(
    rows: pd.DataFrame,
    table: pd.DataFrame,
    config_columns: Sequence[str],
    baseline: str,
    recommended: str,
    limits: Mapping[str, Limits | None],
    level: float = 0.95,
) -> list[VerdictCell]:
    """The cells of one architecture, in the order the policies were run.

    ``rows``: its result rows (for a sampled design, averaged per replication); ``table`` its
    tradeoff table; ``recommended`` the label of the configuration the report recommends;
    ``limits`` per configuration label, what keeps it from doing what it says.
    """
    best = best_configurations(table)
    settings = [c for c in config_columns if c not in ("model", "policy")]
    base_rows = rows[rows["policy"].astype(str) == baseline]
    priced = "loss" in rows.columns and rows["loss"].notna().any()
    cells: list[VerdictCell] = []
    for policy, config in best.items():
        chosen = rows_of(rows, {c: config[c] for c in config_columns})
        paired = rows_of(base_rows, {c: config[c] for c in settings})
        if paired.empty:  # the baseline never ran these settings: its first configuration instead
            paired = rows_of(base_rows, {c: base_rows.iloc[0][c] for c in settings}) if len(base_rows) else base_rows
        blast = reduction(_per_replication(paired, METRIC), _per_replication(chosen, METRIC), level)
        loss = reduction(_per_replication(paired, "loss"), _per_replication(chosen, "loss"), level) if priced else None
        lim = limits.get(str(config["label"]))
        unbound = lim is not None and lim.routes > 0 and lim.fallback + lim.failing == lim.routes
        cells.append(
            VerdictCell(
                policy, str(config["label"]), blast, loss, float(config[f"{COST}_mean"]), "", limits_text(lim), unbound
            )
        )  # fmt: skip
    recommended_policy = next((str(c["policy"]) for c in best.values() if c["label"] == recommended), None)
    if recommended_policy is None:
        recommended_policy = str(table.loc[table["label"] == recommended, "policy"].iloc[0])
    return [c._replace(words=_words(c, cells, baseline, recommended_policy)) for c in cells]


def _words(cell: VerdictCell, cells: Sequence[VerdictCell], baseline: str, recommended: str) -> str:
    share, low = cell.blast.share, cell.blast.low
    if cell.policy == baseline:
        return "baseline"
    if cell.unbound:
        return "cannot bind here"
    if cell.policy == recommended:
        return "recommended"
    if math.isnan(share):
        return "no harm to remove"
    if math.isnan(low) or low < CLEAR:
        return "no clear reduction"
    for other in cells:
        if other.policy in (cell.policy, baseline) or math.isnan(other.blast.share):
            continue
        if other.blast.share >= share and other.cost < cell.cost:
            return f"dominated by {other.policy}"
    return "an alternative"


def share_text(r: Reduction) -> str:
    """``62% [55, 70]`` (a reduction and its interval, in percent); ``n/a`` without one."""
    if math.isnan(r.share):
        return "n/a"
    if math.isnan(r.low):
        return f"{r.share:.0%}"
    return f"{r.share:.0%} [{r.low * 100:.0f}, {r.high * 100:.0f}]"


def verdict_sentence(model: str, cells: Sequence[VerdictCell], baseline: str, chosen_as: str) -> str:
    """The architecture's verdict in plain words: the recommended policy, what it removes and costs."""
    chosen = next((c for c in cells if c.words == "recommended"), None)
    most = max((c for c in cells if not math.isnan(c.blast.share)), key=lambda c: c.blast.share, default=None)
    if chosen is None:
        base = next((c for c in cells if c.policy == baseline), None)
        text = f"Keep {base.label if base else baseline} ({chosen_as}) on {model}: no other policy is recommended."
        if most is not None and most.policy != baseline and most.blast.share > 0:
            text += f" The most any removes is {share_text(most.blast)} ({most.label}, cost {number(most.cost)})."
        return text
    if math.isnan(chosen.blast.low) or chosen.blast.low < CLEAR:
        clear = [c for c in cells if c.policy != baseline and not math.isnan(c.blast.low) and c.blast.low >= CLEAR]
        if not clear:
            return (
                f"No policy clearly lowers {baseline}'s blast radius on {model}: {chosen.label} ({chosen_as}) removes "
                f"{share_text(chosen.blast)} at integration cost {number(chosen.cost)}."
            )
    text = (
        f"{chosen.label} ({chosen_as}) removes {share_text(chosen.blast)} of {baseline}'s blast radius"
        f" at integration cost {number(chosen.cost)}."
    )
    if most is not None and most.policy != chosen.policy and most.blast.share > chosen.blast.share + CLEAR:
        text += f" {most.label} removes more, {share_text(most.blast)}, at cost {number(most.cost)}."
    return text
