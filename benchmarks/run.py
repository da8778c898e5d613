#!/usr/bin/env python
"""tokensim performance benchmarks, measured against bare SimPy in the same process.

    python benchmarks/run.py            # full run (a few minutes), prints the table
    python benchmarks/run.py --quick    # short version (fewer seeds and rounds, smaller baseline)
    python benchmarks/run.py --write    # also regenerate docs/benchmarks.md
    python benchmarks/run.py --against ../other-checkout   # the same cases on two checkouts, ratios

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

The cases and targets are defined here; timing, rounds, profiles, memory, the comparison
with another checkout and the output are benchmarks/harness.py's. This is a script, not a
test: nothing here asserts a timing.
"""

from __future__ import annotations

import harness  # benchmarks/harness.py: scripts run from this folder

harness.pin_blas_threads()  # before numpy is imported

import argparse
import dataclasses
import inspect
import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from harness import Timing, log, median, medians, timed
from run_report import markdown, world_events

import tokensim

HERE = Path(__file__).resolve().parent
SCRIPT = Path(__file__).resolve()
REFERENCE = HERE / "models" / "reference.yaml"
HEAVY = HERE / "models" / "incident_heavy.yaml"
DOC = harness.DOC
SECTIONS_KEPT = "\n## Sweeps"  # run.py --write regenerates everything above this heading
COMPARISON = "## Before and after: benchmarks/run.py"

REF_HORIZON_DAYS = 90
REF_TTL = "5m"
TTL_PAIR = ("1m", "1h")
TTLS = (REF_TTL, *TTL_PAIR)
REF_INSTANCES = 10_000
HEAVY_HORIZON_DAYS = 30
TTL_HOURS = {"1m": 1 / 60, "5m": 5 / 60, "1h": 1.0}
REF_HOURS = REF_HORIZON_DAYS * 24.0
HEAVY_HOURS = HEAVY_HORIZON_DAYS * 24.0
PACKAGES = ("tokensim", "simpy", "numpy", "pandas", "pydantic", "networkx", "PyYAML")

# Targets (from the issue).
TARGET_SECONDS = 0.5
TARGET_SPEEDUP = 50.0
TARGET_TTL_RATIO = 1.2
TARGET_RATE_SHARE = 0.5
TARGET_MEMORY_MIB = 200.0


@dataclass(frozen=True)
class Setup:
    """The cases' fixed sizes, carried in the results (``res["setup"]``) for the report's text."""

    ref_horizon_days: int = REF_HORIZON_DAYS
    ref_ttl: str = REF_TTL
    ttl_pair: tuple[str, str] = TTL_PAIR
    ref_instances: int = REF_INSTANCES
    heavy_horizon_days: int = HEAVY_HORIZON_DAYS


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


# -- the engine adapter: the only place that names tokensim's engine ------------------------------


def engine_counts(arch: tokensim.Architecture, policy: tokensim.Policy, seed: int, hours: float) -> dict[str, Any]:
    """An untimed run of the engine: SimPy kernel events, bundles, revocations, and the counters the timed run's
    record carries (to check that this is the same run, replayed).

    The engine is being restructured (issue 10), so this is the one function that reaches into it; a count it
    cannot read on some checkout is None (reported as not measured). Kernel events need an engine that accepts
    ``env=`` (a `harness.counting_environment`); an older engine is run without it.
    """
    from tokensim.sim.engine import Simulation

    if "env" in inspect.signature(Simulation).parameters:
        env = harness.counting_environment()
        sim = Simulation(arch, policy, seed=seed, replication=0, horizon=hours, env=env)
    else:  # an engine from before `env=` (11e0f52 and older): counts without kernel events
        env = None
        sim = Simulation(arch, policy, seed=seed, replication=0, horizon=hours)
    sim.run()
    bundles = getattr(sim, "bundles", None)
    if hasattr(sim, "outcome_fields"):  # the engine after issue 10's split
        fields = sim.outcome_fields()
        counters = {k: fields[k] for k in ("leaks", "replay_attempts", "detections")}
    else:  # the engine's counters before it
        counters = {k: getattr(sim, k, None) for k in ("leaks", "replay_attempts", "detections")}
    return {
        "kernel_events": env.events_processed if env is not None else None,
        "bundles": len(bundles) if bundles is not None else None,
        "revocations": sum(b.revoked_at is not None for b in bundles) if bundles is not None else None,
        **counters,
    }


# -- the cases --------------------------------------------------------------------------------------


