"""The report's first screen: the question in words, the verdict table and the findings (docs/report.md).

`answer` takes each model's analysis (`tokensim.report.sections.model_analysis`) and adds, per
architecture, the verdict cells and the findings; the findings rest on attributed replications
of each policy's shown configuration (`tokensim.analysis.attribution`), run here on the same
seed, horizon and replication numbers as the results, so they are the results' own first runs
told by cause (the report says when they are not: a sweep of model factors, a sampled design).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from tokensim.analysis.text import number
from tokensim.display import plain_value
from tokensim.model.architecture import Architecture
from tokensim.model.policy import Policy
from tokensim.report.architecture import model_for, policy_from_row
from tokensim.report.findings import Finding, first_findings, model_findings
from tokensim.report.verdict import (
    Limits,
    VerdictCell,
    best_configurations,
    rows_of,
    share_text,
    verdict_cells,
    verdict_sentence,
)

if TYPE_CHECKING:
    from tokensim.experiment import Experiment

#: Replications the findings' attribution runs per policy (at most the results' own): ten keep the report's
#: build within seconds per architecture, and a cause's share moves by a few points between samples (assumption).
ATTRIBUTION_REPLICATIONS = 10
#: The report's question when the experiment states none.
QUESTION = "Which token policy buys the most blast-radius reduction per unit of integration cost?"


def question_of(experiment: Experiment | None) -> str:
    """The experiment's own question (its `question:`, else its description), or the generic one."""
    if experiment is not None:
        spec = experiment.spec
        if spec.question.strip():
            return spec.question.strip()
        if spec.description.strip():
            return spec.description.strip()
    return QUESTION


def route_limits(arch: Architecture | None, policy: Policy | None, unsupported: float) -> Limits | None:
    """What the route analysis and the runs say keeps ``policy`` from binding on ``arch``."""
    from tokensim.model.routes import route_table

    if arch is None or policy is None:
        return None
    table = route_table(arch, policy)
    asked = table[~table["wanted"].isin(["none", "bearer"]) & table["wanted"].notna()]
    lost = asked[asked["effect"] != "bound"]
    fallback = int(lost.loc[lost["effect"] == "bearer", "paths"].sum())
    failing = int(lost.loc[lost["effect"] == "fails", "paths"].sum())
    reason = str(lost["reason"].iloc[0]) if len(lost) else ""
    return Limits(unsupported, int(asked["paths"].sum()), fallback, failing, reason)


def config_rows(rows: pd.DataFrame, config: pd.Series) -> pd.DataFrame:
    """The rows of one configuration of a tradeoff table (its columns before ``label``, where the rows have them)."""
    columns = [c for c in config.index[: config.index.get_loc("label")] if c in rows.columns]
    return rows_of(rows, {c: config[c] for c in columns})


def _policy_of(rows: pd.DataFrame, config: pd.Series) -> Policy | None:
    """The policy a configuration ran, rebuilt from its first row (None: no row, or no parameter columns)."""
    match = config_rows(rows, config)
    return policy_from_row(match.iloc[0]) if len(match) else None


def _attribution(
    arch: Architecture | None, rows: pd.DataFrame, shown: Mapping[str, pd.Series], replications: int
) -> tuple[pd.DataFrame, str]:
    """Attributed runs of each policy's shown configuration, and a note when they are not the results' own runs."""
    from tokensim.analysis.attribution import ATTRIBUTION_FRAME_COLUMNS, attribution

    empty = pd.DataFrame(columns=list(ATTRIBUTION_FRAME_COLUMNS))
    if arch is None:
        return empty, "no model file at hand: no findings by cause"
    first = rows.iloc[0]
    policies = [p for p in (_policy_of(rows, config) for config in shown.values()) if p is not None]
    if not policies:
        return empty, "the rows lack policy parameter columns: no findings by cause"
    frame = attribution(
        arch,
        policies,
        replications=replications,
        seed=int(first["seed"]),
        horizon=float(first["horizon_hours"]),
    )
    return frame, ""


