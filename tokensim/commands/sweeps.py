"""``tokensim sweep`` and ``tokensim results``: run a sweep into a folder, and say what a folder holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from tokensim.commands.outputs import writable_folder
from tokensim.errors import InputError

if TYPE_CHECKING:
    from distributed import Client, LocalCluster


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
    from tokensim.api import checked
    from tokensim.experiment import Experiment
    from tokensim.model import limits

    if jobs is not None:
        checked("-j", "jobs", limits.workers, jobs)
    if dask is not None and dask_local is not None:
        raise InputError.single("--dask", "", "give either --dask ADDRESS or --dask-local N, not both")
    if dask_local is not None:
        checked("--dask-local", "", limits.workers, dask_local)
    exp = Experiment.from_yaml(experiment)
    folder = out or (Path(exp.spec.out) if exp.spec.out else Path("results") / exp.spec.name)
    client: Client | None = None
    cluster: LocalCluster | None = None
    try:
        if dask is not None or dask_local is not None:  # before the folder: a bad address leaves none behind
            client, cluster = _dask_client(dask, dask_local)
        writable_folder(folder)
        frame = exp.run(folder, executor=client, workers=jobs, resume=resume)
    except KeyboardInterrupt:
        from tokensim.experiment.store import ResultStore

        stored = len(ResultStore(folder).stored_ids())
        typer.echo(f"interrupted: {stored} runs are stored in {folder}; continue with --resume", err=True)
        raise typer.Exit(130) from None
    finally:
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]  # distributed leaves Client.close unannotated
        if cluster is not None:
            cluster.close()
    typer.echo(f"{exp.spec.name}: {len(frame)} runs in {folder}")
    typer.echo(_results_summary(frame))


def _dask_client(address: str | None, local: int | None) -> tuple[Client, LocalCluster | None]:
    """A client of the scheduler at ``address``, else of a new local cluster of ``local`` workers (and the cluster)."""
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
        assert local is not None, "a Dask client needs an address or a number of local workers"
        return local_dask_cluster(local)
    except ImportError as err:
        raise InputError.single("--dask" if address is not None else "--dask-local", "", str(err)) from None


def _results_summary(frame: pd.DataFrame) -> str:
    """Runs stored per model and policy, as a table."""
    if frame.empty:
        return "no runs stored"
    counts = frame.groupby(["model", "policy"], sort=False).size().rename("runs")
    return counts.to_frame().to_string()


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
