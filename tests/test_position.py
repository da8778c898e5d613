"""Where the thief stands (MODEL-v2.md section 3), phishing vectors and correlated leaks (section 2).

Expectations come from the semantics alone: one client instance (or a small population), a fixed
replay delay d, no detection unless said, lifetimes that divide the thief's window. Families run as
processes (`closed_form_families=False`) and, where they are token-only, in closed form too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import one_client_model
from test_closed_forms import ci99

import tokensim
from tokensim.errors import InputError
from tokensim.model.policy import Policy, resolve_policy
from tokensim.sim.engine import Simulation

LAM, HORIZON, RHO, D, DELAY = 40.0, 365 * 24.0, 30.0, 3.0, 1.0  # per year; hours; per hour; hours; hours


def per_leak(arch, policy, *, closed: bool, replications: int = 30, seed: int = 5) -> tuple[float, float, float]:
    """Unauthorized requests per leak over ``replications`` runs, with a 99% interval scaled the same way."""
    pol = resolve_policy(policy) if not isinstance(policy, Policy) else policy
    runs = []
    for rep in range(replications):
        sim = Simulation(arch, pol, seed=seed, replication=rep, horizon=HORIZON, closed_form_families=closed)
        sim.run()
        runs.append(sim.outcome_fields())
    unauthorized = [r["unauthorized_requests"] for r in runs]
    leaks = sum(r["leaks"] for r in runs)
    assert leaks > 0
    low, high = ci99(unauthorized)
    return sum(unauthorized) / leaks, low * replications / leaks, high * replications / leaks


def assert_per_leak(expected: float, observed: tuple[float, float, float]) -> None:
    _mean, low, high = observed
    slack = 0.002 * expected  # leaks cut short by the horizon's edge
    assert low - slack <= expected <= high + slack, (expected, observed)


def client_model(leak: dict[str, Any], *, client: dict | None = None, resource: dict | None = None, **kw: Any):
    return one_client_model(
        instances=1,
        leaks=[{"rate": f"{LAM}/year", **leak}],
        delay=f"{DELAY}h",
        replay_rate=f"{RHO}/h",
        client=client,
        resource=resource,
        **kw,
    )


# -- network allow-lists -----------------------------------------------------------------------------


@pytest.mark.parametrize("closed", [True, False])
def test_an_allow_list_stops_a_log_thief_from_outside(closed):
    """Bearer tokens from the client's log: rho (a - d)^2 / (2a) per leak, 0 behind an allow-list."""
    a, d = 1.0, 0.25
    leak = {"vector": "log"}
    arch = one_client_model(instances=50, leaks=[{**leak, "rate": "20/year"}], delay=f"{d}h", replay_rate=f"{RHO}/h")
    pol = tokensim.preset("bearer", access_ttl=f"{a}h")
    assert_per_leak(RHO * (a - d) ** 2 / (2 * a), per_leak(arch, pol, closed=closed))
    listed = one_client_model(
        instances=50,
        leaks=[{**leak, "rate": "20/year"}],
        delay=f"{d}h",
        replay_rate=f"{RHO}/h",
        resource={"network_allow_list": True},
    )
    mean, _, _ = per_leak(listed, pol, closed=closed, replications=5)
    assert mean == 0.0


def test_a_resident_thief_passes_an_allow_list_only_while_its_dwell_lasts():
    """Bearer, no refresh token: rho (D - d + a/2) per leak without the allow-list (the token current at
    t + D lives U(0, a) more); behind it the thief replays only from t + d to t + D: rho (D - d)."""
    a = 0.5
    client = {"platform": "mobile", "key_storage": "none", "supports": ["bearer"]}
    pol = tokensim.preset("bearer", access_ttl=f"{a}h")
    leak = {"vector": "malware", "dwell": f"{D}h"}
    assert_per_leak(RHO * (D - DELAY + a / 2), per_leak(client_model(leak, client=client), pol, closed=False))
    listed = client_model(leak, client=client, resource={"network_allow_list": True})
    assert_per_leak(RHO * (D - DELAY), per_leak(listed, pol, closed=False))


