"""Running an experiment: the thin orchestrator over planning, tasks, executors, stopping and the store.

`Experiment` validates a file (`validation`), expands it into a plan (`plan`), cuts the
runs not yet stored into tasks (`tasks`), hands them to an executor (`executors`), appends
the rows to a `ResultStore` in atomic chunks (`store`) and, with ``until``, loops over the
stopping decisions (`stopping`) until every interval is tight enough.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from concurrent.futures import Executor
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from pydantic import JsonValue

from tokensim._version import SEMANTICS, __version__
from tokensim.errors import InputError
from tokensim.experiment.execute import execute
from tokensim.experiment.executors import TaskExecutor, open_executor
from tokensim.experiment.factor_columns import declared_levels, typed_factors
from tokensim.experiment.inputs import ExperimentChanged, inputs_hash, manifest_inputs, refuse_changed
from tokensim.experiment.plan import Plan, Run, build_plan, plan_runs
from tokensim.experiment.spec import ExperimentFile, Until
from tokensim.experiment.stopping import next_replications, stopping_units, units_to_extend
from tokensim.experiment.store import FolderNote, ResultStore
from tokensim.experiment.tasks import Row
from tokensim.experiment.validation import overridden_settings, resolve
from tokensim.model.loading import read_document, validate_as

if TYPE_CHECKING:
    from distributed import Client


__all__ = ["Experiment", "ExperimentChanged"]


class Experiment:
    """An experiment file, validated and expanded, ready to run.

    From a file: ``Experiment.from_yaml("experiments/hybrid_vs_binding.yaml").run(out="results/hybrid")``.
    A small one from Python, into a temporary folder, serially:

    >>> import tempfile
    >>> exp = Experiment.from_dict({"name": "doc", "models": ["ci_pipeline"], "policies": ["bearer", "mtls"],
    ...                             "replications": 2, "seed": 1, "horizon": "30d"})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     frame = exp.run(out=folder, workers=1, progress=False)
    >>> len(frame), sorted(frame["policy"].unique())
    (4, ['bearer', 'mtls'])
    """

    def __init__(
        self, spec: ExperimentFile, source: str = "<python>", text: str | None = None, *, units_required: bool = False
    ) -> None:
        self.spec = spec
        self.source = source
        self.units_required = units_required  # files: factor values must carry their units, like model files
        self.text = text if text is not None else json.dumps(spec.model_dump(mode="json"), indent=2)
        self.plan: Plan = build_plan(spec, source, resolve(spec, source, units_required))

    @classmethod
    def from_yaml(cls, path: str | Path) -> Experiment:
        """Load and validate an experiment file (YAML or JSON)."""
        data, source = read_document(path)
        spec = validate_as(ExperimentFile, data, source, units_required=True)
        return cls(spec, source, Path(path).read_text(encoding="utf-8"), units_required=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<python>") -> Experiment:
        """Validate an experiment given as a dict (numbers without units are hours, rates per hour)."""
        return cls(validate_as(ExperimentFile, data, source), source)

    @classmethod
    def from_folder(cls, folder: str | Path, *, checked: bool = True) -> Experiment:
        """The experiment a sweep folder was run with (its ``experiment.yaml``), checked against its manifest.

        A sweep started from a file keeps that file (units required, as written); one started
        from Python (`from_dict`) keeps its validated spec, whose numbers are hours, and is
        read back the same way (the manifest's ``units_required`` says which; a folder whose
        manifest does not say is read as a file, else as a spec). Raises `InputError` when the
        file is missing or unreadable, `ExperimentChanged` (an `InputError`) when it no longer
        matches the hash the folder's results were run with, or when a model, policy or the cost
        model it names reads differently now (the manifest's ``inputs``; a folder written before
        tokensim kept them is not checked). ``checked=False`` skips both checks (`verify_results`
        makes them itself, to report them).
        """
        store = ResultStore(folder)
        path = store.root / "experiment.yaml"
        manifest = store.manifest() or {}
        written = manifest.get("units_required")
        if written is None:
            try:
                exp = cls.from_yaml(path)
            except (InputError, OSError) as err:
                try:
                    exp = cls._from_spec_file(path)
                except (InputError, OSError, TypeError):
                    raise err from None
        elif written:
            exp = cls.from_yaml(path)
        else:
            exp = cls._from_spec_file(path)
        if not checked:
            return exp
        if manifest.get("experiment_hash") not in (None, exp.plan.experiment_hash):
            raise ExperimentChanged.single(
                str(path),
                "",
                "no longer matches the experiment hash its results were run with "
                f"({manifest['experiment_hash']}); restore the original file",
            )
        if "inputs" in manifest:
            refuse_changed(str(store.root), manifest["inputs"], manifest_inputs(exp.plan.inputs))
        return exp

    @classmethod
    def _from_spec_file(cls, path: Path) -> Experiment:
        """An experiment from a file holding a validated spec (numbers in hours), as `from_dict` stores it."""
        data, source = read_document(path)
        return cls.from_dict(data, source)

    def runs(self, replications: Iterable[int] | None = None, variants: Iterable[int] | None = None) -> list[Run]:
        """The runs of the given replications (default: the first `replications`) and variants, in row order."""
        return plan_runs(self.plan, replications, variants)

    def run(
        self,
        out: str | Path | None = None,
        *,
        executor: Executor | Client | None = None,
        workers: int | None = None,
        resume: bool = False,
        progress: bool = True,
        quarantine: bool = False,
    ) -> pd.DataFrame:
        """Run every run not yet stored and return all rows (stored and new) in run order.

        ``executor``: any `concurrent.futures.Executor` or a Dask `distributed.Client`;
        by default a process pool over ``workers`` processes (all cores), serial when
        ``workers == 1``. Results go to ``out`` (default: the file's ``out``) in atomic
        chunks; with ``resume`` the runs already there are skipped; with ``quarantine``
        (a resume only) the chunks that cannot be read, or hold another experiment's rows or
        copies, are moved to ``out/quarantine/`` first and their runs run again. While it runs
        the folder is locked: a second writer gets an `InputError` naming this one.
        """
        if quarantine and not resume:
            raise InputError.single("quarantine", "", "applies to a resume only (resume=True, --resume)")
        for sentence in overridden_settings(self.spec):  # legal, but the policy's own setting never runs
            warnings.warn(FolderNote(f"{self.source}: {sentence}"), stacklevel=2)
        folder = out if out is not None else self.spec.out
        store = ResultStore(folder) if folder is not None else None
        stored: set[str] = set()
        rows: list[Row] = []
        with ExitStack() as held:
            if store is not None:
                held.enter_context(store.writing())  # before anything is checked or written, released last
                store.initialise(self._manifest(), self.text, resume=resume, quarantine=quarantine)
                rows = cast(list[Row], store.load().to_dict("records"))
                stored = {row["run_id"] for row in rows}
            backend = open_executor(executor, workers)
            try:
                first = self.runs()
                rows.extend(self._execute([r for r in first if r.run_id not in stored], backend, store, progress))
                if self.spec.until is not None:
                    counted = {r.run_id: r.variant for r in first}
                    rows = self._until(self.spec.until, rows, stored, counted, backend, store, progress)
            finally:
                backend.close()
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        ordered = frame.sort_values("run_index", kind="stable").reset_index(drop=True)
        return typed_factors(ordered, declared_levels(self.spec.factors))

    def _manifest(self) -> dict[str, JsonValue]:
        """What the folder's manifest.json records: the experiment, its hash and every input's digest."""
        return {
            "experiment": self.spec.name,
            "experiment_hash": self.plan.experiment_hash,
            "inputs": manifest_inputs(self.plan.inputs),
            "inputs_hash": inputs_hash(self.plan.experiment_hash, self.plan.inputs),
            "source": self.source,
            "tokensim_version": __version__,
            "semantics": SEMANTICS,  # a resume refuses a folder simulated under other semantics
            "units_required": self.units_required,  # how `from_folder` reads experiment.yaml back
        }

    def _until(
        self,
        until: Until,
        rows: list[Row],
        stored: set[str],
        counted: dict[str, int],
        backend: TaskExecutor,
        store: ResultStore | None,
        progress: bool,
    ) -> list[Row]:
        """Sequential stopping: add replications where the interval is still too wide (see `stopping`).

        ``counted`` maps the run id of every run judged so far to its variant; it grows
        with each batch.
        """
        batch = until.batch or self.spec.replications
        units = stopping_units(self.plan)
        done = dict.fromkeys(range(len(self.plan.variants)), self.spec.replications)
        while True:
            frame = pd.DataFrame(rows)
            if until.metric not in frame.columns:
                raise InputError.single(self.source, "until.metric", f"unknown metric {until.metric!r}")
            wide = units_to_extend(frame, counted, done, until, units)
            if not wide:
                return rows
            new_runs: list[Run] = []
            for v, reps in next_replications(wide, units, done, until, batch).items():
                done[v] = reps.stop
                runs = self.runs(reps, [v])
                counted.update((r.run_id, r.variant) for r in runs)
                new_runs.extend(r for r in runs if r.run_id not in stored)
            if new_runs:  # none when a resumed sweep already holds this batch: go on deciding
                rows.extend(self._execute(new_runs, backend, store, progress))

    def _execute(self, runs: list[Run], backend: TaskExecutor, store: ResultStore | None, progress: bool) -> list[Row]:
        """Run and store; on Ctrl-C, store what finished and stop."""
        return execute(self.plan, runs, backend, store, progress=progress)
