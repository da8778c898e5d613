"""The machinery every benchmark script shares: clocks, rounds, profiles, memory, children, tables, the machine.

run.py (the engine) and sweep.py (the sweep machinery) define their cases and targets;
everything about *how* a case is measured and reported lives here, once:

- `timed`: one call on two clocks (CPU time of this process, wall time);
- `rotated`, `medians`, `spread`: interleaving cases within a round and summarising rounds;
- `profile`, `hotspots`, `own_time_text`: cProfile of one call, as ranked rows or pstats text;
- `maxrss_mib`, `fresh_process`, `tracemalloc_peak`: memory;
- `CountingEnvironment`: SimPy kernel events counted through the public `Environment.step`;
- `Checkout`, `run_child`, `interleave`, `Figure`, `compare`: the same benchmark against
  another checkout of tokensim, round by round in child processes, reported as ratios;
- `available_speedup`, `wait_for_quiet`: how parallel a shared machine is right now;
- `machine`: the CPU, Python, package versions and commits a run came from;
- `text_table`, `md_table`, `replace_section`: output.

It imports neither numpy nor tokensim at module level: a script imports this module first and
calls `pin_blas_threads` before numpy is imported (hence E402 in benchmarks/, pyproject.toml).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import importlib.metadata
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "benchmarks.md"

T = TypeVar("T")

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_blas_threads() -> None:
    """One BLAS thread for numpy (here, and in child and worker processes, which inherit the environment).

    Must run before numpy is first imported: the thread pools are sized at import.
    """
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")


def log(msg: str) -> None:
    """Progress goes to stderr, so that stdout carries only the table (or a child's JSON)."""
    print(msg, file=sys.stderr, flush=True)


# -- clocks and rounds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """One timed call: wall seconds (`time.perf_counter`) and CPU seconds of this process (`time.process_time`)."""

    wall: float
    cpu: float

    def to_json(self) -> list[float]:
        return [self.wall, self.cpu]

    @classmethod
    def from_json(cls, data: Sequence[float]) -> Timing:
        return cls(float(data[0]), float(data[1]))


def timed(fn: Callable[[], T]) -> tuple[T, Timing]:
    """Call ``fn`` once on both clocks, after a garbage collection (so that no earlier garbage is collected inside)."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    c1, w1 = time.process_time(), time.perf_counter()
    return out, Timing(w1 - w0, c1 - c0)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def medians(timings: Iterable[Timing]) -> Timing:
    """Median wall and median CPU time (each clock on its own) of some timings."""
    ts = list(timings)
    return Timing(median(t.wall for t in ts), median(t.cpu for t in ts))


def spread(values: Iterable[float]) -> tuple[float, float]:
    """The range (lowest, highest) of some figures: how far rounds moved on a shared machine."""
    vs = sorted(values)
    return vs[0], vs[-1]


def rotated(items: Sequence[T], k: int) -> list[T]:
    """``items`` started at position ``k`` (mod its length): each round runs its cases in another order,
    so that no case always runs first (after an idle machine) or last."""
    k %= len(items)
    return [*items[k:], *items[:k]]


# -- SimPy kernel events, through the public API --------------------------------------------------


def counting_environment() -> Any:
    """A fresh `simpy.Environment` whose `step` counts the events it processes (attribute ``events_processed``).

    Built on first use so that importing this module imports no SimPy (nor numpy) before
    `pin_blas_threads`. Overriding `step` is SimPy's documented extension point; it costs a Python
    call per event, so counting runs are never the timed runs.
    """
    return _counting_class()()


_COUNTING: list[type] = []


def _counting_class() -> type:
    if not _COUNTING:
        import simpy
        from simpy.core import EmptySchedule

        class CountingEnvironment(simpy.Environment):
            """`simpy.Environment` counting processed events (an empty schedule is not an event)."""

            def __init__(self, initial_time: float = 0) -> None:
                super().__init__(initial_time)
                self.events_processed = 0

            def step(self) -> None:
                self.events_processed += 1
                try:
                    super().step()
                except EmptySchedule:
                    self.events_processed -= 1
                    raise

        _COUNTING.append(CountingEnvironment)
    return _COUNTING[0]


# -- profiling ------------------------------------------------------------------------------------


def profile(fn: Callable[[], Any]) -> pstats.Stats:
    """cProfile one call of ``fn`` (after a garbage collection)."""
    prof = cProfile.Profile()
    gc.collect()
    prof.enable()
    fn()
    prof.disable()
    return pstats.Stats(prof)


def _where(key: tuple[str, int, str], bases: Sequence[Path]) -> str:
    path, line, func = key
    if path == "~":
        return func
    p = Path(path)
    inside = [base for base in bases if p.is_relative_to(base)]
    if not inside:
        return f"{p.name}:{line}({func})"
    base = max(inside, key=lambda b: len(b.parts))  # the most specific: site-packages inside a checkout's .venv
    return f"{p.relative_to(base)}:{line}({func})"


def hotspots(
    stats: pstats.Stats,
    *,
    bases: Sequence[Path],
    wrappers: Sequence[tuple[str, str]] = (),
    top: int = 12,
    own_top: int = 8,
) -> dict[str, Any]:
    """Ranked rows of a profile: by cumulative share (dispatch ``wrappers``, given as (prefix, suffix) of the
    location, and anything above 95 % left out: they sit above everything) and by own time.

    Locations are shown relative to the innermost of ``bases`` that contains them.
    """
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = [(_where(k, bases), v[1], v[2], v[3]) for k, v in stats.stats.items()]  # type: ignore[attr-defined]

    def wrapper(where: str) -> bool:
        return any(where.startswith(a) and where.endswith(b) for a, b in wrappers)

    cum = sorted(rows, key=lambda r: -r[3])
    own = sorted(rows, key=lambda r: -r[2])
    return {
        "total": total,
        "cumulative": [(w, n, ct / total, tt / total) for w, n, tt, ct in cum if ct / total < 0.95 and not wrapper(w)][
            :top
        ],
        "own": [(w, n, tt / total, ct / total) for w, n, tt, ct in own][:own_top],
    }


def own_time_text(stats: pstats.Stats, rows: int = 18) -> str:
    """pstats' own listing, sorted by own time, from its column header on."""
    buf = io.StringIO()
    stats.stream = buf  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(rows)
    text = buf.getvalue()
    return text[text.find("   ncalls") :].rstrip()


# -- memory ---------------------------------------------------------------------------------------


def maxrss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def tracemalloc_peak(fn: Callable[[], Any]) -> float:
    """The tracemalloc peak (MiB) of one call of ``fn``, traced alone."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


#: Linux carries ru_maxrss across fork and exec, so a child started from a large benchmark process would
#: report that peak as its own. A launcher in between starts from a fresh (small) image.
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


# -- children and checkouts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Checkout:
    """A tokensim source tree under test: ``root`` holds the ``tokensim`` package; ``name`` labels its figures."""

    name: str
    root: Path

    def env(self) -> dict[str, str]:
        """The environment of a child that imports this checkout's tokensim (ahead of any installed one) and
        the benchmarks' own modules (this folder: the cases are always the current ones)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(self.root), str(HERE), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        )
        return env


#: The checkout this harness belongs to.
CURRENT = Checkout("after", ROOT)


def checkout(path: str | Path, name: str = "before") -> Checkout:
    """Another checkout, checked: it must hold a ``tokensim`` package."""
    root = Path(path).resolve()
    if not (root / "tokensim" / "__init__.py").is_file():
        raise SystemExit(f"{root}: no tokensim package (tokensim/__init__.py) in that folder")
    return Checkout(name, root)


def run_child(script: Path, args: Sequence[str], side: Checkout, *, fresh: bool = False) -> Any:
    """Run ``script args`` in a child process importing ``side``'s tokensim; return the JSON on its last stdout line
    (`child_output`'s, checked to name ``side``'s tokensim).

    ``fresh``: start it through a launcher, so that its ru_maxrss is its own (memory figures).
    The child's stderr (its progress) passes through.
    """
    cmd = [sys.executable, str(script), *args]
    if fresh:
        cmd = [sys.executable, "-c", _LAUNCHER, *cmd]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=side.env())
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if Path(got["tokensim"]).resolve() != (side.root / "tokensim").resolve():
        raise RuntimeError(f"the {side.name} child imported tokensim from {got['tokensim']}, not from {side.root}")
    return got


