#!/usr/bin/env python
"""Benchmark of the sweep machinery (tokensim.Experiment): overhead, 2 workers, a local Dask cluster.

    python benchmarks/sweep.py            # full run (a few minutes), prints the table
    python benchmarks/sweep.py --quick    # short version (fewer runs and rounds)
    python benchmarks/sweep.py --write    # also replace the "Sweeps" section of docs/benchmarks.md

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
script profiles that case and lists the hotspots. This is a script, not a test: nothing
here asserts a timing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # numpy without BLAS thread pools, here and in the workers

import argparse
import cProfile
import gc
import io
import logging
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import machine_info  # benchmarks/machine_info.py: scripts run from this folder
import pandas as pd

import tokensim
from tokensim.experiment import Experiment
from tokensim.experiment.store import ResultStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Sweeps"

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


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # this process only: the parent's share when workers run elsewhere


def timed(fn: Callable[[], Any]) -> tuple[Any, Timing]:
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    c1, w1 = time.process_time(), time.perf_counter()
    return out, Timing(w1 - w0, c1 - c0)


def median(values: list[float]) -> float:
    return statistics.median(values)


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


def same_records(frame: pd.DataFrame, records: list[dict[str, Any]]) -> bool:
    """The sweep's rows carry exactly the direct calls' records (in run order)."""
    direct = pd.DataFrame(records)
    if len(frame) != len(direct):
        return False
    return frame[list(direct.columns)].reset_index(drop=True).equals(direct)


# -- machine ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        **machine_info.machine(
            ("tokensim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "dask", "distributed", "tqdm")
        ),
        "start_method": _start_method(),
    }


def _start_method() -> str:
    import multiprocessing

    return multiprocessing.get_start_method(allow_none=False)


# -- S1: overhead -------------------------------------------------------------------------------


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


def overhead(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"models": {}}
    exps = {m: experiment(f"overhead-{m}", (m,), cfg.overhead_replications) for m in SMALL_MODELS}
    calls = {m: direct_calls(e) for m, e in exps.items()}
    canned = {}
    for m, exp in exps.items():  # untimed warm-up of every path; also the equality check
        frame, _ = sweep(exp, workers=1)
        records = calls[m]()
        if not same_records(frame, records):
            raise RuntimeError(f"{m}: the sweep's rows differ from direct tokensim.simulate calls")
        first = exp.runs()[0]
        canned[m] = tokensim.simulate(
            exp.plan.variants[first.variant].arch,
            first.policy,
            seed=exp.spec.seed,
            horizon=exp.spec.horizon,
            replication=first.replication,
            costs=exp.plan.costs,
        )
        with engine_stubbed(canned[m]):
            sweep(exp, workers=1)
        out["models"][m] = {"runs": len(records), "sweep": [], "direct": [], "machinery": []}
    kinds = ("sweep", "direct", "machinery")
    for rnd in range(cfg.overhead_rounds):
        log(f"S1 round {rnd + 1}/{cfg.overhead_rounds}")
        for i, m in enumerate(SMALL_MODELS):
            for kind in kinds[(rnd + i) % 3 :] + kinds[: (rnd + i) % 3]:
                if kind == "sweep":
                    _, t = sweep(exps[m], workers=1)
                elif kind == "direct":
                    _, t = timed(calls[m])
                else:
                    with engine_stubbed(canned[m]):
                        _, t = sweep(exps[m], workers=1)
                out["models"][m][kind].append(t)
    rounds = range(cfg.overhead_rounds)
    groups = {
        **out["models"],
        "pooled": {
            "runs": sum(d["runs"] for d in out["models"].values()),
            **{
                kind: [
                    Timing(
                        sum(d[kind][k].wall for d in out["models"].values()),
                        sum(d[kind][k].cpu for d in out["models"].values()),
                    )
                    for k in rounds
                ]
                for kind in kinds
            },
        },
    }
    for d in groups.values():
        for clock in ("cpu", "wall"):
            sw, di, ma = ([getattr(t, clock) for t in d[kind]] for kind in kinds)
            # Isolated: the machinery's own time (engine stubbed) over the engine's (direct calls).
            # End to end: each round times a model's sweep and its direct calls back to back, so the
            # per-round ratio compares runs made under the same machine conditions; median of those.
            ratios = sorted(sw[k] / di[k] - 1 for k in rounds)
            d[clock] = {
                "direct": median(di),
                "sweep": median(sw),
                "machinery": median(ma),
                "overhead": median(ma) / median(di),
                "us_per_run": median(ma) / d["runs"] * 1e6,
                "end_to_end": median(ratios),
                "end_to_end_range": (ratios[0], ratios[-1]),
            }
    out["pooled"] = groups["pooled"]
    out["breakdown"] = breakdown(exps["service_mesh"])
    return out


def breakdown(exp: Experiment) -> dict[str, float]:
    """Where the machinery's time goes, step by step (CPU microseconds per run), on one small model."""
    from tokensim.experiment.runner import run_task

    n = len(exp.runs())
    steps: dict[str, float] = {}
    _, t = timed(lambda: experiment(exp.spec.name, tuple(exp.spec.models), exp.spec.replications))
    steps["expand the experiment (models, design, policies; once per sweep)"] = t.cpu
    runs, t = timed(exp.runs)
    steps["run ids (`Experiment.runs`: a configuration hash per run)"] = t.cpu
    tasks, t = timed(lambda: exp._tasks(runs, 1))
    steps["tasks (`Experiment._tasks`: run descriptions for the workers)"] = t.cpu
    rows = [row for task in tasks for row in run_task(task)]
    _, t_direct = timed(direct_calls(exp))
    import tokensim.api

    canned, real = (
        tokensim.api.simulate(exp.plan.variants[0].arch, runs[0].policy, seed=exp.spec.seed, horizon=exp.spec.horizon),
        tokensim.api.simulate,
    )
    tokensim.api.simulate = lambda *args, **kwargs: canned  # run_task's own work, without the engine
    try:
        _, t = timed(lambda: [row for task in tasks for row in run_task(task)])
    finally:
        tokensim.api.simulate = real
    steps["worker side (`run_task` with `simulate` replaced by a stub)"] = t.cpu
    folder = Path(tempfile.mkdtemp(prefix="tokensim-bench-"))
    try:
        store = ResultStore(folder / "out")
        store.initialise({"experiment_hash": "benchmark"}, "", resume=False)
        _, t = timed(lambda: [store.append(rows[i : i + 500]) for i in range(0, len(rows), 500)])
        steps["store (`ResultStore.append`, 500-row atomic Parquet chunks)"] = t.cpu
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _, t = timed(lambda: pd.DataFrame(rows).sort_values("run_index", kind="stable").reset_index(drop=True))
    steps["returned DataFrame (rows to frame, sorted)"] = t.cpu
    return {k: v / n * 1e6 for k, v in steps.items()} | {"_runs": n, "_direct_us_per_run": t_direct.cpu / n * 1e6}


