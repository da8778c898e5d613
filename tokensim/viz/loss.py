"""The loss exceedance curve: how likely a year's loss exceeds each amount, one curve per configuration."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, LogLocator, MaxNLocator, NullFormatter, PercentFormatter

from tokensim.analysis.configurations import config_labels
from tokensim.errors import InputError
from tokensim.viz.style import context, new_figure, policy_styles, value_axis

#: Columns of `tokensim.analysis.loss_exceedance` besides the configuration columns.
CURVE_COLUMNS: tuple[str, ...] = ("threshold", "probability", "ci_low", "ci_high", "n", "interval")
#: Curves one panel can show legibly (assumption: the palette has seven line colours).
MAX_CURVES = 12
_SOURCE = "loss figure"
_LINESTYLES = ("-", "--", ":", "-.")


def _curves(results: pd.DataFrame, by: Sequence[str] | None, level: float) -> tuple[pd.DataFrame, list[str]]:
    """The exceedance table (computed from result rows, or given) and its configuration columns."""
    from tokensim.analysis import loss_exceedance

    if not isinstance(results, pd.DataFrame):
        raise InputError.single(_SOURCE, "", f"expected a pandas DataFrame, got {type(results).__name__}")
    if {"threshold", "probability", "ci_low", "ci_high"} <= set(results.columns):
        curves = results
        keys = list(by) if by is not None else [c for c in curves.columns if c not in CURVE_COLUMNS]
    else:
        curves = loss_exceedance(results, by=None if by is None else list(by), level=level)
        keys = [c for c in curves.columns if c not in CURVE_COLUMNS]
    if not keys:
        raise InputError.single(_SOURCE, "by", "the curves have no configuration columns (model, policy, ...)")
    return curves, keys


def _panel(
    ax: Axes,
    rows: pd.DataFrame,
    keys: list[str],
    labels: dict[tuple[object, ...], str],
    styles: dict[str, tuple[str, str]],
) -> None:
    """One model's curves on a log loss axis, each with its interval band."""
    positive = rows[rows["threshold"] > 0]
    if positive.empty:
        ax.text(0.5, 0.5, "no loss in any simulated year", ha="center", va="center", transform=ax.transAxes)
        return
    for index, (key, curve) in enumerate(rows.groupby(keys, sort=False, dropna=False)):
        key = key if isinstance(key, tuple) else (key,)
        curve = curve.sort_values("threshold", kind="stable")
        label = labels[key]
        colour = styles[str(dict(zip(keys, key)).get("policy", label))][0]
        any_loss = curve.loc[curve["threshold"] <= 0, "probability"]
        if not any_loss.empty:
            share = float(any_loss.iloc[-1])
            label += (
                f" (a year with loss: {share:.0%})"
                if share >= 0.01 or share == 0
                else f" (a year with loss: {share:.2%})"
            )
        shown = curve[curve["threshold"] > 0]
        x = shown["threshold"].to_numpy(float)
        ax.fill_between(x, shown["ci_low"], shown["ci_high"], step="post", color=colour, alpha=0.18, linewidth=0)
        style = _LINESTYLES[index % len(_LINESTYLES)]  # curves that coincide stay visible
        (line,) = ax.step(x, shown["probability"], where="post", color=colour, linestyle=style, label=label)
        line.set_gid(f"curve|{labels[key]}")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    low, high = float(positive["threshold"].min()), float(positive["threshold"].max())
    ticks = np.asarray(LogLocator(subs=(1.0, 2.0, 5.0)).tick_values(low, high), dtype=float)
    inside = [float(t) for t in ticks if low <= t <= high]
    ax.xaxis.set_major_locator(FixedLocator(inside) if len(inside) >= 3 else MaxNLocator(5))
    ax.xaxis.set_minor_formatter(NullFormatter())
    value_axis(ax.xaxis)


def loss_exceedance_figure(
    results: pd.DataFrame,
    *,
    by: Sequence[str] | None = None,
    level: float = 0.95,
    currency: str | None = None,
    title: str | None = None,
) -> Figure:
    """Plot P(annual loss > x) against x (log axis), one step curve per configuration with its interval band.

    ``results``: result rows with a ``loss`` column (the curves are `tokensim.analysis.loss_exceedance`
    of them, grouped by ``by``, default the configuration columns) or such a curve table itself. One
    panel per model; the legend gives each configuration's probability of a year with any loss (the
    curve's value at 0, left of the log axis). ``currency`` labels the loss axis.
    """
    curves, keys = _curves(results, by, level)
    models = list(dict.fromkeys(curves["model"])) if "model" in keys else [None]
    table = curves[keys].drop_duplicates().reset_index(drop=True)
    too_many = table.groupby("model", sort=False).size().max() if "model" in keys else len(table)
    if too_many > MAX_CURVES:
        raise InputError.single(
            _SOURCE,
            "by",
            f"{too_many} configurations in one panel, more than {MAX_CURVES} curves can show; "
            "keep fewer rows (tokensim plot --where COLUMN=VALUE)",
        )
    labels = dict(zip(table.itertuples(index=False, name=None), config_labels(table, keys)))
    styles = policy_styles(table["policy"].astype(str) if "policy" in keys else config_labels(table, keys))
    with context():
        columns = min(len(models), 2)
        fig = new_figure(6.0 * columns + 3.0, 4.2 * ((len(models) + 1) // 2))
        axes = fig.subplots((len(models) + 1) // 2, columns, squeeze=False).ravel()
        for ax in axes[len(models) :]:
            ax.set_visible(False)
        for ax, model in zip(axes, models):
            rows = curves if model is None else curves[curves["model"] == model]
            _panel(ax, rows, keys, labels, styles)
            ax.set_xlabel(f"annual loss x ({currency or 'in the currency of the model’s loss: section'})")
            ax.set_ylabel("probability that a year's loss exceeds x")
            ax.set_title(f"{model + ': ' if model else ''}step curve and {level:.0%} interval")
        legend: dict[str, Artist] = {}
        for ax in axes[: len(models)]:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                legend.setdefault(label, handle)
        if legend:
            fig.legend(list(legend.values()), list(legend), loc="outside right center", title="configuration")
        fig.suptitle(title or "Loss exceedance: how likely a year's loss exceeds each amount")
    return fig


def currency_of(losses: Sequence[object]) -> str | None:
    """The one currency of several models' `LossFigures` (None when they have none or disagree)."""
    found = {getattr(f, "currency", None) for f in losses if f is not None}
    return found.pop() if len(found) == 1 else None