def child_output(data: Any) -> None:
    """What a child prints: one JSON line, last on stdout (with the tokensim it imported, for the record)."""
    import tokensim

    print(json.dumps({"tokensim": str(Path(tokensim.__file__).parent), "data": data}))


def interleave(
    sides: Sequence[Checkout], rounds: int, script: Path, args: Callable[[int], list[str]]
) -> dict[str, list[Any]]:
    """Round by round, each side's child runs round ``r`` (``script *args(r)``), the sides in rotating order:
    drift of a shared machine's speed then falls on both sides alike. Returns each side's rounds' data."""
    out: dict[str, list[Any]] = {s.name: [] for s in sides}
    for r in range(rounds):
        for side in rotated(sides, r):
            log(f"round {r + 1}/{rounds}: {side.name} ({side.root})")
            out[side.name].append(run_child(script, args(r), side)["data"])
    return out


# -- before / after ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure of a benchmark for the before/after comparison: ``value`` None when it cannot be measured
    on that checkout (``why`` says so); ``better`` is the direction in which a change is an improvement."""

    id: str
    label: str
    value: float | None
    fmt: str  # format spec of the value, e.g. "{:.3f} s"
    better: Literal["lower", "higher"]
    why: str = ""


TOLERANCE = 0.05  # the bar: no figure worse by more than 5 %


def _ratio(before: Figure | None, after: Figure | None) -> float | None:
    if before is None or after is None or before.value is None or after.value is None or before.value == 0:
        return None
    return after.value / before.value


def round_ratios(rounds: Sequence[tuple[Sequence[Figure], Sequence[Figure]]], ids: Iterable[str]) -> list[float]:
    """Every round's after/before ratio of the figures ``ids``: how far a pair moves on this machine by itself."""
    want = set(ids)
    out = []
    for b, a in rounds:
        old = {f.id: f for f in b}
        out += [r for f in a if f.id in want and (r := _ratio(old.get(f.id), f)) is not None]
    return out


