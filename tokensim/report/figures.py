"""Choosing and drawing the figures of a results set (for the report and `tokensim plot`).

The figures themselves are `tokensim.viz`; this module decides what to plot from
what the results hold: which settings vary (a TTL, rotation, a revocation mode),
which configuration columns group the runs (sampled designs average over their
factors), and which rows a figure that cannot pool settings is drawn from.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from tokensim.errors import InputError

if TYPE_CHECKING:
    from tokensim.experiment import Experiment

#: Kinds of figure `results_figure` draws from result rows (a timeline needs a trace instead).
KINDS: tuple[str, ...] = ("tradeoff", "ttl", "exposure", "sensitivity", "timeline")
#: Designs whose factors are sampled uncertainties, averaged over rather than compared setting by setting.
SAMPLED_DESIGNS: frozenset[str] = frozenset({"lhs", "sobol", "morris"})
#: The transform sensitivity indices are taken on, the Python API's default too (docs/analysis.md, "Sensitivity").
SENSITIVITY_TRANSFORM: str | None = None
_MAX_TTLS = 12  # more distinct TTLs than this: a sampled TTL, not a setting to draw a curve through


def figure_data_uri(fig: Figure) -> str:
    """The figure as an SVG `data:` URI, text drawn as paths (no font needed to view it), ids stable."""
    from tokensim.viz.style import context

    buffer = io.BytesIO()
    with context(), matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "tokensim-report"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def design_of(experiment: Experiment | None) -> str | None:
    """The experiment's design (grid, lhs, sobol, morris), or None without an experiment."""
    return None if experiment is None else str(experiment.spec.design)


def config_by(results: pd.DataFrame, experiment: Experiment | None = None) -> list[str]:
    """The columns that name a configuration in these results.

    For a grid (or plain `tokensim run` rows): `tokensim.analysis.configuration_columns`.
    For a sampled design (lhs, sobol, morris) the factors are uncertainties drawn from
    their ranges, not choices: a configuration is the model and the policy, averaged
    over the design's sample.
    """
    from tokensim.analysis import configuration_columns

    if design_of(experiment) in SAMPLED_DESIGNS:
        return [c for c in ("model", "policy") if c in results.columns]
    return configuration_columns(results)


