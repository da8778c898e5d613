"""A resident thief (MODEL-v2.md section 2) against expectations derived from the semantics alone.

Each model has one client instance, a resident leak of rate lambda, a fixed replay delay d, no
detection, and lifetimes chosen so that the thief's usable window after its start is a whole number
of mint periods: each leak then yields exactly rho x window unauthorized requests in expectation.
A resident family always runs as a process (a response evicts the thief: `Bundle.evict`), so
there is one engine path to check. Leaks in the last hours of the horizon are cut short, a bias
under 0.1% here.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import one_client_model
from test_closed_forms import ci99

import tokensim
from tokensim.model.policy import resolve_policy
from tokensim.sim.activity import Activity, draw_window
from tokensim.sim.engine import Simulation

LAM, HORIZON, RHO, D, DELAY = 40.0, 365 * 24.0, 30.0, 3.0, 1.0  # per year; hours; per hour; hours; hours


def resident_model(*, vector: str = "malware", client: dict | None = None, attacker: dict | None = None):
    arch = one_client_model(
        instances=1,
        leaks=[{"vector": vector, "rate": f"{LAM}/year", "dwell": f"{D}h"}],
        delay=f"{DELAY}h",
        replay_rate=f"{RHO}/h",
        client={"platform": "mobile", **(client or {})},
    )
    if attacker:
        spec = arch.spec.model_dump()
        spec["attacker"].update(attacker)
        arch = tokensim.Architecture.from_dict(spec)
    return arch


def per_leak(arch, policy, *, replications: int = 30, seed: int = 3):
    """Unauthorized requests per leak over ``replications`` runs, with a 99% interval (scaled the same way)."""
    pol = resolve_policy(policy)
    runs = []
    for rep in range(replications):
        sim = Simulation(arch, pol, seed=seed, replication=rep, horizon=HORIZON, closed_form_families=False)
        sim.run()
        runs.append(sim.outcome_fields())
    unauthorized = [r["unauthorized_requests"] for r in runs]
    leaks = sum(r["leaks"] for r in runs)
    low, high = ci99(unauthorized)
    return sum(unauthorized) / leaks, low * replications / leaks, high * replications / leaks


def assert_per_leak(expected: float, observed: tuple[float, float, float]) -> None:
    _mean, low, high = observed
    slack = 0.002 * expected  # the horizon's edge
    assert low - slack <= expected <= high + slack, (expected, observed)


def test_harvest_holds_the_token_current_when_the_thief_leaves():
    """Bearer, no refresh token: the thief replays from t + d until the token current at t + D expires.

    That token's remaining life is uniform on (0, a): rho x (D - d + a/2) per leak. Version 1 took
    only the token stored at t, usable (a/2 - d)^+ on average: nothing for d > a.
    """
    a = 0.5
    arch = resident_model(client={"key_storage": "none", "supports": ["bearer"]})
    observed = per_leak(arch, tokensim.preset("bearer", access_ttl=f"{a}h"))
    assert_per_leak(RHO * (D - DELAY + a / 2), observed)


def test_harvest_with_rotation_and_reuse_detection_ends_at_the_clients_next_refresh():
    """Bearer, refresh token, rotation with reuse detection, no grace, introspection.

    The thief holds the newest refresh token until it leaves at t + D, then refreshes at once; the
    client's next refresh, when its last harvested access token expires at T = t + D + U(0, a),
    presents a rotated token: reuse detection revokes the family at T, and the resource sees it at
    once. rho x (D - d + a/2) per leak, every leak ending in one reuse detection.
    """
    a = 0.5
    arch = resident_model(client={"key_storage": "software", "holds_refresh_token": True})
    pol = tokensim.preset(
        "bearer", access_ttl=f"{a}h", refresh_ttl="30d", rotation=True, reuse_detection=True, reuse_grace=0
    )
    frame = tokensim.replicate(arch, [pol], replications=30, seed=4, horizon=HORIZON)
    assert (frame["reuse_detections"] <= frame["leaks"]).all()
    assert frame["reuse_detections"].sum() >= frame["leaks"].sum() - 2 * len(frame)  # all but the horizon's edge
    observed = per_leak(arch, pol, seed=4)
    assert_per_leak(RHO * (D - DELAY + a / 2), observed)


def test_harvest_without_rotation_keeps_the_grant_current_at_the_dwells_end():
    """Bearer, refresh token, no rotation: the thief mints until the grant current at t + D ends.

    Its remaining life r is uniform on (0, R); with R and D - d whole multiples of the access
    lifetime a the window is d' + ceil(r / a) a with d' = D - d, whose mean is d' + a (m + 1) / 2,
    m = R / a.
    """
    a, refresh = 0.5, 2.0
    arch = resident_model(client={"key_storage": "software", "holds_refresh_token": True})
    pol = tokensim.preset("bearer", access_ttl=f"{a}h", refresh_ttl=f"{refresh}h")
    m = refresh / a
    assert_per_leak(RHO * (D - DELAY + a * (m + 1) / 2), per_leak(arch, pol))


@pytest.mark.parametrize("mechanism", ["bearer", "dpop"])
def test_a_fresh_grant_with_the_thiefs_own_key_outlives_the_dwell_under_dpop_as_under_bearer(mechanism):
    """`silent_grant`: the thief's own grant (from t, for R) mints from t + d to t + R: rho x (R - d).

    The binding does not stop it: the grant is bound to the thief's own key.
    """
    refresh = 12.0
    arch = resident_model(
        client={"key_storage": "hardware", "holds_refresh_token": True, "silent_grant": True},
    )
    pol = tokensim.preset(mechanism, access_ttl="30m", refresh_ttl=f"{refresh}h", rotation=True, reuse_detection=True)
    assert_per_leak(RHO * (refresh - DELAY), per_leak(arch, pol, replications=20))


def test_without_silent_grant_dpop_confines_an_oracle_thief_to_the_dwell_and_presigned_proofs():
    """Hardware key, DPoP, no fresh grant, no refresh token, access lifetime a = 8 h, no nonce.

    The thief signs with the oracle until t + D and pre-signs proofs for the token it holds then,
    which lives to T = t + D + U(0, a): rho x (D - d + a/2). With a server nonce, pre-signed proofs
    fail: rho x (D - d). With a pre-signing horizon h: rho x (D - d + h - h^2 / (2a)).
    """
    a, h = 8.0, 2.0
    arch = resident_model(client={"key_storage": "hardware"})
    assert_per_leak(RHO * (D - DELAY + a / 2), per_leak(arch, tokensim.preset("dpop", access_ttl=f"{a}h")))
    assert_per_leak(RHO * (D - DELAY), per_leak(arch, tokensim.preset("dpop", access_ttl=f"{a}h", nonce=True)))
    limited = resident_model(client={"key_storage": "hardware"}, attacker={"presign_horizon": f"{h}h"})
    expected = RHO * (D - DELAY + h - h * h / (2 * a))
    assert_per_leak(expected, per_leak(limited, tokensim.preset("dpop", access_ttl=f"{a}h")))


def test_a_backend_for_frontend_leaves_only_the_session_ridden_while_present():
    """`token_handler: bff`: no token reaches the browser; the script rides the session from t to t + D.

    rho x D per leak whatever the binding, and nothing after the dwell, even with a silent grant.
    """
    arch = resident_model(
        vector="xss",
        client={
            "platform": "browser",
            "token_handler": "bff",
            "silent_grant": True,
            "holds_refresh_token": True,
            "key_storage": "non_extractable",
        },
    )
    for mechanism in ("bearer", "dpop"):
        assert_per_leak(RHO * D, per_leak(arch, tokensim.preset(mechanism, access_ttl="8h"), replications=20))


def test_activity_spells_have_the_stated_share_of_active_time():
    """Alternating exponential spells: the expected active time in [t0, t1] is fraction x (t1 - t0)."""
    act = Activity(0.25, 2.0)
    rng = np.random.default_rng(0)
    totals = [sum(b - a for a, b in draw_window(act, 0.0, 10.0, rng).spells) for _ in range(20000)]
    assert abs(np.mean(totals) - 2.5) < 4 * np.std(totals) / np.sqrt(len(totals))


def test_an_idle_client_gives_a_resident_thief_only_its_active_time():
    """Bearer, tokens of 36 s, no refresh token: the thief holds a valid token only while the app runs.

    Expected usable time after the start is fraction x (D - d) plus a tail under a = 0.01 h per
    spell: with fraction 0.3 and spells of 30 min, rho x 0.3 x 2 h = 18 per leak, within 3%.
    """
    arch = resident_model(
        client={"key_storage": "none", "supports": ["bearer"], "active_fraction": 0.3, "active_period": "30m"}
    )
    mean, low, high = per_leak(arch, tokensim.preset("bearer", access_ttl="36s"), replications=40)
    expected = RHO * 0.3 * (D - DELAY)
    assert expected <= high * 1.01 and low <= expected * 1.03 + 0.5, (expected, mean, low, high)


def test_activity_is_common_to_every_policy():
    """The victims' spells come from a stream of their own: what leaked is the same under every policy."""
    arch = resident_model(client={"key_storage": "software", "active_fraction": 0.5, "holds_refresh_token": True})
    frame = tokensim.replicate(arch, ["bearer", "dpop", "mtls"], replications=10, seed=9, horizon="60d")
    per_rep = frame.groupby("replication")[["leaks", "credentials_exposed"]].nunique()
    assert (per_rep == 1).all().all()


