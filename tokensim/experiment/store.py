"""The result store: a folder holding one experiment's Parquet dataset, written in atomic chunks.

    DIR/experiment.yaml   the experiment file as run
    DIR/manifest.json     experiment hash, digests of every input it names (`inputs`), name, tokensim version
    DIR/runs/part-*.parquet   result rows, each file written to a temporary name then renamed
    DIR/writer.lock       held by the one sweep writing the folder (`lock`)
    DIR/quarantine/       chunks moved aside by ``--resume --quarantine``

A chunk is either wholly there or not at all, so a sweep killed at any moment
(SIGKILL included) loses at most the runs it had not yet written, and `--resume`
redoes exactly those. The folder is one experiment's: a writer holds its lock, refuses
another experiment or a changed input, never stores a run id twice; readers judge
every chunk (`chunks.scan`) and refuse what they cannot stand behind, naming the chunk.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import JsonValue

from tokensim.errors import InputError
from tokensim.experiment.chunks import ChunkProblem, ChunkScan, read_chunk, refuse, scan
from tokensim.experiment.factor_columns import declared_levels, typed_factors
from tokensim.experiment.inputs import ExperimentChanged, refuse_changed
from tokensim.experiment.lock import FolderLock
from tokensim.model.documents import read_document, require_regular_file

RUNS = "runs"
QUARANTINE = "quarantine"


class FolderNote(UserWarning):
    """Something a sweep into a folder says without stopping: what a resume cannot check, chunks moved aside.

    ``tokensim sweep`` prints each as a ``note:`` line; from Python it is a warning.
    """


class ResultStore:
    """Append-only, crash-safe storage of result rows in ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._stored: set[str] | None = (
            None  # the run ids stored, as last read (`scan`) or written: what `append` skips
        )

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> dict[str, JsonValue] | None:
        """The stored manifest, or None for a new folder.

        A manifest that cannot be read as a JSON object (cut short, edited by hand) is an
        `InputError` naming the file, not a traceback.
        """
        if not self.manifest_path.exists():
            return None
        require_regular_file(self.manifest_path)  # a FIFO in its place would block the read forever
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError.single(
                str(self.manifest_path),
                "",
                f"corrupt manifest, not JSON ({err}); the folder's results "
                "cannot be checked against their experiment (re-run the sweep into a new --out folder)",
            ) from None
        except OSError as err:
            raise InputError.single(str(self.manifest_path), "", f"cannot read it: {err.strerror or err}") from None
        if not isinstance(data, dict):
            raise InputError.single(
                str(self.manifest_path), "", f"corrupt manifest: expected a JSON object, found {type(data).__name__}"
            )
        return data

    def initialise(
        self, manifest: dict[str, JsonValue], experiment_text: str, *, resume: bool, quarantine: bool = False
    ) -> None:
        """Prepare the folder for a sweep (hold its `lock.FolderLock` first).

        Refuses (`InputError`, one message): another experiment's folder, an input changed since
        its results were run, a second sweep without ``resume``, runs without a manifest, a
        ``runs`` that is not a folder (``quarantine`` moves it aside instead). A manifest without
        input digests (written before tokensim kept them) is resumed with a `FolderNote` saying
        what cannot be checked.
        """
        existing = self.manifest()
        has_runs = self.holds_runs()
        if existing is None and has_runs:
            raise InputError.single(
                str(self.root),
                "manifest.json",
                f"missing, but {RUNS}/ holds result chunks: which experiment they belong to cannot be told, "
                "so nothing is added to them; sweep into a new --out folder",
            )
        current_inputs = manifest.get("inputs")
        if existing is not None:
            if existing.get("experiment_hash") != manifest["experiment_hash"]:
                raise ExperimentChanged.single(
                    str(self.root),
                    "experiment",
                    "this folder holds results of a different experiment file; use a new --out folder "
                    "(or restore the original experiment file to resume)",
                )
            written = existing.get("semantics", 1)
            if has_runs and written != manifest.get("semantics", written):
                version = existing.get("tokensim_version") or "an earlier version"
                raise InputError.single(
                    str(self.root),
                    "manifest.json",
                    f"holds runs simulated under version-{written} semantics (tokensim {version}); this tokensim "
                    f"simulates version {manifest.get('semantics')} (docs/model.md), whose numbers differ, so no run "
                    "is added to them; sweep into a new --out folder (the old folder still loads, reports and plots)",
                )
            if not resume and has_runs:
                raise InputError.single(
                    str(self.root),
                    "",
                    "already holds results of this experiment; pass --resume to continue it, or choose a new --out folder",
                )
            if isinstance(current_inputs, dict) and has_runs:
                if "inputs" in existing:
                    refuse_changed(str(self.root), existing["inputs"], current_inputs)
                else:  # results of unknown inputs: keep the manifest saying so, and say it each time
                    manifest = {k: v for k, v in manifest.items() if k not in ("inputs", "inputs_hash")}
                    warnings.warn(_unchecked(self.manifest_path, existing), FolderNote, stacklevel=3)
        self.root.mkdir(parents=True, exist_ok=True)
        if quarantine:
            self.quarantine()
        runs = self.root / RUNS
        if runs.exists() and not runs.is_dir():
            raise InputError.single(str(runs), "", RUNS_NOT_FOLDER)
        runs.mkdir(exist_ok=True)
        for leftover in runs.glob(".part-*.tmp"):  # half-written by a writer that died (the lock says none is alive)
            leftover.unlink(missing_ok=True)
        _atomic_write(self.root / "experiment.yaml", experiment_text.encode())
        _atomic_write(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True).encode())

    def holds_runs(self) -> bool:
        """Whether the folder holds results: chunks in ``runs/``, or a ``runs`` that is not a folder."""
        runs = self.root / RUNS
        if runs.is_dir():
            return any(runs.glob("part-*.parquet"))
        return runs.exists() or runs.is_symlink()

    def writing(self) -> FolderLock:
        """The folder's writer lock (created with the folder), to hold while a sweep checks and writes it."""
        if self.root.exists() and not self.root.is_dir():
            raise InputError.single(str(self.root), "", "is a file; a sweep writes to a folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError.single(str(self.root), "", f"cannot create the folder: {err.strerror or err}") from None
        return FolderLock(self.root)

    def parts(self) -> list[Path]:
        """The chunk files, in name order; `InputError` when ``runs`` is not a folder."""
        folder = self.root / RUNS
        if not folder.exists():
            return []
        if not folder.is_dir():
            raise InputError.single(str(folder), "", RUNS_NOT_FOLDER)
        return sorted(folder.glob("part-*.parquet"))

    def stored_ids(self) -> set[str]:
        """Run ids already stored (an `InputError` naming a chunk that cannot be read)."""
        ids: set[str] = set()
        for part in self.parts():
            ids.update(read_chunk(part, ["run_id"]).column("run_id").to_pylist())
        return ids

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Write rows as one new chunk, atomically; a run id already stored (or repeated in ``rows``) is never written again.

        The writer holds the folder's lock, so the ids it knows are every id stored: no two
        chunks can hold one run (a copy would count as an extra replication).
        """
        if self._stored is None:
            self._stored = self.stored_ids()
        fresh: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["run_id"] not in self._stored:
                fresh.setdefault(row["run_id"], row)
        if not fresh:
            return
        new = list(fresh.values())
        table = pa.Table.from_pandas(pd.DataFrame(new), preserve_index=False)
        name = f"part-{min(r['run_index'] for r in new):09d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.root / RUNS / f".{name}.tmp"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / RUNS / name)
        self._stored.update(fresh)

    def scan(self) -> ChunkScan:
        """Every chunk read and judged against the manifest's experiment hash (`chunks.scan`)."""
        manifest = self.manifest() or {}
        found = scan(self.parts(), manifest.get("experiment_hash"))
        self._stored = {i for t in found.kept for i in t.column("run_id").to_pylist()}  # what a writer then skips
        return found

    def load(self) -> pd.DataFrame:
        """Every stored row, in run order; refuses (one `InputError` naming the chunk) a chunk that cannot be
        read, is not results, holds another experiment's rows or copies of runs stored elsewhere."""
        found = self.scan()
        refuse(found.problems, self.root)
        if not found.kept:
            return pd.DataFrame()
        frame: pd.DataFrame = pd.concat([t.to_pandas() for t in found.kept], ignore_index=True)
        ordered = frame.sort_values("run_index", kind="stable").reset_index(drop=True)
        return typed_factors(ordered, self.factor_levels())

    def factor_levels(self) -> dict[str, list[object]]:
        """The grid factors' values its ``experiment.yaml`` declares; none when it cannot be read.

        They only order the factor columns' categories (`typed_factors`): without them a column is
        ordered by the values it holds, so an unreadable file costs nothing but that.
        """
        try:
            data, _ = read_document(self.root / "experiment.yaml")
        except (InputError, OSError):
            return {}
        factors = data.get("factors") if isinstance(data, dict) else None
        return declared_levels(factors) if isinstance(factors, dict) else {}

    def quarantine(self) -> list[ChunkProblem]:
        """Move every bad chunk (and a ``runs`` that is not a folder) to ``DIR/quarantine/``; what was moved, and why.

        Their runs are then missing, and a resume runs them again. Hold the folder's lock.
        """
        moved: list[ChunkProblem] = []
        runs = self.root / RUNS
        if (runs.exists() or runs.is_symlink()) and not runs.is_dir():
            moved.append(ChunkProblem(str(runs), "runs is a file", RUNS_NOT_FOLDER))
        else:
            moved.extend(self.scan().problems)
        if not moved:
            return moved
        (self.root / QUARANTINE).mkdir(exist_ok=True)
        for problem in moved:
            source = Path(problem.path)
            target = self.root / QUARANTINE / source.name
            if target.exists():  # a chunk of that name was quarantined before
                target = target.with_name(f"{source.name}.{uuid.uuid4().hex[:8]}")
            os.replace(source, target)
        self._stored = None
        listed = "; ".join(f"{Path(p.path).name}: {p.message}" for p in moved[:_LISTED])
        listed += f"; and {len(moved) - _LISTED} more" if len(moved) > _LISTED else ""
        warnings.warn(
            f"{self.root}: moved {len(moved)} {'entry' if len(moved) == 1 else 'entries'} to {self.root / QUARANTINE} "
            f"({listed}); their runs are run again",
            FolderNote,
            stacklevel=3,
        )
        return moved


_LISTED = 5  # chunks a quarantine note names one by one (assumption: the rest are counted; `results` lists all)
RUNS_NOT_FOLDER = (
    "is not a folder: a results folder keeps its chunks in runs/; "
    "`tokensim sweep EXPERIMENT --out DIR --resume --quarantine` moves it aside and runs the sweep's runs again"
)


def _unchecked(path: Path, manifest: dict[str, JsonValue]) -> str:
    """What a resume of a folder whose manifest has no input digests cannot check."""
    version = manifest.get("tokensim_version")
    writer = f"tokensim {version}" if version else "an earlier version of tokensim"
    return (
        f"{path}: written by {writer}, without digests of the models, policies and costs the experiment "
        "names: this resume cannot check that they are unchanged since the stored runs (if one changed, the folder "
        "now mixes two sets of rows; a new --out folder is the sure way)"
    )


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def load_results(folder: str | Path) -> pd.DataFrame:
    """Every row stored in a sweep's output folder, in run order.

    Refuses, in one `InputError` naming the chunk, a folder whose rows cannot all be stood
    behind: an unreadable or foreign chunk, rows of another experiment, runs stored twice
    (`tokensim results` lists every problem; ``sweep --resume --quarantine`` repairs).
    """
    store = ResultStore(folder)
    if store.manifest() is None:
        held = f", yet {RUNS}/ holds result chunks: their experiment cannot be told" if store.holds_runs() else ""
        raise InputError.single(str(folder), "", f"is not a tokensim results folder (no manifest.json{held})")
    return store.load()
