"""What each leak vector exposes (MODEL.md section 4): one function per kind of leak.

Each returns typed stolen families: `Bundle`s (a family with more than captured
tokens, run as an exploitation process) or `CapturedFamilies` (token-only families
of a logging node, resolved in closed form). None of them schedules events or
counts anything; the engine does that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np

from tokensim.model.schema import KeyStorage
from tokensim.sim.activity import Activity, Window, always_window, draw_window
from tokensim.sim.bundle import INF, Bundle, Cell, Loot, Origin, ResidentGains
from tokensim.sim.capture import CapturedFamilies, idle_for, instance_tokens, logged_requests, population_tokens
from tokensim.sim.credentials import RESIDENT, key_end, take_credential, take_key
from tokensim.sim.lifecycle import current_expiry, idle_expiry, rotation_race
from tokensim.sim.plan import BrokerView, ClientPlan
from tokensim.sim.resident import (
    Harvest,
    fresh_grant_until,
    harvest_of,
    legit_first_refresh,
    presigned_until,
    token_gaps,
)

#: How long a compromise lasts when the model gives no `dwell` (hours); see docs/parameters.md.
DEFAULT_DWELL: dict[str, float] = {"xss": 1.0, "malware": 7 * 24.0, "host_compromise": 10 * 24.0}
STEALS_REFRESH_TOKEN = frozenset({*RESIDENT, "secret_sprawl"})
#: The user phished into a grant for the thief (MODEL-v2.md section 2).
PHISHING_VECTORS = frozenset({"consent_phishing", "device_code_phishing", "aitm"})


@dataclass(frozen=True)
class LeakEvent:
    """One leak as the vector functions see it."""

    node: str
    vector: str
    time: float
    start: float  # exploitation starts
    dwell: float  # how long a resident compromise lasts
    presign_horizon: float | None = None  # the attacker's: how far past the dwell it pre-signs DPoP proofs
    position: str = "outside"  # where the thief replays from (`validate.position_of`)
    correlated: bool = False  # one event of a leak with `reach`: its victims were running when it struck
    resources: tuple[str, ...] | None = None  # consent phishing: the consented resources (None: all)


def dwell_of(vector: str, dwell: float | None) -> float:
    """The leak's own dwell, or the vector's default."""
    return dwell if dwell is not None else DEFAULT_DWELL.get(vector, 0.0)


def client_bundle(
    plan: ClientPlan,
    i: int,
    leak: LeakEvent,
    capture: np.random.Generator,
    uids: Iterator[int],
    activity: np.random.Generator | None = None,
) -> Bundle:
    """A leak on a client instance: its own log, a resident thief (xss, malware, host) or a sprawled secret.

    The client runs under its own policy (`ClientPlan.policy`: the run's, with its overrides).
    ``capture`` is the leak's capture stream: the instance's last request per cell is drawn from it
    first, whatever the vector and the policy (`capture.logged_requests`), and read only by the rules.
    ``activity`` is the leak's policy-independent stream of activity spells (read only for a resident
    thief on a client that is not always active).
    """
    b = _client_bundle(plan, i, leak, capture, uids, activity)
    if leak.position == "resident":  # from the victim's host while the dwell lasts, from outside after it
        b.inside_until = leak.time + leak.dwell
    return b


def _client_bundle(
    plan: ClientPlan,
    i: int,
    leak: LeakEvent,
    capture: np.random.Generator,
    uids: Iterator[int],
    activity: np.random.Generator | None,
) -> Bundle:
    spec, policy = plan.spec, plan.policy
    since = logged_requests(np.asarray(plan.request_rate), 1, capture)[0]
    idle = idle_for(plan, 1, capture)  # a stored or logged token of an instance not running now is older
    if leak.vector in PHISHING_VECTORS:
        return _phished_bundle(plan, i, leak, uids)
    if leak.vector == "log":
        b = _new_bundle(plan, i, leak, plan.cells, uids)
        b.loot.tokens, b.loot.proofs = instance_tokens(
            plan, policy, i, leak.time, since, with_proofs=True, retention=spec.log_retention, idle=idle
        )
        return b
    if leak.vector in RESIDENT:
        return _resident_bundle(plan, i, leak, since, uids, _window(plan, leak, activity))
    b = _new_bundle(plan, i, leak, plan.cells, uids)
    loot = b.loot
    # before the race: refreshing may need the credential
    take_credential(loot, spec, leak.vector, leak.time, leak.time + leak.dwell, _credential_phase(plan, i))
    if leak.vector in STEALS_REFRESH_TOKEN and plan.rules.refresh_token:
        _steal_refresh_token(b, plan, i, leak.time)
    if leak.vector == "secret_sprawl" and loot.rt_expiry is None and not loot.secret and loot.key is None:
        loot.tokens, loot.proofs = instance_tokens(plan, policy, i, leak.time, since, with_proofs=False, idle=idle)
    return b


def _credential_phase(plan: ClientPlan, i: int) -> float:
    """The instance's credential phase (identity-token renewal, key rotation); version-1 clients draw none."""
    spec = plan.spec
    if spec.credential != "oauth" or spec.key_lifetime is not None or spec.authentication == "attestation":
        return plan.phases.credential(i)
    return 0.0  # nothing reads it


