"""Exposure by refresh-token rotation and by the issuer's revocation mode."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Annotation
from matplotlib.ticker import MaxNLocator

from tokensim.analysis import mean_ci
from tokensim.errors import InputError
from tokensim.viz._frames import check_not_pooled, ci_errors, floor_of, group_label, require
from tokensim.viz.placement import place_labels
from tokensim.viz.style import GREY, context, metric_label, new_figure, policy_styles, value_axis

#: Rotation modes in order of protection, with the hatch that draws each.
ROTATION_MODES: dict[str, str] = {"no rotation": "", "rotation": "///", "rotation + reuse detection": "xxx"}
#: Revocation modes from fastest to slowest (docs/model.md section 7).
REVOCATION_ORDER: tuple[str, ...] = ("introspection", "caep", "jwt")


def rotation_mode(results: pd.DataFrame) -> pd.Series:
    """Each row's rotation mode from its ``rotation`` and ``reuse_detection`` columns."""
    rotation = results["rotation"].astype(bool)
    reuse = results["reuse_detection"].astype(bool) if "reuse_detection" in results else pd.Series(False, results.index)
    return pd.Series(
        np.where(~rotation, "no rotation", np.where(reuse, "rotation + reuse detection", "rotation")),
        index=results.index,
    )


def _revocation_column(results: pd.DataFrame, revocation: str | None) -> str | None:
    if revocation is not None:
        require(results, [revocation], "exposure figure")
        return revocation
    found = [c for c in results.columns if c == "revocation" or str(c).endswith(".revocation")]
    if len(found) > 1:
        raise InputError.single(
            "exposure figure", "revocation", f"several revocation columns ({', '.join(found)}); name one"
        )
    return found[0] if found else None


