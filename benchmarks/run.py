#!/usr/bin/env python
"""tokensim performance benchmarks, measured against bare SimPy in the same process.

    python benchmarks/run.py            # full run (a few minutes), prints the table
    python benchmarks/run.py --quick    # short version (fewer seeds and rounds, smaller baseline)
    python benchmarks/run.py --write    # also regenerate docs/benchmarks.md

What is measured (see benchmarks/README.md and docs/benchmarks.md):

1. The reference model (benchmarks/models/reference.yaml: 10,000 instances, 5-minute
   bearer tokens, 90 days, about 100 leaks): median seconds per replication of
   `tokensim.simulate`, against bare SimPy spending one `env.timeout` per token refresh
   on a sample of instances, extrapolated linearly to 10,000 instances.
2. The same model with 1-minute and 1-hour tokens (same seeds, so the same leaks):
   the ratio of the median run times.
3. An incident-heavy model (benchmarks/models/incident_heavy.yaml): simulated events per
   second (what happens in the simulated world: leaks, replayed requests, detections,
   revocations; the target) against bare SimPy's timeouts per second. SimPy kernel events
   per second are reported beside it as a diagnostic: the engine turns most of the world's
   events into arithmetic (MODEL.md section 10), so its kernel events are few and each
   carries a change point's work.
4. Peak memory of the reference run, in a fresh child process: peak RSS and the
   tracemalloc peak of the run itself.

Every timing is taken with both clocks: CPU time of this process (`time.process_time`,
what a replication costs on one core) and wall time (`time.perf_counter`, which also
counts time spent waiting for a shared core). Targets are judged on CPU time; both are
reported. This is a script, not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: no BLAS thread pools behind numpy

import argparse
import cProfile
import dataclasses
import gc
import json
import pstats
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import machine_info  # benchmarks/machine_info.py: scripts run from this folder
import numpy as np
import simpy

import tokensim
from tokensim.sim.engine import Simulation

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REFERENCE = HERE / "models" / "reference.yaml"
HEAVY = HERE / "models" / "incident_heavy.yaml"
DOC = ROOT / "docs" / "benchmarks.md"

REF_HORIZON_DAYS = 90
REF_TTL = "5m"
TTL_PAIR = ("1m", "1h")
REF_INSTANCES = 10_000
HEAVY_HORIZON_DAYS = 30
TTL_HOURS = {"1m": 1 / 60, "5m": 5 / 60, "1h": 1.0}

# Targets (from the issue).
TARGET_SECONDS = 0.5
TARGET_SPEEDUP = 50.0
TARGET_TTL_RATIO = 1.2
TARGET_RATE_SHARE = 0.5
TARGET_MEMORY_MIB = 200.0


@dataclass(frozen=True)
class Config:
    name: str
    seeds: tuple[int, ...]  # reference-model seeds (each one replication)
    rounds: int  # every (seed, TTL) and every baseline is timed once per round
    baseline_instances: int
    heavy_seeds: tuple[int, ...]
    trace_seeds: int  # how many reference seeds get a tracemalloc run
    linearity: bool  # also time bare SimPy at 10x the instances over 1/10 of the horizon
    profile: bool


FULL = Config(
    "full",
    seeds=tuple(range(1, 8)),
    rounds=3,
    baseline_instances=200,
    heavy_seeds=tuple(range(1, 6)),
    trace_seeds=7,
    linearity=True,
    profile=True,
)
QUICK = Config(
    "quick",
    seeds=(1, 2, 3),
    rounds=1,
    baseline_instances=20,
    heavy_seeds=(1, 2),
    trace_seeds=1,
    linearity=False,
    profile=True,
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- clocks and counting ------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def timed(fn: Callable[[], Any]) -> tuple[Any, Timing]:
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    c1, w1 = time.process_time(), time.perf_counter()
    return out, Timing(w1 - w0, c1 - c0)


def kernel_events(env: simpy.Environment) -> int:
    """Events the SimPy kernel has processed: every id handed out by `schedule`, minus those still queued.

    Reads SimPy 4's private event-id counter (`Environment._eid`, an itertools.count);
    `count_run` cross-checks it against a wrapper around `env.step`.
    """
    return next(env._eid) - len(env._queue)


def median(values: list[float]) -> float:
    return statistics.median(values)


# -- bare SimPy: one timeout per token refresh ----------------------------------------------------


def bare_simpy(instances: int, ttl_hours: float, horizon_hours: float, seed: int = 0) -> dict[str, int]:
    """One process per instance looping `yield env.timeout(ttl)` from a random phase."""
    env = simpy.Environment()
    phases = np.random.default_rng(seed).random(instances) * ttl_hours

    def instance(first: float):
        yield env.timeout(first)
        while True:
            yield env.timeout(ttl_hours)

    for first in phases:
        env.process(instance(float(first)))
    env.run(until=horizon_hours)
    events = kernel_events(env)
    return {"kernel_events": events, "timeouts": events - instances - 1}  # minus process starts and `until`


# -- tokensim runs ----------------------------------------------------------------------------------


def count_run(arch: tokensim.Architecture, policy: tokensim.Policy, seed: int, hours: float) -> dict[str, int]:
    """An untimed run of the engine with the same seed: kernel events, bundles, revocations."""
    sim = Simulation(arch, policy, seed=seed, replication=0, horizon=hours)
    stepped = [0]
    step = sim.env.step

    def counted_step() -> None:
        stepped[0] += 1
        step()

    sim.env.step = counted_step  # type: ignore[method-assign]
    sim.run()
    by_id = kernel_events(sim.env)
    if by_id != stepped[0]:
        raise RuntimeError(f"kernel event counts disagree: {by_id} by event id, {stepped[0]} by step")
    return {
        "kernel_events": stepped[0],
        "bundles": len(sim.bundles),
        "revocations": sum(b.revoked_at is not None for b in sim.bundles),
        "leaks": sim.leaks,
        "replay_attempts": sim.replay_attempts,
        "detections": sim.detections,
    }


def world_events(counts: dict[str, int]) -> int:
    return counts["leaks"] + counts["replay_attempts"] + counts["detections"] + counts["revocations"]


# -- profiling ------------------------------------------------------------------------------------


def _where(key: tuple[str, int, str]) -> str:
    path, line, func = key
    if path == "~":
        return func
    p = Path(path)
    for base in (ROOT, Path(simpy.__file__).parent.parent):
        try:
            return f"{p.relative_to(base)}:{line}({func})"
        except ValueError:
            pass
    return f"{p.name}:{line}({func})"


#: Dispatch wrappers that sit above everything (left out of the cumulative ranking, kept in the own-time one).
WRAPPERS = (
    ("tokensim/api.py:", "(simulate)"),
    ("tokensim/sim/engine.py:", "(run)"),
    ("simpy/core.py:", "(run)"),
    ("simpy/core.py:", "(step)"),
    ("simpy/events.py:", "(_resume)"),
    ("<method 'send'", "objects>"),
)


def _is_wrapper(where: str) -> bool:
    return any(where.startswith(a) and where.endswith(b) for a, b in WRAPPERS)


def profile(fn: Callable[[], Any], top: int = 12) -> dict[str, Any]:
    """cProfile one call: top functions by cumulative share (dispatch wrappers left out) and by own time."""
    prof = cProfile.Profile()
    gc.collect()
    prof.enable()
    fn()
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt  # type: ignore[attr-defined]
    rows = [(k, v[1], v[2], v[3]) for k, v in st.stats.items()]  # type: ignore[attr-defined]
    cum = sorted(rows, key=lambda r: -r[3])
    own = sorted(rows, key=lambda r: -r[2])
    return {
        "total": total,
        "cumulative": [
            (_where(k), n, ct / total, tt / total)
            for k, n, tt, ct in cum
            if ct / total < 0.95 and not _is_wrapper(_where(k))
        ][:top],
        "own": [(_where(k), n, tt / total, ct / total) for k, n, tt, ct in own][:8],
    }


# -- memory (child process) -----------------------------------------------------------------------


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def memory_child(seeds: list[int], trace_seeds: list[int]) -> None:
    """Run in a fresh process: peak RSS around the reference runs, then tracemalloc peaks."""
    rss_start = maxrss_mib()  # module imports (tokensim and its dependencies) are done by now
    arch = tokensim.load_model(REFERENCE)
    policy = tokensim.preset("bearer", access_ttl=REF_TTL)
    horizon = f"{REF_HORIZON_DAYS}d"
    tokensim.simulate(arch, policy, seed=0, horizon="1d")  # import everything the run needs
    rss_loaded = maxrss_mib()
    for seed in seeds:
        tokensim.simulate(arch, policy, seed=seed, horizon=horizon)
    rss_after = maxrss_mib()
    peaks = {}
    for seed in trace_seeds:
        gc.collect()
        tracemalloc.start()
        tokensim.simulate(arch, policy, seed=seed, horizon=horizon)
        peaks[seed] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    print(
        json.dumps(
            {"rss_start": rss_start, "rss_loaded": rss_loaded, "rss_after": rss_after, "tracemalloc_peaks": peaks}
        )
    )


def measure_memory(seeds: tuple[int, ...], trace_seeds: tuple[int, ...]) -> dict[str, Any]:
    # Linux carries ru_maxrss across fork and exec, so a child started from this (large) process would report
    # our peak as its own. A launcher in between starts from a fresh image: its child's ru_maxrss is its own.
    launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
    cmd = [
        sys.executable,
        "-c",
        launcher,
        sys.executable,
        str(Path(__file__).resolve()),
        "--memory-child",
        "--seeds",
        ",".join(map(str, seeds)),
        "--trace-seeds",
        ",".join(map(str, trace_seeds)),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["tracemalloc_peaks"] = {int(k): v for k, v in data["tracemalloc_peaks"].items()}
    return data


# -- machine ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return machine_info.machine(("tokensim", "simpy", "numpy", "pandas", "pydantic", "networkx", "PyYAML"))


# -- the benchmark ------------------------------------------------------------------------------


def run(cfg: Config) -> dict[str, Any]:
    res: dict[str, Any] = {"config": cfg, "machine": machine()}
    ref_hours = REF_HORIZON_DAYS * 24.0
    heavy_hours = HEAVY_HORIZON_DAYS * 24.0
    ttls = (REF_TTL, *TTL_PAIR)
    policies = {ttl: tokensim.preset("bearer", access_ttl=ttl) for ttl in ttls}

    _, load_t = timed(lambda: tokensim.load_model(REFERENCE))
    arch = tokensim.load_model(REFERENCE)
    heavy = tokensim.load_model(HEAVY)
    res["load"] = load_t
    log("warm-up runs (untimed)")
    for ttl in ttls:
        tokensim.simulate(arch, policies[ttl], seed=0, horizon=ref_hours)
    tokensim.simulate(heavy, policies[REF_TTL], seed=0, horizon=heavy_hours)
    bare_simpy(min(cfg.baseline_instances, 20), TTL_HOURS[REF_TTL], 24.0)

    ref: dict[str, dict[int, list[Timing]]] = {ttl: {s: [] for s in cfg.seeds} for ttl in ttls}
    records: dict[tuple[str, int], dict[str, Any]] = {}
    heavy_t: dict[int, list[Timing]] = {s: [] for s in cfg.heavy_seeds}
    heavy_rec: dict[int, dict[str, Any]] = {}
    base: list[tuple[dict[str, int], Timing]] = []
    for r in range(cfg.rounds):
        log(f"round {r + 1}/{cfg.rounds}: bare SimPy, {cfg.baseline_instances} instances x {REF_HORIZON_DAYS} days")
        base.append(timed(lambda: bare_simpy(cfg.baseline_instances, TTL_HOURS[REF_TTL], ref_hours, seed=r)))
        log(f"  {base[-1][0]['timeouts']:,} timeouts in {base[-1][1].cpu:.2f} s CPU")
        order = ttls[r % len(ttls) :] + ttls[: r % len(ttls)]  # rotate, so no TTL always runs first
        for seed in cfg.seeds:
            for ttl in order:
                out, t = timed(lambda: tokensim.simulate(arch, policies[ttl], seed=seed, horizon=ref_hours))
                ref[ttl][seed].append(t)
                records[(ttl, seed)] = out.record
            log(f"  reference seed {seed}: " + ", ".join(f"{ttl} {ref[ttl][seed][-1].cpu:.2f} s" for ttl in ttls))
        for seed in cfg.heavy_seeds:
            out, t = timed(lambda: tokensim.simulate(heavy, policies[REF_TTL], seed=seed, horizon=heavy_hours))
            heavy_t[seed].append(t)
            heavy_rec[seed] = out.record
        log("  incident-heavy: " + ", ".join(f"seed {s} {heavy_t[s][-1].cpu:.2f} s" for s in cfg.heavy_seeds))
    res["load_end"] = os.getloadavg()
    res["maxrss_main"] = maxrss_mib()

    log("counting runs (untimed): kernel events, bundles, revocations")
    ref_counts = {(ttl, s): count_run(arch, policies[ttl], s, ref_hours) for ttl in ttls for s in cfg.seeds}
    heavy_counts = {s: count_run(heavy, policies[REF_TTL], s, heavy_hours) for s in cfg.heavy_seeds}
    for key, c in [*ref_counts.items(), *heavy_counts.items()]:  # the counting run is the timed run, replayed
        rec = records[key] if isinstance(key, tuple) else heavy_rec[key]
        if (c["leaks"], c["replay_attempts"], c["detections"]) != (
            rec["leaks"],
            rec["replay_attempts"],
            rec["detections"],
        ):
            raise RuntimeError(f"counting run {key} differs from the timed run")

    # 1. reference vs bare SimPy
    base_cpu = [t.cpu for _, t in base]
    base_wall = [t.wall for _, t in base]
    timeouts = base[0][0]["timeouts"]
    scale = REF_INSTANCES / cfg.baseline_instances
    all_ref = {ttl: [t for s in cfg.seeds for t in ref[ttl][s]] for ttl in ttls}
    med = {ttl: Timing(median([t.wall for t in all_ref[ttl]]), median([t.cpu for t in all_ref[ttl]])) for ttl in ttls}
    res["baseline"] = {
        "instances": cfg.baseline_instances,
        "timeouts": timeouts,
        "kernel_events": base[0][0]["kernel_events"],
        "cpu": median(base_cpu),
        "wall": median(base_wall),
        "runs": len(base),
        "rate_cpu": timeouts / median(base_cpu),
        "rate_wall": timeouts / median(base_wall),
        "extrapolated_cpu": median(base_cpu) * scale,
        "extrapolated_wall": median(base_wall) * scale,
        "refreshes_10k": REF_INSTANCES * ref_hours / TTL_HOURS[REF_TTL],
    }
    res["ref"] = {"median": med, "per_seed": ref, "records": records, "counts": ref_counts}
    res["speedup_cpu"] = res["baseline"]["extrapolated_cpu"] / med[REF_TTL].cpu
    res["speedup_wall"] = res["baseline"]["extrapolated_wall"] / med[REF_TTL].wall

    # 2. TTL ratio
    a, b = med[TTL_PAIR[0]], med[TTL_PAIR[1]]
    res["ttl_ratio_cpu"] = max(a.cpu, b.cpu) / min(a.cpu, b.cpu)
    res["ttl_ratio_wall"] = max(a.wall, b.wall) / min(a.wall, b.wall)

    # 3. incident-heavy rates: per timed run, events of that seed / time of that run; median over runs
    kern_cpu, kern_wall, world_cpu, world_wall = [], [], [], []
    for s in cfg.heavy_seeds:
        k, w = heavy_counts[s]["kernel_events"], world_events(heavy_counts[s])
        for t in heavy_t[s]:
            kern_cpu.append(k / t.cpu)
            kern_wall.append(k / t.wall)
            world_cpu.append(w / t.cpu)
            world_wall.append(w / t.wall)
    all_heavy = [t for s in cfg.heavy_seeds for t in heavy_t[s]]
    res["heavy"] = {
        "per_seed": heavy_t,
        "records": heavy_rec,
        "counts": heavy_counts,
        "median": Timing(median([t.wall for t in all_heavy]), median([t.cpu for t in all_heavy])),
        "kernel_rate_cpu": median(kern_cpu),
        "kernel_rate_wall": median(kern_wall),
        "world_rate_cpu": median(world_cpu),
        "world_rate_wall": median(world_wall),
    }
    # reference-model rates too (no target: for context)
    rk = [ref_counts[(REF_TTL, s)]["kernel_events"] / t.cpu for s in cfg.seeds for t in ref[REF_TTL][s]]
    res["ref_kernel_rate_cpu"] = median(rk)

    if cfg.linearity:
        n, days = cfg.baseline_instances * 10, REF_HORIZON_DAYS / 10
        log(f"linearity check: bare SimPy, {n} instances x {days:g} days")
        lin = [timed(lambda: bare_simpy(n, TTL_HOURS[REF_TTL], days * 24.0)) for _ in range(cfg.rounds)]
        res["linearity"] = {
            "instances": n,
            "days": days,
            "timeouts": lin[0][0]["timeouts"],
            "cpu": median([t.cpu for _, t in lin]),
            "rate_cpu": lin[0][0]["timeouts"] / median([t.cpu for _, t in lin]),
        }

    # 4. memory, in a fresh process
    log("memory: child process")
    trace_seeds = cfg.seeds[: cfg.trace_seeds]
    res["memory"] = measure_memory(cfg.seeds, trace_seeds)
    res["memory"]["tracemalloc_peak"] = max(res["memory"]["tracemalloc_peaks"].values())

    res["checks"] = checks(res)

    # profiles of failing cases
    res["profiles"] = {}
    if cfg.profile:
        median_seed = sorted(cfg.seeds, key=lambda s: median([t.cpu for t in ref[REF_TTL][s]]))[len(cfg.seeds) // 2]
        failing = {c["id"] for c in res["checks"] if c["ok"] is False}
        if failing & {"1a", "1b"}:
            log(f"profiling the reference run ({REF_TTL}, seed {median_seed})")
            res["profiles"][f"reference, {REF_TTL} tokens, seed {median_seed} (the median-time seed)"] = profile(
                lambda: tokensim.simulate(arch, policies[REF_TTL], seed=median_seed, horizon=ref_hours)
            )
        if "2" in failing:
            slow = max(TTL_PAIR, key=lambda ttl: med[ttl].cpu)
            fast = min(TTL_PAIR, key=lambda ttl: med[ttl].cpu)
            for ttl in (slow, fast):
                log(f"profiling the reference run ({ttl}, seed {median_seed})")
                res["profiles"][f"reference, {ttl} tokens, seed {median_seed}"] = profile(
                    lambda: tokensim.simulate(arch, policies[ttl], seed=median_seed, horizon=ref_hours)
                )
        if failing & {"3a", "3b"}:
            hs = sorted(cfg.heavy_seeds, key=lambda s: median([t.cpu for t in heavy_t[s]]))[len(cfg.heavy_seeds) // 2]
            log(f"profiling the incident-heavy run (seed {hs})")
            res["profiles"][f"incident-heavy, {REF_TTL} tokens, seed {hs} (the median-time seed)"] = profile(
                lambda: tokensim.simulate(heavy, policies[REF_TTL], seed=hs, horizon=heavy_hours)
            )
    return res


#: How a check's verdict reads: met, missed, or a diagnostic figure with no target (None).
RESULT = {True: "pass", False: "FAIL", None: "info"}
RESULT_MD = {True: "pass", False: "**FAIL**", None: "info"}


def checks(res: dict[str, Any]) -> list[dict[str, Any]]:
    med = res["ref"]["median"]
    bl = res["baseline"]
    hv = res["heavy"]
    mem = res["memory"]
    out = []

    def add(id_: str, figure: str, value: str, target: str, ok: bool | None, wall: str = "") -> None:
        out.append({"id": id_, "figure": figure, "value": value, "wall": wall, "target": target, "ok": ok})

    add(
        "1a",
        f"reference ({REF_TTL} tokens, {REF_HORIZON_DAYS} d): seconds per replication, median",
        f"{med[REF_TTL].cpu:.3f} s",
        f"<= {TARGET_SECONDS} s",
        med[REF_TTL].cpu <= TARGET_SECONDS,
        f"{med[REF_TTL].wall:.3f} s",
    )
    add(
        "1b",
        f"speedup over bare SimPy, one timeout per refresh (extrapolated {bl['extrapolated_cpu']:.1f} s CPU)",
        f"{res['speedup_cpu']:.1f}x",
        f">= {TARGET_SPEEDUP:g}x",
        res["speedup_cpu"] >= TARGET_SPEEDUP,
        f"{res['speedup_wall']:.1f}x",
    )
    a, b = TTL_PAIR
    add(
        "2",
        f"run time, {a} vs {b} tokens ({med[a].cpu:.3f} s vs {med[b].cpu:.3f} s): slower / faster",
        f"{res['ttl_ratio_cpu']:.2f}x",
        f"<= {TARGET_TTL_RATIO}x",
        res["ttl_ratio_cpu"] <= TARGET_TTL_RATIO,
        f"{res['ttl_ratio_wall']:.2f}x",
    )
    share_k = hv["kernel_rate_cpu"] / bl["rate_cpu"]
    share_w = hv["world_rate_cpu"] / bl["rate_cpu"]
    # Target 3 asks for simulated events: what happens in the simulated world (3b). SimPy kernel
    # events are bookkeeping, fewer the more the engine does by arithmetic: a diagnostic (3a).
    add(
        "3a",
        f"incident-heavy: SimPy kernel events/s ({hv['kernel_rate_cpu']:,.0f}) / bare SimPy timeouts/s ({bl['rate_cpu']:,.0f})",
        f"{share_k:.3f}",
        "diagnostic",
        None,
        f"{hv['kernel_rate_wall'] / bl['rate_wall']:.3f}",
    )
    add(
        "3b",
        f"incident-heavy: world events/s ({hv['world_rate_cpu']:,.0f}) / bare SimPy timeouts/s",
        f"{share_w:.2f}",
        f">= {TARGET_RATE_SHARE}",
        share_w >= TARGET_RATE_SHARE,
        f"{hv['world_rate_wall'] / bl['rate_wall']:.2f}",
    )
    add(
        "4a",
        "reference run: peak RSS of a fresh process (ru_maxrss) after the runs",
        f"{mem['rss_after']:.0f} MiB",
        f"<= {TARGET_MEMORY_MIB:g} MB",
        mem["rss_after"] <= TARGET_MEMORY_MIB,
    )
    add(
        "4b",
        "reference run: tracemalloc peak of the run itself (largest over seeds)",
        f"{mem['tracemalloc_peak']:.1f} MiB",
        f"<= {TARGET_MEMORY_MIB:g} MB",
        mem["tracemalloc_peak"] <= TARGET_MEMORY_MIB,
    )
    return out


# -- output -------------------------------------------------------------------------------------


def table(res: dict[str, Any]) -> str:
    rows = [("#", "figure", "CPU clock", "wall clock", "target", "result")]
    rows += [(c["id"], c["figure"], c["value"], c["wall"] or "-", c["target"], RESULT[c["ok"]]) for c in res["checks"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt_profile(prof: dict[str, Any]) -> list[str]:
    lines = [
        f"Profiled time {prof['total']:.2f} s (cProfile overhead included; shares are of that total).",
        "",
        "| function (by cumulative time; the dispatch wrappers simulate, Simulation.run, Environment.run/step, "
        "Process._resume and generator.send left out) | calls | cumulative share | own share |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| `{w}` | {n:,} | {ct:.0%} | {tt:.0%} |" for w, n, ct, tt in prof["cumulative"]]
    lines += ["", "| function (by own time) | calls | own share | cumulative share |", "|---|---:|---:|---:|"]
    lines += [f"| `{w}` | {n:,} | {tt:.0%} | {ct:.0%} |" for w, n, tt, ct in prof["own"]]
    return lines


def per_bundle(res: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per TTL: median bundles, kernel events and CPU cost per bundle and per kernel event over the seeds."""
    ref, cfg = res["ref"], res["config"]
    out = {}
    for ttl in (REF_TTL, *TTL_PAIR):
        rows = []
        for s in cfg.seeds:
            c, cpu = ref["counts"][(ttl, s)], median([t.cpu for t in ref["per_seed"][ttl][s]])
            rows.append((c["bundles"], c["kernel_events"], cpu))
        out[ttl] = {
            "bundles": median([b for b, _, _ in rows]),
            "events": median([e for _, e, _ in rows]),
            "events_per_bundle": median([e / b for b, e, _ in rows if b]),
            "us_per_bundle": median([1e6 * t / b for b, _, t in rows if b]),
            "us_per_event": median([1e6 * t / e for _, e, t in rows if e]),
        }
    return out


