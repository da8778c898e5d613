"""The typed records a stolen family is made of: its targets, what it holds, where it came from.

Data only (the rules that read them are `bundle.Bundle`'s): a target `Cell`, the thief's `CellState`
at one moment, the `Loot` a leak exposed (with a resident thief's `ResidentGains`), the `MintRules`
of its client, its `Origin` and the engine's `Progress` with it.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from tokensim.model.routes import Effect, Tier
from tokensim.sim.credentials import MintRules
from tokensim.sim.detection import FailureKind

__all__ = ["INF", "CapturedToken", "Cell", "CellState", "Loot", "MintRules", "Origin", "Progress", "ResidentGains"]


INF = math.inf


@dataclass(frozen=True)
class Cell:
    """A target of the thief's replays: one resource and one privilege tier."""

    index: int
    resource: str
    tier: Tier
    weight: float  # share of the thief's attempts aimed here
    effect: Effect  # route analysis, weakest path
    harm: float  # per successful request: sensitivity, times privileged_weight on the privileged tier
    revocation: Literal["introspection", "jwt", "caep"]
    propagation_delay: float
    proof_accept: float = 1.0  # chance a replay of a captured DPoP proof is accepted (jti caches per node)
    allow_listed: bool = False  # the resource accepts requests only from inside the victim's network
    records: HeldRecords | None = None  # the data the resource holds (None: no records counted)


@dataclass(frozen=True)
class HeldRecords:
    """Records a resource holds per tenant and returns per successful request (MODEL-v2.md section 6)."""

    per_tenant: int
    per_request: int

    def exposed(self, successes: int) -> int:
        """Records one tenant loses to ``successes`` requests: linear, then saturating at what it holds."""
        return min(self.per_tenant, successes * self.per_request)


@dataclass(frozen=True)
class CellState:
    """The thief's position at one moment."""

    success: tuple[bool, ...]  # per cell
    reasons: tuple[str, ...]  # per cell: why it succeeds or fails
    kinds: tuple[FailureKind, ...]  # per cell: the same, machine-readable (what a failure signals)
    holds_any: bool  # holds some unexpired, unrevoked credential (so it keeps trying)
    usable_tokens: frozenset[str]
    rt_usable: bool
    secret_usable: bool
    accept: tuple[float, ...] = ()  # per cell: chance an attempt that can succeed is accepted (1 unless thinned)

    def weighted(self, weights: tuple[float, ...]) -> tuple[float, ...]:
        """The thief's aim per cell times the acceptance: the success weight of each cell (thinning)."""
        return tuple(w * a for w, a in zip(weights, self.accept)) if self.accept else weights


class CapturedToken(NamedTuple):
    """A captured access token: which token it is (its audience and tier) and when it expires."""

    token: str
    expiry: float


@dataclass(frozen=True)
class Origin:
    """Where and when a stolen family was taken, and whose it is."""

    node: str
    vector: str
    client: str | None  # None: an issuer's signing key
    instance: int  # -1 for a signing key
    tenant: tuple[str, int] | None
    leak_time: float
    start: float  # exploitation starts (leak time + replay delay)


@dataclass
class ResidentGains:
    """What a resident thief gained beyond what was stored (`resident.py`): filled at the leak, then fixed."""

    gaps: dict[int, tuple[tuple[float, float], ...]] = field(default_factory=dict)  # per cell: no valid token
    edges: tuple[float, ...] = ()  # every gap's start and end, sorted: the change points they add
    presigned: dict[int, float] = field(default_factory=dict)  # per cell: pre-signed proofs usable until
    own_grant_until: float = -INF  # a fresh grant with the thief's own key mints until then
    own_revoked_at: float | None = None  # the response to a detection revokes it too (reuse detection does not)
    harvest_end: float = -INF  # the thief harvests the client's new tokens until then, unless evicted before
    session_until: float = -INF  # a backend-for-frontend session ridden through the victim's browser


def in_gap(gaps: tuple[tuple[float, float], ...], t: float) -> bool:
    """Whether ``t`` falls in one of the stretches ``gaps`` (sorted, disjoint: a binary search)."""
    i = bisect.bisect_right(gaps, (t, INF)) - 1
    return i >= 0 and t < gaps[i][1]


def next_edge(edges: tuple[float, ...], t: float) -> float:
    """The first of the sorted ``edges`` after ``t`` (INF: none)."""
    i = bisect.bisect_right(edges, t)
    return edges[i] if i < len(edges) else INF


@dataclass
class Loot:
    """What the thief holds: filled by the capture functions at the leak, fixed once exploitation starts."""

    tokens: dict[int, CapturedToken] = field(default_factory=dict)  # per cell
    proofs: dict[int, float] = field(default_factory=dict)  # cell -> captured proof usable until
    rt_expiry: float | None = None  # stolen refresh token's absolute expiry
    thief_until: float = INF  # rotation: the thief's refresh token stops working
    reuse_at: float | None = None  # rotation with reuse detection fires here
    secret: bool = False  # client credential stolen (see `MintRules`)
    cred_end: float = INF  # the credential authenticates until (attestation, workload identity token)
    key: Literal["exported", "oracle"] | None = None
    dwell_end: float = -INF  # an oracle key signs until the compromise ends
    key_end: float = INF  # an exported key is useful until its next rotation (client `key_lifetime`)
    forged: bool = False  # an issuer signing key: mint anything until the key is rotated
    resident: ResidentGains | None = None  # harvest, fresh grant, pre-signed proofs, a ridden session


@dataclass
class Progress:
    """The engine's account of what the thief did with a family (never read by the rules)."""

    detected: bool = False
    exposure: float = 0.0
    last_usable: float | None = None
    successes: int = 0
    usable_tokens: set[str] = field(default_factory=set)
    rt_usable: bool = False
    secret_usable: bool = False
    usable_after_start: bool = False  # some request would have succeeded once exploitation began


def describe_loot(loot: Loot, leak_time: float) -> str:
    """A family's exposed credentials in words, for the trace (``leak_time``: when it was taken)."""
    parts = []
    tokens = len({c.token for c in loot.tokens.values()})
    if tokens:
        parts.append(f"{tokens} access token{'s' if tokens > 1 else ''}")
    if loot.proofs:
        parts.append(f"{len(loot.proofs)} DPoP proof{'s' if len(loot.proofs) > 1 else ''}")
    if loot.rt_expiry is not None:
        parts.append("refresh token")
    if loot.secret:
        parts.append("client secret")
    if loot.key == "exported":
        parts.append("exported key")
    elif loot.key == "oracle":
        parts.append("signing oracle until dwell ends")
    if loot.forged:
        parts.append("issuer signing key")
    gains = loot.resident
    if gains is not None:
        if tokens and gains.harvest_end > leak_time:
            parts[0] += f" harvested until {gains.harvest_end:.3f} h"
        if gains.presigned:
            parts.append(
                f"pre-signed DPoP proofs for {len(gains.presigned)} target{'s' if len(gains.presigned) > 1 else ''}"
            )
        if gains.own_grant_until > -INF:
            parts.append("a fresh grant with the thief's own key")
        if gains.session_until > -INF:
            parts.append("the victim's backend-for-frontend session while present")
    return ", ".join(parts)
