"""A metric against the access-token TTL, one curve per policy, with confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure

from tokensim.analysis import summarise
from tokensim.viz._frames import check_not_pooled, ci_errors, floor_of, group_label, hours, require
from tokensim.viz.style import context, dodge, duration_axis, metric_label, new_figure, policy_styles, value_axis

_LINESTYLES = ("-", "--", ":", "-.")


def ttl_figure(
    results: pd.DataFrame,
    metric: str = "blast_radius",
    *,
    ttl: str = "access_ttl",
    by: Sequence[str] = ("policy",),
    level: float = 0.95,
    log_x: bool = True,
) -> Figure:
    """Plot ``metric`` (mean and ``level`` confidence interval) against the TTL column, one curve per ``by`` group.

    ``results`` holds result rows (tokensim.replicate, Experiment.run, load_results).
    ``ttl`` is a duration column: ``access_ttl`` (hours) or a factor column such as
    ``policy.access_ttl`` (``5m``); ticks sit at the TTLs run and read as durations.
    One panel per model. Any other configuration column that varies (rotation, a
    factor) must be filtered or added to ``by``: averaging over it would hide it,
    so that is refused with an InputError.
    """
    source = "ttl figure"
    by = list(by)
    require(results, ["model", ttl, metric, *by], source)
    frame = results.assign(_ttl=hours(results[ttl], source))
    check_not_pooled(
        frame.drop(columns=[c for c in ("access_ttl", "policy.access_ttl") if c != ttl and c in frame]),
        ["model", *by, ttl],
        source,
        f"add it to by (by={by})",
    )
    models = list(dict.fromkeys(frame["model"]))
    styles = policy_styles(frame[by[0]].astype(str))
    with context():
        fig = new_figure(6.5 * min(len(models), 2) + 2.0, 4.5 * ((len(models) + 1) // 2))
        axes = fig.subplots((len(models) + 1) // 2, min(len(models), 2), squeeze=False).ravel()
        for ax in axes[len(models) :]:
            ax.set_visible(False)
        for ax, model in zip(axes, models):
            rows = frame[frame["model"] == model]
            table = summarise(rows, [metric], by=[*by, "_ttl"], level=level).sort_values("_ttl", kind="stable")
            seen: dict[str, int] = {}
            curves = list(table.groupby(by, sort=False))
            for index, (key, curve) in enumerate(curves):
                key = key if isinstance(key, tuple) else (key,)
                colour, marker = styles[str(key[0])]
                style = _LINESTYLES[seen.get(str(key[0]), 0) % len(_LINESTYLES)]
                seen[str(key[0])] = seen.get(str(key[0]), 0) + 1
                x, mean = curve["_ttl"].to_numpy(), curve["mean"].to_numpy()
                bars = ax.errorbar(
                    x,
                    mean,
                    yerr=ci_errors(mean, curve["ci_low"], curve["ci_high"], floor_of(metric)),
                    color=colour,
                    marker=marker,
                    linestyle=style,
                    label=group_label(by, key),
                )
                bars.lines[0].set_gid(f"curve|{group_label(by, key)}")
                dodge(ax, [bars.lines[0], *bars.lines[1], *bars.lines[2]], index, len(curves))  # intervals side by side
            if log_x:
                ax.set_xscale("log")
            duration_axis(ax.xaxis, list(np.unique(frame["_ttl"])))
            ax.set_xlabel(metric_label("access_ttl") if ttl.endswith("access_ttl") else metric_label(ttl))
            ax.set_ylabel(metric_label(metric))
            value_axis(ax.yaxis)
            ax.set_title(f"{model}: mean and {level:.0%} interval")
            ax.margins(x=0.08)
        legend: dict[str, Artist] = {}
        for ax in axes[: len(models)]:  # one legend for all panels
            for handle, label in zip(*ax.get_legend_handles_labels()):
                legend.setdefault(label, handle)
        fig.legend(
            list(legend.values()),
            list(legend),
            loc="outside right center",
            title=", ".join(b.rsplit(".", 1)[-1] for b in by),
        )
        fig.suptitle(f"{metric_label(metric).split(' (')[0].capitalize()} against {metric_label(ttl).split(' (')[0]}")
    return fig
