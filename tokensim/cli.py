"""The `tokensim` command line: thin over the Python API.

Bad input (a malformed model, an unknown policy, a negative TTL) prints one clear
message naming the file and the field and exits with status 2, never a traceback.
The app, its shared options and run, check and diagram live here; the other commands
in `tokensim.commands`, registered below in the order ``tokensim --help`` lists them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from tokensim._version import __version__
from tokensim.commands import advise, catalogue, figures, sweeps
from tokensim.commands.outputs import echo, regular_output, require_suffix, writable_file
from tokensim.display import terminal_text
from tokensim.errors import InputError, did_you_mean

if TYPE_CHECKING:  # the CLI imports the package lazily: `tokensim --help` stays fast
    import pandas as pd

    from tokensim.model.policy import Policy

_T = TypeVar("_T")

app = typer.Typer(
    name="tokensim",
    help="Simulate token theft across architectures: bearer, hybrid and sender-constrained (DPoP, mTLS) policies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ModelArg = Annotated[
    str, typer.Argument(help="A model file (YAML or JSON) or a built-in model name (see `tokensim models`).")
]
PolicyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--policy", "-p", help="A preset (bearer, dpop, mtls, hybrid, hybrid_jit) or a policy file; repeat to compare."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a policy parameter, e.g. --set access_ttl=5m (applies to every policy)."),
]


def _policies(names: list[str] | None, overrides: list[str] | None) -> list[Policy]:
    from tokensim.model.policy import parse_assignments, repeated_policies, resolve_policy

    pols = [resolve_policy(n) for n in (names or ["bearer"])]
    if overrides:
        values = parse_assignments(overrides)
        pols = [p.with_overrides(values) for p in pols]
    if repeated_policies(pols):
        names_seen = ", ".join(p.name for p in pols)
        raise InputError.single("--policy", "policy", f"the same policy is named twice: {names_seen}")
    return pols


@app.command()
def run(
    model: ModelArg,
    policy: PolicyOpt = None,
    replications: Annotated[int, typer.Option("-n", "--replications", help="Paired replications per policy.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Root seed: same seed, same output.")] = 0,
    horizon: Annotated[str, typer.Option("--horizon", help="Simulated time, e.g. 90d.")] = "90d",
    set_: SetOpt = None,
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
    pols = _policies(policy, set_)
    checked("-n", "replications", lambda n: limits.runs(n, len(pols)), replications)
    cost_model = load_costs(costs) if costs is not None else None

    def progress(jobs: Iterable[_T]) -> Iterable[_T]:
        bar: Iterable[_T] = tqdm(jobs, desc="runs", unit="run", delay=1.0, file=sys.stderr, leave=False)
        return bar

    frame = replicate(
        arch, pols, replications=replications, seed=seed, horizon=horizon, costs=cost_model, progress=progress
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
    echo(f"model {arch.name}: {replications} paired replications per policy, seed {seed}, horizon {horizon}{overrides}")
    summary = summarise(frame, MAIN_METRICS, by="policy")  # one model, one setting per policy
    echo("")
    echo(_format_summary(summary, "mean", "per policy: mean [95% CI]"))
    if len(pols) > 1:
        diffs = paired_differences(frame, MAIN_METRICS, baseline=pols[0].name)
        echo("")
        echo(_format_summary(diffs, "mean_difference", f"paired difference against {pols[0].name}: mean [95% CI]"))
    if out is not None:
        echo(f"\nwrote {len(frame)} rows to {out}")
    if trace is not None:
        which = "every replication" if len(traced) > 1 else f"replication {traced[0]}"
        echo(f"{'' if out is not None else chr(10)}wrote the trace of {which} ({len(events)} events) to {trace}")


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
    return title + "\n" + wide.to_string()


# Commands from tokensim.commands, each registered where `tokensim --help` lists it.
app.command()(sweeps.sweep)
app.command()(sweeps.results)


@app.command()
def check(
    model: ModelArg,
    policy: Annotated[str, typer.Option("--policy", "-p", help="The policy whose mechanisms are checked.")] = "hybrid",
    set_: SetOpt = None,
) -> None:
    """Print every client -> resource route, per tier: bound, downgraded or broken, and the hop that causes it.

    ``verifier`` is the first node that verifies the binding (a thief from outside must pass it with the key).
    Below the table, the route facts: where DPoP's htu breaks, issuer gaps, and the entry verifiers; then
    per leak, where its thief's requests enter and which resources a network allow-list closes to it.

    Beyond a few hundred routes (`tokensim.model.routes.TABLE_ROWS`), one line per client, resource, tier
    and outcome, with its number of paths and the first of them.
    """
    from tokensim.model.architecture import load_model
    from tokensim.model.route_facts import leak_facts, route_facts
    from tokensim.model.routes import TABLE_ROWS, route_table

    arch = load_model(model)
    pol = _policies([policy], set_)[0]
    table = route_table(arch, pol)
    total = int(table["paths"].sum()) if not table.empty else 0
    summarised = total > len(table)
    if summarised:
        echo(
            f"model {arch.name}, policy {pol.name}: {total:,} routes, more than {TABLE_ROWS} to list: "
            f"summarised in {len(table)} lines, one per client, resource, tier and outcome, with its number of paths"
        )
    else:
        echo(f"model {arch.name}, policy {pol.name}: {len(table)} routes")
    cols = ["client", "resource", "tier", "mechanism", "status", "effect", "hop", "verifier"]
    cols += ["paths"] if summarised else []
    table = table.assign(verifier=table["entry_verifier"]) if not table.empty else table
    if table.empty:
        return
    shown = table[cols].fillna("-").astype(str).map(terminal_text)  # escaped before the widths: columns stay aligned
    if summarised:
        shown["paths"] = [f"{n:,}" for n in table["paths"]]
    widths = {c: max(len(c), shown[c].str.len().max()) for c in cols}
    echo("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for (_, row), (_, full) in zip(shown.iterrows(), table.iterrows()):  # a route per line, its path and why below it
        echo("  ".join(row[c].ljust(widths[c]) for c in cols).rstrip())
        first = f"the first of {full['paths']:,}: " if full["paths"] > 1 else ""
        echo(f"    {first}{full['path']}: {full['reason']}")
    echo("")
    for line in [*route_facts(table), *leak_facts(arch)]:
        echo(terminal_text(line))


app.command()(figures.plot)


@app.command()
def diagram(
    model: ModelArg,
    out: Annotated[Path, typer.Option("--out", help="The figure file: .png, .svg or .pdf.")],
    policy: Annotated[str, typer.Option("--policy", "-p", help="The policy whose routes are coloured.")] = "hybrid",
    set_: SetOpt = None,
    tier: Annotated[str | None, typer.Option("--tier", help="Draw only one tier: low_risk or privileged.")] = None,
) -> None:
    """Draw a model's architecture with each route coloured bound, downgraded or broken under a policy."""
    from tokensim.model.architecture import load_model
    from tokensim.model.routes import TIERS
    from tokensim.viz import architecture_figure, save_figure
    from tokensim.viz.io import FORMATS

    require_suffix(out, tuple(FORMATS), "a figure")
    regular_output(out, "--out")
    if tier is not None and tier not in TIERS:
        raise InputError.single(
            "--tier", tier, f"unknown tier{did_you_mean(tier, TIERS)}; use one of {', '.join(TIERS)}"
        )
    arch = load_model(model)
    pol = _policies([policy], set_)[0]
    save_figure(architecture_figure(arch, pol, tier=tier), out)
    echo(f"wrote {out}")


app.command()(figures.report)
app.command()(advise.advise)
app.command()(catalogue.models)
app.command()(catalogue.policies)
app.command()(catalogue.schema)


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
