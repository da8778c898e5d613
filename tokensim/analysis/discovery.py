"""Scenario discovery: the regions of the uncertain factors where a policy fails its target (PRIM).

A sampled sweep (``lhs``, ``sobol``) runs every policy in many *worlds*: one design point of
one model, each a draw of the factors nobody knows (leak rates, the thief's delay, the
detection probability). A condition on the outcome marks each world as *of interest*
("dpop's blast radius above 10% of bearer's"); PRIM, the Patient Rule Induction Method
(Friedman and Fisher 1999), as implemented by EMA Workbench (`ema_workbench.analysis.prim`,
Kwakkel 2017), then peels the factor space down to boxes where such worlds concentrate. Each
box on the peeling trajectory has a *coverage* (the share of all worlds of interest inside
it) and a *density* (the share of the worlds inside it that are of interest); the chosen box
is the one of highest coverage whose density reaches ``threshold`` (Bryant and Lempert 2010
choose from the trajectory the same way).

    >>> import pandas as pd
    >>> rows = [{"design_point": p, "replication": 0, "policy": pol, "attacker.replay_delay.median": d,
    ...          "blast_radius": (10.0 if d < 0.5 else 1.0) if pol == "dpop" else 20.0}
    ...         for p, d in enumerate(x / 100 for x in range(100)) for pol in ("bearer", "dpop")]
    >>> found = discover(pd.DataFrame(rows), "dpop", above=0.1, relative_to="bearer", threshold=0.9)
    >>> round(float(found.limits.loc["attacker.replay_delay.median", "high"]), 1), round(found.density, 2)
    (0.5, 0.98)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tokensim.analysis.checks import SOURCE, require_columns, require_frame, require_positive
from tokensim.analysis.text import number
from tokensim.errors import InputError
from tokensim.experiment.factor_columns import is_factor_column
from tokensim.labels import factor_label

if TYPE_CHECKING:
    from ema_workbench.analysis.prim import PrimBox

#: EMA Workbench's threshold for a binary outcome: above 0, so exactly the worlds of interest (y = 1) count.
_ANY = 1e-9
#: The columns that name a world of a sampled sweep: one design point of one model.
WORLD = ("model", "design_point")


@dataclass(frozen=True)
class Condition:
    """When a world is of interest: ``policy``'s mean ``metric`` above (or below) ``bound``, or above
    ``bound`` times ``relative_to``'s mean in the same world (a paired comparison on common random numbers)."""

    policy: str
    metric: str = "blast_radius"
    above: float | None = None
    below: float | None = None
    relative_to: str | None = None

    def text(self) -> str:
        """The condition in words: "dpop's blast radius is above 10% of bearer's"."""
        what = self.metric.replace("_", " ")
        if self.relative_to is not None:
            bound = self.above if self.above is not None else self.below
            side = "above" if self.above is not None else "below"
            return f"{self.policy}'s {what} is {side} {number(100 * float(bound or 0))}% of {self.relative_to}'s"
        if self.above is not None:
            return f"{self.policy}'s {what} is above {number(self.above)}"
        return f"{self.policy}'s {what} is below {number(self.below)}"


@dataclass
class Discovery:
    """What PRIM found: the chosen box, its quality, the whole peeling trajectory, and a sentence.

    ``limits`` has one row per factor (``low``, ``high`` for numbers, ``values`` for categories,
    ``restricted``: whether the box narrows it); ``trajectory`` one row per box peeled, with
    ``coverage``, ``density``, ``mass`` (share of all worlds inside), ``worlds`` inside and
    ``restricted`` (how many factors the box narrows); ``chosen`` is its row of the chosen box.
    ``interest`` marks each world (the rows of ``worlds``) of interest or not. ``box`` is EMA
    Workbench's `PrimBox`, for its own views (``inspect``, ``show_tradeoff``).
    """

    condition: Condition
    worlds: pd.DataFrame
    interest: pd.Series
    trajectory: pd.DataFrame
    chosen: int
    limits: pd.DataFrame
    coverage: float
    density: float
    text: str
    box: PrimBox | None = field(default=None, repr=False)

    @property
    def restricted(self) -> list[str]:
        """The factors the chosen box narrows, in the order of ``limits``."""
        return [str(f) for f in self.limits.index[self.limits["restricted"]]]


