"""Sensitivity bars: Sobol indices (first and total order) or Morris screening, with intervals."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tokensim.errors import InputError
from tokensim.labels import factor_label
from tokensim.model.architecture import Architecture
from tokensim.viz._frames import group_label, require
from tokensim.viz.style import OKABE_ITO, context, metric_label, new_figure

#: What each kind of indices frame holds: (value column, its half-interval column, legend label, colour).
_Series = tuple[tuple[str, str, str, str], ...]
_SOBOL: _Series = (
    ("S1", "S1_conf", "first order (S1): the factor alone", OKABE_ITO["sky_blue"]),
    ("ST", "ST_conf", "total order (ST): with its interactions", OKABE_ITO["blue"]),
)
_MORRIS: _Series = (("mu_star", "mu_star_conf", "\u03bc*: mean absolute elementary effect", OKABE_ITO["blue"]),)
_KNOWN = {"metric", "factor", "S1", "S1_conf", "ST", "ST_conf", "mu_star", "mu_star_conf", "sigma", "mu"}


def sensitivity_figure(
    indices: pd.DataFrame,
    *,
    title: str | None = None,
    models: Architecture | Iterable[Architecture] | None = None,
) -> Figure:
    """Horizontal bars per factor, one panel per group (e.g. policy) and metric.

    Factors are named in words (`tokensim.labels.factor_label`: ``nodes.spa.leaks[0].rate``
    reads "spa leak rate (xss)" when ``models``, the sweep's models, are given).

    ``indices`` is `tokensim.analysis.sobol_indices` output (``S1``, ``S1_conf``,
    ``ST``, ``ST_conf``: both orders side by side, the bar ends at the index and the
    whisker spans index +/- conf, SALib's half-width of the interval) or
    `tokensim.analysis.morris_screening` output (``mu_star`` with ``mu_star_conf``,
    and ``sigma`` as a diamond: large sigma means interactions or non-linearity).
    Factors are ordered by their largest index, most influential on top, the same
    order in every panel.
    """
    source = "sensitivity figure"
    require(indices, ["factor"], source)
    if {"S1", "ST"} <= set(indices.columns):
        series, kind = _SOBOL, "Sobol indices"
    elif "mu_star" in indices.columns:
        series, kind = _MORRIS, "Morris screening"
    else:
        raise InputError.single(source, "", "expected Sobol (S1, ST) or Morris (mu_star) columns")
    require(indices, [c for s in series for c in s[:2]], source)
    by = [c for c in indices.columns if c not in _KNOWN]
    keys = by + (["metric"] if "metric" in indices.columns else [])
    lead = series[-1][0]  # rank by ST (Sobol) or mu_star (Morris)
    order = list(indices.groupby("factor", sort=False)[lead].max().sort_values(ascending=True, kind="stable").index)
    groups = list(indices.groupby(keys, sort=False)) if keys else [((kind,), indices)]
    cols = min(len(groups), 3)
    rows = (len(groups) + cols - 1) // cols
    height = 0.8 / len(series)
    with context():
        fig = new_figure(4.6 * cols + 0.5, max(2.6, 0.42 * len(order) * len(series) + 1.4) * rows)
        axes = fig.subplots(rows, cols, squeeze=False, sharex=True).ravel()
        for ax in axes[len(groups) :]:
            ax.set_visible(False)
        for ax, (key, frame) in zip(axes, groups):
            key = key if isinstance(key, tuple) else (key,)
            frame = frame.set_index("factor").reindex(order)
            y = np.arange(len(order), dtype=float)
            for k, (value, conf, label, colour) in enumerate(series):
                pos = y - (k - (len(series) - 1) / 2) * height  # first series on top
                bars = ax.barh(pos, frame[value].to_numpy(float), height * 0.92, color=colour, label=label)
                for patch, factor in zip(bars.patches, order):
                    patch.set_gid(f"{value}|{factor}")
                err = ax.errorbar(
                    frame[value].to_numpy(float),
                    pos,
                    xerr=np.nan_to_num(frame[conf].to_numpy(float)),
                    fmt="none",
                    color="black",
                    linewidth=1,
                )
                err.lines[2][0].set_gid(f"{conf}")
            if "sigma" in frame.columns and series is _MORRIS:
                ax.plot(
                    frame["sigma"].to_numpy(float),
                    y,
                    linestyle="none",
                    marker="D",
                    color=OKABE_ITO["black"],
                    markersize=5,
                    label="\u03c3: spread of the elementary effects",
                    gid="sigma",
                )
            if frame[series[0][0]].isna().all():  # SALib gives NaN when the metric never varied in this group
                ax.text(
                    0.5,
                    0.5,
                    "the metric did not vary here:\nno indices",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    gid="no-variation",
                )
            ax.set_yticks(y, [textwrap.fill(factor_label(f, models), 28) for f in order])
            ax.grid(axis="y", visible=False)
            ax.axvline(0, color="black", linewidth=0.8)
            name = (
                group_label(keys[:-1], key[:-1])
                if "metric" in keys and len(keys) > 1
                else (group_label(keys, key) if keys else "")
            )
            metric = str(key[-1]) if "metric" in keys else None
            ax.set_title(", ".join(p for p in (name, metric_label(metric).split(" (")[0] if metric else "") if p))
            ax.set_xlabel(
                "index (share of the output variance)"
                if series is _SOBOL
                else f"effect on {metric_label(metric) if metric else 'the metric'}"
            )
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels) if cols > 1 else 1)
        fig.suptitle(title or f"{kind}: which factor drives the outcome")
    return fig
