"""The regret figure: per policy, the spread of its regret across sampled worlds, its maximum marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tokensim.analysis.text import number
from tokensim.viz._frames import require
from tokensim.viz.style import OKABE_ITO, context, metric_label, new_figure, policy_styles, value_axis

_SOURCE = "regret figure"


def _order(rows: pd.DataFrame, by: str) -> list[str]:
    """Policies from the most robust (least max regret, then mean regret) to the least: drawn top to bottom."""
    stats = rows.groupby(rows[by].astype(str), sort=False)["regret"].agg(["max", "mean"])
    return [str(p) for p in stats.sort_values(["max", "mean"], kind="stable").index]


def _panel(ax: Axes, rows: pd.DataFrame, by: str, styles: dict[str, tuple[str, str]]) -> None:
    """One box per policy (horizontal, most robust on top), the worlds as points, the max as a diamond."""
    order = _order(rows, by)
    y = np.arange(len(order), 0, -1, dtype=float)  # first policy on top
    values = [rows.loc[rows[by].astype(str) == p, "regret"].to_numpy(float) for p in order]
    span = max(float(rows["regret"].max()), 1e-9)
    boxes = ax.boxplot(values, positions=y, orientation="horizontal", widths=0.5, patch_artist=True, showfliers=False)
    for patch, policy in zip(boxes["boxes"], order):
        patch.set(facecolor=styles[policy][0], alpha=0.35, edgecolor="black", gid=f"box|{policy}")
    for line in boxes["medians"]:
        line.set_color("black")
    for pos, policy, v in zip(y, order, values):
        colour, marker = styles[policy]
        spread = np.linspace(-0.12, 0.12, len(v)) if len(v) > 1 else np.zeros(1)  # a deterministic strip
        ax.scatter(v, pos + spread, s=12, color=colour, marker=marker, alpha=0.8, zorder=3, gid=f"worlds|{policy}")
        top = float(v.max())
        ax.plot(
            [top],
            [pos],
            marker="D",
            color=OKABE_ITO["black"],
            markersize=7,
            zorder=4,
            clip_on=False,
            gid=f"max|{policy}",
        )
        right = top > 0.75 * span  # near the right edge the label goes left of the diamond
        ax.annotate(
            f"max {number(top)}",
            (top, pos),
            xytext=(-4 if right else 4, 7),
            textcoords="offset points",
            ha="right" if right else "left",
            fontsize=8,
        )
    ax.set_yticks(y, order)
    ax.set_ylim(0.4, len(order) + 0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, span * 1.08)
    value_axis(ax.xaxis)
    if "satisfies" in rows.columns:
        share = rows.groupby(rows[by].astype(str), sort=False)["satisfies"]
        hits_of, worlds_of = share.sum().to_dict(), share.count().to_dict()
        for pos, policy in zip(y, order):
            hits, worlds = int(hits_of[policy]), int(worlds_of[policy])
            ax.annotate(
                f"meets the target in\n{hits} of {worlds} worlds ({hits / worlds:.0%})",
                (1.0, pos),
                xycoords=("axes fraction", "data"),
                xytext=(8, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=8,
                gid=f"satisficing|{policy}",
            )


def regret_figure(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Regret across worlds per policy: a box (quartiles, whiskers to 1.5 IQR), every world as a point,
    the maximum regret as a black diamond (what minimax regret ranks on), one panel per model.

    ``table`` is `tokensim.analysis.regret` output (a row per world and policy with ``regret``;
    ``satisfies``, when it was given a target, adds each policy's share of worlds meeting it).
    Policies run from the most robust (least maximum regret) at the top.
    """
    by = str(table.attrs.get("by", "policy")) if isinstance(table, pd.DataFrame) else "policy"
    require(table, [by, "regret"], _SOURCE)
    metric = table.attrs.get("metric")
    models = list(dict.fromkeys(table["model"])) if "model" in table.columns else [None]
    styles = policy_styles(table[by].astype(str))
    with context():
        fig = new_figure(7.5, 0.55 * table[by].nunique() * len(models) + 1.6 * len(models) + 0.6)
        axes = fig.subplots(len(models), 1, squeeze=False).ravel()
        for ax, model in zip(axes, models):
            rows = table if model is None else table[table["model"] == model]
            _panel(ax, rows, by, styles)
            ax.set_title(str(model) if model is not None else "")
            ax.set_xlabel(f"regret: {metric_label(str(metric)) if metric else 'metric'} above the best in its world")
        target = table.attrs.get("target")
        fig.suptitle(
            title or "Regret across sampled worlds" + (f" (target {target:,.4g})" if target is not None else "")
        )
    return fig