def world_table(
    results: pd.DataFrame, condition: Condition, factors: list[str] | None = None, replication: str = "replication"
) -> tuple[pd.DataFrame, pd.Series]:
    """One row per world (its factor values) and whether it is of interest, from result rows.

    A world's value of a policy is the mean over the replications that every policy named
    holds in that world (paired on common random numbers).
    """
    results = require_frame(results)
    world = [c for c in WORLD if c in results.columns]
    if "design_point" not in world:
        raise InputError.single(SOURCE, "design_point", "scenario discovery needs a sampled sweep (lhs or sobol)")
    require_columns(results, ["policy", condition.metric, replication])
    factors = factors if factors is not None else [c for c in results.columns if is_factor_column(c)]
    require_columns(results, factors, "factor")
    if not factors:
        raise InputError.single(SOURCE, "factors", "no factor columns (dotted paths) to find boxes over")
    policies = [condition.policy] + ([condition.relative_to] if condition.relative_to else [])
    for name in policies:
        if name not in set(results["policy"]):
            have = ", ".join(sorted(map(str, results["policy"].unique())))
            raise InputError.single(SOURCE, "policy", f"no rows of policy {name!r}; policies: {have}")
    rows = results[results["policy"].isin(policies)]
    values = rows.pivot_table(index=[*world, replication], columns="policy", values=condition.metric, aggfunc="mean")
    means = values.dropna().groupby(level=world).mean()  # paired: replications every policy holds
    points = results.drop_duplicates(world).set_index(world)[factors].loc[means.index]
    value = means[condition.policy]
    if condition.relative_to is not None:
        bound = (condition.above if condition.above is not None else condition.below) or 0.0
        scale = bound * means[condition.relative_to]
    else:
        scale = pd.Series(condition.above if condition.above is not None else condition.below, index=means.index)
    interest = value > scale if condition.above is not None else value < scale
    return points.reset_index(drop=True), interest.reset_index(drop=True).rename("of_interest")