def bare_simpy(instances: int, ttl_hours: float, horizon_hours: float, seed: int = 0, env: Any = None) -> Any:
    """One process per instance looping `yield env.timeout(ttl)` from a random phase; returns the environment.

    Timed runs use a plain `simpy.Environment`; a counting run passes a `harness.counting_environment`.
    """
    env = env if env is not None else simpy.Environment()
    phases = np.random.default_rng(seed).random(instances) * ttl_hours

    def instance(first: float) -> Any:
        yield env.timeout(first)
        while True:
            yield env.timeout(ttl_hours)

    for first in phases:
        env.process(instance(float(first)))
    env.run(until=horizon_hours)
    return env


def bare_counts(instances: int, seed: int = 0) -> dict[str, int]:
    """Kernel events and timeouts of one baseline run (replayed untimed: runs are deterministic by seed)."""
    events = bare_simpy(instances, TTL_HOURS[REF_TTL], REF_HOURS, seed, harness.counting_environment())
    n = events.events_processed
    return {"kernel_events": n, "timeouts": n - instances - 1}  # minus process starts and `until`


@dataclass(frozen=True)
class Cases:
    """The models and policies every case runs, loaded once (loading is not timed)."""

    arch: tokensim.Architecture
    heavy: tokensim.Architecture
    policies: dict[str, tokensim.Policy]

    @classmethod
    def load(cls) -> Cases:
        return cls(
            tokensim.load_model(REFERENCE),
            tokensim.load_model(HEAVY),
            {ttl: tokensim.preset("bearer", access_ttl=ttl) for ttl in TTLS},
        )

    def reference(self, ttl: str, seed: int) -> tokensim.Outcome:
        return tokensim.simulate(self.arch, self.policies[ttl], seed=seed, horizon=REF_HOURS)

    def incident_heavy(self, seed: int) -> tokensim.Outcome:
        return tokensim.simulate(self.heavy, self.policies[REF_TTL], seed=seed, horizon=HEAVY_HOURS)

    def warm_up(self, cfg: Config) -> None:
        """One untimed run per configuration: imports, caches and first-use costs stay out of the rounds."""
        for ttl in TTLS:
            self.reference(ttl, 0)
        self.incident_heavy(0)
        bare_simpy(min(cfg.baseline_instances, 20), TTL_HOURS[REF_TTL], 24.0)


RECORD_KEYS = ("leaks", "credentials_exposed", "replay_attempts", "detections")


def measure_round(cases: Cases, cfg: Config, r: int) -> dict[str, Any]:
    """Round ``r``: one bare-SimPy baseline, every (seed, TTL) of the reference model (TTLs in rotating order) and
    every incident-heavy seed, each timed once. JSON-able (a child process prints it)."""
    log(f"round {r + 1}/{cfg.rounds}: bare SimPy, {cfg.baseline_instances} instances x {REF_HORIZON_DAYS} days")
    _, base = timed(lambda: bare_simpy(cfg.baseline_instances, TTL_HOURS[REF_TTL], REF_HOURS, seed=r))
    log(f"  {base.cpu:.2f} s CPU")
    out: dict[str, Any] = {"baseline": base.to_json(), "ref": {t: {} for t in TTLS}, "heavy": {}, "records": {}}
    for seed in cfg.seeds:
        for ttl in harness.rotated(TTLS, r):
            outcome, t = timed(partial(cases.reference, ttl, seed))
            out["ref"][ttl][str(seed)] = t.to_json()
            out["records"][f"{ttl}:{seed}"] = {k: outcome.record[k] for k in RECORD_KEYS}
        log(f"  reference seed {seed}: " + ", ".join(f"{ttl} {out['ref'][ttl][str(seed)][1]:.2f} s" for ttl in TTLS))
    for seed in cfg.heavy_seeds:
        outcome, t = timed(partial(cases.incident_heavy, seed))
        out["heavy"][str(seed)] = t.to_json()
        out["records"][f"heavy:{seed}"] = {k: outcome.record[k] for k in RECORD_KEYS}
    log("  incident-heavy: " + ", ".join(f"seed {s} {out['heavy'][str(s)][1]:.2f} s" for s in cfg.heavy_seeds))
    return out


