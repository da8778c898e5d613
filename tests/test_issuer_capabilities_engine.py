"""The engine reads the route facts of version 2: issuer gaps (MODEL-v2 section 1) and forgery only at
resources that validate tokens locally (MODEL-v2 section 9), on both engine paths."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

import tokensim
from tokensim.builtin import builtin_models
from tokensim.model.architecture import Architecture
from tokensim.sim.engine import Simulation

BLAST = ("leaks", "credentials_exposed", "unauthorized_requests", "privileged_requests", "exposure_hours")


def gap_model(supports: list[str]) -> Architecture:
    """A public mobile client with a hardware key and a refresh token, its own logs and malware, one issuer."""
    return Architecture.from_dict(
        {
            "name": "issuer-gap",
            "nodes": {
                "app": {
                    "kind": "client",
                    "platform": "mobile",
                    "instances": 400,
                    "key_storage": "hardware",
                    "supports": ["bearer", "dpop"],
                    "holds_refresh_token": True,
                    "leaks": [
                        {"vector": "log", "rate": "3/year"},
                        {"vector": "malware", "rate": "1/year", "dwell": "2h"},
                    ],
                },
                "api": {"kind": "resource"},
                "entra": {"kind": "issuer", "supports": supports},
            },
            "edges": [["app", "api"]],
            "attacker": {"replay_delay": "10m", "replay_rate": "20/h"},
        }
    )


def fields(arch: Architecture, policy: tokensim.Policy, closed_form: bool, reps: int = 4) -> list[dict[str, Any]]:
    out = []
    for r in range(reps):
        sim = Simulation(arch, policy, seed=5, replication=r, horizon=30 * 24.0, closed_form_families=closed_form)
        sim.run()
        out.append({k: sim.outcome_fields()[k] for k in BLAST})
    return out


@pytest.mark.parametrize("closed_form", [True, False])
def test_dpop_at_an_issuer_without_dpop_falls_back_to_exactly_bearer(closed_form: bool) -> None:
    gap = gap_model(["bearer", "mtls"])
    bearer = fields(gap, tokensim.preset("bearer"), closed_form)
    dpop = fields(gap, tokensim.preset("dpop"), closed_form)
    assert sum(row["unauthorized_requests"] for row in bearer) > 0
    assert dpop == bearer  # same plan, same draws: the access and refresh tokens are bearer tokens
    # the same leaks against an issuer that does issue DPoP: the tokens are bound, far fewer requests succeed
    full = fields(gap_model(["bearer", "dpop", "mtls"]), tokensim.preset("dpop"), closed_form)
    assert sum(r["unauthorized_requests"] for r in full) < 0.2 * sum(r["unauthorized_requests"] for r in bearer)


@pytest.mark.parametrize("closed_form", [True, False])
def test_dpop_at_an_issuer_without_dpop_fails_under_on_unsupported_fail(closed_form: bool) -> None:
    gap = gap_model(["bearer", "mtls"])
    rows = fields(gap, tokensim.preset("dpop", on_unsupported="fail"), closed_form)
    assert [r["unauthorized_requests"] for r in rows] == [0] * len(rows)
    outcome = tokensim.simulate(gap, tokensim.preset("dpop", on_unsupported="fail"), horizon="1d")
    assert outcome.record["availability_loss"] == 1.0
    assert outcome.record["unsupported_instances"] == 400


def test_the_cost_of_dpop_at_an_issuer_without_dpop_is_the_cost_of_bearer() -> None:
    gap = gap_model(["bearer", "mtls"])
    costs = {p: tokensim.simulate(gap, p, horizon="1d").record for p in ("bearer", "dpop")}
    for key in ("engineering_cost", "latency_overhead_ms", "availability_loss", "unsupported_instances"):
        assert costs["dpop"][key] == costs["bearer"][key], key
    full = tokensim.simulate(gap_model(["bearer", "dpop", "mtls"]), "dpop", horizon="1d").record
    assert full["engineering_cost"] > costs["bearer"]["engineering_cost"]  # the client's DPoP work, the API's


# --------------------------------------------------------------------------- forgery and validation


def storm(**validation: str) -> Architecture:
    data = yaml.safe_load(builtin_models()["incidents/storm_0558_2023"].read_text(encoding="utf-8"))
    for resource, value in validation.items():
        data["nodes"][resource]["validation"] = value
    return Architecture.from_dict(data, source="storm_0558 (what-if)")


def forged(arch: Architecture, policy: str, closed_form: bool, reps: int = 3) -> list[dict[str, Any]]:
    out = []
    for r in range(reps):
        sim = Simulation(
            arch, tokensim.preset(policy), seed=2, replication=r, horizon=90 * 24.0, closed_form_families=closed_form
        )
        sim.run()
        out.append(sim.outcome_fields())
    return out


@pytest.mark.parametrize("closed_form", [True, False])
@pytest.mark.parametrize("policy", ["bearer", "dpop"])
def test_a_signing_key_forges_nothing_at_resources_that_introspect(closed_form: bool, policy: str) -> None:
    local = forged(storm(), policy, closed_form)
    assert sum(r["leaks"] for r in local) > 0 and sum(r["unauthorized_requests"] for r in local) > 0
    opaque = forged(storm(exchange_online="introspection", outlook_com="introspection"), policy, closed_form)
    assert [r["leaks"] for r in opaque] == [r["leaks"] for r in local]  # the same thefts (common random numbers)
    assert [r["unauthorized_requests"] for r in opaque] == [0] * len(opaque)
    assert [r["tenants_reached"] for r in opaque] == [0] * len(opaque)
    # one resource introspecting: the forger reaches only the other one's tenants (500 individuals, not 22 + 500)
    mixed = forged(storm(exchange_online="introspection"), policy, closed_form)
    assert max(r["tenants_reached"] for r in mixed) == 500
    assert max(r["resources_reached"] for r in mixed) == 1


def test_validation_defaults_follow_the_issuer() -> None:
    nodes: dict[str, Any] = {"app": {"kind": "client", "platform": "workload"}}
    edges = []
    for mode in ("jwt", "caep", "introspection"):
        nodes[f"idp_{mode}"] = {"kind": "issuer", "revocation": mode}
        nodes[f"api_{mode}"] = {"kind": "resource", "issuer": f"idp_{mode}"}
        edges.append(["app", f"api_{mode}"])
    nodes["api_set"] = {"kind": "resource", "issuer": "idp_introspection", "validation": "local"}
    edges.append(["app", "api_set"])
    arch = Architecture.from_dict({"name": "v", "nodes": nodes, "edges": edges})
    assert [arch.validation_of(r) for r in arch.resources] == ["local", "local", "introspection", "local"]