# -- S2, S3: parallel ---------------------------------------------------------------------------

SPIN = 6_000_000  # iterations of a bare Python loop: about half a second on one core


def spin(n: int = SPIN) -> float:
    """Pure-Python work with nothing to share: the best case for running in parallel."""
    x = 0
    for i in range(n):
        x += i
    return float(x)


def available_speedup() -> float:
    """What 2 processes get on this machine right now: 2 x (one spin alone) / (two spins side by side), wall time."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(spin, [1000, 1000]))  # start the pool outside the timing
        _, one = timed(spin)
        _, two = timed(lambda: list(pool.map(spin, [SPIN, SPIN])))
    return 2 * one.wall / two.wall


QUIET = 1.8  # available speed-up at which a parallel round starts


def wait_for_quiet(limit: float) -> tuple[float, float]:
    """Wait (up to ``limit`` seconds) until 2 processes get at least QUIET x; (available speed-up, seconds waited)."""
    w0 = time.perf_counter()
    while True:
        available = available_speedup()
        waited = time.perf_counter() - w0
        if available >= QUIET or waited >= limit:
            return available, waited
        log(f"  other work on the machine (2 processes get {available:.2f}x); waiting")
        time.sleep(15)


def start_dask() -> tuple[Any, Any, float]:
    from tokensim.experiment import local_dask_cluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    w0 = time.perf_counter()
    client, cluster = local_dask_cluster(2)
    return cluster, client, time.perf_counter() - w0


def task_cpu(blob: bytes) -> float:
    """CPU seconds of the whole worker process (all its threads) while it runs one task."""
    from tokensim.experiment.runner import run_packed_task

    c0 = time.process_time()
    run_packed_task(blob)
    return time.process_time() - c0


def worker_cpu(cfg: Config) -> dict[str, Any]:
    """What a run costs a Dask worker against a pool worker: the same tasks, one worker each, paired.

    Each task goes to a 1-process pool, to tokensim's 1-worker Dask cluster and to a 1-worker
    Dask cluster with Dask's default settings, one executor at a time, in rotating order; the
    worker's process CPU time during the task is summed. Pairing task by task cancels the
    drift of the shared machine's speed, which is larger than the effect over whole sweeps.
    """
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    from dask.distributed import Client, LocalCluster

    from tokensim.experiment import local_dask_cluster

    exp = experiment("worker-cpu", PARALLEL_MODELS, cfg.parallel_replications // 2 or 1)
    tasks = [pickle.dumps(t) for t in exp._tasks(exp.runs(), 1)]
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
        names = list(executors)
        for i, blob in enumerate(tasks):
            for name in names[i % 3 :] + names[: i % 3]:
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


def parallel(cfg: Config) -> dict[str, Any]:
    exp = experiment("parallel", PARALLEL_MODELS, cfg.parallel_replications)
    warm = experiment("parallel-warmup", PARALLEL_MODELS, 1)
    n = len(exp.runs())
    out: dict[str, Any] = {
        "runs": n,
        "serial": [],
        "pool": [],
        "dask": [],
        "available": [],
        "available_after": [],
        "waited": [],
        "dask_start": [],
        "dask_first": [],
        "warmup_runs": len(warm.runs()),
    }
    log(f"S2/S3: {n} runs per sweep")
    _, t = sweep(warm, workers=2)
    out["pool_first"] = t.wall
    frames = {}
    kinds = ("serial", "pool", "dask")
    for rnd in range(cfg.parallel_rounds):
        for kind in kinds[rnd % 3 :] + kinds[: rnd % 3]:
            # Every timed sweep starts when 2 processes get 2 cores (or after waiting wait_quiet),
            # and the machine is probed again after it: load that arrived meanwhile shows.
            available, waited = wait_for_quiet(cfg.wait_quiet)
            log(f"S2/S3 round {rnd + 1}/{cfg.parallel_rounds}: {kind} (available {available:.2f}x)")
            if kind == "serial":
                frame, t = sweep(exp, workers=1)
            elif kind == "pool":
                frame, t = sweep(exp, workers=2)
            else:
                # The cluster lives only for its own round: an idle Dask scheduler (in this process)
                # and idle workers tick every few milliseconds, which slowed the other executors'
                # rounds by about 10 %. Its start and a warm-up sweep (the workers import tokensim)
                # are untimed, as for a running cluster that `--dask ADDRESS` uses.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cluster, client, started = start_dask()
                try:
                    _, first = sweep(warm, executor=client)
                    out["dask_start"].append(started)
                    out["dask_first"].append(first.wall)
                    frame, t = sweep(exp, executor=client)
                finally:
                    client.close()
                    cluster.close()
            out[kind].append(t)
            out["available"].append(available)
            out["waited"].append(waited)
            out["available_after"].append(available_speedup())
            out[f"{kind}_available"] = out.get(f"{kind}_available", []) + [(available, out["available_after"][-1])]
            frames.setdefault(kind, frame)
    out["equal"] = frames["serial"].equals(frames["pool"]) and frames["serial"].equals(frames["dask"])
    out["dask_start"] = median(out["dask_start"])
    out["dask_first"] = median(out["dask_first"])
    for kind in ("serial", "pool", "dask"):
        out[f"{kind}_wall"] = median([t.wall for t in out[kind]])
        out[f"{kind}_cpu"] = median([t.cpu for t in out[kind]])
    out["available_median"] = median(out["available"])
    out["speedup"] = out["serial_wall"] / out["pool_wall"]
    out["dask_ratio"] = out["pool_wall"] / out["dask_wall"]  # speed of Dask relative to the pool
    start_up = out["dask_start"] + out["dask_first"]
    out["dask_ratio_started"] = out["pool_wall"] / (out["dask_wall"] + start_up)
    scale = 300.0 / out["pool_wall"]  # the same sweep, longer: run time scales, start-up does not
    out["dask_ratio_5min"] = 300.0 / (out["dask_wall"] * scale + start_up)
    out["serial_ms_per_run"] = out["serial_wall"] / n * 1e3
    return out


# -- profiles of missed targets -------------------------------------------------------------------


def profile(label: str, fn: Callable[[], Any], rows: int = 18) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(rows)
    text = buf.getvalue()
    start = text.find("   ncalls")
    return f"### Profile: {label}\n\ncProfile of this process, sorted by own time (top {rows}):\n\n```\n{text[start:].rstrip()}\n```\n"


def profiles(cfg: Config, res: dict[str, Any]) -> list[str]:
    out = []
    if not s1_ok(res["overhead"]):
        worst = max(SMALL_MODELS, key=lambda m: res["overhead"]["models"][m]["cpu"]["overhead"])
        exp = experiment(f"overhead-{worst}", (worst,), cfg.overhead_replications)
        folder = Path(tempfile.mkdtemp(prefix="tokensim-bench-"))
        out.append(
            profile(
                f"S1, Experiment.run(workers=1) on {worst}",
                lambda: exp.run(out=folder / "out", workers=1, progress=False),
            )
        )
        shutil.rmtree(folder, ignore_errors=True)
    par = res["parallel"]
    if par["speedup"] < TARGET_SPEEDUP or par["dask_ratio"] < TARGET_DASK:
        exp = experiment("parallel", PARALLEL_MODELS, cfg.parallel_replications)
        folder = Path(tempfile.mkdtemp(prefix="tokensim-bench-"))
        out.append(
            profile(
                "S2, the parent process of Experiment.run(workers=2) (its main thread)",
                lambda: exp.run(out=folder / "out", workers=2, progress=False),
            )
        )
        shutil.rmtree(folder, ignore_errors=True)
    return out


# -- report ---------------------------------------------------------------------------------------


def s1_ok(ov: dict[str, Any]) -> bool:
    """S1 passes when the pooled figure and every model's are within the target."""
    return all(d["cpu"]["overhead"] <= TARGET_OVERHEAD for d in [ov["pooled"], *ov["models"].values()])


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def markdown(res: dict[str, Any]) -> str:
    m, cfg, ov, par, wc = res["machine"], res["config"], res["overhead"], res["parallel"], res["worker_cpu"]
    load = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        SECTION,
        "",
        f"Generated by `python benchmarks/sweep.py --write` ({cfg.name} mode), which replaces only this section; "
        "`benchmarks/run.py --write` regenerates the sections above it. The sweep machinery "
        "(`tokensim.Experiment`, docs: the experiments issue) against direct `tokensim.simulate` calls, "
        "and its executors against each other.",
        "",
        "### Machine",
        "",
        f"- CPU: {m['cpu']}; {m['logical_cpus']} logical CPUs, {m['usable_cpus']} usable by this process, "
        "**shared with other work** (other sessions ran tests and benchmarks on the same 2 cores), so wall "
        "times carry their noise",
        f"- Load average (1, 5, 15 min) at start: {load(m['load_start'])}; at the end: {load(res['load_end'])}",
        f"- {m['python']} on {m['os']}; multiprocessing start method `{m['start_method']}` (the process pool forks; "
        "Dask's LocalCluster spawns its workers)",
        f"- {versions}",
        f"- tokensim at commit {m['commit']}"
        + (" with uncommitted changes under tokensim/ in the working tree" if m["tokensim_dirty"] else ""),
        f"- Date: {m['date']}",
        "",
        "### How it is measured",
        "",
        f"- S1: for each small built-in model ({', '.join(SMALL_MODELS)}), an experiment of policies "
        f"{', '.join(POLICIES)} x `policy.access_ttl` {', '.join(TTLS)} x {cfg.overhead_replications} replications "
        f"({ov['models'][SMALL_MODELS[0]]['runs']} runs, horizon {HORIZON}), run serially in this process. Three "
        "timings, in rotating order within each of "
        f"{cfg.overhead_rounds} rounds, after one untimed warm-up of each: (a) direct: `tokensim.simulate(arch, policy, "
        "seed, horizon, replication, costs)` for every run, models and policies built beforehand, records kept in a "
        "list (no DataFrame: the cheapest way to get the numbers); (b) sweep: `Experiment.run(out=TMP, workers=1, "
        "progress=False)` for the same runs (run ids, tasks, `run_task`, atomic Parquet chunks with fsync, the "
        "returned DataFrame; the script checks its rows carry the same records as (a)); (c) machinery: the same "
        "sweep with `tokensim.simulate` replaced by a stub returning one canned outcome of that model, which "
        "leaves the machinery alone. Expanding the experiment (loading models, building the design) is outside "
        "all three and shown in the breakdown.",
        "- The S1 figure is (c) / (a), medians over rounds, on CPU time (`time.process_time`; everything runs in "
        "this process): the machinery's cost per run against the engine's. The end-to-end comparison, (b) / (a) - 1 "
        "per round (each round times them back to back) with its median and range over rounds, measures the same "
        "thing as a difference of two large numbers: on this shared machine the same runs' CPU time moves by "
        "10-30 % from one round to the next, more than the effect, so it is shown as a cross-check and not judged. "
        "Pooled = the four models' times summed per round.",
        f"- S2, S3: one experiment over {', '.join(PARALLEL_MODELS)} x the same policies and TTLs x "
        f"{cfg.parallel_replications} replications ({par['runs']} runs, horizon {HORIZON}): a mix of cheap and "
        "expensive runs, like the shipped experiment files. `workers=1` (serial), `workers=2` (a fresh "
        "`ProcessPoolExecutor` per sweep, its start-up included) and `executor=client` for the local Dask cluster "
        "that `tokensim sweep --dask-local 2` starts (`tokensim.experiment.local_dask_cluster(2)`: 2 worker processes "
        "of one thread each, no dashboard, `tokensim.experiment.cluster.CLUSTER_CONFIG`: worker profiler off, "
        "event-loop checks every 200 ms), started in each Dask round and "
        "warmed up by one small sweep before the timed sweep, closed after it (an idle cluster's scheduler, in this "
        "process, and workers tick every few milliseconds, and slowed the other rounds by about 10 %; its start-up and "
        "first sweep are shown apart). Wall time "
        f"(`time.perf_counter`) of the whole `Experiment.run`, output folder included; {cfg.parallel_rounds} "
        "round(s) in rotating order; medians. Speed ratios are ratios of median wall times. The script checks that "
        "the three give equal DataFrames.",
        "",
        "### Results",
        "",
        "| # | figure | measured | target | result |",
        "|---|---|---:|---:|---|",
        f"| S1 | sweep machinery overhead per run, workers=1, 4 small models pooled, CPU clock (each model: "
        f"{', '.join(pct(ov['models'][m]['cpu']['overhead']) for m in SMALL_MODELS)}; end to end "
        f"{pct(ov['pooled']['cpu']['end_to_end'])}) "
        f"| {pct(ov['pooled']['cpu']['overhead'])} ({ov['pooled']['cpu']['us_per_run']:.0f} us per run) | <= 10 % | "
        f"{verdict(s1_ok(ov))} |",
        f"| S2 | 2 worker processes vs 1, {par['runs']} runs (wall: {par['serial_wall']:.2f} s vs {par['pool_wall']:.2f} s; "
        f"the machine's available speed-up at the time: {par['available_median']:.2f}x) "
        f"| {par['speedup']:.2f}x | >= 1.8x | {verdict(par['speedup'] >= TARGET_SPEEDUP)} |",
        f"| S3 | local Dask cluster (2 workers) vs the 2-process pool, speed (wall: {par['dask_wall']:.2f} s vs "
        f"{par['pool_wall']:.2f} s) | {par['dask_ratio']:.2f}x | >= 0.85x | {verdict(par['dask_ratio'] >= TARGET_DASK)} |",
        "",
        "### Details",
        "",
        "S1 per model (CPU seconds per sweep, medians over rounds; wall-clock figures in brackets):",
        "",
        "| model | runs | (a) direct s | (c) machinery s | machinery / direct | us per run | (b) sweep s | end to end: median (range) | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, d in {**ov["models"], "pooled": ov["pooled"]}.items():
        c, w = d["cpu"], d["wall"]
        lo, hi = c["end_to_end_range"]
        lines.append(
            f"| {name} | {d['runs']} | {c['direct']:.3f} ({w['direct']:.3f}) | {c['machinery']:.3f} ({w['machinery']:.3f}) "
            f"| {pct(c['overhead'])} ({pct(w['overhead'])}) | {c['us_per_run']:.0f} | {c['sweep']:.3f} ({w['sweep']:.3f}) "
            f"| {pct(c['end_to_end'])} ({pct(lo)} to {pct(hi)}) | {verdict(c['overhead'] <= TARGET_OVERHEAD)} |"
        )
    bd = ov["breakdown"]
    lines += [
        "",
        f"Where the machinery's time goes (service_mesh, {bd['_runs']} runs, each step timed alone, CPU "
        f"microseconds per run; a direct run costs {bd['_direct_us_per_run']:.0f} us here):",
        "",
        "| step | us per run |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {v:.1f} |" for k, v in bd.items() if not k.startswith("_")]
    lines += [
        "",
        "S2 and S3 (wall seconds per sweep, every round; CPU seconds are this parent process's own):",
        "",
        "| executor | rounds (wall s) | median wall s | median parent CPU s | available speed-up before/after each |",
        "|---|---|---:|---:|---|",
    ]
    for kind, label in (
        ("serial", "serial (workers=1)"),
        ("pool", "process pool (workers=2)"),
        ("dask", "local Dask cluster, 2 workers"),
    ):
        lines.append(
            f"| {label} | {', '.join(f'{t.wall:.2f}' for t in par[kind])} | {par[f'{kind}_wall']:.2f} | "
            f"{par[f'{kind}_cpu']:.2f} | {', '.join(f'{a:.2f}/{b:.2f}' for a, b in par[f'{kind}_available'])} |"
        )
    lines += [
        "",
        f"- A serial run costs {par['serial_ms_per_run']:.1f} ms of wall time on average in this sweep; results "
        f"equal across the three executors: {'yes' if par['equal'] else '**no**'}.",
        f"- Dask (medians over its rounds, untimed in the table): starting the cluster took {par['dask_start']:.2f} s "
        f"and its first sweep ({par['warmup_runs']} runs, "
        f"the workers importing tokensim) {par['dask_first']:.2f} s, against {par['pool_first']:.2f} s for the same "
        "sweep on a fresh process pool (forked workers inherit the imports). `tokensim sweep --dask-local N` pays "
        "both once per sweep: counted in, the cluster's speed on this "
        f"{par['pool_wall']:.0f}-second sweep is {par['dask_ratio_started']:.2f}x the pool's; on a 5-minute sweep "
        f"(the shipped experiments run minutes) it would be {par['dask_ratio_5min']:.2f}x. S3 judges the running "
        "cluster, as `--dask ADDRESS` uses one.",
        f"- A Dask worker's CPU per run against a pool worker's ({wc['runs']} runs in {wc['tasks']} tasks, one worker "
        "each, every task sent to each executor in turn, the worker process's CPU time during the task summed): "
        f"pool {wc['pool']:.2f} s, tokensim's cluster {wc['tokensim']:.2f} s ({pct(wc['tokensim_extra'])}), Dask's "
        f"default settings {wc['default']:.2f} s ({pct(wc['default_extra'])}). The difference between the two "
        "Dask figures is mostly Dask's statistical profiler, which samples the running task's stack every 10 ms, "
        "and its event-loop checks every 20 ms; `local_dask_cluster` turns the first off and slows the second to 200 ms.",
        "- The machine has 2 cores shared with other work: a parallel sweep's wall time counts any time its "
        "workers wait for a core, and the parent process (submitting tasks, collecting rows, writing Parquet "
        "chunks) shares the same 2 cores with the 2 workers.",
        "- The machine's available speed-up (last column): two pure-Python loops in 2 processes against one alone "
        "(2 x wall of one / wall of both; 2.00 on 2 idle cores), probed before and after every timed sweep. "
        + (
            f"Each timed sweep waited (up to {cfg.wait_quiet:.0f} s; in all {sum(par['waited']):.0f} s) until the "
            f"probe reached {QUIET}x, so that executors are compared on a quiet machine; a probe well below 2 after "
            "a sweep means other work arrived during it. "
            if cfg.wait_quiet
            else ""
        )
        + f"S2 / median available before = {par['speedup'] / par['available_median']:.2f}: the share of the machine's "
        "parallelism the sweep machinery turned into speed-up (above 1 means the serial rounds were slowed by other "
        "work more than the parallel ones: the figures carry the shared machine's noise).",
    ]
    if res.get("profiles"):
        missed = [
            k
            for k, ok in (
                ("S1", s1_ok(ov)),
                ("S2", par["speedup"] >= TARGET_SPEEDUP),
                ("S3", par["dask_ratio"] >= TARGET_DASK),
            )
            if not ok
        ]
        lines += ["", f"Targets missed: {', '.join(missed)}. Profiles:", ""]
        lines += res["profiles"]
    return "\n".join(lines).rstrip() + "\n"