def measure_counts(cases: Cases, cfg: Config) -> dict[str, Any]:
    """Untimed counting runs of every case (kernel events, bundles, revocations) and of the baseline."""
    log("counting runs (untimed): kernel events, bundles, revocations")
    counts = {
        f"{ttl}:{s}": engine_counts(cases.arch, cases.policies[ttl], s, REF_HOURS) for ttl in TTLS for s in cfg.seeds
    }
    for s in cfg.heavy_seeds:
        counts[f"heavy:{s}"] = engine_counts(cases.heavy, cases.policies[REF_TTL], s, HEAVY_HOURS)
    return {"engine": counts, "baseline": bare_counts(cfg.baseline_instances)}


def memory_child(seeds: list[int], trace_seeds: list[int]) -> dict[str, Any]:
    """In a fresh process: peak RSS around the reference runs, then the tracemalloc peak of each traced run."""
    rss_start = harness.maxrss_mib()  # module imports (tokensim and its dependencies) are done by now
    arch = tokensim.load_model(REFERENCE)
    policy = tokensim.preset("bearer", access_ttl=REF_TTL)
    tokensim.simulate(arch, policy, seed=0, horizon="1d")  # import everything the run needs
    rss_loaded = harness.maxrss_mib()
    for seed in seeds:
        tokensim.simulate(arch, policy, seed=seed, horizon=REF_HOURS)
    rss_after = harness.maxrss_mib()
    peaks = {
        str(s): harness.tracemalloc_peak(partial(tokensim.simulate, arch, policy, seed=s, horizon=REF_HOURS))
        for s in trace_seeds
    }
    return {"rss_start": rss_start, "rss_loaded": rss_loaded, "rss_after": rss_after, "tracemalloc_peaks": peaks}


def measure_memory(cfg: Config, side: harness.Checkout) -> dict[str, Any]:
    log(f"memory: child process ({side.name})")
    seeds = ",".join(map(str, cfg.seeds))
    trace = ",".join(map(str, cfg.seeds[: cfg.trace_seeds]))
    data = harness.run_child(SCRIPT, ["--child", "memory", "--seeds", seeds, "--trace-seeds", trace], side, fresh=True)
    mem: dict[str, Any] = data["data"]
    mem["tracemalloc_peaks"] = {int(k): v for k, v in mem["tracemalloc_peaks"].items()}
    mem["tracemalloc_peak"] = max(mem["tracemalloc_peaks"].values())
    return mem


# -- figures ----------------------------------------------------------------------------------------


def summarise(cfg: Config, rounds: list[dict[str, Any]], counts: dict[str, Any]) -> dict[str, Any]:
    """The figures of some rounds (medians over all timed runs) with their counting runs."""
    ref = {ttl: {s: [Timing.from_json(r["ref"][ttl][str(s)]) for r in rounds] for s in cfg.seeds} for ttl in TTLS}
    heavy_t = {s: [Timing.from_json(r["heavy"][str(s)]) for r in rounds] for s in cfg.heavy_seeds}
    base = [Timing.from_json(r["baseline"]) for r in rounds]
    records = rounds[-1]["records"]
    engine = counts["engine"]
    for key, c in engine.items():  # the counting run is the timed run, replayed
        for k in ("leaks", "replay_attempts", "detections"):
            if c[k] is not None and c[k] != records[key][k]:
                raise RuntimeError(f"counting run {key} differs from the timed run ({k})")

    res: dict[str, Any] = {"config": cfg, "setup": Setup()}
    timeouts = counts["baseline"]["timeouts"]
    scale = REF_INSTANCES / cfg.baseline_instances
    bm = medians(base)
    res["baseline"] = {
        "instances": cfg.baseline_instances,
        "timeouts": timeouts,
        "kernel_events": counts["baseline"]["kernel_events"],
        "cpu": bm.cpu,
        "wall": bm.wall,
        "runs": len(base),
        "rate_cpu": timeouts / bm.cpu,
        "rate_wall": timeouts / bm.wall,
        "extrapolated_cpu": bm.cpu * scale,
        "extrapolated_wall": bm.wall * scale,
        "refreshes_10k": REF_INSTANCES * REF_HOURS / TTL_HOURS[REF_TTL],
    }
    med = {ttl: medians(t for s in cfg.seeds for t in ref[ttl][s]) for ttl in TTLS}
    res["ref"] = {
        "median": med,
        "per_seed": ref,
        "records": {(ttl, s): records[f"{ttl}:{s}"] for ttl in TTLS for s in cfg.seeds},
        "counts": {(ttl, s): engine[f"{ttl}:{s}"] for ttl in TTLS for s in cfg.seeds},
    }
    res["speedup_cpu"] = res["baseline"]["extrapolated_cpu"] / med[REF_TTL].cpu
    res["speedup_wall"] = res["baseline"]["extrapolated_wall"] / med[REF_TTL].wall
    a, b = med[TTL_PAIR[0]], med[TTL_PAIR[1]]
    res["ttl_ratio_cpu"] = max(a.cpu, b.cpu) / min(a.cpu, b.cpu)
    res["ttl_ratio_wall"] = max(a.wall, b.wall) / min(a.wall, b.wall)

    # incident-heavy rates: per timed run, events of that seed / time of that run; median over runs
    def rate(events: str | None, clock: str) -> float | None:
        vals = []
        for s in cfg.heavy_seeds:
            c = engine[f"heavy:{s}"]
            n = world_events(c) if events is None else c[events]
            if n is None:
                return None
            vals += [n / getattr(t, clock) for t in heavy_t[s]]
        return median(vals)

    res["heavy"] = {
        "per_seed": heavy_t,
        "records": {s: records[f"heavy:{s}"] for s in cfg.heavy_seeds},
        "counts": {s: engine[f"heavy:{s}"] for s in cfg.heavy_seeds},
        "median": medians(t for s in cfg.heavy_seeds for t in heavy_t[s]),
        "kernel_rate_cpu": rate("kernel_events", "cpu"),
        "kernel_rate_wall": rate("kernel_events", "wall"),
        "world_rate_cpu": rate(None, "cpu"),
        "world_rate_wall": rate(None, "wall"),
    }
    # reference-model rate too (no target: for context)
    rk = [engine[f"{REF_TTL}:{s}"]["kernel_events"] for s in cfg.seeds]
    res["ref_kernel_rate_cpu"] = (
        None if None in rk else median(k / t.cpu for s, k in zip(cfg.seeds, rk) for t in ref[REF_TTL][s])
    )
    return res


