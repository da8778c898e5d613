"""Route facts of version 2 (MODEL-v2 sections 1, 4 and 9; docs/model.md section 3).

`forwards_host` on TLS terminators (DPoP's htu), what a hop after a verifier still does, the
first verifier of a route (`entry_verifier`), and issuer capabilities (`supports`).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import tokensim
from tokensim.model.architecture import Architecture
from tokensim.model.policy import preset
from tokensim.model.routes import Route, analyse, route_table
from tokensim.sim.engine import Simulation

ALL = ["bearer", "dpop", "mtls"]


def chain(
    *hops: dict[str, Any],
    client: dict[str, Any] | None = None,
    resource: dict[str, Any] | None = None,
    issuer: dict[str, Any] | None = None,
) -> Architecture:
    """app -> h1 -> h2 -> ... -> api, trusting issuer ``entra``."""
    nodes: dict[str, Any] = {"app": {"kind": "client", "platform": "workload", "supports": ALL, **(client or {})}}
    names = ["app"]
    for i, hop in enumerate(hops, start=1):
        nodes[f"h{i}"] = hop
        names.append(f"h{i}")
    nodes["api"] = {"kind": "resource", **(resource or {})}
    nodes["entra"] = {"kind": "issuer", **(issuer or {})}
    names.append("api")
    return Architecture.from_dict(
        {"name": "t", "nodes": nodes, "edges": [[a, b] for a, b in itertools.pairwise(names)]}
    )


def only(arch: Architecture, policy_name: str, **overrides: Any) -> Route:
    """The single path's route, the same on both tiers."""
    routes = analyse(arch, preset(policy_name, **overrides)).groups
    assert len(routes) == 2
    low, priv = routes
    assert (low.status, low.effect, low.hop, low.entry_verifier, low.reason) == (
        priv.status,
        priv.effect,
        priv.hop,
        priv.entry_verifier,
        priv.reason,
    )
    return low


# --------------------------------------------------------------------------- 1. forwards_host


@pytest.mark.parametrize("kind", ["proxy", "gateway", "mesh"])
@pytest.mark.parametrize("terminates_tls", [True, False])
@pytest.mark.parametrize("forwards_host", [True, False])
def test_dpop_breaks_only_at_a_tls_terminator_that_does_not_forward_the_host(
    kind: str, terminates_tls: bool, forwards_host: bool
) -> None:
    hop = {"kind": kind, "terminates_tls": terminates_tls, "forwards_host": forwards_host}
    route = only(chain(hop), "dpop")
    if terminates_tls and not forwards_host:
        assert (route.status, route.effect, route.hop, route.entry_verifier) == ("broken", "bearer", "h1", None)
        assert route.reason == (
            "h1 terminates TLS and changes the host and scheme, so the proof's htu no longer matches; "
            "the policy falls back to bearer"
        )
        assert only(chain(hop), "dpop", on_binding_loss="fail").effect == "fails"
    else:
        assert (route.status, route.effect, route.hop, route.entry_verifier) == ("bound", "bound", "api", "api")


@pytest.mark.parametrize("terminates_tls", [True, False])
@pytest.mark.parametrize("forwards_host", [True, False])
def test_forwards_host_does_not_matter_to_mtls(terminates_tls: bool, forwards_host: bool) -> None:
    hop = {"kind": "proxy", "terminates_tls": terminates_tls, "forwards_host": forwards_host}
    route = only(chain(hop), "mtls")
    # the certificate is lost at a terminator that does not forward it, whatever it does with the host
    assert route.status == ("broken" if terminates_tls else "bound")
    hop["forwards_client_cert"] = True
    assert only(chain(hop), "mtls").status == "bound"


def test_forwards_host_defaults_to_true_so_version_1_files_keep_their_meaning() -> None:
    route = only(chain({"kind": "proxy", "terminates_tls": True}, {"kind": "mesh"}), "dpop")
    assert (route.status, route.hop) == ("bound", "api")
    assert tokensim.load_model("spa_behind_proxy").node("edge").forwards_host is True


def test_a_verifying_terminator_checks_the_proof_before_it_changes_the_host() -> None:
    hop = {"kind": "gateway", "verifies_binding": True, "forwards_host": False}
    route = only(chain(hop), "dpop")
    assert (route.status, route.hop, route.entry_verifier) == ("bound", "h1", "h1")


