"""Designs: full factorial grids, and Latin hypercube, Sobol (Saltelli) and Morris samples through SALib.

A design is a list of points, each a mapping factor -> value, reproducible from the
experiment's seed. Sampled designs need ranges (``{low, high}``) or lists (read as
categories: the unit interval is cut into equal parts). `check_size` counts the points
and runs of a design arithmetically and refuses one beyond `limits.VARIANTS` or
`limits.RUNS` before a single point is built.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, TypedDict

import numpy as np

from tokensim.errors import InputError
from tokensim.experiment.spec import ExperimentFile, Range, range_end
from tokensim.model import limits


class SalibProblem(TypedDict):
    """A SALib problem definition: the factors' names and their numeric bounds."""

    num_vars: int
    names: list[str]
    bounds: list[list[float]]


def numeric(value: float | str) -> float:
    """A range end as a number: durations in hours, rates per hour, plain numbers as they are."""
    return range_end(value)


def grid_values(values: Range | tuple[Any, ...]) -> list[object]:
    """The values a grid takes for one factor."""
    if isinstance(values, tuple):
        return list(values)
    low, high = numeric(values.low), numeric(values.high)
    steps = values.steps or 2
    if values.log:
        return list(np.geomspace(low, high, steps))
    return list(np.linspace(low, high, steps))


def problem(spec: ExperimentFile) -> SalibProblem:
    """The SALib problem: every factor on its numeric range (categories on [0, 1))."""
    names = list(spec.factors)
    bounds = []
    for values in spec.factors.values():
        if isinstance(values, Range):
            low, high = numeric(values.low), numeric(values.high)
            bounds.append([math.log(low), math.log(high)] if values.log else [low, high])
        else:
            bounds.append([0.0, 1.0])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def _decode(spec: ExperimentFile, row: np.ndarray) -> dict[str, object]:
    point: dict[str, object] = {}
    for x, (name, values) in zip(row, spec.factors.items()):
        if isinstance(values, Range):
            point[name] = float(math.exp(x)) if values.log else float(x)
        else:
            point[name] = values[min(int(x * len(values)), len(values) - 1)]
    return point


def design_matrix(spec: ExperimentFile) -> np.ndarray | None:
    """The raw sample (rows in SALib's order) for sampled designs; None for grids."""
    return None if spec.design == "grid" else _sample(spec)


def _sample(spec: ExperimentFile) -> np.ndarray:
    """SALib's sample of a sampled design (lhs, sobol, morris)."""
    prob = problem(spec)
    n = spec.design_options.samples
    sample: np.ndarray
    # SALib takes ~0.2 s to import: loaded only when a sampled design is built.
    if spec.design == "lhs":
        from SALib.sample import latin

        sample = latin.sample(prob, n, seed=spec.seed)
    elif spec.design == "sobol":
        from SALib.sample import sobol

        sample = sobol.sample(prob, n, calc_second_order=False, seed=spec.seed)
    else:
        from SALib.sample import morris

        sample = morris.sample(prob, n, num_levels=spec.design_options.levels, seed=spec.seed)
    return sample


def design_points(spec: ExperimentFile) -> list[dict[str, object]]:
    """Every design point of the experiment, in a fixed order."""
    if not spec.factors:
        return [{}]
    if spec.design == "grid":
        names = list(spec.factors)
        return [
            dict(zip(names, combo)) for combo in itertools.product(*(grid_values(v) for v in spec.factors.values()))
        ]
    return [_decode(spec, row) for row in _sample(spec)]


def point_count(spec: ExperimentFile) -> int:
    """How many points `design_points` gives, counted without building them (SALib's sizes for sampled designs)."""
    if not spec.factors:
        return 1
    k, n = len(spec.factors), spec.design_options.samples
    if spec.design == "grid":
        return math.prod(len(v) if isinstance(v, tuple) else v.steps or 2 for v in spec.factors.values())
    return {"lhs": n, "sobol": n * (k + 2), "morris": n * (k + 1)}[spec.design]  # sobol without second order


def _count(n: int, word: str, words: str = "") -> str:
    """``n`` and its noun: `1 model`, `7 models`, `2 policies`."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def check_size(spec: ExperimentFile, source: str) -> None:
    """Refuse, before anything is planned, a design of more model variants than `limits.VARIANTS`
    or more runs than `limits.RUNS` (counting `until.max_replications`), with the count."""
    points = point_count(spec)
    variants = points * len(spec.models)
    if variants > limits.VARIANTS.high:
        if spec.design == "grid":
            field = "factors"
            how = " x ".join(f"{len(v) if isinstance(v, tuple) else v.steps or 2:,}" for v in spec.factors.values())
            design = f"the grid has {how} = {_count(points, 'point')}"
        else:
            field = "design_options.samples"
            design = f"the {spec.design} design of {_count(spec.design_options.samples, 'sample')} has {_count(points, 'point')}"
        raise InputError.single(
            source,
            field,
            f"{design}, x {_count(len(spec.models), 'model')} = {_count(variants, 'model variant')};"
            f" at most {limits.VARIANTS.high_text} ({limits.VARIANTS.why}): use fewer values or samples",
        )
    capped = spec.until is not None and spec.until.max_replications > spec.replications
    replications = spec.until.max_replications if spec.until is not None and capped else spec.replications
    runs = variants * len(spec.policies) * replications
    if runs > limits.RUNS.high:
        raise InputError.single(
            source,
            "until.max_replications" if capped else "replications",
            f"{_count(variants, 'model variant')} x {_count(len(spec.policies), 'policy', 'policies')}"
            f" x {_count(replications, 'replication')} = {_count(runs, 'run')};"
            f" at most {limits.RUNS.high_text} ({limits.RUNS.why}): split the experiment",
        )