def _window(plan: ClientPlan, leak: LeakEvent, rng: np.random.Generator | None) -> Window:
    """The victim's activity over the dwell (always active: nothing drawn, version 1)."""
    spec = plan.spec
    act = Activity(spec.active_fraction, spec.active_period)
    end = leak.time + leak.dwell
    if act.always or rng is None:
        return always_window(leak.time, end)
    return draw_window(act, leak.time, end, rng, start_active=leak.correlated)


def _phished_bundle(plan: ClientPlan, i: int, leak: LeakEvent, uids: Iterator[int]) -> Bundle:
    """The user of a client instance phished (MODEL-v2.md section 2): a grant of the thief's own.

    `consent_phishing` (the user consents to the thief's application), `device_code_phishing` (the user
    completes a device-code flow for the thief's device) and `aitm` (an adversary-in-the-middle sign-in)
    each give the thief tokens and a refresh token bound to its own key, living the grant's `refresh_ttl`
    (absolute) from the leak: binding is irrelevant. Consent reaches the consented resources (the leak's
    `resources`, else all of the client's); phishing-resistant authentication stops `aitm` (nothing taken).
    """
    cells = plan.cells
    if leak.resources is not None:  # the thief aims only where the user consented
        chosen = set(leak.resources)
        total = sum(c.weight for c in cells if c.resource in chosen)
        cells = tuple(replace(c, weight=c.weight / total if c.resource in chosen else 0.0) for c in cells)
    b = _new_bundle(plan, i, leak, cells, uids)
    if leak.vector == "aitm" and plan.spec.phishing_resistant:
        return b  # WebAuthn/FIDO2 binds the sign-in to the real origin: the relayed sign-in fails
    b.loot.resident = ResidentGains(own_grant_until=leak.time + plan.policy.refresh_ttl)
    return b


