"""The static plan of one run: everything about the architecture and policy that no leak changes.

Built once, before the clock starts, and never changed; nothing is re-queried from
the architecture at a leak: per client population its target cells (resource x tier, with the route's
effect and the issuer's revocation mode), request rates, chosen mechanisms, token
identities, renewal phases and what a thief needs to mint tokens; per node, the
share of each client's paths that pass through it (what its log sees); per broker,
the cells beyond it; per issuer, what its signing key forges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from tokensim.model.architecture import Architecture
from tokensim.model.inside import inside_effect
from tokensim.model.loss import LossFigures
from tokensim.model.policy import Policy
from tokensim.model.routes import TIERS, Effect, Route, Tier, client_mechanisms
from tokensim.model.schema import Client, DelayDistribution
from tokensim.sim.bundle import INF, Cell
from tokensim.sim.credentials import MintRules, mint_rules
from tokensim.sim.phases import Phases
from tokensim.sim.proofs import proofs_replay
from tokensim.sim.records import HeldRecords
from tokensim.sim.sources import LeakSource, leak_source
from tokensim.sim.streams import Streams
from tokensim.sim.token_families import row_any

#: Per (client, resource, tier): what a thief faces and the share of legitimate requests that fail.
Binding = Mapping[tuple[str, str, Tier], tuple[Effect, float]]


@dataclass(frozen=True)
class ClientPlan:
    """Everything about one client population that does not change during a run."""

    name: str
    spec: Client
    policy: Policy  # the policy this client runs under: the run's, with its overrides (`Policy.for_client`)
    resources: tuple[str, ...]
    cells: tuple[Cell, ...]
    request_rate: tuple[float, ...]  # per cell: legitimate requests per hour per instance
    ttl: Mapping[Tier, float]  # access-token lifetime per tier
    mechanism: Mapping[Tier, str | None]  # chosen mechanism per tier (None: unsupported and failing)
    rules: MintRules  # what a thief needs to mint tokens for this client
    token_ids: tuple[str, ...]  # per cell: which access token serves it
    token_groups: tuple[tuple[int, ...], ...]  # cells sharing one token, in order of first use
    phases: Phases  # per instance: renewal phases of access tokens and of grants, computed when asked

    @property
    def proof_accept(self) -> tuple[float, ...]:
        """Per cell: the chance a replay of a captured DPoP proof is accepted (`proofs.proofs_replay` of the
        client's policy and the replicas verifying the cell's binding, `proof_verifiers`; 0: never replays)."""
        return tuple(c.proof_accept for c in self.cells)

    def distinct_tokens(self, held: np.ndarray) -> np.ndarray:
        """Per row of an (instances x cells) mask of held cells, how many distinct tokens they stand for."""
        if len(self.token_groups) == 1:
            return row_any(held).astype(int)
        return sum(row_any(held[:, list(idx)]).astype(int) for idx in self.token_groups)  # type: ignore[return-value]


@dataclass(frozen=True)
class BrokerView:
    """A client population as a broker's host sees it: the cells beyond the broker, reweighted."""

    plan: ClientPlan
    cells: tuple[Cell, ...]  # every cell of the plan (indices kept), weight 0 where not beyond the broker
    seen: tuple[Cell, ...]  # the cells beyond the broker


@dataclass(frozen=True)
class Threat:
    """The attacker's and the defender's parameters that every stolen family meets."""

    replay_rate: float  # the thief's requests per hour with one family
    detection_probability: float  # per successful unauthorized request
    response_time: DelayDistribution  # from detection to revocation
    replay_delay: DelayDistribution  # from a leak to the thief's first replay, unless the leak sets its own
    presign_horizon: float | None = None  # how far past its dwell a thief with an oracle pre-signs DPoP proofs


@dataclass(frozen=True)
class RunPlan:
    """The static plan of a run (see the module docstring)."""

    policy: Policy
    clients: Mapping[str, ClientPlan]
    path_share: Mapping[str, Mapping[str, np.ndarray]]  # node -> client -> per-cell share of paths through it
    broker_views: Mapping[str, tuple[BrokerView, ...]]  # a thief replaying from outside (the client's routes)
    inside_views: Mapping[str, tuple[BrokerView, ...]]  # a thief inside the broker: the hops after it decide
    forged_cells: Mapping[str, tuple[Cell, ...]]  # issuer -> what its signing key reaches
    forged_tenants: Mapping[str, tuple[tuple[str, int], ...]]  # resource -> every tenant whose client reaches it
    leaks: tuple[LeakSource, ...]
    threat: Threat
    loss: LossFigures | None = None  # money per unit of harm (None: the outcome's `loss` is NaN)


