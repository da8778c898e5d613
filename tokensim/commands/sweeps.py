"""``tokensim sweep`` and ``tokensim results``: run a sweep into a folder, and say what a folder holds."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tokensim._version import SEMANTICS
from tokensim.commands.arguments import DaskLocalOpt, DaskOpt, JobsOpt, OutOpt
from tokensim.commands.formats import FormatOpt, TableFormat, data, fitted, message
from tokensim.commands.outputs import echo, folder_name, writable_folder
from tokensim.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client, LocalCluster

    from tokensim.experiment.signals import Interrupted


#: What `_run_noting` returns: whatever the run it wraps returns (a sweep's frame, a search's result).
_Ran = TypeVar("_Ran")


def sweep(
    experiment: Annotated[Path, typer.Argument(help="An experiment file (YAML or JSON).")],
    out: OutOpt = None,
    jobs: JobsOpt = None,
    dask: DaskOpt = None,
    dask_local: DaskLocalOpt = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip the runs already stored in the output folder.")
    ] = False,
    quarantine: Annotated[
        bool,
        typer.Option(
            "--quarantine",
            help="With --resume: move unreadable chunks, and chunks of another experiment or of copied runs, "
            "to OUT/quarantine/ and run their runs again.",
        ),
    ] = False,
) -> None:
    """Run a parameter sweep; results go to a crash-safe Parquet dataset that --resume continues.

    Ctrl-C, SIGTERM and SIGHUP stop it the same way: the runs that finished are stored, the
    workers stopped, and a few lines say what was stored and how to continue; exit status
    128 + the signal's number (130 for Ctrl-C).
    """
    from tokensim.api import checked
    from tokensim.experiment import Experiment
    from tokensim.experiment.cluster import close_dask
    from tokensim.experiment.signals import Interrupted, interrupts
    from tokensim.model import limits

    if jobs is not None:
        checked("-j", "jobs", limits.workers, jobs)
    if dask is not None and dask_local is not None:
        raise InputError.single("--dask", "", "give either --dask ADDRESS or --dask-local N, not both")
    if dask_local is not None:
        checked("--dask-local", "", limits.workers, dask_local)
    if quarantine and not resume:
        raise InputError.single("--quarantine", "", "applies to --resume only: it repairs a folder being resumed")
    folder: Path | None = out
    with interrupts() as received:  # the command's handlers only: `Experiment.run` installs none
        client: Client | None = None
        cluster: LocalCluster | None = None
        try:
            try:
                exp = Experiment.from_yaml(experiment)
                # the name is text (it may hold `/` or `..`): the default folder is a safe name made from it, inside results/
                folder = out or (Path(exp.spec.out) if exp.spec.out else Path("results") / folder_name(exp.spec.name))
                if dask is not None or dask_local is not None:  # before the folder: a bad address leaves none behind
                    client, cluster = _dask_client(dask, dask_local)
                writable_folder(folder)
                frame = _run_noting(
                    lambda: exp.run(folder, executor=client, workers=jobs, resume=resume, quarantine=quarantine)
                )
            finally:
                with received.deferred():  # a signal meanwhile waits until the cluster is closed
                    close_dask(client, cluster, quiet=received.signum is not None)
            echo(f"{exp.spec.name}: {len(frame)} runs in {folder}")
            echo(_results_summary(frame))
        except BaseException as err:
            stopped = _stopping_signal(err, received.signum)
            if stopped is None:
                from concurrent.futures.process import BrokenProcessPool  # here: its import takes 15 ms of --help

                if isinstance(err, BrokenProcessPool):
                    _report_lost_worker(experiment, folder)
                raise
            _report_interrupted(Interrupted(stopped), experiment, folder)  # inside: a second signal is ignored


def _stopping_signal(err: BaseException, received: int | None) -> int | None:
    """The signal that stopped a sweep with ``err``, or None when no signal did.

    An `Interrupted` says; a bare `KeyboardInterrupt` is Ctrl-C; any other error raised
    once a signal has arrived is that signal's doing (a pool whose workers the same signal
    killed first, as a kill of the whole process group does).
    """
    from tokensim.experiment.signals import Interrupted

    if isinstance(err, Interrupted):
        return err.signum
    if isinstance(err, KeyboardInterrupt):
        return signal.SIGINT
    return received if isinstance(err, Exception) else None


def _report_interrupted(stop: Interrupted, experiment: Path, folder: Path | None, command: str | None = None) -> None:
    """Say what an interrupted sweep (or search: ``command``, its words after `tokensim`) stored and how to
    continue it, then exit with 128 + the signal's number."""
    if folder is None:  # stopped while the experiment file was read
        lines = [f"interrupted by {stop.name} before any run started; nothing is stored"]
    else:
        lines = [
            f"interrupted by {stop.name}: {_stored(folder)}; continue with --resume:",
            f"  tokensim {command or f'sweep {experiment}'} --out {folder} --resume",
        ]
    with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
        echo("\n".join(lines), err=True)
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        sys.stderr.flush()
    # Exit at once: every stored run is on disk already (atomic chunks). A normal shutdown would run
    # concurrent.futures' atexit hook against a pool whose workers the signal is killing, which under
    # load can print a traceback after the message.
    os._exit(stop.exit_status)