def test_the_trace_tells_the_harvest_the_fresh_grant_and_the_presigned_proofs():
    arch = resident_model(client={"key_storage": "hardware", "holds_refresh_token": True, "silent_grant": True})
    out = tokensim.simulate(arch, tokensim.preset("dpop", access_ttl="8h"), seed=1, horizon="60d", trace=True)
    exploits = out.trace[out.trace["event"] == "exploit"]
    assert len(exploits) > 0
    assert exploits["credential"].str.contains("harvested until").all()
    assert exploits["credential"].str.contains("a fresh grant with the thief's own key").all()
    assert exploits["credential"].str.contains("pre-signed DPoP proofs").all()
    replays = out.trace[out.trace["event"] == "replay"]
    assert replays["detail"].str.contains("own fresh grant").any()


def test_a_log_leak_on_a_backend_for_frontend_client_is_refused():
    with pytest.raises(tokensim.InputError, match="session cookie"):
        resident_model(vector="log", client={"platform": "browser", "token_handler": "bff"})
    with pytest.raises(tokensim.InputError, match="token_handler"):
        resident_model(client={"token_handler": "bff"})  # a mobile client


def test_a_response_evicts_a_thief_holding_a_static_key_that_never_expires():
    """A static key (no `static_ttl`) is no renewal grid: eviction keeps it as it is, and revocation ends it."""
    arch = one_client_model(
        instances=1,
        leaks=[{"vector": "malware", "rate": "40/year", "dwell": "3d"}],
        delay="1h",
        detection=1.0,
        response="1h",
        client={"credential": "static_key", "key_storage": "none", "supports": ["bearer"]},
    )
    out = tokensim.simulate(arch, "bearer", seed=2, horizon="60d")
    assert out["leaks"] > 0 and out["detections"] > 0
    # each family ends at its revocation: detected at its first replay (t + 1h + a wait of mean 2 min at
    # 30/h), revoked an hour later; without the revocation the key would be usable to the horizon
    assert 2.0 < out["time_to_containment_hours"] < 2.3


