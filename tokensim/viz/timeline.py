"""The timeline of one run: leaks, successful replays, detections and revocations, exposure shaded."""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tokensim.errors import InputError
from tokensim.outcome import TRACE_COLUMNS, Outcome
from tokensim.viz._frames import require
from tokensim.viz.style import OKABE_ITO, context, duration_axis, metric_label, new_figure

#: The lanes, top to bottom, in the order an incident unfolds: (trace event, lane label, colour, marker).
LANES: tuple[tuple[str, str, str, str], ...] = (
    ("leak", "leaks", OKABE_ITO["black"], "v"),
    ("replay", "successful replays", OKABE_ITO["vermillion"], "o"),
    ("detection", "detections", OKABE_ITO["blue"], "D"),
    ("revocation", "revocations", OKABE_ITO["bluish_green"], "X"),
)
EXPOSURE_COLOUR = OKABE_ITO["orange"]
_FAMILY = ["node", "vector", "client", "instance"]


def exposure_windows(trace: pd.DataFrame) -> list[tuple[float, float]]:
    """The windows of exposure a trace shows, merged: when at least one stolen family was being exploited.

    A family (node, vector, client, instance; a new ``exploit`` row starts the next
    family of the same key) contributes the span from its exploitation start to its
    ``exposure_end`` event (when none of its stolen credentials is usable any more:
    expiry or revocation), if any of its replays succeeded. A trace without
    ``exposure_end`` rows (older versions) ends each window at the family's last
    recorded event (a replay, a detection or its revocation).
    """
    rows = trace[trace["event"].isin(["exploit", "replay", "detection", "revocation", "exposure_end"])]
    rows = rows.assign(
        _exploit=(rows["event"] == "exploit").astype(int),
        _success=((rows["event"] == "replay") & (rows["count"] > 0)).astype(int),
    )
    rows = rows.assign(_nth=rows.groupby(_FAMILY, sort=False)["_exploit"].cumsum())  # the trace is in time order
    families = rows.groupby([*_FAMILY, "_nth"], sort=False).agg(
        start=("time_hours", "min"), end=("time_hours", "max"), usable=("_success", "max")
    )
    used = families[families["usable"] > 0]
    spans = list(zip(used["start"].astype(float), used["end"].astype(float)))
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def timeline_figure(trace: pd.DataFrame | Outcome, *, horizon: float | None = None, title: str | None = None) -> Figure:
    """Draw one run's event trace on a time axis, one lane per kind of event.

    ``trace`` is ``tokensim.simulate(..., trace=True)`` (an `Outcome`: its model,
    policy and horizon title the figure) or its ``.trace`` DataFrame (columns
    TRACE_COLUMNS). Leaks, successful replays (marker area grows with the number of
    requests), detections and revocations sit at their times; the windows of
    exposure (`exposure_windows`) are shaded. Time is in hours, ticks read 1d, 7d.
    """
    source = "timeline figure"
    record = None
    if isinstance(trace, Outcome):
        record = trace.record
        if trace.trace is None:
            raise InputError.single(source, "trace", "the run was not traced; call tokensim.simulate(..., trace=True)")
        trace = trace.trace
    if trace is None:
        raise InputError.single(source, "trace", "no trace; call tokensim.simulate(..., trace=True)")
    if not isinstance(trace, pd.DataFrame):
        raise InputError.single(
            source, "trace", f"expected an Outcome or a trace DataFrame, got {type(trace).__name__}"
        )
    missing = [c for c in TRACE_COLUMNS if c not in trace.columns]
    if missing:
        require(trace, list(TRACE_COLUMNS), source)
    if horizon is not None:  # hours; the time axis ends there
        given: object = horizon  # checked as any value: callers without a type checker pass strings too
        if isinstance(given, (bool, str)) or not isinstance(given, numbers.Real) or not 0 < float(given) < math.inf:
            raise InputError.single(source, "horizon", f"must be a positive number of hours, got {horizon!r}")
        horizon = float(given)
    if horizon is None and record is not None:
        horizon = float(record["horizon_hours"])
    end = horizon if horizon is not None else (float(trace["time_hours"].max()) * 1.02 if len(trace) else 1.0)
    with context():
        fig = new_figure(9.0, 3.6)
        ax = fig.add_subplot()
        for start, stop in exposure_windows(trace):
            if stop > start:
                ax.axvspan(start, stop, color=EXPOSURE_COLOUR, alpha=0.3, linewidth=0, gid="exposure")
            else:  # everything at one moment (a captured token used at once, no later event): a thin band
                ax.axvline(start, color=EXPOSURE_COLOUR, alpha=0.5, linewidth=3, gid="exposure")
        handles: list[Artist] = []
        for lane, (event, label, colour, marker) in enumerate(LANES):
            rows = trace[trace["event"] == event]
            if event == "replay":
                rows = rows[rows["count"] > 0]
                sizes = 18 + 10 * np.sqrt(rows["count"].to_numpy(float))
                label = f"{label} ({int(rows['count'].sum())} requests)"
            else:
                sizes = np.full(len(rows), 36.0)
                label = f"{label} ({len(rows)})"
            y = np.full(len(rows), len(LANES) - 1 - lane, dtype=float)
            ax.scatter(
                rows["time_hours"].to_numpy(float),
                y,
                s=sizes,
                color=colour,
                marker=marker,
                alpha=0.8,
                linewidths=0,
                label=label,
                gid=event,
                zorder=3,
            )
            handles.append(Line2D([], [], linestyle="none", marker=marker, color=colour, markersize=7, label=label))
        ax.set_yticks(range(len(LANES)), [lane[1] for lane in reversed(LANES)])
        ax.set_ylim(-0.7, len(LANES) - 0.3)
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, end)
        duration_axis(ax.xaxis, span=end)
        ax.set_xlabel(metric_label("time_hours"))
        handles.append(Patch(color=EXPOSURE_COLOUR, alpha=0.3, label="window of exposure"))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        if title is None:
            title = "Event trace of one run"
            if record is not None:
                title += (
                    f": {record['model']} under {record['policy']} "
                    f"(seed {record['seed']}, replication {record['replication']})"
                )
        ax.set_title(title)
        if trace.empty:
            ax.text(0.5, 0.5, "no leaks in this run", transform=ax.transAxes, ha="center", va="center", gid="empty")
    return fig
