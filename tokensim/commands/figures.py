"""``tokensim plot`` and ``tokensim report``: a figure, or the design-review report, from results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tokensim.commands.formats import wrapped
from tokensim.commands.outputs import echo, regular_output, require_suffix
from tokensim.errors import InputError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from tokensim.experiment import Experiment

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


#: The kind `tokensim plot` draws from the loss column (docs/figures.md, "Loss exceedance").
LOSS = "loss"


def loss_figure(frame: pd.DataFrame, experiment: Experiment | None, source: str) -> Figure:
    """The loss exceedance figure of result rows, its notes printed as ``note:`` lines (composed years,
    configurations without a `loss:` section); the currency comes from the sweep's models when they agree."""
    import warnings

    from tokensim.analysis import LossNote
    from tokensim.report.figures import SAMPLED_DESIGNS, design_of
    from tokensim.viz.loss import currency_of, loss_exceedance_figure

    if design_of(experiment) in SAMPLED_DESIGNS:
        raise InputError.single(
            source,
            "design",
            f"the sweep's {design_of(experiment)} design samples uncertainties rather than configurations: "
            "the loss figure needs runs of a grid sweep or `tokensim run` (pick a point with --where)",
        )
    figures = [] if experiment is None else [v.arch.spec.loss for v in experiment.plan.variants]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LossNote)
        fig = loss_exceedance_figure(frame, currency=currency_of(figures))
    for note in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, LossNote)):
        echo(f"note: {note}", err=True)
    return fig


def plot(
    results: ResultsArg,
    kind: Annotated[str, typer.Option("--kind", help="tradeoff, ttl, exposure, sensitivity, timeline or loss.")],
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
    transform: Annotated[
        str | None,
        typer.Option(
            "--transform",
            help="sensitivity: the indices of the metric as it is (none, the default, as in Python) or of log1p(metric).",
        ),
    ] = None,
) -> None:
    """Draw one figure from results (or, for --kind timeline, from a trace file)."""
    from tokensim.report import KINDS, apply_where, read_results, read_trace, results_figure
    from tokensim.viz import save_figure, timeline_figure
    from tokensim.viz.io import FORMATS

    if kind not in (*KINDS, LOSS):
        hint = did_you_mean(kind, (*KINDS, LOSS))
        raise InputError.single("--kind", kind, f"unknown kind{hint}; use one of {', '.join((*KINDS, LOSS))}")
    if transform is not None and (kind != "sensitivity" or transform not in ("none", "log1p")):
        raise InputError.single(
            "--transform",
            transform,
            "applies to --kind sensitivity only" if kind != "sensitivity" else "use none or log1p",
        )
    require_suffix(out, tuple(FORMATS), "a figure")
    regular_output(out, "--out")
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
        if kind == LOSS and metric is not None:
            raise InputError.single("--kind loss", "--metric", "does not apply: the loss figure draws the loss column")
        loaded = read_results(results)
        try:
            frame = apply_where(loaded.frame, where) if where else loaded.frame
            if kind == LOSS:
                fig = loss_figure(frame, loaded.experiment, str(results))
            else:
                fig = results_figure(
                    frame,
                    kind,
                    metric=metric,
                    experiment=loaded.experiment,
                    source=str(results),
                    transform=None if transform in (None, "none") else transform,
                )
        except InputError as err:
            raise _as_file_error(err, results) from None
    save_figure(fig, out)
    echo(f"wrote {out}")


def report(
    results: Annotated[Path, typer.Argument(help="A sweep folder, or a .csv/.parquet file from `tokensim run --out`.")],
    out: Annotated[
        Path, typer.Option("--out", help="The report file (.html): self-contained, no network needed.")
    ] = Path("report.html"),
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="The blast radius the recommendation must stay under (500), or the share of the baseline's "
            "it must remove, per architecture (90%%) (default: none; the report then presents the knee of the Pareto front, the best compromise, and claims no target).",
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

    require_suffix(out, (".html", ".htm"), "the report")
    regular_output(out, "--out")
    verdicts = Verdicts()
    try:
        path = build_report(
            results,
            out=out,
            models=model,
            target=target,
            baseline=baseline,
            title=title,
            command=shlex.join(["tokensim", *sys.argv[1:]]),
            verdicts=verdicts,
        )
    except InputError as err:
        raise _as_file_error(err, results) from None
    echo(f"wrote {path}")
    echo(verdicts.text())


class Verdicts(list[str]):
    """`build_report`'s ``verdicts`` callback for `report` and `advise`: each architecture's sentence, as printed."""

    def __call__(self, name: str, sentence: str) -> None:
        self.append(wrapped(f"{name}: {sentence}", "  "))

    def text(self) -> str:
        """The lines the command prints after ``wrote FILE``."""
        return "\n".join(["verdicts (the report's first screen):", *self])