# --------------------------------------------------------------------------- 2. after a verifier


VERIFIER = {"kind": "gateway", "verifies_binding": True, "forwards_client_cert": True}  # loses nothing itself


@pytest.mark.parametrize("policy", ["dpop", "mtls"])
def test_a_strip_after_a_verifier_downgrades_the_route_and_keeps_the_verifier(policy: str) -> None:
    route = only(chain(VERIFIER, {"kind": "broker", "exchange": "strip"}), policy)
    assert (route.status, route.effect, route.hop, route.entry_verifier) == ("downgraded", "bearer", "h2", "h1")
    assert route.reason == "h2's token exchange strips the binding: bearer beyond it (after h1 verified it)"
    # version 1 called this route bound at h1; a thief at the broker or beyond holds a bearer token
    assert analyse(chain(VERIFIER, {"kind": "broker", "exchange": "strip"}), preset(policy)).binding[
        ("app", "api", "low_risk")
    ] == ("bearer", 0.0)


@pytest.mark.parametrize(
    ("mechanism", "lossy"),
    [
        ("dpop", {"kind": "proxy", "rewrites_uri": True}),
        ("dpop", {"kind": "proxy", "forwards_host": False}),
        ("mtls", {"kind": "proxy", "terminates_tls": True}),
    ],
)
def test_a_loss_after_a_verifier_matters_only_where_a_later_hop_verifies_again(
    mechanism: str, lossy: dict[str, Any]
) -> None:
    # the resource behind the verifier relies on it: still bound at h1
    route = only(chain(VERIFIER, lossy), mechanism)
    assert (route.status, route.effect, route.hop, route.entry_verifier) == ("bound", "bound", "h1", "h1")
    # a second verifying hop never sees the proof or the certificate
    route = only(chain(VERIFIER, lossy, VERIFIER), mechanism, on_binding_loss="fail")
    assert (route.status, route.effect, route.hop, route.entry_verifier) == ("broken", "fails", "h2", "h1")
    assert route.reason.endswith("; h3 cannot verify the binding; requests fail")
    # a broker validates the token it exchanges: the same
    route = only(chain(VERIFIER, lossy, {"kind": "broker", "exchange": "preserve"}), mechanism)
    assert (route.status, route.hop, route.entry_verifier) == ("broken", "h2", "h1")
    # without a loss, a second verifier verifies again and the first stays the entry
    route = only(chain(VERIFIER, {"kind": "proxy", "terminates_tls": False}, VERIFIER), mechanism)
    assert (route.status, route.hop, route.entry_verifier) == ("bound", "h1", "h1")


def test_the_entry_verifier_is_none_where_nothing_verifies_the_binding() -> None:
    assert only(chain(resource={"accepts": "any"}), "dpop").entry_verifier is None
    assert only(chain({"kind": "broker", "exchange": "strip"}), "dpop").entry_verifier is None
    assert only(chain({"kind": "proxy", "rewrites_uri": True}, VERIFIER), "dpop").entry_verifier is None
    assert only(chain(), "bearer").entry_verifier is None
    assert "entry_verifier" in route_table(chain(VERIFIER), preset("dpop")).columns


# --------------------------------------------------------------------------- 3. issuer supports


def test_an_issuer_without_dpop_falls_back_to_bearer_and_says_so() -> None:
    arch = chain(issuer={"supports": ["bearer", "mtls"]})
    route = only(arch, "dpop")
    assert (route.mechanism, route.status, route.effect, route.hop) == ("bearer", "downgraded", "bearer", "entra")
    assert route.reason == "issuer entra issues no dpop tokens; it falls back to bearer"
    route = only(arch, "dpop", on_unsupported="fail")
    assert (route.mechanism, route.status, route.effect) == ("none", "broken", "fails")
    assert route.reason == "issuer entra issues no dpop tokens; its requests fail"
    # the next wanted mechanism the issuer does issue is taken
    priv = next(r for r in analyse(arch, preset("hybrid")).groups if r.tier == "privileged")
    assert (priv.mechanism, priv.effect) == ("mtls", "bound")


