"""Reading what the report and the plot command work from: result rows, their experiment, event traces.

Result rows come from a sweep folder (`tokensim sweep`, read with `tokensim.load_results`;
its experiment file is read back too) or from a file written by `tokensim run --out`
(.csv or .parquet). Event traces come from `tokensim run --trace FILE.csv`.
Anything else is an `InputError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tokensim.errors import InputError
from tokensim.experiment.runner import Experiment, ExperimentChanged

if TYPE_CHECKING:
    from tokensim.experiment import Experiment

#: Columns every result row has (docs/model.md section 8).
RESULT_COLUMNS: tuple[str, ...] = ("model", "policy", "seed", "replication", "blast_radius", "integration_cost")
#: Columns that must hold whole numbers, in every row (provenance reads them as integers).
INTEGER_COLUMNS: tuple[str, ...] = ("seed", "replication")
#: Trace columns the timeline reads as numbers.
TRACE_NUMBERS: tuple[str, ...] = ("time_hours", "count")


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of result rows the report and the plots read as numbers, that ``frame`` has.

    Every metric, the seed and replication, the horizon and the policy's durations (hours).
    """
    from tokensim.analysis.configurations import DURATION_PARAMETERS
    from tokensim.outcome import METRIC_FIELDS

    wanted = [*METRIC_FIELDS, *INTEGER_COLUMNS, "horizon_hours", *sorted(DURATION_PARAMETERS), "design_point"]
    return [c for c in dict.fromkeys(wanted) if c in frame.columns]


def _not_number(values: pd.Series) -> str | None:
    """Why ``values`` is not a numeric column (None when it is): the first offending value and its row."""
    if pd.api.types.is_bool_dtype(values):
        return "holds true/false, expected numbers"
    if pd.api.types.is_numeric_dtype(values):
        return None
    parsed = pd.to_numeric(values, errors="coerce")
    bad = (parsed.isna() & values.notna()).to_numpy()
    if not bad.any():
        return None
    first = int(bad.argmax())
    return f"expected numbers, found {str(values.iloc[first])!r} (data row {first + 1})"


def check_columns(
    frame: pd.DataFrame,
    source: str,
    columns: list[str] | tuple[str, ...] | None = None,
    integers: tuple[str, ...] = INTEGER_COLUMNS,
) -> pd.DataFrame:
    """Refuse, naming the file and the column, a column that should hold numbers but does not.

    ``columns`` defaults to `numeric_columns`. Columns in ``integers`` must also have a whole
    number in every row. Numbers read as text (a column with a stray quote) are converted, so
    the caller gets numeric columns back.
    """
    columns = numeric_columns(frame) if columns is None else [c for c in columns if c in frame.columns]
    out = frame
    for column in columns:
        why = _not_number(frame[column])
        if why:
            raise InputError.single(source, column, why)
        if not pd.api.types.is_numeric_dtype(frame[column]):
            out = out.assign(**{column: pd.to_numeric(frame[column])})
        if column in integers:
            values = out[column]
            if values.isna().any():
                raise InputError.single(
                    source,
                    column,
                    f"missing in data row {int(values.isna().to_numpy().argmax()) + 1}: every result row has one",
                )
            if not (values == values.round()).all():
                raise InputError.single(
                    source, column, f"expected whole numbers, found {float(values[values != values.round()].iloc[0]):g}"
                )
    return out


@dataclass
class LoadedResults:
    """Result rows and where they came from.

    ``experiment`` is the `tokensim.Experiment` of a sweep folder (None for a results
    file, or when the folder's experiment file can no longer be read: ``note`` says why);
    ``manifest`` the folder's manifest.json.
    """

    frame: pd.DataFrame
    source: str | None
    experiment: Experiment | None = None
    manifest: dict[str, Any] | None = None
    note: str | None = None


def _read_table(path: Path) -> pd.DataFrame:
    from tokensim.model.documents import require_regular_file

    require_regular_file(path)  # a FIFO named rows.csv would block the read forever
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            # Durations (hours) must read back bit for bit, so configuration hashes can be checked:
            # pandas 3 parses floats exactly by default; earlier versions need float_precision="round_trip".
            if int(pd.__version__.split(".")[0]) >= 3:
                return pd.read_csv(path)
            return pd.read_csv(path, float_precision="round_trip")
        return pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError.single(str(path), "", f"cannot read it as a {suffix[1:]} table: {err}") from None


def _folder_experiment(folder: Path) -> tuple[Experiment | None, str | None]:
    """The experiment a sweep folder stored (`Experiment.from_folder`), or a note saying why it cannot be read back."""
    try:
        return Experiment.from_folder(folder), None
    except (
        ExperimentChanged
    ) as err:  # an edited experiment file, or a model, policy or cost model that reads differently
        return None, f"the folder's experiment no longer matches its results ({str(err).splitlines()[0]})"
    except (InputError, OSError, TypeError) as err:
        first = str(err).splitlines()[0]
        return None, f"the folder's experiment file cannot be read back ({first})"


