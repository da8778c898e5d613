"""The Python API: load a model, simulate one run, replicate across policies.

>>> import tokensim
>>> arch = tokensim.load_model("spa_behind_proxy")
>>> frame = tokensim.replicate(arch, policies=["bearer", "dpop"], replications=2, seed=1, horizon="30d")
>>> sorted(frame["policy"].unique())
['bearer', 'dpop']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from tokensim._version import __version__
from tokensim.errors import InputError
from tokensim.model import limits
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.cost import CostModel, integration_cost
from tokensim.model.policy import Policy, repeated_policies, resolve_policy
from tokensim.model.workload import check_run
from tokensim.outcome import Outcome
from tokensim.sim.engine import Simulation

ModelLike = Architecture | str | Path
PolicyLike = Policy | str | Path
_T = TypeVar("_T")


def _architecture(model: ModelLike) -> Architecture:
    return model if isinstance(model, Architecture) else load_model(model)


def checked(source: str, field: str, check: Callable[[Any], _T], value: object) -> _T:
    """``check(value)`` (a `limits` check), its ValueError turned into an `InputError` naming ``source`` and ``field``.

    The one way an argument or option is checked, so that it gets the message a file's field gets.
    """
    try:
        return check(value)
    except ValueError as err:  # UnitError is a ValueError
        raise InputError.single(source, field, str(err)) from None


def config_hash(arch: Architecture, policy: Policy, horizon: float, costs: CostModel) -> str:
    """A stable hash of everything that defines a run except the seed and replication."""
    payload = json.dumps(
        {
            "model": arch.config_hash,
            "policy": policy.model_dump(mode="json"),
            "horizon": horizon,
            "costs": costs.model_dump(mode="json"),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def simulate(
    model: ModelLike,
    policy: PolicyLike = "bearer",
    *,
    seed: int = 0,
    horizon: float | str = "90d",
    replication: int = 0,
    trace: bool = False,
    attribution: bool = False,
    costs: CostModel | None = None,
) -> Outcome:
    """Run one simulation and return its `Outcome` (a tidy record, plus the trace if asked).

    ``horizon`` is a duration (``"90d"``) or hours, at most 100 years; ``seed`` a whole
    number from 0 to 2^63 - 1 (docs/parameters.md section 7, "Ranges"). Replication ``r`` of every
    policy sees the same leaks (common random numbers). A run that would simulate more than
    a million leaks on average is refused before it starts (`InputError`). ``attribution`` keeps the
    harm by cause (`Outcome.attribution`); like ``trace`` it draws nothing, so the record is the same.
    """
    seed = checked("simulate()", "seed", limits.seed, seed)
    replication = checked("simulate()", "replication", limits.replication, replication)
    hours = checked("simulate()", "horizon", limits.horizon_hours, horizon)
    arch = _architecture(model)
    pol = resolve_policy(policy)
    check_run(arch, hours)
    costs = costs or CostModel()
    sim = Simulation(arch, pol, seed=seed, replication=replication, horizon=hours, trace=trace, attribution=attribution)
    trace_rows = sim.run()
    record: dict[str, Any] = {
        "model": arch.name,
        "policy": pol.name,
        **{k: v for k, v in pol.parameters().items() if k != "name"},
        "seed": seed,
        "replication": replication,
        "horizon_hours": hours,
        **sim.outcome_fields(),
        **integration_cost(arch, pol, sim.routes, costs),
        "tokensim_version": __version__,
        "config_hash": config_hash(arch, pol, hours, costs),
    }
    harm = sim.tally.reach.attribution
    return Outcome(record, trace_rows, harm.rows() if harm is not None else None)


def replicate(
    model: ModelLike,
    policies: Sequence[PolicyLike] = ("bearer",),
    *,
    replications: int = 10,
    seed: int = 0,
    horizon: float | str = "90d",
    costs: CostModel | None = None,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Run ``replications`` paired runs of each policy; one row per (policy, replication).

    Replication r uses the same leak timeline under every policy, so differences
    between policies are paired. ``progress`` wraps the run iterator (e.g. tqdm). The
    arguments are checked as `simulate`'s are; at most a million replications and a
    million runs (replications x policies). ``workers`` > 1 runs the replications in that
    many processes; every run depends on its seed and replication only, and the rows come
    back in the serial order, so the frame is the same for every ``workers``.
    """
    workers = checked("replicate()", "workers", limits.workers, workers)
    replications = checked("replicate()", "replications", limits.replications, replications)
    seed = checked("replicate()", "seed", limits.seed, seed)
    hours = checked("replicate()", "horizon", limits.horizon_hours, horizon)
    arch = _architecture(model)
    pols = [resolve_policy(p) for p in policies]
    twice = repeated_policies(pols, by="settings")
    if twice:
        raise InputError.single("policies", "", f"the same policy is given twice: {', '.join(map(repr, twice))}")
    checked("replicate()", "replications", lambda n: limits.runs(n, len(pols)), replications)
    check_run(arch, hours)  # before the first run: simulate checks each run again
    jobs = [(pol, r) for r in range(replications) for pol in pols]
    iterator: Iterable[tuple[Policy, int]] = progress(jobs) if progress else jobs
    if workers == 1 or len(jobs) == 1:
        rows = [simulate(arch, pol, seed=seed, horizon=hours, replication=r, costs=costs).record for pol, r in iterator]
    else:
        rows = _parallel_records(arch, jobs, iterator, seed=seed, horizon=hours, costs=costs, workers=workers)
    return pd.DataFrame(rows)


def _records(
    arch: Architecture, jobs: Sequence[tuple[Policy, int]], seed: int, horizon: float, costs: CostModel | None
) -> list[dict[str, Any]]:
    """The records of a batch of (policy, replication) runs: one pool task (the model is pickled once per batch)."""
    return [simulate(arch, pol, seed=seed, horizon=horizon, replication=r, costs=costs).record for pol, r in jobs]


def _parallel_records(
    arch: Architecture,
    jobs: list[tuple[Policy, int]],
    iterator: Iterable[tuple[Policy, int]],
    *,
    seed: int,
    horizon: float,
    costs: CostModel | None,
    workers: int,
) -> list[dict[str, Any]]:
    """``jobs``' records from a pool of ``workers`` processes, in ``jobs``' order.

    ``iterator`` (``jobs``, perhaps wrapped by a progress bar) advances by one as each record is
    taken. The pool's workers leave Ctrl-C to this process and are stopped if it stops early.
    """
    from concurrent.futures import ProcessPoolExecutor

    from tokensim.workers import bind_to_parent, signals_held, stop_workers, task_size

    size = task_size(len(jobs), workers)  # a sweep's batch size: a few batches per worker, little pickling
    batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    pool = ProcessPoolExecutor(max_workers=min(workers, len(batches)), initializer=bind_to_parent)
    try:
        with signals_held():  # no worker runs this process's handlers before `bind_to_parent` has set its own
            futures = [pool.submit(_records, arch, batch, seed, horizon, costs) for batch in batches]
        records = (record for future in futures for record in future.result())
        rows = [record for _, record in zip(iterator, records, strict=True)]
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown()
    return rows
