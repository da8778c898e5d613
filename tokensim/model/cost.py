"""Integration cost of a policy on an architecture (MODEL.md section 8).

Deterministic: it follows from the route table, the client populations and the
policy, not from the random run. Every figure of the default `CostModel` and its
source (or the assumption behind it) is listed in docs/parameters.md; all of them
can be overridden: ``CostModel().with_overrides({"weights": {"latency": 2}})``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tokensim.errors import InputError
from tokensim.model import limits
from tokensim.model.architecture import Architecture
from tokensim.model.fields import not_boolean, within
from tokensim.model.loading import read_document, validate_as
from tokensim.model.policy import Policy
from tokensim.model.routes import TIERS, RouteAnalysis, Tier, choose_mechanism, client_mechanisms, effective_binding
from tokensim.model.schema import Client, Intermediary, Mesh

#: A figure of the cost table: finite, not negative, at most `limits.COST_FIGURE` (NaN and
#: negative figures made a sweep finish with NaN costs and empty plots: issue 11).
Figure = Annotated[float, BeforeValidator(not_boolean), within(limits.COST_FIGURE)]
#: A figure something is divided by: greater than zero as well.
PositiveFigure = Annotated[float, BeforeValidator(not_boolean), within(limits.COST_FIGURE, positive=True)]


class CostWeights(BaseModel):
    """Weights of the composite ``integration_cost`` (units: cost points per unit)."""

    model_config = ConfigDict(extra="forbid")
    engineering: Figure = 1.0  # per person-day
    latency: Figure = 1.0  # per ms added to the mean legitimate request
    token_endpoint: Figure = 0.01  # per request/s at the issuer
    availability: Figure = 1000.0  # per unit share of failed legitimate requests (10 per percentage point)
    unsupported: Figure = 100.0  # per unit share of instances that cannot do the policy


class CostModel(BaseModel):
    """Cost table and weights; see docs/parameters.md for the source of each figure."""

    model_config = ConfigDict(extra="forbid")
    client_person_days: dict[str, dict[str, Figure]] = Field(
        default_factory=lambda: {
            "browser": {"dpop": 10.0, "mtls": 30.0},
            "mobile": {"dpop": 8.0, "mtls": 15.0},
            "workload": {"dpop": 3.0, "mtls": 3.0},
            "ci": {"dpop": 5.0, "mtls": 5.0},
            "legacy": {"dpop": 20.0, "mtls": 20.0},
        }
    )
    resource_person_days: dict[str, Figure] = Field(default_factory=lambda: {"dpop": 2.0, "mtls": 3.0})
    intermediary_person_days: Figure = 1.0
    feature_person_days: dict[str, Figure] = Field(
        default_factory=lambda: {"rotation": 1.0, "reuse_detection": 1.0, "nonce": 2.0, "jit": 5.0}
    )
    sign_ms: dict[str, Figure] = Field(
        default_factory=lambda: {"software": 0.0199, "non_extractable": 0.0199, "hardware": 80.0, "none": 0.0}
    )
    dpop_verify_ms: Figure = 0.0587
    mtls_ms: Figure = 0.5
    nonce_round_trip_ms: Figure = 50.0
    nonce_lifetime_hours: Figure = 5.0 / 60.0
    concurrent_refresh_gap_seconds: PositiveFigure = 5.0  # divides the grace
    weights: CostWeights = Field(default_factory=CostWeights)

    def with_overrides(self, overrides: dict[str, Any], source: str = "costs") -> CostModel:
        """A copy with some entries replaced (nested dicts are merged); bad entries raise `InputError`."""
        data = self.model_dump()
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return validate_as(CostModel, data, source)


def load_costs(path: str | Path) -> CostModel:
    """The default cost model with the overrides of a YAML or JSON file."""
    data, source = read_document(path)
    if not isinstance(data, dict):
        raise InputError.single(source, "", "expected a mapping of cost-model entries")
    return CostModel().with_overrides(data, source)


def integration_cost(arch: Architecture, base: Policy, routes: RouteAnalysis, costs: CostModel) -> dict[str, float]:
    """The integration-cost fields of an outcome row (each client under its own `Policy.for_client`)."""
    binding = effective_binding(routes)
    engineering = 0.0
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
    engineering += sum(costs.resource_person_days.get(m, 0.0) for _, m in resource_mechs)
    engineering += costs.intermediary_person_days * len(hops)

    total_volume = latency_sum = failed = rps = 0.0
    unsupported = total_instances = 0
    any_refresh = False
    features: set[str] = set()  # policy features some client runs with (its overrides included)
    for name in arch.clients:
        client: Client = arch.node(name)
        policy = base.for_client(name, client.platform)
        features.update(f for f in ("rotation", "reuse_detection", "nonce", "jit") if getattr(policy, f))
        total_instances += client.instances
        # per tier and resource (the resource's issuer may not issue the mechanism; None: unsupported and failing)
        chosen = {tier: client_mechanisms(arch, name, policy, tier) for tier in TIERS}
        used = {m for per_resource in chosen.values() for m in per_resource.values()}
        if None in used:
            unsupported += client.instances  # with fallback they run bearer: a security cost, not this one
        for bound in {m for m in used if m not in (None, "bearer")}:
            engineering += costs.client_person_days.get(client.platform, {}).get(bound, 0.0)
        any_refresh = any_refresh or client.holds_refresh_token
        resources = arch.reachable(name)
        volume = client.instances * client.request_rate
        total_volume += volume
        for res in resources:
            p_priv = arch.node(res).privileged_fraction
            tier: Tier
            for tier, share in (("low_risk", 1 - p_priv), ("privileged", p_priv)):
                mech = chosen[tier][res]
                weight = volume * share / len(resources)
                latency_sum += weight * _request_latency(mech, client, policy, costs)
                failed += weight * binding[(name, res, tier)][1]
        # token endpoint: routine renewals (a second token when the tiers differ), JIT issuance, grants
        per_hour = 1 / policy.access_ttl + 1 / policy.refresh_ttl
        if policy.jit:
            per_hour += client.request_rate * _mean_privileged(arch, resources)
        elif _asked(arch, client, resources, policy.low_risk) != _asked(arch, client, resources, policy.privileged):
            # Version 1's count, kept: a tier that falls back to bearer is counted as a second token
            # although the engine gives such a client one token for both tiers (cost model v2, issue 13).
            per_hour += 1 / policy.access_ttl
        rps += client.instances * per_hour / 3600.0
        if policy.rotation and policy.reuse_detection and client.holds_refresh_token:
            # concurrent legitimate refreshes further apart than the grace trip reuse detection
            p_trip = client.concurrent_refresh_fraction * math.exp(
                -policy.reuse_grace * 3600.0 / costs.concurrent_refresh_gap_seconds
            )
            failed += client.instances * p_trip / policy.access_ttl
    for feature in ("rotation", "reuse_detection", "nonce", "jit"):
        if feature in features and (feature not in ("rotation", "reuse_detection") or any_refresh):
            if feature == "nonce" and not routes.uses("dpop"):
                continue
            engineering += costs.feature_person_days.get(feature, 0.0)

    latency = latency_sum / total_volume if total_volume else 0.0
    availability = min(failed / total_volume, 1.0) if total_volume else 0.0
    unsupported_share = unsupported / total_instances if total_instances else 0.0
    w = costs.weights
    composite = (
        w.engineering * engineering
        + w.latency * latency
        + w.token_endpoint * rps
        + w.availability * availability
        + w.unsupported * unsupported_share
    )
    return {
        "engineering_cost": engineering,
        "latency_overhead_ms": latency,
        "token_endpoint_rps": rps,
        "availability_loss": availability,
        "unsupported_instances": unsupported,
        "integration_cost": composite,
    }


def _asked(arch: Architecture, client: Client, resources: list[str], wanted: tuple[str, ...]) -> set[str | None]:
    """A tier's mechanisms at the client's resources before `on_unsupported` applies (the count of version 1)."""
    return {choose_mechanism(client, wanted, arch.issuer_of(r)) for r in resources}


def _mean_privileged(arch: Architecture, resources: list[str]) -> float:
    return sum(arch.node(r).privileged_fraction for r in resources) / len(resources) if resources else 0.0


def _request_latency(mech: str | None, client: Client, policy: Policy, costs: CostModel) -> float:
    """Milliseconds a binding mechanism adds to one legitimate request."""
    if mech == "dpop":
        ms = costs.sign_ms.get(client.key_storage, 0.0) + costs.dpop_verify_ms
        if policy.nonce:
            requests_per_nonce = max(client.request_rate * costs.nonce_lifetime_hours, 1.0)
            ms += costs.nonce_round_trip_ms / requests_per_nonce
        return ms
    if mech == "mtls":
        return costs.mtls_ms
    return 0.0
