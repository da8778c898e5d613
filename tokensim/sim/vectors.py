"""What each leak vector exposes (MODEL.md section 4): one function per kind of leak.

Each returns typed stolen families: `Bundle`s (a family with more than captured
tokens, run as an exploitation process) or `CapturedFamilies` (token-only families
of a logging node, resolved in closed form). None of them schedules events or
counts anything; the engine does that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from tokensim.model.policy import Policy
from tokensim.model.schema import KeyStorage
from tokensim.sim.bundle import INF, Bundle, Cell, Loot, Origin
from tokensim.sim.capture import CapturedFamilies, instance_tokens, logged_requests, population_tokens
from tokensim.sim.lifecycle import current_expiry, rotation_race
from tokensim.sim.plan import BrokerView, ClientPlan

#: How long a compromise lasts when the model gives no `dwell` (hours); see docs/parameters.md.
DEFAULT_DWELL: dict[str, float] = {"xss": 1.0, "malware": 7 * 24.0, "host_compromise": 10 * 24.0}
RESIDENT = frozenset({"xss", "malware", "host_compromise"})  # the thief runs on the client for a while
STEALS_REFRESH_TOKEN = frozenset({*RESIDENT, "secret_sprawl"})


@dataclass(frozen=True)
class LeakEvent:
    """One leak as the vector functions see it."""

    node: str
    vector: str
    time: float
    start: float  # exploitation starts
    dwell: float  # how long a resident compromise lasts


def dwell_of(vector: str, dwell: float | None) -> float:
    """The leak's own dwell, or the vector's default."""
    return dwell if dwell is not None else DEFAULT_DWELL.get(vector, 0.0)


def client_bundle(
    plan: ClientPlan, policy: Policy, i: int, leak: LeakEvent, capture: np.random.Generator, uids: Iterator[int]
) -> Bundle:
    """A leak on a client instance: its own log, a resident thief (xss, malware, host) or a sprawled secret.

    ``capture`` is the leak's capture stream: the instance's last request per cell is drawn from it
    first, whatever the vector and the policy (`capture.logged_requests`), and read only by the rules.
    """
    spec = plan.spec
    since = logged_requests(np.asarray(plan.request_rate), 1, capture)[0]
    b = _new_bundle(plan, i, leak, plan.cells, uids)
    loot = b.loot
    if leak.vector == "log":
        loot.tokens, loot.proofs = instance_tokens(
            plan, policy, i, leak.time, since, with_proofs=True, retention=spec.log_retention
        )
        loot.proof_accept = {c: plan.proof_accept[c] for c in loot.proofs}  # thinning by jti caches per node
        return b
    if leak.vector in RESIDENT:
        loot.tokens, loot.proofs = instance_tokens(plan, policy, i, leak.time, since, with_proofs=False)
        _take_key(loot, spec.key_storage, leak.time + leak.dwell)
    if leak.vector in ("host_compromise", "secret_sprawl") and spec.confidential:
        loot.secret = True  # before the refresh-token race: refreshing may need the secret
    if leak.vector in STEALS_REFRESH_TOKEN and spec.holds_refresh_token:
        _steal_refresh_token(b, plan, policy, i, leak.time)
    if leak.vector == "secret_sprawl" and loot.rt_expiry is None and not loot.secret:
        loot.tokens, loot.proofs = instance_tokens(plan, policy, i, leak.time, since, with_proofs=False)
    return b


def broker_bundles(
    views: tuple[BrokerView, ...],
    policy: Policy,
    key_storage: KeyStorage,
    leak: LeakEvent,
    capture: np.random.Generator,
    uids: Iterator[int],
) -> list[Bundle]:
    """A broker's host holds the tokens of every tenant routed through it, bound to the broker's key.

    Each instance's last requests come from the leak's ``capture`` stream, a row per instance.
    """
    out = []
    for view in views:
        plan = view.plan
        rates = np.asarray(plan.request_rate)
        for i in range(plan.spec.instances):
            since = logged_requests(rates, 1, capture)[0]
            b = _new_bundle(plan, i, leak, view.cells, uids)
            b.loot.tokens, b.loot.proofs = instance_tokens(
                plan, policy, i, leak.time, since, with_proofs=False, cells=view.seen
            )
            _take_key(b.loot, key_storage, leak.time + leak.dwell)
            b.loot.secret = plan.spec.confidential  # before the refresh-token race: refreshing may need it
            if plan.spec.holds_refresh_token:
                _steal_refresh_token(b, plan, policy, i, leak.time)
            out.append(b)
    return out


def forged_bundle(cells: tuple[Cell, ...], leak: LeakEvent, uids: Iterator[int]) -> Bundle:
    """A stolen signing key: tokens for any client and any `cnf` at every resource that trusts it."""
    origin = Origin(leak.node, "signing_key", None, -1, None, leak.time, leak.start)
    return Bundle(uid=next(uids), origin=origin, cells=cells, loot=Loot(forged=True))


def log_families(
    populations: list[tuple[ClientPlan, np.ndarray]],
    policy: Policy,
    retention: float,
    t: float,
    rng: np.random.Generator,
    *,
    chunk_cells: int,
) -> Iterator[CapturedFamilies]:
    """A logging intermediary, resource or broker: the still-valid tokens of every population through it.

    ``rng`` is the leak's capture stream (what the log saw, never what the thief does). ``populations`` pairs each client plan with its per-cell share of paths through the node. The families
    come block by block (at most ``chunk_cells`` instance x cell values each, `capture.population_tokens`),
    so that a caller can queue one block before the next is captured.
    """
    for plan, share in populations:
        yield from population_tokens(plan, policy, share, t, retention, rng, chunk_cells=chunk_cells)


def as_families(bundles: list[Bundle], plans: Mapping[str, ClientPlan]) -> list[CapturedFamilies]:
    """Token-only bundles of client leaks as one-row `CapturedFamilies` (for the closed form)."""
    out = []
    for b in bundles:
        assert b.origin.client is not None  # token-only bundles come from clients
        plan = plans[b.origin.client]
        k = len(plan.cells)
        expiry = np.full((1, k), -INF)
        proof = np.full((1, k), -INF)
        for i, captured in b.loot.tokens.items():
            expiry[0, i] = captured.expiry
        for i, until in b.loot.proofs.items():
            proof[0, i] = until
        out.append(CapturedFamilies(plan, np.array([b.origin.instance]), expiry, proof))
    return out


def _new_bundle(plan: ClientPlan, i: int, leak: LeakEvent, cells: tuple[Cell, ...], uids: Iterator[int]) -> Bundle:
    origin = Origin(leak.node, leak.vector, plan.name, i, (plan.name, i % plan.spec.tenants), leak.time, leak.start)
    return Bundle(uid=next(uids), origin=origin, cells=cells, rules=plan.rules, mint_ttl=dict(plan.ttl))


def _take_key(loot: Loot, storage: str, dwell_end: float) -> None:
    """Software keys are exported; non-exportable keys serve as an oracle while the compromise lasts."""
    if storage == "software":
        loot.key = "exported"
    elif storage in ("non_extractable", "hardware"):
        loot.key, loot.dwell_end = "oracle", dwell_end


def _steal_refresh_token(b: Bundle, plan: ClientPlan, policy: Policy, i: int, t: float) -> None:
    """The refresh token and, under rotation, the race the thief runs against the client for it."""
    loot, rules = b.loot, b.rules
    loot.rt_expiry = current_expiry(t, policy.refresh_ttl, plan.phases.grant(i))
    loot.thief_until = loot.rt_expiry
    if not policy.rotation:
        return
    can_auth = (not rules.rt_needs_secret or loot.secret) and (not rules.rt_needs_key or loot.key is not None)
    if not can_auth:
        return  # the thief can never refresh: no race to run
    thief_last = loot.dwell_end if (rules.rt_needs_key and loot.key == "oracle") else INF
    if b.start > thief_last:
        return
    race = rotation_race(
        legit_first=current_expiry(t, plan.ttl["low_risk"], plan.phases.access(i)),
        thief_first=b.start,
        thief_last=thief_last,
        period=plan.ttl["low_risk"],
        grace=policy.reuse_grace,
        reuse_detection=policy.reuse_detection,
        end=loot.rt_expiry,
    )
    loot.thief_until, loot.reuse_at = race.thief_until, race.reuse_at
