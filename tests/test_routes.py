"""Route analysis (MODEL.md section 3): where does the binding survive?"""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
import pytest

import tokensim
from tokensim.model.architecture import Architecture
from tokensim.model.policy import preset
from tokensim.model.routes import Route, analyse, choose_mechanism, classify_path, effective_binding, route_table

ALL = ["bearer", "dpop", "mtls"]


def chain(
    *hops: dict[str, Any], client: dict[str, Any] | None = None, resource: dict[str, Any] | None = None
) -> Architecture:
    """client -> h1 -> h2 -> ... -> api, built from plain data as a model file would be."""
    nodes: dict[str, Any] = {"app": {"kind": "client", "platform": "workload", "supports": ALL, **(client or {})}}
    names = ["app"]
    for i, hop in enumerate(hops, start=1):
        nodes[f"h{i}"] = hop
        names.append(f"h{i}")
    nodes["api"] = {"kind": "resource", **(resource or {})}
    names.append("api")
    return Architecture.from_dict(
        {"name": "t", "nodes": nodes, "edges": [[a, b] for a, b in itertools.pairwise(names)]}
    )


def rows(arch: Architecture, policy_name: str, **overrides: Any) -> dict[str, Route]:
    """The single path's route per tier."""
    routes = analyse(arch, preset(policy_name, **overrides)).groups
    assert len({r.path for r in routes}) == 1 and {r.paths for r in routes} == {1}
    return {r.tier: r for r in routes}


def only(arch: Architecture, policy_name: str, **overrides: Any) -> Route:
    """The route when both tiers use the same mechanism (they must agree)."""
    by_tier = rows(arch, policy_name, **overrides)
    low, priv = by_tier["low_risk"], by_tier["privileged"]
    assert (low.status, low.effect, low.hop) == (priv.status, priv.effect, priv.hop)
    return low


TLS_PROXY = {"kind": "proxy", "terminates_tls": True}


# --------------------------------------------------------------------------- mTLS


def test_mtls_through_tls_terminating_proxy_is_broken_and_falls_back_to_bearer() -> None:
    route = only(chain(TLS_PROXY), "mtls")
    assert route.mechanism == "mtls"
    assert route.status == "broken"
    assert route.effect == "bearer"
    assert route.hop == "h1"
    assert "terminates TLS" in route.reason and "falls back to bearer" in route.reason


def test_mtls_through_tls_terminating_proxy_fails_under_on_binding_loss_fail() -> None:
    route = only(chain(TLS_PROXY), "mtls", on_binding_loss="fail")
    assert (route.status, route.effect, route.hop) == ("broken", "fails", "h1")
    assert "requests fail" in route.reason


def test_mtls_with_forwarded_client_cert_is_bound() -> None:
    route = only(chain({**TLS_PROXY, "forwards_client_cert": True}), "mtls")
    assert (route.status, route.effect, route.hop) == ("bound", "bound", "api")


def test_mtls_through_tls_passthrough_is_bound() -> None:
    route = only(chain({"kind": "gateway", "terminates_tls": False}), "mtls")
    assert (route.status, route.effect) == ("bound", "bound")


def test_mtls_verified_at_the_terminating_proxy_is_bound() -> None:
    route = only(chain({**TLS_PROXY, "verifies_binding": True}, {"kind": "proxy"}), "mtls")
    assert (route.status, route.effect, route.hop) == ("bound", "bound", "h1")


def test_mtls_lost_before_a_verifying_hop_is_broken() -> None:
    # the second hop would verify, but the certificate never reaches it
    route = only(chain(TLS_PROXY, {"kind": "gateway", "verifies_binding": True}), "mtls")
    assert (route.status, route.effect, route.hop) == ("broken", "bearer", "h1")


def test_mtls_through_mesh_hop_is_broken() -> None:
    route = only(chain({**TLS_PROXY, "forwards_client_cert": True}, {"kind": "mesh"}), "mtls")
    assert (route.status, route.hop) == ("broken", "h2")
    assert "workload identity" in route.reason


def test_mtls_second_terminating_hop_that_does_not_forward_breaks_it() -> None:
    arch = chain({**TLS_PROXY, "forwards_client_cert": True}, {"kind": "gateway", "terminates_tls": True})
    assert (only(arch, "mtls").status, only(arch, "mtls").hop) == ("broken", "h2")


def test_uri_rewrite_does_not_matter_to_mtls() -> None:
    route = only(chain({"kind": "proxy", "terminates_tls": False, "rewrites_uri": True}), "mtls")
    assert route.status == "bound"


# --------------------------------------------------------------------------- DPoP


def test_dpop_survives_tls_termination() -> None:
    route = only(chain(TLS_PROXY, {"kind": "mesh"}), "dpop")
    assert (route.mechanism, route.status, route.effect, route.hop) == ("dpop", "bound", "bound", "api")


def test_dpop_breaks_at_a_rewriting_hop() -> None:
    arch = chain(TLS_PROXY, {"kind": "gateway", "rewrites_uri": True})
    route = only(arch, "dpop")
    assert (route.status, route.effect, route.hop) == ("broken", "bearer", "h2")
    assert "htu" in route.reason
    route = only(arch, "dpop", on_binding_loss="fail")
    assert (route.status, route.effect) == ("broken", "fails")