def compare(
    before: Sequence[Figure],
    after: Sequence[Figure],
    rounds: Sequence[tuple[Sequence[Figure], Sequence[Figure]]] = (),
    tolerance: float = TOLERANCE,
) -> list[list[str]]:
    """Rows (id, figure, before, after, after/before, per-round range, verdict).

    The verdict says whether ``after`` is worse than ``before`` by more than ``tolerance`` in the figure's own
    direction. ``rounds``: the same figures from each round alone, (before, after) per round; the range of their
    ratios shows how far one round's pair moved (interleaving makes each pair share the machine's state).
    """
    old = {f.id: f for f in before}
    per_round = [({f.id: f for f in b}, {f.id: f for f in a}) for b, a in rounds]
    rows = []
    for f in after:
        b = old.get(f.id)
        shown = [v.fmt.format(v.value) if v is not None and v.value is not None else "n/a" for v in (b, f)]
        ratio = _ratio(b, f)
        if b is None or ratio is None:
            why = (b.why if b is not None and b.value is None else "") or f.why or "not measured on both"
            rows.append([f.id, f.label, *shown, "-", "-", f"not compared: {why}"])
            continue
        each = [r for rb, ra in per_round if (r := _ratio(rb.get(f.id), ra.get(f.id))) is not None]
        span = f"{min(each):.3f} to {max(each):.3f}" if len(each) > 1 else "-"
        worse = ratio - 1 if f.better == "lower" else 1 - ratio  # > 0: after is worse
        if worse > tolerance:
            verdict = f"**worse by {worse:.1%}**"
        elif worse > 0:
            verdict = f"worse by {worse:.1%} (within {tolerance:.0%})"
        elif worse == 0:
            verdict = "unchanged"
        else:
            verdict = f"better by {-worse:.1%}"
        rows.append([f.id, f.label, *shown, f"{ratio:.3f}", span, verdict])
    return rows


