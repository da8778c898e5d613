"""Checking an experiment against its models and policies before anything runs.

`resolve` loads every model and policy the file names and checks each factor path and
written value, the stopping metric and the cost overrides; it reports every problem at
once as one `InputError` naming the file and the field, like a model file's.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from tokensim.errors import InputError, Problem, did_you_mean, format_loc
from tokensim.experiment.factors import parse_path, path_problem, set_path
from tokensim.experiment.inputs import InputDigest, input_digests
from tokensim.experiment.spec import ExperimentFile, FactorValues, Range
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.cost import CostModel
from tokensim.model.loading import validation_problems
from tokensim.model.policy import Policy, repeated_policies, resolve_policy
from tokensim.model.schema import ModelFile
from tokensim.outcome import METRIC_FIELDS


@dataclass(frozen=True)
class Inputs:
    """What an experiment file names, loaded and checked: its models, its policies, its cost model."""

    models: tuple[Architecture, ...]
    policies: tuple[Policy, ...]  # the policies as written, before any policy factor is applied
    costs: CostModel
    digests: tuple[InputDigest, ...]  # one per model, policy and the cost model: what a resume checks


def resolve(spec: ExperimentFile, source: str, units_required: bool) -> Inputs:
    """Load and check what ``spec`` names; every problem found is raised together as one `InputError`.

    ``units_required``: factor values must carry their units (experiment files), as in model files.
    """
    problems: list[Problem] = []
    models: list[Architecture] = []
    for i, name in enumerate(spec.models):
        try:
            models.append(load_model(name))
        except InputError as err:
            problems.append(Problem(f"models[{i}]", str(err)))
    policies: list[Policy] = []
    for i, entry in enumerate(spec.policies):
        try:
            pol = resolve_policy(entry.base)
            if entry.set:
                pol = pol.with_overrides(entry.set, source=f"{source}: policies[{i}].set")
            if entry.name:
                pol = pol.model_copy(update={"name": entry.name})
            policies.append(pol)
        except InputError as err:
            problems.append(Problem(f"policies[{i}]", "; ".join(p.message for p in err.problems) or str(err)))
    if repeated_policies(policies):  # rows are told apart by the policy's name
        names = ", ".join(p.name for p in policies)
        problems.append(Problem("policies", f"two policies share a name ({names}); give each a `name`"))
    for path in spec.factors:
        for arch in models:
            why = path_problem(path, arch.spec.model_dump(mode="python"))
            if why:
                problems.append(Problem(f"factors.{path}", f"{why} (model {arch.name})"))
                break
        else:
            if models and policies:
                written = written_problems(path, spec.factors[path], models[0], policies[0], units_required)
                problems.extend(Problem(f"factors.{path}", why) for why in written)
    if spec.until is not None and spec.until.metric not in METRIC_FIELDS:
        problems.append(
            Problem(
                "until.metric",
                f"unknown metric {spec.until.metric!r}{did_you_mean(spec.until.metric, METRIC_FIELDS)};"
                f" metrics: {', '.join(METRIC_FIELDS)}",
            )
        )
    try:
        costs = CostModel().with_overrides(spec.costs, source=f"{source}: costs")
    except InputError as err:
        problems.extend(Problem(f"costs.{p.path}", p.message) for p in err.problems)
        costs = CostModel()
    if problems:
        raise InputError(source, problems)
    digests = input_digests(spec.models, models, [p.base for p in spec.policies], policies, costs)
    return Inputs(tuple(models), tuple(policies), costs, digests)


def written_problems(
    path: str, values: FactorValues, arch: Architecture, policy: Policy, units_required: bool
) -> list[str]:
    """What is wrong with the values a factor's file writes (list items, range ends), checked like a model file.

    Validates the model or policy with each value in place and keeps only the problems at
    the factor's own path (the rest of the data is already-read numbers).
    """
    parts = parse_path(path)
    written: list[object] = [values.low, values.high] if isinstance(values, Range) else list(values)
    out: list[str] = []
    for value in written:
        model: type[BaseModel]
        if parts[0] == "policy":
            model, data, target = Policy, {**policy.model_dump(), str(parts[1]): value}, str(parts[1])
        else:
            model, data, target = (
                ModelFile,
                set_path(arch.spec.model_dump(mode="python"), parts, value),
                format_loc(tuple(parts)),
            )
        try:
            model.model_validate(data, context={"units_required": units_required})
        except ValidationError as err:
            out.extend(
                p.message for p in validation_problems(err, model, data) if p.path == target and p.message not in out
            )
    return out


def overridden_settings(spec: ExperimentFile) -> list[str]:
    """Each policy's own `set:` parameter that a `policy.*` factor replaces in every run (the policy then runs
    exactly as its base does at each design point), as one sentence each; `Experiment.run` notes them."""
    factored = {str(parse_path(path)[1]) for path in spec.factors if parse_path(path)[0] == "policy"}
    out = []
    for i, entry in enumerate(spec.policies):
        for name in sorted(factored & set(entry.set)):
            label = entry.name or entry.base
            out.append(
                f"policies[{i}] ({label}) sets {name}, which factor policy.{name} replaces in every run: "
                f"its own {name} is never simulated (drop one of the two)"
            )
    return out
