"""Worker tasks: batches of runs of one model variant, sized for the executor, and what a worker does with one.

A `Task` carries plain data only (the model's data, dumped policies and costs), so it
pickles small and a worker rebuilds the model once per task. `make_tasks` sizes them by
guided self-scheduling; `run_task` is what a worker runs, `run_packed_task` the same on a
pickled task (what executors are given).
"""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple

from pydantic import JsonValue

from tokensim import api
from tokensim.display import plain_value
from tokensim.experiment.plan import Plan, Run
from tokensim.experiment.spec import ExperimentFile
from tokensim.model.architecture import Architecture
from tokensim.model.cost import CostModel
from tokensim.model.policy import Policy
from tokensim.workers import task_size

#: A result row: the run's columns (`run_columns`), then its outcome record (`tokensim.outcome`).
Row = dict[str, Any]


class TaskRun(NamedTuple):
    """One run of a task: its policy (a dump shared by the task's runs of that policy), replication, row columns."""

    policy: dict[str, JsonValue]
    replication: int
    columns: dict[str, object]


class Task(NamedTuple):
    """A batch of runs of one model variant, as plain data a worker rebuilds the model and policies from."""

    model: dict[str, Any]  # the variant's model data
    source: str
    costs: dict[str, JsonValue]
    seed: int
    horizon: float
    runs: tuple[TaskRun, ...]


def make_tasks(plan: Plan, runs: list[Run], parallelism: int) -> list[Task]:
    """The runs as tasks sized for ``parallelism`` runs at once; the variants take turns, so cheap and expensive runs mix."""
    by_variant: dict[int, list[Run]] = {}
    for run in runs:
        by_variant.setdefault(run.variant, []).append(run)
    costs = plan.costs.model_dump(mode="json")
    text_factors = mixed_factors(plan.spec)
    dumped: dict[int, dict[str, JsonValue]] = {}  # one dump per policy object, shared by its runs

    def policy(run: Run) -> dict[str, JsonValue]:
        if id(run.policy) not in dumped:
            dumped[id(run.policy)] = run.policy.model_dump(mode="json")
        return dumped[id(run.policy)]

    tasks = []
    remaining, start = len(runs), dict.fromkeys(by_variant, 0)
    while remaining:
        for v, group in by_variant.items():
            if start[v] >= len(group):
                continue
            chunk = group[start[v] : start[v] + task_size(remaining, parallelism)]
            start[v] += len(chunk)
            remaining -= len(chunk)
            variant = plan.variants[v]
            items = tuple(TaskRun(policy(r), r.replication, run_columns(plan, r, text_factors)) for r in chunk)
            tasks.append(Task(variant.data, variant.source, costs, plan.spec.seed, plan.spec.horizon, items))
    return tasks


def run_columns(plan: Plan, run: Run, text_factors: set[str]) -> dict[str, object]:
    """The columns a run's row carries before its outcome: experiment, ids, design point, factor values."""
    variant = plan.variants[run.variant]
    return {
        "experiment": plan.spec.name,
        "experiment_hash": plan.experiment_hash,
        "run_id": run.run_id,
        "run_index": run.index,
        "design_point": variant.point,
        **{path: str(v) if path in text_factors else plain_value(v) for path, v in variant.factors.items()},
    }


def mixed_factors(spec: ExperimentFile) -> set[str]:
    """Factors whose listed values mix kinds (e.g. "5m" and 2.0): stored as text, so a column has one type."""

    def kind(value: object) -> str:
        value = plain_value(value)
        return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__

    return {
        path
        for path, values in spec.factors.items()
        if isinstance(values, tuple) and len({kind(v) for v in values}) > 1
    }


def run_task(task: Task) -> list[Row]:
    """Execute a batch of runs of one model variant (this is what workers run)."""
    arch = Architecture.from_dict(task.model, task.source)
    costs = CostModel.model_validate(task.costs)
    rows = []
    policies: dict[int, Policy] = {}  # runs of one policy share one dumped dict (see make_tasks): validate it once
    for item in task.runs:
        policy = policies.get(id(item.policy))
        if policy is None:
            policy = policies[id(item.policy)] = Policy.model_validate(item.policy)
        # `api.simulate` looked up at call time: the benchmarks swap it for a stub to time this machinery.
        outcome = api.simulate(
            arch, policy, seed=task.seed, horizon=task.horizon, replication=item.replication, costs=costs
        )
        rows.append({**item.columns, **outcome.record})
    return rows


def pack(task: Task) -> bytes:
    """A task pickled: executors then see one opaque bytes argument (see `run_packed_task`)."""
    return pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)


def run_packed_task(blob: bytes) -> list[Row]:
    """`run_task` on a pickled task. Executors then see one opaque bytes argument: a Dask client
    neither hashes nor walks the nested task (which cost more than the transfer itself)."""
    task: Task = pickle.loads(blob)
    return run_task(task)
