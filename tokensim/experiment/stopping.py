"""Sequential stopping (``until``): which parts of a sweep need more replications, as pure functions.

Nothing here runs or stores anything: given the rows so far and how many replications
each variant has, `units_to_extend` says where the interval of ``until.metric`` is still
too wide, and `next_replications` which replications to add there. `Experiment.run` loops
over the two until nothing is too wide.

A grid judges each design point (and policy) on its own. A sampled design (lhs, sobol,
morris) is judged as the report reads it: per model and policy, each replication averaged
over the design's points (`tokensim.analysis.design_average`), and a model's points get
their new replications together, so every average stays over all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import pandas as pd

from tokensim.experiment.plan import Plan
from tokensim.experiment.spec import Until
from tokensim.stats import t_interval


@dataclass(frozen=True)
class Units:
    """What is judged and extended together: a variant (grid), or all variants of one model (sampled designs)."""

    of: tuple[int, ...]  # per variant: its unit
    members: Mapping[int, tuple[int, ...]]  # per unit: its variants, in order
    sampled: bool  # judged on per-replication averages over the design's points


def stopping_units(plan: Plan) -> Units:
    """The units of a plan's variants."""
    n_variants = len(plan.variants)
    sampled = plan.spec.design != "grid"
    per_model = n_variants // max(1, len(plan.spec.models))
    of = tuple(v // per_model if sampled else v for v in range(n_variants))
    members: dict[int, tuple[int, ...]] = {}
    for v, u in enumerate(of):
        members[u] = (*members.get(u, ()), v)
    return Units(of, members, sampled)


def units_to_extend(
    rows: pd.DataFrame, variant_of: Mapping[str, int], done: Mapping[int, int], until: Until, units: Units
) -> set[int]:
    """The units whose interval of ``until.metric`` is still too wide, and that may get more replications.

    ``variant_of`` maps the run id of every run counted so far (the first ``done[v]``
    replications of each variant ``v``) to its variant. Rows of other runs are not judged:
    a resumed sweep may hold later batches already, and must take the same decisions as an
    uninterrupted one. A unit is too wide while the interval's half-width exceeds
    ``until.rel_ci`` times the mean's magnitude (a zero-width interval never is), and it
    may grow while it has fewer than ``until.max_replications`` replications.
    """
    variant = rows["run_id"].map(variant_of)
    counted = variant.notna()
    frame = rows[counted].assign(_unit=variant[counted].astype(int).map(dict(enumerate(units.of))))
    wide = set()
    for (u, _), group in frame.groupby(["_unit", "policy"]):
        values = group.groupby("replication")[until.metric].mean() if units.sampled else group[until.metric]
        mean, low, high = t_interval(values)
        unit = int(cast(int, u))  # the groupby key: a NumPy integer
        if done[units.members[unit][0]] < until.max_replications and not (
            (high - low) / 2 <= until.rel_ci * abs(mean) or (high - low) == 0
        ):
            wide.add(unit)
    return wide


def next_replications(
    wide: set[int], units: Units, done: Mapping[int, int], until: Until, batch: int
) -> dict[int, range]:
    """Per variant of the ``wide`` units (in unit order), the next ``batch`` replications, up to the maximum."""
    return {
        v: range(done[v], min(done[v] + batch, until.max_replications)) for u in sorted(wide) for v in units.members[u]
    }
