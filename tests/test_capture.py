"""What a leak captures (MODEL-v2.md sections 4 and 9; docs/model.md sections 4, 5 and 9).

Common random numbers for everything a leak exposes; the captured proof is the proof of the
logged request that exposed the token; what a captured proof allows under a server nonce and
under jti tracking, against closed forms, on both engine paths.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import one_client_model

import tokensim
from tokensim.sim import capture
from tokensim.sim.engine import Simulation

HOURS_PER_YEAR = 8760.0


def logging_model(*, audience_resources: int = 2) -> tokensim.Architecture:
    """A browser population with client logs, behind a logging proxy that forwards certificates, two APIs."""
    nodes: dict = {
        "app": {
            "kind": "client",
            "platform": "browser",
            "instances": 300,
            "key_storage": "non_extractable",
            "supports": ["bearer", "dpop", "mtls"],
            "request_rate": "90/h",
            "log_retention": "2h",
            "leaks": [{"vector": "log", "rate": "20/year"}],
        },
        "edge": {
            "kind": "proxy",
            "forwards_client_cert": True,
            "logs_tokens": True,
            "log_retention": "1d",
            "leaks": [{"vector": "log", "rate": "40/year"}],
        },
        "idp": {"kind": "issuer", "revocation": "introspection"},
    }
    edges = [["app", "edge"]]
    for j in range(audience_resources):
        nodes[f"api{j}"] = {"kind": "resource", "privileged_fraction": 0.25 + 0.25 * j}
        edges.append(["edge", f"api{j}"])
    return tokensim.Architecture.from_dict(
        {
            "name": "logs",
            "nodes": nodes,
            "edges": edges,
            "attacker": {"replay_delay": "1m", "replay_rate": "120/h"},
            "defender": {"detection_probability": 0.01, "response_time": "30m"},
        }
    )


@pytest.mark.parametrize("audience", ["broad", "per_resource"])
def test_what_a_log_leak_exposes_is_identical_under_bearer_dpop_and_mtls(audience):
    """Same seed, same token structure: identical `leaks` and `credentials_exposed` in each of 25 replications.

    Before the capture stream (version 1), proofs were drawn from the replay stream and only under DPoP,
    so the draws after them shifted and the exposed counts differed between policies.
    """
    policies = [tokensim.preset(p, audience=audience, access_ttl="30m") for p in ("bearer", "dpop", "mtls")]
    frame = tokensim.replicate(logging_model(), policies, replications=25, seed=5, horizon="30d", costs=None)
    for column in ("leaks", "credentials_exposed"):
        wide = frame.pivot(index="replication", columns="policy", values=column)
        assert len(wide) == 25
        for policy in ("dpop", "mtls"):
            assert (wide[policy] == wide["bearer"]).all(), (column, policy)
    assert frame["credentials_exposed"].sum() > 0
    # the policies do differ in what the thief makes of it: the comparison is not vacuous
    by = frame.groupby("policy")["unauthorized_requests"].sum()
    assert by["bearer"] > by["dpop"] > 0 and by["mtls"] == 0


def record_captures(monkeypatch) -> list[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """Wrap `capture.capture_block`: every call's (t, request times, expiry, proof), in order."""
    seen: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
    real = capture.capture_block

    def spy(plan, policy, t, since, phase, **kw):
        expiry, proof = real(plan, policy, t, since, phase, **kw)
        seen.append((t, since.copy(), expiry, proof))
        return expiry, proof

    monkeypatch.setattr(capture, "capture_block", spy)
    return seen


@pytest.mark.parametrize("closed_form", [True, False])
def test_logged_request_times_are_identical_under_every_preset(monkeypatch, closed_form):
    """Per (instance, cell), the time since its last logged request is the same number under all presets."""
    arch = logging_model()
    by_policy = {}
    for name in tokensim.PRESETS:
        seen = record_captures(monkeypatch)
        Simulation(
            arch, tokensim.preset(name), seed=9, replication=2, horizon=60 * 24.0, closed_form_families=closed_form
        ).run()
        by_policy[name] = seen
        monkeypatch.undo()
    first = by_policy["bearer"]
    assert len(first) > 5 and sum(s.size for _, s, _, _ in first) > 1000
    for name, seen in by_policy.items():
        assert len(seen) == len(first), name
        for (t0, s0, _, _), (t1, s1, _, _) in zip(first, seen):
            assert t0 == t1 and np.array_equal(s0, s1), name


