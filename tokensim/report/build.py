"""`build_report`: one self-contained HTML file for a design review of token policies.

The file needs no network: figures are inlined as SVG `data:` images, the style sheet
is inline, no script or font is loaded. Templates are jinja2 with autoescaping on.
What the report holds and how its recommendation is chosen: docs/report.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jinja2
import pandas as pd

from tokensim.errors import InputError
from tokensim.report import format as fmt
from tokensim.report.answer import answer, question_of
from tokensim.report.architecture import ModelsArg, given_models, model_sections
from tokensim.report.figures import (
    SENSITIVITY_TRANSFORM,
    design_of,
    figure_data_uri,
    require_values,
    sensitivity_title,
)
from tokensim.report.inputs import LoadedResults, check_columns, read_results
from tokensim.report.interactive import bundle
from tokensim.report.provenance import provenance
from tokensim.report.sections import COST, METRIC, model_analysis

if TYPE_CHECKING:
    from tokensim.experiment import Experiment


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


def _title(experiment: Experiment | None, models: list[str]) -> str:
    """The experiment's name, else the one or two models, else how many architectures."""
    if experiment is not None:
        return f"Token policy design review: {experiment.spec.name}"
    said = ", ".join(models) if len(models) <= 2 else f"{len(models)} architectures"
    return f"Token policy design review: {said}"


def _baseline(frame: pd.DataFrame, baseline: str | None) -> str:
    policies = list(dict.fromkeys(frame["policy"].astype(str)))
    if baseline is None:
        return "bearer" if "bearer" in policies else policies[0]
    if baseline not in policies:
        raise InputError.single(
            "--baseline", "", f"unknown baseline policy {baseline!r}; the results hold: {', '.join(policies)}"
        )
    return baseline


class Target(NamedTuple):
    """A target as given: an absolute blast radius, or a share of the baseline's to remove (``90%``)."""

    value: float
    relative: bool

    def on(self, rows: pd.DataFrame, baseline: str) -> float | None:
        """The absolute blast radius one model's configurations must stay under (None: no baseline rows)."""
        if not self.relative:
            return self.value
        base = rows.loc[rows["policy"].astype(str) == baseline, METRIC]
        return None if base.empty else float((1.0 - self.value) * base.mean())

    def text(self, rows: pd.DataFrame, baseline: str) -> str:
        """The target in words, for one model."""
        if not self.relative:
            return f"blast radius at most {fmt.number(self.value)}"
        at = self.on(rows, baseline)
        if at == 0.0:
            return (
                f"{self.value:.0%} less blast radius than {baseline}: not applicable, {baseline}'s blast radius is 0 "
                "over its runs (nothing to remove); the recommendation is the knee of the front"
            )
        level = "n/a" if at is None else fmt.number(at)
        return f"{self.value:.0%} less blast radius than {baseline} (at most {level}, {baseline}'s mean over its runs)"


def _target(target: float | str | None) -> Target | None:
    """``target`` as given: a positive number, or a share below 100% written ``90%`` (relative to the baseline)."""
    if target is None:
        return None
    bad = "must be a positive blast radius (500) or a share of the baseline's to remove (90%)"
    if isinstance(target, str):
        text = target.strip()
        try:
            if text.endswith("%"):
                share = float(text[:-1]) / 100.0
                if not 0.0 < share < 1.0:
                    raise ValueError
                return Target(share, True)
            target = float(text)
        except ValueError:
            raise InputError.single("--target", "", f"{bad}, got {target!r}") from None
    if (
        isinstance(target, bool)
        or not isinstance(target, (int, float))
        or not target > 0
        or target != target
        or target == float("inf")
    ):
        raise InputError.single("--target", "", f"{bad}, got {target!r}")
    return Target(float(target), False)


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
    target: float | str | None = None,
    baseline: str | None = None,
    title: str | None = None,
    experiment: Experiment | None = None,
    command: str | None = None,
    verdicts: Callable[[str, str], object] | None = None,
) -> Path:
    """Write one self-contained HTML design-review report of ``results`` to ``out`` and return its path.

    ``results``: result rows (`tokensim.replicate`, `Experiment.run`, `tokensim.load_results`) or
    the path of a sweep folder or a `.csv`/`.parquet` file from `tokensim run --out`.
    ``models``: the model files or `Architecture` objects run (default: a sweep's own models, else the
    built-in models of the same names), for the diagrams and route tables. ``target``: the blast
    radius the recommendation must stay under (with 95% confidence), or a share of the baseline's to remove,
    ``"90%"`` (per model: 10% of the baseline's mean blast radius); without one, the report presents
    the knee of the Pareto front as the best compromise and claims no target. ``baseline``: the policy paired differences are taken
    against (default: bearer, else the first policy). ``experiment``: the `tokensim.Experiment` (or its
    file) the rows come from, for the design, the sensitivity indices and provenance (read from a sweep
    folder by itself). ``command``: the command line to record (the CLI passes its own).
    ``verdicts``: called with each architecture's name and its verdict sentence, as on the first screen
    (the command line prints them), once the report is written.
    """
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError.single(str(out), "", "the report is an HTML file: name it with .html")
    if not out.parent.is_dir():
        raise InputError.single(str(out), "", f"folder {str(out.parent)!r} does not exist")
    loaded = _load(results, experiment)
    frame, exp = loaded.frame, loaded.experiment
    goal = _target(target)
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
    given = given_models(models, model_names)
    architectures = model_sections(frame, given, exp)
    sections = []
    for name in model_names:
        rows = frame[frame["model"].astype(str) == name]
        at = None if goal is None else goal.on(rows, base)
        if goal is not None and at is None:
            raise InputError.single("--target", "", f"a relative target needs the baseline {base!r}, not run on {name}")
        # a share of nothing: the baseline did no harm in these runs, so the section is judged without a target
        unmet = (
            f"The target ({goal.value:.0%} less than {base}) does not apply: {base}'s blast radius is 0 in these "
            "runs, so there is nothing to remove and no configuration is claimed to meet it."
            if goal is not None and at == 0.0
            else None
        )
        analysis = model_analysis(rows, experiment=exp, target=at or None, baseline=base, not_applicable=unmet)
        said = "" if goal is None else goal.text(rows, base)
        sections.append(
            {"name": name, "slug": _slug(name), "architecture": architectures[name], "target_text": said, **analysis}
        )
    first = answer(frame, sections, experiment=exp, given=given, baseline=base)
    tables = {s["name"]: s["recommendation"]["table"] for s in sections}
    context = {
        "title": title or _title(exp, model_names),
        "question": question_of(exp),
        "answer": first,
        "interactive": bundle() if any(sec.get("view") for sec in sections) else "",
        "models": sections,
        "baseline": base,
        "target": None if goal is None else goal.value,
        "target_text": "" if goal is None else "; ".join(f"{sec['name']}: {sec['target_text']}" for sec in sections),
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
    if verdicts is not None:
        for section in sections:
            verdicts(section["name"], section["verdict"]["sentence"])
    return out
