"""The arithmetic of the integration cost (docs/parameters.md section 4): one pass over the client populations.

`integration_cost` returns the cost fields of an outcome row (`tokensim.outcome.COST_FIELDS`):

- ``engineering_cost``: one-off person-days (clients, resources, intermediaries, policy features, and the
  custom work a support gap asks for);
- ``latency_overhead_ms``: mean milliseconds added to a legitimate request (signing by key storage,
  verification, nonce round trips, mTLS);
- ``token_endpoint_rps``: requests per second at the issuers;
- ``availability_loss``: share of legitimate requests that fail (broken routes, unsupported clients under
  ``fail``, reuse-detection races, expired client certificates under mTLS, skewed clocks under DPoP);
- ``unsupported_instances``: instances that cannot do the policy (no mechanism under ``fail``, or a mechanism
  their platform or SDK cannot do at all);
- ``recurring_cost``: person-days per year (key and certificate rotation, a shared ``jti`` store, nonce round
  trips as infrastructure, response to expired-certificate outages);
- ``integration_cost``: the weighted composite, with ``recurring.years`` years of recurring cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokensim.model.architecture import Architecture
from tokensim.model.policy import Policy
from tokensim.model.routes import (
    TIERS,
    Effect,
    RouteAnalysis,
    Tier,
    choose_mechanism,
    client_mechanisms,
    effective_binding,
)
from tokensim.model.schema import Client, Intermediary, Mesh

if TYPE_CHECKING:
    from tokensim.model.cost import CostModel

HOURS_PER_YEAR = 8760.0
#: Per (client, resource, tier): the route effect and the share of its paths whose requests fail.
Binding = Mapping[tuple[str, str, Tier], tuple[Effect, float]]
FEATURES: tuple[str, ...] = ("rotation", "reuse_detection", "nonce", "jit")


@dataclass
class _Tally:
    """Sums over the client populations (request-weighted where a share is wanted)."""

    volume: float = 0.0  # legitimate requests per hour
    latency: float = 0.0  # ms x requests per hour
    failed: float = 0.0  # failed requests per hour
    rps: float = 0.0  # token-endpoint requests per second
    nonce_trips: float = 0.0  # nonce round trips per hour
    instances: int = 0
    unsupported: int = 0
    engineering: float = 0.0  # person-days, one-off
    recurring: float = 0.0  # person-days per year


def integration_cost(arch: Architecture, base: Policy, routes: RouteAnalysis, costs: CostModel) -> dict[str, float]:
    """The integration-cost fields of an outcome row (each client under its own `Policy.for_client`)."""
    tally = _Tally()
    binding = effective_binding(routes)
    tally.engineering = _network_engineering(arch, routes, costs)
    tally.recurring = costs.recurring.jti_store_person_days_per_year * len(_shared_jti_resources(arch, base, routes))
    any_refresh = False
    features: set[str] = set()  # policy features some client runs with (its overrides included)
    for name in arch.clients:
        client: Client = arch.node(name)
        policy = base.for_client(name, client.platform)
        features.update(f for f in FEATURES if getattr(policy, f))
        any_refresh = any_refresh or client.holds_refresh_token
        _add_client(arch, binding, name, policy, costs, tally)
    for feature in FEATURES:
        if feature in features and (feature not in ("rotation", "reuse_detection") or any_refresh):
            if feature == "nonce" and not routes.uses("dpop"):
                continue
            tally.engineering += costs.feature_person_days.get(feature, 0.0)
    tally.recurring += costs.recurring.person_days_per_rps_year * tally.nonce_trips / 3600.0

    latency = tally.latency / tally.volume if tally.volume else 0.0
    availability = min(tally.failed / tally.volume, 1.0) if tally.volume else 0.0
    unsupported_share = tally.unsupported / tally.instances if tally.instances else 0.0
    w = costs.weights
    composite = (
        w.engineering * (tally.engineering + costs.recurring.years * tally.recurring)
        + w.latency * latency
        + w.token_endpoint * tally.rps
        + w.availability * availability
        + w.unsupported * unsupported_share
    )
    return {
        "engineering_cost": tally.engineering,
        "latency_overhead_ms": latency,
        "token_endpoint_rps": tally.rps,
        "availability_loss": availability,
        "unsupported_instances": tally.unsupported,
        "recurring_cost": tally.recurring,
        "integration_cost": composite,
    }


def _network_engineering(arch: Architecture, routes: RouteAnalysis, costs: CostModel) -> float:
    """Person-days at the resources and hops of bound routes: per (resource, mechanism) and (hop, mechanism)."""
    resource_mechs: set[tuple[str, str]] = set()
    hops: set[tuple[str, str]] = set()
    for r in routes.groups:
        if r.effect == "bound" and r.mechanism != "bearer":
            resource_mechs.add((r.resource, r.mechanism))
            for hop in routes.bound_hops[(r.client, r.resource, r.tier)]:  # the hops of its bound paths
                node = arch.node(hop)
                if isinstance(node, (Intermediary, Mesh)) and (
                    node.verifies_binding or (r.mechanism == "mtls" and node.forwards_client_cert)
                ):
                    hops.add((hop, r.mechanism))
    days = sum(costs.resource_person_days.get(m, 0.0) for _, m in resource_mechs)
    return days + costs.intermediary_person_days * len(hops)


def _shared_jti_resources(arch: Architecture, base: Policy, routes: RouteAnalysis) -> set[str]:
    """Resources that verify DPoP on a bound route of a client whose policy shares one `jti` store."""
    shared: set[str] = set()
    for r in routes.groups:
        if r.effect == "bound" and r.mechanism == "dpop":
            client: Client = arch.node(r.client)
            if base.for_client(r.client, client.platform).jti_tracking == "global":
                shared.add(r.resource)
    return shared


def _add_client(arch: Architecture, binding: Binding, name: str, policy: Policy, costs: CostModel, t: _Tally) -> None:
    """One client population's engineering, recurring cost, requests, failures and token-endpoint load."""
    client: Client = arch.node(name)
    t.instances += client.instances
    # per tier and resource (the resource's issuer may not issue the mechanism; None: unsupported and failing)
    chosen = {tier: client_mechanisms(arch, name, policy, tier) for tier in TIERS}
    used = {m for per_resource in chosen.values() for m in per_resource.values()}
    cannot = None in used  # with fallback they run bearer: a security cost, not this one
    for bound in sorted(m for m in used if m not in (None, "bearer")):
        support = costs.support(client.platform, client.sdk, bound)
        if support.status == "unsupported":
            cannot = True  # the route analysis took the client at its word (`supports`); it cannot be built
            continue
        t.engineering += costs.client_person_days.get(client.platform, {}).get(bound, 0.0)
        t.engineering += support.person_days if support.status == "custom" else 0.0
        t.recurring += costs.recurring.rotation_person_days_per_year.get(bound, 0.0)  # type: ignore[call-overload]
        if bound == "mtls":
            t.recurring += costs.recurring.cert_outages_per_year * costs.recurring.outage_person_days
    if cannot:
        t.unsupported += client.instances
    resources = arch.reachable(name)
    volume = client.instances * client.request_rate
    t.volume += volume
    for res in resources:
        p_priv = arch.node(res).privileged_fraction
        tier: Tier
        for tier, share in (("low_risk", 1 - p_priv), ("privileged", p_priv)):
            mech = chosen[tier][res]
            weight = volume * share / len(resources)
            t.latency += weight * _request_latency(mech, client, policy, costs)
            t.failed += weight * (binding[(name, res, tier)][1] + _outage_share(mech, client, costs))
            if mech == "dpop" and policy.nonce:
                t.nonce_trips += weight / _requests_per_nonce(client, policy)
    _add_token_endpoint(arch, client, policy, resources, costs, t)


