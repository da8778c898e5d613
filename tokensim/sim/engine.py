"""The SimPy engine (MODEL.md sections 4-7, 9, 10).

Events exist only for what is random or triggered: leak arrivals (one SimPy
process per leak process of the model), the thief's exploitation of each stolen
credential family (one process per `Bundle`, advancing from change point to
change point), detections and the responses that revoke. Replays between change
points are drawn as exact Poisson bursts; routine renewals are arithmetic
(`lifecycle.py`). The engine knows nothing of files, sweeps or plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import simpy

from tokensim.model.architecture import Architecture
from tokensim.model.policy import Policy
from tokensim.model.routes import TIERS, analyse, choose_mechanism, effective_binding
from tokensim.model.schema import Broker, Client, Issuer, Leak
from tokensim.sim import token_families
from tokensim.sim.bundle import INF, Bundle, Cell, CellState
from tokensim.sim.distributions import sample, sample_many
from tokensim.sim.lifecycle import current_expiry, current_expiry_array, rotation_race
from tokensim.sim.streams import Streams

#: How long a compromise lasts when the model gives no `dwell` (hours); see docs/parameters.md.
DEFAULT_DWELL: dict[str, float] = {"xss": 1.0, "malware": 7 * 24.0, "host_compromise": 10 * 24.0}
_STEAL_RT = frozenset({"xss", "malware", "host_compromise", "secret_sprawl"})


@dataclass(frozen=True)
class ClientPlan:
    """Everything about one client population that does not change during a run."""

    name: str
    spec: Client
    resources: tuple[str, ...]
    cells: tuple[Cell, ...]
    request_rate: dict[int, float]  # cell -> legitimate requests per hour per instance
    ttl: dict[str, float]  # tier -> access-token lifetime
    mechanism: dict[str, str | None]  # tier -> chosen mechanism
    shared_token: bool  # both tiers use one token
    rt_needs_key: bool
    rt_needs_secret: bool
    secret_needs_key: bool
    own_key_rt: bool
    own_key_secret: bool
    jit_tiers: frozenset[str]


class Simulation:
    """One run of one policy on one architecture for one (seed, replication)."""

    def __init__(
        self,
        arch: Architecture,
        policy: Policy,
        *,
        seed: int,
        replication: int,
        horizon: float,
        trace: bool = False,
        closed_form_families: bool = True,
        env: simpy.Environment | None = None,
    ) -> None:
        if not horizon > 0:
            raise ValueError("horizon must be positive")
        self.arch = arch
        self.policy = policy
        self.horizon = float(horizon)
        self.streams = Streams(seed, replication)
        self.env = env if env is not None else simpy.Environment()  # a caller may count events (benchmarks)
        self.routes = analyse(arch, policy)
        self.binding = effective_binding(self.routes)
        self.trace: list[tuple] | None = [] if trace else None
        self.closed_form_families = closed_form_families  # False: every family runs as a process (for cross-checks)
        self.attacker = arch.spec.attacker
        self.defender = arch.spec.defender
        self._phases: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._next_key = 0
        self.bundles: list[Bundle] = []
        # counters
        self.leaks = 0
        self.replay_attempts = 0
        self.unauthorized = 0
        self.privileged = 0
        self.detections = 0
        self.reuse_detections = 0
        self.blast_radius = 0.0
        self.resource_hits: dict[str, int] = {}
        self.tenants_hit: set[tuple[str, int]] = set()
        self.credentials_exposed = 0
        self.credentials_usable = 0  # of token-only families; process-path bundles are added in totals()
        self.exposure_hours = 0.0
        self.containment: list[float] = []
        self._pending: dict[str, list[tuple]] = {}  # client -> queued token-only families
        self._token_groups: dict[str, list[list[int]]] = {}  # client -> cells sharing one token
        self._waiting: dict[
            int, simpy.Process
        ] = {}  # bundle uid -> its exploitation process, to interrupt on revocation

    # -- static plans ------------------------------------------------------------------------

    @cached_property
    def plans(self) -> dict[str, ClientPlan]:
        return {name: self._plan(name) for name in self.arch.clients}

    def _cells_for(self, client: str, resources: tuple[str, ...]) -> tuple[Cell, ...]:
        effects = [(r, tier, self.binding[(client, r, tier)][0]) for r in resources for tier in TIERS]
        return self._cells_for_resources(resources, effects)

    def _plan(self, name: str) -> ClientPlan:
        spec: Client = self.arch.node(name)
        policy = self.policy
        resources = tuple(self.arch.reachable(name))
        cells = self._cells_for(name, resources)
        rate = {}
        for c in cells:
            frac = self.arch.node(c.resource).privileged_fraction
            rate[c.index] = spec.request_rate / len(resources) * (frac if c.tier == "privileged" else 1 - frac)
        mech = {tier: choose_mechanism(spec, getattr(policy, tier)) for tier in TIERS}
        if policy.on_unsupported == "fallback":  # a client that cannot do the mechanism uses bearer
            mech = {tier: m or "bearer" for tier, m in mech.items()}
        jit = frozenset({"privileged"}) if policy.jit else frozenset()
        ttl = {"low_risk": policy.access_ttl, "privileged": policy.jit_ttl if policy.jit else policy.access_ttl}
        bound = {m for m in mech.values() if m in ("dpop", "mtls")}
        mtls_auth = spec.confidential and "mtls" in bound
        # A public client's refresh token is bound when its grant uses a binding mechanism (RFC 9449 s5,
        # RFC 8705); a confidential client's refresh token is protected by client authentication only.
        rt_bound = not spec.confidential and mech["low_risk"] in ("dpop", "mtls")
        return ClientPlan(
            name=name,
            spec=spec,
            resources=resources,
            cells=cells,
            request_rate=rate,
            ttl=ttl,
            mechanism=mech,
            shared_token=mech["low_risk"] == mech["privileged"] and not policy.jit,
            rt_needs_key=rt_bound or mtls_auth,
            rt_needs_secret=spec.confidential,
            secret_needs_key=mtls_auth,
            own_key_rt=not rt_bound and not mtls_auth,
            own_key_secret=not mtls_auth,
            jit_tiers=jit,
        )

    def totals(self) -> dict[str, float]:
        """Credential, exposure and containment totals over both paths (after `run`)."""
        usable = self.credentials_usable + sum(
            len(b.usable_tokens) + b.rt_usable + b.secret_usable + (b.forged and b.usable_after_start)
            for b in self.bundles
        )
        # exposure counts from the leak, for families the thief could use once it began
        used = [b for b in self.bundles if b.usable_after_start and b.last_usable is not None]
        exposure = self.exposure_hours + sum(b.exposure for b in used)
        spans = self.containment + [b.last_usable - b.leak_time for b in used]
        return {
            "credentials_exposed": self.credentials_exposed,
            "credentials_usable": usable,
            "exposure_hours": float(exposure),
            "time_to_containment_hours": float(sum(spans) / len(spans)) if spans else math.nan,
        }

    def phases(self, client: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-instance renewal phases of access tokens and grants (policy-independent draws)."""
        if client not in self._phases:
            rng = self.streams.rng("phase", client)
            n = self.arch.node(client).instances
            self._phases[client] = (rng.random(n), rng.random(n))
        return self._phases[client]

    # -- running -----------------------------------------------------------------------------

    def run(self) -> None:
        """Start every leak process and run the clock to the horizon."""
        for name, node in self.arch.spec.nodes.items():
            for j, leak in enumerate(node.leaks):
                self.env.process(self._leak_process(name, j, leak))
        # Segments are clamped to the horizon; run a hair past it so those ending exactly there are counted.
        self.env.run(until=self.horizon * (1 + 1e-9) + 1e-9)
        self._resolve_pending()
        if self.trace is not None:
            self.trace.sort(key=lambda row: row[0])  # stable: events at one time keep their order

    def _note(
        self,
        event: str,
        node: str = "",
        vector: str = "",
        client: str | None = "",
        instance: int | None = None,
        credential: str = "",
        count: int = 0,
        detail: str = "",
    ) -> None:
        if self.trace is not None:
            self.trace.append(
                (
                    self.env.now,
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

    def _leak_units(self, node: object, leak: Leak) -> int:
        if isinstance(node, Client):
            if leak.vector == "host_compromise":
                return node.hosts or node.instances
            return node.instances
        return 1

    def _leak_process(self, name: str, j: int, leak: Leak):
        """Poisson leak arrivals; times, victims and attacker delays never depend on the policy."""
        node = self.arch.node(name)
        units = self._leak_units(node, leak)
        rate = leak.rate * units
        if rate <= 0:
            return
        rng = self.streams.rng("leak", name, j)
        delay_rng = self.streams.rng("delay", name, j)
        replay_rng = self.streams.rng("replay", name, j)  # what the thief does: may depend on the policy
        while True:
            gap = rng.exponential(1.0 / rate)
            victim = int(rng.integers(units))
            delay = sample(leak.replay_delay or self.attacker.replay_delay, delay_rng)
            if self.env.now + gap >= self.horizon:
                return
            yield self.env.timeout(gap)
            self.leaks += 1
            self._on_leak(name, node, leak, victim, delay, replay_rng)

    def _on_leak(
        self, name: str, node: object, leak: Leak, victim: int, delay: float, rng: np.random.Generator
    ) -> None:
        t = self.env.now
        start = t + delay
        dwell = leak.dwell if leak.dwell is not None else DEFAULT_DWELL.get(leak.vector, 0.0)
        bundles: list[Bundle] = []
        families: list[tuple] = []  # (plan, instances, expiry, proof) of token-only families
        if isinstance(node, Issuer):
            bundles.append(self._forged_bundle(name, start))
        elif isinstance(node, Client):
            plan = self.plans[name]
            if leak.vector == "host_compromise":
                hosts = node.hosts or node.instances
                victims = range(victim, node.instances, hosts)
            else:
                victims = [victim]
            for i in victims:
                bundles.append(self._client_bundle(plan, i, name, leak.vector, t, start, dwell, rng))
        elif isinstance(node, Broker) and leak.vector == "host_compromise":
            bundles.extend(self._broker_bundles(name, node, t, start, dwell, rng))
        else:  # a log on an intermediary, resource or broker
            families.extend(self._log_families(name, node, t, rng))
        bundles = [b for b in bundles if b.credentials() > 0]
        token_only = [b for b in bundles if b.tokens_only()] if self.closed_form_families else []
        families.extend(self._as_families(token_only))
        queued = {id(b) for b in token_only}
        bundles = [b for b in bundles if id(b) not in queued]
        exposed = sum(b.credentials() for b in bundles)
        exposed += sum(self._distinct_tokens(plan, expiry > t).sum() for plan, _, expiry, _ in families)
        self.credentials_exposed += int(exposed)
        self._note(
            "leak",
            name,
            leak.vector,
            count=len(bundles) + sum(len(f[1]) for f in families),
            detail=f"{exposed} credentials exposed; exploitation at {start:.3f} h",
        )
        for plan, instances, expiry, proof in families:
            self._resolve_families(plan, instances, expiry, proof, name, leak.vector, t, start, rng)
        for b in bundles:
            self.bundles.append(b)
            self._waiting[b.uid] = self.env.process(self._exploit(b, rng))

    # -- what each vector exposes ----------------------------------------------------------------

    def _new_bundle(
        self, plan: ClientPlan, i: int, name: str, vector: str, t: float, start: float, cells: tuple[Cell, ...]
    ) -> Bundle:
        self._next_key += 1
        spec = plan.spec
        return Bundle(
            uid=self._next_key,
            node=name,
            vector=vector,
            client=plan.name,
            instance=i,
            tenant=(plan.name, i % spec.tenants),
            leak_time=t,
            start=start,
            cells=cells,
            rt_needs_key=plan.rt_needs_key,
            rt_needs_secret=plan.rt_needs_secret,
            secret_needs_key=plan.secret_needs_key,
            own_key_rt=plan.own_key_rt,
            own_key_secret=plan.own_key_secret,
            jit_tiers=plan.jit_tiers,
            mint_ttl=dict(plan.ttl),
        )

    def _token_id(self, plan: ClientPlan, cell: Cell) -> str:
        aud = "all" if self.policy.audience == "broad" else cell.resource
        tier = "shared" if plan.shared_token else cell.tier
        return f"access:{aud}:{tier}"

    def _capture_current_tokens(
        self,
        b: Bundle,
        plan: ClientPlan,
        i: int,
        t: float,
        rng: np.random.Generator,
        cells: tuple[Cell, ...],
        *,
        with_proofs: bool,
        retention: float | None = None,
    ) -> None:
        """The tokens the instance holds at t (and, from logs, the proofs of its last requests).

        With a ``retention`` (a client's own log), a token is only in the log if a
        request used it within ``min(token age, retention)``.
        """
        u = self.phases(plan.name)[0][i]
        groups: dict[str, list[Cell]] = {}
        for cell in cells:
            if plan.mechanism[cell.tier] is not None:  # unsupported and failing: no token exists for this tier
                groups.setdefault(self._token_id(plan, cell), []).append(cell)
        for tok, tok_cells in groups.items():
            jit = tok_cells[0].tier in plan.jit_tiers
            since = INF
            if jit or retention is not None:  # when was this token last used?
                rate = sum(plan.request_rate[c.index] for c in tok_cells)
                since = rng.exponential(1.0 / rate) if rate > 0 else INF
            if jit:
                if since >= min(self.policy.jit_ttl, INF if retention is None else retention):
                    continue
                expiry = t - since + self.policy.jit_ttl
            else:
                ttl = plan.ttl[tok_cells[0].tier]
                expiry = current_expiry(t, ttl, u)
                if retention is not None and since >= min(ttl - (expiry - t), retention):
                    continue
            for cell in tok_cells:
                b.tokens[cell.index] = (tok, expiry)
                if with_proofs:
                    self._capture_proof(b, plan, cell, t, rng)

    def _capture_proof(
        self, b: Bundle, plan: ClientPlan, cell: Cell, t: float, rng: np.random.Generator, since: float | None = None
    ) -> None:
        """A logged DPoP proof replays the same request inside the window, unless nonces or jti tracking stop it."""
        if plan.mechanism[cell.tier] != "dpop" or self.policy.nonce or self.policy.jti_tracking:
            return
        rate = plan.request_rate[cell.index]
        if since is None:
            since = rng.exponential(1.0 / rate) if rate > 0 else INF
        b.proofs[cell.index] = t - since + self.policy.proof_window

    def _client_bundle(
        self,
        plan: ClientPlan,
        i: int,
        name: str,
        vector: str,
        t: float,
        start: float,
        dwell: float,
        rng: np.random.Generator,
    ) -> Bundle:
        spec = plan.spec
        b = self._new_bundle(plan, i, name, vector, t, start, plan.cells)
        if vector == "log":
            self._capture_current_tokens(b, plan, i, t, rng, plan.cells, with_proofs=True, retention=spec.log_retention)
            return b
        if vector in ("xss", "malware", "host_compromise"):
            self._capture_current_tokens(b, plan, i, t, rng, plan.cells, with_proofs=False)
            self._take_key(b, spec.key_storage, vector, t + dwell)
        if vector in ("host_compromise", "secret_sprawl") and spec.confidential:
            b.secret = True  # before the refresh-token race: refreshing may need the secret
        if vector in _STEAL_RT and spec.holds_refresh_token:
            self._steal_refresh_token(b, plan, i, t)
        if vector == "secret_sprawl" and b.rt_expiry is None and not b.secret:
            self._capture_current_tokens(b, plan, i, t, rng, plan.cells, with_proofs=False)
        return b

    def _take_key(self, b: Bundle, storage: str, vector: str, dwell_end: float) -> None:
        """Software keys are exported; non-exportable keys serve as an oracle while the compromise lasts."""
        if storage == "software":
            b.key = "exported"
        elif storage in ("non_extractable", "hardware"):
            b.key, b.dwell_end = "oracle", dwell_end

    def _steal_refresh_token(self, b: Bundle, plan: ClientPlan, i: int, t: float) -> None:
        u, g = self.phases(plan.name)
        policy = self.policy
        b.rt_expiry = current_expiry(t, policy.refresh_ttl, g[i])
        b.thief_until = b.rt_expiry
        if not policy.rotation:
            return
        can_auth = (not b.rt_needs_secret or b.secret) and (not b.rt_needs_key or b.key is not None)
        if not can_auth:
            return  # the thief can never refresh: no race to run
        thief_last = b.dwell_end if (b.rt_needs_key and b.key == "oracle") else INF
        if b.start > thief_last:
            return
        race = rotation_race(
            legit_first=current_expiry(t, plan.ttl["low_risk"], u[i]),
            thief_first=b.start,
            thief_last=thief_last,
            period=plan.ttl["low_risk"],
            grace=policy.reuse_grace,
            reuse_detection=policy.reuse_detection,
            end=b.rt_expiry,
        )
        b.thief_until, b.reuse_at = race.thief_until, race.reuse_at

    def _broker_bundles(
        self, name: str, broker: Broker, t: float, start: float, dwell: float, rng: np.random.Generator
    ) -> list[Bundle]:
        """A broker's host holds the tokens of every tenant routed through it, bound to the broker's key."""
        out = []
        for plan in self.plans.values():
            through = tuple(r for r in plan.resources if any(name in p for p in self.arch.paths[(plan.name, r)]))
            if not through:
                continue
            # the thief aims only at what lies beyond the broker; cells keep their indices
            total = sum(c.weight for c in plan.cells if c.resource in through)
            cells = tuple(replace(c, weight=c.weight / total if c.resource in through else 0.0) for c in plan.cells)
            seen = tuple(c for c in cells if c.resource in through)
            for i in range(plan.spec.instances):
                b = self._new_bundle(plan, i, name, "host_compromise", t, start, cells)
                self._capture_current_tokens(b, plan, i, t, rng, seen, with_proofs=False)
                self._take_key(b, broker.key_storage, "host_compromise", t + dwell)
                b.secret = plan.spec.confidential  # before the refresh-token race: refreshing may need it
                if plan.spec.holds_refresh_token:
                    self._steal_refresh_token(b, plan, i, t)
                out.append(b)
        return out

    def _log_families(self, name: str, node: object, t: float, rng: np.random.Generator) -> list[tuple]:
        """Tokens that passed through this node within its log retention and are still valid.

        Returns, per client plan, the exposed instances and (instances x cells) arrays of
        token expiries and captured-proof deadlines (-inf where nothing was captured).
        """
        retention = node.log_retention  # type: ignore[attr-defined]
        proofs_replay = not (self.policy.nonce or self.policy.jti_tracking)
        out = []
        for plan in self.plans.values():
            share = np.zeros(len(plan.cells))
            for c in plan.cells:
                paths = self.arch.paths[(plan.name, c.resource)]
                share[c.index] = sum(name in p for p in paths) / len(paths)
            seen_cells = [c for c in plan.cells if share[c.index] > 0 and plan.mechanism[c.tier] is not None]
            if not seen_cells:
                continue
            n = plan.spec.instances
            u = self.phases(plan.name)[0]
            expiry = np.full((n, len(plan.cells)), -INF)
            proof = np.full((n, len(plan.cells)), -INF)
            by_token: dict[str, list[Cell]] = {}
            for c in seen_cells:
                by_token.setdefault(self._token_id(plan, c), []).append(c)
            for tok, tok_cells in by_token.items():
                rate = sum(plan.request_rate[c.index] * share[c.index] for c in tok_cells)
                since = rng.exponential(1.0 / rate, n) if rate > 0 else np.full(n, INF)
                if tok_cells[0].tier in plan.jit_tiers:
                    hit = since < min(self.policy.jit_ttl, retention)
                    exp = t - since + self.policy.jit_ttl
                else:
                    ttl = plan.ttl[tok_cells[0].tier]
                    exp = current_expiry_array(t, ttl, u)
                    hit = since < np.minimum(ttl - (exp - t), retention)  # last request through here, inside the window
                captured = np.where(hit, exp, -INF)
                for c in plan.cells:  # a token seen for one resource works wherever its audience reaches
                    if self._token_id(plan, c) == tok and plan.mechanism[c.tier] is not None:
                        expiry[:, c.index] = captured
                for c in tok_cells:  # each logged request carries its own proof (htm, htu): one per cell
                    if proofs_replay and plan.mechanism[c.tier] == "dpop":
                        rate_c = plan.request_rate[c.index] * share[c.index]
                        since_c = rng.exponential(1.0 / rate_c, n) if rate_c > 0 else np.full(n, INF)
                        proof[:, c.index] = np.where(hit, t - since_c + self.policy.proof_window, -INF)
            rows = np.flatnonzero(_row_any(expiry > t))
            if rows.size:
                out.append((plan, rows, expiry[rows], proof[rows]))
        return out

    def _as_families(self, bundles: list[Bundle]) -> list[tuple]:
        """Token-only bundles of client leaks as (plan, instances, expiry, proof) arrays."""
        out = []
        for b in bundles:
            plan = self.plans[b.client]
            k = len(plan.cells)
            expiry = np.full((1, k), -INF)
            proof = np.full((1, k), -INF)
            for i, (_, exp) in b.tokens.items():
                expiry[0, i] = exp
            for i, until in b.proofs.items():
                proof[0, i] = until
            out.append((plan, np.array([b.instance]), expiry, proof))
        return out

    def _distinct_tokens(self, plan: ClientPlan, held: np.ndarray) -> np.ndarray:
        """Per row, how many distinct tokens the held cells stand for."""
        groups = self._token_groups.get(plan.name)
        if groups is None:
            ids = [self._token_id(plan, c) for c in plan.cells]
            groups = self._token_groups[plan.name] = [
                [i for i, t in enumerate(ids) if t == tok] for tok in dict.fromkeys(ids)
            ]
        if len(groups) == 1:
            return _row_any(held).astype(int)
        return sum(_row_any(held[:, idx]).astype(int) for idx in groups)

    def _resolve_families(
        self,
        plan: ClientPlan,
        instances: np.ndarray,
        expiry: np.ndarray,
        proof: np.ndarray,
        node: str,
        vector: str,
        t: float,
        start: float,
        rng: np.random.Generator,
    ) -> None:
        """Queue token-only families; they are resolved together after the clock stops.

        Such a family interacts with nothing (its only event chain, detection then
        revocation, is its own), so resolving it in closed form later gives the same
        distribution as a process now, at the cost of one numpy pass per client plan.
        """
        if self.trace is None:
            # a family whose tokens all expire before exploitation starts adds nothing but
            # its exposure count (already taken): drop it (only the trace tells its story)
            alive = np.flatnonzero(token_families.row_max(expiry) > start) if start < self.horizon else np.arange(0)
            if alive.size < len(instances):
                instances, expiry, proof = instances[alive], expiry[alive], proof[alive]
        if len(instances):
            self._pending.setdefault(plan.name, []).append((instances, expiry, proof, t, start, node, vector))

    def _resolve_pending(self) -> None:
        for name, parts in self._pending.items():
            plan = self.plans[name]
            instances, expiry, proof = (np.concatenate([p[i] for p in parts]) for i in range(3))
            sizes = [len(p[0]) for p in parts]
            leak_time, start = (np.repeat([p[i] for p in parts], sizes) for i in (3, 4))
            rng = self.streams.rng("families", name)
            cells = plan.cells
            seen_delay = np.array(
                [
                    0.0 if c.revocation == "introspection" else (c.propagation_delay if c.revocation == "caep" else INF)
                    for c in cells
                ]
            )
            response = sample_many(self.defender.response_time, rng, len(instances))
            per_family = self.trace is not None or plan.spec.tenants > 1
            res = token_families.resolve(
                leak_time=leak_time,
                start=start,
                horizon=self.horizon,
                expiry=expiry,
                proof_until=proof,
                bearer=np.array([c.effect == "bearer" for c in cells]),
                bound=np.array([c.effect == "bound" for c in cells]),
                weight=np.array([c.weight for c in cells]),
                seen_delay=seen_delay,
                rho=self.attacker.replay_rate,
                q=self.defender.detection_probability,
                response=response,
                rng=rng,
                per_family=per_family,
            )
            per_cell = res.cell_successes
            self.unauthorized += int(per_cell.sum())
            self.replay_attempts += res.attempts
            self.detections += res.detections
            for c, n in zip(cells, per_cell):
                if n:
                    self.blast_radius += c.sensitivity * int(n)
                    self.resource_hits[c.resource] = self.resource_hits.get(c.resource, 0) + int(n)
                    if c.tier == "privileged":
                        self.privileged += int(n)
            if res.successes is not None:
                tenants = np.unique(instances[res.successes.sum(axis=1) > 0] % plan.spec.tenants)
                self.tenants_hit.update((plan.name, int(x)) for x in tenants)
            elif per_cell.sum() > 0:  # one tenant: reached if any family succeeded
                self.tenants_hit.add((plan.name, 0))
            self.credentials_usable += int(self._distinct_tokens(plan, res.usable_end > start[:, None]).sum())
            used = _row_any(res.usable_end > start[:, None])  # usable once exploitation began
            self.exposure_hours += float(res.exposure[used].sum())
            self.containment.extend(res.exposure[used].tolist())
            if self.trace is not None:
                nodes = [p[5] for p in parts for _ in range(len(p[0]))]
                vectors = [p[6] for p in parts for _ in range(len(p[0]))]
                self._trace_families(plan, instances, expiry, proof, res, nodes, vectors, start)
        self._pending.clear()

    def _trace_families(
        self,
        plan: ClientPlan,
        instances: np.ndarray,
        expiry: np.ndarray,
        proof: np.ndarray,
        res: token_families.FamilyOutcome,
        nodes: list[str],
        vectors: list[str],
        starts: np.ndarray,
    ) -> None:
        for row, i in enumerate(instances):
            node, vector, start = nodes[row], vectors[row], float(starts[row])
            held = int(self._distinct_tokens(plan, expiry[row : row + 1] > -INF)[0])
            proofs = int((proof[row] > -INF).sum())
            what = f"{held} access token{'s' if held != 1 else ''}" + (
                f", {proofs} DPoP proof{'s' if proofs != 1 else ''}" if proofs else ""
            )
            attempts = int(res.family_attempts[row])
            rows = [(start, "exploit", attempts, f"{attempts} replay attempts")]
            why = []
            for c, n in zip(plan.cells, res.successes[row]):
                if n:
                    reason = (
                        "captured token, bearer route"
                        if c.effect == "bearer"
                        else "captured DPoP proof inside its window"
                    )
                    why.append(f"{int(n)} at {c.resource} ({c.tier}): {reason}")
            if why:
                rows.append((start, "replay", int(res.successes[row].sum()), "; ".join(why)))
            if not np.isnan(res.detected_at[row]):
                rows.append((float(res.detected_at[row]), "detection", 0, "a replayed request was detected"))
            if not np.isnan(res.revoked_at[row]):
                rows.append(
                    (
                        float(res.revoked_at[row]),
                        "revocation",
                        0,
                        "response to detection; the credential family is revoked",
                    )
                )
            if (res.usable_end[row] > start).any():
                end = float(res.usable_end[row].max())
                why = (
                    "revoked"
                    if not np.isnan(res.revoked_at[row]) and end < float(np.minimum(expiry[row], self.horizon).max())
                    else "expired"
                )
                rows.append((end, "exposure_end", 0, f"no stolen credential of this family is usable any more ({why})"))
            for time, event, count, detail in rows:
                self.trace.append((time, event, node, vector, plan.name, int(i), what, count, detail))

    def _forged_bundle(self, issuer: str, start: float) -> Bundle:
        """A stolen signing key: tokens for any client and any `cnf` at every resource that trusts it."""
        resources = tuple(r for r in self.arch.resources if self.arch.issuer_of(r) is self.arch.node(issuer))
        effects = []
        for r in resources:
            for tier in TIERS:
                seen = [self.binding[(c, r, tier)][0] for c in self.arch.clients if (c, r, tier) in self.binding]
                # the forger binds tokens to its own key: only a route that fails for everyone stops it
                effects.append((r, tier, "fails" if seen and all(e == "fails" for e in seen) else "bearer"))
        base = self._cells_for_resources(resources, effects)
        self._next_key += 1
        return Bundle(
            uid=self._next_key,
            node=issuer,
            vector="signing_key",
            client=None,
            instance=-1,
            tenant=None,
            leak_time=self.env.now,
            start=start,
            cells=base,
            forged=True,
        )

    def _cells_for_resources(self, resources: tuple[str, ...], effects: list[tuple[str, str, str]]) -> tuple[Cell, ...]:
        if not resources:
            return ()
        arch = self.arch
        if self.attacker.targeting == "sensitivity":
            total = sum(arch.node(r).sensitivity for r in resources)
            share = {r: arch.node(r).sensitivity / total for r in resources}
        else:
            share = {r: 1 / len(resources) for r in resources}
        out = []
        for r, tier, effect in effects:
            res = arch.node(r)
            frac = res.privileged_fraction if tier == "privileged" else 1 - res.privileged_fraction
            issuer = arch.issuer_of(r)
            out.append(
                Cell(
                    len(out),
                    r,
                    tier,
                    share[r] * frac,
                    effect,
                    res.sensitivity,
                    issuer.revocation,
                    issuer.propagation_delay,
                )
            )
        return tuple(out)

    # -- exploitation, detection, response ---------------------------------------------------------

    def _exploit(self, b: Bundle, rng: np.random.Generator):
        """Advance the thief through the bundle's change points, drawing replays in Poisson bursts."""
        env = self.env
        rho = self.attacker.replay_rate
        q = self.defender.detection_probability
        t = env.now
        announced = False
        while t < self.horizon:
            if b.reuse_at is not None and t >= b.reuse_at and b.revoked_at is None:
                self.reuse_detections += 1
                self.detections += 1
                self._revoke(b, "reuse detection: a rotated refresh token was presented again")
            st = b.state(t)
            if not st.holds_any:
                break
            weights = b.weights
            p = sum(w for w, ok in zip(weights, st.success) if ok)
            attacking = t >= b.start
            if attacking:
                b.usable_after_start |= p > 0
                b.usable_tokens |= st.usable_tokens
                b.rt_usable |= st.rt_usable
                b.secret_usable |= st.secret_usable
                if not announced and self.trace is not None:
                    announced = True
                    self._note(
                        "exploit",
                        b.node,
                        b.vector,
                        b.client,
                        b.instance,
                        b.describe(),
                        b.credentials(),
                        detail="; ".join(sorted({r for r in st.reasons})),
                    )
            nxt = min(b.change_points(t), self.horizon)
            detect_at = INF
            detected_before = b.detected
            if attacking and p > 0 and not b.detected and q > 0 and rho > 0:
                detect_at = t + rng.exponential(1.0 / (rho * p * q))
            end = min(nxt, detect_at)
            try:
                yield env.timeout(end - t)
            except simpy.Interrupt:  # revoked: the state changes now
                pass
            t1 = env.now
            span = t1 - t
            if p > 0 and span > 0:
                b.exposure += span
                b.last_usable = t1
            if attacking and rho > 0 and span > 0:
                self._count_segment(b, st, weights, p, span, rng, detected_before, q, rho)
            if not detected_before and t1 >= detect_at:
                self._detect(b, st, weights, p, rng)
            t = t1
        if (
            self.trace is not None
            and b.usable_after_start
            and b.last_usable is not None
            and b.last_usable < self.horizon
        ):
            self.trace.append(
                (
                    b.last_usable,
                    "exposure_end",
                    b.node,
                    b.vector,
                    b.client or "",
                    -1 if b.instance is None else b.instance,
                    b.describe(),
                    0,
                    "no stolen credential of this family is usable any more"
                    + (
                        " (after revocation)"
                        if b.revoked_at is not None and b.revoked_at <= b.last_usable
                        else " (expired)"
                    ),
                )
            )
        self._waiting.pop(b.uid, None)

    def _count_segment(
        self,
        b: Bundle,
        st: CellState,
        weights: tuple[float, ...],
        p: float,
        span: float,
        rng: np.random.Generator,
        detected_before: bool,
        q: float,
        rho: float,
    ) -> None:
        fails = int(rng.poisson(rho * (1 - p) * span)) if p < 1 else 0
        if detected_before:
            hits = int(rng.poisson(rho * p * span)) if p > 0 else 0
            found = int(rng.binomial(hits, q)) if hits and q > 0 else 0
        else:  # before the first detection only undetected successes fill the gap
            hits = int(rng.poisson(rho * p * (1 - q) * span)) if p > 0 else 0
            found = 0
        self.replay_attempts += fails + hits
        self.detections += found
        if hits:
            self._record_hits(b, st, weights, p, hits, rng)

    def _record_hits(
        self, b: Bundle, st: CellState, weights: tuple[float, ...], p: float, hits: int, rng: np.random.Generator
    ) -> None:
        idx = [i for i, ok in enumerate(st.success) if ok]
        probs = np.array([weights[i] for i in idx]) / p
        counts = rng.multinomial(hits, probs) if len(idx) > 1 else np.array([hits])
        for i, n in zip(idx, counts):
            if n:
                cell = b.cells[i]
                n = int(n)
                self.unauthorized += n
                b.successes += n
                if cell.tier == "privileged":
                    self.privileged += n
                self.blast_radius += cell.sensitivity * n
                self.resource_hits[cell.resource] = self.resource_hits.get(cell.resource, 0) + n
                if b.tenant is not None:
                    self.tenants_hit.add(b.tenant)
                elif b.forged:
                    self._forged_tenants(cell.resource)
        if self.trace is not None:
            why = "; ".join(
                f"{int(n)} at {b.cells[i].resource} ({b.cells[i].tier}): {st.reasons[i]}"
                for i, n in zip(idx, counts)
                if n
            )
            self._note("replay", b.node, b.vector, b.client, b.instance, b.describe(), hits, detail=why)

    def _forged_tenants(self, resource: str) -> None:
        for c in self.arch.clients:
            if (c, resource) in self.arch.paths:
                for tenant in range(self.arch.node(c).tenants):
                    self.tenants_hit.add((c, tenant))

    def _detect(self, b: Bundle, st: CellState, weights: tuple[float, ...], p: float, rng: np.random.Generator) -> None:
        """A successful request was detected: count it and start the response."""
        b.detected = True
        self.detections += 1
        self.replay_attempts += 1
        self._record_hits(b, st, weights, p, 1, rng)
        delay = sample(self.defender.response_time, rng)
        self._note("detection", b.node, b.vector, b.client, b.instance, detail=f"response in {delay:.2f} h")
        self.env.process(self._respond(b, delay))

    def _respond(self, b: Bundle, delay: float):
        yield self.env.timeout(delay)
        if b.revoked_at is None:
            self._revoke(b, "response to detection")

    def _revoke(self, b: Bundle, why: str) -> None:
        b.revoked_at = self.env.now
        modes = sorted({c.revocation for c in b.cells})
        self._note(
            "revocation",
            b.node,
            b.vector,
            b.client,
            b.instance,
            detail=f"{why}; the credential family is revoked ({', '.join(modes) or 'no resources'})",
        )
        process = self._waiting.get(b.uid)
        if process is not None and process is not self.env.active_process and process.is_alive:
            process.interrupt("revoked")


def _row_any(a: np.ndarray) -> np.ndarray:
    """Row-wise any of a tall, narrow boolean array (column by column: faster than any(axis=1) there)."""
    out = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        out |= a[:, k]
    return out
