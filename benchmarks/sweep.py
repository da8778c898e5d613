#!/usr/bin/env python
"""Benchmark of the sweep machinery (tokensim.Experiment): overhead, 2 workers, a local Dask cluster.

    python benchmarks/sweep.py            # full run (a few minutes), prints the table
    python benchmarks/sweep.py --quick    # short version (fewer runs and rounds)
    python benchmarks/sweep.py --write    # also replace the "Sweeps" section of docs/benchmarks.md
    python benchmarks/sweep.py --against ../other-checkout   # the same rounds on two checkouts, ratios

What is measured (targets from the experiments issue):

S1. Overhead per run of the sweep machinery: `Experiment.run(out=TMP, workers=1)` (plan
    to run ids, tasks, result rows, atomic Parquet chunks, the returned DataFrame) against
    calling `tokensim.simulate` directly for the same runs (same models, policies, seeds
    and replications; the records are checked to be equal), on the small built-in models.
    Target: at most 10 %. Judged on CPU time (both run serially in this process); wall
    time is reported beside it.
S2. Two worker processes (`workers=2`) against one (`workers=1`) on the same sweep of
    200+ runs, so that starting the pool is amortised. Target: at least 1.8x. Wall time.
S3. A local Dask cluster (`tokensim.experiment.local_dask_cluster(2)`, what `tokensim sweep
    --dask-local 2` starts: 2 single-threaded worker processes, `CLUSTER_CONFIG`'s settings)
    passed as `executor=client`, against the process pool of S2. Target: at least 0.85x its speed.
    Wall time; in each Dask round the cluster is started (and warmed up by one small sweep)
    before the timed sweep, as a running cluster is what `--dask ADDRESS` uses, and closed
    after it, so that its idle processes do not slow the other rounds; its start-up and
    first sweep are reported apart.

Each round times every variant once, in rotating order, so all figures share the
machine's conditions; figures are medians over the rounds. When a target is missed the
script profiles that case and lists the hotspots. The cases and targets are defined here;
timing, rounds, profiles, the comparison with another checkout and the output are
benchmarks/harness.py's. This is a script, not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import harness  # benchmarks/harness.py: scripts run from this folder

harness.pin_blas_threads()  # numpy without BLAS thread pools, here and in the workers

import dataclasses
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from harness import Timing, log, median, timed
from sweep_report import markdown, s1_ok

import tokensim
from tokensim import Experiment

SCRIPT = Path(__file__).resolve()
DOC = harness.DOC
SECTION = "## Sweeps"
COMPARISON = "## Before and after: benchmarks/sweep.py"
PACKAGES = ("tokensim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "dask", "distributed", "tqdm")

TARGET_OVERHEAD = 0.10
TARGET_SPEEDUP = 1.8
TARGET_DASK = 0.85

#: The small built-in models (tens to hundreds of instances; a run costs about a millisecond).
SMALL_MODELS = ("partner_network", "saas_broker", "service_mesh", "workload_direct")
#: The parallel sweep mixes cheap and expensive models, as real experiment files do.
PARALLEL_MODELS = ("spa_behind_proxy", "mobile_gateway", "workload_direct", "ci_pipeline")
POLICIES = ("bearer", "hybrid", "dpop", "mtls")
TTLS = ("15m", "1h")
HORIZON = "90d"
SEED = 20261125
KINDS_S1 = ("sweep", "direct", "machinery")
KINDS_PAR = ("serial", "pool", "dask")


@dataclass(frozen=True)
class Setup:
    """The cases' fixed sizes and the targets, carried in the results (``res["setup"]``) for the report's text."""

    section: str = SECTION
    small_models: tuple[str, ...] = SMALL_MODELS
    parallel_models: tuple[str, ...] = PARALLEL_MODELS
    policies: tuple[str, ...] = POLICIES
    ttls: tuple[str, ...] = TTLS
    horizon: str = HORIZON
    target_overhead: float = TARGET_OVERHEAD
    target_speedup: float = TARGET_SPEEDUP
    target_dask: float = TARGET_DASK


@dataclass(frozen=True)
class Config:
    name: str
    overhead_replications: int  # per small model: x 4 policies x 2 TTLs runs
    overhead_rounds: int
    parallel_replications: int  # x 4 models x 4 policies x 2 TTLs runs
    parallel_rounds: int
    profile: bool
    wait_quiet: float  # seconds a parallel round may wait for 2 free cores (0: start at once)


FULL = Config(
    "full",
    overhead_replications=100,
    overhead_rounds=7,
    parallel_replications=40,
    parallel_rounds=9,
    profile=True,
    wait_quiet=300.0,
)
QUICK = Config(
    "quick",
    overhead_replications=15,
    overhead_rounds=3,
    parallel_replications=8,
    parallel_rounds=1,
    profile=True,
    wait_quiet=0.0,
)


def experiment(name: str, models: tuple[str, ...], replications: int) -> Experiment:
    return Experiment.from_dict(
        {
            "name": name,
            "models": list(models),
            "policies": list(POLICIES),
            "factors": {"policy.access_ttl": list(TTLS)},
            "design": "grid",
            "replications": replications,
            "seed": SEED,
            "horizon": HORIZON,
        }
    )


def sweep(exp: Experiment, **kwargs: Any) -> tuple[pd.DataFrame, Timing]:
    """Experiment.run into a fresh temporary folder (made and removed outside the timing)."""
    folder = Path(tempfile.mkdtemp(prefix="tokensim-bench-"))
    try:
        return timed(lambda: exp.run(out=folder / "out", progress=False, **kwargs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def same_records(frame: pd.DataFrame, records: list[dict[str, Any]]) -> bool:
    """The sweep's rows carry exactly the direct calls' records (in run order)."""
    direct = pd.DataFrame(records)
    if len(frame) != len(direct):
        return False
    return frame[list(direct.columns)].reset_index(drop=True).equals(direct)


def machine() -> dict[str, Any]:
    import multiprocessing

    return {**harness.machine(PACKAGES), "start_method": multiprocessing.get_start_method(allow_none=False)}


# -- the runner's internals: the only place that names them (split by issue 10; older checkouts kept working) --


def worker_tasks(exp: Experiment, runs: list[Any]) -> list[Any]:
    """The worker tasks of ``runs``, sized as for one worker."""
    try:
        from tokensim.experiment.tasks import make_tasks
    except ImportError:  # a checkout from before the runner split
        return exp._tasks(runs, 1)  # type: ignore[attr-defined, no-any-return]
    return list(make_tasks(exp.plan, runs, 1))


def task_functions() -> tuple[Callable[[Any], list[dict[str, Any]]], Callable[[bytes], list[dict[str, Any]]]]:
    """`run_task` and `run_packed_task`, wherever the checkout keeps them."""
    try:
        from tokensim.experiment.tasks import run_packed_task, run_task
    except ImportError:  # a checkout from before the runner split
        from tokensim.experiment.runner import run_packed_task, run_task  # type: ignore[attr-defined, no-redef]
    return run_task, run_packed_task


def direct_calls(exp: Experiment) -> Callable[[], list[dict[str, Any]]]:
    """The same runs as the sweep, as plain `tokensim.simulate` calls (models and policies built beforehand)."""
    plan, spec = exp.plan, exp.spec
    items = [(plan.variants[r.variant].arch, r.policy, r.replication) for r in exp.runs()]

    def call() -> list[dict[str, Any]]:
        return [
            tokensim.simulate(arch, pol, seed=spec.seed, horizon=spec.horizon, replication=rep, costs=plan.costs).record
            for arch, pol, rep in items
        ]

    return call


def first_outcome(exp: Experiment) -> tokensim.Outcome:
    """The outcome of the experiment's first run: what the engine stub returns for every run."""
    first = exp.runs()[0]
    return tokensim.simulate(
        exp.plan.variants[first.variant].arch,
        first.policy,
        seed=exp.spec.seed,
        horizon=exp.spec.horizon,
        replication=first.replication,
        costs=exp.plan.costs,
    )