def diagnosis(res: dict[str, Any]) -> list[str]:
    """What the per-seed figures say about where the time goes (numbers only, from this run)."""
    ref, cfg = res["ref"], res["config"]
    pb = per_bundle(res)
    seeds = cfg.seeds
    cpu = {s: median([t.cpu for t in ref["per_seed"][REF_TTL][s]]) for s in seeds}
    bundles = {s: ref["counts"][(REF_TTL, s)]["bundles"] for s in seeds}
    leaks = {s: ref["records"][(REF_TTL, s)]["leaks"] for s in seeds}
    few = [s for s in seeds if bundles[s] <= 2 * leaks[s]]  # no mass exposure (no proxy log leak)
    lines = ["What the figures above say:", ""]
    lines.append(
        f"- A replication's cost follows the number of stolen credential families (bundles: one SimPy process each, "
        f"{pb[REF_TTL]['events_per_bundle']:.1f} kernel events each at the median, {pb[REF_TTL]['us_per_bundle']:.0f} us of "
        f"CPU each with {REF_TTL} tokens), not the number of leaks and not the number of refreshes."
    )
    if few:
        lines.append(
            "- "
            + "; ".join(f"seed {s}: {leaks[s]} leaks, {bundles[s]:,} bundles, {cpu[s]:.3f} s" for s in few)
            + f" (no proxy log leak), against a median of {median(list(cpu.values())):.3f} s over all seeds. "
            "A proxy log leak is one leak that exposes thousands of sessions at once, so the reference model's "
            "cost is mostly that leak's."
        )
    a, b = TTL_PAIR
    lines.append(
        f"- {a} vs {b} tokens: the proxy log leak exposes {pb[a]['bundles']:,.0f} vs {pb[b]['bundles']:,.0f} bundles "
        f"(median; a longer-lived token is more often still valid when the log leaks), "
        f"{pb[a]['events_per_bundle']:.2f} vs {pb[b]['events_per_bundle']:.2f} kernel events per bundle, and "
        f"{pb[a]['us_per_bundle']:.0f} vs {pb[b]['us_per_bundle']:.0f} us of CPU per bundle. The refresh count "
        "(60x apart) costs nothing; the exposure a TTL implies is simulated, and it differs."
    )
    hv, bl = res["heavy"], res["baseline"]
    lines.append(
        f"- Incident-heavy: {1e6 / hv['kernel_rate_cpu']:.0f} us of CPU per kernel event, against "
        f"{1e6 / bl['rate_cpu']:.1f} us per bare timeout: each event runs tokensim's work for one change point "
        "(the bundle's state per cell, its next change point, the Poisson draws for the segment just ended), "
        "which costs more than SimPy's own dispatch. Counted in simulated world events instead, the engine runs at "
        f"{hv['world_rate_cpu'] / bl['rate_cpu']:.1f}x bare SimPy's timeout rate."
    )
    return lines


