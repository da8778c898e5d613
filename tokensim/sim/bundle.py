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
from typing import Literal

from tokensim.model.routes import Tier
from tokensim.sim.detection import FailureKind, audience_failures
from tokensim.sim.records import (
    INF,
    CapturedToken,
    Cell,
    CellState,
    Loot,
    MintRules,
    Origin,
    Progress,
    ResidentGains,
    describe_loot,
    in_gap,
    next_edge,
)

__all__ = [
    "INF",
    "Bundle",
    "CapturedToken",
    "Cell",
    "CellState",
    "Loot",
    "MintRules",
    "Origin",
    "Progress",
    "ResidentGains",
]

#: Why a replay fails at a resource that accepts requests only from inside the victim's network.
BLOCKED = "blocked by the network allow-list"
#: Per tier: (end, last minted expiry) via refresh token, via secret, via the thief's own grant.
Windows = tuple[float, float, float, float, float, float]


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
    #: Its requests come from inside the victim's network until then (-inf: from outside; a resident thief:
    #: its dwell's end; an inside thief: inf): an allow-listed resource refuses them afterwards.
    inside_until: float = -INF

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
        gains = self.loot.resident
        if gains is not None:
            n += gains.own_grant_until > -INF  # the thief's own grant
            n += gains.session_until > -INF  # the session it rides
        return n

    def tokens_only(self) -> bool:
        """Holds nothing but captured access tokens (and proofs): resolvable in closed form."""
        loot = self.loot
        return loot.rt_expiry is None and not loot.secret and loot.key is None and not loot.forged and not loot.resident

    def describe(self) -> str:
        """The exposed credentials in words, for the trace (`records.describe_loot`)."""
        return describe_loot(self.loot, self.origin.leak_time)

    # -- the rules ---------------------------------------------------------------------------

    def key_ok(self, t: float) -> bool:
        """Can the thief sign with the victim's key at t (an exported key before its rotation, or a live oracle)?"""
        return t < self._key_end()

    def _seen_revoked(self, cell: Cell, t: float, revoked_at: float | None = -INF) -> bool:
        """Has the revocation (the family's, or ``revoked_at`` if given) reached this resource (for access tokens)?"""
        if revoked_at == -INF:
            revoked_at = self.revoked_at
        if revoked_at is None or t < revoked_at:
            return False
        if cell.revocation == "introspection":
            return True
        if cell.revocation == "caep":
            return t >= revoked_at + cell.propagation_delay
        return False  # self-contained JWTs stay valid until they expire

    def _key_end(self) -> float:
        """Until when the thief can sign with the victim's key."""
        loot = self.loot
        if loot.key == "exported":
            return loot.key_end
        return loot.dwell_end if loot.key == "oracle" else -INF

    def refresh_auth_end(self) -> float:
        """Until when the thief can authenticate a refresh (client credential and key as the rules ask)."""
        rules, loot = self.rules, self.loot
        end = INF
        if rules.rt_needs_secret:
            if not loot.secret:
                return -INF
            end = loot.cred_end
        if rules.rt_needs_key or (rules.rt_needs_secret and rules.secret_needs_key):
            end = min(end, self._key_end())
        return end

    def capability_end(self, path: Literal["rt", "secret", "own"], tier: Tier) -> float:
        """When the thief's ability to mint tokens for a tier via ``path`` ('rt', 'secret', or 'own':
        a fresh grant with its own key) ends.

        Every condition (refresh token unexpired and still the thief's, secret held,
        key or oracle, no revocation) can only end, never start, so the capability is
        an interval ending here (-inf: never had it).
        """
        loot, rules = self.loot, self.rules
        if path == "own":  # the thief's own grant: bound to its own key, a family of its own
            gains = loot.resident
            if gains is None:
                return -INF
            return min(gains.own_grant_until, gains.own_revoked_at if gains.own_revoked_at is not None else INF)
        if path == "rt":
            if loot.rt_expiry is None:
                return -INF
            end, needs_key = min(loot.rt_expiry, loot.thief_until, self.refresh_auth_end()), False
        else:
            if not loot.secret or not rules.secret_mints:  # a credential alone mints only with client_credentials
                return -INF
            end, needs_key = loot.cred_end, rules.secret_needs_key
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

    def _windows(self, tier: Tier, memo: dict[Tier, Windows] | None) -> Windows:
        """(capability end, last minted expiry) via refresh token, via secret, then via the thief's own grant.

        They depend on the tier and the bundle, not on the cell or the time: `state` computes
        them once per tier (``memo``) rather than once per cell.
        """
        found = memo.get(tier) if memo is not None else None
        if found is not None:
            return found
        rt, secret = self.capability_end("rt", tier), self.capability_end("secret", tier)
        own = self.capability_end("own", tier) if self.loot.resident is not None else -INF
        expiry = self._expiry_after
        windows = (rt, expiry(rt, tier), secret, expiry(secret, tier), own, expiry(own, tier))
        if memo is not None:
            memo[tier] = windows
        return windows

    def _minted_alive(self, cell: Cell, t: float, memo: dict[Tier, Windows] | None = None) -> tuple[bool, bool, bool]:
        """Does the thief hold a valid minted token for this cell (via refresh token, via secret, via its own grant)?"""
        if self.loot.forged:
            return self.revoked_at is None or t < self.revoked_at, False, False
        rt_end, rt_last, secret_end, secret_last, own_end, own_last = self._windows(cell.tier, memo)
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
        gains = self.loot.resident
        own = t < own_end or (
            t < own_last and gains is not None and not self._seen_revoked(cell, t, gains.own_revoked_at)
        )
        return alive[0], alive[1], own

    def state(self, t: float) -> CellState:
        """Per cell: would a replay at t succeed, and why."""
        success: list[bool] = []
        reasons: list[str] = []
        kinds: list[FailureKind] = []
        accept: list[float] = []
        usable: set[str] = set()
        rt_usable = secret_usable = False
        loot, rules = self.loot, self.rules
        key_ok = self.key_ok(t)
        key_why = "exported key" if loot.key == "exported" else "signing oracle during dwell"
        memo: dict[Tier, Windows] = {}  # per tier: see _windows
        minted: dict[int, tuple[bool, bool, bool]] = {}  # per cell, reused for `holds` below
        gains = loot.resident
        riding = gains is not None and t < gains.session_until and (self.revoked_at is None or t < self.revoked_at)
        blocked: set[int] = set()  # cells an allow-list closes to the thief now
        for cell in self.cells:
            if cell.effect == "fails":
                success.append(False)
                reasons.append("route fails for everyone")
                kinds.append("none")
                accept.append(1.0)
                continue
            if cell.allow_listed and t >= self.inside_until:  # never reaches the resource: nothing to detect
                success.append(False)
                reasons.append(BLOCKED)
                kinds.append("none")
                blocked.add(cell.index)
                continue
            if loot.forged:
                ok = self.revoked_at is None or t < self.revoked_at
                success.append(ok)
                reasons.append("forged with the issuer's signing key" if ok else "signing key rotated")
                kinds.append("success" if ok else "none")
                accept.append(1.0)
                continue
            if riding:
                success.append(True)
                reasons.append("rides the victim's backend-for-frontend session from its browser")
                kinds.append("success")
                accept.append(1.0)
                continue
            bearer = cell.effect == "bearer"
            why = ""
            held = False  # holds a token for this cell (usable or not)
            thinned = 1.0
            captured = loot.tokens.get(cell.index)
            if (
                captured is not None
                and t < captured.expiry
                and not self._seen_revoked(cell, t)
                and not (gains is not None and in_gap(gains.gaps.get(cell.index, ()), t))
            ):
                held = True
                if bearer or key_ok:
                    why = "captured token, bearer route" if bearer else f"captured token, {key_why}"
                    usable.add(captured.token)
                elif cell.index in loot.proofs and t < loot.proofs[cell.index]:
                    why = "captured DPoP proof inside its window"
                    usable.add(captured.token)
                    thinned = cell.proof_accept  # jti caches per node
                elif gains is not None and t < gains.presigned.get(cell.index, -INF):
                    why = "captured token, DPoP proof pre-signed with the oracle during the dwell"
                    usable.add(captured.token)
            if not why:
                via_rt, via_secret, via_own = minted[cell.index] = self._minted_alive(cell, t, memo)
                held = held or via_rt or via_secret or via_own
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
                elif via_own:
                    why = "minted from the thief's own fresh grant, bound to its own key"
                    rt_usable = True
            success.append(bool(why))
            reasons.append(why or "no valid token whose binding the thief can satisfy")
            kinds.append("success" if why else ("binding" if held else "none"))
            accept.append(thinned)
        holds = loot.forged and (self.revoked_at is None or t < self.revoked_at)
        holds = holds or riding
        if not holds:
            holds = any(
                t < c.expiry and not self._seen_revoked(self.cells[i], t) for i, c in loot.tokens.items()
            )  # cells[i].index == i (a gap in a harvest ends: the thief keeps trying through it)
        if not holds:
            holds = any(
                any(minted[c.index] if c.index in minted else self._minted_alive(c, t, memo)) for c in self.cells
            )
        if holds and loot.tokens and "none" in kinds:  # a token held only for other audiences: an audience failure
            cells = self.cells
            tokens = [
                (c.token, cells[i].resource, t < c.expiry and not self._seen_revoked(cells[i], t))
                for i, c in loot.tokens.items()
            ]
            kinds = audience_failures(cells, kinds, tokens)
            kinds = [("none" if i in blocked else k) for i, k in enumerate(kinds)]
        thin = tuple(accept) if any(a != 1.0 for a in accept) else ()  # empty: nothing thinned
        return CellState(
            tuple(success), tuple(reasons), tuple(kinds), holds, frozenset(usable), rt_usable, secret_usable, thin
        )

    def change_points(self, t: float) -> float:
        """The next time after t at which `state` may change (INF if none)."""
        loot = self.loot
        times = [self.start, loot.dwell_end, loot.thief_until, loot.cred_end, loot.key_end]
        if any(c.allow_listed for c in self.cells):  # only then does leaving the network change anything
            times.append(self.inside_until)
        if loot.rt_expiry is not None:
            times.append(loot.rt_expiry)
        if loot.reuse_at is not None:
            times.append(loot.reuse_at)
        times.extend(c.expiry for c in loot.tokens.values())
        times.extend(loot.proofs.values())
        if loot.resident is not None:
            gains = loot.resident
            times.append(gains.session_until)
            times.extend(gains.presigned.values())
            times.append(next_edge(gains.edges, t))
        for tier in self.mint_ttl:
            times.extend(self._windows(tier, None))
        if self.revoked_at is not None:
            times.append(self.revoked_at)
            times.extend(self.revoked_at + c.propagation_delay for c in self.cells if c.revocation == "caep")
        later = [x for x in times if x > t]
        return min(later) if later else INF
