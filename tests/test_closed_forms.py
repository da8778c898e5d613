"""The engine against closed forms (MODEL.md section 11 and our own derivations, docs/model.md)."""

from __future__ import annotations

import numpy as np
from conftest import one_client_model
from scipy import stats

import tokensim

HOURS_PER_YEAR = 8760.0


def ci99(values) -> tuple[float, float]:
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.995, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return x.mean() - half, x.mean() + half


def test_bearer_access_token_log_leak_matches_closed_form():
    """N * lambda * H * rho * (a - d)^2 / (2a) unauthorized requests (MODEL.md section 11)."""
    n, lam, horizon, rho, a, d = 500, 4.0, 60 * 24.0, 30.0, 1.0, 0.25
    arch = one_client_model(
        instances=n, leaks=[{"vector": "log", "rate": f"{lam}/year"}], delay=f"{d}h", replay_rate=f"{rho}/h"
    )
    frame = tokensim.replicate(arch, ["bearer"], replications=120, seed=11, horizon=horizon, costs=None)
    expected = n * lam / HOURS_PER_YEAR * horizon * rho * (a - d) ** 2 / (2 * a)
    low, high = ci99(frame["unauthorized_requests"])
    assert low <= expected <= high, (expected, low, high)
    # the leak count itself is Poisson with mean N * lambda * H
    low, high = ci99(frame["leaks"])
    assert low <= n * lam / HOURS_PER_YEAR * horizon <= high


def test_dpop_with_unexported_keys_gives_zero_for_the_same_leaks():
    arch = one_client_model(
        instances=500, leaks=[{"vector": "log", "rate": "4/year"}], client={"key_storage": "hardware"}
    )
    frame = tokensim.replicate(arch, ["bearer", "dpop", "mtls"], replications=20, seed=5, horizon="60d")
    by = frame.groupby("policy")["unauthorized_requests"].sum()
    assert by["bearer"] > 0
    assert by["dpop"] == 0 and by["mtls"] == 0
    assert (frame.groupby("replication")["leaks"].nunique() == 1).all()


def test_stolen_refresh_token_lives_to_the_end_of_its_grant():
    """No rotation, bearer: the thief mints until the grant's absolute expiry R.

    The grant's remaining life at the leak is uniform on (0, R), so each leak yields
    rho * (R - d)^2 / (2R) unauthorized requests in expectation.
    """
    lam, horizon, rho, d, refresh = 20.0, 120 * 24.0, 10.0, 0.5, 24.0
    arch = one_client_model(
        instances=100,
        leaks=[{"vector": "malware", "rate": f"{lam}/year", "dwell": "1ms"}],  # leaves at once: no harvest
        delay=f"{d}h",
        replay_rate=f"{rho}/h",
        client={"holds_refresh_token": True, "key_storage": "software"},
    )
    pol = tokensim.preset("bearer", access_ttl="5m", refresh_ttl="1d")
    frame = tokensim.replicate(arch, [pol], replications=80, seed=21, horizon=horizon)
    per_leak = rho * (refresh - d) ** 2 / (2 * refresh)
    expected = 100 * lam / HOURS_PER_YEAR * horizon * per_leak
    low, high = ci99(frame["unauthorized_requests"])
    assert low <= expected <= high, (expected, low, high)


def test_rotation_with_reuse_detection_cuts_the_thief_at_the_next_legitimate_refresh():
    """Rotation, reuse detection, zero grace, introspection, delay d < a.

    If the thief refreshes first (remaining life of the current access token > d),
    the client's next routine refresh presents a rotated token: reuse, revocation.
    Otherwise the thief's refresh is the reuse. Either way every theft ends in one
    reuse detection, and the thief's window is (remaining - d)^+, whose mean is
    (a - d)^2 / (2a): the access-token closed form again.
    """
    lam, horizon, rho, d, a = 20.0, 120 * 24.0, 30.0, 0.25, 1.0
    arch = one_client_model(
        instances=100,
        leaks=[{"vector": "malware", "rate": f"{lam}/year", "dwell": "1ms"}],  # leaves at once: no harvest
        delay=f"{d}h",
        replay_rate=f"{rho}/h",
        client={"holds_refresh_token": True, "key_storage": "software"},
    )
    pol = tokensim.preset("bearer", access_ttl=a, refresh_ttl="30d", rotation=True, reuse_detection=True, reuse_grace=0)
    frame = tokensim.replicate(arch, [pol], replications=80, seed=8, horizon=horizon)
    late = frame["leaks"] - frame["reuse_detections"]
    assert (late >= 0).all() and late.sum() <= 2 * len(frame)  # only leaks in the last hours may end after the horizon
    expected = 100 * lam / HOURS_PER_YEAR * horizon * rho * (a - d) ** 2 / (2 * a)
    low, high = ci99(frame["unauthorized_requests"])
    assert low <= expected <= high, (expected, low, high)
    # without rotation the same thefts run for the grant's remaining life: far more
    no_rotation = tokensim.replicate(
        arch, [tokensim.preset("bearer", access_ttl=a, refresh_ttl="30d")], replications=10, seed=8, horizon=horizon
    )
    assert no_rotation["unauthorized_requests"].mean() > 20 * expected


def test_detection_ends_exposure_after_the_response_time():
    """Bearer refresh-token theft with detection: mean exposure per theft ~ d + 1/(rho q) + response, capped by the grant."""
    arch = one_client_model(
        instances=100,
        leaks=[{"vector": "malware", "rate": "20/year"}],
        delay="30m",
        replay_rate="10/h",
        detection=0.05,
        response="2h",
        client={"holds_refresh_token": True, "key_storage": "software"},
    )
    pol = tokensim.preset("bearer", access_ttl="5m", refresh_ttl="365d")
    frame = tokensim.replicate(arch, [pol], replications=40, seed=2, horizon="90d")
    per_theft = frame["exposure_hours"].sum() / frame["leaks"].sum()
    expected = 0.5 + 1 / (10 * 0.05) + 2.0
    assert abs(per_theft - expected) / expected < 0.15, (per_theft, expected)
    assert (frame["detections"] >= 1).any()