def _resident_bundle(
    plan: ClientPlan, i: int, leak: LeakEvent, since: np.ndarray, uids: Iterator[int], window: Window
) -> Bundle:
    """A thief on the client for its dwell (`resident.py`): what it stored, what it harvests, what it can sign."""
    spec, policy = plan.spec, plan.policy
    dwell_end = leak.time + leak.dwell
    if spec.token_handler == "bff":
        # tokens never reach the browser: the thief rides the session through it while it is there,
        # from the moment its script runs (it needs no exfiltration, so no replay delay)
        b = _new_bundle(plan, i, leak, plan.cells, uids, start=leak.time)
        until = _active_until(window, dwell_end)
        b.loot.resident = ResidentGains(session_until=until, harvest_end=until)
        return b
    b = _new_bundle(plan, i, leak, plan.cells, uids)
    loot = b.loot
    harvest = harvest_of(window, leak.time)
    # the tokens current when the harvest ends: held through every active spell before (gaps below)
    loot.tokens, loot.proofs = instance_tokens(plan, policy, i, harvest.end, since, with_proofs=False)
    gains = ResidentGains(harvest_end=harvest.end)
    phase = plan.phases.access(i)
    for cell in plan.cells:
        if cell.index in loot.tokens:
            gaps = token_gaps(harvest, plan.ttl[cell.tier], phase)
            if gaps:
                gains.gaps[cell.index] = gaps
    gains.edges = tuple(sorted({x for gaps in gains.gaps.values() for gap in gaps for x in gap}))
    if spec.credential != "static_key":  # a static key is all there is to take
        key_phase = plan.phases.credential(i) if spec.key_lifetime is not None else 0.0
        take_key(loot, spec.key_storage, dwell_end, key_end(spec, leak.time, key_phase))
    if loot.key == "oracle" and not policy.nonce:  # a server nonce stops pre-signed proofs (RFC 9449 s11.2)
        for index, captured in loot.tokens.items():
            if plan.mechanism[plan.cells[index].tier] == "dpop":
                gains.presigned[index] = presigned_until(captured.expiry, dwell_end, leak.presign_horizon)
    take_credential(loot, spec, leak.vector, leak.time, dwell_end, _credential_phase(plan, i))
    if plan.rules.refresh_token:
        _steal_refresh_token(b, plan, i, leak.time, harvest)
    if spec.silent_grant and (loot.secret or not spec.is_confidential):
        until = fresh_grant_until(
            harvest, refresh_ttl=policy.refresh_ttl, holds_refresh_token=plan.rules.refresh_token, dwell_end=dwell_end
        )
        # a confidential client's grant refreshes only while the thief can authenticate as the client
        gains.own_grant_until = min(until, b.refresh_auth_end()) if spec.is_confidential else until
    # always kept: a response while the thief is there evicts it (resident.evict), which the closed form
    # does not model, so a resident family runs as a process
    loot.resident = gains
    return b


def _active_until(window: Window, dwell_end: float) -> float:
    """The last moment the victim's browser runs while the thief is there (-inf: never)."""
    return min(window.spells[-1][1], dwell_end) if window.spells else -INF


def broker_bundles(
    views: tuple[BrokerView, ...],
    key_storage: KeyStorage,
    leak: LeakEvent,
    capture: np.random.Generator,
    uids: Iterator[int],
) -> list[Bundle]:
    """A broker's host holds the tokens of every tenant routed through it, bound to the broker's key.

    The thief harvests what the broker obtains while it is there (a broker always runs): it holds each
    tenant's tokens current at the dwell's end, and the refresh-token race starts then.
    Each instance's last requests come from the leak's ``capture`` stream, a row per instance.
    """
    out = []
    dwell_end = leak.time + leak.dwell
    harvest = harvest_of(always_window(leak.time, dwell_end), leak.time)
    for view in views:
        plan = view.plan
        rates = np.asarray(plan.request_rate)
        for i in range(plan.spec.instances):
            since = logged_requests(rates, 1, capture)[0]
            b = _new_bundle(plan, i, leak, view.cells, uids)
            if leak.position == "inside":  # from the broker's place in the graph (its views say what it faces)
                b.inside_until = INF
            b.loot.tokens, b.loot.proofs = instance_tokens(
                plan, plan.policy, i, dwell_end, since, with_proofs=False, cells=view.seen
            )
            take_key(b.loot, key_storage, dwell_end)
            presigned = {
                index: presigned_until(captured.expiry, dwell_end, leak.presign_horizon)
                for index, captured in b.loot.tokens.items()
                if b.loot.key == "oracle" and not plan.policy.nonce and plan.mechanism[plan.cells[index].tier] == "dpop"
            }
            b.loot.resident = ResidentGains(presigned=presigned, harvest_end=dwell_end)
            phase = plan.phases.credential(i) if plan.spec.credential == "workload_identity" else 0.0
            # the client credentials it keeps for them; before the refresh-token race: refreshing may need them
            take_credential(b.loot, plan.spec, "host_compromise", leak.time, dwell_end, phase)
            if plan.rules.refresh_token:
                _steal_refresh_token(b, plan, i, leak.time, harvest)
            out.append(b)
    return out


def forged_bundle(cells: tuple[Cell, ...], leak: LeakEvent, uids: Iterator[int]) -> Bundle:
    """A stolen signing key: tokens for any client and any `cnf` at every resource that trusts it."""
    origin = Origin(leak.node, "signing_key", None, -1, None, leak.time, leak.start)
    return Bundle(uid=next(uids), origin=origin, cells=cells, loot=Loot(forged=True))