def test_the_captured_proof_is_the_proof_of_the_request_that_exposed_the_token(monkeypatch):
    """Proof age = that request's age; never a proof older than its token (version 1: about a third were).

    Per-resource audience: each token serves a resource's two tiers. Every captured proof's request is
    that cell's own last logged request, made after its token was issued; the token's last use (the
    latest request among its cells) is the request of its newest captured proof.
    """
    arch = logging_model()
    policy = tokensim.preset("dpop", audience="per_resource", access_ttl="20m")
    window = policy.proof_window
    seen = record_captures(monkeypatch)
    Simulation(arch, policy, seed=4, replication=0, horizon=90 * 24.0).run()
    pairs = older = exact = 0
    for t, since, expiry, proof in seen:
        has = proof > -np.inf
        assert (expiry[has] > -np.inf).all()  # no proof without its token
        request = proof[has] - window  # no nonce: the deadline is the request time plus the window
        issued = (expiry - policy.access_ttl)[has]  # routine tokens: issued one TTL before they expire
        pairs += int(has.sum())
        older += int((request < issued - 1e-9).sum())
        exact += int(np.isclose(request, (t - since)[has], rtol=0, atol=1e-9).sum())
        # the token's last use is the latest request among its cells: never later than a paired proof's
        for j in range(2):
            cells = [2 * j, 2 * j + 1]
            last = since[:, cells].min(axis=1)
            row = has[:, cells].any(axis=1)
            assert (np.max(np.where(has[:, cells], t - since[:, cells], -np.inf), axis=1)[row] == (t - last)[row]).all()
    assert pairs > 2000
    assert older == 0 and exact == pairs


def closed_form_model(*, k: int = 1, instances: int = 200, rate: str = "60/year") -> tokensim.Architecture:
    """Client log leaks of one DPoP client (unexported key) calling one resource with ``k`` verifier replicas."""
    return one_client_model(
        instances=instances,
        leaks=[{"vector": "log", "rate": rate}],
        delay="0s",
        replay_rate="600/h",
        client={"key_storage": "hardware", "request_rate": "120/h", "log_retention": "30d"},
        resource={"verifiers": k},
    )


def expected_window(*, r: float, window: float, nonce: float | None, delay: float = 0.0) -> float:
    """E[(usable end - exploitation start)+] of a logged proof, in hours.

    The proof was made s ~ Exp(r) before the leak; it replays until min(W, R) after it was made, where R,
    the rest of its nonce epoch, is uniform on (0, L) (leaks fall anywhere on the nonce grid). So
    E[min(W, R)] = W - W^2 / (2L) for W <= L, and with c = s + d the usable stretch has mean
        E[(min(W, R) - c)+] = E[(W - c)+^2] / (2L) + (L - W) E[(W - c)+] / L;
    with D = W - d: E[(D - s)+] = D - (1 - e^{-rD}) / r, E[(D - s)+^2] = D^2 - 2D/r + 2(1 - e^{-rD}) / r^2.
    Without a nonce it is E[(D - s)+]. Neglected: a token older than s (P <= 1/(r ttl)) and a token expiring
    inside the window (P <= W / ttl): below 0.1% with a 7-day TTL.
    """
    d_ = window - delay
    first = d_ - (1 - math.exp(-r * d_)) / r
    if nonce is None:
        return first
    second = d_**2 - 2 * d_ / r + 2 * (1 - math.exp(-r * d_)) / r**2
    return second / (2 * nonce) + (nonce - window) * first / nonce


def run_both(arch, policy, reps: int, seed: int = 31) -> dict[bool, np.ndarray]:
    """Unauthorized requests per leak, per replication, on the closed-form and the process path."""
    out = {}
    for closed_form in (True, False):
        per = []
        for r in range(reps):
            sim = Simulation(
                arch, policy, seed=seed, replication=r, horizon=40 * 24.0, closed_form_families=closed_form
            )
            sim.run()
            fields = sim.outcome_fields()
            per.append(fields["unauthorized_requests"] / max(fields["leaks"], 1))
        out[closed_form] = np.array(per)
    return out


def within(values: np.ndarray, expected: float, sigmas: float = 4.0) -> None:
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - expected) < sigmas * se + 1e-12, (values.mean(), expected, se)


