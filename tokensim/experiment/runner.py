"""Running an experiment: expand it into runs, execute them on any executor, store them safely.

The runner knows nothing of tokens: it builds run descriptions (model data, policy,
seed, replication), hands batches of them to a `concurrent.futures.Executor` (a
process pool by default, a Dask client's executor for clusters, or nothing for
serial runs) and appends the rows to a `ResultStore` in atomic chunks.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tokensim._version import __version__
from tokensim.errors import InputError, Problem
from tokensim.experiment.designs import design_points
from tokensim.experiment.factors import parse_path, path_problem, set_path
from tokensim.experiment.spec import ExperimentFile, Range
from tokensim.experiment.store import ResultStore
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.loading import read_document, validate_as
from tokensim.model.policy import Policy, resolve_policy


@dataclass(frozen=True)
class Run:
    """One run: which variant of which model, which policy, which replication."""

    index: int  # orders the rows: (model, point, replication, policy)
    run_id: str
    variant: int  # index into Plan.variants
    policy: Policy
    replication: int


@dataclass
class Variant:
    """A model with one design point's model factors applied."""

    model: str
    point: int
    factors: dict[str, Any]
    data: dict[str, Any]
    source: str
    arch: Architecture


@dataclass
class Plan:
    """Everything an experiment expands into before anything runs."""

    spec: ExperimentFile
    source: str
    variants: list[Variant] = field(default_factory=list)
    policies: list[list[Policy]] = field(default_factory=list)  # per variant: the paired policies
    costs: Any = None
    experiment_hash: str = ""