def share(rate: float | None, base: float) -> float | None:
    return None if rate is None else rate / base


def figures(res: dict[str, Any]) -> list[harness.Figure]:
    """The figures a before/after comparison judges (CPU clock, as the targets), with supporting run times."""
    med, bl, hv, mem = res["ref"]["median"], res["baseline"], res["heavy"], res["memory"]
    no_kernel = "no kernel event count on this checkout (its engine takes no env=)"
    F = harness.Figure
    return [
        F("1a", f"reference ({REF_TTL} tokens): s per replication, median CPU", med[REF_TTL].cpu, "{:.4f} s", "lower"),
        F("1a'", f"reference, {TTL_PAIR[0]} tokens: median CPU s", med[TTL_PAIR[0]].cpu, "{:.4f} s", "lower"),
        F("1a''", f"reference, {TTL_PAIR[1]} tokens: median CPU s", med[TTL_PAIR[1]].cpu, "{:.4f} s", "lower"),
        F("1b", "speedup over bare SimPy (CPU)", res["speedup_cpu"], "{:.1f}x", "higher"),
        F(
            "2",
            f"{TTL_PAIR[0]} vs {TTL_PAIR[1]} tokens: slower / faster (CPU)",
            res["ttl_ratio_cpu"],
            "{:.3f}x",
            "lower",
        ),
        F("3", "incident-heavy: median CPU s per run", hv["median"].cpu, "{:.4f} s", "lower"),
        F(
            "3a",
            "incident-heavy: kernel events/s / bare SimPy timeouts/s",
            share(hv["kernel_rate_cpu"], bl["rate_cpu"]),
            "{:.4f}",
            "higher",
            no_kernel,
        ),
        F(
            "3b",
            "incident-heavy: world events/s / bare SimPy timeouts/s",
            share(hv["world_rate_cpu"], bl["rate_cpu"]),
            "{:.2f}",
            "higher",
            "no revocation count on this checkout",
        ),
        F("4a", "peak RSS of a fresh process after the reference runs", mem["rss_after"], "{:.0f} MiB", "lower"),
        F("4b", "tracemalloc peak of one reference run (largest)", mem["tracemalloc_peak"], "{:.1f} MiB", "lower"),
    ]


#: The comparison's plain run-time figures (their per-round ratios show the machine's noise).
RUN_TIMES = ("1a", "1a'", "1a''", "3")

#: How a check's verdict reads: met, missed, or a figure with no target or no measurement (None).
RESULT = {True: "pass", False: "FAIL", None: "info"}