def _report_lost_worker(experiment: Path, folder: Path | None) -> None:
    """A pool worker died with no signal sent to the sweep (the kernel's out-of-memory killer, a kill of that
    worker alone): say so, what is stored and how to continue, and exit with status 1 instead of a traceback."""
    lines = [
        "a worker process of the sweep died unexpectedly (killed, for example by the system when memory ran out): "
        f"{_stored(folder) if folder is not None else 'nothing is stored'}; continue with fewer workers (-j) and --resume:"
    ]
    if folder is not None:
        lines.append(f"  tokensim sweep {experiment} --out {folder} --resume")
    echo("\n".join(lines), err=True)
    raise typer.Exit(1)


def _stored(folder: Path) -> str:
    """How many runs a folder holds, as a phrase (never a traceback: a folder that cannot be read says so)."""
    from tokensim.experiment.store import ResultStore

    try:
        return f"{len(ResultStore(folder).stored_ids())} runs are stored in {folder}"
    except (InputError, OSError, ValueError) as err:  # an unreadable chunk: say so, not a traceback
        return f"the runs stored in {folder} cannot be counted ({err})"


def _run_noting(run: Callable[[], _Ran]) -> _Ran:
    """``run()``, printing each `FolderNote` it raises (what a resume cannot check, chunks moved aside) as a note line."""
    import warnings

    from tokensim.experiment.store import FolderNote

    with warnings.catch_warnings():
        warnings.simplefilter("always", FolderNote)
        shown = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, FolderNote):
                echo(f"note: {message}", err=True)
            else:
                shown(message, category, *args, **kwargs)

        warnings.showwarning = show
        return run()


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


def results(
    folder: Annotated[Path, typer.Argument(help="A sweep's output folder.")], fmt: FormatOpt = TableFormat.table
) -> None:
    """Verify a sweep folder and show what it holds: runs done and missing per model and policy, and every problem.

    Exit status: 0 when every chunk is readable and this experiment's, no run is stored twice
    and no input changed (runs may still be missing); 1 when a problem is found (each is listed);
    2 when the folder is not a results folder at all.
    """
    from tokensim.experiment import verify_results

    check = verify_results(folder)
    manifest = check.manifest
    inputs = f", inputs hash {manifest['inputs_hash']}" if "inputs_hash" in manifest else ""
    say = functools.partial(message, fmt=fmt)  # the data alone on stdout in a data format
    say(
        f"experiment {manifest.get('experiment')} (hash {manifest.get('experiment_hash')}{inputs}), "
        f"tokensim {manifest.get('tokensim_version')}"
    )
    import pandas as pd

    if check.missing is not None:
        columns = ["model", "policy", "done", "missing"]
        table = pd.DataFrame([(c.model, c.policy, c.done, c.missing) for c in check.counts], columns=columns)
    else:
        columns = ["model", "policy", "runs"]
        table = pd.DataFrame([(c.model, c.policy, c.done) for c in check.counts], columns=columns)
    if fmt is not TableFormat.table:
        data(table, fmt)
    elif not check.counts:
        echo("no runs stored")
    else:
        echo(fitted(table.set_index(["model", "policy"])))
    if check.counts and check.missing is not None and check.extra_runs:
        say(f"plus {check.extra_runs} runs added by sequential stopping")
    if check.writer is not None:
        say(f"note: a sweep is writing this folder now ({check.writer.describe()}): more runs may come")
    for note in check.notes:
        say(f"note: {note}")
    findings = [f"{p.path}: {p.message}" for p in check.problems]
    if check.duplicate_runs:
        findings.append(f"{check.duplicate_runs} runs are stored more than once (the copies are not counted above)")
    findings += [f"{c} changed since the results were run: it reads differently now" for c in check.changed]
    older = manifest.get("semantics", 1) != SEMANTICS  # its inputs read differently by design (a note above)
    if not findings:
        say(
            f"checked {_count(check.chunks, 'chunk')}, {_count(check.rows, 'row')}: every chunk readable and this experiment's, "
            "no run stored twice" + (", no input changed" if "inputs" in manifest and not older else "")
        )
        return
    for finding in findings:
        say(f"problem: {finding}")
    advice = []
    if check.problems:
        advice.append(
            f"`tokensim sweep EXPERIMENT --out {folder} --resume --quarantine` moves the bad chunks to "
            f"{Path(folder) / 'quarantine'} and runs their runs again"
        )
    if check.changed:
        advice.append("restore the changed inputs to resume, or sweep into a new --out folder")
    say(f"{_count(len(findings), 'problem')} found; " + "; ".join(advice))
    raise typer.Exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