def write_section(text: str) -> None:
    """Replace the Sweeps section of docs/benchmarks.md (or append it); leave the rest of the file alone."""
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start = doc.find(f"\n{SECTION}\n")
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        end = doc.find("\n## ", start + 1)
        doc = doc[: start + 1] + text + (doc[end:] if end >= 0 else "")
    DOC.write_text(doc)


def run(cfg: Config) -> dict[str, Any]:
    res: dict[str, Any] = {"config": cfg, "machine": machine()}
    res["overhead"] = overhead(cfg)
    res["parallel"] = parallel(cfg)
    res["worker_cpu"] = worker_cpu(cfg)
    res["load_end"] = os.getloadavg()
    res["profiles"] = profiles(cfg, res) if cfg.profile else []
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short version: fewer runs and rounds")
    parser.add_argument(
        "--write", action="store_true", help=f"replace the '{SECTION[3:]}' section of {DOC.relative_to(ROOT)}"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip profiling missed targets")
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
        cfg = Config(**{**cfg.__dict__, "profile": False})
    if args.wait_quiet is not None:
        cfg = Config(**{**cfg.__dict__, "wait_quiet": args.wait_quiet})
    res = run(cfg)
    text = markdown(res)
    print(text)
    if args.write:
        write_section(text)
        log(f"wrote the {SECTION[3:]} section of {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