def test_dpop_verified_by_a_hop_is_bound() -> None:
    route = only(chain({"kind": "gateway", "verifies_binding": True, "rewrites_uri": True}), "dpop")
    assert (route.status, route.effect, route.hop) == ("bound", "bound", "h1")
    # a verifying hop before the rewrite also keeps it bound
    route = only(chain({"kind": "gateway", "verifies_binding": True}, {"kind": "proxy", "rewrites_uri": True}), "dpop")
    assert (route.status, route.hop) == ("bound", "h1")


def test_dpop_rewritten_before_a_verifying_hop_is_broken() -> None:
    route = only(chain({"kind": "proxy", "rewrites_uri": True}, {"kind": "gateway", "verifies_binding": True}), "dpop")
    assert (route.status, route.hop) == ("broken", "h1")


def test_forwarding_client_cert_does_not_help_dpop_through_a_rewrite() -> None:
    route = only(chain({**TLS_PROXY, "forwards_client_cert": True, "rewrites_uri": True}), "dpop")
    assert route.status == "broken"


# --------------------------------------------------------------------------- resource and broker


@pytest.mark.parametrize("policy", ["dpop", "mtls"])
def test_resource_accepting_any_token_downgrades(policy: str) -> None:
    arch = chain({"kind": "proxy", "terminates_tls": False}, resource={"accepts": "any"})
    route = only(arch, policy)
    assert (route.status, route.effect, route.hop) == ("downgraded", "bearer", "api")
    assert "accepts any token" in route.reason


def test_accepts_any_behind_a_lost_binding_still_works_as_bearer() -> None:
    route = only(chain(TLS_PROXY, resource={"accepts": "any"}), "mtls", on_binding_loss="fail")
    assert (route.status, route.effect) == ("downgraded", "bearer")


@pytest.mark.parametrize(
    ("exchange", "status", "effect_fallback", "effect_fail", "hop"),
    [
        ("preserve", "bound", "bound", "bound", "api"),
        ("strip", "downgraded", "bearer", "bearer", "h1"),
        ("fail", "broken", "bearer", "fails", "h1"),
    ],
)
@pytest.mark.parametrize("policy", ["dpop", "mtls"])
def test_broker_exchange(
    policy: str, exchange: str, status: str, effect_fallback: str, effect_fail: str, hop: str
) -> None:
    arch = chain({"kind": "broker", "exchange": exchange, "tenants": 10})
    route = only(arch, policy)
    assert (route.status, route.effect, route.hop) == (status, effect_fallback, hop)
    route = only(arch, policy, on_binding_loss="fail")
    assert (route.status, route.effect) == (status, effect_fail)


def test_broker_strip_downgrades_even_if_a_later_hop_verifies() -> None:
    route = only(chain({"kind": "broker", "exchange": "strip"}, {"kind": "gateway", "verifies_binding": True}), "dpop")
    assert (route.status, route.hop) == ("downgraded", "h1")


def test_broker_preserve_then_rewrite_is_broken() -> None:
    route = only(chain({"kind": "broker", "exchange": "preserve"}, {"kind": "proxy", "rewrites_uri": True}), "dpop")
    assert (route.status, route.hop) == ("broken", "h2")


# --------------------------------------------------------------------------- clients and tiers


def test_client_without_the_mechanism_falls_back_to_bearer() -> None:
    arch = chain({"kind": "proxy", "terminates_tls": False}, client={"supports": ["bearer"]})
    route = only(arch, "dpop")
    assert (route.mechanism, route.status, route.effect, route.hop) == ("bearer", "downgraded", "bearer", "app")
    assert "cannot do dpop" in route.reason and "falls back" in route.reason


def test_client_without_the_mechanism_fails_under_on_unsupported_fail() -> None:
    arch = chain({"kind": "proxy", "terminates_tls": False}, client={"supports": ["bearer"]})
    route = only(arch, "mtls", on_unsupported="fail")
    assert (route.mechanism, route.status, route.effect, route.hop) == ("none", "broken", "fails", "app")
    # on_binding_loss is about the network, not the client: it does not change this
    route = only(arch, "mtls", on_unsupported="fallback", on_binding_loss="fail")
    assert (route.status, route.effect) == ("downgraded", "bearer")


def test_client_uses_its_first_supported_mechanism_in_preference_order() -> None:
    arch = chain({"kind": "proxy", "terminates_tls": False}, client={"supports": ["bearer", "mtls"]})
    by_tier = rows(arch, "hybrid")
    assert by_tier["privileged"].mechanism == "mtls"
    assert by_tier["privileged"].wanted == "dpop,mtls"
    assert by_tier["privileged"].effect == "bound"


def test_hybrid_keeps_bearer_on_low_risk_and_binds_privileged() -> None:
    arch = chain(TLS_PROXY)
    for name in ("hybrid", "hybrid_jit"):
        by_tier = rows(arch, name)
        low, priv = by_tier["low_risk"], by_tier["privileged"]
        assert (low.mechanism, low.status, low.effect, low.hop) == ("bearer", "bearer", "bearer", None)
        assert (priv.mechanism, priv.status, priv.effect) == ("dpop", "bound", "bound")


