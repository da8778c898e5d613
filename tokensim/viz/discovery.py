"""Scenario discovery figure: PRIM's peeling trajectory and the chosen box over the sampled worlds."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from tokensim.analysis.discovery import Discovery
from tokensim.labels import factor_label
from tokensim.viz.style import OKABE_ITO, context, new_figure


def discovery_figure(found: Discovery, *, title: str | None = None) -> Figure:
    """Two panels: the peeling trajectory (coverage against density, one point per box, the chosen one
    ringed) and the worlds over the box's factors (of interest or not), with the chosen box drawn.

    The second panel's axes are the first two factors the box narrows (a factor it does not narrow
    fills in when it narrows one; a single-factor sweep spreads the worlds over a jitter axis).
    """
    numeric = [f for f in found.limits.index if found.limits.at[f, "values"] is None]
    shown = [f for f in found.restricted if f in numeric] + [f for f in numeric if f not in found.restricted]
    with context():
        fig = new_figure(11.0, 4.6)
        left, right = fig.subplots(1, 2)
        steps = found.trajectory
        dots = left.scatter(
            steps["coverage"], steps["density"], c=steps["restricted"], cmap="viridis", s=28, zorder=3, gid="boxes"
        )
        chosen = steps.loc[found.chosen]
        left.scatter(
            [chosen["coverage"]],
            [chosen["density"]],
            s=160,
            facecolors="none",
            edgecolors=OKABE_ITO["vermillion"],
            linewidths=2,
            zorder=4,
            label="chosen box",
            gid="chosen",
        )
        fig.colorbar(dots, ax=left, label="factors the box narrows")
        left.set_xlabel("coverage: share of the worlds of interest inside the box")
        left.set_ylabel("density: share of the box's worlds of interest")
        left.set_xlim(-0.02, 1.02)
        left.set_ylim(-0.02, 1.02)
        left.legend(loc="lower left")
        left.set_title("PRIM peeling trajectory")
        _worlds(right, found, shown[:2])
        readable_axes(fig, found)
        fig.suptitle(title or found.condition.text())
    return fig


def _worlds(ax: object, found: Discovery, axes: list[str]) -> None:
    """The worlds over (up to) two numeric factors, of interest or not, and the chosen box."""
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    if not axes:
        ax.text(0.5, 0.5, "no numeric factor to draw", transform=ax.transAxes, ha="center", va="center")
        return
    x = found.worlds[axes[0]].to_numpy(float)
    spread = np.random.default_rng(0).uniform(0, 1, len(x))  # a fixed jitter: the figure is the same each time
    y = found.worlds[axes[1]].to_numpy(float) if len(axes) > 1 else spread
    interest = found.interest.to_numpy(bool)
    ax.scatter(
        x[~interest], y[~interest], s=14, color=OKABE_ITO["sky_blue"], label="condition does not hold", gid="met"
    )
    ax.scatter(x[interest], y[interest], s=14, color=OKABE_ITO["vermillion"], label="condition holds", gid="holds")
    low_x, high_x = _ends(found, axes[0])
    low_y, high_y = _ends(found, axes[1]) if len(axes) > 1 else (0.0, 1.0)
    box = Rectangle(
        (low_x, low_y),
        high_x - low_x,
        high_y - low_y,
        fill=False,
        edgecolor=OKABE_ITO["black"],
        linewidth=1.5,
        linestyle="--",
        gid="box",
    )
    ax.add_patch(box)
    ax.set_xlabel(factor_label(axes[0]))
    ax.set_ylabel(factor_label(axes[1]) if len(axes) > 1 else "(spread for reading)")
    for factor, axis in zip(axes, (ax.xaxis, ax.yaxis)):
        if found.worlds[factor].min() > 0 and found.worlds[factor].max() / found.worlds[factor].min() > 50:
            (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
    ax.legend(loc="best")
    ax.set_title(f"the chosen box: coverage {found.coverage:.2f}, density {found.density:.2f}")


def _ends(found: Discovery, factor: str) -> tuple[float, float]:
    """The chosen box's low and high end on one numeric factor."""
    low, high = found.limits.loc[factor, ["low", "high"]].to_numpy(float)
    return float(low), float(high)


#: Ticks (hours) of a duration factor drawn on a log axis: 1 minute to a year.
_LOG_DURATIONS: tuple[float, ...] = (1 / 60, 5 / 60, 15 / 60, 1.0, 6.0, 24.0, 7 * 24.0, 30 * 24.0, 365 * 24.0)


def readable_axes(fig: Figure, found: Discovery) -> Figure:
    """Label the worlds panel's factor axes as the box table does (`value_text`: 5m, 2d, 2/day).

    matplotlib's default ticks on a log axis are math text, which tokensim's style draws as written
    (``$\\mathdefault{10^{0}}$``), and are in hours.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    from tokensim.analysis.discovery import value_text
    from tokensim.viz.style import duration_axis

    numeric = [str(f) for f in found.limits.index if found.limits.at[f, "values"] is None]
    labels = {factor_label(f): f for f in numeric}
    for ax in fig.axes:
        for axis, label, scale in (
            (ax.xaxis, ax.get_xlabel(), ax.get_xscale()),
            (ax.yaxis, ax.get_ylabel(), ax.get_yscale()),
        ):
            factor = labels.get(label)
            if factor is None:
                continue
            low, high = (float(v) for v in (found.worlds[factor].min(), found.worlds[factor].max()))
            if value_text(factor, 1.0) == "1h":  # a duration, in hours
                if scale == "log":
                    duration_axis(axis, [t for t in _LOG_DURATIONS if low <= t <= high] or [low, high])
                else:
                    duration_axis(axis, span=high - low)
            elif scale == "log":
                words = FuncFormatter(lambda v, _pos, f=factor: value_text(f, v))
                axis.set_major_formatter(words)
                axis.set_minor_formatter(words if high < 10 * low else NullFormatter())  # under a decade: no major tick
    return fig