def test_a_gap_of_the_client_and_of_the_issuer_are_both_named() -> None:
    arch = chain(client={"supports": ["bearer", "dpop"]}, issuer={"supports": ["bearer", "mtls"]})
    priv = next(r for r in analyse(arch, preset("hybrid")).groups if r.tier == "privileged")
    assert priv.reason == "app cannot do mtls; issuer entra issues no dpop tokens; it falls back to bearer"
    assert priv.hop == "entra"
    # the client alone is named when it can do none of them, as in version 1
    arch = chain(client={"supports": ["bearer"]}, issuer={"supports": ["bearer"]})
    assert only(arch, "dpop").reason == "app cannot do dpop; it falls back to bearer"
    assert only(arch, "dpop").hop == "app"


def test_the_mechanism_is_chosen_per_resource_by_its_issuer() -> None:
    arch = Architecture.from_dict(
        {
            "name": "two-issuers",
            "nodes": {
                "app": {"kind": "client", "platform": "workload", "supports": ALL},
                "graph": {"kind": "resource", "issuer": "entra"},
                "crm": {"kind": "resource", "issuer": "okta"},
                "entra": {"kind": "issuer", "supports": ["bearer", "mtls"]},
                "okta": {"kind": "issuer"},
            },
            "edges": [["app", "graph"], ["app", "crm"]],
        }
    )
    binding = analyse(arch, preset("dpop")).binding
    assert binding[("app", "graph", "low_risk")] == ("bearer", 0.0)
    assert binding[("app", "crm", "low_risk")] == ("bound", 0.0)
    sim = Simulation(arch, preset("dpop"), seed=1, replication=0, horizon=24.0)
    plan = sim.plan.clients["app"]
    assert plan.mechanism == {"low_risk": "dpop", "privileged": "dpop"}  # a DPoP token exists for crm
    assert {(c.resource, c.effect) for c in plan.cells} == {("graph", "bearer"), ("crm", "bound")}


def test_an_issuer_must_issue_bearer_tokens() -> None:
    with pytest.raises(tokensim.InputError, match=r"nodes\.entra\.supports.*list bearer"):
        chain(issuer={"supports": ["dpop"]})


# --------------------------------------------------------------------------- check and schema


def test_check_prints_htu_breaks_issuer_gaps_and_entry_verifiers(tmp_path: Path) -> None:
    model = {
        "name": "facts",
        "nodes": {
            "spa": {"kind": "client", "platform": "browser", "supports": ["bearer", "dpop"]},
            "edge": {"kind": "proxy", "terminates_tls": True, "forwards_host": False},
            "gw": {"kind": "gateway", "verifies_binding": True},
            "orders": {"kind": "resource", "issuer": "okta"},
            "mail": {"kind": "resource", "issuer": "entra"},
            "okta": {"kind": "issuer"},
            "entra": {"kind": "issuer", "supports": ["bearer", "mtls"]},
        },
        "edges": [["spa", "edge"], ["edge", "orders"], ["spa", "gw"], ["gw", "mail"], ["gw", "orders"]],
    }
    path = tmp_path / "facts.yaml"
    path.write_text(yaml.safe_dump(model), encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "tokensim", "check", str(path), "--policy", "dpop"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert out[1].split() == ["client", "resource", "tier", "mechanism", "status", "effect", "hop", "verifier"]
    facts = out[out.index("DPoP htu breaks:") :]
    assert facts == [
        "DPoP htu breaks:",
        "  at edge: edge terminates TLS and changes the host and scheme, so the proof's htu no longer matches"
        " (2 routes)",
        "issuer gaps (a mechanism asked for that the resource's issuer does not issue):",
        "  issuer entra issues no dpop tokens, bearer instead: spa -> mail (low_risk), spa -> mail (privileged)",
        "entry verifiers (where a thief from outside must pass with the key):",
        "  gw (2 routes)",
    ]


def test_schema_has_the_new_fields() -> None:
    res = subprocess.run([sys.executable, "-m", "tokensim", "schema"], capture_output=True, text=True, timeout=300)
    defs = json.loads(res.stdout)["$defs"]
    assert defs["Intermediary"]["properties"]["forwards_host"]["default"] is True
    assert defs["Mesh"]["properties"]["forwards_host"]["default"] is True
    assert defs["Issuer"]["properties"]["supports"]["items"]["enum"] == ALL
    assert "validation" in defs["Resource"]["properties"]
    assert "forwards_host" in defs["Intermediary"]["description"] and "validation" in defs["Resource"]["description"]
