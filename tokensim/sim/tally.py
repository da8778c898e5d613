"""The run's counters, and how they become the blast-radius fields of the outcome record."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from tokensim.model.loss import LossFigures
from tokensim.sim.attribution import Attribution, Cause
from tokensim.sim.bundle import Bundle, Cell
from tokensim.sim.records import HeldRecords


@dataclass
class SpanSum:
    """A running sum and count of spans (hours), added left to right as they come.

    The outcome needs only their mean (`time_to_containment_hours`), so the spans are not
    kept: the sum takes O(1) memory whatever the number of families. The additions are
    sequential in the order the spans arrive (numpy's cumulative sum adds strictly left to
    right), so the sum is bit for bit that of Python 3.11's ``sum`` over the list of them,
    however they are split into arrays.
    """

    total: float = 0.0
    count: int = 0

    def add(self, spans: np.ndarray) -> None:
        """Add an array of spans, in order."""
        if spans.size:
            self.total = float(np.cumsum(np.concatenate(([self.total], spans)))[-1])
            self.count += int(spans.size)

    def mean_with(self, more: Iterable[float]) -> float:
        """The mean of every span added and then ``more`` (NaN when there are none)."""
        total, count = self.total, self.count
        for span in more:
            total += span
            count += 1
        return total / count if count else math.nan


#: A leak, as both exploitation paths name it: (node, vector, leak time). One event is one incident.
LeakKey = tuple[str, str, float]


@dataclass
class Reach:
    """Which resources, tenants and records the thief reached, the weighted harm (blast radius), and which
    leaks caused any harm (incidents: FAIR's loss events)."""

    resource_hits: dict[str, int] = field(default_factory=dict)
    tenants_hit: set[tuple[str, int]] = field(default_factory=set)
    blast_radius: float = 0.0
    #: successful requests per (resource, tenant index) at resources that hold records (MODEL-v2 section 6)
    data_hits: dict[tuple[str, int], int] = field(default_factory=dict)
    held: dict[str, HeldRecords] = field(default_factory=dict)  # what each resource of `data_hits` holds
    harmful_leaks: set[LeakKey] = field(default_factory=set)
    organisations: set[int] = field(default_factory=set)  # tenant indices with a successful request
    spread_next: dict[str, int] = field(default_factory=dict)  # per resource: the tenant a forged request hits next
    attribution: Attribution | None = None  # harm by cause, kept only when a run asks for it

    def data_requests(self, cell: Cell, tenant: int, n: int) -> None:
        """``n`` successful requests at ``cell`` against the data of tenant index ``tenant``.

        Tenant index i is the same organisation for every client population (tenant i of the SPA and of
        the mobile app share the resource's records), so two populations of one organisation never
        expose its records twice."""
        if cell.records is not None and n:
            key = (cell.resource, tenant)
            self.data_hits[key] = self.data_hits.get(key, 0) + n
            self.held[cell.resource] = cell.records

    def spread(self, cell: Cell, tenants: list[int], n: int) -> None:
        """A forged token names any tenant: its ``n`` requests at ``cell`` go round-robin over ``tenants``,
        continuing where the resource's last forged request left off (deterministic, so the run's draws stay
        as they were, and even over a run however the requests come in). Only tenants that get a request
        count as reached organisations."""
        if not tenants or n <= 0:
            return
        start = self.spread_next.get(cell.resource, 0) % len(tenants)
        base, extra = divmod(n, len(tenants))
        for k in range(len(tenants)):
            got = base + (k < extra)
            if got:
                tenant = tenants[(start + k) % len(tenants)]
                self.organisations.add(tenant)
                self.data_requests(cell, tenant, got)
        self.spread_next[cell.resource] = (start + n) % len(tenants)

    def records_exposed(self) -> int:
        """Records exposed: per (resource, tenant) min(records, successes x records_per_request), summed."""
        return sum(self.held[resource].exposed(n) for (resource, _), n in self.data_hits.items())


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
    containment: SpanSum = field(default_factory=SpanSum)  # closed-form families: leak to last usable moment
    revoked_sessions: int = 0  # legitimate sessions (instances) revocations ended: each re-authenticates

    def successes(self, cell: Cell, n: int, cause: Cause | None = None) -> None:
        """``n`` successful unauthorized requests at one cell (``cause``: by whom and how, for the attribution)."""
        if cause is not None and self.reach.attribution is not None:
            self.reach.attribution.add(cause, cell, n)
        self.unauthorized += n
        if cell.tier == "privileged":
            self.privileged += n
        self.reach.blast_radius += cell.harm * n
        self.reach.resource_hits[cell.resource] = self.reach.resource_hits.get(cell.resource, 0) + n

    def fields(self, bundles: Iterable[Bundle], loss: LossFigures | None = None) -> dict[str, int | float]:
        """The blast-radius fields of the outcome record (`tokensim.outcome.BLAST_FIELDS`, in order); ``loss``
        prices them (NaN without a model's `loss:` section)."""
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
        spans = (b.progress.last_usable - b.origin.leak_time for b in used)  # type: ignore[operator]
        records = self.reach.records_exposed()
        incidents = len(self.reach.harmful_leaks)
        tenants = len(self.reach.tenants_hit)
        organisations = len(self.reach.organisations)
        return {
            "leaks": self.leaks,
            "incidents": incidents,
            "credentials_exposed": self.credentials_exposed,
            "credentials_usable": usable,
            "replay_attempts": self.replay_attempts,
            "unauthorized_requests": self.unauthorized,
            "privileged_requests": self.privileged,
            "records_exposed": records,
            "resources_reached": len(self.reach.resource_hits),
            "tenants_reached": tenants,
            "organisations_reached": organisations,
            "exposure_hours": float(exposure),
            "blast_radius": float(self.reach.blast_radius),
            "loss": math.nan if loss is None else loss.loss(records, self.privileged, organisations, incidents),
            "detections": self.detections,
            "reuse_detections": self.reuse_detections,
            "time_to_containment_hours": float(self.containment.mean_with(spans)),
        }