@contextmanager
def engine_stubbed(outcome: Any) -> Iterator[None]:
    """`tokensim.simulate` as the sweep's workers call it, replaced by a stub returning a canned outcome:
    what is left of `Experiment.run` is the machinery alone."""
    import tokensim.api

    real = tokensim.api.simulate
    tokensim.api.simulate = lambda *args, **kwargs: outcome
    try:
        yield
    finally:
        tokensim.api.simulate = real


def packed_tasks(exp: Experiment) -> list[bytes]:
    """The experiment's worker tasks, one run per task size step, pickled as `Experiment.run` sends them."""
    import pickle

    try:
        from tokensim.experiment.tasks import pack
    except ImportError:  # a checkout from before the runner split pickled the task dicts itself
        return [pickle.dumps(t) for t in worker_tasks(exp, exp.runs())]
    return [pack(t) for t in worker_tasks(exp, exp.runs())]


def task_cpu(blob: bytes) -> float:
    """CPU seconds of the whole worker process (all its threads) while it runs one task. Defined in the script
    (``__main__``), so that Dask ships it by value to workers that cannot import benchmarks/."""
    _, run_packed_task = task_functions()
    c0 = time.process_time()
    run_packed_task(blob)
    return time.process_time() - c0


def breakdown(exp: Experiment) -> dict[str, Any]:
    """Where the machinery's time goes, step by step (CPU microseconds per run), on one small model."""
    from tokensim.experiment.store import ResultStore

    run_task, _ = task_functions()

    n = len(exp.runs())
    steps: dict[str, float] = {}
    _, t = timed(lambda: experiment(exp.spec.name, tuple(exp.spec.models), exp.spec.replications))
    steps["expand the experiment (models, design, policies; once per sweep)"] = t.cpu
    runs, t = timed(exp.runs)
    steps["run ids (`Experiment.runs`: a configuration hash per run)"] = t.cpu
    tasks, t = timed(lambda: worker_tasks(exp, runs))
    steps["tasks (`make_tasks`: run descriptions for the workers)"] = t.cpu
    rows = [row for task in tasks for row in run_task(task)]
    _, t_direct = timed(direct_calls(exp))
    with engine_stubbed(first_outcome(exp)):  # run_task's own work, without the engine
        _, t = timed(lambda: [row for task in tasks for row in run_task(task)])
    steps["worker side (`run_task` with `simulate` replaced by a stub)"] = t.cpu
    folder = Path(tempfile.mkdtemp(prefix="tokensim-bench-"))
    try:
        store = ResultStore(folder / "out")
        store.initialise({"experiment_hash": "benchmark"}, "", resume=False)

        def store_all() -> None:
            for i in range(0, len(rows), 500):
                store.append(rows[i : i + 500])

        _, t = timed(store_all)
        steps["store (`ResultStore.append`, 500-row atomic Parquet chunks)"] = t.cpu
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _, t = timed(lambda: pd.DataFrame(rows).sort_values("run_index", kind="stable").reset_index(drop=True))
    steps["returned DataFrame (rows to frame, sorted)"] = t.cpu
    return {k: v / n * 1e6 for k, v in steps.items()} | {"_runs": n, "_direct_us_per_run": t_direct.cpu / n * 1e6}


