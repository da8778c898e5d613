"""Detection and response of version 2 (MODEL-v2.md section 5) against closed forms, on both engine paths.

Failed attempts as signals (`binding_failure_detection`, `failure_detection`), `revocation_scope`, and
reuse detection revoking at once. Derivations are in the docstrings and in docs/model.md, section 7.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from conftest import one_client_model

import tokensim
from tokensim.sim.engine import Simulation


def runs(arch, policy, *, closed: bool, reps: int, horizon: float, seed: int = 5, **kw: Any) -> list[Simulation]:
    out = []
    for r in range(reps):
        sim = Simulation(arch, policy, seed=seed, replication=r, horizon=horizon, closed_form_families=closed, **kw)
        sim.run()
        out.append(sim)
    return out


def field(sims: list[Simulation], name: str) -> np.ndarray:
    return np.array([s.outcome_fields()[name] for s in sims], dtype=float)


def within(observed: np.ndarray, expected: float, k: float = 4.0) -> None:
    se = observed.std(ddof=1) / np.sqrt(observed.size)
    assert abs(observed.mean() - expected) <= k * se + 1e-9, (observed.mean(), expected, se)


def test_a_bound_token_without_its_proof_is_detected_at_the_first_failing_attempt():
    """DPoP with a server nonce: a logged token comes without a usable proof, so every attempt is a binding
    failure (weight 1). With binding_failure_detection 1 the first attempt is detected: detection - start ~
    Exp(rho); every later attempt is detected too, so detections == replay_attempts exactly. With 0: none."""
    rho = 30.0
    arch = one_client_model(
        instances=200,
        leaks=[{"vector": "log", "rate": "10/year"}],
        delay="5m",
        replay_rate=f"{rho}/h",
        response="1h",
        client={"key_storage": "hardware"},
    )
    policy = tokensim.preset("dpop", access_ttl="24h", nonce=True)
    spec = arch.spec.model_copy(
        update={"defender": arch.spec.defender.model_copy(update={"binding_failure_detection": 1.0})}
    )
    detecting = tokensim.Architecture(spec)
    for closed in (True, False):
        sims = runs(detecting, policy, closed=closed, reps=30, horizon=30 * 24.0, trace=True)
        gaps = []
        for s in sims:
            start: dict[int, float] = {}  # instance -> its latest exploitation start (rows are in time order)
            for r in s.trace.rows or []:
                if r.event == "exploit":
                    start[r.instance] = r.time_hours
                elif r.event == "detection":
                    gaps.append(r.time_hours - start[r.instance])
            f = s.outcome_fields()
            assert f["unauthorized_requests"] == 0
            assert f["detections"] == f["replay_attempts"]
        assert len(gaps) > 100
        within(np.array(gaps), 1 / rho)
        # every family is detected but those whose token dies first: P = E[P(R < d + Exp(rho))] = (d + 1/rho) / ttl
        leaks = sum(s.outcome_fields()["leaks"] for s in sims)
        missed = leaks * (5 / 60 + 1 / rho) / 24
        assert abs(leaks - len(gaps) - missed) < 4 * np.sqrt(missed) + 2, (leaks - len(gaps), missed)
    quiet = runs(arch, policy, closed=True, reps=10, horizon=30 * 24.0)
    assert field(quiet, "detections").sum() == 0 and field(quiet, "replay_attempts").sum() > 0


def two_resource_model(*, failure: float = 0.0, detection: float = 0.0) -> tokensim.Architecture:
    """A proxy log on the path to api_a only; api_b is reached directly. JWT revocation: no revocation
    ever shortens a captured token, so counts depend on the tokens' lives alone."""
    return tokensim.Architecture.from_dict(
        {
            "name": "two-audiences",
            "nodes": {
                "app": {"kind": "client", "platform": "workload", "instances": 100, "request_rate": "120/h"},
                "edge": {
                    "kind": "proxy",
                    "logs_tokens": True,
                    "log_retention": "1d",
                    "leaks": [{"vector": "log", "rate": "12/year"}],
                },
                "api_a": {"kind": "resource", "privileged_fraction": 0.0},
                "api_b": {"kind": "resource", "privileged_fraction": 0.0},
                "idp": {"kind": "issuer", "revocation": "jwt"},
            },
            "edges": [["app", "edge"], ["edge", "api_a"], ["app", "api_b"]],
            "attacker": {"replay_delay": "5m", "replay_rate": "30/h"},
            "defender": {
                "detection_probability": detection,
                "failure_detection": failure,
                "response_time": "1h",
            },
        }
    )


