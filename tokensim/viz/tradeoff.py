"""The tradeoff figure: integration cost against blast radius, one curve per policy across TTLs."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

from tokensim.errors import InputError
from tokensim.model.units import duration_text
from tokensim.viz._frames import ci_errors, floor_of, group_label, hours, require
from tokensim.viz.placement import place_labels
from tokensim.viz.style import (
    MARKERS,
    OKABE_ITO,
    context,
    metric_label,
    new_figure,
    policy_style,
    policy_styles,
    value_axis,
)

_LINESTYLES = ("-", "--", ":", "-.")
#: Above this many curves in a panel the legend names policies only, and a note names the other settings.
MAX_LEGEND_CURVES = 10
#: Columns a tradeoff table derives; the others identify the configuration.
_DERIVED = ("label", "n", "pareto", "knee", "falls_back")
#: Points of a curve closer than this share of the panel's span (on both axes) share one TTL label.
LABEL_CLOSE = 0.01
#: Characters per line of a legend entry.
LEGEND_WIDTH = 44


def _is_table(frame: pd.DataFrame, x: str, y: str) -> bool:
    return {f"{y}_mean", f"{x}_mean", "pareto"} <= set(frame.columns)


def _tables(frame: pd.DataFrame, x: str, y: str, level: float) -> list[tuple[str | None, pd.DataFrame]]:
    """One tradeoff table per model (a Pareto front across models would compare apples and oranges)."""
    if _is_table(frame, x, y):
        require(frame, [f"{x}_mean", f"{y}_mean"], "tradeoff figure")
        if "model" in frame.columns and frame["model"].nunique() > 1:
            return [(str(m), frame[frame["model"] == m]) for m in dict.fromkeys(frame["model"])]
        return [(str(frame["model"].iloc[0]) if "model" in frame.columns else None, frame)]
    require(frame, [x, y], "tradeoff figure")
    from tokensim import analysis  # at call time: analysis and figures are separate layers

    models = list(dict.fromkeys(frame["model"])) if "model" in frame.columns else [None]
    out = []
    for model in models:
        rows = frame if model is None else frame[frame["model"] == model]
        out.append((model, analysis.tradeoff_table(rows, x=x, y=y, level=level)))
    return out


def _config_columns(table: pd.DataFrame, x: str, y: str) -> list[str]:
    derived = {*_DERIVED, *(f"{m}_{s}" for m in (x, y) for s in ("mean", "low", "high"))}
    return [c for c in table.columns if c not in derived]


def _span(values: pd.Series) -> float:
    finite = values.to_numpy(float)
    finite = finite[np.isfinite(finite)]
    return float(finite.max() - finite.min()) if finite.size else 0.0


def ttl_labels(
    xs: np.ndarray, ys: np.ndarray, ttls: np.ndarray, spans: tuple[float, float], close: float = LABEL_CLOSE
) -> list[tuple[tuple[float, float], list[float]]]:
    """The TTL labels of one curve: points that (nearly) coincide share one label, `5m, 15m, 1h`.

    A point joins the label of an earlier point of the curve when it lies within ``close`` of the
    panel's span on both axes (about a marker's width on screen), so labels never stack into
    `5m15m1h`. Returns ((x, y) of the label's first point, its TTLs in curve order) per label.
    """
    tol = [close * s for s in spans]
    labels: list[tuple[tuple[float, float], list[float]]] = []
    for xv, yv, t in zip(xs, ys, ttls):
        for (lx, ly), joined in labels:
            if abs(xv - lx) <= tol[0] and abs(yv - ly) <= tol[1]:
                joined.append(float(t))
                break
        else:
            labels.append(((float(xv), float(yv)), [float(t)]))
    return labels


def _falls_back(curve: pd.DataFrame) -> str:
    """The platforms a curve's configurations fall back to bearer on (the table's `falls_back` column), or ''."""
    if "falls_back" not in curve.columns:
        return ""
    found = [str(v) for v in curve["falls_back"] if isinstance(v, str) and v]
    return ", ".join(dict.fromkeys(p.strip() for v in found for p in v.split(",")))


def _filled(handle: Artist) -> Artist:
    """A legend handle for a curve as drawn where it keeps its binding (filled marker)."""
    if isinstance(handle, ErrorbarContainer):
        line = handle.lines[0]
        return Line2D([], [], color=line.get_color(), marker=line.get_marker(), linestyle=line.get_linestyle())
    return handle


def curve_style(policy: str, index: int, styles: dict[str, tuple[str, str]]) -> tuple[str, str, str]:
    """(colour, marker, line style) of a policy's ``index``-th curve: the policy's colour, and for every further
    setting of it (e.g. on_binding_loss=fail after =fallback) another marker and line style, so no two
    configurations of a figure look alike."""
    colour, marker = styles.get(policy) or policy_style(policy)
    if index == 0:
        return colour, marker, _LINESTYLES[0]
    others = [m for m in MARKERS if m != marker]
    return colour, others[(index - 1) % len(others)], _LINESTYLES[index % len(_LINESTYLES)]


def _draw(
    ax: Axes, table: pd.DataFrame, x: str, y: str, ttl: str, styles: dict[str, tuple[str, str]]
) -> tuple[list[Annotation], str]:
    """One panel: the curves, the Pareto front and the knee; returns the labels to place (knee first) and
    a note naming the configurations that fall back to bearer, and where (or '')."""
    config = _config_columns(table, x, y)
    curve_keys = [c for c in config if c not in (ttl, "model", "policy.access_ttl", "access_ttl")]
    if "policy" in curve_keys:  # the policy first: it picks the colour
        curve_keys.remove("policy")
        curve_keys.insert(0, "policy")
    if ttl in table.columns:
        table = table.assign(_ttl=hours(table[ttl], "tradeoff figure"))
    order = "_ttl" if ttl in table.columns else f"{x}_mean"
    seen: dict[str, int] = {}
    spans = (_span(table[f"{x}_mean"]), _span(table[f"{y}_mean"]))
    groups = list(table.groupby(curve_keys, sort=False)) if curve_keys else [(("all configurations",), table)]
    crowded = len(groups) > MAX_LEGEND_CURVES and bool(curve_keys)
    if crowded:  # one legend entry per policy; the settings that split its curves go in a note
        for policy in dict.fromkeys(str(k if not isinstance(k, tuple) else k[0]) for k, _ in groups):
            colour, marker = styles.get(policy) or policy_style(policy)
            ax.add_line(Line2D([], [], color=colour, marker=marker, label=policy, gid=f"policy|{policy}"))
        others = [c for c in curve_keys if c != "policy"]
        ax.text(
            0.01,
            0.99,
            textwrap.fill(
                f"{len(groups)} curves: each policy once per setting of {', '.join(others)} "
                "(line style cycles; the tradeoff table lists them)",
                60,
            ),
            transform=ax.transAxes,
            va="top",
            fontsize=7,
            color="#555555",
            gid="curves-note",
        )
    labels: list[Annotation] = []
    fallback: dict[str, list[str]] = {}  # platforms -> the policies that fall back to bearer there
    for key, curve in groups:
        key = key if isinstance(key, tuple) else (key,)
        curve = curve.sort_values(order, kind="stable")
        colour, marker, style = curve_style(str(key[0]), seen.get(str(key[0]), 0), styles)
        seen[str(key[0])] = seen.get(str(key[0]), 0) + 1
        label = group_label(curve_keys, key) if curve_keys else str(key[0])
        platforms = _falls_back(curve)
        if platforms:
            fallback.setdefault(platforms, []).append(str(key[0]))
        xm, ym = curve[f"{x}_mean"].to_numpy(float), curve[f"{y}_mean"].to_numpy(float)
        bars = ax.errorbar(
            xm,
            ym,
            xerr=ci_errors(xm, curve[f"{x}_low"], curve[f"{x}_high"], floor_of(x)),
            yerr=ci_errors(ym, curve[f"{y}_low"], curve[f"{y}_high"], floor_of(y)),
            color=colour,
            marker=marker,
            markerfacecolor="white" if platforms else colour,  # hollow: not the binding the name promises
            markeredgewidth=1.4 if platforms else 1.0,
            linestyle=style,
            label=f"_{label}" if crowded else textwrap.fill(label, LEGEND_WIDTH),
        )
        bars.lines[0].set_gid(f"curve|{label}" + ("|falls-back" if platforms else ""))
        if "_ttl" in curve.columns and curve["_ttl"].nunique() > 1:
            for (xv, yv), ttls in ttl_labels(xm, ym, curve["_ttl"].to_numpy(float), spans):
                labels.append(
                    ax.annotate(
                        ", ".join(duration_text(t, exact=True) for t in ttls),
                        (xv, yv),
                        xytext=(4, 4),
                        textcoords="offset points",
                        fontsize=7,
                        color=colour,
                        gid="ttl-label",
                        arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.5, "shrinkA": 0, "shrinkB": 3},
                    )
                )
    front = table[table["pareto"].astype(bool)].sort_values(f"{x}_mean", kind="stable")
    if not front.empty:
        ax.plot(
            front[f"{x}_mean"].to_numpy(float),
            front[f"{y}_mean"].to_numpy(float),
            linestyle=":",
            color=OKABE_ITO["black"],
            marker="o",
            markersize=13,
            markerfacecolor="none",
            markeredgewidth=1.2,
            zorder=4,
            label="Pareto front (nothing cheaper and safer)",
            gid="pareto",
        )
    if "knee" in table.columns and table["knee"].astype(bool).any():
        knee = table[table["knee"].astype(bool)].iloc[0]
        ax.plot(
            [knee[f"{x}_mean"]],
            [knee[f"{y}_mean"]],
            linestyle="none",
            marker="*",
            markersize=17,
            markerfacecolor=OKABE_ITO["yellow"],
            markeredgecolor=OKABE_ITO["black"],
            zorder=5,
            label="knee of the front",
            gid="knee",
        )
        if "label" in table.columns:
            knee_label = ax.annotate(
                textwrap.fill(f"knee: {knee['label']}", 28),
                (knee[f"{x}_mean"], knee[f"{y}_mean"]),
                xytext=(12, -16),
                textcoords="offset points",
                fontsize=8,
                zorder=6,
                gid="knee-label",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "#999999", "alpha": 0.9},
                arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 8},
            )
            labels.insert(0, knee_label)  # placed first: the one label a reader looks for
    said = [f"on {where}: {', '.join(dict.fromkeys(names))}" for where, names in fallback.items()]
    return labels, textwrap.fill("hollow markers fall back to bearer " + "; ".join(said), 64) if said else ""


def tradeoff_figure(
    results_or_table: pd.DataFrame,
    *,
    x: str = "integration_cost",
    y: str = "blast_radius",
    ttl: str = "access_ttl",
    level: float = 0.95,
    log_x: bool = False,
    log_y: bool = False,
) -> Figure:
    """Plot blast radius (y) against integration cost (x): one curve per policy across TTLs.

    Pass result rows (``tokensim.analysis.tradeoff_table`` is computed per model) or
    a tradeoff table. Each point is a configuration's mean with its ``level`` interval
    on both axes, labelled with its TTL; the Pareto front (configurations nothing
    beats on both cost and blast radius) is ringed and joined, the knee starred.
    Curves are the table's configurations without the TTL: one per policy, or per
    policy and setting (e.g. rotation) when those vary, each setting with its own marker
    and line style. A table with a ``falls_back`` column (platforms, as
    `tokensim.report.marks.mark_fallback` adds) draws those configurations hollow and names
    them in the panel's title. Labels are placed clear of each other and of the markers,
    inside the axes (`tokensim.viz.placement`); the legend sits outside, at the upper right.
    """
    if not isinstance(results_or_table, pd.DataFrame):
        raise InputError.single(
            "tradeoff figure", "", f"expected a pandas DataFrame, got {type(results_or_table).__name__}"
        )
    tables = _tables(results_or_table, x, y, level)
    styles = policy_styles(str(p) for _, t in tables if "policy" in t.columns for p in t["policy"])
    with context():
        cols = min(len(tables), 2)
        fig = new_figure(7.0 * cols + 2.5, 5.0 * ((len(tables) + 1) // 2))
        axes = fig.subplots((len(tables) + 1) // 2, cols, squeeze=False).ravel()
        for ax in axes[len(tables) :]:
            ax.set_visible(False)
        labels: list[Annotation] = []
        hollow = False
        for ax, (model, table) in zip(axes, tables):
            placed, note = _draw(ax, table, x, y, ttl, styles)
            labels += placed
            ax.set_xscale("log" if log_x else "linear")
            ax.set_yscale("symlog" if log_y else "linear")
            value_axis(ax.yaxis)
            ax.set_xlabel(metric_label(x))
            ax.set_ylabel(metric_label(y))
            title = f"{model}: mean and {level:.0%} interval" if model else f"mean and {level:.0%} interval"
            ax.set_title(title + (f"\n{note}" if note else ""), fontsize=10 if note else None)
            hollow = hollow or bool(note)
        legend: dict[str, Artist] = {}
        for ax in axes[: len(tables)]:  # one legend for all panels: the curves and marks are the same kinds
            for handle, label in zip(*ax.get_legend_handles_labels()):
                legend.setdefault(label, _filled(handle))
        if hollow:
            legend["hollow marker: falls back to bearer (the panel's title says where)"] = Line2D(
                [], [], color="#555555", marker="o", markerfacecolor="white", linestyle="none"
            )
        fig.legend(list(legend.values()), list(legend), loc="outside right upper", fontsize=8)
        fig.suptitle(
            f"{metric_label(y).split(' (')[0].capitalize()} against {metric_label(x).split(' (')[0]}", x=0.01, ha="left"
        )
        place_labels(fig, labels)
    return fig