COMPARE_HEADER = ("#", "figure", "before", "after", "after / before", "per-round range", "verdict")


def against(
    script: Path,
    other: Checkout,
    flags: Sequence[str],
    rounds: int,
    figures_of: Callable[[Checkout, list[Any]], tuple[list[Figure], list[list[Figure]]]],
    *,
    packages: Iterable[str],
    heading: str,
    mode: str,
    notes: Sequence[str] = (),
    run_times: Sequence[str] = (),
    write: bool = False,
) -> list[list[str]]:
    """A script's ``--against``: its rounds on this checkout ('after') and ``other`` ('before'), interleaved in
    child processes (``script *flags --child round --round r``); prints the comparison and, with ``write``,
    replaces the section ``heading`` of docs/benchmarks.md.

    ``figures_of(side, rounds_data)`` turns one side's rounds into its figures over all rounds and per round
    (it may run further children of that side: counting runs, memory). ``run_times``: ids of plain run-time
    figures, whose per-round ratios show how much a pair moves by the machine's noise alone.
    """
    sides = [CURRENT, other]
    m = machine(packages)
    data = interleave(sides, rounds, script, lambda r: [*flags, "--child", "round", "--round", str(r)])
    figs, each = {}, {}
    for side in sides:
        figs[side.name], each[side.name] = figures_of(side, data[side.name])
    pairs = list(zip(each["before"], each["after"]))
    rows = compare(figs["before"], figs["after"], pairs)
    print(text_table([list(COMPARE_HEADER), *rows]))
    if write:
        times = round_ratios(pairs, run_times)
        span = (
            [
                f"- The run times' per-round ratios ({', '.join(run_times)}) span {min(times):.2f} to {max(times):.2f} "
                "in this comparison: a difference inside that span is the machine's noise, not the code's."
            ]
            if len(times) > 1
            else []
        )
        text = comparison_section(
            heading,
            f"`python benchmarks/{script.name} --against {' '.join([str(other.root), *flags])}`",
            mode,
            {
                "before": f"{other.root} at commit {describe(other.root)}",
                "after": f"{ROOT} at commit {describe(ROOT)}",
            },
            m,
            rounds,
            rows,
            ["", *notes, *span],
        )
        write_section(heading, text)
    return rows


def parser(doc: str | None, *, quick: str, write: str, rounds: str, children: Sequence[str]) -> argparse.ArgumentParser:
    """The options every benchmark script takes (help texts its own), and the hidden ones of its child processes."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--write", action="store_true", help=write)
    p.add_argument("--no-profile", action="store_true", help="skip profiling the cases behind missed targets")
    p.add_argument("--rounds", type=int, default=0, metavar="N", help=rounds)
    p.add_argument(
        "--against",
        metavar="CHECKOUT",
        help="also run every round against the tokensim of another checkout (a folder holding tokensim/), "
        "interleaved, and report after/before ratios (with --write: its own section of docs/benchmarks.md)",
    )
    p.add_argument("--child", choices=tuple(children), help=argparse.SUPPRESS)
    p.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    return p


# -- the machine ----------------------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    """``git args`` in ``root``; empty when git or the repository is missing."""
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def describe(root: Path) -> str:
    """A checkout as '<short commit>', with the commit that last changed its tokensim/ and a note when tokensim/
    has uncommitted changes there."""
    commit = git(root, "rev-parse", "--short", "HEAD") or "unknown"
    last = git(root, "log", "-1", "--format=%h", "--", "tokensim")
    dirty = bool(git(root, "status", "--porcelain", "--", "tokensim"))
    return (
        commit
        + (f" (tokensim/ last changed in {last})" if last and last != commit else "")
        + (" with uncommitted changes under tokensim/ in the working tree" if dirty else "")
    )


def machine(packages: Iterable[str]) -> dict[str, Any]:
    """CPU model, CPU counts, Python, OS, the installed versions of ``packages``, this checkout's commit, the
    date and the load average at start."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "commit": git(ROOT, "rev-parse", "--short", "HEAD"),
        "tokensim_dirty": bool(git(ROOT, "status", "--porcelain", "--", "tokensim")),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": os.getloadavg(),
    }


