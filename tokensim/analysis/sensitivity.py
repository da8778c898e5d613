"""Sensitivity of a metric to the factors of a Sobol or Morris sweep, through SALib.

A sweep with ``design: sobol`` or ``design: morris`` runs every row of SALib's sample
(its ``design_point`` column is the row number) for every model, policy and replication.
Per group (policy by default, and model when there are several), the replications of a
design point are averaged, optionally transformed (``numpy.log1p`` tames a heavy tail),
and handed to SALib with the experiment's problem definition (`designs.problem`).

Sobol: first-order (S1) and total (ST) indices with the half-widths of their bootstrap
intervals (S1_conf, ST_conf). Morris: mu_star (mean absolute elementary effect, in units
of the metric per whole factor range), its interval half-width and sigma.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tokensim.analysis.checks import SOURCE, as_list, require_columns, require_frame, require_level
from tokensim.errors import InputError
from tokensim.experiment import Experiment
from tokensim.experiment.designs import design_matrix, problem

if TYPE_CHECKING:
    from tokensim.experiment import Experiment

Transform = Callable[[np.ndarray], np.ndarray] | str | None
_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"log1p": np.log1p, "log": np.log, "sqrt": np.sqrt}
#: The names `tokensim plot --transform` takes; ``none`` is the default of the command line and of Python alike:
#: the indices then split the variance of the metric as reported (docs/analysis.md, "Sensitivity").
TRANSFORM_NAMES: tuple[str, ...] = ("none", "log1p")


def _problem_names(problem: Any) -> list[str]:
    """The factor names of a SALib problem, checked."""
    if not isinstance(problem, Mapping) or "names" not in problem or "num_vars" not in problem:
        raise InputError.single(
            SOURCE,
            "problem",
            "expected a SALib problem: a dict with num_vars, names and bounds "
            "(tokensim.experiment.designs.problem(experiment.spec) gives it)",
        )
    names = list(problem["names"])
    if problem["num_vars"] != len(names) or not names:
        raise InputError.single(
            SOURCE, "problem", f"num_vars ({problem['num_vars']}) must equal the number of names ({len(names)})"
        )
    return names


def _transform(transform: Transform) -> Callable[[np.ndarray], np.ndarray] | None:
    if transform is None or callable(transform):
        return transform
    if transform == "none":
        return None
    if transform in _TRANSFORMS:
        return _TRANSFORMS[transform]
    raise InputError.single(
        SOURCE, "transform", f"unknown transform {transform!r}; use one of none, {', '.join(_TRANSFORMS)} or a function"
    )


def _groups(results: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    """Grouping columns: ``by`` plus ``model`` when the results hold several (design points restart per model)."""
    columns = as_list(by)
    require_columns(results, columns, "grouping column")
    if "model" in results.columns and "model" not in columns and results["model"].nunique() > 1:
        columns = ["model", *columns]
    return columns


def _responses(
    results: pd.DataFrame, metrics: list[str], columns: list[str], transform: Transform
) -> Iterator[tuple[dict[str, Any], pd.DataFrame, str, np.ndarray]]:
    """Per group and metric: the group's key, its rows, the metric, and one response per design point (in order)."""
    func = _transform(transform)
    grouped = results.groupby(columns, sort=False, dropna=False) if columns else [((), results)]
    for key, rows in grouped:
        key = key if isinstance(key, tuple) else (key,)
        where = dict(zip(columns, key))
        means = rows.groupby("design_point", sort=True)[metrics].mean()
        points = means.index.to_numpy()
        if not np.array_equal(points, np.arange(len(points))):
            missing = sorted(set(range(int(points.max()) + 1)) - set(points.tolist()))[:5]
            raise InputError.single(
                SOURCE,
                "design_point",
                f"{_where(where)}design points must run 0..N-1 with none missing "
                f"(an unfinished sweep?); missing e.g. {missing}",
            )
        for metric in metrics:
            y = means[metric].to_numpy(dtype=float)
            if np.isnan(y).any():
                raise InputError.single(
                    SOURCE,
                    metric,
                    f"{_where(where)}{int(np.isnan(y).sum())} design points have no value "
                    f"of {metric}; pick a metric every run reports",
                )
            if func is not None:
                with np.errstate(all="ignore"):
                    y = np.asarray(func(y), dtype=float)
                if not np.isfinite(y).all():
                    raise InputError.single(
                        SOURCE, "transform", f"{_where(where)}the transform gives non-finite values for {metric}"
                    )
            yield where, rows, metric, y


