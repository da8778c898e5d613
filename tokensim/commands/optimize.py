"""``tokensim optimize``: search a policy space for the front of integration cost against harm."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tokensim.commands.arguments import DaskLocalOpt, DaskOpt, JobsOpt, OutOpt
from tokensim.commands.formats import FormatOpt, TableFormat, data, fitted, message
from tokensim.commands.outputs import folder_name, writable_folder
from tokensim.errors import InputError

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from tokensim.search import SearchResult

#: The columns of the front the terminal shows (the space's settings are added after ``policy``).
_SHOWN = ("preset", "n")


def optimize(
    model: Annotated[str, typer.Argument(help="A model file or a built-in model name.")],
    space: Annotated[Path, typer.Option("--space", help="A search file: the policy space, target and budget.")],
    target: Annotated[
        float | None, typer.Option("--target", help="The harm to stay at or under (default: the file's).")
    ] = None,
    budget: Annotated[
        int | None, typer.Option("--budget", help="Candidates to evaluate (default: the file's).")
    ] = None,
    out: OutOpt = None,
    jobs: JobsOpt = None,
    dask: DaskOpt = None,
    dask_local: DaskLocalOpt = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a search stored in the output folder.")] = False,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Search a policy space for the Pareto front of integration cost against blast radius (or loss).

    Every candidate runs on the same common random numbers as the presets it is compared with;
    the runs go to a crash-safe Parquet store that --resume continues (a larger --budget goes on
    with the same search). Prints the front, the cheapest candidate meeting the target with its
    interval, and how it compares with the best preset.
    """
    from tokensim.api import checked
    from tokensim.commands.sweeps import _dask_client, _report_interrupted, _run_noting, _stopping_signal
    from tokensim.experiment.cluster import close_dask
    from tokensim.experiment.signals import Interrupted, interrupts
    from tokensim.model import limits
    from tokensim.search import load_search
    from tokensim.search import optimize as search

    if jobs is not None:
        checked("-j", "jobs", limits.workers, jobs)
    if dask is not None and dask_local is not None:
        raise InputError.single("--dask", "", "give either --dask ADDRESS or --dask-local N, not both")
    folder: Path | None = out
    with interrupts() as received:
        client: Client | None = None
        cluster: LocalCluster | None = None
        try:
            try:
                spec, _, _ = load_search(space)
                folder = out or (Path(spec.out) if spec.out else Path("results") / folder_name(spec.name))
                if dask is not None or dask_local is not None:
                    client, cluster = _dask_client(dask, dask_local)
                writable_folder(folder)
                found = _run_noting(
                    lambda: search(
                        space,
                        model=model,
                        out=folder,
                        target=target,
                        budget=budget,
                        executor=client,
                        workers=jobs,
                        resume=resume,
                    )
                )
            finally:
                with received.deferred():
                    close_dask(client, cluster, quiet=received.signum is not None)
            _show(found, fmt)
            message(f"{found.spec.name}: {len(found.rows)} runs in {folder}", fmt)
        except BaseException as err:
            stopped = _stopping_signal(err, received.signum)
            if stopped is None:
                raise
            extra = [f"--{k} {v}" for k, v in (("budget", budget), ("target", target)) if v is not None]
            extra += [f"-j {jobs}"] if jobs is not None else []
            continuing = " ".join([f"optimize {model} --space {space}", *extra])
            _report_interrupted(Interrupted(stopped), space, folder, command=continuing)


def _show(found: SearchResult, fmt: TableFormat) -> None:
    """The finding in words, then the front (settings, intervals) as a table or data."""
    spec = found.spec
    columns = ["policy", *spec.space, *_SHOWN]
    for metric in (spec.harm, spec.cost):
        columns += [f"{metric}_mean", f"{metric}_low", f"{metric}_high"]
    front = found.front[columns]
    message(found.text, fmt)
    if fmt is TableFormat.table:
        message("the front, cheapest first:", fmt)
        typer.echo(fitted(front.set_index("policy")))
    else:
        data(front, fmt)