# -- S1: overhead -----------------------------------------------------------------------------------


class Overhead:
    """S1's cases: per small model, its sweep, its direct calls and its sweep with the engine stubbed."""

    def __init__(self, cfg: Config) -> None:
        self.exps = {m: experiment(f"overhead-{m}", (m,), cfg.overhead_replications) for m in SMALL_MODELS}
        self.calls = {m: direct_calls(e) for m, e in self.exps.items()}
        self.canned = {m: first_outcome(e) for m, e in self.exps.items()}
        self.runs = {}
        for m, exp in self.exps.items():  # untimed warm-up of every path; also the equality check
            frame, _ = sweep(exp, workers=1)
            records = self.calls[m]()
            if not same_records(frame, records):
                raise RuntimeError(f"{m}: the sweep's rows differ from direct tokensim.simulate calls")
            with engine_stubbed(self.canned[m]):
                sweep(exp, workers=1)
            self.runs[m] = len(records)

    def time(self, m: str, kind: str) -> Timing:
        if kind == "sweep":
            return sweep(self.exps[m], workers=1)[1]
        if kind == "direct":
            return timed(self.calls[m])[1]
        with engine_stubbed(self.canned[m]):
            return sweep(self.exps[m], workers=1)[1]

    def round(self, cfg: Config, r: int) -> dict[str, Any]:
        """Round ``r``: every model's three timings, in an order rotating with the round and the model."""
        log(f"S1 round {r + 1}/{cfg.overhead_rounds}")
        out: dict[str, Any] = {m: {} for m in SMALL_MODELS}
        for i, m in enumerate(SMALL_MODELS):
            for kind in harness.rotated(KINDS_S1, r + i):
                out[m][kind] = self.time(m, kind).to_json()
        return {"runs": self.runs, "timings": out}


