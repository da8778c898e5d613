"""`build_report`: one self-contained HTML file for a design review of token policies.

The file needs no network: figures are inlined as SVG `data:` images, the style sheet
is inline, no script or font is loaded. Templates are jinja2 with autoescaping on.
What the report holds and how its recommendation is chosen: docs/report.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd

from tokensim.errors import InputError
from tokensim.report import format as fmt
from tokensim.report.architecture import ModelsArg, given_models, model_sections
from tokensim.report.figures import (
    SENSITIVITY_TRANSFORM,
    design_of,
    figure_data_uri,
    require_values,
    sensitivity_title,
)
from tokensim.report.inputs import LoadedResults, check_columns, read_results
from tokensim.report.provenance import provenance
from tokensim.report.sections import COST, METRIC, model_analysis

if TYPE_CHECKING:
    from tokensim.experiment import Experiment

QUESTION = "Which token policy buys the most blast-radius reduction per unit of integration cost?"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tokensim.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = fmt.number
    env.filters["hours"] = fmt.hours
    env.filters["breakable"] = fmt.breakable
    return env


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "model"


def _load(results: pd.DataFrame | str | Path, experiment: Experiment | None) -> LoadedResults:
    from tokensim.experiment import Experiment

    if isinstance(results, (str, Path)):
        loaded = read_results(results)
    elif isinstance(results, pd.DataFrame):
        if results.empty:
            raise InputError.single("results", "", "no result rows to report on")
        missing = [c for c in ("model", "policy", METRIC, COST) if c not in results.columns]
        if missing:
            raise InputError.single("results", ", ".join(missing), "column missing: not tokensim result rows")
        loaded = LoadedResults(check_columns(results, "results"), None)
    else:
        raise InputError.single(
            "results", "", f"expected result rows (a DataFrame) or a results path, got {type(results).__name__}"
        )
    if experiment is not None:
        loaded.experiment = Experiment.from_yaml(experiment) if isinstance(experiment, (str, Path)) else experiment
    return loaded


def _baseline(frame: pd.DataFrame, baseline: str | None) -> str:
    policies = list(dict.fromkeys(frame["policy"].astype(str)))
    if baseline is None:
        return "bearer" if "bearer" in policies else policies[0]
    if baseline not in policies:
        raise InputError.single(
            "--baseline", "", f"unknown baseline policy {baseline!r}; the results hold: {', '.join(policies)}"
        )
    return baseline


def _target(target: float | None) -> float | None:
    if target is None:
        return None
    if (
        isinstance(target, bool)
        or not isinstance(target, (int, float))
        or not target > 0
        or target != target
        or target == float("inf")
    ):
        raise InputError.single("--target", "", f"must be a positive number of blast radius, got {target!r}")
    return float(target)


def _sensitivity(frame: pd.DataFrame, experiment: Experiment | None) -> dict[str, Any] | None:
    """Sobol indices or Morris screening of blast radius, when the results come from such a sweep."""
    from tokensim.analysis import sensitivity
    from tokensim.viz import sensitivity_figure

    if experiment is None or design_of(experiment) not in ("sobol", "morris"):
        return None
    try:
        indices = sensitivity(experiment, frame, metric=METRIC, transform=SENSITIVITY_TRANSFORM)
    except InputError as err:
        return {
            "image": None,
            "note": f"No sensitivity indices: {err}",
            "rows": [],
            "columns": [],
            "keys": [],
            "design": experiment.spec.design,
        }
    title = sensitivity_title(METRIC, SENSITIVITY_TRANSFORM)
    image = figure_data_uri(sensitivity_figure(indices, title=title, models=[v.arch for v in experiment.plan.variants]))
    columns = [
        c for c in ("S1", "S1_conf", "ST", "ST_conf", "mu_star", "mu_star_conf", "sigma") if c in indices.columns
    ]
    keys = [c for c in indices.columns if c not in columns and c != "metric"]
    rows = [
        {"key": ", ".join(str(r[k]) for k in keys), "values": [fmt.number(r[c]) for c in columns]}
        for _, r in indices.iterrows()
    ]
    return {
        "image": image,
        "note": None,
        "rows": rows,
        "columns": columns,
        "keys": keys,
        "design": experiment.spec.design,
    }


def build_report(
    results: pd.DataFrame | str | Path,
    *,
    out: str | Path,
    models: ModelsArg = None,
    target: float | None = None,
    baseline: str | None = None,
    title: str | None = None,
    experiment: Experiment | None = None,
    command: str | None = None,
) -> Path:
    """Write one self-contained HTML design-review report of ``results`` to ``out`` and return its path.

    ``results``: result rows (`tokensim.replicate`, `Experiment.run`, `tokensim.load_results`) or
    the path of a sweep folder or a `.csv`/`.parquet` file from `tokensim run --out`.
    ``models``: the model files or `Architecture` objects run (default: a sweep's own models, else the
    built-in models of the same names), for the diagrams and route tables. ``target``: the blast
    radius the recommendation must stay under (with 95% confidence); without one, the report presents
    the knee of the Pareto front as the best compromise and claims no target. ``baseline``: the policy paired differences are taken
    against (default: bearer, else the first policy). ``experiment``: the `tokensim.Experiment` (or its
    file) the rows come from, for the design, the sensitivity indices and provenance (read from a sweep
    folder by itself). ``command``: the command line to record (the CLI passes its own).
    """
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError.single(str(out), "", "the report is an HTML file: name it with .html")
    if not out.parent.is_dir():
        raise InputError.single(str(out), "", f"folder {str(out.parent)!r} does not exist")
    loaded = _load(results, experiment)
    frame, exp = loaded.frame, loaded.experiment
    target = _target(target)
    base = _baseline(frame, baseline)
    model_names = list(dict.fromkeys(frame["model"].astype(str)))
    for name in model_names:  # nothing to recommend from a column with no values
        for column in (METRIC, COST):
            require_values(
                frame[frame["model"].astype(str) == name],
                column,
                loaded.source or "results",
                f"model {name}" if len(model_names) > 1 else "",
            )
    architectures = model_sections(frame, given_models(models, model_names), exp)
    sections = []
    for name in model_names:
        rows = frame[frame["model"].astype(str) == name]
        analysis = model_analysis(rows, experiment=exp, target=target, baseline=base)
        sections.append({"name": name, "slug": _slug(name), "architecture": architectures[name], **analysis})
    tables = {s["name"]: s["recommendation"]["table"] for s in sections}
    context = {
        "title": title or f"Token policy design review: {', '.join(model_names)}",
        "question": QUESTION,
        "models": sections,
        "baseline": base,
        "target": target,
        "sensitivity": _sensitivity(frame, exp),
        "provenance": provenance(
            frame,
            tables,
            source=loaded.source,
            experiment=exp,
            manifest=loaded.manifest,
            command=command,
            note=loaded.note,
        ),
        "policies": list(dict.fromkeys(frame["policy"].astype(str))),
    }
    html = _environment().get_template("report.html.j2").render(**context)
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as err:
        raise InputError.single(str(out), "", f"cannot write the report: {err.strerror or err}") from None
    return out