def build_plan(
    arch: Architecture,
    policy: Policy,
    binding: Binding,
    streams: Streams,
    verifiers: Mapping[tuple[str, str, Tier], int] | None = None,
) -> RunPlan:
    """The run's static plan from the architecture, the policy and the route table's effective binding
    (and, per (client, resource, tier), the verifier replicas of `proof_verifiers`; none given: one)."""
    clients = {name: _client_plan(arch, policy, name, binding, streams) for name in arch.clients}
    k = verifiers or {}
    clients = {
        name: replace(
            c,
            cells=tuple(
                replace(
                    x, proof_accept=proofs_replay(c.policy, c.mechanism[x.tier], k.get((name, x.resource, x.tier), 1))
                )
                for x in c.cells
            ),
        )
        for name, c in clients.items()
    }
    attacker, defender = arch.spec.attacker, arch.spec.defender
    leaks = tuple(
        leak_source(name, j, node, leak) for name, node in arch.spec.nodes.items() for j, leak in enumerate(node.leaks)
    )
    # only what some leak process can reach: a model without a signing-key leak forges nothing
    handled = {(source.node, source.handler) for source in leaks if source.leak.rate > 0}
    inside = {source.node for source in leaks if source.handler == "broker_host" and source.position == "inside"}
    forging = {node for node, handler in handled if handler == "signing_key"}
    return RunPlan(
        policy=policy,
        clients=clients,
        path_share={node: _path_shares(arch, node, clients) for node, handler in handled if handler == "log"},
        broker_views={
            node: _broker_views(arch, node, clients) for node, handler in handled if handler == "broker_host"
        },
        inside_views={node: _broker_views(arch, node, clients, inside=policy) for node in inside},
        forged_cells={node: _forged_cells(arch, node, binding) for node in forging},
        forged_tenants={
            r: tuple((c, t) for c in arch.clients if (c, r) in arch.paths for t in range(arch.node(c).tenants))
            for r in arch.resources
            if arch.validation_of(r) == "local"  # only there does a forged token work (MODEL-v2 section 9)
        }
        if forging
        else {},
        leaks=leaks,
        threat=Threat(
            attacker.replay_rate,
            defender.detection_probability,
            defender.response_time,
            attacker.replay_delay,
            attacker.presign_horizon,
        ),
        loss=arch.spec.loss,
    )


def proof_verifiers(arch: Architecture, groups: Iterable[Route]) -> dict[tuple[str, str, Tier], int]:
    """Per (client, resource, tier) with a bound path: the `verifiers` of the node that verifies the binding.

    The route table names it (`Route.hop` of a bound row); over several bound paths the thief takes the
    weakest, the node with the most replicas (the most `jti` caches a replayed proof can land on).
    """
    out: dict[tuple[str, str, Tier], int] = {}
    for g in groups:
        if g.effect == "bound" and g.hop is not None:
            k = int(getattr(arch.node(g.hop), "verifiers", 1))
            key = (g.client, g.resource, g.tier)
            out[key] = max(out.get(key, 1), k)
    return out


def cells_for_resources(
    arch: Architecture, resources: tuple[str, ...], effects: list[tuple[str, Tier, Effect]]
) -> tuple[Cell, ...]:
    """The thief's target cells: its aim spread over resources (by sensitivity or evenly), then tiers."""
    if not resources:
        return ()
    if arch.spec.attacker.targeting == "sensitivity":
        total = sum(arch.node(r).sensitivity for r in resources)
        share = {r: arch.node(r).sensitivity / total for r in resources}
    else:
        share = {r: 1 / len(resources) for r in resources}
    out: list[Cell] = []
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
                res.sensitivity * (res.privileged_weight if tier == "privileged" else 1.0),
                issuer.revocation,
                issuer.propagation_delay,
                allow_listed=res.network_allow_list,
                records=None if res.records is None else HeldRecords(res.records, res.records_per_request),
            )
        )
    return tuple(out)


