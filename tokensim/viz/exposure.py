"""Exposure by refresh-token rotation and by the issuer's revocation mode."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tokensim.analysis import mean_ci
from tokensim.errors import InputError
from tokensim.viz._frames import check_not_pooled, ci_errors, floor_of, require
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
    level: float = 0.95,
) -> Figure:
    """Bars of ``metric`` (mean, ``level`` interval) per policy, by rotation mode and revocation mode.

    One panel per revocation mode (introspection, caep, jwt: from the sweep factor
    column ending in ``.revocation``, e.g. ``nodes.idp.revocation``, or the column
    named by ``revocation``); without one, the single panel is the model's own
    issuer setting. Inside a panel, one group of bars per policy (its colour), one
    bar per rotation mode (hatched: none, rotation, rotation + reuse detection).
    One row of panels per model. Other varying settings must be filtered first.
    """
    source = "exposure figure"
    require(results, ["model", "policy", "rotation", metric], source)
    column = _revocation_column(results, revocation)
    frame = results.assign(
        _rotation=rotation_mode(results), _revocation=results[column] if column else "as in the model"
    )
    keys = ["model", "policy", "rotation", "reuse_detection", "_revocation"] + ([column] if column else [])
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
    # One bar per (policy, rotation mode) that was run, a policy's bars side by side, a gap between policies.
    combos = [(p, r) for p in policies for r in rotations if ((frame["policy"] == p) & (frame["_rotation"] == r)).any()]
    xpos, x, last = {}, 0.0, None
    for p, r in combos:
        x += 0.0 if last is None else (1.0 if p == last else 1.6)
        xpos[(p, r)], last = x, p
    centres = {p: np.mean([v for (q, _), v in xpos.items() if q == p]) for p in policies}
    with context():
        fig = new_figure(min(16.0, max(3.2, 0.55 * len(combos) + 1.2) * len(modes) + 2.2), 4.0 * len(models))
        axes = fig.subplots(len(models), len(modes), squeeze=False, sharey="row")
        for row, model in enumerate(models):
            for col, mode in enumerate(modes):
                ax = axes[row, col]
                cell = frame[(frame["model"] == model) & (frame["_revocation"] == mode)]
                for (policy, rot), where in xpos.items():
                    values = cell.loc[(cell["policy"] == policy) & (cell["_rotation"] == rot), metric]
                    if values.empty:
                        continue
                    mean, low, high = mean_ci(values, level)
                    gid = f"{model}|{mode}|{policy}|{rot}"
                    bars = ax.bar(
                        where,
                        mean,
                        0.9,
                        color=styles[policy][0],
                        hatch=ROTATION_MODES[rot],
                        edgecolor="white",
                        linewidth=0.5,
                    )
                    bars.patches[0].set_gid(f"bar|{gid}")
                    if np.isfinite(low) and np.isfinite(high):
                        err = ax.errorbar(
                            [where],
                            [mean],
                            yerr=ci_errors([mean], [low], [high], floor_of(metric)),
                            color="black",
                            linewidth=1,
                        )
                        err.lines[2][0].set_gid(f"ci|{gid}")
                ax.set_xticks(list(centres.values()), [_wrapped(str(p)) for p in centres])
                ax.grid(axis="x", visible=False)
                value_axis(ax.yaxis)
                ax.set_title(f"revocation: {mode}" + (f" ({model})" if len(models) > 1 else ""))
                if col == 0:
                    ax.set_ylabel(metric_label(metric))
        handles: list[Artist] = [Patch(facecolor=styles[p][0], label=p) for p in policies]
        handles += [Patch(facecolor="white", edgecolor=GREY, hatch=ROTATION_MODES[r], label=r) for r in rotations]
        handles.append(Line2D([], [], color="black", linewidth=1, label=f"{level:.0%} interval"))
        fig.legend(handles=handles, loc="outside right center")
        fig.suptitle(
            f"{metric_label(metric).split(' (')[0].capitalize()} by rotation and revocation mode"
            + (f": {models[0]}" if len(models) == 1 else "")
        )
    return fig


def _wrapped(name: str, width: int = 10) -> str:
    """A long policy name over several lines, broken after underscores, so tick labels never overlap."""
    lines: list[str] = []
    for part in name.replace("_", "_\0").split("\0"):
        if lines and len(lines[-1]) + len(part) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return "\n".join(lines)
