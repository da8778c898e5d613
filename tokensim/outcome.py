"""The outcome schema: the public contract between the engine and everything that reads its results.

Field names and their order (MODEL.md section 8, docs/model.md section 8), the trace's
columns, and the `Outcome` record type. Analysis, figures and the report read these
names, never the engine's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tokensim.sim.attribution import ATTRIBUTION_COLUMNS, AttributedRow
from tokensim.sim.trace import TraceRow

#: What the thief achieved, in the order the outcome row lists them.
BLAST_FIELDS: tuple[str, ...] = (
    "leaks",
    "incidents",
    "credentials_exposed",
    "credentials_usable",
    "replay_attempts",
    "unauthorized_requests",
    "privileged_requests",
    "records_exposed",
    "resources_reached",
    "tenants_reached",
    "organisations_reached",
    "exposure_hours",
    "blast_radius",
    "loss",
    "detections",
    "reuse_detections",
    "time_to_containment_hours",
)

#: What the policy costs (tokensim.model.cost.integration_cost), in the order the outcome row lists them.
COST_FIELDS: tuple[str, ...] = (
    "engineering_cost",
    "latency_overhead_ms",
    "token_endpoint_rps",
    "availability_loss",
    "unsupported_instances",
    "recurring_cost",
    "integration_cost",
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
    """One run's tidy record (``record``) and, when asked for, its event trace and its harm by cause."""

    record: dict[str, Any]
    trace_rows: list[TraceRow] | None = field(default=None, repr=False)
    attribution_rows: list[AttributedRow] | None = field(default=None, repr=False)

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

    @property
    def attribution(self) -> pd.DataFrame | None:
        """The harm by cause (node, vector, means; `tokensim.sim.attribution`), None unless the run was asked for it.

        Its ``requests``, ``privileged_requests`` and ``blast_radius`` sum to the record's
        ``unauthorized_requests``, ``privileged_requests`` and ``blast_radius``.
        """
        if self.attribution_rows is None:
            return None
        return pd.DataFrame(self.attribution_rows, columns=list(ATTRIBUTION_COLUMNS))
