"""The run's counters, and how they become the blast-radius fields of the outcome record."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from tokensim.sim.bundle import Bundle, Cell


@dataclass
class Reach:
    """Which resources and tenants the thief reached, and the weighted harm (blast radius)."""

    resource_hits: dict[str, int] = field(default_factory=dict)
    tenants_hit: set[tuple[str, int]] = field(default_factory=set)
    blast_radius: float = 0.0


@dataclass
class Tally:
    """Counters over both exploitation paths (processes and closed-form families)."""

    leaks: int = 0
    replay_attempts: int = 0
    unauthorized: int = 0
    privileged: int = 0
    detections: int = 0
    reuse_detections: int = 0
    reach: Reach = field(default_factory=Reach)
    credentials_exposed: int = 0
    credentials_usable: int = 0  # of closed-form families; process-path bundles are added in `fields`
    exposure_hours: float = 0.0  # likewise
    containment: list[float] = field(default_factory=list)  # per closed-form family: leak to last usable moment

    def successes(self, cell: Cell, n: int) -> None:
        """``n`` successful unauthorized requests at one cell."""
        self.unauthorized += n
        if cell.tier == "privileged":
            self.privileged += n
        self.reach.blast_radius += cell.sensitivity * n
        self.reach.resource_hits[cell.resource] = self.reach.resource_hits.get(cell.resource, 0) + n

    def fields(self, bundles: Iterable[Bundle]) -> dict[str, int | float]:
        """The blast-radius fields of the outcome record (`tokensim.outcome.BLAST_FIELDS`, in order)."""
        bundles = list(bundles)
        usable = self.credentials_usable + sum(
            len(b.progress.usable_tokens)
            + b.progress.rt_usable
            + b.progress.secret_usable
            + (b.loot.forged and b.progress.usable_after_start)
            for b in bundles
        )
        # exposure counts from the leak, for families the thief could use once it began
        used = [b for b in bundles if b.progress.usable_after_start and b.progress.last_usable is not None]
        exposure = self.exposure_hours + sum(b.progress.exposure for b in used)
        spans = self.containment + [b.progress.last_usable - b.origin.leak_time for b in used]  # type: ignore[operator]
        return {
            "leaks": self.leaks,
            "credentials_exposed": self.credentials_exposed,
            "credentials_usable": usable,
            "replay_attempts": self.replay_attempts,
            "unauthorized_requests": self.unauthorized,
            "privileged_requests": self.privileged,
            "resources_reached": len(self.reach.resource_hits),
            "tenants_reached": len(self.reach.tenants_hit),
            "exposure_hours": float(exposure),
            "blast_radius": float(self.reach.blast_radius),
            "detections": self.detections,
            "reuse_detections": self.reuse_detections,
            "time_to_containment_hours": float(sum(spans) / len(spans)) if spans else math.nan,
        }