def loads(xs: Iterable[float]) -> str:
    """A load average triple as text."""
    return ", ".join(f"{x:.2f}" for x in xs)


# -- output ---------------------------------------------------------------------------------------


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as aligned plain-text columns, a rule under the first (the header)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> list[str]:
    """A markdown table; ``align`` has one letter per column, 'l' or 'r' (default: all left)."""
    align = align or "l" * len(header)
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    return ["| " + " | ".join(header) + " |", rule, *("| " + " | ".join(map(str, r)) + " |" for r in rows)]


def replace_section(text: str, heading: str, section: str) -> str:
    """``text`` with its section ``heading`` (a '## ' line, up to the next '## ' heading) replaced by
    ``section``, or ``section`` appended when there is none."""
    start = text.find(f"\n{heading}\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    end = text.find("\n## ", start + 1)
    return text[: start + 1] + section.rstrip("\n") + "\n" + (text[end:] if end >= 0 else "")


def write_section(heading: str, section: str, doc: Path = DOC) -> None:
    """Replace (or append) one section of docs/benchmarks.md, leaving the rest of the file alone."""
    old = doc.read_text() if doc.exists() else "# Benchmarks\n"
    doc.write_text(replace_section(old, heading, section))
    log(f"wrote the '{heading[3:]}' section of {doc}")


def comparison_section(
    heading: str,
    what: str,
    mode: str,
    sides: Mapping[str, str],
    m: Mapping[str, Any],
    rounds: int,
    rows: list[list[str]],
    notes: Sequence[str] = (),
) -> str:
    """The markdown section of a before/after comparison: what ran where, then the figures' ratios."""
    lines = [
        heading,
        "",
        f"{what} ({mode} mode): the current benchmark cases run against two checkouts of tokensim, each round in one "
        "child process per checkout (PYTHONPATH set to that checkout), the checkouts in alternating order round by "
        f"round, so that the shared machine's drift falls on both; {rounds} round(s).",
        "",
        *(
            [
                "**Quick mode: a smoke test of the comparison mechanism on a shared, busy machine, not the before/after "
                "record the 5 % bar is judged on (that takes full rounds, on a quiet machine if there is one).**",
                "",
            ]
            if mode == "quick"
            else []
        ),
        *(f"- {k}: {v}" for k, v in sides.items()),
        f"- Machine: {m['cpu']}; {m['logical_cpus']} logical CPUs, {m['usable_cpus']} usable (shared with other work); "
        f"{m['python']} on {m['os']}; load at start {loads(m['load_start'])}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- Date: {m['date']}",
        "",
        *md_table(COMPARE_HEADER, rows, "llrrrrl"),
        "",
        f"after / before is the ratio of the figures over all rounds; the per-round range, of each round's pair alone "
        "(both checkouts ran back to back; a ratio of medians may fall outside it). A verdict is judged in the figure's own direction (a time: lower is better; "
        f"a speed-up: higher); the bar is {TOLERANCE:.0%}.",
        *notes,
    ]
    return "\n".join(lines).rstrip() + "\n"


# -- how parallel the machine is right now ----------------------------------------------------------

SPIN = 6_000_000  # iterations of a bare Python loop: about half a second on one core
QUIET = 1.8  # available speed-up at which a parallel measurement starts


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


def wait_for_quiet(limit: float) -> tuple[float, float]:
    """Wait (up to ``limit`` seconds) until 2 processes get at least QUIET x; (available speed-up, seconds waited).

    On a shared machine a parallel measurement otherwise times other people's work.
    """
    w0 = time.perf_counter()
    while True:
        available = available_speedup()
        waited = time.perf_counter() - w0
        if available >= QUIET or waited >= limit:
            return available, waited
        log(f"  other work on the machine (2 processes get {available:.2f}x); waiting")
        time.sleep(15)
