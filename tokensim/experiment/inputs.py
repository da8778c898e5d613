"""What a sweep's results depend on besides its experiment file: the content of every input it names.

The experiment hash covers the experiment file only. The models, policies and cost model it
names can change under it: an edited model or policy file, or a new tokensim whose built-in
model, preset or default costs differ. Each would change the results, and a resume would mix
two sets of rows in one folder. So a folder's manifest also stores one digest per input
(`input_digests`, written by `manifest_inputs`), and a resume or `Experiment.from_folder`
compares them with the inputs as they read now (`changed_inputs`).

A digest is the SHA-256 of the input as tokensim validated it (canonical JSON, like a model's
configuration hash), not of the file's bytes: an edited comment changes no result and refuses
nothing; any change of a value does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import JsonValue

from tokensim.errors import InputError
from tokensim.model.architecture import Architecture
from tokensim.model.cost import CostModel
from tokensim.model.policy import PRESETS, Policy


class ExperimentChanged(InputError):
    """A sweep folder's experiment, or an input it names, no longer matches what its results were run with."""


@dataclass(frozen=True)
class InputDigest:
    """One input of an experiment and the digest of its content."""

    field: str  # where the experiment names it: models[0], policies[1], costs
    name: str  # as the experiment writes it: a built-in name, a preset, a path
    source: str  # the file read, or what defines it (a preset, tokensim's default costs)
    sha256: str


def digest(value: object) -> str:
    """The SHA-256 of a validated input's canonical JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def input_digests(
    names: Sequence[str],
    models: Sequence[Architecture],
    entries: Sequence[str],
    policies: Sequence[Policy],
    costs: CostModel,
) -> tuple[InputDigest, ...]:
    """The digests of an experiment's models (``names`` as written), policies (``entries``: each one's base) and costs.

    A policy's digest is of the policy as written in the experiment (preset or file, with its
    ``set`` overrides), before any factor: a preset that a new tokensim defines differently changes it.
    """
    out = [
        InputDigest(f"models[{i}]", name, arch.source, digest(arch.spec.model_dump(mode="json")))
        for i, (name, arch) in enumerate(zip(names, models))
    ]
    out += [
        InputDigest(
            f"policies[{i}]", base, f"preset {base}" if base in PRESETS else base, digest(pol.model_dump(mode="json"))
        )
        for i, (base, pol) in enumerate(zip(entries, policies))
    ]
    out.append(
        InputDigest(
            "costs", "costs", "tokensim's cost model with the experiment's costs", digest(costs.model_dump(mode="json"))
        )
    )
    return tuple(out)


def manifest_inputs(digests: Sequence[InputDigest]) -> dict[str, JsonValue]:
    """The digests as the manifest stores them: field -> name, source, sha256."""
    return {d.field: {"name": d.name, "source": d.source, "sha256": d.sha256} for d in digests}


def inputs_hash(experiment_hash: str, digests: Sequence[InputDigest]) -> str:
    """One hash of the experiment and every input it names: two folders with one inputs hash hold one computation."""
    return digest({"experiment": experiment_hash, "inputs": {d.field: d.sha256 for d in digests}})[:16]


def changed_inputs(stored: JsonValue, current: Mapping[str, JsonValue]) -> list[tuple[str, str]]:
    """The inputs whose digest differs from the stored one, as (field, source); ``stored``: the manifest's ``inputs``."""
    if not isinstance(stored, dict):
        return []
    out = []
    for field in dict.fromkeys([*stored, *current]):
        before, now = stored.get(field), current.get(field)
        if not (isinstance(before, dict) and isinstance(now, dict)) or before.get("sha256") != now.get("sha256"):
            where = now if isinstance(now, dict) else before if isinstance(before, dict) else {}
            out.append((field, str(where.get("source") or where.get("name") or "?")))
    return out


def refuse_changed(folder: str, stored: JsonValue, current: Mapping[str, JsonValue]) -> None:
    """Raise `ExperimentChanged` naming the inputs that changed since the results in ``folder`` were run.

    One changed input: the message names its file (the error's source) and its field; several:
    the folder, and each of them.
    """
    changed = changed_inputs(stored, current)
    if not changed:
        return
    advice = (
        "reads differently now (an edited file, or a tokensim whose built-in model, preset or default costs "
        "differ); restore the original, or sweep into a new --out folder"
    )
    if len(changed) == 1:
        field, source = changed[0]
        raise ExperimentChanged.single(
            source, "", f"changed since the results in {folder} were run ({field} of the experiment): it {advice}"
        )
    which = ", ".join(f"{field} ({source})" for field, source in changed)
    raise ExperimentChanged.single(
        folder, "inputs", f"{which} changed since this folder's results were run: each {advice}"
    )