def log_families(
    populations: list[tuple[ClientPlan, np.ndarray]],
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
        yield from population_tokens(plan, plan.policy, share, t, retention, rng, chunk_cells=chunk_cells)


def as_families(bundles: list[Bundle], plans: Mapping[str, ClientPlan]) -> list[CapturedFamilies]:
    """Token-only bundles of client leaks as `CapturedFamilies` (for the closed form): one block per run of
    consecutive bundles of one client (a correlated leak's victims: one block, not one per family)."""
    out: list[CapturedFamilies] = []
    runs: list[list[Bundle]] = []
    for b in bundles:
        assert b.origin.client is not None  # token-only bundles come from clients
        if runs and runs[-1][0].origin.client == b.origin.client:
            runs[-1].append(b)
        else:
            runs.append([b])
    for run in runs:
        plan = plans[str(run[0].origin.client)]
        k = len(plan.cells)
        expiry = np.full((len(run), k), -INF)
        proof = np.full((len(run), k), -INF)
        for row, b in enumerate(run):
            for i, captured in b.loot.tokens.items():
                expiry[row, i] = captured.expiry
            for i, until in b.loot.proofs.items():
                proof[row, i] = until
        out.append(CapturedFamilies(plan, np.array([b.origin.instance for b in run]), expiry, proof))
    return out


def _new_bundle(
    plan: ClientPlan, i: int, leak: LeakEvent, cells: tuple[Cell, ...], uids: Iterator[int], start: float | None = None
) -> Bundle:
    begins = leak.start if start is None else start
    origin = Origin(leak.node, leak.vector, plan.name, i, (plan.name, i % plan.spec.tenants), leak.time, begins)
    return Bundle(uid=next(uids), origin=origin, cells=cells, rules=plan.rules, mint_ttl=dict(plan.ttl))


def _steal_refresh_token(b: Bundle, plan: ClientPlan, i: int, t: float, harvest: Harvest | None = None) -> None:
    """The refresh token and, under rotation, the race the thief runs against the client for it.

    A resident thief (``harvest``) holds the newest refresh token until its harvest ends: the grant
    current then is the one it keeps, and the race starts then (it refreshes at once; the client when
    its last harvested token expires, or when it next runs). With `refresh_idle_ttl` (sliding expiry)
    the family also dies once nobody used it for that long: the client refreshes every access-token
    lifetime while it shares the family, the thief from its first refresh every minted token's lifetime
    while it can authenticate the refresh (`lifecycle.idle_expiry`).
    """
    loot, policy = b.loot, plan.policy
    until = t if harvest is None else harvest.end
    loot.rt_expiry = current_expiry(until, policy.refresh_ttl, plan.phases.grant(i))
    loot.thief_until = loot.rt_expiry
    period, phase = plan.ttl["low_risk"], plan.phases.access(i)
    legit_next = current_expiry(t, period, phase) if harvest is None else legit_first_refresh(harvest, period, phase)
    thief_first = b.start if harvest is None else max(b.start, harvest.end)
    thief_last = b.refresh_auth_end()
    legit_until = INF
    if policy.rotation and thief_last > -INF and thief_first <= thief_last:
        race = rotation_race(
            legit_first=legit_next,
            thief_first=thief_first,
            thief_last=thief_last,
            period=period,
            grace=policy.reuse_grace,
            reuse_detection=policy.reuse_detection,
            end=loot.rt_expiry,
        )
        loot.thief_until, loot.reuse_at, legit_until = race.thief_until, race.reuse_at, race.legit_until
    if policy.refresh_idle_ttl is not None:
        dies = idle_expiry(
            legit_last=legit_next - period,
            legit_until=legit_until,
            thief_first=thief_first,
            thief_last=min(thief_last, loot.thief_until),
            period=period,
            idle=policy.refresh_idle_ttl,
            end=loot.rt_expiry,
        )
        if loot.reuse_at is not None and dies <= loot.reuse_at:
            loot.reuse_at = None  # the token died of disuse before anyone reused it
        loot.thief_until = min(loot.thief_until, dies)
