"""The result store: a folder holding a Parquet dataset written in atomic chunks.

    DIR/experiment.yaml   the experiment file as run
    DIR/manifest.json     experiment hash, name, tokensim version
    DIR/runs/part-*.parquet   result rows, each file written to a temporary name then renamed

A chunk is either wholly there or not at all, so a sweep killed at any moment
(SIGKILL included) loses at most the runs it had not yet written, and `--resume`
redoes exactly those.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import JsonValue

from tokensim.errors import InputError

RUNS = "runs"


class ResultStore:
    """Append-only, crash-safe storage of result rows in ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

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

    def initialise(self, manifest: dict[str, JsonValue], experiment_text: str, *, resume: bool) -> None:
        """Prepare the folder for a sweep; refuse to mix two different experiments."""
        existing = self.manifest()
        if existing is not None:
            if existing.get("experiment_hash") != manifest["experiment_hash"]:
                raise InputError.single(
                    str(self.root),
                    "experiment",
                    "this folder holds results of a different experiment file; use a new --out folder "
                    "(or restore the original experiment file to resume)",
                )
            if not resume and self.stored_ids():
                raise InputError.single(
                    str(self.root),
                    "",
                    "already holds results of this experiment; pass --resume to continue it, or choose a new --out folder",
                )
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / RUNS).mkdir(exist_ok=True)
        _atomic_write(self.root / "experiment.yaml", experiment_text.encode())
        _atomic_write(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True).encode())

    def parts(self) -> list[Path]:
        folder = self.root / RUNS
        return sorted(folder.glob("part-*.parquet")) if folder.exists() else []

    def stored_ids(self) -> set[str]:
        """Run ids already stored."""
        ids: set[str] = set()
        for part in self.parts():
            ids.update(pq.read_table(part, columns=["run_id"]).column("run_id").to_pylist())
        return ids

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Write rows as one new chunk, atomically."""
        if not rows:
            return
        table = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
        name = f"part-{min(r['run_index'] for r in rows):09d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.root / RUNS / f".{name}.tmp"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / RUNS / name)

    def load(self) -> pd.DataFrame:
        """Every stored row, in run order."""
        parts = self.parts()
        if not parts:
            return pd.DataFrame()
        frame: pd.DataFrame = pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)
        return frame.sort_values("run_index", kind="stable").reset_index(drop=True)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def load_results(folder: str | Path) -> pd.DataFrame:
    """Every row stored in a sweep's output folder, in run order."""
    store = ResultStore(folder)
    if store.manifest() is None:
        raise InputError.single(str(folder), "", "is not a tokensim results folder (no manifest.json)")
    return store.load()