def test_a_server_nonce_cuts_a_logged_proof_to_its_epoch_but_does_not_stop_it():
    """W = 2 min, L = 3 min (both binding): E[min(W, R)] = W - W^2/(2L) = 1.33 min; s ~ Exp(120/h)."""
    arch = closed_form_model()
    rho, r, w, lifetime = 600.0, 120.0, 2 / 60, 3 / 60
    policy = tokensim.preset("dpop", access_ttl="7d", proof_window="2m", nonce=True, nonce_lifetime="3m")
    expected = rho * expected_window(r=r, window=w, nonce=lifetime)
    assert w - w**2 / (2 * lifetime) == pytest.approx(4 / 3 / 60)
    got = run_both(arch, policy, reps=16)
    for values in got.values():
        within(values, expected)
    no_nonce = rho * expected_window(r=r, window=w, nonce=None)
    assert expected < 0.8 * no_nonce  # the nonce binds: well below the window alone


def test_per_node_jti_caches_thin_proof_replays_by_k_minus_one_over_k():
    """k = 4 replicas with their own jti caches: 3/4 of the untracked case; one shared cache: none."""
    rho, r, w = 600.0, 120.0, 2 / 60
    untracked = rho * expected_window(r=r, window=w, nonce=None)
    per_node = tokensim.preset("dpop", access_ttl="7d", proof_window="2m", jti_tracking="per_node")
    got = run_both(closed_form_model(k=4), per_node, reps=16)
    for values in got.values():
        within(values, 0.75 * untracked)
    # the none case itself, and one replica per node (k = 1): every replay lands on the cache that saw it
    none = tokensim.preset("dpop", access_ttl="7d", proof_window="2m")
    for values in run_both(closed_form_model(k=4), none, reps=8).values():
        within(values, untracked)
    one = run_both(closed_form_model(k=1, rate="20/year"), per_node, reps=4)
    glob = run_both(closed_form_model(k=4, rate="20/year"), none.model_copy(update={"jti_tracking": "global"}), reps=4)
    for values in (*one.values(), *glob.values()):
        assert (values == 0).all()


def test_jti_tracking_reads_version_one_booleans_and_names_bad_values(tmp_path):
    assert tokensim.preset("mtls", jti_tracking=True).jti_tracking == "global"
    assert tokensim.preset("dpop", jti_tracking=False).jti_tracking == "none"
    assert tokensim.preset("dpop", jti_tracking="true").jti_tracking == "global"  # --set jti_tracking=true
    assert tokensim.Policy().jti_tracking == "none" and tokensim.Policy().nonce_lifetime == pytest.approx(5 / 60)
    path = tmp_path / "p.yaml"
    path.write_text("base: dpop\njti_tracking: per_node\nnonce: true\nnonce_lifetime: 30s\n")
    loaded = tokensim.load_policy(path)
    assert loaded.jti_tracking == "per_node" and loaded.nonce_lifetime == pytest.approx(30 / 3600)
    path.write_text("base: dpop\njti_tracking: sometimes\n")
    with pytest.raises(tokensim.InputError) as err:
        tokensim.load_policy(path)
    assert "p.yaml" in str(err.value) and "jti_tracking" in str(err.value)


@pytest.mark.parametrize("bad", [0, True, 2.5])
def test_verifiers_must_be_a_whole_number_of_replicas(bad):
    with pytest.raises(tokensim.InputError) as err:
        one_client_model(leaks=[], resource={"verifiers": bad})
    assert "verifiers" in str(err.value)


def test_the_weakest_bound_path_decides_a_cells_replicas():
    """Two bound paths to one resource, verified by a 2-replica and a 5-replica gateway: k = 5, 4/5 accepted."""
    arch = tokensim.Architecture.from_dict(
        {
            "name": "two-gateways",
            "nodes": {
                "app": {"kind": "client", "platform": "browser", "supports": ["dpop"], "key_storage": "hardware"},
                "gw_a": {"kind": "gateway", "verifies_binding": True, "verifiers": 2},
                "gw_b": {"kind": "gateway", "verifies_binding": True, "verifiers": 5},
                "api": {"kind": "resource", "verifiers": 3},
                "idp": {"kind": "issuer"},
            },
            "edges": [["app", "gw_a"], ["app", "gw_b"], ["gw_a", "api"], ["gw_b", "api"]],
        }
    )
    policy = tokensim.preset("dpop", jti_tracking="per_node")
    sim = Simulation(arch, policy, seed=1, replication=0, horizon=24.0)
    assert sim.plan.clients["app"].proof_accept == (0.8, 0.8)
    assert Simulation(arch, tokensim.preset("bearer"), seed=1, replication=0, horizon=24.0).plan.clients[
        "app"
    ].proof_accept == (0.0, 0.0)
