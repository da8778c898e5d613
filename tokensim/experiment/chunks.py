"""Reading a results folder's chunks, and judging each: readable, this experiment's, not a copy.

`scan` reads every ``runs/part-*.parquet`` whole and sorts each into kept or one of four
problems, so that every command that reads a folder (``sweep --resume``, ``results``,
``report``, ``plot``, `load_results`) says the same thing about it, naming the chunk, and
never shows a pyarrow traceback:

- ``unreadable``: cannot be opened or is not Parquet (truncated, overwritten, no permission);
- ``not results``: Parquet, but without the columns every result row has (another program's file);
- ``foreign``: rows of another experiment (their experiment hash is not the manifest's);
- ``duplicate``: repeats runs an earlier chunk holds (two writers, or a chunk copied by hand):
  read twice they would count as extra replications and narrow every interval.

Chunks are judged in name order, the first holder of a run id is kept; a judged chunk is left
as it is (`ResultStore.quarantine` moves the bad ones aside, and a resume runs their runs again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tokensim.errors import InputError

#: Columns every stored result row has (see `tokensim.experiment.tasks.run_columns`).
ROW_KEYS: tuple[str, ...] = ("run_id", "run_index", "experiment_hash")
_REASON_CHARS = 160  # pyarrow's explanation is quoted up to this length (assumption: its first sentence)


@dataclass(frozen=True)
class ChunkProblem:
    """What is wrong with one chunk (or with ``runs/`` itself): which file, which kind, in words."""

    path: str
    kind: str  # unreadable, not results, foreign, duplicate, runs is a file
    message: str


@dataclass(frozen=True)
class ChunkScan:
    """Every chunk of a folder, judged: the tables kept, and the problems found."""

    kept: tuple[pa.Table, ...] = ()
    problems: tuple[ChunkProblem, ...] = ()
    duplicate_runs: int = 0  # run ids stored more than once (in this experiment's readable chunks)


def read_chunk(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """One chunk as a table; an `InputError` naming it (``unreadable`` or ``not results``) when it cannot be used."""
    problem = _unusable(path)
    if problem is not None:
        raise InputError.single(problem.path, "", problem.message)
    try:
        return pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise InputError.single(str(path), "", _unreadable(err)) from None


def _unusable(path: Path) -> ChunkProblem | None:
    """Whether ``path`` can be a chunk at all, read from its Parquet footer (cheap) rather than its data."""
    if not path.is_file():
        return ChunkProblem(str(path), "unreadable", "not a file (a results chunk is a Parquet file)")
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError, ValueError) as err:
        return ChunkProblem(str(path), "unreadable", _unreadable(err))
    missing = [c for c in ROW_KEYS if c not in names]
    if missing:
        return ChunkProblem(
            str(path),
            "not results",
            f"a Parquet file, but not a tokensim results chunk (no {', '.join(missing)} column)",
        )
    return None


def _unreadable(err: BaseException) -> str:
    if isinstance(err, PermissionError):
        return "cannot read this results chunk: permission denied"
    reason = " ".join(str(err).split())
    if len(reason) > _REASON_CHARS:
        reason = reason[: _REASON_CHARS - 3] + "..."
    return f"cannot read this results chunk: truncated, or not Parquet ({reason})"


def scan(parts: Sequence[Path], experiment_hash: object) -> ChunkScan:
    """Read and judge every chunk (in name order); ``experiment_hash``: the manifest's (None: rows not judged by it)."""
    kept: list[pa.Table] = []
    problems: list[ChunkProblem] = []
    owner: dict[str, str] = {}  # run id -> the kept chunk holding it
    copies: Counter[str] = Counter()
    for part in parts:
        problem = _unusable(part)
        if problem is None:
            try:
                table = pq.read_table(part)
            except (pa.ArrowException, OSError, ValueError) as err:
                problem = ChunkProblem(str(part), "unreadable", _unreadable(err))
        if problem is not None:
            problems.append(problem)
            continue
        hashes = set(table.column("experiment_hash").to_pylist())
        if experiment_hash is not None and hashes - {experiment_hash}:
            other = ", ".join(sorted(str(h) for h in hashes - {experiment_hash}))
            problems.append(
                ChunkProblem(
                    str(part),
                    "foreign",
                    f"holds rows of another experiment (hash {other}; this folder's is {experiment_hash})",
                )
            )
            continue
        ids = table.column("run_id").to_pylist()
        copies.update(ids)
        again = [i for i in dict.fromkeys(ids) if i in owner]
        within = len(ids) - len(set(ids))
        if again or within:
            where = f"{len(again)} runs already stored in {owner[again[0]]}" if again else f"{within} runs twice"
            problems.append(
                ChunkProblem(str(part), "duplicate", f"holds {where} (copies would be counted as extra replications)")
            )
            continue
        owner.update(dict.fromkeys(ids, part.name))
        kept.append(table)
    return ChunkScan(tuple(kept), tuple(problems), sum(1 for n in copies.values() if n > 1))


def refuse(problems: Sequence[ChunkProblem], folder: Path) -> None:
    """Raise the first problem as one `InputError` naming its chunk, with how to see them all and how to repair."""
    if not problems:
        return
    first = problems[0]
    more = {1: "", 2: " (1 more problem)"}.get(len(problems), f" ({len(problems) - 1} more problems)")
    raise InputError.single(
        first.path,
        "",
        f"{first.message}{more}; `tokensim results {folder}` lists every problem, and `tokensim sweep EXPERIMENT "
        f"--out {folder} --resume --quarantine` moves the bad chunks to {folder / 'quarantine'} and runs their runs again",
    )
