"""Token-only stolen families, queued during the run and resolved in closed form in bounded chunks.

Such a family interacts with nothing (its only event chain, detection then
revocation, is its own), so resolving it at any moment after its leak gives the same
distribution as a process during the run, at the cost of one numpy pass per chunk
of a client population's families (`token_families.resolve`). A population's queue is
resolved when the next leak's families would take it past `CHUNK_CELLS` values, and
what is left when the clock stops: memory holds at most a chunk of families, however
many instances and leaks the run has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tokensim.sim import hazard, token_families
from tokensim.sim.bundle import INF
from tokensim.sim.capture import CapturedFamilies
from tokensim.sim.detection import Detection
from tokensim.sim.distributions import sample_many
from tokensim.sim.plan import ClientPlan, Threat
from tokensim.sim.streams import Streams
from tokensim.sim.tally import Reach, Tally
from tokensim.sim.token_families import row_any
from tokensim.sim.trace import TraceEvent, TraceSink

#: Queued (families x cells) values per population before its queue is resolved, and the size of a log
#: leak's capture blocks (instances x cells): 2^19, 4 MiB per float array of a pass (a pass holds about
#: twenty such arrays). Assumption: 13 times the golden set's largest population queue (34,232 values)
#: and largest population (40,000), both mobile_gateway's, so no golden run is chunked; small enough that
#: a run of 10^7 instances stays near 100 MiB beyond the imports (docs/benchmarks.md, "Memory of a run").
#: Runs above it depend on this fixed number (chunk boundaries decide the order of the draws), never on
#: the policy being compared (docs/model.md, section 9).
CHUNK_CELLS = 2**19


@dataclass(frozen=True)
class QueuedFamilies:
    """Captured families of one leak, with when and where it happened."""

    families: CapturedFamilies
    leak_time: float
    start: float
    node: str
    vector: str
    draw: np.ndarray | None = None  # Exp(1) per family of its first detection, drawn with its scope group
    revoke_at: float = INF  # its scope group's revocation (inf: none, or revoked on its own detection)


class FamilyQueue:
    """Families queued per client population, in order of their first leak, resolved a chunk at a time."""

    def __init__(
        self,
        horizon: float,
        trace: TraceSink,
        streams: Streams,
        threat: Threat,
        tally: Tally,
        *,
        detection: Detection,
        chunk_cells: int = CHUNK_CELLS,
    ) -> None:
        self.horizon = horizon
        self.trace = trace
        self.streams = streams
        self.threat = threat
        self.tally = tally
        self.chunk_cells = chunk_cells
        self.detection = detection
        self._queued: dict[str, list[QueuedFamilies]] = {}
        self._cells: dict[str, int] = {}  # population -> queued families x cells
        self._rngs: dict[str, np.random.Generator] = {}  # population -> its `families` stream, across chunks

    def add(
        self,
        found: CapturedFamilies,
        leak_time: float,
        start: float,
        node: str,
        vector: str,
        draw: np.ndarray | None = None,
        revoke_at: float = INF,
    ) -> None:
        """Queue a leak's families (untraced, dropping those whose tokens all expire before exploitation);
        first resolve the population's queue if these would take it past the chunk. ``draw`` and
        ``revoke_at``: a scope group's detection draws and revocation (`add_group`)."""
        instances, expiry, proof = found.instances, found.expiry, found.proof
        if not self.trace.enabled:
            # a family whose tokens all expire before exploitation starts adds nothing but
            # its exposure count (already taken): drop it (only the trace tells its story)
            alive = np.flatnonzero(token_families.row_max(expiry) > start) if start < self.horizon else np.arange(0)
            if alive.size < len(instances):
                instances, expiry, proof = instances[alive], expiry[alive], proof[alive]
                draw = draw[alive] if draw is not None else None
        if not len(instances):
            return
        name, size = found.plan.name, int(expiry.size)
        if self._cells.get(name, 0) + size > self.chunk_cells:
            self._resolve(found.plan)
        kept = CapturedFamilies(found.plan, instances, expiry, proof)
        queued = QueuedFamilies(kept, leak_time, start, node, vector, draw, revoke_at)
        self._queued.setdefault(name, []).append(queued)
        self._cells[name] = self._cells.get(name, 0) + size

    def add_group(
        self,
        found: list[CapturedFamilies],
        leak_time: float,
        start: float,
        node: str,
        vector: str,
        rng: np.random.Generator,
    ) -> None:
        """Queue every family of one leak as one scope group (`revocation_scope: leak`).

        The group is revoked at the earliest (own first detection + own response draw) over its families,
        each computed as if no other family existed (exact: docs/model.md, section 7). The draws come from
        the leak's replay stream, so the group's revocation is known before any of its families is resolved,
        whatever chunks the queue later cuts them into."""
        revoke_at, draws = INF, []
        for f in found:
            m = len(f.instances)
            draw = rng.exponential(1.0, m)
            response = sample_many(self.threat.response_time, rng, m)
            cells = self._cells_of(f.plan)
            win = cells.windows(np.full(m, start), self.horizon, f.expiry, f.proof, np.full(m, INF))
            first = hazard.first_event(win.a, win.b, cells.coefficients(self.threat.replay_rate), draw)
            if (~np.isnan(first)).any():
                revoke_at = min(revoke_at, float(np.nanmin(first + response)))
            draws.append(draw)
        if revoke_at < self.horizon:  # every session the leak exposed re-authenticates
            self.tally.revoked_sessions += sum(len(f.instances) for f in found)
        for f, draw in zip(found, draws):
            self.add(f, leak_time, start, node, vector, draw, revoke_at)

    def _cells_of(self, plan: ClientPlan) -> hazard.CellInputs:
        """The closed form's view of a population's cells (route effects, aim, revocation, detection)."""
        cells = plan.cells
        seen_delay = np.array(
            [
                0.0 if c.revocation == "introspection" else (c.propagation_delay if c.revocation == "caep" else INF)
                for c in cells
            ]
        )
        tokens = list(dict.fromkeys(plan.token_ids))
        covers = np.array(
            [[plan.token_ids[c.index] == t and plan.mechanism[c.tier] is not None for c in cells] for t in tokens]
        ).reshape(len(tokens), len(cells))
        same = np.array(
            [
                [any(covers[j, x.index] for x in cells if x.resource == c.resource) for j in range(len(tokens))]
                for c in cells
            ]
        ).reshape(len(cells), len(tokens))
        d = self.detection
        # token-only families replay from outside: an allow-listed resource refuses them, as a failing route
        return hazard.CellInputs(
            bearer=np.array([c.effect == "bearer" and not c.allow_listed for c in cells]),
            bound=np.array([c.effect == "bound" and not c.allow_listed for c in cells]),
            weight=np.array([c.weight for c in cells]),
            seen_delay=seen_delay,
            signals=hazard.Signals(d.q, d.q_binding, d.q_audience, covers, same),
        )

    def finish(self, plans: Mapping[str, ClientPlan]) -> None:
        """Resolve what is still queued into the tally (and the trace), one pass per population."""
        for name in self._queued:
            self._resolve(plans[name])

    def _resolve(self, plan: ClientPlan) -> None:
        parts = self._queued.get(plan.name)
        if parts:
            if plan.name not in self._rngs:
                self._rngs[plan.name] = self.streams.rng("families", plan.name)
            self._resolve_population(plan, parts, self._rngs[plan.name], self.threat, self.tally)
            self._queued[plan.name] = []  # the key stays: populations keep the order of their first leak
            self._cells[plan.name] = 0

    def _resolve_population(
        self, plan: ClientPlan, parts: list[QueuedFamilies], rng: np.random.Generator, threat: Threat, tally: Tally
    ) -> None:
        instances = np.concatenate([p.families.instances for p in parts])
        expiry = np.concatenate([p.families.expiry for p in parts])
        proof = np.concatenate([p.families.proof for p in parts])
        sizes = [len(p.families.instances) for p in parts]
        leak_time = np.repeat([p.leak_time for p in parts], sizes)
        start = np.repeat([p.start for p in parts], sizes)
        cells = plan.cells
        inputs = self._cells_of(plan)
        # per cell: the chance a replay of a captured proof is accepted (0: none replays, nothing to thin)
        accept = np.array(plan.proof_accept) if any(0.0 < a < 1.0 for a in plan.proof_accept) else None
        draws = [p.draw for p in parts]
        general = self.detection.q_binding > 0 or self.detection.q_audience > 0 or draws[0] is not None
        if not general:  # version 1's hazard: every window starts at exploitation start
            response = sample_many(threat.response_time, rng, len(instances))
            res = token_families.resolve(
                leak_time=leak_time,
                start=start,
                horizon=self.horizon,
                expiry=expiry,
                proof_until=proof,
                bearer=inputs.bearer,
                bound=inputs.bound,
                weight=inputs.weight,
                seen_delay=inputs.seen_delay,
                rho=threat.replay_rate,
                q=threat.detection_probability,
                response=response,
                rng=rng,
                accept=accept,
            )
        else:
            grouped = draws[0] is not None  # a scope group's draws and revocation come with its families
            res = hazard.resolve_general(
                leak_time=leak_time,
                start=start,
                horizon=self.horizon,
                expiry=expiry,
                proof_until=proof,
                cells=inputs if accept is None else inputs.thinned(accept),
                rho=threat.replay_rate,
                draw=np.concatenate(draws) if grouped else rng.exponential(1.0, len(instances)),  # type: ignore[arg-type]
                response=None if grouped else sample_many(threat.response_time, rng, len(instances)),
                revoke_at=np.repeat([p.revoke_at for p in parts], sizes) if grouped else None,
                rng=rng,
            )
        if draws[0] is None:  # revoked on their own detection: each its own victim's session
            tally.revoked_sessions += int((~np.isnan(res.revoked_at)).sum())
        per_cell = res.cell_successes
        tally.replay_attempts += res.attempts
        tally.detections += res.detections
        for c, n in zip(cells, per_cell):
            if n:
                tally.successes(c, int(n))
        if tally.reach.attribution is not None:
            tally.reach.attribution.add_families([(p.node, p.vector) for p in parts], sizes, cells, res.successes)
        _reach_of_families(tally.reach, plan, parts, sizes, instances % plan.spec.tenants, res.successes)
        tally.credentials_usable += int(plan.distinct_tokens(res.usable_end > start[:, None]).sum())
        used = row_any(res.usable_end > start[:, None])  # usable once exploitation began
        tally.exposure_hours += float(res.exposure[used].sum())
        tally.containment.add(res.exposure[used])
        if self.trace.enabled:
            origins = [(p.node, p.vector) for p in parts for _ in range(len(p.families.instances))]
            self._trace(plan, instances, expiry, proof, res, origins, start)

    def _trace(
        self,
        plan: ClientPlan,
        instances: np.ndarray,
        expiry: np.ndarray,
        proof: np.ndarray,
        res: token_families.FamilyOutcome,
        origins: list[tuple[str, str]],
        starts: np.ndarray,
    ) -> None:
        """Each resolved family's story, as the process path would have told it."""
        for row, i in enumerate(instances):
            (node, vector), start = origins[row], float(starts[row])
            held = int(plan.distinct_tokens(expiry[row : row + 1] > -INF)[0])
            proofs = int((proof[row] > -INF).sum())
            what = f"{held} access token{'s' if held != 1 else ''}" + (
                f", {proofs} DPoP proof{'s' if proofs != 1 else ''}" if proofs else ""
            )
            attempts = int(res.family_attempts[row])
            rows: list[tuple[float, TraceEvent, int, str]] = [
                (start, "exploit", attempts, f"{attempts} replay attempts")
            ]
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
                revoked = not np.isnan(res.revoked_at[row]) and end < float(np.minimum(expiry[row], self.horizon).max())
                rows.append(
                    (
                        end,
                        "exposure_end",
                        0,
                        f"no stolen credential of this family is usable any more ({'revoked' if revoked else 'expired'})",
                    )
                )
            for time, event, count, detail in rows:
                self.trace.note(time, event, node, vector, plan.name, int(i), what, count, detail)


def _reach_of_families(
    reach: Reach,
    plan: ClientPlan,
    parts: list[QueuedFamilies],
    sizes: list[int],
    tenants: np.ndarray,
    successes: np.ndarray,
) -> None:
    """What the families' successes (families x cells) reached: tenants, records per tenant, incidents."""
    hit = successes.sum(axis=1) > 0
    if not hit.any():
        return
    reached = np.unique(tenants[hit])
    reach.tenants_hit.update((plan.name, int(x)) for x in reached)
    reach.organisations.update(int(x) for x in reached)
    for j, cell in enumerate(plan.cells):
        if cell.records is not None and successes[:, j].any():
            per_tenant = np.bincount(tenants, weights=successes[:, j])
            for t in np.flatnonzero(per_tenant):
                reach.data_requests(cell, int(t), int(per_tenant[t]))
    for k in np.unique(np.repeat(np.arange(len(parts)), sizes)[hit]):
        part = parts[int(k)]
        reach.harmful_leaks.add((part.node, part.vector, part.leak_time))