def test_a_store_of_an_idle_instance_holds_only_what_was_current_when_it_last_ran():
    """A client `log` without retention (a store) of a client running a share f of the time, spells of 1 h.

    Running (probability f): its current token. Idle: it last ran A ~ Exp(mu) ago, mu = 1 h (1 - f) / f,
    and holds the token current then, which is still valid with probability
    1 - (mu / a)(1 - exp(-a / mu)) (its remaining life was uniform on (0, a)). Per leak, tokens exposed:
    f + (1 - f) (1 - (mu / a)(1 - exp(-a / mu))). Version 1 (always running): 1.
    """
    f, a = 0.25, 1.0
    mu = 1.0 * (1 - f) / f
    arch = one_client_model(
        instances=200,
        leaks=[{"vector": "log", "rate": "20/year"}],
        client={"active_fraction": f, "active_period": "1h", "key_storage": "none", "supports": ["bearer"]},
    )
    frame = tokensim.replicate(
        arch, [tokensim.preset("bearer", access_ttl=f"{a}h")], replications=20, seed=6, horizon="180d"
    )
    per = frame["credentials_exposed"].sum() / frame["leaks"].sum()
    p = f + (1 - f) * (1 - (mu / a) * (1 - np.exp(-a / mu)))
    n = frame["leaks"].sum()
    assert abs(per - p) < 4 * np.sqrt(p * (1 - p) / n), (per, p, n)


def test_against_an_idle_client_the_thiefs_rotated_family_lasts_until_the_client_next_runs():
    """Bearer, refresh token, rotation with reuse detection, no grace, introspection, tokens of 36 s.

    The thief keeps the family through the dwell and refreshes itself when the harvest ends; an idle
    client refreshes nothing, so the rotated token is presented again (reuse detection, revocation at once)
    only when the client next runs: at the dwell's end if it is running then (probability f), else an
    idle spell's remainder later (mean mu = period (1 - f) / f). The thief mints from t + d meanwhile:
    rho x (D - d + (1 - f) mu) per leak, up to a/2 (18 s); always active (version 1's client): rho x (D - d).
    """
    f, period, a = 0.25, 1.0, 0.01
    mu = period * (1 - f) / f
    arch = resident_model(
        client={
            "key_storage": "none",
            "supports": ["bearer"],
            "holds_refresh_token": True,
            "active_fraction": f,
            "active_period": f"{period}h",
        }
    )
    pol = tokensim.preset(
        "bearer", access_ttl="36s", refresh_ttl="30d", rotation=True, reuse_detection=True, reuse_grace=0
    )
    mean, low, high = per_leak(arch, pol, replications=30, seed=12)
    expected = RHO * (D - DELAY + (1 - f) * mu)
    slack = RHO * a  # the last harvested token's tail, and the horizon's edge
    assert low - slack <= expected <= high + slack, (expected, mean, low, high)
