"""The outcome of one run: field names (MODEL.md section 8) and the record type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tokensim.sim.cost import COST_FIELDS
from tokensim.sim.trace import TraceRow

#: What the thief achieved, in the order the outcome row lists them.
BLAST_FIELDS: tuple[str, ...] = (
    "leaks",
    "credentials_exposed",
    "credentials_usable",
    "replay_attempts",
    "unauthorized_requests",
    "privileged_requests",
    "resources_reached",
    "tenants_reached",
    "exposure_hours",
    "blast_radius",
    "detections",
    "reuse_detections",
    "time_to_containment_hours",
)

METRIC_FIELDS: tuple[str, ...] = BLAST_FIELDS + COST_FIELDS

#: The metrics `tokensim run` summarises by default.
MAIN_METRICS: tuple[str, ...] = (
    "unauthorized_requests",
    "blast_radius",
    "exposure_hours",
    "tenants_reached",
    "integration_cost",
)

TRACE_COLUMNS: tuple[str, ...] = (
    "time_hours",
    "event",
    "node",
    "vector",
    "client",
    "instance",
    "credential",
    "count",
    "detail",
)


@dataclass
class Outcome:
    """One run's tidy record (``record``) and, when asked for, its event trace."""

    record: dict[str, Any]
    trace_rows: list[TraceRow] | None = field(default=None, repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.record[key]

    def to_series(self) -> pd.Series:
        """The record as a pandas Series."""
        return pd.Series(self.record)

    @property
    def trace(self) -> pd.DataFrame | None:
        """The event trace as a DataFrame (None unless the run was traced)."""
        if self.trace_rows is None:
            return None
        return pd.DataFrame(self.trace_rows, columns=list(TRACE_COLUMNS))
