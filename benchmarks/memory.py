#!/usr/bin/env python
"""Memory (and time) of a run against its instances: a proxy whose log leaks daily, 10^3 to 10^7 sessions.

    python benchmarks/memory.py                          # full: 10^3 .. 10^7 instances, 30 days; prints the table
    python benchmarks/memory.py --quick                  # 10^3 .. 10^5 instances, 10 days
    python benchmarks/memory.py --against /work/wt-before   # also the engine of another checkout, where it fits
    python benchmarks/memory.py --write                  # also write "Memory of a run" in docs/benchmarks.md

Each size runs in its own fresh child process (through harness's launcher, so that ``ru_maxrss`` is the
child's own): imports, the model (benchmarks/models/proxy_log.yaml with ``instances`` set), a small
warm-up run, then one run of the preset ``bearer`` (seed 1). The figures are the child's peak RSS after
the run, the part of it the run added (peak after minus peak before), and the run's CPU and wall time.
A plan-only row per size above the largest run (a one-hour horizon: no leak) shows what a population
costs before any leak asks for it. The other checkout's children run under an address-space limit
(``--limit-gib``) and are skipped where the growth measured at the smaller sizes says they would not fit.
This is a script, not a test: nothing here asserts a figure.
"""

from __future__ import annotations

import harness  # benchmarks/harness.py: scripts run from this folder

harness.pin_blas_threads()  # before numpy is imported

import argparse
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import log, timed

HERE = Path(__file__).resolve().parent
SCRIPT = Path(__file__).resolve()
MODEL = HERE / "models" / "proxy_log.yaml"
SECTION = "## Memory of a run"
PACKAGES = ("tokensim", "numpy", "simpy")


@dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...]  # instances of the runs
    days: int  # their horizon
    plan_only: tuple[int, ...]  # instances of the 1-hour runs (no leak: the plan alone)


FULL = Config((10**3, 10**4, 10**5, 10**6, 10**7), 30, (10**8, 10**9))
QUICK = Config((10**3, 10**4, 10**5), 10, (10**7,))
GIB = 2**30


# -- the child: one size, one run --------------------------------------------------------------------


def child(instances: int, horizon: str, limit_gib: float) -> dict[str, Any]:
    """One run in this (fresh) process: peak RSS before and after, CPU and wall time, the record's counts."""
    if limit_gib > 0:
        cap = int(limit_gib * GIB)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import yaml

    import tokensim
    from tokensim.model.architecture import Architecture

    data = yaml.safe_load(MODEL.read_text())
    small = Architecture.from_dict(data, str(MODEL))
    tokensim.simulate(small, seed=0, horizon="2d")  # imports everything a run needs, allocates little
    data["nodes"]["app"]["instances"] = instances
    try:
        arch = Architecture.from_dict(data, str(MODEL))
    except tokensim.InputError as err:
        return {"instances": instances, "refused": str(err).splitlines()[0]}
    before = harness.maxrss_mib()
    try:
        out, t = timed(lambda: tokensim.simulate(arch, seed=1, horizon=horizon))
    except MemoryError:
        return {"instances": instances, "memory_error": True, "rss_before": before, "rss_after": harness.maxrss_mib()}
    rec = out.record
    return {
        "instances": instances,
        "rss_before": before,
        "rss_after": harness.maxrss_mib(),
        "cpu": t.cpu,
        "wall": t.wall,
        "leaks": rec["leaks"],
        "exposed": rec["credentials_exposed"],
    }


# -- the parent: every size, each checkout ------------------------------------------------------------


def measure(side: harness.Checkout, sizes: tuple[int, ...], horizon: str, limit_gib: float) -> list[dict[str, Any]]:
    """Every size in a fresh child of ``side``; under a limit, sizes the growth so far says would not fit are
    skipped (with the estimate)."""
    rows: list[dict[str, Any]] = []
    for n in sizes:
        estimate = _estimate(rows, n)
        if limit_gib > 0 and estimate is not None and estimate > limit_gib * 1024:
            log(f"{side.name}: {n:,} instances skipped (about {estimate / 1024:.1f} GiB expected)")
            rows.append({"instances": n, "skipped": estimate})
            continue
        log(f"{side.name}: {n:,} instances, {horizon}")
        args = ["--child", str(n), "--horizon", horizon, "--limit-gib", str(limit_gib)]
        try:
            rows.append(harness.run_child(SCRIPT, args, side, fresh=True)["data"])
        except subprocess.CalledProcessError as err:  # e.g. killed, or a failure the limit caused outside numpy
            rows.append({"instances": n, "crashed": err.returncode})
    return rows


def _estimate(rows: list[dict[str, Any]], n: int) -> float | None:
    """Peak RSS (MiB) at ``n`` instances if the run's part grows linearly from the largest size measured."""
    done = [r for r in rows if "rss_after" in r and not r.get("memory_error")]
    if not done:
        return None
    last = max(done, key=lambda r: r["instances"])
    return float(last["rss_before"] + (last["rss_after"] - last["rss_before"]) * n / last["instances"])


def _mib(value: float) -> str:
    return f"{value:,.0f} MiB" if value < 10 * 1024 else f"{value / 1024:,.1f} GiB"


