#!/usr/bin/env python
"""Benchmark of route analysis on layered graphs: time and peak memory against the size of the graph.

    python benchmarks/routes.py                  # full run: 6x6 to 20x20, 3 rounds; prints the table
    python benchmarks/routes.py --quick          # 6x6, 10x10 and 20x20, one round
    python benchmarks/routes.py --write          # also replace the "Route analysis" section of docs/benchmarks.md
    python benchmarks/routes.py --against /work/wt-before                   # also the old code, at 6x6
    python benchmarks/routes.py --against /work/wt-before --against-sizes 6,7

The model (issue 11, "all simple paths are enumerated"): a client, k layers of k proxies
(TLS-terminating, the default), each layer fully connected to the next, a resource: k^k
routes per tier. Two cases per size, each in a fresh child process (started through the
harness's launcher, so that its ru_maxrss is its own):

- check: what `tokensim check MODEL` does (the command's own function, policy hybrid):
  read the YAML file, load the model, analyse its routes and print the table (to a sink
  that counts the lines; the header line is checked to give 2 x k^k routes);
- analysis: what a run asks before its clock starts, on the model given as data:
  `Architecture.from_dict` and `analyse` under the presets bearer, dpop, mtls and hybrid
  (each a fresh model, so nothing is reused from another case).

Per case: CPU and wall time of the call (medians over the rounds), then the tracemalloc
peak of a second, traced call, and ru_maxrss of the child after both (imports included).
`--against CHECKOUT` runs the same children against another checkout of tokensim (a folder
holding tokensim/; PYTHONPATH set to it), at the sizes it can do in reasonable time
(`--against-sizes`), after this checkout's rounds; the two are shown side by side, not as
ratios: the old code cannot run most sizes. This
is a script, not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import harness  # benchmarks/harness.py: scripts run from this folder

harness.pin_blas_threads()

import argparse
import contextlib
import io
import itertools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
SECTION = "## Route analysis"
PACKAGES = ("tokensim", "networkx", "pandas", "pydantic", "PyYAML")
FULL_SIZES = (6, 7, 8, 10, 12, 14, 16, 18, 20)
QUICK_SIZES = (6, 10, 20)
CASES = ("check", "analysis")
PRESETS = ("bearer", "dpop", "mtls", "hybrid")
#: What the issue measured on the old code for 7x7 (`tokensim check`), quoted when not measured here.
ISSUE_7X7 = "214 s and 2.2 GB (the issue's figures for `tokensim check` on 7x7)"


def layered(k: int) -> dict[str, Any]:
    """A client, ``k`` layers of ``k`` proxies, each layer fully connected to the next, a resource."""
    layers = [[f"p{i}_{j}" for j in range(k)] for i in range(k)]
    nodes: dict[str, Any] = {"app": {"kind": "client", "platform": "workload", "supports": ["bearer", "dpop", "mtls"]}}
    nodes.update({n: {"kind": "proxy"} for layer in layers for n in layer})
    nodes["api"] = {"kind": "resource"}
    edges = [["app", n] for n in layers[0]]
    edges += [[a, b] for x, y in itertools.pairwise(layers) for a in x for b in y]
    edges += [[n, "api"] for n in layers[-1]]
    return {"name": f"layered_{k}x{k}", "nodes": nodes, "edges": edges}


# -- the child: one case at one size -----------------------------------------------------------------


class _Lines(io.TextIOBase):
    """A text sink that counts lines and keeps the first (the table's header line)."""

    def __init__(self) -> None:
        self.lines = 0
        self.first = ""

    def write(self, text: str) -> int:
        if not self.first:
            self.first = text.split("\n", 1)[0]
        self.lines += text.count("\n")
        return len(text)


def _case(case: str, k: int, folder: Path) -> Callable[[], dict[str, Any]]:
    import tokensim
    from tokensim.cli import check
    from tokensim.model.routes import analyse

    data = layered(k)
    if case == "check":
        import yaml

        path = folder / f"layered_{k}.yaml"
        path.write_text(yaml.safe_dump(data))

        def run_check() -> dict[str, Any]:
            sink = _Lines()
            with contextlib.redirect_stdout(sink):
                check(model=str(path), policy="hybrid", set_=None)
            routes = int(sink.first.split(": ", 1)[1].split(" ", 1)[0].replace(",", ""))
            assert routes == 2 * k**k, sink.first  # the command saw every route
            return {"lines": sink.lines, "header": sink.first}

        return run_check

    def run_analysis() -> dict[str, Any]:
        rows = 0
        for name in PRESETS:
            result = analyse(tokensim.Architecture.from_dict(data), tokensim.preset(name))
            groups = getattr(result, "groups", result)  # the old code returned one row per path
            rows += sum(getattr(g, "paths", 1) for g in groups)
        assert rows == len(PRESETS) * 2 * k**k
        return {"rows": rows}

    return run_analysis


def child(case: str, k: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _case(case, 2, Path(tmp))()  # warm-up: imports and first calls, untimed
        fn = _case(case, k, Path(tmp))
        out, t = harness.timed(fn)
        rss = harness.maxrss_mib()
        traced = harness.tracemalloc_peak(fn)
    harness.child_output({"cpu": t.cpu, "wall": t.wall, "rss": rss, "traced": traced, **out})


# -- the parent: sizes x cases x rounds, in children ----------------------------------------------------


def measure(side: harness.Checkout, sizes: tuple[int, ...], rounds: int) -> dict[tuple[str, int], list[Any]]:
    out: dict[tuple[str, int], list[Any]] = {}
    for r in range(rounds):
        for k in harness.rotated(list(sizes), r):
            for case in CASES:
                harness.log(f"round {r + 1}/{rounds}: {side.name} {case} {k}x{k}")
                args = ["--child", case, "--size", str(k)]
                out.setdefault((case, k), []).append(harness.run_child(SCRIPT, args, side, fresh=True)["data"])
    return out


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "cpu": harness.median(r["cpu"] for r in runs),
        "wall": harness.median(r["wall"] for r in runs),
        "traced": max(r["traced"] for r in runs),
        "rss": max(r["rss"] for r in runs),
    }


def rows_of(res: dict[tuple[str, int], list[Any]], sizes: tuple[int, ...]) -> list[list[str]]:
    rows = []
    for k in sizes:
        c, a = summary(res[("check", k)]), summary(res[("analysis", k)])
        rows.append(
            [
                f"{k}x{k}",
                f"{k**k:,}",
                f"{c['cpu']:.3f} s ({c['wall']:.3f} s)",
                f"{c['traced']:.1f} MiB",
                f"{c['rss']:.0f} MiB",
                f"{a['cpu']:.3f} s ({a['wall']:.3f} s)",
                f"{a['traced']:.1f} MiB",
            ]
        )
    return rows


HEADER = (
    "size",
    "routes per tier",
    "check: CPU (wall)",
    "check: traced peak",
    "check: ru_maxrss",
    "analysis, 4 presets: CPU (wall)",
    "analysis: traced peak",
)


def markdown(m: dict[str, Any], mode: str, rounds: int, rows: list[list[str]], before: dict[str, Any] | None) -> str:
    lines = [
        SECTION,
        "",
        f"Generated by `python benchmarks/routes.py --write{' --against ' + str(before['root']) if before else ''}` "
        f"({mode} mode), which replaces only this section. Route analysis (docs/model.md section 3) on layered "
        "graphs: a client, k layers of k TLS-terminating proxies, each layer fully connected to the next, a "
        "resource (k^k routes per tier).",
        "",
        f"- Machine: {m['cpu']}; {m['logical_cpus']} logical CPUs, {m['usable_cpus']} usable, **shared with other "
        f"work** (other sessions ran tests on the same cores: wall times carry their noise); {m['python']} on "
        f"{m['os']}; load at start {harness.loads(m['load_start'])}, at the end {harness.loads(m['load_end'])}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- tokensim at commit {harness.describe(harness.ROOT)}; date {m['date']}",
        f"- Each (case, size) runs in a fresh child process (through a launcher: its ru_maxrss is its own), "
        f"{rounds} round(s), the sizes in rotating order; times are medians over rounds (CPU time of the child, "
        "wall time beside it), memory the largest over rounds. After a 2x2 warm-up, the call is timed, then "
        "traced alone by tracemalloc (its peak: the Python allocations of the call), then ru_maxrss is read "
        "(the process's peak: the interpreter, numpy, pandas and networkx included).",
        "- check: `tokensim check MODEL.yaml` (policy hybrid) through the command's own function: read and "
        "validate the file, analyse the routes, print the table to a line-counting sink (its header checked "
        "to give 2 x k^k routes). analysis: `Architecture.from_dict(data)` and `analyse` under bearer, dpop, "
        "mtls and hybrid, a fresh model each (what a run asks before its clock starts); the row counts are "
        "checked.",
        "",
        *harness.md_table(HEADER, rows, "lrrrrrr"),
    ]
    if before:
        lines += [
            "",
            f"The code before (`{before['root']}` at commit {before['commit']}, which lists every simple path), "
            "same children and rounds:",
            "",
            *harness.md_table(HEADER, before["rows"], "lrrrrrr"),
            "",
            f"Larger sizes were not run on the old code: 7x7 took {ISSUE_7X7}; 8x8 hangs."
            if 7 not in before["sizes"]
            else "Larger sizes were not run on the old code (8x8 hangs, the issue says).",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(
        __doc__,
        quick="3 sizes (6, 10, 20), one round",
        write=f"replace the '{SECTION[3:]}' section of {harness.DOC.relative_to(harness.ROOT)}",
        rounds="rounds (default 3 full, 1 quick)",
        children=CASES,
    )
    parser.add_argument("--size", type=int, default=6, help=argparse.SUPPRESS)
    parser.add_argument("--against-sizes", default="6", metavar="K,K", help="sizes for --against (default: 6)")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.size)
        return 0
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    rounds = args.rounds or (1 if args.quick else 3)
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # children leave no bytecode in a (read-only) other checkout
    m = harness.machine(PACKAGES)
    res = measure(harness.CURRENT, sizes, rounds)
    before = None
    if args.against:  # the old code cannot do the large sizes: only --against-sizes, not interleaved
        other = harness.checkout(args.against)
        before_sizes = tuple(int(s) for s in args.against_sizes.split(","))
        old = measure(other, before_sizes, rounds)
        before = {
            "root": other.root,
            "commit": harness.describe(other.root),
            "sizes": before_sizes,
            "rows": rows_of(old, before_sizes),
        }
    m["load_end"] = os.getloadavg()
    rows = rows_of(res, sizes)
    print(harness.text_table([list(HEADER), *rows]))
    if before:
        print("\nbefore:\n" + harness.text_table([list(HEADER), *before["rows"]]))
    if args.write:
        harness.write_section(SECTION, markdown(m, "quick" if args.quick else "full", rounds, rows, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
