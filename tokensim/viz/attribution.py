"""Harm attribution: per policy, which leak vector on which client or node the harm came from.

Input: the tidy frame of `tokensim.analysis.attribution` (one row per model, policy,
vector, node and credential, summed over replications): columns ``model``, ``policy``,
``vector``, ``node``, ``credential``, ``requests``, ``privileged_requests``,
``blast_radius`` and ``replications``. The figure divides the sums by the replications,
so a bar is the mean harm of one run and its segments add up to the policy's mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Annotation
from matplotlib.ticker import MaxNLocator

from tokensim.errors import InputError
from tokensim.viz._frames import require
from tokensim.viz.placement import place_labels
from tokensim.viz.style import GREY, LINE_COLOURS, OKABE_ITO, context, metric_label, new_figure, value_axis

#: The columns of the attribution frame (the data contract with tokensim.analysis.attribution).
ATTRIBUTION_COLUMNS: tuple[str, ...] = (
    "model",
    "policy",
    "vector",
    "node",
    "credential",
    "requests",
    "privileged_requests",
    "blast_radius",
    "replications",
)
METRICS: tuple[str, ...] = ("blast_radius", "requests", "privileged_requests")
KEYS: tuple[str, ...] = ("vector", "node", "credential")
#: Segments drawn in their own colour; the smaller rest is one grey "other" segment.
MAX_SEGMENTS = 8
_SOURCE = "attribution figure"
_HATCHES = ("", "///", "...", "xxx")
_LABELS = {
    "requests": "unauthorized requests (mean per run)",
    "privileged_requests": "privileged requests (mean per run)",
}


def _checked(frame: pd.DataFrame, metric: str, by: Sequence[str]) -> list[str]:
    if metric not in METRICS:
        raise InputError.single(_SOURCE, "metric", f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    require(frame, ["model", "policy", metric, "replications", *by], _SOURCE)
    keys = [str(b) for b in by]
    if not keys or any(k not in KEYS for k in keys):
        raise InputError.single(_SOURCE, "by", f"expected one or more of {', '.join(KEYS)}, got {list(by)!r}")
    values = pd.to_numeric(frame[metric], errors="coerce")
    if values.isna().any() or (values < 0).any():
        raise InputError.single(_SOURCE, metric, "must be numbers of zero or more (sums over replications)")
    reps = pd.to_numeric(frame["replications"], errors="coerce")
    if reps.isna().any() or (reps < 1).any():
        raise InputError.single(_SOURCE, "replications", "must be a whole number of at least 1 on every row")
    return keys


def _segment_name(keys: list[str], values: tuple[object, ...]) -> str:
    """`xss on spa`, `log on edge (access token)`: the vector, where, and what was taken."""
    parts = dict(zip(keys, (str(v) for v in values)))
    text = parts.get("vector", "")
    if "node" in parts:
        text = f"{text} on {parts['node']}" if text else parts["node"]
    if "credential" in parts:
        text = f"{text} ({parts['credential']})" if text else parts["credential"]
    return text


def attribution_figure(
    frame: pd.DataFrame, metric: str = "blast_radius", by: Sequence[str] = ("vector", "node")
) -> Figure:
    """Stacked horizontal bars per policy of ``metric`` (mean per run) split by leak vector and client or node.

    One panel per model (a grid of at most two columns), one bar per policy in the order of the
    frame, one segment per combination of the ``by`` columns (``vector``, ``node``, ``credential``),
    in the same colour and hatch in every panel; the legend lists the segments from the largest
    harm down, the ones past `MAX_SEGMENTS` drawn together as "other". A policy with no harm at all
    is labelled ``0``. ``metric``: ``blast_radius``, ``requests`` or ``privileged_requests``.
    """
    keys = _checked(frame, metric, by)
    data = frame.assign(_value=pd.to_numeric(frame[metric]) / pd.to_numeric(frame["replications"]))
    data["_segment"] = [_segment_name(keys, tuple(v)) for v in data[keys].astype(str).itertuples(index=False)]
    totals = data.groupby("_segment", sort=False)["_value"].sum().sort_values(ascending=False, kind="stable")
    shown = list(totals.index[:MAX_SEGMENTS]) if len(totals) > MAX_SEGMENTS + 1 else list(totals.index)
    data.loc[~data["_segment"].isin(shown), "_segment"] = "other"
    segments = shown + (["other"] if (data["_segment"] == "other").any() else [])
    palette = [*LINE_COLOURS, OKABE_ITO["yellow"]]
    looks = {s: (palette[i % len(palette)], _HATCHES[i // len(palette) % len(_HATCHES)]) for i, s in enumerate(shown)}
    looks["other"] = (GREY, "")
    models = list(dict.fromkeys(data["model"].astype(str)))
    policies = list(dict.fromkeys(data["policy"].astype(str)))
    cols = min(len(models), 2)
    rows = (len(models) + cols - 1) // cols
    labels: list[Annotation] = []
    with context():
        fig = new_figure(5.0 * cols + 2.8, rows * (0.32 * len(policies) + 1.3))
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax in axes[len(models) :]:
            ax.set_visible(False)
        for ax, model in zip(axes, models):
            cell = data[data["model"].astype(str) == model]
            table = cell.pivot_table(index="policy", columns="_segment", values="_value", aggfunc="sum", fill_value=0.0)
            table = table.reindex(index=policies, columns=segments, fill_value=0.0)
            y = -np.arange(len(policies), dtype=float)
            left = np.zeros(len(policies))
            for segment in segments:
                width = table[segment].to_numpy(float)
                colour, hatch = looks[segment]
                bars = ax.barh(y, width, 0.7, left=left, color=colour, hatch=hatch, edgecolor="white", linewidth=0.5)
                for patch, policy in zip(bars.patches, policies):
                    patch.set_gid(f"segment|{model}|{policy}|{segment}")
                left += width
            for where, policy, total in zip(y, policies, left):
                if total == 0 and policy in set(cell["policy"].astype(str)):
                    labels.append(
                        ax.annotate("0", (0, where), xytext=(3, 0), textcoords="offset points", fontsize=8,
                                    va="center", gid=f"zero|{model}|{policy}")
                    )  # fmt: skip
            ax.set_yticks(y, policies)
            ax.set_ylim(y.min() - 0.6, 0.6)
            ax.grid(axis="y", visible=False)
            ax.set_xlim(left=0)
            ax.margins(x=0.05)
            ax.xaxis.set_major_locator(MaxNLocator(5))
            value_axis(ax.xaxis)
            ax.set_xlabel(_LABELS.get(metric, metric_label(metric).replace(")", ", mean per run)")))
            ax.set_title(model)
        handles: list[Artist] = [
            Patch(facecolor=looks[s][0], hatch=looks[s][1], edgecolor="white", label=s) for s in segments
        ]
        fig.legend(handles=handles, loc="outside right upper", title=" / ".join(keys))
        fig.suptitle(
            f"Where the harm comes from: {metric_label(metric).split(' (')[0]} by {' and '.join(keys)}",
            x=0.01,
            ha="left",
        )
        place_labels(fig, labels, angles=(0.0, 45.0, 315.0))
    return fig
