"""The report's architecture sections: each model's diagram and route table under each policy it ran.

The model drawn is the one the results were run on when that can be known: the
experiment's own model (a sweep folder), a model the caller passes, or else the
built-in model of the same name. The policy is rebuilt from the parameter columns
of the result rows. Each (model, policy) pair is checked against the rows'
``config_hash`` (model, policy, horizon and cost model), so the report says when a
diagram may not show what was run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tokensim.display import plain_value
from tokensim.errors import InputError
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.policy import LATER_PARAMETERS, PARAMETERS, Policy
from tokensim.model.routes import ROUTING_FIELDS
from tokensim.report.figures import figure_data_uri

if TYPE_CHECKING:
    from tokensim.experiment import Experiment
    from tokensim.model.cost import CostModel

#: Policy fields the route analysis reads (docs/model.md section 3): one diagram per distinct setting of them
#: (and policies whose route tables come out the same share it).
ROUTE_FIELDS: tuple[str, ...] = ROUTING_FIELDS
#: Route table columns shown, in order.
ROUTE_COLUMNS: tuple[str, ...] = (
    "client",
    "resource",
    "tier",
    "mechanism",
    "status",
    "effect",
    "hop",
    "path",
    "reason",
)

ModelsArg = Mapping[str, Architecture | str | Path] | Iterable[Architecture | str | Path] | None


def given_models(models: ModelsArg, held: Iterable[str]) -> dict[str, Architecture]:
    """The caller's models keyed by their name; each must be a model the results hold."""
    if models is None:
        return {}
    items = list(models.values()) if isinstance(models, Mapping) else list(models)
    held = list(held)
    out: dict[str, Architecture] = {}
    for item in items:
        arch = item if isinstance(item, Architecture) else load_model(item)
        if arch.name not in held:
            raise InputError.single(
                str(item if not isinstance(item, Architecture) else arch.name),
                "name",
                f"model {arch.name!r} is not in the results (they hold: {', '.join(held)})",
            )
        out[arch.name] = arch
    return out


def policy_from_row(row: Mapping[str, Any] | pd.Series) -> Policy | None:
    """The policy a result row ran, rebuilt from its parameter columns (None if they are missing)."""
    data = {k: plain_value(row[k]) for k in PARAMETERS if k != "name" and k in row and not pd.isna(row[k])}
    # rows written before the version-2 parameters lack them (their defaults are version 1's); unset ones are NaN
    if any(k not in data for k in PARAMETERS if k != "name" and k not in LATER_PARAMETERS):
        return None
    try:
        return Policy.model_validate({"name": str(row["policy"]), **data})
    except ValueError:
        return None


def model_for(
    name: str, given: Mapping[str, Architecture], experiment: Experiment | None
) -> tuple[Architecture | None, str, CostModel | None]:
    """(architecture, where it came from, cost model) for a model name of the results."""
    from tokensim.model.cost import CostModel

    if name in given:
        return given[name], "the model passed to the report", CostModel()
    if experiment is not None:
        for variant in experiment.plan.variants:
            if variant.arch.name == name:
                where = "the experiment's model"
                if variant.factors and any(not str(path).startswith("policy.") for path in variant.factors):
                    where += " as run at design point 0 (the sweep varies model factors)"
                arch: Architecture = variant.arch
                costs: CostModel | None = experiment.plan.costs
                return arch, where, costs
    try:
        return load_model(name), "the built-in model of that name", CostModel()
    except InputError:
        return None, "", None


def _variant(experiment: Experiment | None, name: str, row: Mapping[str, Any] | pd.Series) -> Architecture | None:
    """The model exactly as a sweep ran a row (its design point's model factors applied), if known."""
    if experiment is None or "design_point" not in row or pd.isna(row["design_point"]):
        return None
    for variant in experiment.plan.variants:
        if variant.arch.name == name and variant.point == int(row["design_point"]):
            arch: Architecture = variant.arch
            return arch
    return None