def _add_token_endpoint(
    arch: Architecture, client: Client, policy: Policy, resources: list[str], costs: CostModel, t: _Tally
) -> None:
    """Token-endpoint load (routine renewals, a second token when the tiers differ, JIT) and reuse races."""
    per_hour = 1 / policy.access_ttl + 1 / policy.refresh_ttl
    if policy.jit:
        per_hour += client.request_rate * _mean_privileged(arch, resources)
    elif _asked(arch, client, resources, policy.low_risk) != _asked(arch, client, resources, policy.privileged):
        # Version 1's count, kept: a tier that falls back to bearer is counted as a second token
        # although the engine gives such a client one token for both tiers.
        per_hour += 1 / policy.access_ttl
    t.rps += client.instances * per_hour / 3600.0
    if policy.rotation and policy.reuse_detection and client.holds_refresh_token:
        # concurrent legitimate refreshes further apart than the grace trip reuse detection
        p_trip = client.concurrent_refresh_fraction * math.exp(
            -policy.reuse_grace * 3600.0 / costs.concurrent_refresh_gap_seconds
        )
        t.failed += client.instances * p_trip / policy.access_ttl


def _asked(arch: Architecture, client: Client, resources: list[str], wanted: tuple[str, ...]) -> set[str | None]:
    """A tier's mechanisms at the client's resources before `on_unsupported` applies (the count of version 1)."""
    return {choose_mechanism(client, wanted, arch.issuer_of(r)) for r in resources}


def _mean_privileged(arch: Architecture, resources: list[str]) -> float:
    return sum(arch.node(r).privileged_fraction for r in resources) / len(resources) if resources else 0.0


def _requests_per_nonce(client: Client, policy: Policy) -> float:
    """Requests one server nonce serves: those in its lifetime, at least one."""
    return max(client.request_rate * policy.nonce_lifetime, 1.0)


def _request_latency(mech: str | None, client: Client, policy: Policy, costs: CostModel) -> float:
    """Milliseconds a binding mechanism adds to one legitimate request."""
    if mech == "dpop":
        storage = costs.storage_of(client.platform, client.key_storage)
        ms = costs.sign_ms.get(storage, 0.0) + costs.dpop_verify_ms  # type: ignore[call-overload]
        if policy.nonce:
            ms += costs.nonce_round_trip_ms / _requests_per_nonce(client, policy)
        return float(ms)
    if mech == "mtls":
        return costs.mtls_ms
    return 0.0


def _outage_share(mech: str | None, client: Client, costs: CostModel) -> float:
    """Share of a mechanism's requests lost to its operational risk: expired certificates, skewed clocks."""
    rec = costs.recurring
    if mech == "mtls":
        return min(rec.cert_outages_per_year * rec.cert_outage_hours / HOURS_PER_YEAR, 1.0)
    if mech == "dpop":
        return rec.clock_skew_failure_share.get(client.platform, 0.0)
    return 0.0