def read_results(path: str | Path) -> LoadedResults:
    """Result rows from a sweep folder or a `.csv` / `.parquet` results file, checked."""
    from tokensim.experiment import load_results
    from tokensim.experiment.store import ResultStore
    from tokensim.outcome import TRACE_COLUMNS

    p = Path(path)
    if not p.exists():
        raise InputError.single(
            str(p),
            "",
            "no such file or folder (expected a sweep folder, or a .csv or .parquet file "
            "written by tokensim run --out)",
        )
    experiment = manifest = note = None
    if p.is_dir():
        frame = load_results(p)
        manifest = ResultStore(p).manifest()
        if frame.empty:
            raise InputError.single(str(p), "", "holds no runs yet; run (or resume) the sweep first")
        experiment, note = _folder_experiment(p)
    elif p.suffix.lower() in (".csv", ".parquet"):
        frame = _read_table(p)
    else:
        raise InputError.single(
            str(p),
            "",
            f"unsupported results file {p.suffix or '(no suffix)'!r}: expected a sweep "
            "folder, or a .csv or .parquet file written by tokensim run --out",
        )
    if {"time_hours", "event"} <= set(frame.columns) and all(c in frame.columns for c in TRACE_COLUMNS):
        raise InputError.single(
            str(p), "", "is an event trace (tokensim run --trace), not result rows; plot it with --kind timeline"
        )
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError.single(
            str(p),
            ", ".join(missing),
            "column missing: not a tokensim results file (write one with tokensim run --out FILE.csv)",
        )
    if frame.empty:
        raise InputError.single(str(p), "", "holds no result rows")
    frame = check_columns(frame, str(p))
    return LoadedResults(frame, str(p), experiment, manifest, note)


def read_trace(path: str | Path, policy: str | None = None) -> pd.DataFrame:
    """The event trace of one run from a file written by `tokensim run --trace` (one policy's rows).

    That file holds one replication (`--trace-replication`, default 0) of every policy it ran, with ``policy``
    and ``replication`` columns:
    ``policy`` picks one, and may be left out only when the file holds one policy.
    """
    from tokensim.outcome import TRACE_COLUMNS

    p = Path(path)
    if not p.exists():
        raise InputError.single(str(p), "", "no such trace file (write one with tokensim run MODEL --trace FILE.csv)")
    if p.is_dir() or p.suffix.lower() != ".csv":
        raise InputError.single(
            str(p),
            "",
            "--kind timeline plots an event trace: a .csv file written by "
            "tokensim run MODEL --trace FILE.csv (result rows hold no events)",
        )
    trace = _read_table(p)
    missing = [c for c in TRACE_COLUMNS if c not in trace.columns]
    if missing and all(c in trace.columns for c in RESULT_COLUMNS):
        raise InputError.single(
            str(p),
            "",
            "holds result rows, which record no events; --kind timeline draws a trace "
            "file: write one with tokensim run MODEL --trace FILE.csv",
        )
    if missing:
        raise InputError.single(
            str(p),
            ", ".join(missing),
            "column missing: not an event trace; write one with tokensim run MODEL --trace FILE.csv",
        )
    trace = check_columns(trace, str(p), TRACE_NUMBERS, integers=())
    if trace["time_hours"].isna().any():
        raise InputError.single(
            str(p),
            "time_hours",
            f"missing in data row {int(trace['time_hours'].isna().to_numpy().argmax()) + 1}: every event has a time",
        )
    if "policy" in trace.columns:
        held = list(dict.fromkeys(trace["policy"].astype(str)))
        if policy is None and len(held) > 1:
            raise InputError.single(
                str(p), "policy", f"the trace holds several policies ({', '.join(held)}); pick one with --policy"
            )
        if policy is not None:
            if policy not in held:
                raise InputError.single(
                    str(p), "policy", f"no trace of policy {policy!r}; the file holds: {', '.join(held) or 'none'}"
                )
            trace = trace[trace["policy"].astype(str) == policy]
    elif policy is not None:
        raise InputError.single(str(p), "policy", "the trace has no policy column: it holds one run, drop --policy")
    if "replication" in trace.columns and trace["replication"].nunique() > 1:
        replications = ", ".join(str(r) for r in sorted(trace["replication"].unique())[:10])
        raise InputError.single(
            str(p),
            "replication",
            f"the trace holds several replications ({replications}); a timeline draws one run: "
            "write its trace with tokensim run MODEL --trace FILE.csv --trace-replication N",
        )
    return trace.reset_index(drop=True)