def _where(where: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items()) + ": " if where else ""


def _saltelli_mismatch(values: np.ndarray) -> str | None:
    """Why ``values`` (one row per design point, one column per factor) is not a Saltelli sample without
    second-order terms (blocks of A, A with column k from B for each k, B), or None when it is."""
    n, d = values.shape
    if n % (d + 2):
        return f"{n} design points is not a multiple of factors + 2 = {d + 2}"
    blocks = values.reshape(n // (d + 2), d + 2, d)
    a, b, ab = blocks[:, :1, :], blocks[:, -1:, :], blocks[:, 1:-1, :]
    expected = np.where(np.eye(d, dtype=bool)[None], b, a)
    if not (expected == ab).all():
        return "the factor values do not follow Saltelli's blocks (A, A with one column of B per factor, B)"
    return None


def _design_values(rows: pd.DataFrame, names: list[str]) -> np.ndarray | None:
    """The factor values of each design point from the results' factor columns (None if absent)."""
    if not all(n in rows.columns for n in names):
        return None
    return rows.groupby("design_point", sort=True)[names].first().to_numpy(dtype=object)


def sobol_indices(
    results: pd.DataFrame,
    problem: Mapping[str, Any],
    metric: str | Sequence[str] = "blast_radius",
    by: str | Sequence[str] | None = ("policy",),
    transform: Transform = None,
    seed: int = 1,
    level: float = 0.95,
    num_resamples: int = 100,
    X: np.ndarray | None = None,
) -> pd.DataFrame:
    """First-order and total Sobol indices of each factor, per group, from a Sobol (Saltelli) sweep.

    Columns: the ``by`` columns (plus ``model`` when there are several), ``metric``, ``factor``,
    ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (half-widths of the bootstrap intervals at ``level``).
    ``X`` is the design matrix (`designs.design_matrix`); without it the sample's structure is
    checked on the results' factor columns. A metric that never varies in a group gives NaN indices.
    """
    from SALib.analyze import sobol

    results = require_frame(results)
    level = require_level(level)
    names = _problem_names(problem)
    metrics = as_list(metric)
    require_columns(results, ["design_point", *metrics], "column")
    columns = _groups(results, by)
    rows_out: list[dict[str, Any]] = []
    for where, rows, name, y in _responses(results, metrics, columns, transform):
        values: np.ndarray | None
        if X is not None:
            values = np.asarray(X)
            if len(values) != len(y):
                raise InputError.single(
                    SOURCE,
                    "design_point",
                    f"{_where(where)}{len(y)} design points in the results, {len(values)} rows in the design matrix",
                )
        else:
            values = _design_values(rows, names)
        why = (
            _saltelli_mismatch(values)
            if values is not None
            else (
                f"{len(y)} design points is not a multiple of factors + 2 = {len(names) + 2}"
                if len(y) % (len(names) + 2)
                else None
            )
        )
        if why:
            raise InputError.single(
                SOURCE,
                "design",
                f"{_where(where)}these results are not from a Sobol design: {why}; "
                "run the experiment with design: sobol",
            )
        if np.ptp(y) == 0:
            indices = {k: np.full(len(names), np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            indices = sobol.analyze(
                dict(problem),
                y,
                calc_second_order=False,
                num_resamples=num_resamples,
                conf_level=level,
                seed=np.random.default_rng(seed),
            )
        rows_out += _factor_rows(where, name, names, indices, ("S1", "S1_conf", "ST", "ST_conf"))
    return pd.DataFrame(rows_out)


def _factor_rows(
    where: Mapping[str, Any], metric: str, names: Sequence[str], indices: Mapping[str, Any], keys: Sequence[str]
) -> list[dict[str, Any]]:
    """One output row per factor: the group's columns, the metric, the factor and its ``keys`` indices."""
    return [
        {**where, "metric": metric, "factor": factor, **{k: float(indices[k][j]) for k in keys}}
        for j, factor in enumerate(names)
    ]


def _morris_mismatch(values: np.ndarray) -> str | None:
    """Why ``values`` is not a Morris sample (trajectories of factors + 1 points, one factor moving per step)."""
    n, d = values.shape
    if n % (d + 1):
        return f"{n} design points is not a multiple of factors + 1 = {d + 1}"
    steps = np.diff(values.reshape(n // (d + 1), d + 1, d), axis=1)
    if not ((steps != 0).sum(axis=2) == 1).all():
        return "the design matrix does not move one factor per step"
    return None


def morris_screening(
    results: pd.DataFrame,
    problem: Mapping[str, Any],
    X: np.ndarray,
    metric: str | Sequence[str] = "blast_radius",
    by: str | Sequence[str] | None = ("policy",),
    transform: Transform = None,
    num_levels: int = 4,
    seed: int = 1,
    level: float = 0.95,
    num_resamples: int = 100,
) -> pd.DataFrame:
    """Morris elementary-effects screening of each factor, per group, from a Morris sweep.

    ``X`` is the design matrix (`designs.design_matrix`); ``num_levels`` the grid levels it was
    sampled with (``design_options.levels``). Columns: the ``by`` columns (plus ``model`` when there
    are several), ``metric``, ``factor``, ``mu_star``, ``mu_star_conf`` (half-width at ``level``), ``sigma``.
    """
    from SALib.analyze import morris

    results = require_frame(results)
    level = require_level(level)
    names = _problem_names(problem)
    if X is None:
        raise InputError.single(
            SOURCE,
            "X",
            "Morris screening needs the design matrix (designs.design_matrix(spec)); "
            "a grid design has none: run the experiment with design: morris",
        )
    values = np.asarray(X, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(names):
        raise InputError.single(
            SOURCE, "X", f"the design matrix must have one column per factor ({len(names)}), got shape {values.shape}"
        )
    why = _morris_mismatch(values)
    if why:
        raise InputError.single(SOURCE, "design", f"not a Morris design: {why}; run the experiment with design: morris")
    metrics = as_list(metric)
    require_columns(results, ["design_point", *metrics], "column")
    columns = _groups(results, by)
    rows_out: list[dict[str, Any]] = []
    for where, _rows, name, y in _responses(results, metrics, columns, transform):
        if len(y) != len(values):
            raise InputError.single(
                SOURCE,
                "design_point",
                f"{_where(where)}{len(y)} design points in the results, {len(values)} rows in the design matrix",
            )
        indices = morris.analyze(
            dict(problem),
            values,
            y,
            num_resamples=num_resamples,
            conf_level=level,
            num_levels=num_levels,
            seed=np.random.default_rng(seed),
        )
        rows_out += _factor_rows(where, name, names, indices, ("mu_star", "mu_star_conf", "sigma"))
    return pd.DataFrame(rows_out)


def sensitivity(
    experiment: Experiment,
    results: pd.DataFrame,
    metric: str | Sequence[str] = "blast_radius",
    by: str | Sequence[str] | None = ("policy",),
    transform: Transform = None,
    seed: int = 1,
    level: float = 0.95,
) -> pd.DataFrame:
    """Sobol indices or Morris screening, whichever the experiment's design calls for.

    ``experiment`` is a `tokensim.Experiment` or the path of its file; ``results`` its rows
    (`Experiment.run` or `load_results`). Rows of another experiment are refused.
    """
    if isinstance(experiment, (str, Path)):
        experiment = Experiment.from_yaml(experiment)
    if not isinstance(experiment, Experiment):
        raise InputError.single(
            SOURCE,
            "experiment",
            f"expected a tokensim.Experiment or an experiment file, got {type(experiment).__name__}",
        )
    results = require_frame(results)
    spec = experiment.spec
    if "experiment_hash" in results.columns:
        found = set(results["experiment_hash"].dropna().unique())
        if found and found != {experiment.plan.experiment_hash}:
            raise InputError.single(
                SOURCE,
                "experiment_hash",
                f"these results come from another experiment than {spec.name!r} "
                "(or from an earlier version of its file)",
            )
    if spec.design not in ("sobol", "morris"):
        raise InputError.single(
            experiment.source,
            "design",
            f"sensitivity needs design: sobol or morris; experiment {spec.name!r} uses design: {spec.design}",
        )
    X = design_matrix(spec)
    if spec.design == "sobol":
        return sobol_indices(results, problem(spec), metric, by=by, transform=transform, seed=seed, level=level, X=X)
    assert X is not None, "a morris design has its sample"
    return morris_screening(
        results,
        problem(spec),
        X,
        metric,
        by=by,
        transform=transform,
        num_levels=spec.design_options.levels,
        seed=seed,
        level=level,
    )
