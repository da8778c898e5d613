"""Planning: what an experiment expands into before anything runs.

A `Plan` holds one `Variant` per model and design point (the model with the point's
model factors applied) and, per variant, the paired policies (the point's policy factors
applied). A `Run` is one (variant, policy, replication); its ``run_id`` identifies it in
a results folder and its ``index`` orders the rows. A stored row is mapped back to its
run (and so its variant) by its ``run_id``, never by decoding the index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tokensim.api import config_hash
from tokensim.experiment.designs import check_size, design_points
from tokensim.experiment.factors import parse_path, set_path
from tokensim.experiment.inputs import InputDigest
from tokensim.experiment.spec import ExperimentFile
from tokensim.experiment.validation import Inputs
from tokensim.model.architecture import Architecture
from tokensim.model.cost import CostModel
from tokensim.model.policy import Policy
from tokensim.model.workload import check_run


@dataclass(frozen=True)
class Run:
    """One run: which variant of which model, which policy, which replication."""

    index: int  # orders the rows: (model, point, replication, policy)
    run_id: str
    variant: int  # index into Plan.variants
    policy: Policy
    replication: int


@dataclass(frozen=True)
class Variant:
    """A model with one design point's model factors applied."""

    model: str
    point: int
    factors: dict[str, object]  # the design point: factor path -> value (as the file wrote it, or sampled)
    data: dict[str, Any]  # the model file's data with the factors in place (what workers rebuild it from)
    source: str
    arch: Architecture


@dataclass(frozen=True)
class Plan:
    """Everything an experiment expands into before anything runs."""

    spec: ExperimentFile
    source: str
    variants: tuple[Variant, ...]
    policies: tuple[tuple[Policy, ...], ...]  # per variant: the paired policies
    costs: CostModel
    experiment_hash: str  # of the experiment file (every row carries it)
    inputs: tuple[InputDigest, ...]  # of each model, policy and the cost model it names (the manifest keeps them)


def experiment_hash(spec: ExperimentFile) -> str:
    """A stable hash of what the experiment computes (the output folder and the question in words excluded)."""
    payload = json.dumps(spec.model_dump(mode="json", exclude={"out", "question"}), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def run_id(config: str, seed: int, replication: int, variant: int) -> str:
    """The id of one run: its configuration hash, seed, replication and variant."""
    # The variant (model x design point) is part of the id: Morris and Sobol samples repeat points,
    # and two runs with one id would let --resume skip a run that was never stored.
    return hashlib.sha256(f"{config}:{seed}:{replication}:{variant}".encode()).hexdigest()[:20]


def build_plan(spec: ExperimentFile, source: str, inputs: Inputs) -> Plan:
    """Every variant (model x design point) and its policies, in row order.

    Refuses (`InputError`) a design beyond the size limits before building a point, and a
    variant whose runs would simulate more leaks than `limits.LEAKS` before any run starts.
    """
    check_size(spec, source)
    variants: list[Variant] = []
    policies: list[tuple[Policy, ...]] = []
    points = design_points(spec)
    for m, arch in enumerate(inputs.models):
        base = arch.spec.model_dump(mode="python")
        for p, point in enumerate(points):
            data = base
            overrides: dict[str, object] = {}
            for path, value in point.items():
                parts = parse_path(path)
                if parts[0] == "policy":
                    overrides[str(parts[1])] = value
                else:
                    data = set_path(data, parts, value)
            label = f"{source}: models[{m}] at design point {p}"
            variant_arch = Architecture.from_dict(data, label) if data is not base else arch
            check_run(variant_arch, spec.horizon, label)
            variants.append(Variant(arch.name, p, point, data, label, variant_arch))
            policies.append(
                tuple(
                    pol.with_overrides(overrides, source=f"{source}: factors") if overrides else pol
                    for pol in inputs.policies
                )
            )
    return Plan(spec, source, tuple(variants), tuple(policies), inputs.costs, experiment_hash(spec), inputs.digests)


def replication_cap(spec: ExperimentFile) -> int:
    """The most replications a variant can get (sequential stopping may add up to its maximum)."""
    return max(spec.until.max_replications if spec.until else 0, spec.replications)


def plan_runs(
    plan: Plan, replications: Iterable[int] | None = None, variants: Iterable[int] | None = None
) -> list[Run]:
    """The runs of the given replications (default: the first ``spec.replications``) and variants, in row order."""
    spec = plan.spec
    reps = list(range(spec.replications)) if replications is None else list(replications)
    cap = replication_cap(spec)
    n_pol = len(spec.policies)
    out = []
    for v in range(len(plan.variants)) if variants is None else variants:
        variant = plan.variants[v]
        # One configuration hash per (variant, policy): it does not depend on the replication.
        configs = [config_hash(variant.arch, pol, spec.horizon, plan.costs) for pol in plan.policies[v]]
        for r in reps:
            for k, pol in enumerate(plan.policies[v]):
                out.append(Run((v * cap + r) * n_pol + k, run_id(configs[k], spec.seed, r, v), v, pol, r))
    return out