def test_bearer_always_works() -> None:
    arch = chain(
        {**TLS_PROXY, "rewrites_uri": True}, {"kind": "broker", "exchange": "fail"}, resource={"accepts": "bound"}
    )
    route = only(arch, "bearer", on_binding_loss="fail", on_unsupported="fail")
    assert (route.status, route.effect) == ("bearer", "bearer")


def test_choose_mechanism() -> None:
    arch = chain(client={"supports": ["bearer", "dpop"]})
    client = arch.node("app")
    assert choose_mechanism(client, ("mtls", "dpop")) == "dpop"
    assert choose_mechanism(client, ("mtls",)) is None
    assert choose_mechanism(client, ("bearer",)) == "bearer"


def test_classify_path_directly() -> None:
    arch = chain(TLS_PROXY)
    assert classify_path(arch, ("app", "h1", "api"), "mtls").status == "broken"
    assert classify_path(arch, ("app", "h1", "api"), "dpop").status == "bound"
    assert classify_path(arch, ("app", "h1", "api"), "bearer").status == "bearer"


# --------------------------------------------------------------------------- several paths and the table


def diamond(**left: Any) -> Architecture:
    """app -> a -> api and app -> b -> api: a is a plain passthrough, b as given."""
    return Architecture.from_dict(
        {
            "name": "diamond",
            "nodes": {
                "app": {"kind": "client", "platform": "workload", "supports": ALL},
                "a": {"kind": "proxy", "terminates_tls": False},
                "b": {"kind": "proxy", **left},
                "api": {"kind": "resource"},
            },
            "edges": [["app", "a"], ["a", "api"], ["app", "b"], ["b", "api"]],
        }
    )


def test_every_path_is_classified_and_the_thief_takes_the_weakest() -> None:
    arch = diamond(terminates_tls=True)
    routes = analyse(arch, preset("mtls"))
    assert sorted((r.path, r.tier) for r in routes.groups) == sorted(
        (p, t) for p in [("app", "a", "api"), ("app", "b", "api")] for t in ("low_risk", "privileged")
    )
    summary = effective_binding(routes)
    assert summary[("app", "api", "privileged")] == ("bearer", 0.0)

    routes = analyse(arch, preset("mtls", on_binding_loss="fail"))
    assert effective_binding(routes)[("app", "api", "low_risk")] == ("bound", 0.5)


def test_route_table_frame() -> None:
    frame = route_table(chain(TLS_PROXY), preset("hybrid"))
    assert list(frame["path"]) == ["app > h1 > api", "app > h1 > api"]
    assert list(frame["tier"]) == ["low_risk", "privileged"]
    assert list(frame["effect"]) == ["bearer", "bound"]
    assert {"client", "resource", "mechanism", "status", "hop", "reason"} <= set(frame.columns)


def test_spa_example_routes() -> None:
    from tokensim.model.architecture import load_model

    arch = load_model("spa_behind_proxy")
    dpop = {r.tier: r for r in analyse(arch, preset("dpop")).groups}
    assert dpop["privileged"].status == "bound" and dpop["low_risk"].status == "bound"
    # the browser SPA cannot do mTLS: the mtls preset falls back to bearer for it
    mtls = {r.tier: r for r in analyse(arch, preset("mtls")).groups}
    assert (mtls["privileged"].mechanism, mtls["privileged"].effect) == ("bearer", "bearer")


def test_a_failing_exchange_beyond_a_verifying_gateway_still_breaks_the_route():
    from tokensim import Architecture, preset
    from tokensim.model.routes import route_table

    arch = Architecture.from_dict(
        {
            "name": "verify-then-fail",
            "nodes": {
                "app": {"kind": "client", "platform": "workload", "supports": ["bearer", "dpop"]},
                "gw": {"kind": "gateway", "verifies_binding": True},
                "broker": {"kind": "broker", "exchange": "fail"},
                "api": {"kind": "resource"},
                "idp": {"kind": "issuer"},
            },
            "edges": [["app", "gw"], ["gw", "broker"], ["broker", "api"]],
        }
    )
    table = route_table(arch, preset("dpop", on_binding_loss="fail"))
    assert set(table["status"]) == {"broken"} and set(table["hop"]) == {"broker"}
    table = route_table(arch, preset("dpop"))
    assert set(table["effect"]) == {"bearer"}


def test_route_table_takes_model_and_policy_names():
    by_name = tokensim.route_table("spa_behind_proxy", "mtls")
    by_object = tokensim.route_table(tokensim.load_model("spa_behind_proxy"), tokensim.preset("mtls"))
    pd.testing.assert_frame_equal(by_name, by_object)
    with pytest.raises(tokensim.InputError, match="no such file or built-in model"):
        tokensim.route_table("no_such_model", "mtls")
    with pytest.raises(tokensim.InputError, match="unknown policy"):
        tokensim.route_table("spa_behind_proxy", "no_such_policy")