def num(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def checks(res: dict[str, Any]) -> list[dict[str, Any]]:
    med, bl, hv, mem = res["ref"]["median"], res["baseline"], res["heavy"], res["memory"]
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
    # Target 3 asks for simulated events: what happens in the simulated world (3b). SimPy kernel
    # events are bookkeeping, fewer the more the engine does by arithmetic: a diagnostic (3a).
    share_w = share(hv["world_rate_cpu"], bl["rate_cpu"])
    add(
        "3a",
        f"incident-heavy: SimPy kernel events/s ({num(hv['kernel_rate_cpu'], ',.0f')}) / bare SimPy timeouts/s "
        f"({bl['rate_cpu']:,.0f})",
        num(share(hv["kernel_rate_cpu"], bl["rate_cpu"]), ".3f"),
        "diagnostic",
        None,
        num(share(hv["kernel_rate_wall"], bl["rate_wall"]), ".3f"),
    )
    add(
        "3b",
        f"incident-heavy: world events/s ({num(hv['world_rate_cpu'], ',.0f')}) / bare SimPy timeouts/s",
        num(share_w, ".2f"),
        f">= {TARGET_RATE_SHARE}",
        None if share_w is None else share_w >= TARGET_RATE_SHARE,
        num(share(hv["world_rate_wall"], bl["rate_wall"]), ".2f"),
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


#: Dispatch wrappers that sit above everything (left out of the cumulative ranking, kept in the own-time one).
WRAPPERS = (
    ("tokensim/api.py:", "(simulate)"),
    ("tokensim/sim/engine.py:", "(run)"),
    ("simpy/core.py:", "(run)"),
    ("simpy/core.py:", "(step)"),
    ("simpy/events.py:", "(_resume)"),
    ("<method 'send'", "objects>"),
)


def profiles(cases: Cases, res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """cProfile of the cases behind missed targets (the median-time seed of each)."""
    cfg, ref, med = res["config"], res["ref"], res["ref"]["median"]
    failing = {c["id"] for c in res["checks"] if c["ok"] is False}
    bases = (harness.ROOT, Path(simpy.__file__).parent.parent)
    out = {}

    def prof(label: str, fn: Any) -> None:
        log(f"profiling: {label}")
        out[label] = harness.hotspots(harness.profile(fn), bases=bases, wrappers=WRAPPERS)

    median_seed = sorted(cfg.seeds, key=lambda s: median(t.cpu for t in ref["per_seed"][REF_TTL][s]))[
        len(cfg.seeds) // 2
    ]
    if failing & {"1a", "1b"}:
        prof(
            f"reference, {REF_TTL} tokens, seed {median_seed} (the median-time seed)",
            lambda: cases.reference(REF_TTL, median_seed),
        )
    if "2" in failing:
        for ttl in sorted(TTL_PAIR, key=lambda t: -med[t].cpu):  # the slower first
            prof(f"reference, {ttl} tokens, seed {median_seed}", partial(cases.reference, ttl, median_seed))
    if failing & {"3a", "3b"}:
        hv = res["heavy"]["per_seed"]
        hs = sorted(cfg.heavy_seeds, key=lambda s: median(t.cpu for t in hv[s]))[len(cfg.heavy_seeds) // 2]
        prof(f"incident-heavy, {REF_TTL} tokens, seed {hs} (the median-time seed)", lambda: cases.incident_heavy(hs))
    return out


# -- the benchmark ----------------------------------------------------------------------------------


def run(cfg: Config) -> dict[str, Any]:
    """Every round in this process, then the counting runs, the linearity check, memory and profiles."""
    m = harness.machine(PACKAGES)
    _, load_t = timed(lambda: tokensim.load_model(REFERENCE))  # shown in the doc, not counted in any run
    cases = Cases.load()
    log("warm-up runs (untimed)")
    cases.warm_up(cfg)
    rounds = [measure_round(cases, cfg, r) for r in range(cfg.rounds)]
    load_end, maxrss_main = os.getloadavg(), harness.maxrss_mib()
    counts = measure_counts(cases, cfg)
    missing = sorted({k for c in counts["engine"].values() for k, v in c.items() if v is None})
    if missing:
        raise RuntimeError(f"engine_counts cannot read {', '.join(missing)} from this engine: update that adapter")
    res = summarise(cfg, rounds, counts)
    res |= {"machine": m, "load": load_t, "load_end": load_end, "maxrss_main": maxrss_main}
    if cfg.linearity:
        n, days = cfg.baseline_instances * 10, REF_HORIZON_DAYS / 10
        log(f"linearity check: bare SimPy, {n} instances x {days:g} days")
        lin = [timed(lambda: bare_simpy(n, TTL_HOURS[REF_TTL], days * 24.0))[1] for _ in range(cfg.rounds)]
        env = bare_simpy(n, TTL_HOURS[REF_TTL], days * 24.0, env=harness.counting_environment())
        timeouts = env.events_processed - n - 1
        lin_cpu = median(t.cpu for t in lin)
        res["linearity"] = {
            "instances": n,
            "days": days,
            "timeouts": timeouts,
            "cpu": lin_cpu,
            "rate_cpu": timeouts / lin_cpu,
        }
    res["memory"] = measure_memory(cfg, harness.CURRENT)
    res["checks"] = checks(res)
    res["profiles"] = profiles(cases, res) if cfg.profile else {}
    return res


def child(args: argparse.Namespace, cfg: Config) -> None:
    """What a child process of `--against` (or the memory measurement) runs; prints one JSON line."""
    if args.child == "memory":
        harness.child_output(memory_child(_ints(args.seeds), _ints(args.trace_seeds)))
        return
    cases = Cases.load()
    cases.warm_up(cfg)
    if args.child == "round":
        harness.child_output(measure_round(cases, cfg, args.round))
    else:
        harness.child_output(measure_counts(cases, cfg))


def against(cfg: Config, other: harness.Checkout, flags: list[str], write: bool) -> None:
    """``--against``: the same rounds on this checkout and ``other`` (harness.against), then per side its counting
    runs and its memory child; ``flags``, the mode options, go to every child."""

    def figures_of(
        side: harness.Checkout, rounds: list[Any]
    ) -> tuple[list[harness.Figure], list[list[harness.Figure]]]:
        counts = harness.run_child(SCRIPT, [*flags, "--child", "counts"], side)["data"]
        memory = {"memory": measure_memory(cfg, side)}
        return figures(summarise(cfg, rounds, counts) | memory), [
            figures(summarise(cfg, [r], counts) | memory) for r in rounds
        ]

    harness.against(
        SCRIPT,
        other,
        flags,
        cfg.rounds,
        figures_of,
        packages=PACKAGES,
        heading=COMPARISON,
        mode=cfg.name,
        notes=[
            "- Figures are CPU-clock medians over each checkout's timed runs (seeds "
            f"{', '.join(map(str, cfg.seeds))} of the reference model under {', '.join(TTLS)}, incident-heavy seeds "
            f"{', '.join(map(str, cfg.heavy_seeds))}; a {cfg.baseline_instances}-instance bare-SimPy baseline per "
            "round, timed in the same child); kernel events and revocations come from untimed counting runs "
            "(`engine_counts` in run.py); memory from a fresh process per checkout."
        ],
        run_times=RUN_TIMES,
        write=write,
    )


def _ints(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(
        __doc__,
        quick="short version: fewer seeds and rounds, smaller baseline",
        write=f"regenerate {DOC.relative_to(harness.ROOT)} (its sections above Sweeps)",
        rounds="timed rounds (default: 3 full, 1 quick)",
        children=("round", "counts", "memory"),
    )
    parser.add_argument("--seeds", default="", help=argparse.SUPPRESS)
    parser.add_argument("--trace-seeds", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.no_profile:
        cfg = dataclasses.replace(cfg, profile=False)
    if args.rounds:
        cfg = dataclasses.replace(cfg, rounds=args.rounds)
    if args.child:
        child(args, cfg)
        return 0
    if args.against:
        flags = ["--quick"] * args.quick + (["--rounds", str(args.rounds)] if args.rounds else [])
        against(cfg, harness.checkout(args.against), flags, args.write)
        return 0
    res = run(cfg)
    print(
        harness.text_table(
            [["#", "figure", "CPU clock", "wall clock", "target", "result"]]
            + [
                [c["id"], c["figure"], c["value"], c["wall"] or "-", c["target"], RESULT[c["ok"]]]
                for c in res["checks"]
            ]
        )
    )
    for name, prof in res["profiles"].items():
        print(f"\nprofile: {name} ({prof['total']:.2f} s profiled)")
        for w, n, ct, tt in prof["cumulative"]:
            print(f"  {ct:6.1%} cum  {tt:6.1%} own  {n:>9,}  {w}")
    if args.write:
        old = DOC.read_text() if DOC.exists() else ""
        kept = old[old.index(SECTIONS_KEPT) :] if SECTIONS_KEPT in old else ""  # sweep.py's section and later ones
        DOC.write_text(markdown(res).rstrip("\n") + "\n" + kept)
        log(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