def test_the_trace_says_the_allow_list_blocked_the_replay():
    arch = client_model({"vector": "malware", "dwell": f"{D}h"}, client={"platform": "mobile"})
    listed = client_model(
        {"vector": "malware", "dwell": f"{D}h"}, client={"platform": "mobile"}, resource={"network_allow_list": True}
    )
    out = tokensim.simulate(listed, "bearer", seed=1, horizon="1y", trace=True)
    assert out.trace["detail"].str.contains("blocked by the network allow-list at api").any()
    plain = tokensim.simulate(arch, "bearer", seed=1, horizon="1y", trace=True)
    assert not plain.trace["detail"].str.contains("allow-list").any()


# -- an inside thief and an edge verifier --------------------------------------------------------------


def gateway_then_strip(broker_leak: dict | None = None, client_leak: dict | None = None, **resource: Any):
    """client -> gateway (verifies DPoP) -> broker (strips) -> api: bearer at the api, bound at the gateway."""
    return tokensim.Architecture.from_dict(
        {
            "name": "verify-then-strip",
            "nodes": {
                "app": {
                    "kind": "client",
                    "platform": "workload",
                    "supports": ["bearer", "dpop"],
                    "leaks": [client_leak] if client_leak else [],
                },
                "gw": {"kind": "gateway", "verifies_binding": True},
                "broker": {
                    "kind": "broker",
                    "exchange": "strip",
                    "key_storage": "non_extractable",
                    "leaks": [broker_leak] if broker_leak else [],
                },
                "api": {"kind": "resource", "privileged_fraction": 0.0, **resource},
                "idp": {"kind": "issuer", "revocation": "introspection"},
            },
            "edges": [["app", "gw"], ["gw", "broker"], ["broker", "api"]],
            "attacker": {"replay_delay": f"{DELAY}h", "replay_rate": f"{RHO}/h"},
            "defender": {"detection_probability": 0.0},
        }
    )


@pytest.mark.parametrize("allow_listed", [False, True])
def test_an_inside_thief_beyond_a_verifier_gets_bearer_beyond_the_strip(allow_listed):
    """The broker's host holds the token current at t + D (U(0, a) left): rho (D - d + a/2) per leak under
    DPoP, exactly as under bearer; an edge verifier before the broker does not stop a thief already inside,
    nor does a network allow-list at the resource (it replays from the broker's place)."""
    a = 0.5
    leak = {"vector": "host_compromise", "rate": f"{LAM}/year", "dwell": f"{D}h"}
    arch = gateway_then_strip(broker_leak=leak, network_allow_list=allow_listed)
    expected = RHO * (D - DELAY + a / 2)
    for mechanism in ("bearer", "dpop"):
        assert_per_leak(expected, per_leak(arch, tokensim.preset(mechanism, access_ttl=f"{a}h"), closed=False))


@pytest.mark.parametrize("closed", [True, False])
def test_an_outside_thief_with_the_clients_token_gets_nothing_without_the_key(closed):
    """A client log under DPoP: the gateway verifies before the broker strips; the captured proof has closed
    (2 min window, d = 1 h): 0. Under bearer: rho (a - d)^2 / (2a) per leak with a = 2 h."""
    a = 2.0
    arch = gateway_then_strip(client_leak={"vector": "log", "rate": f"{LAM}/year"})
    assert_per_leak(
        RHO * (a - DELAY) ** 2 / (2 * a), per_leak(arch, tokensim.preset("bearer", access_ttl=f"{a}h"), closed=closed)
    )
    mean, _, _ = per_leak(arch, tokensim.preset("dpop", access_ttl=f"{a}h"), closed=closed, replications=5)
    assert mean == 0.0


# -- phishing ------------------------------------------------------------------------------------------

R = 4.0  # hours: the grant's refresh_ttl; R - d = 3 h, six access lifetimes of 30 min


def phished(vector: str, *, client: dict | None = None, **leak: Any):
    spec = {"platform": "browser", "supports": ["bearer", "dpop"], **(client or {})}
    return client_model({"vector": vector, **leak}, client=spec)


@pytest.mark.parametrize("mechanism", ["bearer", "dpop"])
def test_consent_phishing_under_dpop_equals_bearer(mechanism):
    """The thief's own application, bound to its own key, mints from t + d to t + R: rho (R - d) per leak."""
    pol = tokensim.preset(mechanism, access_ttl="30m", refresh_ttl=f"{R}h")
    assert_per_leak(RHO * (R - DELAY), per_leak(phished("consent_phishing"), pol, closed=False))


