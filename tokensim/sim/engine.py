"""The SimPy engine (MODEL.md sections 4-7, 9, 10): leak arrivals, and who handles what they expose.

Events exist only for what is random or triggered: leak arrivals (one SimPy
process per leak process of the model), the thief's exploitation of each stolen
credential family (`exploit.Exploitation`), detections and the responses that
revoke. Replays between change points are drawn as exact Poisson bursts; routine
renewals are arithmetic (`lifecycle.py`); token-only families are resolved in
closed form, a bounded chunk at a time (`closed_form.FamilyQueue`), so a run's memory
follows its incidents, not its instances times its leaks. The parts, each
with one job: `plan` (the static plan), `vectors` and `capture` (what a leak
exposes), `exploit`, `closed_form`, `tally` (counters to outcome fields) and
`trace`. The engine knows nothing of files, sweeps or plots.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterable
from typing import Any

import numpy as np
import simpy

from tokensim.model.architecture import Architecture
from tokensim.model.inside import outside_binding
from tokensim.model.policy import Policy
from tokensim.model.routes import RouteAnalysis, analyse
from tokensim.sim.attribution import Attribution
from tokensim.sim.bundle import INF, Bundle, CapturedToken, Loot, Origin
from tokensim.sim.capture import CapturedFamilies
from tokensim.sim.closed_form import CHUNK_CELLS, FamilyQueue
from tokensim.sim.detection import Detection, Scopes
from tokensim.sim.distributions import sample
from tokensim.sim.exploit import Exploitation
from tokensim.sim.plan import RunPlan, build_plan, proof_verifiers
from tokensim.sim.sources import LeakSource
from tokensim.sim.streams import Streams
from tokensim.sim.tally import Reach, Tally
from tokensim.sim.trace import TraceRow, TraceSink
from tokensim.sim.vectors import (
    LeakEvent,
    as_families,
    broker_bundles,
    client_bundle,
    dwell_of,
    forged_bundle,
    log_families,
)


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
        attribution: bool = False,
        closed_form_families: bool = True,
        env: simpy.Environment | None = None,
        chunk_cells: int = CHUNK_CELLS,
    ) -> None:
        """``attribution`` keeps the harm by cause (`tokensim.sim.attribution`; it draws nothing);
        ``closed_form_families=False`` runs every family as a process (the cross-check of the closed form);
        ``env`` lets a caller supply its own SimPy environment (benchmarks count its events); ``chunk_cells``
        bounds the closed form's chunks and a log's capture blocks (families x cells; tests vary it)."""
        if not horizon > 0:
            raise ValueError("horizon must be positive")
        self.horizon = float(horizon)
        self.streams = Streams(seed, replication)
        self.env = env if env is not None else simpy.Environment()
        self.routes: RouteAnalysis = analyse(arch, policy)
        verifiers = proof_verifiers(arch, self.routes.groups)
        # every client leak's thief (outside, or resident: its requests leave through the client's first hop)
        # meets the route from outside (`RouteAnalysis.outside_binding`); an inside thief gets `inside_views`
        self.plan: RunPlan = build_plan(arch, policy, outside_binding(self.routes), self.streams, verifiers)
        self.closed_form_families = closed_form_families
        self.tally = Tally(reach=Reach(attribution=Attribution() if attribution else None))
        self.trace = TraceSink(trace)
        defender = arch.spec.defender
        detection = Detection(
            defender.detection_probability,
            defender.binding_failure_detection,
            defender.failure_detection,
            policy.revocation_scope,
        )
        populations = {name: (c.spec.instances, c.spec.tenants) for name, c in self.plan.clients.items()}
        self.families = FamilyQueue(
            self.horizon,
            self.trace,
            self.streams,
            self.plan.threat,
            self.tally,
            detection=detection,
            chunk_cells=chunk_cells,
        )
        self.exploitation = Exploitation(
            self.env,
            horizon=self.horizon,
            threat=self.plan.threat,
            forged_tenants=self.plan.forged_tenants,
            tally=self.tally,
            trace=self.trace,
            detection=detection,
            scopes=Scopes(policy.revocation_scope, populations),
        )
        self.bundles: list[Bundle] = []  # families run as processes, in order of their leak
        self._uids = itertools.count(1)

    def run(self) -> list[TraceRow] | None:
        """Start every leak process, run the clock to the horizon, resolve the families still queued.

        Returns the trace rows in time order (None when not traced).
        """
        for source in self.plan.leaks:
            self.env.process(self._leak_process(source))
        # Segments are clamped to the horizon; run a hair past it so those ending exactly there are counted.
        self.env.run(until=self.horizon * (1 + 1e-9) + 1e-9)
        self.families.finish(self.plan.clients)
        return self.trace.finish()

    def outcome_fields(self) -> dict[str, int | float]:
        """The blast-radius fields of the outcome record (after `run`)."""
        return self.tally.fields(self.bundles, self.plan.loss)

    def _leak_process(self, source: LeakSource) -> Generator[simpy.Event, Any, None]:
        """Poisson leak arrivals; times, victims and attacker delays never depend on the policy.

        A correlated leak (`reach`) is one event for the whole population (its rate is not per instance);
        its victims come from a stream of their own (`_reached`), so the leak stream is drawn as without it."""
        reach = source.leak.reach
        rate = source.leak.rate * (1 if reach is not None else source.units)
        if rate <= 0:
            return
        name, j = source.node, source.index
        rng = self.streams.rng("leak", name, j)
        delay_rng = self.streams.rng("delay", name, j)
        replay_rng = self.streams.rng("replay", name, j)  # what the thief does: may depend on the policy
        # the victims' activity spells, drawn only for clients that are not always active: no policy moves it
        activity = self.streams.rng("activity", name, j) if source.intermittent else None
        presign = self.plan.threat.presign_horizon
        capture_rng = self.streams.rng("capture", name, j)  # what the leak saw: the same under every policy
        replay_delay = source.leak.replay_delay or self.plan.threat.replay_delay
        reach_rng = self.streams.rng("reach", name, j) if reach is not None else None
        consented = tuple(source.leak.resources) if source.leak.resources is not None else None
        while True:
            gap = rng.exponential(1.0 / rate)
            victim = int(rng.integers(source.units))
            delay = sample(replay_delay, delay_rng)
            if self.env.now + gap >= self.horizon:
                return
            yield self.env.timeout(gap)
            self.tally.leaks += 1
            t = self.env.now
            dwell = dwell_of(source.leak.vector, source.leak.dwell)
            leak = LeakEvent(
                name, source.leak.vector, t, t + delay, dwell, presign, source.position, reach is not None, consented
            )
            victims = self._reached(source, reach_rng) if reach_rng is not None else None
            self._on_leak(source, leak, victim, replay_rng, capture_rng, self.tally.leaks, activity, victims)

    def _reached(self, source: LeakSource, rng: np.random.Generator) -> list[int]:
        """The victims of one correlated event: each unit (instance, or host) running then, independently with
        probability `reach` (active with probability `active_fraction`, stationary); every instance of a host."""
        spec = self.plan.clients[source.node].spec
        assert source.leak.reach is not None
        k = int(rng.binomial(source.units, source.leak.reach * spec.active_fraction))
        units = np.sort(rng.choice(source.units, size=k, replace=False)) if k else np.arange(0)
        return [i for u in units.tolist() for i in range(u, source.instances, source.stride)]

    def _on_leak(
        self,
        source: LeakSource,
        leak: LeakEvent,
        victim: int,
        rng: np.random.Generator,
        capture: np.random.Generator,
        leak_id: int,
        activity: np.random.Generator | None = None,
        reached: list[int] | None = None,
    ) -> None:
        """Capture what the leak exposes, count it, then queue or start the families' exploitation.

        Under `revocation_scope: family` token-only families are resolved in closed form, each on its own;
        under `leak` a leak's families are resolved together in closed form when all of them are token-only
        (with `closed_form_families`), else all run as processes; under `client`, `tenant` and `all` every
        family runs as a process, as families of other leaks may revoke them (docs/model.md, section 7).
        What the leak saw is drawn from its ``capture`` stream, what the thief does from ``rng`` (the replay
        stream). ``activity`` is the leak's stream of the victims' activity spells (None: always active). ``reached``:
        the victims of a correlated leak (None: one victim, ``victim``); they share one detection: their families
        form one leak group under `revocation_scope: family` too (a wider scope stays as it is)."""
        run_plan = self.plan  # each client runs under its own policy (`ClientPlan.policy`)
        bundles: list[Bundle] = []
        families: Iterable[CapturedFamilies] = ()
        if source.handler == "signing_key":
            bundles.append(forged_bundle(run_plan.forged_cells[leak.node], leak, self._uids))
        elif source.handler == "client":  # a host compromise takes every instance on the victim's host
            client = run_plan.clients[leak.node]
            victims = range(victim, source.instances, source.stride) if reached is None else reached
            bundles.extend(client_bundle(client, i, leak, capture, self._uids, activity) for i in victims)
        elif source.handler == "broker_host":
            inside = leak.position == "inside"  # the hops after the broker decide what it faces
            views = (run_plan.inside_views if inside else run_plan.broker_views)[leak.node]
            bundles.extend(broker_bundles(views, source.key_storage, leak, capture, self._uids))
        else:  # a log on an intermediary, resource or broker: its families come block by block
            assert source.retention is not None
            shares = run_plan.path_share[leak.node]
            populations = [(c, shares[name]) for name, c in run_plan.clients.items()]
            chunk = self.families.chunk_cells
            families = log_families(populations, source.retention, leak.time, capture, chunk_cells=chunk)
        bundles = [b for b in bundles if b.credentials() > 0]
        scope = self.exploitation.scopes.scope
        if leak.correlated and scope == "family":
            scope = "leak"
        closed = self.closed_form_families and (
            scope == "family" or (scope == "leak" and all(b.tokens_only() for b in bundles))
        )
        token_only = [b for b in bundles if b.tokens_only()] if closed else []
        families = itertools.chain(families, as_families(token_only, run_plan.clients))
        queued = {id(b) for b in token_only}
        bundles = [b for b in bundles if id(b) not in queued]
        exposed = sum(b.credentials() for b in bundles)
        count = len(bundles)
        traced = self.trace.enabled
        grouped = scope != "family"  # a scope group is held whole: its revocation is known before it is queued
        # untraced, each block is queued (and perhaps a chunk resolved) before the next is captured; traced,
        # the leak's note comes first, as its families' rows follow it (the trace holds them all anyway)
        held = list(families) if traced or grouped else families
        for f in held:
            exposed += int(f.plan.distinct_tokens(f.expiry > leak.time).sum())
            count += len(f.instances)
            if not traced and not grouped:
                self.families.add(f, leak.time, leak.start, leak.node, leak.vector)
        self.tally.credentials_exposed += exposed
        self.trace.note(
            leak.time,
            "leak",
            leak.node,
            leak.vector,
            count=count,
            detail=f"{exposed} credentials exposed; exploitation at {leak.start:.3f} h",
        )
        if grouped and closed:
            self.families.add_group(list(held), leak.time, leak.start, leak.node, leak.vector, rng)
        elif grouped:  # as processes: the token-only families of a log become bundles
            bundles.extend(b for f in held for b in self._as_bundles(f, leak))
        for f in held if traced and not grouped else ():
            self.families.add(f, leak.time, leak.start, leak.node, leak.vector)
        for b in bundles:
            self.bundles.append(b)
            self.exploitation.start(b, rng, leak_id, scope)

    def _as_bundles(self, f: CapturedFamilies, leak: LeakEvent) -> list[Bundle]:
        """Token-only families of a log as process-path bundles (each captured token and proof, per cell)."""
        plan, out = f.plan, []
        for row, i in enumerate(f.instances.tolist()):
            loot = Loot()
            for c in plan.cells:
                if f.expiry[row, c.index] > -INF:
                    loot.tokens[c.index] = CapturedToken(plan.token_ids[c.index], float(f.expiry[row, c.index]))
                if f.proof[row, c.index] > -INF:
                    loot.proofs[c.index] = float(f.proof[row, c.index])
            tenant = (plan.name, i % plan.spec.tenants)
            origin = Origin(leak.node, leak.vector, plan.name, i, tenant, leak.time, leak.start)
            out.append(Bundle(uid=next(self._uids), origin=origin, cells=plan.cells, loot=loot, rules=plan.rules))
        return out