def discover(
    results: pd.DataFrame,
    policy: str,
    metric: str = "blast_radius",
    *,
    above: float | None = None,
    below: float | None = None,
    relative_to: str | None = None,
    factors: list[str] | None = None,
    threshold: float = 0.8,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> Discovery:
    """The boxes of the factors where ``policy`` fails: its ``metric`` ``above`` a bound (or ``below`` one),
    or above ``above`` times ``relative_to``'s in the same world (``above=0.1, relative_to="bearer"``).

    ``factors``: the factor columns to find boxes over (default: every factor column). ``threshold``
    is the density the chosen box must reach; ``peel_alpha``, ``paste_alpha`` and ``mass_min`` are
    PRIM's own settings (EMA Workbench's defaults). Raises `InputError` for a frame that is not a
    sampled sweep, an unknown policy or metric, no or two bounds, or a condition no world meets.
    """
    if (above is None) == (below is None):
        raise InputError.single(SOURCE, "above", "give one bound: above or below")
    bound = require_positive(above if above is not None else below, "above" if above is not None else "below")
    for name, value in (("threshold", threshold), ("mass_min", mass_min)):
        if not 0 < require_positive(value, name) <= 1:
            raise InputError.single(SOURCE, name, f"must be a share between 0 and 1, got {value!r}")
    condition = Condition(
        policy, metric, bound if above is not None else None, bound if below is not None else None, relative_to
    )
    worlds, interest = world_table(results, condition, factors)
    if not interest.any():
        raise InputError.single(SOURCE, "above", f"no world where {condition.text()}: nothing to discover")
    if interest.all():  # PRIM sets worlds apart: with none on the other side there is no box to find
        why = f"{condition.text()} in every sampled world ({len(interest)}): no range of a factor sets them apart"
        raise InputError.single(SOURCE, "above", why)
    prim_box = _peel(worlds, interest, threshold, peel_alpha, paste_alpha, mass_min)
    trajectory = _trajectory(prim_box)
    meets = trajectory[trajectory["density"] >= threshold]
    pool = meets if not meets.empty else trajectory  # none dense enough: the densest box
    order = ["coverage", "density"] if not meets.empty else ["density", "coverage"]
    chosen = int(str(pool.sort_values(order, ascending=False, kind="stable").index[0]))
    limits = _limits(prim_box, chosen, worlds)
    coverage, density = float(trajectory["coverage"].iloc[chosen]), float(trajectory["density"].iloc[chosen])
    text = _sentence(condition, limits, interest, coverage, density, threshold)
    return Discovery(condition, worlds, interest, trajectory, chosen, limits, coverage, density, text, prim_box)


def _peel(
    worlds: pd.DataFrame, interest: pd.Series, threshold: float, peel: float, paste: float, mass_min: float
) -> PrimBox:
    """EMA Workbench's PRIM on the worlds; booleans become categories (PRIM keeps sets of their values)."""
    try:
        with warnings.catch_warnings():  # its package warns at import about optional parallel evaluators
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError:
        why = "scenario discovery needs the decide extra: pip install 'tokensim[decide]' (ema_workbench, optuna)"
        raise InputError.single("ema_workbench", "", why) from None

    x = worlds.copy()
    for column in x.columns:
        if not pd.api.types.is_numeric_dtype(x[column]) or pd.api.types.is_bool_dtype(x[column]):
            x[column] = x[column].astype(str).astype("category")
    y = interest.to_numpy(dtype=bool)
    with warnings.catch_warnings():  # its own pandas deprecations, not the user's concern
        warnings.filterwarnings("ignore", module="ema_workbench")
        # EMA Workbench counts y >= threshold as of interest, and replaces a last box whose density is under
        # it by the whole space (a "dump box"). A threshold just above 0 keeps y = 1 as the cases of interest
        # and the whole trajectory; tokensim applies ``threshold`` itself when it chooses a box.
        finder = prim.Prim(x, y, threshold=_ANY, peel_alpha=peel, paste_alpha=paste, mass_min=mass_min)
        return finder.find_box()


def _trajectory(prim_box: PrimBox) -> pd.DataFrame:
    """The peeling trajectory with tokensim's column names."""
    steps = prim_box.peeling_trajectory
    return pd.DataFrame(
        {
            "coverage": steps["coverage"].astype(float),
            "density": steps["density"].astype(float),
            "mass": steps["mass"].astype(float),
            "worlds": steps["n"].astype(int),
            "restricted": steps["res_dim"].astype(int),
        }
    )


def _limits(prim_box: PrimBox, chosen: int, worlds: pd.DataFrame) -> pd.DataFrame:
    """Per factor: the chosen box's limits and whether it narrows the factor's sampled range."""
    first, box = prim_box.box_lims[0], prim_box.box_lims[chosen]
    rows: list[dict[str, Any]] = []
    for factor in worlds.columns:
        low, high = box[factor].iloc[0], box[factor].iloc[1]
        if isinstance(low, (set, frozenset)):
            rows.append({"factor": factor, "low": math.nan, "high": math.nan, "values": sorted(map(str, low))})
            rows[-1]["restricted"] = set(low) != set(first[factor].iloc[0])
            continue
        narrowed = bool(low > first[factor].iloc[0] or high < first[factor].iloc[1])
        rows.append({"factor": factor, "low": float(low), "high": float(high), "values": None, "restricted": narrowed})
        rows[-1]["low_restricted"] = bool(low > first[factor].iloc[0])
        rows[-1]["high_restricted"] = bool(high < first[factor].iloc[1])
    table = pd.DataFrame(rows).set_index("factor")
    for column in ("low_restricted", "high_restricted"):
        table[column] = table.get(column, pd.Series(False, index=table.index)).fillna(False).astype(bool)
    return table


def _sentence(
    condition: Condition, limits: pd.DataFrame, interest: pd.Series, coverage: float, density: float, threshold: float
) -> str:
    """The finding in words: how often the condition holds, and where it concentrates."""
    parts = []
    for factor, row in limits[limits["restricted"]].iterrows():
        name = factor_label(str(factor))
        if row["values"] is not None:
            parts.append(f"{name} is {' or '.join(row['values'])}")
        elif row["low_restricted"] and row["high_restricted"]:
            parts.append(
                f"{name} is between {value_text(str(factor), row['low'])} and {value_text(str(factor), row['high'])}"
            )
        elif row["high_restricted"]:
            parts.append(f"{name} is under {value_text(str(factor), row['high'])}")
        else:
            parts.append(f"{name} is over {value_text(str(factor), row['low'])}")
    share = f"{int(interest.sum())} of {len(interest)} sampled worlds ({100 * interest.mean():.3g}%)"
    quality = (
        f"coverage {number(coverage)}: that share of those worlds lies in the box; "
        f"density {number(density)}: that share of the box's worlds are such worlds"
    )
    if not parts:
        return f"In {share}, {condition.text()}, spread across the sampled ranges (no box narrows a factor)."
    box = " and ".join(parts)
    if density < threshold:  # no concentrated region: say so first, the densest box only as a lead
        return (
            f"In {share}, {condition.text()}; no box of the factors holds them at a density of {number(threshold)} "
            f"or more: the densest PRIM found is where {box} ({quality})."
        )
    lead = "mostly when" if coverage >= 0.5 else "most densely when"  # a box holding under half is no "mostly"
    return f"In {share}, {condition.text()}, {lead} {box} ({quality})."


def value_text(factor: str, value: float) -> str:
    """A factor's value as a reader writes it: durations as `4m`, rates as `2/day`, else three digits.

    >>> value_text("attacker.replay_delay.median", 1 / 15), value_text("policy.access_ttl", 8.0)
    ('4m', '8h')
    >>> value_text("nodes.spa.leaks[0].rate", 2 / 24), value_text("defender.detection_probability", 0.0123)
    ('2/day', '0.0123')
    >>> value_text("attacker.replay_delay.sigma", 1.5)
    '1.5'

    """
    from tokensim.analysis.configurations import DURATION_PARAMETERS

    last = factor.rsplit(".", 1)[-1]
    parts = factor.split(".")
    if not np.isfinite(value):
        return str(value)
    delay = last != "sigma" and any("delay" in p or "ttl" in p for p in parts)  # a log-normal's sigma has no unit
    if (parts[0] == "policy" and last in DURATION_PARAMETERS) or delay:
        return _in_largest_unit(float(value), (("d", 24.0), ("h", 1.0), ("m", 1 / 60), ("s", 1 / 3600)))
    if last == "rate" or last.endswith("_rate"):  # per hour
        return _in_largest_unit(float(value), (("/h", 1.0), ("/day", 1 / 24), ("/year", 1 / 8760)))
    return f"{float(value):.3g}"


def _in_largest_unit(value: float, units: tuple[tuple[str, float], ...]) -> str:
    """``value`` to three digits in the first unit it fills (a box's edge is no exact setting)."""
    for unit, size in units:
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    unit, size = units[-1]
    return f"{value / size:.3g}{unit}"