def harm_weights(arch: Architecture) -> list[dict[str, str]]:
    """Per resource, the weights that produced the blast radius and records exposed (docs/model.md section 8a),
    so a reader of the report sees which numbers the result rests on."""
    from tokensim.model.schema import Resource

    rows = []
    for name, node in arch.spec.nodes.items():
        if isinstance(node, Resource):
            rows.append(
                {
                    "resource": name,
                    "sensitivity": f"{node.sensitivity:g}",
                    "privileged_fraction": f"{node.privileged_fraction:g}",
                    "privileged_weight": f"{node.privileged_weight:g}",
                    "records": "-" if node.records is None else f"{node.records:,}",
                    "records_per_request": "-" if node.records is None else f"{node.records_per_request:,}",
                }
            )
    return rows


def model_sections(
    results: pd.DataFrame, given: Mapping[str, Architecture], experiment: Experiment | None = None
) -> dict[str, dict[str, Any]]:
    """Per model name: its description, source note, and one diagram and route table per distinct routing policy."""
    from tokensim.api import config_hash
    from tokensim.model.routes import route_table
    from tokensim.viz import architecture_figure

    out: dict[str, dict[str, Any]] = {}
    for name, rows in results.groupby("model", sort=False):
        arch, where, costs = model_for(str(name), given, experiment)
        section: dict[str, Any] = {
            "name": str(name),
            "description": "",
            "source": where,
            "groups": [],
            "notes": [],
            "harm": [],
        }
        out[str(name)] = section
        if arch is None:
            section["notes"].append(
                f"No model file for {name!r} is at hand (not a built-in model): pass it to the report "
                "(tokensim report --model FILE, or build_report(models=[...])) to draw its diagram and routes."
            )
            continue
        section["description"] = arch.description
        section["harm"] = harm_weights(arch)
        groups: dict[str, dict[str, Any]] = {}
        mismatched: list[str] = []
        for policy_name, prows in rows.groupby("policy", sort=False):
            for _, setting in prows.drop_duplicates([c for c in ROUTE_FIELDS if c in prows.columns]).iterrows():
                policy = policy_from_row(setting)
                if policy is None:
                    section["notes"].append(
                        f"The rows of policy {policy_name!r} lack policy parameter columns: no routes drawn."
                    )
                    continue
                if "config_hash" in setting and "horizon_hours" in setting and costs is not None:
                    ran = _variant(experiment, str(name), setting) if name not in given else None
                    if (
                        config_hash(ran or arch, policy, float(setting["horizon_hours"]), costs)
                        != setting["config_hash"]
                    ):
                        mismatched.append(str(policy_name))
                table = route_table(arch, policy)
                key = table.to_csv(index=False)  # policies that route alike share one diagram and table
                label = str(policy_name)
                extra = (
                    [
                        f"{f}={getattr(policy, f)}"
                        for f in ("on_binding_loss", "on_unsupported")
                        if prows[f].nunique() > 1
                    ]
                    if all(f in prows for f in ROUTE_FIELDS)
                    else []
                )
                if extra:
                    label += f" ({', '.join(extra)})"
                if key in groups:
                    groups[key]["policies"].append(label)
                    continue
                # a model with too many routes to list: one row per outcome, with its number of paths
                summarised = not table.empty and int(table["paths"].sum()) > len(table)
                columns = table.reindex(columns=[*ROUTE_COLUMNS, *(["paths"] if summarised else [])])
                shown = columns.astype(object).where(columns.notna(), "-")
                counts: dict[Any, Any]  # status -> number of routes (as shown)
                if summarised:
                    shown["paths"] = [f"{n:,}" for n in table["paths"]]
                    counts = {s: f"{int(n):,}" for s, n in table.groupby("status", sort=False)["paths"].sum().items()}
                else:
                    counts = table["status"].value_counts().to_dict() if not table.empty else {}
                groups[key] = {
                    "policies": [label],
                    "image": figure_data_uri(architecture_figure(arch, policy)),
                    "routes": shown.to_dict("records"),
                    "counts": counts,
                    "summarised": summarised,
                }
        section["groups"] = list(groups.values())
        if mismatched:
            section["notes"].append(
                f"The configuration hashes of the runs of {', '.join(dict.fromkeys(mismatched))} do not match {where} with "
                "the results' policies and horizon: the runs used another model file or a custom cost model, so the diagram "
                "may not show what was run; pass the model that was run to the report."
            )
    return out