def test_a_token_for_another_audience_is_detected_with_failure_detection():
    """audience per_resource: the log holds api_a's token only; the thief aims half its attempts at api_b,
    each an audience failure while the token lives, at the same rate and for the same time as its successes
    at api_a. With q = 0 and failure_detection f, E[detections] = f E[unauthorized]; under broad audience
    the token works at both and nothing is detected. Closed form (scope family) and processes (scope client)."""
    f = 0.3
    arch = two_resource_model(failure=f)
    scoped = tokensim.preset("bearer", access_ttl="1h", audience="per_resource")
    results = {}
    for closed, scope in ((True, "family"), (False, "client")):
        pol = scoped.model_copy(update={"revocation_scope": scope})
        sims = runs(arch, pol, closed=closed, reps=40, horizon=90 * 24.0)
        det, hits = field(sims, "detections"), field(sims, "unauthorized_requests")
        assert hits.sum() > 500
        within(det - f * hits, 0.0)
        results[closed] = det
    a, b = results[True], results[False]
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert abs(a.mean() - b.mean()) < 4 * se
    broad = runs(arch, tokensim.preset("bearer", access_ttl="1h"), closed=True, reps=5, horizon=90 * 24.0)
    assert field(broad, "detections").sum() == 0 and field(broad, "unauthorized_requests").sum() > 0


def proxy_dump_model(*, q: float, response: str, n: int = 40, rate: str = "20/year") -> tokensim.Architecture:
    """n sessions through a logging proxy with long-lived bearer tokens (a 60-day lifetime, introspection)."""
    return tokensim.Architecture.from_dict(
        {
            "name": "proxy-dump",
            "nodes": {
                "app": {"kind": "client", "platform": "workload", "instances": n, "request_rate": "120/h"},
                "edge": {
                    "kind": "proxy",
                    "logs_tokens": True,
                    "log_retention": "60d",
                    "leaks": [{"vector": "log", "rate": rate}],
                },
                "api": {"kind": "resource", "privileged_fraction": 0.0},
                "idp": {"kind": "issuer", "revocation": "introspection"},
            },
            "edges": [["app", "edge"], ["edge", "api"]],
            "attacker": {"replay_delay": "5m", "replay_rate": "30/h"},
            "defender": {"detection_probability": q, "response_time": response},
        }
    )


def test_one_detection_in_a_proxy_log_dump_revokes_the_whole_dump():
    """revocation_scope leak, N families of one dump, each usable far longer than the detection takes,
    success rate rho each, detection probability q, fixed response T, introspection. The first detection
    among N is the minimum of N Exp(rho q): Exp(N rho q); every family stops T later, so a leak's
    unauthorized requests are rho N (1/(N rho q) + T) = 1/q + rho N T in expectation. Scope family:
    each family on its own, N (1/q + rho T). Totals over a run: leaks/q + rho T credentials_exposed
    (one token per family). Closed form, closed form in tiny chunks, processes."""
    q, rho, t = 0.05, 30.0, 2 / 60
    arch = proxy_dump_model(q=q, response="2m")
    horizon = 20 * 24.0
    leak = tokensim.preset("bearer", access_ttl="60d", revocation_scope="leak")
    variants = {
        "closed": runs(arch, leak, closed=True, reps=40, horizon=horizon),
        "chunked": runs(arch, leak, closed=True, reps=40, horizon=horizon, chunk_cells=4),
        "process": runs(arch, leak, closed=False, reps=40, horizon=horizon),
    }
    for name, sims in variants.items():
        hits = field(sims, "unauthorized_requests")
        expected = field(sims, "leaks") / q + rho * t * field(sims, "credentials_exposed")
        assert field(sims, "leaks").sum() > 20, name
        within(hits - expected, 0.0)
        # every dump is revoked, and each of its sessions re-authenticates once
        assert sum(s.tally.revoked_sessions for s in sims) == field(sims, "credentials_exposed").sum(), name
    family = runs(arch, tokensim.preset("bearer", access_ttl="60d"), closed=True, reps=20, horizon=horizon)
    per_family = field(family, "credentials_exposed") * (1 / q + rho * t)
    within(field(family, "unauthorized_requests") - per_family, 0.0)


