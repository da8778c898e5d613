"""Revocation modes, audience scoping and the integration-cost side of policies."""

from __future__ import annotations

import pytest
from conftest import one_client_model

import tokensim


def test_revocation_reaches_the_thief_at_once_after_propagation_or_at_expiry():
    exposure = {}
    for mode in ["introspection", "caep", "jwt"]:
        arch = one_client_model(
            instances=100,
            leaks=[{"vector": "malware", "rate": "20/year"}],
            delay="10m",
            replay_rate="20/h",
            detection=0.05,
            response="30m",
            revocation=mode,
            client={"holds_refresh_token": True, "key_storage": "software"},
        )
        pol = tokensim.preset("bearer", access_ttl="2h", refresh_ttl="30d")
        frame = tokensim.replicate(arch, [pol], replications=10, seed=4, horizon="60d")
        assert frame["detections"].sum() > 0
        exposure[mode] = frame["exposure_hours"].sum() / frame["leaks"].sum()
    # introspection ends at the revocation, CAEP 5 minutes later, a JWT lives out its lifetime (~1 h more on average)
    assert exposure["introspection"] < exposure["caep"] < exposure["jwt"]
    assert exposure["jwt"] - exposure["introspection"] > 0.5


def test_per_resource_audience_keeps_a_token_logged_on_one_path_away_from_the_other_resource():
    model = {
        "name": "two-paths",
        "nodes": {
            "app": {"kind": "client", "platform": "workload", "instances": 300, "request_rate": "120/h"},
            "edge_a": {
                "kind": "proxy",
                "logs_tokens": True,
                "log_retention": "1d",
                "leaks": [{"vector": "log", "rate": "12/year"}],
            },
            "edge_b": {"kind": "proxy"},
            "api_a": {"kind": "resource", "privileged_fraction": 0.0},
            "api_b": {"kind": "resource", "privileged_fraction": 0.0},
            "idp": {"kind": "issuer"},
        },
        "edges": [["app", "edge_a"], ["edge_a", "api_a"], ["app", "edge_b"], ["edge_b", "api_b"]],
        "attacker": {"replay_delay": "5m", "replay_rate": "30/h"},
        "defender": {"detection_probability": 0.0},
    }
    arch = tokensim.Architecture.from_dict(model)
    broad = tokensim.preset("bearer", access_ttl="1h")
    scoped = broad.model_copy(update={"name": "scoped", "audience": "per_resource"})
    frame = tokensim.replicate(arch, [broad, scoped], replications=6, seed=3, horizon="90d")
    by = frame.groupby("policy")[["unauthorized_requests", "resources_reached", "replay_attempts"]].sum()
    assert by.loc["scoped", "unauthorized_requests"] < 0.7 * by.loc["bearer", "unauthorized_requests"]
    runs_reaching_both = frame.groupby("policy")["resources_reached"].max()
    assert runs_reaching_both["bearer"] == 2 and runs_reaching_both["scoped"] == 1


def test_binding_costs_integration_effort_and_latency_but_bearer_costs_nothing_extra():
    frame = tokensim.replicate("mobile_gateway", ["bearer", "dpop", "hybrid_jit"], replications=1, seed=0, horizon="7d")
    cost = frame.set_index("policy")
    assert cost.loc["bearer", "engineering_cost"] == 0 and cost.loc["bearer", "latency_overhead_ms"] == 0
    assert cost.loc["dpop", "engineering_cost"] > 0 and cost.loc["dpop", "latency_overhead_ms"] > 0
    assert cost.loc["hybrid_jit", "token_endpoint_rps"] > cost.loc["bearer", "token_endpoint_rps"]
    assert (cost["integration_cost"] >= 0).all()


def test_cost_weights_can_be_overridden():
    heavy = tokensim.CostModel().with_overrides({"weights": {"engineering": 10.0}})
    base = tokensim.simulate("mobile_gateway", "dpop", seed=0, horizon="1d")
    weighted = tokensim.simulate("mobile_gateway", "dpop", seed=0, horizon="1d", costs=heavy)
    assert weighted["engineering_cost"] == base["engineering_cost"] > 0
    assert weighted["integration_cost"] > base["integration_cost"]
    assert weighted["config_hash"] != base["config_hash"]


def test_mtls_broken_by_a_proxy_fails_legitimate_requests_only_when_the_policy_says_fail():
    fallback = tokensim.simulate("ci_pipeline", tokensim.preset("mtls"), seed=0, horizon="1d")
    fail = tokensim.simulate("ci_pipeline", tokensim.preset("mtls", on_binding_loss="fail"), seed=0, horizon="1d")
    # fallback: no broken-route failure, only the outage risk of expired client certificates (cost model v2:
    # recurring.cert_outages_per_year x cert_outage_hours per hour of the year, on every mTLS request)
    assert fallback["availability_loss"] == pytest.approx(1.0 * 4.0 / 8760)
    assert fallback["availability_loss"] < fail["availability_loss"] <= 1


def test_a_leak_can_carry_its_own_replay_delay():
    slow = one_client_model(
        instances=200, leaks=[{"vector": "log", "rate": "10/year", "replay_delay": "2h"}], delay="1m"
    )
    fast = one_client_model(instances=200, leaks=[{"vector": "log", "rate": "10/year"}], delay="1m")
    pol = tokensim.preset("bearer", access_ttl="1h")
    assert tokensim.replicate(slow, [pol], replications=3, seed=1, horizon="30d")["unauthorized_requests"].sum() == 0
    assert tokensim.replicate(fast, [pol], replications=3, seed=1, horizon="30d")["unauthorized_requests"].sum() > 0
