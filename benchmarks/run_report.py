"""The text of docs/benchmarks.md's engine sections, written from one run of benchmarks/run.py.

Numbers only from the results dict `run.run` returns; the cases' sizes come with it
(``res["setup"]``), so this module needs nothing else from run.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness import median

if TYPE_CHECKING:  # run.py imports this module; the types only, for the checker
    from run import Config, Setup

#: How a check's verdict reads in markdown: met, missed, or a figure with no target or no measurement (None).
RESULT_MD = {True: "pass", False: "**FAIL**", None: "info"}


def world_events(c: dict[str, Any]) -> int | None:
    """Leaks + replay attempts + detections + revocations of one counting run (None if one is not measured)."""
    parts = (c["leaks"], c["replay_attempts"], c["detections"], c["revocations"])
    return None if None in parts else sum(parts)


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
    su: Setup = res["setup"]
    ref, cfg = res["ref"], res["config"]
    out = {}
    for ttl in (su.ref_ttl, *su.ttl_pair):
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
    su: Setup = res["setup"]
    ref, cfg = res["ref"], res["config"]
    pb = per_bundle(res)
    seeds = cfg.seeds
    cpu = {s: median([t.cpu for t in ref["per_seed"][su.ref_ttl][s]]) for s in seeds}
    bundles = {s: ref["counts"][(su.ref_ttl, s)]["bundles"] for s in seeds}
    leaks = {s: ref["records"][(su.ref_ttl, s)]["leaks"] for s in seeds}
    few = [s for s in seeds if bundles[s] <= 2 * leaks[s]]  # no mass exposure (no proxy log leak)
    lines = ["What the figures above say:", ""]
    lines.append(
        f"- A replication's cost follows the number of stolen credential families (bundles: one SimPy process each, "
        f"{pb[su.ref_ttl]['events_per_bundle']:.1f} kernel events each at the median, {pb[su.ref_ttl]['us_per_bundle']:.0f} us of "
        f"CPU each with {su.ref_ttl} tokens), not the number of leaks and not the number of refreshes."
    )
    if few:
        lines.append(
            "- "
            + "; ".join(f"seed {s}: {leaks[s]} leaks, {bundles[s]:,} bundles, {cpu[s]:.3f} s" for s in few)
            + f" (no proxy log leak), against a median of {median(list(cpu.values())):.3f} s over all seeds. "
            "A proxy log leak is one leak that exposes thousands of sessions at once, so the reference model's "
            "cost is mostly that leak's."
        )
    a, b = su.ttl_pair
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
    su: Setup = res["setup"]
    cfg: Config = res["config"]
    m = res["machine"]
    bl = res["baseline"]
    ref = res["ref"]
    hv = res["heavy"]
    mem = res["memory"]
    ttls = (su.ref_ttl, *su.ttl_pair)
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
        f"  phase, {su.ref_horizon_days} days of {su.ref_ttl} tokens ({bl['timeouts']:,} timeouts), extrapolated linearly to "
        f"{su.ref_instances:,} instances",
        f"  ({bl['refreshes_10k'] / 1e6:.1f} million refreshes).",
        "- SimPy kernel events are counted in a separate, untimed run with the same seed (runs are deterministic; the",
        "  script checks that leaks, replay attempts and detections match the timed run), by a `simpy.Environment`",
        "  subclass whose `step()` counts the events it processes, handed to the engine (`engine_counts` in run.py).",
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
        f"### Reference model ({su.ref_instances:,} instances, {su.ref_horizon_days} days)",
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
        + f". Kernel events per CPU second on the reference model ({su.ref_ttl}): {res['ref_kernel_rate_cpu']:,.0f}.",
        "",
    ]
    L += [
        "### Bare SimPy baseline",
        "",
        f"- {bl['instances']} instances x {su.ref_horizon_days} days of {su.ref_ttl} timeouts: {bl['timeouts']:,} timeouts, "
        f"{bl['kernel_events']:,} kernel events; median of {bl['runs']} run(s): {bl['cpu']:.2f} s CPU, {bl['wall']:.2f} s wall.",
        f"- Rate: {bl['rate_cpu']:,.0f} timeouts per CPU second ({bl['rate_wall']:,.0f} per wall second).",
        f"- Extrapolated to {su.ref_instances:,} instances: {bl['extrapolated_cpu']:.1f} s CPU, {bl['extrapolated_wall']:.1f} s wall.",
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
        f"### Incident-heavy model ({su.heavy_horizon_days} days)",
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
        f"{su.ref_horizon_days}-day reference runs (seeds {', '.join(map(str, cfg.seeds))}). The runs themselves add "
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
