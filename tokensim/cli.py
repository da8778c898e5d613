"""The `tokensim` command line: thin over the Python API.

Bad input (a malformed model, an unknown policy, a negative TTL) prints one clear
message naming the file and the field and exits with status 2, never a traceback.
The app and `run` live here; the other commands in `tokensim.commands`, registered
below in the order ``tokensim --help`` lists them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from tokensim._version import __version__
from tokensim.commands import advise, catalogue, figures, importing, optimize, routes, sweeps
from tokensim.commands.arguments import ModelArg, PolicyOpt, SetOpt, policies_of
from tokensim.commands.formats import FormatOpt, TableFormat, data, fitted, message
from tokensim.commands.outputs import echo, writable_file
from tokensim.errors import InputError

if TYPE_CHECKING:  # the CLI imports the package lazily: `tokensim --help` stays fast
    import pandas as pd


_T = TypeVar("_T")

app = typer.Typer(
    name="tokensim",
    help="Simulate token theft across architectures: bearer, hybrid and sender-constrained (DPoP, mTLS) policies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: rich's rendering took a third of `tokensim --help` (docs/benchmarks.md)
)


@app.command()
def run(
    model: ModelArg,
    policy: PolicyOpt = None,
    replications: Annotated[int, typer.Option("-n", "--replications", help="Paired replications per policy.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Root seed: same seed, same output.")] = 0,
    horizon: Annotated[str, typer.Option("--horizon", help="Simulated time, e.g. 90d.")] = "90d",
    set_: SetOpt = None,
    jobs: Annotated[
        int, typer.Option("-j", "--jobs", help="Worker processes for the replications (same output for every N).")
    ] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Write every row to FILE.csv or FILE.parquet.")] = None,
    trace: Annotated[
        Path | None,
        typer.Option("--trace", help="Write the event trace of each policy to FILE.csv (--trace-replication)."),
    ] = None,
    trace_replication: Annotated[
        str,
        typer.Option("--trace-replication", help="Which replication --trace records: a number (default 0) or all."),
    ] = "0",
    costs: Annotated[
        Path | None, typer.Option("--costs", help="A YAML/JSON file overriding the integration-cost table or weights.")
    ] = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Run paired replications of one or more policies and print mean and 95% CI of the main metrics."""
    from tqdm import tqdm

    from tokensim.analysis import paired_differences, summarise
    from tokensim.api import checked, replicate, simulate
    from tokensim.model import limits
    from tokensim.model.architecture import load_model
    from tokensim.model.cost import load_costs
    from tokensim.outcome import MAIN_METRICS

    # the options' ranges (docs/parameters.md section 7), checked before any file is read
    checked("-n", "replications", limits.replications, replications)
    checked("-j", "jobs", limits.workers, jobs)
    checked("--seed", "seed", limits.seed, seed)
    checked("--horizon", "horizon", limits.horizon_hours, horizon)
    for path, flag in ((out, "--out"), (trace, "--trace")):
        if path is not None and path.suffix.lower() not in ((".csv", ".parquet") if flag == "--out" else (".csv",)):
            raise InputError.single(
                flag, str(path), "expected a .csv" + (" or .parquet" if flag == "--out" else "") + " file name"
            )
    for path, flag in ((out, "--out"), (trace, "--trace")):
        if path is not None:
            writable_file(path, flag)  # before the runs: a bad path must not cost the results
    traced = _traced_replications(trace_replication, replications)
    arch = load_model(model)
    pols = policies_of(policy, set_)
    checked("-n", "replications", lambda n: limits.runs(n, len(pols)), replications)
    cost_model = load_costs(costs) if costs is not None else None

    def progress(jobs: Iterable[_T]) -> Iterable[_T]:
        bar: Iterable[_T] = tqdm(jobs, desc="runs", unit="run", delay=1.0, file=sys.stderr, leave=False)
        return bar

    frame = replicate(
        arch,
        pols,
        replications=replications,
        seed=seed,
        horizon=horizon,
        costs=cost_model,
        progress=progress,
        workers=jobs,
    )
    if out is not None:
        if out.suffix.lower() == ".parquet":
            frame.to_parquet(out, index=False)
        else:
            frame.to_csv(out, index=False)
    if trace is not None:
        traces = []
        for pol in pols:
            for r in traced:
                t = simulate(arch, pol, seed=seed, horizon=horizon, replication=r, trace=True, costs=cost_model).trace
                assert t is not None, "a traced run records its trace"
                traces.append(t.assign(policy=pol.name, replication=r))
        import pandas as pd

        events = pd.concat(traces, ignore_index=True)
        events.to_csv(trace, index=False)

    overrides = f", with {' '.join(set_)}" if set_ else ""
    header = (
        f"model {arch.name}: {replications} paired replications per policy, seed {seed}, horizon {horizon}{overrides}"
    )
    summary = summarise(frame, MAIN_METRICS, by="policy")  # one model, one setting per policy
    diffs = paired_differences(frame, MAIN_METRICS, baseline=pols[0].name) if len(pols) > 1 else None
    message(header, fmt)
    if fmt is TableFormat.table:
        echo("")
        echo(_format_summary(summary, "mean", "per policy: mean [95% CI]"))
        if diffs is not None:
            echo("")
            echo(_format_summary(diffs, "mean_difference", f"paired difference against {pols[0].name}: mean [95% CI]"))
    else:
        data(_summary_records(summary, diffs), fmt)
    gap = "\n" if fmt is TableFormat.table else ""
    if out is not None:
        message(f"{gap}wrote {len(frame)} rows to {out}", fmt)
    if trace is not None:
        which = "every replication" if len(traced) > 1 else f"replication {traced[0]}"
        message(f"{gap if out is None else ''}wrote the trace of {which} ({len(events)} events) to {trace}", fmt)