def test_scope_all_revokes_the_families_of_other_leaks_that_exist_by_then_and_no_later_one():
    """revocation_scope all: a response revokes every family of the run that exists at that moment (so a
    detection in one dump ends earlier dumps too); a family leaked after it is untouched by it."""
    arch = proxy_dump_model(q=0.002, response="1d", n=10, rate="150/year")
    everything = tokensim.preset("bearer", access_ttl="60d", revocation_scope="all")
    spanning = 0
    for closed in (True, False):
        for s in runs(arch, everything, closed=closed, reps=6, horizon=30 * 24.0):
            times = sorted({b.revoked_at for b in s.bundles if b.revoked_at is not None})
            for r in times:
                # everything that existed at r was revoked by r
                alive = [b for b in s.bundles if b.origin.leak_time <= r]
                assert all(b.revoked_at is not None and b.revoked_at <= r for b in alive)
                spanning += len({b.origin.leak_time for b in alive if b.revoked_at == r}) > 1
            later = [b for b in s.bundles if times and b.origin.leak_time > times[-1]]
            assert all(b.revoked_at is None for b in later)
    assert spanning > 0
    leak = runs(arch, everything.model_copy(update={"revocation_scope": "leak"}), closed=True, reps=6, horizon=720.0)
    wide = runs(arch, everything, closed=True, reps=6, horizon=720.0)
    assert field(wide, "unauthorized_requests").sum() < field(leak, "unauthorized_requests").sum()


def test_reuse_detection_revokes_at_once_at_the_issuer_and_revokes_the_scope():
    """Rotation with reuse detection on a host compromise (4 instances per host): each family with a reuse is
    revoked at the reuse itself, not after the response time (a day here), on both paths; under scope leak
    the reuse of one instance revokes the host's other families at that moment too."""
    arch = one_client_model(
        instances=40,
        leaks=[{"vector": "host_compromise", "rate": "20/year"}],
        delay="10m",
        replay_rate="20/h",
        response="1d",
        client={"holds_refresh_token": True, "key_storage": "software", "hosts": 10},
    )
    pol = tokensim.preset("bearer", access_ttl="1h", rotation=True, reuse_detection=True, reuse_grace=0)
    reused = 0
    for closed in (True, False):
        for s in runs(arch, pol, closed=closed, reps=10, horizon=60 * 24.0):
            for b in s.bundles:
                if b.loot.reuse_at is not None and b.loot.reuse_at < s.horizon:
                    assert b.revoked_at == b.loot.reuse_at
                    reused += 1
        for s in runs(
            arch, pol.model_copy(update={"revocation_scope": "leak"}), closed=closed, reps=10, horizon=1440.0
        ):
            by_leak: dict[float, list] = {}
            for b in s.bundles:
                by_leak.setdefault(b.origin.leak_time, []).append(b)
            for group in by_leak.values():
                first = min((b.loot.reuse_at for b in group if b.loot.reuse_at is not None), default=None)
                if first is not None and first < s.horizon:
                    assert all(b.revoked_at is not None and b.revoked_at <= first for b in group)
    assert reused > 20
