"""The `tokensim` command line: thin over the Python API.

Bad input (a malformed model, an unknown policy, a negative TTL) prints one clear
message naming the file and the field and exits with status 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from tokensim._version import __version__
from tokensim.errors import InputError

if TYPE_CHECKING:  # the CLI imports the package lazily: `tokensim --help` stays fast
    from tokensim.model.policy import Policy

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
        Path | None, typer.Option("--trace", help="Write the event trace of replication 0 of each policy to FILE.csv.")
    ] = None,
    costs: Annotated[
        Path | None, typer.Option("--costs", help="A YAML/JSON file overriding the integration-cost table or weights.")
    ] = None,
) -> None:
    """Run paired replications of one or more policies and print mean and 95% CI of the main metrics."""
    from tqdm import tqdm

    from tokensim.analysis import paired_differences, summarise
    from tokensim.api import replicate, simulate
    from tokensim.model.architecture import load_model
    from tokensim.sim.cost import load_costs
    from tokensim.sim.outcome import MAIN_METRICS

    if replications < 1:
        raise InputError.single("-n", "replications", f"must be at least 1, got {replications}")
    if seed < 0:
        raise InputError.single("--seed", "seed", f"must be a non-negative integer, got {seed}")
    for path, flag in ((out, "--out"), (trace, "--trace")):
        if path is not None and path.suffix.lower() not in ((".csv", ".parquet") if flag == "--out" else (".csv",)):
            raise InputError.single(
                flag, str(path), "expected a .csv" + (" or .parquet" if flag == "--out" else "") + " file name"
            )
    for path, flag in ((out, "--out"), (trace, "--trace")):
        if path is not None:
            _writable_file(path, flag)  # before the runs: a bad path must not cost the results
    arch = load_model(model)
    pols = _policies(policy, set_)
    cost_model = load_costs(costs) if costs is not None else None

    def progress(jobs):
        return tqdm(jobs, desc="runs", unit="run", delay=1.0, file=sys.stderr, leave=False)

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
            t = simulate(arch, pol, seed=seed, horizon=horizon, replication=0, trace=True, costs=cost_model).trace
            traces.append(t.assign(policy=pol.name))
        pd.concat(traces, ignore_index=True).to_csv(trace, index=False)

    overrides = f", with {' '.join(set_)}" if set_ else ""
    typer.echo(
        f"model {arch.name}: {replications} paired replications per policy, seed {seed}, horizon {horizon}{overrides}"
    )
    summary = summarise(frame, MAIN_METRICS, by="policy")  # one model, one setting per policy
    typer.echo("")
    typer.echo(_format_summary(summary, "mean", "per policy: mean [95% CI]"))
    if len(pols) > 1:
        diffs = paired_differences(frame, MAIN_METRICS, baseline=pols[0].name)
        typer.echo("")
        typer.echo(
            _format_summary(diffs, "mean_difference", f"paired difference against {pols[0].name}: mean [95% CI]")
        )
    if out is not None:
        typer.echo(f"\nwrote {len(frame)} rows to {out}")


def _format_summary(table: pd.DataFrame, column: str, title: str) -> str:
    # means of non-negative metrics cannot go below zero: their intervals are shown clipped at 0
    clip = column == "mean"
    cells = table.assign(
        value=[
            _fmt_ci(m, lo, hi, n, clip)
            for m, lo, hi, n in zip(table[column], table["ci_low"], table["ci_high"], table["n"])
        ]
    )
    wide = cells.pivot(index="policy", columns="metric", values="value")
    wide = wide.loc[list(dict.fromkeys(cells["policy"])), list(dict.fromkeys(cells["metric"]))]
    return title + "\n" + wide.to_string()


def _fmt_ci(mean: float, low: float, high: float, n: int, clip: bool) -> str:
    if pd.isna(mean):
        return "n/a"
    if n < 2:
        return f"{_num(mean)} [n/a]"
    if clip:
        low = max(low, 0.0)
    return f"{_num(mean)} [{_num(low)}, {_num(high)}]"


def _num(x: float) -> str:
    """Fixed-point with up to four significant digits, no scientific notation for everyday sizes."""
    if x != 0 and (abs(x) >= 1e9 or abs(x) < 1e-4):
        return f"{x:.3g}"
    digits = max(0, 3 - int(f"{abs(x):e}".split("e")[1])) if x else 0
    return f"{x:,.{min(digits, 4)}f}"


@app.command()
def sweep(
    experiment: Annotated[Path, typer.Argument(help="An experiment file (YAML or JSON).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: the file's `out`, else results/NAME).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("-j", "--jobs", help="Local worker processes (default: all cores; 1: serial).")
    ] = None,
    dask: Annotated[
        str | None, typer.Option("--dask", help="Address of a running Dask scheduler, e.g. tcp://host:8786.")
    ] = None,
    dask_local: Annotated[
        int | None, typer.Option("--dask-local", help="Start a local Dask cluster with N workers.")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip the runs already stored in the output folder.")
    ] = False,
) -> None:
    """Run a parameter sweep; results go to a crash-safe Parquet dataset that --resume continues."""
    from tokensim.experiment import Experiment

    if jobs is not None and jobs < 1:
        raise InputError.single("-j", "jobs", f"must be at least 1, got {jobs}")
    if dask is not None and dask_local is not None:
        raise InputError.single("--dask", "", "give either --dask ADDRESS or --dask-local N, not both")
    if dask_local is not None and dask_local < 1:
        raise InputError.single("--dask-local", "", f"must be at least 1, got {dask_local}")
    exp = Experiment.from_yaml(experiment)
    folder = out or (Path(exp.spec.out) if exp.spec.out else Path("results") / exp.spec.name)
    client = cluster = None
    try:
        if dask is not None or dask_local is not None:  # before the folder: a bad address leaves none behind
            client, cluster = _dask_client(dask, dask_local)
        _writable_folder(folder)
        frame = exp.run(folder, executor=client, workers=jobs, resume=resume)
    except KeyboardInterrupt:
        from tokensim.experiment.store import ResultStore

        stored = len(ResultStore(folder).stored_ids())
        typer.echo(f"interrupted: {stored} runs are stored in {folder}; continue with --resume", err=True)
        raise typer.Exit(130) from None
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    typer.echo(f"{exp.spec.name}: {len(frame)} runs in {folder}")
    typer.echo(_results_summary(frame))


def _writable_file(path: Path, flag: str) -> None:
    """Refuse, before any work, an output file that cannot be written; create its folder."""
    if path.is_dir():
        raise InputError.single(flag, str(path), "is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError.single(flag, str(path), f"cannot create its folder: {err.strerror or err}") from None
    existed = path.exists()
    try:  # the one reliable test: open it for writing (and leave no file behind)
        with open(path, "ab"):
            pass
    except OSError as err:
        raise InputError.single(flag, str(path), f"cannot be written: {err.strerror or err}") from None
    if not existed:
        path.unlink()


def _writable_folder(folder: Path) -> None:
    """Refuse, before any work, a sweep folder that is a file or cannot be created."""
    if folder.exists() and not folder.is_dir():
        raise InputError.single("--out", str(folder), "is a file; a sweep writes to a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError.single("--out", str(folder), f"cannot create the folder: {err.strerror or err}") from None
    if not os.access(folder, os.W_OK):
        raise InputError.single("--out", str(folder), "is not writable")


def _dask_client(address: str | None, local: int | None):
    from tokensim.experiment.cluster import connect_dask, local_dask_cluster

    try:
        if address is not None:
            try:
                return connect_dask(address), None
            except ValueError as err:  # Dask's own address parsing: no port, unknown scheme...
                raise InputError.single(
                    "--dask", address, f"not a Dask scheduler address ({err}); give one like tcp://HOST:8786"
                ) from None
            except OSError as err:
                raise InputError.single("--dask", address, f"cannot reach the Dask scheduler: {err}") from None
        return local_dask_cluster(local)
    except ImportError as err:
        raise InputError.single("--dask" if address is not None else "--dask-local", "", str(err)) from None


def _results_summary(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "no runs stored"
    counts = frame.groupby(["model", "policy"], sort=False).size().rename("runs")
    return counts.to_frame().to_string()


@app.command()
def results(folder: Annotated[Path, typer.Argument(help="A sweep's output folder.")]) -> None:
    """Show what a sweep folder holds: runs done and missing, per model and policy."""
    from tokensim.experiment import Experiment, load_results
    from tokensim.experiment.store import ResultStore

    frame = load_results(folder)
    manifest = ResultStore(folder).manifest() or {}
    typer.echo(
        f"experiment {manifest.get('experiment')} (hash {manifest.get('experiment_hash')}), tokensim {manifest.get('tokensim_version')}"
    )
    try:
        exp = Experiment.from_folder(folder)
        planned = pd.DataFrame(
            [
                {"model": exp.plan.variants[r.variant].arch.name, "policy": r.policy.name, "run_id": r.run_id}
                for r in exp.runs()
            ]
        )
    except InputError:
        planned = None
    done = set(frame["run_id"]) if not frame.empty else set()
    if planned is not None:
        planned["done"] = planned["run_id"].isin(done)
        table = planned.groupby(["model", "policy"], sort=False)["done"].agg(
            done="sum", missing=lambda d: int((~d).sum())
        )
        extra = len(done - set(planned["run_id"]))
        typer.echo(table.to_string())
        if extra:
            typer.echo(f"plus {extra} runs added by sequential stopping")
    else:
        typer.echo(_results_summary(frame))


@app.command()
def check(
    model: ModelArg,
    policy: Annotated[str, typer.Option("--policy", "-p", help="The policy whose mechanisms are checked.")] = "hybrid",
    set_: SetOpt = None,
) -> None:
    """Print every client -> resource route, per tier: bound, downgraded or broken, and the hop that causes it."""
    from tokensim.model.architecture import load_model
    from tokensim.model.routes import route_table

    arch = load_model(model)
    pol = _policies([policy], set_)[0]
    table = route_table(arch, pol)
    typer.echo(f"model {arch.name}, policy {pol.name}: {len(table)} routes")
    cols = ["client", "resource", "tier", "mechanism", "status", "effect", "hop"]
    if table.empty:
        return
    shown = table[cols].fillna("-").astype(str)
    widths = {c: max(len(c), shown[c].str.len().max()) for c in cols}
    typer.echo("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for (_, row), (_, full) in zip(shown.iterrows(), table.iterrows()):  # a route per line, its path and why below it
        typer.echo("  ".join(row[c].ljust(widths[c]) for c in cols).rstrip())
        typer.echo(f"    {full['path']}: {full['reason']}")


ResultsArg = Annotated[
    Path,
    typer.Argument(
        help="A sweep folder, or a .csv/.parquet file from `tokensim run --out` "
        "(for --kind timeline: a trace file from `tokensim run --trace`)."
    ),
]


def _as_file_error(err: InputError, source: Path) -> InputError:
    """Analysis and figure errors name "results" or "ttl figure": name the user's file instead."""
    return InputError(str(source), err.problems) if err.source == "results" or err.source.endswith(" figure") else err