def cells(row: dict[str, Any] | None) -> list[str]:
    """peak RSS, the run's part, CPU s, wall s (or why there are none)."""
    if row is None:
        return ["-"] * 4
    if "refused" in row:
        return ["refused at load", "-", "-", "-"]
    if "skipped" in row:
        return [f"not run: about {_mib(row['skipped'])} expected", "-", "-", "-"]
    if "crashed" in row:
        return [f"child failed (exit status {row['crashed']})", "-", "-", "-"]
    if row.get("memory_error"):
        return [f"MemoryError at {_mib(row['rss_after'])}", "-", "-", "-"]
    part = row["rss_after"] - row["rss_before"]
    return [_mib(row["rss_after"]), _mib(part), f"{row['cpu']:.2f}", f"{row['wall']:.2f}"]


def table(rows: list[dict[str, Any]]) -> list[list[str]]:
    """One checkout's rows: instances, leaks, credentials exposed, peak RSS, the run's part, CPU s, wall s."""
    out = []
    for r in rows:
        label = f"{r['instances']:,}" + (" (1 h, plan only)" if r.get("plan_only") else "")
        counts = [f"{r['leaks']:,}", f"{r['exposed']:,}"] if "leaks" in r else ["-", "-"]
        out.append([label, *counts, *cells(r)])
    return out


HEAD = ["instances", "leaks", "credentials exposed", "peak RSS", "run's part", "CPU s", "wall s"]


def section(
    cfg: Config, mode: str, m: dict[str, Any], tables: list[tuple[str, list[list[str]]]], against: list[str]
) -> str:
    days = cfg.days
    lines = [
        SECTION,
        "",
        f"Generated by `python benchmarks/memory.py --write{''.join(' --against ' + a for a in against)}` ({mode} mode),"
        " which replaces only this section. Issue 11: 10^6 instances behind a proxy whose log leaks daily reached"
        " 6 GB, then MemoryError; `instances: 1000000000` asked for 15 GB before the clock started.",
        "",
        f"- Model: benchmarks/models/proxy_log.yaml (browser sessions behind a TLS-terminating proxy whose request log"
        f" leaks once a day, 7-day retention), `instances` set per row; preset `bearer`, seed 1, {days} days. Each leak"
        " exposes nearly every session: the families to resolve grow with instances x leaks.",
        "- Each row is one fresh child process (started through harness's launcher: Linux carries `ru_maxrss` across"
        " fork and exec). Peak RSS is `ru_maxrss` after the run; the run's part is that minus the peak before it"
        " (imports, the model and a 2-day warm-up on 1,000 instances). CPU and wall time of the run alone."
        " Rows with a 1-hour horizon (no leak) show what a population costs before a leak asks for anything.",
        "- The engine resolves token-only families a chunk at a time (`closed_form.CHUNK_CELLS`, 2^19 families x cells"
        " per population), captures a population in blocks of the same size, keeps the sum of the containment spans,"
        " not the spans, and computes renewal phases when a leak asks for them (docs/model.md, section 12).",
        "- Another checkout's children run under an address-space limit (`RLIMIT_AS`); a size that the growth measured"
        " at the smaller ones says would not fit is not run.",
        f"- Machine: {m['cpu']}; {m['logical_cpus']} logical CPUs, {m['usable_cpus']} usable (shared with other work);"
        f" {m['python']} on {m['os']}; load at start {harness.loads(m['load_start'])}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- Date: {m['date']}",
        "",
    ]
    for label, rows in tables:
        lines += [f"### {label}", "", *harness.md_table(HEAD, rows, "r" * len(HEAD)), ""]
    lines.append(
        "MiB = 2^20 bytes. The run's part stays flat from the size at which a pass reaches a chunk: memory then follows"
        " the chunk, not instances x leaks; time still grows with the families resolved (instances x leaks)."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10^3 to 10^5 instances over 10 days")
    p.add_argument("--write", action="store_true", help='write the "Memory of a run" section of docs/benchmarks.md')
    p.add_argument(
        "--against", metavar="CHECKOUT", action="append", default=[], help="also measure another checkout (repeatable)"
    )
    p.add_argument("--limit-gib", type=float, default=6.0, help="address-space limit of another checkout's children")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--horizon", default="30d", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        harness.child_output(child(args.child, args.horizon, args.limit_gib))
        return 0
    cfg, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    m = harness.machine(PACKAGES)
    sides = [(harness.CURRENT, 0.0), *((harness.checkout(a), args.limit_gib) for a in args.against)]
    tables = []
    for side, limit in sides:
        rows = measure(side, cfg.sizes, f"{cfg.days}d", limit)
        rows += [r | {"plan_only": True} for r in measure(side, cfg.plan_only, "1h", limit)]
        label = f"{side.name}: {side.root} at commit {harness.describe(side.root)}"
        tables.append((label, table(rows)))
        print(f"\n{label}\n" + harness.text_table([HEAD, *tables[-1][1]]))
    if args.write:
        harness.write_section(SECTION, section(cfg, mode, m, tables, args.against))
    return 0


if __name__ == "__main__":
    sys.exit(main())
