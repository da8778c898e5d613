"""What one theft gives the thief, and what it lets the thief do at time t.

A `Bundle` is everything a leak exposed from one credential family (one client
instance, or an issuer's signing key): captured access tokens and DPoP proofs, a
refresh token, a client secret, a key or a signing oracle. `Bundle.state(t)` is
the pure rule of MODEL.md section 5 for each target cell (resource x tier): the
request succeeds when a token is valid, unrevoked as the issuer's revocation mode
sees it, and its binding is satisfied. Between change points the state is
constant, which lets the engine draw replays in exact Poisson bursts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from tokensim.model.routes import Effect, Tier

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
class Loot:
    """What the thief holds: filled by the capture functions at the leak, fixed once exploitation starts."""

    tokens: dict[int, CapturedToken] = field(default_factory=dict)  # per cell
    proofs: dict[int, float] = field(default_factory=dict)  # cell -> captured proof usable until
    proof_accept: dict[int, float] = field(default_factory=dict)  # cell -> chance a proof replay is accepted
    rt_expiry: float | None = None  # stolen refresh token's absolute expiry
    thief_until: float = INF  # rotation: the thief's refresh token stops working
    reuse_at: float | None = None  # rotation with reuse detection fires here
    secret: bool = False  # client secret stolen
    key: Literal["exported", "oracle"] | None = None
    dwell_end: float = -INF  # an oracle key signs until the compromise ends
    forged: bool = False  # an issuer signing key: mint anything until the key is rotated


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


@dataclass
class Bundle:
    """One stolen credential family: where it came from, what it holds, and the thief's progress with it."""

    uid: int
    origin: Origin
    cells: tuple[Cell, ...]
    loot: Loot = field(default_factory=Loot)
    rules: MintRules = field(default_factory=MintRules)
    mint_ttl: dict[Tier, float] = field(default_factory=dict)  # tier -> lifetime of minted tokens
    revoked_at: float | None = None
    progress: Progress = field(default_factory=Progress)

    start: float = field(init=False)  # = origin.start: read on every state change, so kept at hand

    def __post_init__(self) -> None:
        self.start = self.origin.start

    @property
    def weights(self) -> tuple[float, ...]:
        """Share of the thief's attempts aimed at each cell."""
        return tuple(c.weight for c in self.cells)

    def credentials(self) -> int:
        """Distinct credentials exposed: access tokens, refresh token, secret, exported key, signing key."""
        n = len({c.token for c in self.loot.tokens.values()})
        n += self.loot.rt_expiry is not None
        n += self.loot.secret
        n += self.loot.key == "exported"
        n += self.loot.forged
        return n

    def tokens_only(self) -> bool:
        """Holds nothing but captured access tokens (and proofs): resolvable in closed form."""
        return self.loot.rt_expiry is None and not self.loot.secret and self.loot.key is None and not self.loot.forged

    def describe(self) -> str:
        """The exposed credentials in words, for the trace."""
        parts = []
        tokens = len({c.token for c in self.loot.tokens.values()})
        if tokens:
            parts.append(f"{tokens} access token{'s' if tokens > 1 else ''}")
        if self.loot.proofs:
            parts.append(f"{len(self.loot.proofs)} DPoP proof{'s' if len(self.loot.proofs) > 1 else ''}")
        if self.loot.rt_expiry is not None:
            parts.append("refresh token")
        if self.loot.secret:
            parts.append("client secret")
        if self.loot.key == "exported":
            parts.append("exported key")
        elif self.loot.key == "oracle":
            parts.append("signing oracle until dwell ends")
        if self.loot.forged:
            parts.append("issuer signing key")
        return ", ".join(parts)

    # -- the rules ---------------------------------------------------------------------------

    def key_ok(self, t: float) -> bool:
        return self.loot.key == "exported" or (self.loot.key == "oracle" and t < self.loot.dwell_end)

    def _seen_revoked(self, cell: Cell, t: float) -> bool:
        """Has the revocation reached this resource (for access tokens)?"""
        if self.revoked_at is None or t < self.revoked_at:
            return False
        if cell.revocation == "introspection":
            return True
        if cell.revocation == "caep":
            return t >= self.revoked_at + cell.propagation_delay
        return False  # self-contained JWTs stay valid until they expire

    def _key_end(self) -> float:
        """Until when the thief can sign with the victim's key."""
        loot = self.loot
        if loot.key == "exported":
            return INF
        return loot.dwell_end if loot.key == "oracle" else -INF

    def capability_end(self, path: Literal["rt", "secret"], tier: Tier) -> float:
        """When the thief's ability to mint tokens for a tier via ``path`` ('rt' or 'secret') ends.

        Every condition (refresh token unexpired and still the thief's, secret held,
        key or oracle, no revocation) can only end, never start, so the capability is
        an interval ending here (-inf: never had it).
        """
        loot, rules = self.loot, self.rules
        if path == "rt":
            if loot.rt_expiry is None or (rules.rt_needs_secret and not loot.secret):
                return -INF
            end, needs_key = min(loot.rt_expiry, loot.thief_until), rules.rt_needs_key
        else:
            if not loot.secret:
                return -INF
            end, needs_key = INF, rules.secret_needs_key
        if needs_key or tier in rules.jit_tiers:
            end = min(end, self._key_end())
        if self.revoked_at is not None:
            end = min(end, self.revoked_at)
        return end

    def _expiry_after(self, end: float, tier: Tier) -> float:
        """Expiry of the last token minted before a capability ending at ``end`` (mints at start + k * ttl)."""
        ttl = self.mint_ttl.get(tier, 0.0)
        if end == INF:
            return INF
        start = self.start
        if end <= start or ttl <= 0:
            return -INF
        return start + math.ceil((end - start) / ttl) * ttl

    def _windows(
        self, tier: Tier, memo: dict[Tier, tuple[float, float, float, float]] | None
    ) -> tuple[float, float, float, float]:
        """(capability end, last minted expiry) via refresh token, then via secret, for a tier.

        They depend on the tier and the bundle, not on the cell or the time: `state` computes
        them once per tier (``memo``) rather than once per cell.
        """
        found = memo.get(tier) if memo is not None else None
        if found is None:
            rt_end, secret_end = self.capability_end("rt", tier), self.capability_end("secret", tier)
            found = (rt_end, self._expiry_after(rt_end, tier), secret_end, self._expiry_after(secret_end, tier))
            if memo is not None:
                memo[tier] = found
        return found

    def _minted_alive(
        self, cell: Cell, t: float, memo: dict[Tier, tuple[float, float, float, float]] | None = None
    ) -> tuple[bool, bool]:
        """Does the thief hold a valid minted token for this cell (via refresh token, via secret)?"""
        if self.loot.forged:
            return self.revoked_at is None or t < self.revoked_at, False
        rt_end, rt_last, secret_end, secret_last = self._windows(cell.tier, memo)
        # It can mint a fresh one while the capability lasts; after, the last one it minted
        # lives out its lifetime unless the resource sees the revocation.
        seen = None
        alive = []
        for end, last in ((rt_end, rt_last), (secret_end, secret_last)):
            if t < end:
                alive.append(True)
            elif t >= last:
                alive.append(False)
            else:
                if seen is None:
                    seen = self._seen_revoked(cell, t)
                alive.append(not seen)
        return alive[0], alive[1]

    def state(self, t: float) -> CellState:
        """Per cell: would a replay at t succeed, and why."""
        success: list[bool] = []
        reasons: list[str] = []
        accept: list[float] = []
        usable: set[str] = set()
        rt_usable = secret_usable = False
        loot, rules = self.loot, self.rules
        key_ok = self.key_ok(t)
        key_why = "exported key" if loot.key == "exported" else "signing oracle during dwell"
        memo: dict[Tier, tuple[float, float, float, float]] = {}  # per tier: see _windows
        minted: dict[int, tuple[bool, bool]] = {}  # per cell, reused for `holds` below
        for cell in self.cells:
            if cell.effect == "fails":
                success.append(False)
                reasons.append("route fails for everyone")
                accept.append(1.0)
                continue
            if loot.forged:
                ok = self.revoked_at is None or t < self.revoked_at
                success.append(ok)
                reasons.append("forged with the issuer's signing key" if ok else "signing key rotated")
                accept.append(1.0)
                continue
            bearer = cell.effect == "bearer"
            why = ""
            thinned = 1.0
            captured = loot.tokens.get(cell.index)
            if captured is not None and t < captured.expiry and not self._seen_revoked(cell, t):
                if bearer or key_ok:
                    why = "captured token, bearer route" if bearer else f"captured token, {key_why}"
                    usable.add(captured.token)
                elif cell.index in loot.proofs and t < loot.proofs[cell.index]:
                    why = "captured DPoP proof inside its window"
                    usable.add(captured.token)
                    thinned = loot.proof_accept.get(cell.index, 1.0)  # jti caches per node
            if not why:
                via_rt, via_secret = minted[cell.index] = self._minted_alive(cell, t, memo)
                jit = cell.tier in rules.jit_tiers
                if via_rt and (bearer or key_ok or (rules.own_key_rt and not jit)):
                    why = "minted from refresh token" + (
                        "" if bearer else (f", {key_why}" if key_ok else ", bound to the thief's own key")
                    )
                    rt_usable = True
                elif via_secret and (bearer or key_ok or (rules.own_key_secret and not jit)):
                    why = "minted with client secret" + (
                        "" if bearer else (f", {key_why}" if key_ok else ", bound to the thief's own key")
                    )
                    secret_usable = True
            success.append(bool(why))
            reasons.append(why or "no valid token whose binding the thief can satisfy")
            accept.append(thinned)
        holds = loot.forged and (self.revoked_at is None or t < self.revoked_at)
        if not holds:
            holds = any(
                t < c.expiry and not self._seen_revoked(self.cells[i], t) for i, c in loot.tokens.items()
            )  # cells[i].index == i
        if not holds:
            holds = any(
                any(minted[c.index] if c.index in minted else self._minted_alive(c, t, memo)) for c in self.cells
            )
        thin = tuple(accept) if any(a != 1.0 for a in accept) else ()  # empty: nothing thinned
        return CellState(tuple(success), tuple(reasons), holds, frozenset(usable), rt_usable, secret_usable, thin)

    def change_points(self, t: float) -> float:
        """The next time after t at which `state` may change (INF if none)."""
        loot = self.loot
        times = [self.start, loot.dwell_end, loot.thief_until]
        if loot.rt_expiry is not None:
            times.append(loot.rt_expiry)
        if loot.reuse_at is not None:
            times.append(loot.reuse_at)
        times.extend(c.expiry for c in loot.tokens.values())
        times.extend(loot.proofs.values())
        for tier in self.mint_ttl:
            times.extend(self._windows(tier, None))
        if self.revoked_at is not None:
            times.append(self.revoked_at)
            times.extend(self.revoked_at + c.propagation_delay for c in self.cells if c.revocation == "caep")
        later = [x for x in times if x > t]
        return min(later) if later else INF