def experiment_hash(spec: ExperimentFile) -> str:
    """A stable hash of what the experiment computes (the output folder excluded)."""
    payload = json.dumps(spec.model_dump(mode="json", exclude={"out"}), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _run_id(config: str, seed: int, replication: int, variant: int) -> str:
    # The variant (model x design point) is part of the id: Morris and Sobol samples repeat points,
    # and two runs with one id would let --resume skip a run that was never stored.
    return hashlib.sha256(f"{config}:{seed}:{replication}:{variant}".encode()).hexdigest()[:20]


def run_task(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Execute a batch of runs of one model variant (this is what workers run)."""
    from tokensim.api import simulate
    from tokensim.model.cost import CostModel

    arch = Architecture.from_dict(task["model"], task["source"])
    costs = CostModel.model_validate(task["costs"])
    rows = []
    policies: dict[int, Policy] = {}  # runs of one policy share one dumped dict (see _tasks): validate it once
    for item in task["runs"]:
        policy = policies.get(id(item["policy"]))
        if policy is None:
            policy = policies[id(item["policy"])] = Policy.model_validate(item["policy"])
        record = simulate(
            arch, policy, seed=task["seed"], horizon=task["horizon"], replication=item["replication"], costs=costs
        ).record
        rows.append({**item["columns"], **record})
    return rows


def run_packed_task(blob: bytes) -> list[dict[str, Any]]:
    """`run_task` on a pickled task. Executors then see one opaque bytes argument: a Dask client
    neither hashes nor walks the nested task (which cost more than the transfer itself)."""
    return run_task(pickle.loads(blob))


class Experiment:
    """An experiment file, validated and expanded, ready to run.

    >>> exp = Experiment.from_yaml("experiments/ttl_by_policy.yaml")   # doctest: +SKIP
    >>> frame = exp.run(out="results/ttl", workers=2)                   # doctest: +SKIP
    """

    def __init__(
        self, spec: ExperimentFile, source: str = "<python>", text: str | None = None, *, units_required: bool = False
    ) -> None:
        self.spec = spec
        self.source = source
        self.units_required = units_required  # files: factor values must carry their units, like model files
        self.text = text if text is not None else json.dumps(spec.model_dump(mode="json"), indent=2)
        self.plan = self._expand()

    @classmethod
    def from_yaml(cls, path: str | Path) -> Experiment:
        """Load and validate an experiment file (YAML or JSON)."""
        data, source = read_document(path)
        spec = validate_as(ExperimentFile, data, source, units_required=True)
        return cls(spec, source, Path(path).read_text(encoding="utf-8"), units_required=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<python>") -> Experiment:
        """Validate an experiment given as a dict (numbers without units are hours, rates per hour)."""
        return cls(validate_as(ExperimentFile, data, source), source)

    @classmethod
    def from_folder(cls, folder: str | Path) -> Experiment:
        """The experiment a sweep folder was run with (its ``experiment.yaml``), checked against its manifest.

        A sweep started from a file keeps that file (units required, as written); one started
        from Python (`from_dict`) keeps its validated spec, whose numbers are hours, and is
        read back the same way. Raises `InputError` when the file is missing, unreadable or no
        longer matches the hash the folder's results were run with.
        """
        from tokensim.experiment.store import ResultStore
        from tokensim.model.loading import read_document

        store = ResultStore(folder)
        path = store.root / "experiment.yaml"
        manifest = store.manifest() or {}
        if manifest.get("units_required", True):
            exp = cls.from_yaml(path)
        else:
            data, source = read_document(path)
            exp = cls.from_dict(data, source)
        if manifest.get("experiment_hash") not in (None, exp.plan.experiment_hash):
            raise InputError.single(
                str(path),
                "",
                "no longer matches the experiment hash its results were run with "
                f"({manifest['experiment_hash']}); restore the original file",
            )
        return exp

    # -- expansion ---------------------------------------------------------------------------

    def _expand(self) -> Plan:
        from tokensim.model.cost import CostModel
        from tokensim.outcome import METRIC_FIELDS

        spec, source = self.spec, self.source
        problems: list[Problem] = []
        models: list[Architecture] = []
        for i, name in enumerate(spec.models):
            try:
                models.append(load_model(name))
            except InputError as err:
                problems.append(Problem(f"models[{i}]", str(err)))
        base_policies: list[Policy] = []
        for i, entry in enumerate(spec.policies):
            try:
                pol = resolve_policy(entry.base)
                if entry.set:
                    pol = pol.with_overrides(entry.set, source=f"{source}: policies[{i}].set")
                if entry.name:
                    pol = pol.model_copy(update={"name": entry.name})
                base_policies.append(pol)
            except InputError as err:
                problems.append(Problem(f"policies[{i}]", "; ".join(p.message for p in err.problems) or str(err)))
        names = [p.name for p in base_policies]
        if len(set(names)) != len(names):
            problems.append(Problem("policies", f"two policies share a name ({', '.join(names)}); give each a `name`"))
        for path in spec.factors:
            for arch in models:
                why = path_problem(path, arch.spec.model_dump(mode="python"))
                if why:
                    problems.append(Problem(f"factors.{path}", f"{why} (model {arch.name})"))
                    break
            else:
                if models and base_policies:
                    problems.extend(
                        Problem(f"factors.{path}", why)
                        for why in _written_problems(
                            path, spec.factors[path], models[0], base_policies[0], self.units_required
                        )
                    )
        if spec.until is not None and spec.until.metric not in METRIC_FIELDS:
            problems.append(
                Problem("until.metric", f"unknown metric {spec.until.metric!r}; metrics: {', '.join(METRIC_FIELDS)}")
            )
        try:
            costs = CostModel().with_overrides(spec.costs, source=f"{source}: costs")
        except InputError as err:
            problems.extend(Problem(f"costs.{p.path}", p.message) for p in err.problems)
            costs = CostModel()
        if problems:
            raise InputError(source, problems)

        plan = Plan(spec=spec, source=source, costs=costs, experiment_hash=experiment_hash(spec))
        points = design_points(spec)
        for m, arch in enumerate(models):
            base = arch.spec.model_dump(mode="python")
            for p, point in enumerate(points):
                data = base
                overrides: dict[str, Any] = {}
                for path, value in point.items():
                    parts = parse_path(path)
                    if parts[0] == "policy":
                        overrides[str(parts[1])] = value
                    else:
                        data = set_path(data, parts, value)
                label = f"{source}: models[{m}] at design point {p}"
                variant_arch = Architecture.from_dict(data, label) if data is not base else arch
                pols = [
                    pol.with_overrides(overrides, source=f"{source}: factors") if overrides else pol
                    for pol in base_policies
                ]
                plan.variants.append(Variant(arch.name, p, point, data, label, variant_arch))
                plan.policies.append(pols)
        return plan

    # -- runs --------------------------------------------------------------------------------

    def runs(self, replications: Iterable[int] | None = None, variants: Iterable[int] | None = None) -> list[Run]:
        """The runs of the given replications (default: the first `replications`) and variants, in row order."""
        from tokensim.api import config_hash

        spec, plan = self.spec, self.plan
        reps = list(range(spec.replications)) if replications is None else list(replications)
        cap = self._cap()
        n_pol = len(spec.policies)
        out = []
        for v in range(len(plan.variants)) if variants is None else variants:
            variant = plan.variants[v]
            # One configuration hash per (variant, policy): it does not depend on the replication.
            configs = [config_hash(variant.arch, pol, spec.horizon, plan.costs) for pol in plan.policies[v]]
            for r in reps:
                for k, pol in enumerate(plan.policies[v]):
                    out.append(Run((v * cap + r) * n_pol + k, _run_id(configs[k], spec.seed, r, v), v, pol, r))
        return out

    def _tasks(self, runs: list[Run], workers: int) -> list[dict[str, Any]]:
        by_variant: dict[int, list[Run]] = {}
        for run in runs:
            by_variant.setdefault(run.variant, []).append(run)
        costs = self.plan.costs.model_dump(mode="json")
        dumped: dict[int, dict[str, Any]] = {}  # one dump per policy object, shared by its runs

        def policy(run: Run) -> dict[str, Any]:
            if id(run.policy) not in dumped:
                dumped[id(run.policy)] = run.policy.model_dump(mode="json")
            return dumped[id(run.policy)]

        # Guided self-scheduling: a task takes a quarter of the remaining runs per worker (4 to
        # 64), so tasks shrink towards the end and no worker is left alone with a big last one;
        # the variants (models, design points) take turns, so cheap and expensive runs mix.
        tasks = []
        remaining, start = len(runs), dict.fromkeys(by_variant, 0)
        while remaining:
            for v, group in by_variant.items():
                if start[v] >= len(group):
                    continue
                size = max(4, min(64, math.ceil(remaining / max(1, workers * 4))))  # >= 4: per-task overhead (Dask)
                chunk = group[start[v] : start[v] + size]
                start[v] += len(chunk)
                remaining -= len(chunk)
                variant = self.plan.variants[v]
                tasks.append(
                    {
                        "model": variant.data,
                        "source": variant.source,
                        "costs": costs,
                        "seed": self.spec.seed,
                        "horizon": self.spec.horizon,
                        "runs": [
                            {"policy": policy(run), "replication": run.replication, "columns": self._columns(run)}
                            for run in chunk
                        ],
                    }
                )
        return tasks

    def _columns(self, run: Run) -> dict[str, Any]:
        variant = self.plan.variants[run.variant]
        return {
            "experiment": self.spec.name,
            "experiment_hash": self.plan.experiment_hash,
            "run_id": run.run_id,
            "run_index": run.index,
            "design_point": variant.point,
            **{path: str(v) if path in self._mixed_factors else _plain(v) for path, v in variant.factors.items()},
        }

    @property
    def _mixed_factors(self) -> set[str]:
        """Factors whose listed values mix kinds (e.g. "5m" and 2.0): stored as text, so a column has one type."""

        def kind(value: Any) -> str:
            value = _plain(value)
            return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__

        return {
            path
            for path, values in self.spec.factors.items()
            if isinstance(values, tuple) and len({kind(v) for v in values}) > 1
        }

    def run(
        self,
        out: str | Path | None = None,
        *,
        executor: Executor | Any | None = None,
        workers: int | None = None,
        resume: bool = False,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Run every run not yet stored and return all rows (stored and new) in run order.

        ``executor``: any `concurrent.futures.Executor` or a Dask `distributed.Client`;
        by default a process pool over ``workers`` processes (all cores), serial when
        ``workers == 1``. Results go to ``out`` (default: the file's ``out``) in atomic
        chunks; with ``resume`` the runs already there are skipped.
        """
        folder = out if out is not None else self.spec.out
        store = ResultStore(folder) if folder is not None else None
        stored: set[str] = set()
        rows: list[dict[str, Any]] = []
        if store is not None:
            manifest = {
                "experiment": self.spec.name,
                "experiment_hash": self.plan.experiment_hash,
                "source": self.source,
                "tokensim_version": __version__,
                "units_required": self.units_required,
            }  # how `from_folder` reads experiment.yaml back
            store.initialise(manifest, self.text, resume=resume)
            stored = store.stored_ids()
            if stored:
                rows = store.load().to_dict("records")
        workers = workers or _parallelism(executor)
        own_pool = None
        if executor is None and workers > 1:
            executor = own_pool = ProcessPoolExecutor(max_workers=workers)
        elif executor is not None and hasattr(executor, "get_executor"):  # a distributed.Client
            executor = executor.get_executor()
        try:
            todo = [r for r in self.runs() if r.run_id not in stored]
            rows.extend(self._execute(todo, executor, workers, store, progress))
            if self.spec.until is not None:
                rows = self._until(rows, stored, executor, workers, store, progress)
        finally:
            if own_pool is not None:
                own_pool.shutdown(wait=False, cancel_futures=True)
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        return frame.sort_values("run_index", kind="stable").reset_index(drop=True)

    def _until(self, rows, stored, executor, workers, store, progress) -> list[dict[str, Any]]:
        """Sequential stopping: add replications where the interval is still too wide.

        A grid judges each design point (and policy) on its own. A sampled design (lhs, sobol,
        morris) is judged as the report reads it: per model and policy, each replication
        averaged over the design's points (`tokensim.analysis.design_average`), and a model's
        points get their new replications together, so every average stays over all of them.
        """
        from tokensim.analysis import mean_ci

        until = self.spec.until
        batch = until.batch or self.spec.replications
        n_variants = len(self.plan.variants)
        sampled = self.spec.design != "grid"
        # What is judged and extended together: a variant (grid), or all variants of one model.
        per_model = n_variants // max(1, len(self.spec.models))
        unit_of = [v // per_model if sampled else v for v in range(n_variants)]
        members: dict[int, list[int]] = {}
        for v, u in enumerate(unit_of):
            members.setdefault(u, []).append(v)
        done = {v: self.spec.replications for v in range(n_variants)}
        while True:
            frame = pd.DataFrame(rows)
            if until.metric not in frame.columns:
                raise InputError.single(self.source, "until.metric", f"unknown metric {until.metric!r}")
            wide = set()
            frame["_variant"] = frame["run_index"] // (self._cap() * len(self.spec.policies))
            # Judge only the replications counted so far: a resumed sweep may hold later batches
            # already, and must take the same decisions as an uninterrupted one.
            frame = frame[frame["replication"] < frame["_variant"].map(done)]
            frame["_unit"] = frame["_variant"].map(dict(enumerate(unit_of)))
            for (u, _), group in frame.groupby(["_unit", "policy"]):
                values = group.groupby("replication")[until.metric].mean() if sampled else group[until.metric]
                mean, low, high = mean_ci(values)
                if done[members[int(u)][0]] < until.max_replications and not (
                    (high - low) / 2 <= until.rel_ci * abs(mean) or (high - low) == 0
                ):
                    wide.add(int(u))
            if not wide:
                return rows
            new_runs = []
            for u in sorted(wide):
                for v in members[u]:
                    reps = range(done[v], min(done[v] + batch, until.max_replications))
                    done[v] = reps.stop
                    new_runs.extend(r for r in self.runs(reps, [v]) if r.run_id not in stored)
            if new_runs:  # none when a resumed sweep already holds this batch: go on deciding
                rows.extend(self._execute(new_runs, executor, workers, store, progress))

    def _cap(self) -> int:
        spec = self.spec
        return max(spec.until.max_replications if spec.until else 0, spec.replications)

    def _execute(
        self, runs: list[Run], executor, workers: int, store: ResultStore | None, progress: bool
    ) -> Iterator[dict[str, Any]]:
        """Run and store; on Ctrl-C, store what finished and stop."""
        if not runs:
            return []
        from tqdm.auto import tqdm

        tasks = self._tasks(runs, workers)
        bar = tqdm(total=len(runs), unit="run", desc=self.spec.name, disable=not progress, smoothing=0.1)
        buffer: list[dict[str, Any]] = []
        done: list[dict[str, Any]] = []
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal buffer, last_flush
            # Take the rows out of the buffer first: a Ctrl-C after the chunk is renamed into
            # place must not make the handler below write the same rows a second time.
            chunk, buffer = buffer, []
            if store is not None:
                store.append(chunk)
            done.extend(chunk)
            last_flush = time.monotonic()

        futures = []
        try:
            if executor is None:
                results: Iterable[list[dict[str, Any]]] = (run_task(t) for t in tasks)
            else:
                futures = [
                    executor.submit(run_packed_task, pickle.dumps(t, protocol=pickle.HIGHEST_PROTOCOL)) for t in tasks
                ]
                results = (f.result() for f in as_completed(futures))
            for chunk in results:
                buffer.extend(chunk)
                bar.update(len(chunk))
                if len(buffer) >= 500 or time.monotonic() - last_flush > 2.0:
                    flush()
            flush()
        except BaseException:
            for f in futures:
                f.cancel()
            flush()
            raise
        finally:
            bar.close()
        return done


def _parallelism(executor: Any) -> int:
    """How many runs an executor works on at once, which sizes the tasks (see `Experiment._tasks`).

    A Dask client: its workers' threads, so that a large cluster gets enough tasks to keep
    every worker busy. A standard pool: its ``max_workers``. Otherwise (a client whose
    workers have not joined yet included), and without an executor: this machine's cores.
    """
    if executor is not None and hasattr(executor, "nthreads"):  # a distributed.Client
        threads = sum(executor.nthreads().values())  # 0 while no worker has joined yet
        if threads:
            return threads
    return getattr(executor, "_max_workers", None) or os.cpu_count() or 1


def _written_problems(path: str, values: Any, arch: Architecture, policy: Policy, units_required: bool) -> list[str]:
    """What is wrong with the values a factor's file writes (list items, range ends), checked like a model file.

    Validates the model or policy with each value in place and keeps only the problems at
    the factor's own path (the rest of the data is already-read numbers).
    """
    from pydantic import ValidationError

    from tokensim.errors import format_loc
    from tokensim.model.loading import validation_problems
    from tokensim.model.schema import ModelFile

    parts = parse_path(path)
    written = [values.low, values.high] if isinstance(values, Range) else list(values)
    out: list[str] = []
    for value in written:
        if parts[0] == "policy":
            model, data, target = Policy, {**policy.model_dump(), str(parts[1]): value}, str(parts[1])
        else:
            model, data, target = (
                ModelFile,
                set_path(arch.spec.model_dump(mode="python"), parts, value),
                format_loc(parts),
            )
        try:
            model.model_validate(data, context={"units_required": units_required})
        except ValidationError as err:
            out.extend(
                p.message for p in validation_problems(err, model, data) if p.path == target and p.message not in out
            )
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_results(folder: str | Path) -> pd.DataFrame:
    """Every row stored in a sweep's output folder, in run order."""
    store = ResultStore(folder)
    if store.manifest() is None:
        raise InputError.single(str(folder), "", "is not a tokensim results folder (no manifest.json)")
    return store.load()