def _client_plan(
    arch: Architecture,
    policy: Policy,
    name: str,
    binding: Binding,
    streams: Streams,
) -> ClientPlan:
    spec: Client = arch.node(name)
    policy = policy.for_client(name, spec.platform)  # the run's policy with this client's overrides
    resources = tuple(arch.reachable(name))
    cells = cells_for_resources(
        arch, resources, [(r, tier, binding[(name, r, tier)][0]) for r in resources for tier in TIERS]
    )
    rate = []
    for c in cells:
        frac = arch.node(c.resource).privileged_fraction
        rate.append(spec.request_rate / len(resources) * (frac if c.tier == "privileged" else 1 - frac))
    # per tier, per resource: the issuer of each resource may not issue what the client asks for (MODEL-v2 s1)
    per_resource = {tier: client_mechanisms(arch, name, policy, tier) for tier in TIERS}
    mech = {tier: tier_mechanism(per_resource[tier].values()) for tier in TIERS}
    static = spec.credential == "static_key"
    jit_on = policy.jit and not static  # a static key is never issued just in time
    ttl: dict[Tier, float] = {
        "low_risk": policy.access_ttl,
        "privileged": policy.jit_ttl if jit_on else policy.access_ttl,
    }
    if static:  # the key is the token: it lives `static_ttl` (renewed at the instance's access phase) or forever
        ttl = dict.fromkeys(TIERS, spec.static_ttl if spec.static_ttl is not None else INF)
    rules = mint_rules(spec, policy, mech, jit_on)
    shared = mech["low_risk"] == mech["privileged"] and not jit_on
    ids = tuple(_token_id(policy, shared, c) for c in cells)
    groups = tuple(tuple(i for i, t in enumerate(ids) if t == tok) for tok in dict.fromkeys(ids))
    # policy-independent: every policy renews at the same phases; none is held before a leak asks for it
    phases = Phases(streams.rng("phase", name), spec.instances)
    return ClientPlan(
        name=name,
        spec=spec,
        policy=policy,
        resources=resources,
        cells=cells,
        request_rate=tuple(rate),
        ttl=ttl,
        mechanism=mech,
        rules=rules,
        token_ids=ids,
        token_groups=groups,
        phases=phases,
    )


def tier_mechanism(per_resource: Iterable[str | None]) -> str | None:
    """One tier's mechanism for a client plan from its mechanism at each resource (issuers may differ).

    The strongest one used anywhere (dpop, then mtls, then bearer: a token exists and captured proofs replay
    where DPoP is used); None only if no resource has a token for the tier. With one issuer, or issuers that
    issue alike, it is the mechanism at every resource. The cells' effects come from the route table.
    """
    used = set(per_resource)
    return next((m for m in ("dpop", "mtls", "bearer") if m in used), None)


def _token_id(policy: Policy, shared: bool, cell: Cell) -> str:
    """Which token serves a cell: one per audience (all resources, or each) and tier (or shared by both)."""
    aud = "all" if policy.audience == "broad" else cell.resource
    tier = "shared" if shared else cell.tier
    return f"access:{aud}:{tier}"


def _path_shares(arch: Architecture, node: str, clients: Mapping[str, ClientPlan]) -> dict[str, np.ndarray]:
    """Per client, per cell: the share of the client's paths to the cell's resource that pass through ``node``.

    Counted, not listed (`PathSpace.passes`), as an exact ratio of Python integers.
    """
    out = {}
    for plan in clients.values():
        share = np.zeros(len(plan.cells))
        for c in plan.cells:
            space = arch.paths[(plan.name, c.resource)]
            share[c.index] = space.passes.get(node, 0) / space.total
        out[plan.name] = share
    return out


def _broker_views(
    arch: Architecture, broker: str, clients: Mapping[str, ClientPlan], inside: Policy | None = None
) -> tuple[BrokerView, ...]:
    """A broker's host holds the tokens of every tenant routed through it; the thief aims beyond it.

    ``inside`` (the run's policy): the thief replays from the broker's place in the graph, so the hops after
    the broker decide what binding it faces (`inside_effect`); else it faces the client's routes from outside.
    """
    out = []
    for plan in clients.values():
        through = tuple(r for r in plan.resources if arch.paths[(plan.name, r)].passes.get(broker, 0) > 0)
        if not through:
            continue
        total = sum(c.weight for c in plan.cells if c.resource in through)
        effects = {c.index: c.effect for c in plan.cells}
        if inside is not None:
            effects = {
                c.index: inside_effect(arch, plan.policy, broker, plan.name, c.resource, c.tier, c.effect)
                for c in plan.cells
                if c.resource in through
            }
        cells = tuple(
            replace(c, weight=c.weight / total if c.resource in through else 0.0, effect=effects.get(c.index, c.effect))
            for c in plan.cells
        )
        out.append(BrokerView(plan, cells, tuple(c for c in cells if c.resource in through)))
    return tuple(out)


def _forged_cells(arch: Architecture, issuer: str, binding: Binding) -> tuple[Cell, ...]:
    """A stolen signing key: tokens for any client and any `cnf` at every resource that trusts the issuer and
    validates self-contained tokens locally (`validation: local`); a resource that introspects opaque tokens
    asks the issuer, which never issued the forged token (MODEL-v2 section 9), so the forger does not aim there."""
    resources = tuple(
        r for r in arch.resources if arch.issuer_of(r) is arch.node(issuer) and arch.validation_of(r) == "local"
    )
    effects: list[tuple[str, Tier, Effect]] = []
    for r in resources:
        for tier in TIERS:
            seen = [binding[(c, r, tier)][0] for c in arch.clients if (c, r, tier) in binding]
            # the forger binds tokens to its own key: only a route that fails for everyone stops it
            effects.append((r, tier, "fails" if seen and all(e == "fails" for e in seen) else "bearer"))
    return cells_for_resources(arch, resources, effects)