def summarise_overhead(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """S1's figures from its rounds: per model and pooled (the four models' times summed per round)."""
    runs = rounds[0]["runs"]
    per = {
        m: {"runs": runs[m], **{k: [Timing.from_json(r["timings"][m][k]) for r in rounds] for k in KINDS_S1}}
        for m in SMALL_MODELS
    }
    pooled = {
        "runs": sum(runs.values()),
        **{
            k: [
                Timing(sum(per[m][k][i].wall for m in per), sum(per[m][k][i].cpu for m in per))
                for i in range(len(rounds))
            ]
            for k in KINDS_S1
        },
    }
    for d in [*per.values(), pooled]:
        for clock in ("cpu", "wall"):
            sw, di, ma = ([getattr(t, clock) for t in d[k]] for k in KINDS_S1)
            # Isolated: the machinery's own time (engine stubbed) over the engine's (direct calls).
            # End to end: each round times a model's sweep and its direct calls back to back, so the
            # per-round ratio compares runs made under the same machine conditions; median of those.
            ratios = [s / t - 1 for s, t in zip(sw, di)]
            d[clock] = {
                "direct": median(di),
                "sweep": median(sw),
                "machinery": median(ma),
                "overhead": median(ma) / median(di),
                "us_per_run": median(ma) / d["runs"] * 1e6,
                "end_to_end": median(ratios),
                "end_to_end_range": harness.spread(ratios),
            }
    return {"models": per, "pooled": pooled}


# -- S2, S3: parallel -------------------------------------------------------------------------------


def start_dask() -> tuple[Any, Any, float]:
    from tokensim.experiment import local_dask_cluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    w0 = time.perf_counter()
    client, cluster = local_dask_cluster(2)
    return cluster, client, time.perf_counter() - w0


class Parallel:
    """S2 and S3's cases: one sweep serially, on a 2-process pool and on a local 2-worker Dask cluster."""

    def __init__(self, cfg: Config) -> None:
        self.exp = experiment("parallel", PARALLEL_MODELS, cfg.parallel_replications)
        self.warm = experiment("parallel-warmup", PARALLEL_MODELS, 1)
        self.runs = len(self.exp.runs())
        log(f"S2/S3: {self.runs} runs per sweep")
        self.pool_first = sweep(self.warm, workers=2)[1].wall

    def time(self, kind: str, out: dict[str, Any]) -> tuple[pd.DataFrame, Timing]:
        if kind == "serial":
            return sweep(self.exp, workers=1)
        if kind == "pool":
            return sweep(self.exp, workers=2)
        # The cluster lives only for its own round: an idle Dask scheduler (in this process) and idle
        # workers tick every few milliseconds, which slowed the other executors' rounds by about 10 %.
        # Its start and a warm-up sweep (the workers import tokensim) are untimed, as for a running
        # cluster that `--dask ADDRESS` uses.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster, client, started = start_dask()
        try:
            _, first = sweep(self.warm, executor=client)
            out["dask_start"], out["dask_first"] = started, first.wall
            return sweep(self.exp, executor=client)
        finally:
            client.close()
            cluster.close()

    def round(self, cfg: Config, r: int) -> dict[str, Any]:
        """Round ``r``: each executor's sweep once, in rotating order, each started on a quiet machine."""
        out: dict[str, Any] = {"runs": self.runs, "pool_first": self.pool_first, "warmup_runs": len(self.warm.runs())}
        frames = {}
        for kind in harness.rotated(KINDS_PAR, r):
            # Every timed sweep starts when 2 processes get 2 cores (or after waiting wait_quiet),
            # and the machine is probed again after it: load that arrived meanwhile shows.
            available, waited = harness.wait_for_quiet(cfg.wait_quiet)
            log(f"S2/S3 round {r + 1}/{cfg.parallel_rounds}: {kind} (available {available:.2f}x)")
            frames[kind], t = self.time(kind, out)
            out[kind] = {"timing": t.to_json(), "available": [available, harness.available_speedup()], "waited": waited}
        out["equal"] = frames["serial"].equals(frames["pool"]) and frames["serial"].equals(frames["dask"])
        return out


def summarise_parallel(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """S2 and S3's figures from their rounds: median wall times, speed ratios, Dask's start-up."""
    n = rounds[0]["runs"]
    out: dict[str, Any] = {"runs": n, "pool_first": rounds[0]["pool_first"], "warmup_runs": rounds[0]["warmup_runs"]}
    for kind in KINDS_PAR:
        out[kind] = [Timing.from_json(r[kind]["timing"]) for r in rounds]
        out[f"{kind}_available"] = [tuple(r[kind]["available"]) for r in rounds]
        out[f"{kind}_wall"] = median(t.wall for t in out[kind])
        out[f"{kind}_cpu"] = median(t.cpu for t in out[kind])
    out["equal"] = all(r["equal"] for r in rounds)
    out["waited"] = [r[k]["waited"] for r in rounds for k in KINDS_PAR]
    out["available_median"] = median(r[k]["available"][0] for r in rounds for k in KINDS_PAR)
    out["dask_start"] = median(r["dask_start"] for r in rounds)
    out["dask_first"] = median(r["dask_first"] for r in rounds)
    out["speedup"] = out["serial_wall"] / out["pool_wall"]
    out["dask_ratio"] = out["pool_wall"] / out["dask_wall"]  # speed of Dask relative to the pool
    start_up = out["dask_start"] + out["dask_first"]
    out["dask_ratio_started"] = out["pool_wall"] / (out["dask_wall"] + start_up)
    scale = 300.0 / out["pool_wall"]  # the same sweep, longer: run time scales, start-up does not
    out["dask_ratio_5min"] = 300.0 / (out["dask_wall"] * scale + start_up)
    out["serial_ms_per_run"] = out["serial_wall"] / n * 1e3
    return out


def worker_cpu(cfg: Config) -> dict[str, Any]:
    """What a run costs a Dask worker against a pool worker: the same tasks, one worker each, paired.

    Each task goes to a 1-process pool, to tokensim's 1-worker Dask cluster and to a 1-worker
    Dask cluster with Dask's default settings, one executor at a time, in rotating order; the
    worker's process CPU time during the task is summed. Pairing task by task cancels the
    drift of the shared machine's speed, which is larger than the effect over whole sweeps.
    """
    from concurrent.futures import ProcessPoolExecutor

    from dask.distributed import Client, LocalCluster

    from tokensim.experiment import local_dask_cluster

    exp = experiment("worker-cpu", PARALLEL_MODELS, cfg.parallel_replications // 2 or 1)
    tasks = packed_tasks(exp)
    log(f"S3 detail: worker CPU per task, {len(tasks)} tasks ({len(exp.runs())} runs), paired")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tuned_client, tuned = local_dask_cluster(1)
        default = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
        default_client = Client(default)
    pool = ProcessPoolExecutor(1)
    executors = {"pool": pool, "tokensim": tuned_client.get_executor(), "default": default_client.get_executor()}
    try:
        for ex in executors.values():  # warm-up: imports and first-use caches
            for blob in tasks[:8]:
                ex.submit(task_cpu, blob).result()
        sums = dict.fromkeys(executors, 0.0)
        for i, blob in enumerate(tasks):
            for name in harness.rotated(list(executors), i):
                sums[name] += executors[name].submit(task_cpu, blob).result()
    finally:
        pool.shutdown()
        for c in (tuned_client, tuned, default_client, default):
            c.close()
    return {
        "runs": len(exp.runs()),
        "tasks": len(tasks),
        **sums,
        "tokensim_extra": sums["tokensim"] / sums["pool"] - 1,
        "default_extra": sums["default"] / sums["pool"] - 1,
    }


# -- profiles of missed targets -----------------------------------------------------------------------


def profiles(cfg: Config, res: dict[str, Any]) -> list[str]:
    """cProfile (this process, by own time) of the sweeps behind missed targets."""
    out = []

    def prof(label: str, exp: Experiment, workers: int) -> None:
        folder = Path(tempfile.mkdtemp(prefix="tokensim-bench-"))
        try:
            log(f"profiling: {label}")
            stats = harness.profile(lambda: exp.run(out=folder / "out", workers=workers, progress=False))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        text = harness.own_time_text(stats, 18)
        out.append(
            f"### Profile: {label}\n\ncProfile of this process, sorted by own time (top 18):\n\n```\n{text}\n```\n"
        )

    if not s1_ok(res["overhead"], TARGET_OVERHEAD):
        worst = max(SMALL_MODELS, key=lambda m: res["overhead"]["models"][m]["cpu"]["overhead"])
        prof(
            f"S1, Experiment.run(workers=1) on {worst}",
            experiment(f"overhead-{worst}", (worst,), cfg.overhead_replications),
            1,
        )
    par = res["parallel"]
    if par["speedup"] < TARGET_SPEEDUP or par["dask_ratio"] < TARGET_DASK:
        prof(
            "S2, the parent process of Experiment.run(workers=2) (its main thread)",
            experiment("parallel", PARALLEL_MODELS, cfg.parallel_replications),
            2,
        )
    return out


def figures(res: dict[str, Any]) -> list[harness.Figure]:
    """The figures a before/after comparison judges, with the times they are made of."""
    ov, par = res["overhead"], res["parallel"]
    pooled = ov["pooled"]["cpu"]
    F = harness.Figure
    return [
        F("S1", "machinery overhead per run, 4 small models pooled (CPU)", pooled["overhead"], "{:+.1%}", "lower"),
        F("S1 (a)", "direct tokensim.simulate calls, pooled: CPU s", pooled["direct"], "{:.3f} s", "lower"),
        F("S1 (b)", "Experiment.run(workers=1), pooled: CPU s", pooled["sweep"], "{:.3f} s", "lower"),
        F("S1 (c)", "machinery alone (engine stubbed), pooled: CPU s", pooled["machinery"], "{:.3f} s", "lower"),
        F("S2", "2 worker processes vs 1 (wall)", par["speedup"], "{:.2f}x", "higher"),
        F("S2 serial", "serial sweep (workers=1): wall s", par["serial_wall"], "{:.2f} s", "lower"),
        F("S2 pool", "process pool (workers=2): wall s", par["pool_wall"], "{:.2f} s", "lower"),
        F("S3", "local Dask cluster vs the pool, speed (wall)", par["dask_ratio"], "{:.2f}x", "higher"),
        F("S3 dask", "local Dask cluster, 2 workers: wall s", par["dask_wall"], "{:.2f} s", "lower"),
    ]


def measure_round(cfg: Config, r: int, s1: Overhead | None, par: Parallel | None) -> dict[str, Any]:
    """Round ``r`` of S1 and of S2/S3 (a mode has fewer of one than of the other: None past its last)."""
    return {
        "overhead": s1.round(cfg, r) if s1 is not None and r < cfg.overhead_rounds else None,
        "parallel": par.round(cfg, r) if par is not None and r < cfg.parallel_rounds else None,
    }


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "overhead": summarise_overhead([r["overhead"] for r in rounds if r["overhead"] is not None]),
        "parallel": summarise_parallel([r["parallel"] for r in rounds if r["parallel"] is not None]),
    }


def n_rounds(cfg: Config) -> int:
    return max(cfg.overhead_rounds, cfg.parallel_rounds)


def run(cfg: Config) -> dict[str, Any]:
    """Every round in this process, then the per-task worker CPU, the breakdown and profiles."""
    m = machine()
    s1 = Overhead(cfg)
    par = Parallel(cfg)
    res = summarise([measure_round(cfg, r, s1, par) for r in range(n_rounds(cfg))])
    res["overhead"]["breakdown"] = breakdown(s1.exps["service_mesh"])
    res |= {"config": cfg, "setup": Setup(), "machine": m, "worker_cpu": worker_cpu(cfg), "load_end": os.getloadavg()}
    res["profiles"] = profiles(cfg, res) if cfg.profile else []
    return res


def against(cfg: Config, other: harness.Checkout, flags: list[str], write: bool) -> None:
    """``--against``: the same rounds on this checkout and ``other`` (harness.against); ``flags``, the mode
    options, go to every child."""

    def figures_of(
        side: harness.Checkout, rounds: list[Any]
    ) -> tuple[list[harness.Figure], list[list[harness.Figure]]]:
        # a round alone has S1 or S2/S3 or both: only rounds with both give per-round figures
        each = [figures(summarise([r])) for r in rounds if r["overhead"] and r["parallel"]]
        return figures(summarise(rounds)), each

    harness.against(
        SCRIPT,
        other,
        flags,
        n_rounds(cfg),
        figures_of,
        packages=PACKAGES,
        heading=COMPARISON,
        mode=cfg.name,
        notes=[
            f"- S1: {cfg.overhead_rounds} round(s), S2/S3: {cfg.parallel_rounds} round(s), sized as in the Sweeps "
            "section's mode; the per-task worker CPU and the machinery's breakdown are not compared."
        ],
        run_times=("S1 (a)", "S1 (b)", "S2 serial", "S2 pool", "S3 dask"),
        write=write,
    )


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(
        __doc__,
        quick="short version: fewer runs and rounds",
        write=f"replace the '{SECTION[3:]}' section of {DOC.relative_to(harness.ROOT)}",
        rounds="rounds of S1 and of S2/S3 (default: 7 and 9 full, 3 and 1 quick)",
        children=("round",),
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long a parallel round may wait for 2 free cores (default: 300 full, 0 quick)",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.no_profile:
        cfg = dataclasses.replace(cfg, profile=False)
    if args.wait_quiet is not None:
        cfg = dataclasses.replace(cfg, wait_quiet=args.wait_quiet)
    if args.rounds:
        cfg = dataclasses.replace(cfg, overhead_rounds=args.rounds, parallel_rounds=args.rounds)
    if args.child:  # one round of an --against comparison, in this checkout's child process
        s1 = Overhead(cfg) if args.round < cfg.overhead_rounds else None
        par = Parallel(cfg) if args.round < cfg.parallel_rounds else None
        harness.child_output(measure_round(cfg, args.round, s1, par))
        return 0
    if args.against:
        flags = ["--quick"] * args.quick + (
            ["--wait-quiet", str(args.wait_quiet)] if args.wait_quiet is not None else []
        )
        against(cfg, harness.checkout(args.against), flags, args.write)
        return 0
    res = run(cfg)
    text = markdown(res)
    print(text)
    if args.write:
        harness.write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