def _require_suffix(path: Path, allowed: tuple[str, ...], what: str) -> None:
    if path.suffix.lower() not in allowed:
        raise InputError.single(
            str(path), "--out", f"unsupported suffix {path.suffix or '(none)'!r} for {what}; use {', '.join(allowed)}"
        )


@app.command()
def plot(
    results: ResultsArg,
    kind: Annotated[str, typer.Option("--kind", help="tradeoff, ttl, exposure, sensitivity or timeline.")],
    out: Annotated[Path, typer.Option("--out", help="The figure file: .png, .svg or .pdf.")],
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="The metric on the y axis (default blast_radius; exposure: exposure_hours)."),
    ] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", help="Keep rows with COLUMN=VALUE, e.g. access_ttl=1h (repeatable).")
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", help="timeline: the policy whose trace to draw.")
    ] = None,
    horizon: Annotated[
        str | None, typer.Option("--horizon", help="timeline: the run's horizon, e.g. 90d (the time axis ends there).")
    ] = None,
) -> None:
    """Draw one figure from results (or, for --kind timeline, from a trace file)."""
    from tokensim.report import KINDS, apply_where, read_results, read_trace, results_figure
    from tokensim.viz import save_figure, timeline_figure
    from tokensim.viz.io import FORMATS

    if kind not in KINDS:
        raise InputError.single("--kind", kind, f"unknown kind; use one of {', '.join(KINDS)}")
    _require_suffix(out, tuple(FORMATS), "a figure")
    if kind == "timeline":
        if metric is not None or where:
            raise InputError.single(
                "--kind timeline",
                "--metric" if metric is not None else "--where",
                "does not apply: a timeline draws every event of one run",
            )
        from tokensim.model.units import UnitError, parse_duration

        try:
            hours = parse_duration(horizon) if horizon is not None else None
        except UnitError as err:
            raise InputError.single("--horizon", "", str(err)) from None
        if hours is not None and not hours > 0:
            raise InputError.single(
                "--horizon", "", f"must be a positive duration (the run's horizon, e.g. 90d), got {horizon!r}"
            )
        trace = read_trace(results, policy)
        title = f"Event trace of one run ({results.name}" + (f", policy {policy})" if policy else ")")
        fig = timeline_figure(trace, horizon=hours, title=title)
    else:
        if policy is not None or horizon is not None:
            raise InputError.single(
                "--policy" if policy is not None else "--horizon",
                "",
                "applies to --kind timeline only" + (" (filter results with --where policy=NAME)" if policy else ""),
            )
        loaded = read_results(results)
        try:
            frame = apply_where(loaded.frame, where) if where else loaded.frame
            fig = results_figure(frame, kind, metric=metric, experiment=loaded.experiment, source=str(results))
        except InputError as err:
            raise _as_file_error(err, results) from None
    save_figure(fig, out)
    typer.echo(f"wrote {out}")


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
    from tokensim.viz import architecture_figure, save_figure
    from tokensim.viz.architecture import TIERS
    from tokensim.viz.io import FORMATS

    _require_suffix(out, tuple(FORMATS), "a figure")
    if tier is not None and tier not in TIERS:
        raise InputError.single("--tier", tier, f"unknown tier; use one of {', '.join(TIERS)}")
    arch = load_model(model)
    pol = _policies([policy], set_)[0]
    save_figure(architecture_figure(arch, pol, tier=tier), out)
    typer.echo(f"wrote {out}")


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="A sweep folder, or a .csv/.parquet file from `tokensim run --out`.")],
    out: Annotated[
        Path, typer.Option("--out", help="The report file (.html): self-contained, no network needed.")
    ] = Path("report.html"),
    target: Annotated[
        float | None,
        typer.Option(
            "--target",
            help="The blast radius the recommendation must stay under "
            "(default: none; the report then presents the knee of the Pareto front, the best compromise, and claims no target).",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="The policy paired differences are taken against (default: bearer)."),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="A model file the results were run on, for its diagram (repeatable; "
            "default: the sweep's own models, else the built-in ones).",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The report's title.")] = None,
) -> None:
    """Write a design-review report: question, models and routes, tradeoffs, recommendation, provenance."""
    import shlex

    from tokensim.report import build_report

    _require_suffix(out, (".html", ".htm"), "the report")
    try:
        path = build_report(
            results,
            out=out,
            models=model,
            target=target,
            baseline=baseline,
            title=title,
            command=shlex.join(["tokensim", *sys.argv[1:]]),
        )
    except InputError as err:
        raise _as_file_error(err, results) from None
    typer.echo(f"wrote {path}")


@app.command()
def models() -> None:
    """List the built-in models with their descriptions."""
    from tokensim.builtin import builtin_models
    from tokensim.model.architecture import load_model

    for name in builtin_models():
        typer.echo(f"{name:<32} {load_model(name).description}")


@app.command()
def policies() -> None:
    """List the policy presets and every parameter with its default."""
    from tokensim.model.policy import PRESETS, preset
    from tokensim.model.units import format_duration

    durations = {"access_ttl", "refresh_ttl", "reuse_grace", "proof_window", "jit_ttl"}
    rows = [
        {k: (format_duration(v) if k in durations else v) for k, v in preset(name).parameters().items()}
        for name in PRESETS
    ]
    typer.echo(pd.DataFrame(rows).set_index("name").T.to_string())


@app.command()
def schema() -> None:
    """Print the JSON Schema of model files (for editors)."""
    from tokensim.model.schema import ModelFile

    typer.echo(json.dumps(ModelFile.model_json_schema(), indent=2))


def _version(value: bool) -> None:
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
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
