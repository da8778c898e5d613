"""A search file checked whole before anything runs or any folder is made: one message, every problem.

The search is run as an internal experiment (its model, base and presets), so the problems that
experiment finds are renamed to the search file's fields (`policies[0]` is `base`, `models[0]`
is `model`). Every value of the space is built into a candidate policy and checked as a policy
file would check it: units required in files (per-client overrides too), each override naming a
client of the model or a platform.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from tokensim.errors import InputError, Problem, did_you_mean
from tokensim.experiment.spec import Range
from tokensim.experiment.validation import Inputs, written_problems
from tokensim.model.loading import validation_problems
from tokensim.model.policy import Policy
from tokensim.model.validate import check_overrides
from tokensim.outcome import METRIC_FIELDS
from tokensim.search.space import candidate
from tokensim.search.spec import SearchFile


def renamed(err: InputError, spec: SearchFile) -> InputError:
    """The internal experiment's problems under the search file's field names."""
    presets = [p for p in spec.presets if p != spec.base]

    def field(path: str) -> str:
        match = re.match(r"^policies\[(\d+)\](.*)$", path)
        if match:
            index = int(match[1])
            name = "base" if index == 0 else f"presets[{spec.presets.index(presets[index - 1])}]"
            return name + match[2]
        if path.startswith("policies"):
            return "base, presets" + path.removeprefix("policies")
        return re.sub(r"^models\[0\]", "model", path)

    return InputError(err.source, [Problem(field(p.path), p.message) for p in err.problems])


def check_search(spec: SearchFile, source: str, inputs: Inputs, units_required: bool) -> None:
    """Refuse (`InputError`, every problem at once) metrics the runs do not have and space values no policy takes."""
    problems = _metric_problems(spec, inputs)
    base, arch = inputs.policies[0], inputs.models[0]
    for key, values in spec.space.items():
        written = [values.low, values.high] if isinstance(values, Range) else list(values)
        if key.startswith("overrides."):
            problems += _override_units(key, written, units_required)
        else:
            problems += [
                Problem(f"space.{key}", why)
                for why in written_problems(f"policy.{key}", values, arch, base, units_required)
            ]
        for i, value in enumerate(written):
            where = f"space.{key}" + ("" if isinstance(values, Range) else f"[{i}]")
            try:
                policy = candidate(base, {key: value}, source).policy
            except InputError as err:
                problems += [Problem(where, p.message) for p in err.problems]
                continue
            problems += [Problem(where, p.message) for p in check_overrides(arch.spec, policy)]
    unique = list(dict.fromkeys(problems))  # a unit problem is found by both checks
    if unique:
        raise InputError(source, unique)


def _metric_problems(spec: SearchFile, inputs: Inputs) -> list[Problem]:
    """``harm`` and ``cost`` must be outcome metrics; ``loss`` needs a model with a ``loss:`` section."""
    out = []
    for name, value in (("harm", spec.harm), ("cost", spec.cost)):
        if value not in METRIC_FIELDS:
            why = f"unknown metric {value!r}{did_you_mean(value, METRIC_FIELDS)}; metrics: {', '.join(METRIC_FIELDS)}"
            out.append(Problem(name, why))
    for name, value in (("harm", spec.harm), ("cost", spec.cost)):
        if value == "loss" and inputs.models[0].spec.loss is None:
            why = f"model {inputs.models[0].name!r} has no loss: section, so its runs have no loss; add one (docs/guide.md)"
            out.append(Problem(name, why))
    return out


def _override_units(key: str, written: list[Any], units_required: bool) -> list[Problem]:
    """A per-client override's values checked with units required, as a policy file's overrides are."""
    _, client, parameter = key.split(".")
    out = []
    for value in written:
        data = {"overrides": {client: {parameter: value}}}  # the rest at its defaults: only this value is judged
        try:
            Policy.model_validate(data, context={"units_required": units_required})
        except ValidationError as err:
            lead = f"{client}.{parameter}: "
            for problem in validation_problems(err, Policy, data):
                if problem.path == "overrides" and problem.message.startswith(lead):
                    why = problem.message.removeprefix(lead).removeprefix("Value error, ")
                    out.append(Problem(f"space.{key}", why))
    return out
