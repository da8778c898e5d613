"""Verifying a results folder: what it holds, what is missing, and every problem, as one typed record.

`verify_results` reads every chunk (`chunks.scan`), counts the runs done and missing per model
and policy against the experiment's plan, checks the inputs the experiment names against the
manifest's digests, and asks whether a sweep is writing the folder now. ``tokensim results``
prints the record and exits 1 when it holds a problem (`FolderCheck.clean`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue

from tokensim._version import SEMANTICS
from tokensim.errors import InputError
from tokensim.experiment.chunks import ChunkProblem
from tokensim.experiment.inputs import changed_inputs, manifest_inputs
from tokensim.experiment.lock import LockHolder, writer_of
from tokensim.experiment.runner import Experiment
from tokensim.experiment.store import RUNS, RUNS_NOT_FOLDER, ResultStore


@dataclass(frozen=True)
class RunCount:
    """Runs of one model and policy: stored, and still missing (None when the plan cannot be read back)."""

    model: str
    policy: str
    done: int
    missing: int | None


@dataclass(frozen=True)
class FolderCheck:
    """What `verify_results` found in a results folder."""

    folder: str
    manifest: dict[str, JsonValue]
    chunks: int  # chunk files found in runs/
    rows: int  # rows of the chunks kept (readable, this experiment's, no copies)
    problems: tuple[ChunkProblem, ...]  # each chunk (or runs/) that cannot be stood behind
    duplicate_runs: int  # run ids stored more than once
    counts: tuple[RunCount, ...]  # per model and policy, in plan order
    extra_runs: int  # stored runs beyond the planned first replications (sequential stopping)
    changed: tuple[str, ...]  # inputs that read differently now, as "field (source)"
    notes: tuple[str, ...]  # what could not be checked, and why
    writer: LockHolder | None  # the sweep writing the folder now, if any

    @property
    def clean(self) -> bool:
        """No problem: every chunk readable and this experiment's, no copies, no changed input."""
        return not self.problems and not self.changed

    @property
    def missing(self) -> int | None:
        """Planned runs not stored (None when the plan cannot be read back)."""
        if any(c.missing is None for c in self.counts):
            return None
        return sum(c.missing or 0 for c in self.counts)


def verify_results(folder: str | Path) -> FolderCheck:
    """Read and judge every chunk of a sweep folder, and count its runs done and missing.

    Raises `InputError` only when ``folder`` is not a results folder at all (no manifest, or one
    that is not JSON); every other finding is in the record.
    """
    store = ResultStore(folder)
    manifest = store.manifest()
    if manifest is None:
        held = f", yet {RUNS}/ holds result chunks: their experiment cannot be told" if store.holds_runs() else ""
        raise InputError.single(str(folder), "", f"is not a tokensim results folder (no manifest.json{held})")
    notes: list[str] = []
    runs = store.root / RUNS
    if runs.exists() and not runs.is_dir():
        problems: tuple[ChunkProblem, ...] = (ChunkProblem(str(runs), "runs is a file", RUNS_NOT_FOLDER),)
        chunks, kept, duplicates = 0, [], 0
    else:
        found = store.scan()
        problems, kept, duplicates = found.problems, list(found.kept), found.duplicate_runs
        chunks = len(store.parts())
    stored: Counter[tuple[str, str]] = Counter()
    ids: set[str] = set()
    for table in kept:
        ids.update(table.column("run_id").to_pylist())
        stored.update(zip(map(str, table.column("model").to_pylist()), map(str, table.column("policy").to_pylist())))
    changed: list[str] = []
    exp: Experiment | None = None
    if manifest.get("kind") == "search":  # a policy search plans its runs as it goes: none is "missing"
        notes.append("a policy search (tokensim optimize): runs per candidate as stored; `--resume` continues it")
    else:
        try:
            exp = Experiment.from_folder(store.root, checked=False)
        except (InputError, OSError, TypeError) as err:
            notes.append(
                f"the experiment cannot be read back, so missing runs are not counted ({str(err).splitlines()[0]})"
            )
    if exp is not None:  # judged against the manifest here, to report what differs rather than stop at it
        if manifest.get("experiment_hash") not in (None, exp.plan.experiment_hash):
            changed.append(f"experiment.yaml (its hash is now {exp.plan.experiment_hash})")
            exp = None  # its plan is not the one the rows were run with
        elif "inputs" in manifest:
            now = manifest_inputs(exp.plan.inputs)
            changed.extend(f"{field} ({source})" for field, source in changed_inputs(manifest["inputs"], now))
            if changed:
                exp = None  # the plan of the inputs as they are now: its run ids are not the stored runs'
        else:
            notes.append(
                "the manifest has no digests of the models, policies and costs (written by tokensim "
                f"{manifest.get('tokensim_version') or 'an earlier version'}): whether they changed cannot be checked"
            )
    written = manifest.get("semantics", 1)
    if written != SEMANTICS:
        notes.append(
            f"simulated under version-{written} semantics; this tokensim simulates version {SEMANTICS} "
            "(docs/model.md): the rows load, report and plot, columns added since (such as incidents, "
            "records_exposed, loss) are absent, and no run can be added (sweep into a new --out folder)"
        )
        if changed:  # new fields read with their defaults: expected of an older folder, not a user's edit
            notes.append(f"read by this tokensim, {', '.join(changed)} differ from what was run")
            changed = []
    counts, extra = _counts(exp, stored, ids)
    rows = sum(t.num_rows for t in kept)
    writer = writer_of(store.root)
    return FolderCheck(
        str(folder), manifest, chunks, rows, problems, duplicates, counts, extra, tuple(changed), tuple(notes), writer
    )


def _counts(
    exp: Experiment | None, stored: Counter[tuple[str, str]], ids: set[str]
) -> tuple[tuple[RunCount, ...], int]:
    """Done and missing per model and policy (plan order), and how many stored runs the first replications do not plan."""
    if exp is None:
        return tuple(RunCount(m, p, n, None) for (m, p), n in stored.items()), 0
    done: dict[tuple[str, str], int] = {}
    planned: dict[tuple[str, str], int] = {}
    first: set[str] = set()
    for run in exp.runs():
        key = (exp.plan.variants[run.variant].arch.name, run.policy.name)
        planned[key] = planned.get(key, 0) + 1
        done[key] = done.get(key, 0) + (run.run_id in ids)
        first.add(run.run_id)
    counts = tuple(RunCount(m, p, done[(m, p)], planned[(m, p)] - done[(m, p)]) for m, p in planned)
    return counts, len(ids - first)