def answer(
    frame: pd.DataFrame,
    sections: Sequence[dict[str, Any]],
    *,
    experiment: Experiment | None,
    given: Mapping[str, Architecture],
    baseline: str,
    replications: int = ATTRIBUTION_REPLICATIONS,
) -> dict[str, Any]:
    """The first screen's context; each section gains ``verdict`` (cells and sentence) and ``findings``."""
    per_model: list[list[Finding]] = []
    policies = list(dict.fromkeys(frame["policy"].astype(str)))
    rows_out = []
    for section in sections:
        name, rec = section["name"], section["recommendation"]
        rows: pd.DataFrame = section["compared"]
        table = rec["table"]
        config_columns = list(table.columns[: table.columns.get_loc("label")])
        arch, source, _ = model_for(name, given, experiment)
        limits: dict[str, Limits | None] = {}
        shown = best_configurations(table, rec["label"])
        for config in shown.values():
            match = config_rows(rows, config)
            unsupported = float(match["unsupported_instances"].mean()) if "unsupported_instances" in match else 0.0
            limits[str(config["label"])] = route_limits(arch, _policy_of(rows, config), unsupported)
        cells = verdict_cells(rows, table, config_columns, baseline, rec["label"], limits, section["level"])
        raw = frame[frame["model"].astype(str) == name]
        k = max(1, min(replications, int(raw["replication"].nunique()))) if "replication" in raw else 1
        attributed, note = _attribution(arch, raw, shown, k)
        if not note and (section["sampled"] or (experiment is not None and _varies_model(experiment))):
            note = "the findings' runs use the model as its file sets it, not the sweep's sampled or varied factors"
        findings = model_findings(name, cells, attributed, baseline, arch, source or "the model file")
        per_model.append(findings)
        section["verdict"] = {
            "cells": {c.policy: _cell(c) for c in cells},
            "sentence": verdict_sentence(name, cells, baseline, rec["chosen_as"]),
        }
        section["findings"] = [f._asdict() for f in findings]
        section["attribution"] = attributed
        section["attribution_note"] = note
        section["attribution_replications"] = k
        section["attribution_image"] = _attribution_image(attributed)
        section["view"] = _view(section["tradeoff"]["marked"], rec["label"], cells, attributed)
        rows_out.append({"name": name, "slug": section["slug"], **section["verdict"]})
    notes = [f"{s['name']}: {s['attribution_note']}" for s in sections if s["attribution_note"]]
    return {
        "policies": policies,
        "rows": rows_out,
        "findings": [f._asdict() for f in first_findings(per_model)],
        "no_findings": "; ".join(notes) or "no policy was compared with the baseline, or nothing was harmed",
        "priced": "loss" in frame.columns and bool(frame["loss"].notna().any()),
        "attribution_replications": max((int(s["attribution_replications"]) for s in sections), default=0),
    }


def _varies_model(experiment: Experiment) -> bool:
    return any(not str(path).startswith("policy.") for path in experiment.spec.factors)


def _cell(cell: VerdictCell) -> dict[str, Any]:
    return {
        "label": cell.label,
        "share": share_text(cell.blast),
        "share_value": plain_value(cell.blast.share),
        "loss": share_text(cell.loss) if cell.loss is not None else None,
        "cost": cell.cost,
        "words": cell.words,
        "marks": list(cell.marks),
        "cost_text": "cost < 0.01" if 0 <= cell.cost < 0.01 else f"cost {number(cell.cost)}",
    }


def _view(table: pd.DataFrame, chosen: str, cells: Sequence[VerdictCell], attributed: pd.DataFrame) -> dict[str, str]:
    """The interactive view's spec (as JSON for the page) and its static SVG (for print)."""
    import base64

    from tokensim.report.interactive import spec_json, static_svg, view_spec

    words = {c.label: c.words + (f"; {'; '.join(c.marks)}" if c.marks else "") for c in cells}
    spec = view_spec(table, chosen, words, attributed, {c.policy: c.label for c in cells})
    svg = static_svg(spec)
    return {"json": spec_json(spec), "svg": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()}


def _attribution_image(attributed: pd.DataFrame) -> str | None:
    """Every policy's harm by leak vector and node, as a stacked-bar figure (None when nothing was harmed)."""
    from tokensim.report.figures import figure_data_uri
    from tokensim.viz import attribution_figure

    if attributed.empty:
        return None
    return figure_data_uri(attribution_figure(attributed, metric="blast_radius", by=("vector", "node")))
