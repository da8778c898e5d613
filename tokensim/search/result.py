"""What a search found: every candidate with its intervals, the front, the answer and the best preset.

The intervals and the front are the analysis layer's own (`tradeoff_table`: Student t intervals
over paired replications, the Pareto front on the means) and the answer is `recommend`'s rule:
the cheapest candidate whose harm interval lies at or under the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tokensim.analysis.pareto import tradeoff_table
from tokensim.analysis.recommend import Recommendation, recommend
from tokensim.analysis.text import ci_text, number
from tokensim.model.policy import Policy
from tokensim.search.spec import SearchFile


@dataclass
class SearchResult:
    """A finished search.

    ``table``: one row per candidate and preset: ``policy`` (a candidate's ``c-`` name or the
    preset's), ``preset``, ``trial`` (the first trial that proposed it; presets: none),
    ``generation``, the space's settings, ``n`` (replications), ``{harm}_mean/_low/_high``,
    ``{cost}_mean/_low/_high``, ``pareto`` (on the front of candidates and presets together) and
    ``knee``. ``front`` is its Pareto rows by cost. ``choice`` is the cheapest searched candidate
    whose harm interval is at or under the target and ``best_preset`` the same among the presets
    (both `recommend`'s answers; None without a target). ``rows`` are the runs behind the table.
    """

    spec: SearchFile
    table: pd.DataFrame
    choice: Recommendation | None
    best_preset: Recommendation | None
    text: str
    rows: pd.DataFrame = field(repr=False)
    policies: dict[str, Policy] = field(default_factory=dict, repr=False)  # every candidate's and preset's policy

    def policy_entry(self, name: str, label: str | None = None) -> dict[str, Any]:
        """A candidate as an experiment file's policy entry, ``{base, name, set}``: the settings where its
        policy differs from the search's base, so that a sweep can run it (under ``label``, default its name)."""
        policy = self.policies[name]
        base = self.policies.get(self.spec.base)
        fields = policy.model_dump(mode="json", exclude={"name"})
        given = base.model_dump(mode="json", exclude={"name"}) if base is not None else {}
        changed = {k: v for k, v in fields.items() if given.get(k) != v}
        return {"base": self.spec.base, "name": label or name, "set": changed}

    @property
    def front(self) -> pd.DataFrame:
        """The Pareto front (candidates and presets), cheapest first."""
        cost = f"{self.spec.cost}_mean"
        return self.table[self.table["pareto"]].sort_values(cost, kind="stable").reset_index(drop=True)


def summarise_search(
    spec: SearchFile,
    rows: pd.DataFrame,
    trials: dict[int, str],
    presets: list[str],
    settings: dict[str, dict[str, Any]],
    policies: dict[str, Policy] | None = None,
) -> SearchResult:
    """The result of a search from its rows (each candidate's refined replications)."""
    table = tradeoff_table(rows, by=["policy"], x=spec.cost, y=spec.harm)
    first: dict[str, int] = {}
    for number_, name in sorted(trials.items()):
        first.setdefault(name, number_)
    table.insert(1, "preset", table["policy"].isin(presets))
    table.insert(2, "trial", table["policy"].map(first).astype("Int64"))
    table.insert(3, "generation", (table["trial"] // spec.population).astype("Int64"))
    for k, key in enumerate(spec.space):
        values = table["policy"].map(lambda name, key=key: _setting(settings, name, key))
        table.insert(4 + k, key, values)
    table = table.sort_values(["preset", "trial"], ascending=[False, True], kind="stable").reset_index(drop=True)
    choice = best = None
    if spec.target is not None:
        searched = rows[~rows["policy"].isin(presets)]
        choice = recommend(searched, spec.target, metric=spec.harm, cost=spec.cost, by=["policy"])
        if presets:
            best = recommend(rows[rows["policy"].isin(presets)], spec.target, spec.harm, spec.cost, by=["policy"])
    text = _text(spec, table, choice, best)
    return SearchResult(spec, table, choice, best, text, rows, dict(policies or {}))


def _setting(settings: dict[str, dict[str, Any]], name: str, key: str) -> object:
    """A candidate's setting as text when it is a list (a mechanism preference), else as it is."""
    value = settings.get(name, {}).get(key)
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def _text(spec: SearchFile, table: pd.DataFrame, choice: Recommendation | None, best: Recommendation | None) -> str:
    """The search's finding in a few sentences: the front, the answer, and the preset it beats or not."""
    searched = int((~table["preset"]).sum())
    front = table[table["pareto"]]
    lines = [
        f"{spec.name}: {searched} candidates searched ({spec.sampler}, budget {spec.budget}) and "
        f"{int(table['preset'].sum())} presets on the same runs; {len(front)} on the front of "
        f"{spec.cost.replace('_', ' ')} against {spec.harm.replace('_', ' ')}."
    ]
    if choice is None:
        return " ".join(lines)
    harm, cost = spec.harm.replace("_", " "), spec.cost.replace("_", " ")
    interval = ci_text(choice.metric_ci.low, choice.metric_ci.high, choice.n, 0.95)
    figures = f"{harm} {number(choice.metric_ci.mean)} ({interval}), {cost} {number(choice.cost_ci.mean)}"
    if choice.met:
        lines.append(f"The cheapest candidate meeting the target ({number(spec.target)}) is {choice.label}: {figures}.")
    else:
        lines.append(
            f"No candidate meets the target ({number(spec.target)}) with confidence; the one of lowest {harm} is "
            f"{choice.label}: {figures}."
        )
    if best is not None:
        lines.append(_against(choice, best, harm, cost))
    return " ".join(lines)


def _against(choice: Recommendation, best: Recommendation, harm: str, cost: str) -> str:
    """How the search's answer compares with the best preset, objective by objective, on the means."""
    meets = "meets the target" if best.met else "does not meet the target"
    said = f"The best preset, {best.label}, {meets} ({harm} {number(best.metric_ci.mean)}, {cost} {number(best.cost_ci.mean)})"
    cheaper = choice.cost_ci.mean <= best.cost_ci.mean
    safer = choice.metric_ci.mean <= best.metric_ci.mean
    if cheaper and safer:
        verdict = f"{choice.label} is at least as good on both"
    elif cheaper:
        verdict = f"{choice.label} costs no more but lets through more {harm}"
    elif safer:
        verdict = f"{choice.label} has less {harm} but costs more"
    else:
        verdict = f"{choice.label} is worse on both"
    if best.met and not (cheaper and safer) and (not choice.met or not cheaper):
        verdict += f": prefer the preset {best.label}"
    return f"{said}; {verdict}."