def exposure_figure(
    results: pd.DataFrame,
    metric: str = "exposure_hours",
    *,
    revocation: str | None = None,
    by: Sequence[str] = (),
    level: float = 0.95,
) -> Figure:
    """Bars of ``metric`` (mean, ``level`` interval) per policy, by rotation mode and revocation mode.

    One panel per model and revocation mode (introspection, caep, jwt: from the sweep
    factor column ending in ``.revocation``, e.g. ``nodes.idp.revocation``, or the column
    named by ``revocation``; without one, the model's own issuer setting), laid out in a
    grid of at most two columns. Inside a panel, one horizontal bar per policy (its
    colour), per setting of the ``by`` columns (e.g. ``on_binding_loss``, named on the
    bar's label) and per rotation mode (hatched: none, rotation, rotation + reuse
    detection). A bar of zero is labelled ``0``. Other varying settings must be filtered
    first (or named in ``by``).
    """
    source = "exposure figure"
    by = [str(c) for c in by]
    require(results, ["model", "policy", "rotation", metric, *by], source)
    column = _revocation_column(results, revocation)
    frame = results.assign(
        _rotation=rotation_mode(results), _revocation=results[column] if column else "as in the model"
    )
    keys = ["model", "policy", *by, "rotation", "reuse_detection", "_revocation"] + ([column] if column else [])
    check_not_pooled(frame, [k for k in keys if k in frame.columns], source, "plot one value at a time")
    models = list(dict.fromkeys(frame["model"]))
    present = set(frame["_revocation"])
    modes = [m for m in REVOCATION_ORDER if m in present] + sorted(str(m) for m in present - set(REVOCATION_ORDER))
    rotations = [r for r in ROTATION_MODES if r in set(frame["_rotation"])]
    # policies in order of protection (their least protective rotation mode), then as they appear
    first = (
        frame.assign(_rank=frame["_rotation"].map(list(ROTATION_MODES).index))
        .groupby("policy", sort=False)["_rank"]
        .min()
    )
    policies = [str(p) for p in sorted(first.index, key=lambda p: (first[p], list(first.index).index(p)))]
    styles = policy_styles(policies)
    settings = list(frame[by].drop_duplicates().itertuples(index=False, name=None)) if by else [()]
    # One bar per (policy, setting, rotation mode) that was run, top to bottom; a gap between groups.
    combos = [(p, s, r) for p in policies for s in settings for r in rotations if _rows(frame, p, by, s, r).any()]
    ypos: dict[tuple[str, tuple[object, ...], str], float] = {}
    y, last = 0.0, None
    for p, s, r in combos:
        y -= 0.0 if last is None else (1.0 if (p, s) == last else 1.35)
        ypos[(p, s, r)], last = y, (p, s)
    groups = list(dict.fromkeys((p, s) for p, s, _ in combos))
    centres = {g: float(np.mean([v for (p, s, _), v in ypos.items() if (p, s) == g])) for g in groups}
    panels = [(model, mode) for model in models for mode in modes]
    cols = min(len(panels), 2)
    rows = (len(panels) + cols - 1) // cols
    labels: list[Annotation] = []
    with context():
        fig = new_figure(5.2 * cols + 2.4, rows * (0.17 * (1.4 - min(ypos.values())) + 1.0))
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        for ax, (model, mode) in zip(axes, panels):
            cell = frame[(frame["model"] == model) & (frame["_revocation"] == mode)]
            for (policy, setting, rot), where in ypos.items():
                values = cell.loc[_rows(cell, policy, by, setting, rot), metric]
                if values.empty:
                    continue
                mean, low, high = mean_ci(values, level)
                gid = "|".join([model, str(mode), policy, *(str(v) for v in setting), rot])
                bars = ax.barh(
                    where,
                    mean,
                    0.85,
                    color=styles[policy][0],
                    hatch=ROTATION_MODES[rot],
                    edgecolor="white",
                    linewidth=0.5,
                )
                bars.patches[0].set_gid(f"bar|{gid}")
                if np.isfinite(low) and np.isfinite(high):
                    err = ax.errorbar(
                        [mean],
                        [where],
                        xerr=ci_errors([mean], [low], [high], floor_of(metric)),
                        color="black",
                        linewidth=1,
                        fmt="none",
                    )
                    err.lines[2][0].set_gid(f"ci|{gid}")
                if mean == 0:  # an empty bar is still a result: say it
                    labels.append(
                        ax.annotate(
                            "0",
                            (0, where),
                            xytext=(3, 0),
                            textcoords="offset points",
                            fontsize=8,
                            va="center",
                            gid=f"zero|{gid}",
                        )
                    )
            ax.set_yticks(list(centres.values()), [_group_label(p, by, s) for p, s in centres])
            ax.set_ylim(min(ypos.values()) - 0.7, 0.7)
            ax.grid(axis="y", visible=False)
            ax.set_xlim(left=0)
            ax.margins(x=0.08)
            ax.xaxis.set_major_locator(MaxNLocator(5))
            value_axis(ax.xaxis)
            ax.set_xlabel(metric_label(metric))
            said = "" if mode == "as in the model" and len(modes) == 1 else f"revocation: {mode}"
            ax.set_title(": ".join(t for t in (str(model) if len(models) > 1 else "", said) if t) or str(model))
        handles: list[Artist] = [Patch(facecolor=styles[p][0], label=p) for p in policies]
        handles += [Patch(facecolor="white", edgecolor=GREY, hatch=ROTATION_MODES[r], label=r) for r in rotations]
        handles.append(Line2D([], [], color="black", linewidth=1, label=f"{level:.0%} interval"))
        fig.legend(handles=handles, loc="outside right upper")
        fig.suptitle(
            f"{metric_label(metric).split(' (')[0].capitalize()} "
            + ("by configuration" if len(rotations) == 1 and len(modes) == 1 else "by rotation and revocation mode")
            + (f": {models[0]}" if len(models) == 1 else ""),
            x=0.01,
            ha="left",  # the legend holds the upper right corner
        )
        place_labels(fig, labels, angles=(0.0, 45.0, 315.0))
    return fig


def _rows(frame: pd.DataFrame, policy: str, by: list[str], setting: tuple[object, ...], rotation: str) -> pd.Series:
    """The rows of one bar: its policy, its setting of the ``by`` columns and its rotation mode."""
    mask = (frame["policy"] == policy) & (frame["_rotation"] == rotation)
    for column, value in zip(by, setting):
        mask &= frame[column].isna() if value is None or value != value else frame[column] == value
    return mask


def _group_label(policy: str, by: list[str], setting: tuple[object, ...]) -> str:
    """A bar group's tick label: the policy, then its setting of the ``by`` columns (`mtls, on_binding_loss=fail`)."""
    return group_label(["policy", *by], [policy, *setting]) if by else policy
