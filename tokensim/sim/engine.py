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
from tokensim.model.policy import Policy
from tokensim.model.routes import RouteAnalysis, analyse, effective_binding
from tokensim.sim.bundle import Bundle
from tokensim.sim.capture import CapturedFamilies
from tokensim.sim.closed_form import CHUNK_CELLS, FamilyQueue
from tokensim.sim.distributions import sample
from tokensim.sim.exploit import Exploitation
from tokensim.sim.plan import LeakSource, RunPlan, build_plan, proof_verifiers
from tokensim.sim.streams import Streams
from tokensim.sim.tally import Tally
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
        closed_form_families: bool = True,
        env: simpy.Environment | None = None,
        chunk_cells: int = CHUNK_CELLS,
    ) -> None:
        """``closed_form_families=False`` runs every family as a process (the cross-check of the closed form);
        ``env`` lets a caller supply its own SimPy environment (benchmarks count its events); ``chunk_cells``
        bounds the closed form's chunks and a log's capture blocks (families x cells; tests vary it)."""
        if not horizon > 0:
            raise ValueError("horizon must be positive")
        self.horizon = float(horizon)
        self.streams = Streams(seed, replication)
        self.env = env if env is not None else simpy.Environment()
        self.routes: RouteAnalysis = analyse(arch, policy)
        verifiers = proof_verifiers(arch, self.routes.groups)
        self.plan: RunPlan = build_plan(arch, policy, effective_binding(self.routes), self.streams, verifiers)
        self.closed_form_families = closed_form_families
        self.tally = Tally()
        self.trace = TraceSink(trace)
        self.families = FamilyQueue(
            self.horizon, self.trace, self.streams, self.plan.threat, self.tally, chunk_cells=chunk_cells
        )
        self.exploitation = Exploitation(
            self.env,
            horizon=self.horizon,
            threat=self.plan.threat,
            forged_tenants=self.plan.forged_tenants,
            tally=self.tally,
            trace=self.trace,
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
        return self.tally.fields(self.bundles)

    def _leak_process(self, source: LeakSource) -> Generator[simpy.Event, Any, None]:
        """Poisson leak arrivals; times, victims and attacker delays never depend on the policy."""
        rate = source.leak.rate * source.units
        if rate <= 0:
            return
        name, j = source.node, source.index
        rng = self.streams.rng("leak", name, j)
        delay_rng = self.streams.rng("delay", name, j)
        replay_rng = self.streams.rng("replay", name, j)  # what the thief does: may depend on the policy
        capture_rng = self.streams.rng("capture", name, j)  # what the leak saw: the same under every policy
        replay_delay = source.leak.replay_delay or self.plan.threat.replay_delay
        while True:
            gap = rng.exponential(1.0 / rate)
            victim = int(rng.integers(source.units))
            delay = sample(replay_delay, delay_rng)
            if self.env.now + gap >= self.horizon:
                return
            yield self.env.timeout(gap)
            self.tally.leaks += 1
            t = self.env.now
            leak = LeakEvent(name, source.leak.vector, t, t + delay, dwell_of(source.leak.vector, source.leak.dwell))
            self._on_leak(source, leak, victim, replay_rng, capture_rng)

    def _on_leak(
        self, source: LeakSource, leak: LeakEvent, victim: int, rng: np.random.Generator, capture: np.random.Generator
    ) -> None:
        """Capture what the leak exposes (``capture`` stream), count it, then queue or start the families'
        exploitation (``rng``, the replay stream)."""
        run_plan, policy = self.plan, self.plan.policy
        bundles: list[Bundle] = []
        families: Iterable[CapturedFamilies] = ()
        if source.handler == "signing_key":
            bundles.append(forged_bundle(run_plan.forged_cells[leak.node], leak, self._uids))
        elif source.handler == "client":  # a host compromise takes every instance on the victim's host
            client = run_plan.clients[leak.node]
            victims = range(victim, source.instances, source.stride)
            bundles.extend(client_bundle(client, policy, i, leak, capture, self._uids) for i in victims)
        elif source.handler == "broker_host":
            views = run_plan.broker_views[leak.node]
            bundles.extend(broker_bundles(views, policy, source.key_storage, leak, capture, self._uids))
        else:  # a log on an intermediary, resource or broker: its families come block by block
            assert source.retention is not None
            shares = run_plan.path_share[leak.node]
            populations = [(c, shares[name]) for name, c in run_plan.clients.items()]
            chunk = self.families.chunk_cells
            families = log_families(populations, policy, source.retention, leak.time, capture, chunk_cells=chunk)
        bundles = [b for b in bundles if b.credentials() > 0]
        token_only = [b for b in bundles if b.tokens_only()] if self.closed_form_families else []
        families = itertools.chain(families, as_families(token_only, run_plan.clients))
        queued = {id(b) for b in token_only}
        bundles = [b for b in bundles if id(b) not in queued]
        exposed = sum(b.credentials() for b in bundles)
        count = len(bundles)
        traced = self.trace.enabled
        # untraced, each block is queued (and perhaps a chunk resolved) before the next is captured; traced,
        # the leak's note comes first, as its families' rows follow it (the trace holds them all anyway)
        held = list(families) if traced else families
        for f in held:
            exposed += int(f.plan.distinct_tokens(f.expiry > leak.time).sum())
            count += len(f.instances)
            if not traced:
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
        for f in held if traced else ():
            self.families.add(f, leak.time, leak.start, leak.node, leak.vector)
        for b in bundles:
            self.bundles.append(b)
            self.exploitation.start(b, rng)
