"""Provenance of a report: what was run, by which tokensim, with which seeds and hashes, and how the report was built."""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
from typing import TYPE_CHECKING, Any

import pandas as pd

from tokensim._version import __version__
from tokensim.report.format import hours

if TYPE_CHECKING:
    from tokensim.experiment import Experiment

_MAX_HASHES = 4  # configuration hashes listed per configuration before "and N more"


def _values(frame: pd.DataFrame, column: str, limit: int = 12) -> str:
    if column not in frame.columns:
        return "n/a"
    values = [str(v) for v in pd.unique(frame[column].dropna())]
    return ", ".join(values[:limit]) + (f" and {len(values) - limit} more" if len(values) > limit else "") or "n/a"


def provenance(
    results: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    *,
    source: str | None,
    experiment: Experiment | None,
    manifest: dict[str, Any] | None,
    command: str | None,
    note: str | None,
) -> dict[str, Any]:
    """The facts a reader needs to reproduce or audit the report.

    ``tables`` maps each model to its tradeoff table, whose configurations list their hashes.
    """
    keys = [c for c in ("model", "policy", "config_hash", "design_point") if c in results.columns]
    reps = (
        results.groupby(keys, sort=False, dropna=False)["replication"].nunique()
        if "replication" in results
        else results.groupby(keys, sort=False, dropna=False).size()
    )
    sampled = experiment is not None and experiment.spec.design in ("lhs", "sobol", "morris")
    points = int(results["design_point"].nunique()) if sampled and "design_point" in results.columns else None
    info: dict[str, Any] = {
        "built": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "builder_version": __version__,
        "command": command or "Python: tokensim.report.build_report, in the process " + shlex.join(sys.argv),
        "source": source or "a DataFrame passed from Python",
        "rows": len(results),
        "models": _values(results, "model"),
        "policies": _values(results, "policy"),
        "versions": _values(results, "tokensim_version"),
        "seeds": _values(results, "seed"),
        "replications": (f"{reps.min()} to {reps.max()}" if reps.min() != reps.max() else f"{reps.min()}")
        + (" replication" if reps.max() == 1 else " replications")
        + " of each configuration"
        + (f" at each of {points} design points" if points and points > 1 else ""),
        "replication_range": (
            f"{int(results['replication'].min())} to {int(results['replication'].max())}"
            if "replication" in results.columns
            else "n/a"
        ),
        "horizons": ", ".join(hours(h) for h in pd.unique(results["horizon_hours"]))
        if "horizon_hours" in results
        else "n/a",
        "experiment": None,
        "note": note,
        "hashes": [],
    }
    if experiment is not None or "experiment_hash" in results.columns or manifest:
        spec = experiment.spec if experiment is not None else None
        info["experiment"] = {
            "name": spec.name if spec else (manifest or {}).get("experiment") or _values(results, "experiment"),
            "hash": (
                experiment.plan.experiment_hash
                if experiment is not None
                else (manifest or {}).get("experiment_hash") or _values(results, "experiment_hash")
            ),
            "description": spec.description if spec else "",
            "design": spec.design if spec else "unknown",
            "text": experiment.text if experiment is not None else None,
        }
    if "config_hash" in results.columns:
        for model, table in tables.items():
            rows = results[results["model"] == model]
            by = [c for c in table.columns[: table.columns.get_loc("label")]]
            hashes = rows.groupby(by, sort=False, dropna=False)["config_hash"].agg(lambda s: list(pd.unique(s)))
            labels = table.set_index(by)["label"]
            for key, found in hashes.items():
                shown = ", ".join(found[:_MAX_HASHES]) + (
                    f" and {len(found) - _MAX_HASHES} more" if len(found) > _MAX_HASHES else ""
                )
                info["hashes"].append(
                    {
                        "model": model,
                        "label": labels.loc[key] if key in labels.index else str(key),  # type: ignore[call-overload]  # pandas-stubs: loc takes any hashable label
                        "hashes": shown,
                        "count": len(found),
                    }
                )
    return info