def design_rows(
    results: pd.DataFrame, experiment: Experiment | None = None, metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """The rows intervals are taken over: as they are, or for a sampled design averaged over its points.

    A sampled design's points share each replication's random streams, so its rows are not
    independent; `tokensim.analysis.design_average` leaves one value per model, policy and
    replication (of ``metrics``, default every outcome metric), and counts the rows it left
    out in ``attrs["left_out_rows"]``.
    """
    from tokensim.analysis import design_average

    if design_of(experiment) not in SAMPLED_DESIGNS or "design_point" not in results.columns:
        return results
    return design_average(results, metrics, by=config_by(results, experiment))


def varying(results: pd.DataFrame, experiment: Experiment | None = None, exclude: Sequence[str] = ()) -> list[str]:
    """Configuration columns besides model and policy that take several values (per model and policy)."""
    skip = {"model", "policy", *exclude}
    return [c for c in config_by(results, experiment) if c not in skip]


def anchored(
    results: pd.DataFrame, columns: Sequence[str], choice: Mapping[str, Any]
) -> tuple[pd.DataFrame, list[str]]:
    """The rows where each of ``columns`` equals its value in ``choice``, and `name=value` texts saying so."""
    from tokensim.analysis.configurations import format_value

    rows, said = results, []
    for column in columns:
        if column in choice:
            value = choice[column]
            rows = rows[rows[column].isna()] if pd.isna(value) else rows[rows[column] == value]
            said.append(f"{column}={format_value(column, value)}")
    return rows, said


def ttl_column(results: pd.DataFrame) -> str | None:
    """The access-token TTL column when it varies over a few settings (else None)."""
    if "access_ttl" not in results.columns:
        return None
    counts = results.groupby(["model", "policy"], sort=False)["access_ttl"].nunique() if "model" in results else None
    distinct = results["access_ttl"].nunique()
    if distinct < 2 or distinct > _MAX_TTLS or (counts is not None and counts.max() < 2):
        return None
    return "access_ttl"


def revocation_column(results: pd.DataFrame) -> str | None:
    """A sweep factor column of the issuer's revocation mode (``nodes.X.revocation``), if any varies."""
    found = [c for c in results.columns if str(c).endswith(".revocation") and results[c].nunique() > 1]
    return found[0] if len(found) == 1 else None


def exposure_varies(results: pd.DataFrame) -> bool:
    """Whether rotation, reuse detection or the revocation mode takes several values."""
    flags = [c for c in ("rotation", "reuse_detection") if c in results.columns]
    by_policy = results.groupby("policy", sort=False)[flags].nunique().max() if flags else pd.Series(dtype=int)
    return bool((by_policy > 1).any()) or revocation_column(results) is not None


def _require_metric(results: pd.DataFrame, metric: str, source: str) -> None:
    from tokensim.outcome import METRIC_FIELDS

    if metric not in results.columns:
        present = [m for m in METRIC_FIELDS if m in results.columns]
        raise InputError.single(
            source, "--metric", f"no column {metric!r} in the results; metrics present: {', '.join(present)}"
        )
    if not pd.api.types.is_numeric_dtype(results[metric]) or pd.api.types.is_bool_dtype(results[metric]):
        raise InputError.single(source, "--metric", f"column {metric!r} is not a numeric metric")
    require_values(results, metric, source)


def require_values(results: pd.DataFrame, column: str, source: str, within: str = "") -> None:
    """Refuse a metric column with no value at all (every row empty): there is nothing to plot or compare.

    ``within`` names the subset checked (e.g. ``model spa``) in the message.
    """
    if not results[column].notna().any():
        rows = f"{len(results)} rows" + (f" of {within}" if within else "")
        raise InputError.single(
            source, column, f"has no values: every one of the {rows} is empty, so there is nothing to plot or compare"
        )


def tradeoff_tables(
    results: pd.DataFrame,
    experiment: Experiment | None = None,
    metric: str = "blast_radius",
    cost: str = "integration_cost",
) -> pd.DataFrame:
    """`tokensim.analysis.tradeoff_table` per model (one Pareto front each), configurations as `config_by` says."""
    from tokensim.analysis import tradeoff_table

    parts = [
        tradeoff_table(
            design_rows(rows, experiment, list(dict.fromkeys([metric, cost]))),
            by=config_by(rows, experiment),
            x=cost,
            y=metric,
        )
        for _, rows in results.groupby("model", sort=False)
    ]
    return pd.concat(parts, ignore_index=True)


def ttl_figure_for(
    results: pd.DataFrame, metric: str = "blast_radius", experiment: Experiment | None = None, source: str = "results"
) -> Figure:
    """Metric against access-token TTL, one curve per policy and per other setting that varies.

    A column the figure would average over (a sampled factor of an lhs/sobol/morris design)
    is refused, naming ``source`` and the ``--where`` that fixes it.
    """
    from tokensim.analysis.configurations import pooled_columns
    from tokensim.viz import ttl_figure

    others = varying(results, experiment, exclude=("access_ttl",))
    by = ["policy", *others]
    keys = [c for c in ("model", *by, "access_ttl") if c in results.columns]
    pooled = pooled_columns(results, keys, exclude=("policy.access_ttl",))
    if pooled:
        raise InputError.single(
            source,
            pooled[0],
            f"{', '.join(pooled)} also varies within one point of the TTL figure, "
            f"which would average over it: pick one value with --where {pooled[0]}=VALUE "
            f"({_some_values(results, pooled[0])})",
        )
    return ttl_figure(results, metric, by=by)


def _some_values(results: pd.DataFrame, column: str, limit: int = 6) -> str:
    """A few of a column's values as --where reads them: `5m, 1h` or `0.1, 0.5, ... (40 values)`."""
    from tokensim.analysis.configurations import format_value

    values = [format_value(column, v) for v in pd.unique(results[column].dropna())]
    return ", ".join(values[:limit]) + (f", ... ({len(values)} values)" if len(values) > limit else "")


def exposure_figure_for(
    results: pd.DataFrame, metric: str = "exposure_hours", experiment: Experiment | None = None, source: str = "results"
) -> Figure:
    """Metric by rotation mode and revocation mode, one bar per setting of the other configuration columns;
    a TTL that varies must be fixed first (it has a figure of its own, ``--kind ttl``)."""
    from tokensim.analysis.configurations import format_value
    from tokensim.viz import exposure_figure

    column = revocation_column(results)
    others = varying(results, experiment, exclude=("rotation", "reuse_detection", *([column] if column else [])))
    ttls = [c for c in others if str(c).endswith("access_ttl")]
    if ttls:
        values = ", ".join(format_value(ttls[0], v) for v in pd.unique(results[ttls[0]].dropna()))
        raise InputError.single(
            source,
            ttls[0],
            f"{ttls[0]} also varies, and the exposure figure shows one TTL at a time (--kind ttl draws the "
            f"TTLs): pick one with --where, e.g. --where {ttls[0]}=VALUE ({values})",
        )
    return exposure_figure(results, metric, revocation=column, by=others)


def sensitivity_table(
    results: pd.DataFrame,
    experiment: Experiment | None,
    metric: str = "blast_radius",
    source: str = "results",
    transform: str | None = SENSITIVITY_TRANSFORM,
) -> pd.DataFrame:
    """Sobol indices or Morris screening of ``metric`` (``transform``: none or log1p) from a sobol or morris sweep."""
    from tokensim.analysis import sensitivity

    if experiment is None or design_of(experiment) not in SAMPLED_DESIGNS - {"lhs"}:
        raise InputError.single(
            source,
            "" if experiment is None else "design",
            "sensitivity needs a sweep folder of a design: sobol or morris sweep (e.g. experiments/sobol_threats.yaml); "
            + ("a results file has no design" if experiment is None else f"this one is {design_of(experiment)}"),
        )
    return sensitivity(experiment, results, metric=metric, transform=transform)


def sensitivity_title(metric: str, transform: str | None) -> str:
    """The sensitivity figure's title, saying what the indices are taken on."""
    on = metric if transform in (None, "none") else f"{transform}({metric})"
    return f"Sensitivity of {on}: which factor drives it"


def results_figure(
    results: pd.DataFrame,
    kind: str,
    *,
    metric: str | None = None,
    experiment: Experiment | None = None,
    source: str = "results",
    transform: str | None = SENSITIVITY_TRANSFORM,
) -> Figure:
    """Draw one kind of figure (tradeoff, ttl, exposure, sensitivity) from result rows.

    ``metric`` is the y axis (tradeoff, ttl: default ``blast_radius``; exposure: default
    ``exposure_hours``) or the analysed output (sensitivity: default ``blast_radius``).
    ``experiment`` is needed for sensitivity; it also tells a sampled design, whose
    factors are averaged over. ``source`` names the input in error messages.
    """
    from tokensim.viz import sensitivity_figure, tradeoff_figure

    if kind not in KINDS or kind == "timeline":
        raise InputError.single(
            source,
            "--kind",
            f"unknown kind {kind!r} for result rows; use one of "
            f"{', '.join(k for k in KINDS if k != 'timeline')} (timeline plots a trace file)",
        )
    metric = metric or ("exposure_hours" if kind == "exposure" else "blast_radius")
    _require_metric(results, metric, source)
    if kind == "tradeoff":
        from tokensim.report.marks import mark_fallback

        table = tradeoff_tables(results, experiment, metric=metric)
        table = mark_fallback(table, results, config_by(results, experiment), experiment)
        return tradeoff_figure(table, y=metric)
    if kind == "ttl":
        if ttl_column(results) is None:
            held = (
                ", ".join(sorted({f"{v:g}h" for v in results["access_ttl"].dropna()}))
                if "access_ttl" in results
                else "none"
            )
            raise InputError.single(
                source,
                "access_ttl",
                f"the access-token TTL does not vary over a few settings here "
                f"(values: {held}); run several TTLs (a sweep over policy.access_ttl such as "
                "experiments/policy_ttl_rotation.yaml, or --set access_ttl=...)",
            )
        return ttl_figure_for(results, metric, experiment, source)
    if kind == "exposure":  # drawn even when rotation and revocation do not vary: one bar per configuration
        return exposure_figure_for(results, metric, experiment, source)
    indices = sensitivity_table(results, experiment, metric, source, transform)
    models = [v.arch for v in experiment.plan.variants] if experiment is not None else None
    return sensitivity_figure(indices, title=sensitivity_title(metric, transform), models=models)