def test_consent_phishing_reaches_only_the_consented_resources():
    arch = tokensim.Architecture.from_dict(
        {
            "name": "two-apis",
            "nodes": {
                "spa": {
                    "kind": "client",
                    "platform": "browser",
                    "leaks": [{"vector": "consent_phishing", "rate": f"{LAM}/year", "resources": ["mail"]}],
                },
                "mail": {"kind": "resource", "privileged_fraction": 0.0},
                "files": {"kind": "resource", "privileged_fraction": 0.0, "sensitivity": 5.0},
                "idp": {"kind": "issuer"},
            },
            "edges": [["spa", "mail"], ["spa", "files"]],
            "attacker": {"replay_delay": f"{DELAY}h", "replay_rate": f"{RHO}/h"},
            "defender": {"detection_probability": 0.0},
        }
    )
    pol = tokensim.preset("dpop", access_ttl="30m", refresh_ttl=f"{R}h")
    out = tokensim.simulate(arch, pol, seed=2, horizon="1y", trace=True)
    replays = list(out.trace.loc[out.trace["event"] == "replay", "detail"])
    assert replays and all("files" not in d for d in replays) and all("at mail" in d for d in replays)
    assert_per_leak(RHO * (R - DELAY), per_leak(arch, pol, closed=False))


def test_aitm_gets_nothing_against_phishing_resistant_authentication():
    pol = tokensim.preset("dpop", access_ttl="30m", refresh_ttl=f"{R}h")
    assert_per_leak(RHO * (R - DELAY), per_leak(phished("aitm"), pol, closed=False))
    arch = phished("aitm", client={"phishing_resistant": True})
    frame = tokensim.replicate(arch, [pol], replications=3, seed=1, horizon=HORIZON, costs=None)
    assert frame["leaks"].sum() > 0
    assert frame["unauthorized_requests"].sum() == 0 and frame["credentials_exposed"].sum() == 0


def test_device_code_phishing_needs_the_device_code_grant():
    with pytest.raises(InputError) as err:
        phished("device_code_phishing")
    assert "nodes.app.leaks[0].vector" in str(err.value) and "device_code" in str(err.value)
    arch = phished("device_code_phishing", client={"grants": ["authorization_code", "device_code"]})
    pol = tokensim.preset("dpop", access_ttl="30m", refresh_ttl=f"{R}h")
    assert_per_leak(RHO * (R - DELAY), per_leak(arch, pol, closed=False))


# -- correlated leaks ------------------------------------------------------------------------------------


def event_counts(arch, policy: str, *, closed: bool, replications: int) -> list[int]:
    """Families per event, from the trace's leak rows."""
    counts = []
    for rep in range(replications):
        sim = Simulation(
            arch,
            resolve_policy(policy),
            seed=9,
            replication=rep,
            horizon=HORIZON,
            trace=True,
            closed_form_families=closed,
        )
        rows = sim.run() or []
        counts += [row.count for row in rows if row.event == "leak"]
    return counts


@pytest.mark.parametrize(("vector", "closed"), [("log", True), ("log", False), ("malware", False)])
def test_a_correlated_leak_compromises_a_binomial_share_of_the_population(vector, closed):
    """Each event compromises each of n instances with probability reach: mean n p, variance n p (1 - p);
    `rate` is per year for the population (events), so `leaks` counts events."""
    n, reach = 60, 0.3
    leak = {"vector": vector, "rate": "40/year", "reach": reach}
    arch = one_client_model(instances=n, leaks=[leak], client={"platform": "mobile"}, delay="1h")
    counts = np.array(event_counts(arch, "bearer", closed=closed, replications=6))
    assert 170 < len(counts) < 320  # 6 x 40 events expected: the rate is not multiplied by the instances
    mean, var = n * reach, n * reach * (1 - reach)
    assert abs(counts.mean() - mean) < 3 * np.sqrt(var / len(counts)), (counts.mean(), mean)
    # the sample variance of a binomial: within 3 standard errors (sd of s^2 ~ var sqrt(2 / k) here)
    assert abs(counts.var(ddof=1) - var) < 3 * var * np.sqrt(2 / len(counts)), (counts.var(ddof=1), var)


