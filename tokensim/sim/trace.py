"""The event trace of a run: typed rows, and a sink that costs nothing when a run is not traced."""

from __future__ import annotations

from typing import Literal, NamedTuple

TraceEvent = Literal["leak", "exploit", "replay", "detection", "revocation", "exposure_end"]


class TraceRow(NamedTuple):
    """One event of the trace (columns of `tokensim.Outcome.trace`)."""

    time_hours: float
    event: TraceEvent
    node: str
    vector: str
    client: str  # "" for an issuer's signing key or a leak event
    instance: int  # -1 where no instance applies
    credential: str
    count: int  # type: ignore[assignment]  # the trace column is named count; it shadows tuple.count
    detail: str


class TraceSink:
    """Collects trace rows when ``enabled``; every method is a no-op otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.rows: list[TraceRow] | None = [] if enabled else None

    @property
    def enabled(self) -> bool:
        return self.rows is not None

    def note(
        self,
        time: float,
        event: TraceEvent,
        node: str = "",
        vector: str = "",
        client: str | None = "",
        instance: int | None = None,
        credential: str = "",
        count: int = 0,
        detail: str = "",
    ) -> None:
        """Record an event (None client or instance: not applicable)."""
        if self.rows is not None:
            self.rows.append(
                TraceRow(
                    time,
                    event,
                    node,
                    vector,
                    client or "",
                    -1 if instance is None else instance,
                    credential,
                    count,
                    detail,
                )
            )

    def finish(self) -> list[TraceRow] | None:
        """The rows in time order (stable: events at one time keep their order), or None when not traced."""
        if self.rows is not None:
            self.rows.sort(key=lambda row: row[0])
        return self.rows