def markdown(res: dict[str, Any]) -> str:
    cfg: Config = res["config"]
    m = res["machine"]
    bl = res["baseline"]
    ref = res["ref"]
    hv = res["heavy"]
    mem = res["memory"]
    ttls = (REF_TTL, *TTL_PAIR)
    L: list[str] = []
    L += [
        "# Benchmarks",
        "",
        "Generated by `python benchmarks/run.py --write"
        + (" --quick" if cfg.name == "quick" else "")
        + f"` ({cfg.name} mode); how to run: benchmarks/README.md. tokensim is compared with bare SimPy",
        'in the same process and run (DESIGN.md, "Performance, measured"). Do not edit by hand: rerun.',
        "",
    ]
    L += [
        "## Machine",
        "",
        f"- CPU: {m['cpu']}; {m['logical_cpus']} logical CPUs, {m['usable_cpus']} usable by this process (shared with other work)",
        f"- Load average (1, 5, 15 min) at start: {', '.join(f'{x:.2f}' for x in m['load_start'])}; "
        f"at the end of the timed rounds: {', '.join(f'{x:.2f}' for x in res['load_end'])}",
        f"- {m['python']} on {m['os']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- tokensim at commit {m['commit'] or 'unknown'}"
        + (" with uncommitted changes under tokensim/ in the working tree" if m["tokensim_dirty"] else ""),
        f"- Date: {m['date']}",
        "",
    ]
    L += [
        "## How it is measured",
        "",
        "- Every timing is taken on two clocks: CPU time of the process (`time.process_time`: what the run costs on one",
        "  core) and wall time (`time.perf_counter`: also the time spent waiting for a shared core). Targets are judged",
        "  on CPU time; the wall figure is shown beside it. numpy's thread pools are pinned to one thread.",
        '- tokensim: `tokensim.simulate(arch, tokensim.preset("bearer", access_ttl=...), seed=s, horizon=...)` with the',
        f"  model loaded once (loading the YAML takes {res['load'].cpu * 1000:.0f} ms and is not counted). Seeds "
        f"{', '.join(map(str, cfg.seeds))}; {cfg.rounds} round(s); each round times every seed under every TTL",
        "  (in rotating order) and one bare-SimPy baseline, so all figures share the machine's conditions. Figures are",
        "  medians over all timed runs. One untimed warm-up run per configuration comes first.",
        f"- Bare SimPy: {bl['instances']} processes, one per instance, each looping `yield env.timeout(ttl)` from a random",
        f"  phase, {REF_HORIZON_DAYS} days of {REF_TTL} tokens ({bl['timeouts']:,} timeouts), extrapolated linearly to "
        f"{REF_INSTANCES:,} instances",
        f"  ({bl['refreshes_10k'] / 1e6:.1f} million refreshes).",
        "- SimPy kernel events are counted in a separate, untimed run with the same seed (runs are deterministic; the",
        "  script checks that leaks, replay attempts and detections match the timed run): a wrapper around `env.step`,",
        "  cross-checked against SimPy's event-id counter (`next(env._eid) - len(env._queue)`).",
        "- World events = leaks + replay_attempts + detections (outcome record) + revocations (families revoked, from",
        "  the engine's bundles). Each replay attempt is a simulated request; the engine draws them as exact Poisson",
        "  bursts between change points, so they cost no kernel events of their own.",
        "- Memory: a fresh child process (started through a small launcher: Linux carries `ru_maxrss` across fork and",
        "  exec) loads the model, runs one 1-day warm-up, then the reference run for every seed; peak RSS is `ru_maxrss`",
        "  after those runs (imports and the loaded model included). tracemalloc then traces",
        f"  {len(mem['tracemalloc_peaks'])} reference run(s) one at a time; the figure is the largest peak. MiB = 2^20 bytes.",
        "",
    ]
    L += [
        "## Results",
        "",
        "| # | figure | measured (CPU clock) | wall clock | target | result |",
        "|---|---|---:|---:|---:|---|",
    ]
    L += [
        f"| {c['id']} | {c['figure']} | {c['value']} | {c['wall'] or '-'} | {c['target']} | {RESULT_MD[c['ok']]} |"
        for c in res["checks"]
    ]
    L += [""]

    L += [
        "## Details",
        "",
        f"### Reference model ({REF_INSTANCES:,} instances, {REF_HORIZON_DAYS} days)",
        "",
        "benchmarks/models/reference.yaml: about 100 leaks per 90 days by construction (client log 0.037/year, xss",
        "0.002/year and malware 0.001/year per instance, a proxy log leak 4/year: 99.6 expected). A proxy log leak is",
        "one leak, but it exposes the current token of every session whose last request passed the proxy while that",
        "token was alive: thousands of credential families (bundles), each an exploitation process. That, not the",
        "TTL's refresh count, is where the TTL still shows in the run time.",
        "",
        "| TTL | seed | leaks | credentials exposed | bundles | kernel events | replay attempts | median CPU s | median wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ttl in ttls:
        for s in cfg.seeds:
            rec, c, ts = ref["records"][(ttl, s)], ref["counts"][(ttl, s)], ref["per_seed"][ttl][s]
            L.append(
                f"| {ttl} | {s} | {rec['leaks']} | {rec['credentials_exposed']:,} | {c['bundles']:,} | {c['kernel_events']:,} | "
                f"{rec['replay_attempts']:,} | {median([t.cpu for t in ts]):.3f} | {median([t.wall for t in ts]):.3f} |"
            )
    L += [
        "",
        "Cost per stolen credential family, by TTL (medians over the seeds above; a seed's time is its median):",
        "",
        "| TTL | bundles | kernel events | kernel events per bundle | CPU us per bundle | CPU us per kernel event |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for ttl, row in per_bundle(res).items():
        L.append(
            f"| {ttl} | {row['bundles']:,.0f} | {row['events']:,.0f} | {row['events_per_bundle']:.2f} | "
            f"{row['us_per_bundle']:.0f} | {row['us_per_event']:.0f} |"
        )
    L += [
        "",
        "Medians over all runs: "
        + "; ".join(f"{ttl}: {ref['median'][ttl].cpu:.3f} s CPU, {ref['median'][ttl].wall:.3f} s wall" for ttl in ttls)
        + f". Kernel events per CPU second on the reference model ({REF_TTL}): {res['ref_kernel_rate_cpu']:,.0f}.",
        "",
    ]
    L += [
        "### Bare SimPy baseline",
        "",
        f"- {bl['instances']} instances x {REF_HORIZON_DAYS} days of {REF_TTL} timeouts: {bl['timeouts']:,} timeouts, "
        f"{bl['kernel_events']:,} kernel events; median of {bl['runs']} run(s): {bl['cpu']:.2f} s CPU, {bl['wall']:.2f} s wall.",
        f"- Rate: {bl['rate_cpu']:,.0f} timeouts per CPU second ({bl['rate_wall']:,.0f} per wall second).",
        f"- Extrapolated to {REF_INSTANCES:,} instances: {bl['extrapolated_cpu']:.1f} s CPU, {bl['extrapolated_wall']:.1f} s wall.",
    ]
    if "linearity" in res:
        lin = res["linearity"]
        L.append(
            f"- Linearity check: {lin['instances']:,} instances x {lin['days']:g} days ({lin['timeouts']:,} timeouts, a 10x larger "
            f"event queue): {lin['rate_cpu']:,.0f} timeouts per CPU second, {lin['rate_cpu'] / bl['rate_cpu']:.2f}x the "
            f"{bl['instances']}-instance rate. A larger heap costs more per event, so extrapolating from "
            f"{bl['instances']} instances understates the baseline, and the speedup, if anything."
        )
    L += [
        "",
        f"### Incident-heavy model ({HEAVY_HORIZON_DAYS} days)",
        "",
        "benchmarks/models/incident_heavy.yaml: 1,000 browser sessions, about 1,235 leaks per 30 days, xss and malware",
        "steal the refresh token, the thief replays at 120/h, detection probability 0.002.",
        "",
        "| seed | leaks | bundles | kernel events | replay attempts | detections | revocations | world events | median CPU s | median wall s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in cfg.heavy_seeds:
        rec, c, ts = hv["records"][s], hv["counts"][s], hv["per_seed"][s]
        L.append(
            f"| {s} | {rec['leaks']:,} | {c['bundles']:,} | {c['kernel_events']:,} | {rec['replay_attempts']:,} | "
            f"{rec['detections']:,} | {c['revocations']:,} | {world_events(c):,} | {median([t.cpu for t in ts]):.3f} | "
            f"{median([t.wall for t in ts]):.3f} |"
        )
    L += [
        "",
        f"- SimPy kernel events per second: {hv['kernel_rate_cpu']:,.0f} (CPU), {hv['kernel_rate_wall']:,.0f} (wall); "
        f"bare SimPy: {bl['rate_cpu']:,.0f} timeouts per CPU second.",
        f"- World events per second: {hv['world_rate_cpu']:,.0f} (CPU), {hv['world_rate_wall']:,.0f} (wall).",
        "- The two definitions answer different questions. Kernel events per second is the engine's cost per event it",
        "  schedules; every such event carries tokensim's work (a bundle's state, change points, Poisson draws), so it",
        "  cannot approach an empty timeout's rate. World events per second is what a user simulates per second; it is",
        "  high because replays are drawn in bursts, not scheduled one by one.",
        "",
    ]
    L += [
        "### Memory",
        "",
        f"- Fresh process (started through a launcher, so it does not inherit the benchmark's ru_maxrss): peak RSS "
        f"{mem['rss_start']:.0f} MiB after importing tokensim (numpy, pandas, scipy, networkx, pydantic, simpy), "
        f"{mem['rss_loaded']:.0f} MiB after loading the model and a 1-day warm-up, {mem['rss_after']:.0f} MiB after the "
        f"{REF_HORIZON_DAYS}-day reference runs (seeds {', '.join(map(str, cfg.seeds))}). The runs themselves add "
        f"{mem['rss_after'] - mem['rss_loaded']:.0f} MiB.",
        "- tracemalloc peak per run: "
        + ", ".join(f"seed {s}: {v:.1f} MiB" for s, v in mem["tracemalloc_peaks"].items())
        + ".",
        f"- For comparison, the benchmark's own process (every run above) peaked at {res['maxrss_main']:.0f} MiB RSS.",
        "",
    ]

    failing = [c for c in res["checks"] if c["ok"] is False]
    L += ["## Open", ""]
    if not failing:
        L += ["Every target is met.", ""]
    else:
        L += [
            "Targets not met: " + "; ".join(f"{c['id']} ({c['value']} against {c['target']})" for c in failing) + ".",
            "The engine was not changed for the benchmark; the profiles below show where the time goes.",
            "",
        ]
        L += diagnosis(res) + [""]
        for name, prof in res["profiles"].items():
            L += [f"### Profile: {name}", ""] + _fmt_profile(prof) + [""]
    return "\n".join(L).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short version: fewer seeds and rounds, smaller baseline")
    parser.add_argument("--write", action="store_true", help=f"regenerate {DOC.relative_to(ROOT)}")
    parser.add_argument("--no-profile", action="store_true", help="skip profiling failing cases")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", default="", help=argparse.SUPPRESS)
    parser.add_argument("--trace-seeds", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child([int(s) for s in args.seeds.split(",") if s], [int(s) for s in args.trace_seeds.split(",") if s])
        return 0
    cfg = QUICK if args.quick else FULL
    if args.no_profile:
        cfg = dataclasses.replace(cfg, profile=False)
    res = run(cfg)
    print(table(res))
    for name, prof in res["profiles"].items():
        print(f"\nprofile: {name} ({prof['total']:.2f} s profiled)")
        for w, n, ct, tt in prof["cumulative"]:
            print(f"  {ct:6.1%} cum  {tt:6.1%} own  {n:>9,}  {w}")
    if args.write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        # keep the sections other benchmarks add (benchmarks/sweep.py writes "## Sweeps")
        old = DOC.read_text() if DOC.exists() else ""
        kept = old[old.index("\n## Sweeps") :] if "\n## Sweeps" in old else ""
        DOC.write_text(markdown(res).rstrip("\n") + "\n" + kept)
        log(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