@pytest.mark.parametrize(("vector", "closed"), [("log", True), ("malware", False)])
def test_one_detection_revokes_every_family_of_the_event(vector, closed):
    """Under `revocation_scope: family` the families of one correlated event still share one detection:
    all of an event's revocations come at one moment (independent detections would spread them)."""
    leak = {"vector": vector, "rate": "10/year", "reach": 0.5}
    arch = one_client_model(
        instances=40, leaks=[leak], client={"platform": "mobile"}, delay="10m", detection=0.02, response="30m"
    )
    pol = tokensim.preset("bearer", access_ttl="2h")
    assert pol.revocation_scope == "family"
    sim = Simulation(arch, pol, seed=4, replication=0, horizon=HORIZON, trace=True, closed_form_families=closed)
    rows = sim.run() or []
    leaks = [row for row in rows if row.event == "leak"]
    revocations = [row for row in rows if row.event == "revocation"]
    assert len(leaks) > 3 and len(revocations) > len(leaks)
    by_time: dict[float, int] = {}
    for row in revocations:
        by_time[round(row.time_hours, 9)] = by_time.get(round(row.time_hours, 9), 0) + 1
    # one revocation moment per detected event, each revoking several families
    assert len(by_time) <= len(leaks)
    assert max(by_time.values()) >= 5
    assert sim.tally.revoked_sessions >= len(revocations)


# -- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leak", "client", "field", "fragment"),
    [
        ({"vector": "log", "position": "resident"}, {}, "leaks[0].position", "resident thief"),
        ({"vector": "malware", "position": "inside"}, {}, "leaks[0].position", "inside thief"),
        ({"vector": "log", "resources": ["api"]}, {}, "leaks[0].resources", "consent_phishing"),
        ({"vector": "consent_phishing", "resources": ["nowhere"]}, {}, "leaks[0].resources[0]", "not a resource"),
        ({"vector": "log", "reach": 0}, {}, "leaks[0].reach", "probability"),
        ({"vector": "log", "reach": 0.5}, {"instances": 400_000}, "leaks[0].reach", "families per event"),
    ],
)
def test_bad_positions_reach_and_resources_name_the_field(leak, client, field, fragment):
    with pytest.raises(InputError) as err:
        one_client_model(
            instances=client.pop("instances", 1),
            leaks=[{"rate": "1/year", **leak}],
            client={"platform": "browser", **client},
        )
    text = str(err.value)
    assert field in text and fragment in text, text


# -- tokensim check and schema ---------------------------------------------------------------------------


def test_check_says_where_each_thief_enters_and_what_an_allow_list_closes():
    from tokensim.model.route_facts import leak_facts

    arch = gateway_then_strip(
        broker_leak={"vector": "host_compromise", "rate": "1/year"},
        client_leak={"vector": "log", "rate": "1/year"},
        network_allow_list=True,
    )
    lines = leak_facts(arch)
    assert lines[0].startswith("leaks (where the thief's requests enter")
    assert "app.leaks[0] log (outside): enters from outside, through the client's first hop: gw" in lines[1]
    assert lines[1].endswith("allow-list closes: api")
    assert "broker.leaks[0] host_compromise (inside): enters inside at broker" in lines[2]
    assert lines[2].endswith("allow-list closes: none (it is inside)")
    resident = leak_facts(
        client_model({"vector": "malware"}, client={"platform": "mobile"}, resource={"network_allow_list": True})
    )
    assert "(resident): enters the victim's host while the dwell lasts" in resident[1]
    assert resident[1].endswith("allow-list closes: api (after the dwell)")


def test_schema_has_the_new_fields():
    from tokensim.model.schema import ModelFile

    defs = ModelFile.model_json_schema()["$defs"]
    assert {"position", "reach", "resources"} <= set(defs["Leak"]["properties"])
    assert "network_allow_list" in defs["Resource"]["properties"]
    assert "phishing_resistant" in defs["Client"]["properties"]
    vectors = defs["Leak"]["properties"]["vector"]["enum"]
    assert {"consent_phishing", "device_code_phishing", "aitm"} <= set(vectors)


def test_the_new_fields_count_in_the_hash_only_when_set():
    arch = client_model({"vector": "log"})
    spec = arch.spec.model_dump(mode="json")
    assert tokensim.Architecture.from_dict(spec).config_hash == arch.config_hash  # unset fields: None, dropped
    spec["nodes"]["api"]["network_allow_list"] = True
    assert tokensim.Architecture.from_dict(spec).config_hash != arch.config_hash
