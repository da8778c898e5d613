"""The typed records a stolen family is made of: its targets, what it holds, where it came from.

Data only (the rules that read them are `bundle.Bundle`'s): a target `Cell`, the thief's `CellState`
at one moment, the `Loot` a leak exposed (with a resident thief's `ResidentGains`), the `MintRules`
of its client, its `Origin` and the engine's `Progress` with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from tokensim.model.routes import Effect, Tier
from tokensim.sim.detection import FailureKind

INF = math.inf


@dataclass(frozen=True)
class Cell:
    """A target of the thief's replays: one resource and one privilege tier."""

    index: int
    resource: str
    tier: Tier
    weight: float  # share of the thief's attempts aimed here
    effect: Effect  # route analysis, weakest path
    sensitivity: float
    revocation: Literal["introspection", "jwt", "caep"]
    propagation_delay: float


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


class CapturedToken(NamedTuple):
    """A captured access token: which token it is (its audience and tier) and when it expires."""

    token: str
    expiry: float


@dataclass(frozen=True)
class MintRules:
    """What a thief needs to mint tokens for one client (from its authentication and the policy)."""

    rt_needs_key: bool = False  # refreshing needs the victim's key (bound RT or mTLS client auth)
    rt_needs_secret: bool = False  # confidential client: refreshing needs the client secret
    secret_needs_key: bool = False  # mTLS client authentication
    own_key_rt: bool = False  # tokens minted from the refresh token are bound to the thief's own key
    own_key_secret: bool = False  # tokens minted with the secret are bound to the thief's own key
    jit_tiers: frozenset[str] = frozenset()  # tiers whose tokens are issued just in time against the key


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
    presigned: dict[int, float] = field(default_factory=dict)  # per cell: pre-signed proofs usable until
    own_grant_until: float = -INF  # a fresh grant with the thief's own key mints until then
    own_revoked_at: float | None = None  # the response to a detection revokes it too (reuse detection does not)
    harvest_end: float = -INF  # the thief harvests the client's new tokens until then, unless evicted before
    session_until: float = -INF  # a backend-for-frontend session ridden through the victim's browser


def in_gap(gaps: tuple[tuple[float, float], ...], t: float) -> bool:
    """Whether ``t`` falls in one of the stretches ``gaps``."""
    return any(a <= t < b for a, b in gaps)


@dataclass
class Loot:
    """What the thief holds: filled by the capture functions at the leak, fixed once exploitation starts."""

    tokens: dict[int, CapturedToken] = field(default_factory=dict)  # per cell
    proofs: dict[int, float] = field(default_factory=dict)  # cell -> captured proof usable until
    rt_expiry: float | None = None  # stolen refresh token's absolute expiry
    thief_until: float = INF  # rotation: the thief's refresh token stops working
    reuse_at: float | None = None  # rotation with reuse detection fires here
    secret: bool = False  # client secret stolen
    key: Literal["exported", "oracle"] | None = None
    dwell_end: float = -INF  # an oracle key signs until the compromise ends
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
