"""The verdict table of the report's first screen: per architecture and policy, what the policy removes and costs.

Each cell is one policy's best showing on one architecture: the recommended configuration for
its policy, else the policy's configuration with the lowest mean blast radius (ties: the
cheaper), compared replication by replication with the baseline policy at the same settings
(`tokensim.analysis.reduction`). The words of each cell follow one rule, in this order
(docs/report.md, "Verdict"): the baseline; the recommended configuration ("recommended, no
clear reduction" when its interval reaches below 5%); "cannot bind here" (every route loses
the binding); "no harm to remove" (the baseline's mean is 0); "no clear reduction" (the
interval reaches below 5%); "dominated by P" (P removes at least as much, leaves no more
blast radius and costs less); otherwise "an alternative". A policy some instances cannot do, or whose binding a hop
drops, is marked whatever its words.
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
    recommended: bool = False  # the configuration the section recommends
    mean: float = math.nan  # its mean blast radius (absolute: cells may pair with the baseline at other settings)


def best_configurations(table: pd.DataFrame, recommended: str | None = None) -> dict[str, pd.Series]:
    """Per policy, the configuration of the tradeoff table its cell shows, in the order the policies were run.

    The recommended configuration (label ``recommended``) for its policy, so that the table and the
    sentence name the configuration the section recommends; for every other policy, its configuration
    with the lowest mean blast radius (ties: the cheaper).
    """
    ranked = table.sort_values([f"{METRIC}_mean", f"{COST}_mean"], kind="stable")
    best = {str(p): part.iloc[0] for p, part in ranked.groupby("policy", sort=False)}
    chosen = table[table["label"] == recommended]
    if len(chosen):
        best[str(chosen.iloc[0]["policy"])] = chosen.iloc[0]
    order = list(dict.fromkeys(table["policy"].astype(str)))
    return {p: best[p] for p in order if p in best}


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
    best = best_configurations(table, recommended)
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
                policy, str(config["label"]), blast, loss, float(config[f"{COST}_mean"]), "", limits_text(lim),
                unbound, str(config["label"]) == recommended, float(config[f"{METRIC}_mean"]),
            )
        )  # fmt: skip
    return [c._replace(words=_words(c, cells, baseline)) for c in cells]


def _words(cell: VerdictCell, cells: Sequence[VerdictCell], baseline: str) -> str:
    share, low = cell.blast.share, cell.blast.low
    if cell.policy == baseline:
        return "baseline" + (", recommended" if cell.recommended else "")
    if cell.recommended:  # the section's choice, whatever else holds: its marks say what keeps it from binding
        return "recommended" if not (math.isnan(low) or low < CLEAR) else "recommended, no clear reduction"
    if cell.unbound:
        return "cannot bind here"
    if math.isnan(share):
        return "no harm to remove"
    if math.isnan(low) or low < CLEAR:
        return "no clear reduction"
    for other in cells:
        if other.policy in (cell.policy, baseline) or math.isnan(other.blast.share):
            continue
        # each share is of the baseline at that cell's own settings: dominated only if P also leaves no more harm
        if other.blast.share >= share and not other.mean > cell.mean and other.cost < cell.cost:
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
    chosen = next((c for c in cells if c.recommended and c.policy != baseline), None)
    # "removes more" of the largest share among configurations that also leave no more blast radius
    # (shares pair with the baseline at each configuration's own settings)
    candidates = [c for c in cells if not math.isnan(c.blast.share) and (chosen is None or not c.mean > chosen.mean)]
    most = max(candidates, key=lambda c: c.blast.share, default=None)
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
    if chosen.unbound:
        text += " Its binding is lost on every route that asks for one (see its marks)."
    # "removes more" only of a configuration that also leaves less blast radius: each share is of the
    # baseline at that configuration's own settings (another TTL, say), so a larger share alone is not more
    if most is not None and most.policy != chosen.policy and most.blast.share > chosen.blast.share + CLEAR:
        text += f" {most.label} removes more, {share_text(most.blast)}, at cost {number(most.cost)}."
    return text