def _summary_records(summary: pd.DataFrame, diffs: pd.DataFrame | None) -> pd.DataFrame:
    """`run`'s tables as data: one row per policy and metric, its mean (or paired mean difference) and 95% CI.

    The intervals are as computed (not clipped at 0 as the table shows them), empty with one replication;
    ``baseline`` is empty for means.
    """
    import pandas as pd

    means = summary.assign(statistic="mean", baseline=None).rename(columns={"mean": "estimate"})
    parts = [means]
    if diffs is not None:
        parts.append(diffs.assign(statistic="mean_difference").rename(columns={"mean_difference": "estimate"}))
    columns = ["statistic", "policy", "baseline", "metric", "n", "estimate", "ci_low", "ci_high"]
    out = pd.concat([p[columns] for p in parts], ignore_index=True)
    single = out["n"] < 2  # one replication has no interval (the table says n/a): empty, not a zero-width one
    return out.assign(ci_low=out["ci_low"].mask(single), ci_high=out["ci_high"].mask(single))


def _traced_replications(value: str, replications: int) -> list[int]:
    """The replications `--trace` records: ``all``, or one number below ``replications``."""
    if value.strip().lower() == "all":
        return list(range(replications))
    try:
        r = int(value)
    except ValueError:
        r = -1
    if not 0 <= r < replications:
        raise InputError.single(
            "--trace-replication", "replication", f"must be all or a number from 0 to {replications - 1}, got {value!r}"
        )
    return [r]


def _format_summary(table: pd.DataFrame, column: str, title: str) -> str:
    """A policy x metric table of `mean [low, high]`, numbers in the ``fixed`` style so columns read evenly."""
    from tokensim.analysis.text import interval

    # means of non-negative metrics cannot go below zero: their intervals are shown clipped at 0
    clip = column == "mean"
    cells = table.assign(
        value=[
            interval(m, lo, hi, n, clip=clip, style="fixed")
            for m, lo, hi, n in zip(table[column], table["ci_low"], table["ci_high"], table["n"])
        ]
    )
    wide = cells.pivot(index="policy", columns="metric", values="value")
    wide = wide.loc[list(dict.fromkeys(cells["policy"])), list(dict.fromkeys(cells["metric"]))]
    return title + "\n" + fitted(wide)


# Commands from tokensim.commands, each registered where `tokensim --help` lists it.
app.command()(sweeps.sweep)
app.command()(sweeps.results)
app.command()(optimize.optimize)


app.command()(routes.check)
app.command()(figures.plot)
app.command()(routes.diagram)
app.command()(figures.report)
app.command()(advise.advise)
app.command()(catalogue.models)
app.command()(catalogue.policies)
app.command()(catalogue.schema)
app.command("import")(importing.import_)
app.command()(importing.export)


def _version(value: bool) -> None:
    """Print the version and stop, for ``--version``."""
    if value:
        typer.echo(f"tokensim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Simulate token theft across architectures: bearer, hybrid and sender-constrained (DPoP, mTLS) policies."""


def main() -> None:
    """Console entry point: bad input exits 2 with one message, never a traceback."""
    try:
        app()  # click handles its own usage errors (exit 2) in standalone mode
    except InputError as err:
        echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
