"""Clients of version 2 (MODEL-v2.md section 1): what a thief needs to mint tokens, against closed forms.

Every scenario has one client population calling one resource (`conftest.one_client_model`), no
detection, a fixed replay delay d and a thief replaying at rate rho. A leak at time t gives the thief
usable tokens from t + d up to t + U, where U (the offset of the last usable moment) follows from the
client's credential; the expected unauthorized requests over a horizon H are then

    Lambda * rho * E_U[ integral_0^H (min(U, H - t) - d)^+ dt ],

with Lambda the leak rate (`expected`). Each test derives U from docs/model.md and checks the engine's
mean within its 99% interval, on both engine paths (token-only families in closed form, or every
family as a SimPy process).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import one_client_model
from scipy import stats

import tokensim
from tokensim.errors import InputError
from tokensim.sim.engine import Simulation

HOURS_PER_YEAR = 8760.0
BOTH_PATHS = pytest.mark.parametrize("closed_form", [True, False], ids=["closed_form", "processes"])


def expected(rate_per_hour: float, rho: float, horizon: float, delay: float, ends: np.ndarray) -> float:
    """Lambda * rho * E_U[ integral_0^H (min(U, H - t) - d)^+ dt ] over a sample (or quantiles) of U."""
    u = np.asarray(ends, dtype=float)
    h, d = horizon, delay
    m = np.minimum(u, h)  # where U >= H the second branch is not used: compute it on the clipped U
    per = np.where(u >= h, (h - d) ** 2 / 2, (m - d) ** 2 / 2 + (h - m) * (m - d))
    per = np.where(u <= d, 0.0, per)
    return rate_per_hour * rho * float(per.mean())


def quantiles(n: int = 200_001) -> np.ndarray:
    """Midpoint quantiles of U(0, 1): exact expectations of smooth functions of a uniform, to ~1e-10."""
    return (np.arange(n) + 0.5) / n


def ci99(values) -> tuple[float, float]:
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.995, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return x.mean() - half, x.mean() + half


def unauthorized(arch, policy, *, reps: int, horizon: float, closed_form: bool, seed: int = 3) -> np.ndarray:
    out = []
    for r in range(reps):
        sim = Simulation(arch, policy, seed=seed, replication=r, horizon=horizon, closed_form_families=closed_form)
        sim.run()
        out.append(sim.outcome_fields()["unauthorized_requests"])
    return np.array(out, dtype=float)


def within(values: np.ndarray, target: float) -> None:
    low, high = ci99(values)
    assert low <= target <= high, (target, low, high)


def model(vector: str, client: dict, *, instances: int = 100, rate: float = 20.0, dwell: str | None = None, **kw):
    leak: dict = {"vector": vector, "rate": f"{rate}/year"}
    if dwell is not None:
        leak["dwell"] = dwell
    return one_client_model(instances=instances, leaks=[leak], client=client, **kw)


H, D_DELAY, RHO = 60 * 24.0, 1.0, 20.0
LAMBDA = 100 * 20.0 / HOURS_PER_YEAR  # 100 instances (each its own host), 20 leaks per year each


# -- grants: a stolen secret mints by itself only with client_credentials -----------------------------------


@BOTH_PATHS
def test_secret_of_an_authorization_code_client_mints_nothing_alone(closed_form):
    """secret_sprawl of a confidential authorization-code client with no refresh token: the secret is one half
    of a refresh, so 0 unauthorized requests; with client_credentials it mints until the horizon:
    U = infinity, Lambda rho (H - d)^2 / 2 (and under DPoP the thief binds its own key: the same)."""
    base = {"auth": "secret", "holds_refresh_token": False}
    code = model("secret_sprawl", {**base, "grants": ["authorization_code"]}, delay="1h", replay_rate=f"{RHO}/h")
    for name in ("bearer", "dpop"):
        values = unauthorized(code, tokensim.preset(name), reps=10, horizon=H, closed_form=closed_form)
        assert values.sum() == 0
    workload = model("secret_sprawl", {**base, "grants": ["client_credentials"]}, delay="1h", replay_rate=f"{RHO}/h")
    target = expected(LAMBDA, RHO, H, D_DELAY, np.array([math.inf]))
    bearer = unauthorized(workload, tokensim.preset("bearer"), reps=20, horizon=H, closed_form=closed_form)
    within(bearer, target)
    dpop = unauthorized(workload, tokensim.preset("dpop"), reps=20, horizon=H, closed_form=closed_form)
    assert np.array_equal(bearer, dpop)


def test_grant_defaults_keep_version_1_meaning():
    """confidential without refresh tokens: a workload (client_credentials); with them: a delegated integration."""
    arch = model("secret_sprawl", {"confidential": True})
    assert arch.node("app").grant_types == ("client_credentials",)
    arch = model("secret_sprawl", {"confidential": True, "holds_refresh_token": True})
    assert arch.node("app").grant_types == ("authorization_code",)
    assert model("log", {}).node("app").grant_types == ("authorization_code",)


# -- key-based client authentication: only during the dwell unless the key is exported ----------------------

DWELL, TTL = 9.5, 1.0
#: last usable moment after a dwell-long capability: the last token minted before it lives out its ttl
DWELL_END = D_DELAY + math.ceil((DWELL - D_DELAY) / TTL) * TTL


@BOTH_PATHS
def test_private_key_jwt_with_a_hardware_key_mints_only_during_the_dwell(closed_form):
    """host_compromise of a private_key_jwt client_credentials workload, key in hardware: the key is an oracle
    while the dwell lasts, so the thief mints from t + d to the dwell's end and the last token lives out its
    ttl: U = d + ceil((D - d) / a) a = 10 h for D = 9.5 h, a = 1 h, d = 1 h (under bearer and DPoP: it binds
    what it mints to its own key). Version 1 (auth: secret) minted to the horizon under DPoP as under bearer."""
    client = {"auth": "private_key_jwt", "key_storage": "hardware"}
    arch = model("host_compromise", client, dwell=f"{DWELL}h", delay="1h", replay_rate=f"{RHO}/h")
    target = expected(LAMBDA, RHO, H, D_DELAY, np.array([DWELL_END]))
    for name in ("bearer", "dpop"):
        within(unauthorized(arch, tokensim.preset(name), reps=20, horizon=H, closed_form=closed_form), target)
    secret = model("host_compromise", {"auth": "secret"}, dwell=f"{DWELL}h", delay="1h", replay_rate=f"{RHO}/h")
    unlimited = expected(LAMBDA, RHO, H, D_DELAY, np.array([math.inf]))
    within(unauthorized(secret, tokensim.preset("dpop"), reps=20, horizon=H, closed_form=closed_form), unlimited)
    assert unlimited > 50 * target


@BOTH_PATHS
def test_secret_sprawl_of_a_private_key_jwt_client(closed_form):
    """A software key file sprawls (exported: mints to the horizon); a hardware or KMS key exposes nothing."""
    soft = model("secret_sprawl", {"auth": "private_key_jwt"}, delay="1h", replay_rate=f"{RHO}/h")
    target = expected(LAMBDA, RHO, H, D_DELAY, np.array([math.inf]))
    within(unauthorized(soft, tokensim.preset("dpop"), reps=16, horizon=H, closed_form=closed_form), target)
    hard = model("secret_sprawl", {"auth": "private_key_jwt", "key_storage": "hardware"}, delay="1h")
    assert unauthorized(hard, tokensim.preset("dpop"), reps=10, horizon=H, closed_form=closed_form).sum() == 0


@BOTH_PATHS
def test_attestation_needs_the_platform_an_exported_key_alone_mints_nothing(closed_form):
    """attestation with a software key: host_compromise exports the key, yet minting stops at the dwell's end
    (U as for a hardware private_key_jwt key); secret_sprawl of the key file mints nothing at all."""
    client = {"auth": "attestation", "key_storage": "software"}
    arch = model("host_compromise", client, dwell=f"{DWELL}h", delay="1h", replay_rate=f"{RHO}/h")
    target = expected(LAMBDA, RHO, H, D_DELAY, np.array([DWELL_END]))
    within(unauthorized(arch, tokensim.preset("bearer"), reps=20, horizon=H, closed_form=closed_form), target)
    sprawl = model("secret_sprawl", client, delay="1h")
    assert unauthorized(sprawl, tokensim.preset("bearer"), reps=10, horizon=H, closed_form=closed_form).sum() == 0


@BOTH_PATHS
def test_key_lifetime_cuts_an_exported_key(closed_form):
    """secret_sprawl of a private_key_jwt software key rotated every K: the key dies at the next rotation, R ~ U(0, K)
    after the leak; minting from t + d while t + R lasts: U = d + ceil((R - d) / a) a when R > d, else nothing."""
    k, a = 12.0, 1.0
    arch = model(
        "secret_sprawl", {"auth": "private_key_jwt", "key_lifetime": f"{k}h"}, delay="1h", replay_rate=f"{RHO}/h"
    )
    r = k * quantiles()
    ends = np.where(r > D_DELAY, D_DELAY + np.ceil((r - D_DELAY) / a) * a, 0.0)
    target = expected(LAMBDA, RHO, H, D_DELAY, ends)
    within(unauthorized(arch, tokensim.preset("bearer"), reps=16, horizon=H, closed_form=closed_form), target)


# -- static keys and workload identity ----------------------------------------------------------------------


@BOTH_PATHS
def test_static_key_replays_until_its_ttl_under_every_policy(closed_form):
    """A leaked static key (API key, PAT) is a bearer token: it replays until it expires, R ~ U(0, S) after the
    leak (U = R), exactly as under bearer whatever the policy binds; and without static_ttl until the horizon."""
    s = 24.0
    arch = model(
        "secret_sprawl", {"credential": "static_key", "static_ttl": f"{s}h"}, delay="1h", replay_rate=f"{RHO}/h"
    )
    target = expected(LAMBDA, RHO, H, D_DELAY, s * quantiles())
    runs = {
        p: unauthorized(arch, tokensim.preset(p), reps=16, horizon=H, closed_form=closed_form) for p in tokensim.PRESETS
    }
    within(runs["bearer"], target)
    for p in tokensim.PRESETS:
        assert np.array_equal(runs[p], runs["bearer"]), p
    forever = model("secret_sprawl", {"credential": "static_key"}, delay="1h", replay_rate=f"{RHO}/h")
    within(
        unauthorized(forever, tokensim.preset("dpop"), reps=16, horizon=H, closed_form=closed_form),
        expected(LAMBDA, RHO, H, D_DELAY, np.array([math.inf])),
    )


def test_static_key_revocation_cuts_it_alike_under_dpop_and_bearer():
    """With detection, the key dies at revocation: the same numbers under DPoP as under bearer."""
    arch = model("secret_sprawl", {"credential": "static_key"}, detection=0.01, response="2h")
    frame = tokensim.replicate(arch, ["bearer", "dpop"], replications=20, seed=4, horizon="60d")
    by = {p: g["unauthorized_requests"].to_numpy() for p, g in frame.groupby("policy")}
    assert np.array_equal(by["bearer"], by["dpop"]) and by["bearer"].sum() > 0
    assert frame["detections"].sum() > 0


@BOTH_PATHS
def test_workload_identity_mints_for_identity_ttl_after_the_dwell(closed_form):
    """host_compromise of a workload_identity client: it mints while it controls the host and for identity_ttl I
    after: U = d + ceil((D + I - d) / a) a. secret_sprawl exposes one identity token, R ~ U(0, I)."""
    i = 2.0
    client = {"credential": "workload_identity", "identity_ttl": f"{i}h"}
    arch = model("host_compromise", client, dwell=f"{DWELL}h", delay="1h", replay_rate=f"{RHO}/h")
    end = D_DELAY + math.ceil((DWELL + i - D_DELAY) / TTL) * TTL
    within(
        unauthorized(arch, tokensim.preset("dpop"), reps=20, horizon=H, closed_form=closed_form),
        expected(LAMBDA, RHO, H, D_DELAY, np.array([end])),
    )
    sprawl = model("secret_sprawl", client, delay="15m", replay_rate=f"{RHO}/h")
    r = i * quantiles()
    ends = np.where(r > 0.25, 0.25 + np.ceil((r - 0.25) / TTL) * TTL, 0.0)
    within(
        unauthorized(sprawl, tokensim.preset("bearer"), reps=16, horizon=H, closed_form=closed_form),
        expected(LAMBDA, RHO, H, 0.25, ends),
    )


def test_identity_ttl_defaults_by_platform():
    """Kubernetes projected service-account tokens default to 1 h; GitHub Actions OIDC tokens last 5 minutes."""
    assert model("secret_sprawl", {"credential": "workload_identity"}).node("app").identity_lifetime == 1.0
    ci = one_client_model(leaks=[], client={"platform": "ci", "credential": "workload_identity"})
    assert ci.node("app").identity_lifetime == pytest.approx(5 / 60)


# -- refresh tokens: refresh_binding, refresh_idle_ttl -----------------------------------------------------

GRANT = 24.0  # refresh_ttl: the stolen grant's remaining life is U(0, 24 h)


@BOTH_PATHS
def test_refresh_binding_dpop_under_hybrid_makes_a_stolen_refresh_token_useless_without_the_key(closed_form):
    """A public workload with a hardware key and a refresh token, every request privileged; secret_sprawl takes
    the refresh token alone. hybrid (auto: the grant is bearer) lets the thief mint privileged DPoP tokens for its
    own key until the grant ends, U = G ~ U(0, R) rounded up to the minted token's expiry; with refresh_binding
    dpop the refresh token is DPoP-bound and nothing is minted."""
    client = {"holds_refresh_token": True, "key_storage": "hardware"}
    arch = model("secret_sprawl", client, delay="1h", replay_rate=f"{RHO}/h", resource={"privileged_fraction": 1.0})
    hybrid = tokensim.preset("hybrid", refresh_ttl=f"{GRANT}h")
    g = GRANT * quantiles()
    ends = np.where(g > D_DELAY, D_DELAY + np.ceil((g - D_DELAY) / TTL) * TTL, 0.0)
    within(
        unauthorized(arch, hybrid, reps=16, horizon=H, closed_form=closed_form),
        expected(LAMBDA, RHO, H, D_DELAY, ends),
    )
    bound = hybrid.with_overrides({"refresh_binding": "dpop"})
    assert unauthorized(arch, bound, reps=10, horizon=H, closed_form=closed_form).sum() == 0
    # a client that cannot do mTLS: refresh_binding mtls falls back to an unbound refresh token
    fallback = hybrid.with_overrides({"refresh_binding": "mtls"})
    arch_dpop_only = model(
        "secret_sprawl",
        {**client, "supports": ["bearer", "dpop"]},
        delay="1h",
        replay_rate=f"{RHO}/h",
        resource={"privileged_fraction": 1.0},
    )
    assert np.array_equal(
        unauthorized(arch_dpop_only, fallback, reps=10, horizon=H, closed_form=closed_form),
        unauthorized(arch_dpop_only, hybrid, reps=10, horizon=H, closed_form=closed_form),
    )


def test_refresh_binding_that_fails_issues_no_refresh_token():
    arch = model("secret_sprawl", {"holds_refresh_token": True, "supports": ["bearer"]})
    sim = Simulation(
        arch,
        tokensim.preset("bearer", refresh_binding="dpop", on_unsupported="fail"),
        seed=1,
        replication=0,
        horizon=10.0,
    )
    assert not sim.plan.clients["app"].rules.refresh_token
    sim = Simulation(arch, tokensim.preset("bearer", refresh_binding="dpop"), seed=1, replication=0, horizon=10.0)
    assert sim.plan.clients["app"].rules.refresh_token and not sim.plan.clients["app"].rules.rt_needs_key


@BOTH_PATHS
def test_refresh_idle_ttl_shorter_than_access_ttl_kills_a_stolen_family(closed_form):
    """Sliding expiry: the client's last refresh before the leak was at L0 (t - a < L0 <= t); with an idle limit
    of 30 min under a 1 h access ttl the family dies at L0 + 30 min, before the thief's first refresh at
    t + 1 h: nothing. An idle limit of 2 h (longer than the client's refresh period) changes nothing."""
    client = {"holds_refresh_token": True}
    arch = model("secret_sprawl", client, delay="1h", replay_rate=f"{RHO}/h")
    base = tokensim.preset("bearer", refresh_ttl=f"{GRANT}h")
    short = base.with_overrides({"refresh_idle_ttl": "30m"})
    assert unauthorized(arch, short, reps=10, horizon=H, closed_form=closed_form).sum() == 0
    full = unauthorized(arch, base, reps=10, horizon=H, closed_form=closed_form)
    assert full.sum() > 0
    longer = base.with_overrides({"refresh_idle_ttl": "2h"})
    assert np.array_equal(unauthorized(arch, longer, reps=10, horizon=H, closed_form=closed_form), full)


def test_idle_expiry_walks_both_schedules():
    from tokensim.sim.lifecycle import idle_expiry

    inf = math.inf
    common = {"legit_until": inf, "period": 1.0, "end": 2000.0}
    # the client alone refreshes every hour: an idle limit below that kills the family after its last refresh
    assert idle_expiry(legit_last=0.2, thief_first=5.0, thief_last=inf, idle=0.5, **common) == pytest.approx(0.7)
    # gaps 0.3 and 0.7 h between the two parties' refreshes: a 0.6 h limit ends it after the thief's first one
    assert idle_expiry(legit_last=0.2, thief_first=0.5, thief_last=inf, idle=0.6, **common) == pytest.approx(1.1)
    # the client leaves at 50.2 h (its last refresh 49.2 h); the thief refreshes to 99.5 h, dies 2 h later
    left = {**common, "legit_until": 50.2}
    assert idle_expiry(legit_last=0.2, thief_first=0.5, thief_last=100.3, idle=2.0, **left) == pytest.approx(101.5)
    assert idle_expiry(legit_last=0.2, thief_first=0.5, thief_last=100.3, idle=2.0, **common) == inf


# -- policy overrides --------------------------------------------------------------------------------------


def two_clients(**policy_kw):
    """Two identical bearer workloads; only `a` leaks (its own log), `b` is its twin on the mobile platform."""
    spec = {"kind": "client", "platform": "workload", "instances": 200, "supports": ["bearer", "dpop"]}
    return tokensim.Architecture.from_dict(
        {
            "name": "twins",
            "nodes": {
                "a": {**spec, "leaks": [{"vector": "log", "rate": "20/year"}]},
                "b": {**spec, "platform": "mobile"},
                "api": {"kind": "resource", "privileged_fraction": 0.0},
                "idp": {"kind": "issuer", "revocation": "introspection"},
            },
            "edges": [["a", "api"], ["b", "api"]],
            "attacker": {"replay_delay": "15m", "replay_rate": "30/h"},
            "defender": {"detection_probability": 0.0},
        }
    )


@BOTH_PATHS
def test_overrides_change_only_the_named_client(closed_form):
    """An access_ttl for b changes nothing (only a leaks); for a it gives a's log leaks the closed form
    N lambda H rho (a' - d)^2 / (2 a') of the overridden lifetime a' = 4 h; name wins over platform."""
    arch = two_clients()
    base = tokensim.preset("bearer")
    plain = unauthorized(arch, base, reps=16, horizon=H, closed_form=closed_form)
    other = base.with_overrides({"overrides": {"b": {"access_ttl": "4h"}}})
    assert np.array_equal(unauthorized(arch, other, reps=16, horizon=H, closed_form=closed_form), plain)
    mine = base.with_overrides({"overrides": {"a": {"access_ttl": "4h"}, "workload": {"access_ttl": "10m"}}})
    a, d = 4.0, 0.25
    target = 200 * 20 / HOURS_PER_YEAR * H * 30 * (a - d) ** 2 / (2 * a)
    within(unauthorized(arch, mine, reps=16, horizon=H, closed_form=closed_form), target)
    sim = Simulation(arch, mine, seed=0, replication=0, horizon=1.0)
    assert sim.plan.clients["a"].ttl["low_risk"] == 4.0 and sim.plan.clients["b"].ttl["low_risk"] == 1.0


def test_overrides_reach_route_analysis_and_cost():
    arch = two_clients()
    pol = tokensim.preset("bearer", overrides={"mobile": {"low_risk": "dpop", "privileged": "dpop"}})
    table = tokensim.route_table(arch, pol)
    assert set(table[table.client == "b"].mechanism) == {"dpop"}
    assert set(table[table.client == "a"].mechanism) == {"bearer"}
    plain = tokensim.route_table(arch, tokensim.preset("bearer"))  # the memo keeps them apart
    assert set(plain.mechanism) == {"bearer"}
    row = tokensim.simulate(arch, pol, seed=0, horizon="1d")
    bare = tokensim.simulate(arch, "bearer", seed=0, horizon="1d")
    assert row["latency_overhead_ms"] > 0 == bare["latency_overhead_ms"]
    assert row["engineering_cost"] > bare["engineering_cost"]


def test_overrides_are_one_flat_column_and_survive_a_round_trip():
    pol = tokensim.preset("dpop", overrides={"legacy_batch": {"access_ttl": "8h"}, "mobile": {"low_risk": "dpop"}})
    params = pol.parameters()
    assert all(v is None or isinstance(v, (str, int, float, bool)) for v in params.values())
    assert params["overrides"] == '{"legacy_batch":{"access_ttl":8.0},"mobile":{"low_risk":["dpop"]}}'
    again = tokensim.Policy.model_validate({k: v for k, v in params.items()})
    assert again == pol
    assert pol.for_client("legacy_batch", "mobile").access_ttl == 8.0
    assert pol.for_client("legacy_batch", "mobile").low_risk == ("dpop",)
    assert pol.for_client("other", "workload") == pol.model_copy(update={"overrides": {}})


def test_bad_overrides_name_the_file_and_field():
    with pytest.raises(InputError) as err:
        tokensim.preset("dpop", overrides={"batch": {"acess_ttl": "8h"}})
    assert "overrides" in str(err.value) and "batch.acess_ttl" in str(err.value)
    with pytest.raises(InputError) as err:
        tokensim.preset("dpop", overrides={"batch": {"access_ttl": "-8h"}})
    assert "batch.access_ttl" in str(err.value)
    with pytest.raises(InputError) as err:
        tokensim.route_table(two_clients(), tokensim.preset("dpop", overrides={"nobody": {"access_ttl": "8h"}}))
    assert "overrides.nobody" in str(err.value) and "policy dpop" in str(err.value)


def test_policy_file_overrides_need_units(tmp_path):
    path = tmp_path / "legacy.yaml"
    path.write_text("base: bearer\noverrides:\n  a: {access_ttl: 8}\n")
    with pytest.raises(InputError) as err:
        tokensim.load_policy(path)
    assert "legacy.yaml" in str(err.value) and "a.access_ttl" in str(err.value)
    path.write_text("base: bearer\nrefresh_binding: dpop\nrefresh_idle_ttl: 1d\noverrides:\n  a: {access_ttl: 8h}\n")
    pol = tokensim.load_policy(path)
    assert pol.overrides == {"a": {"access_ttl": 8.0}} and pol.refresh_idle_ttl == 24.0


# -- loading ----------------------------------------------------------------------------------------------


def test_confidential_true_is_auth_secret():
    kw = {"delay": "1h", "replay_rate": f"{RHO}/h"}
    old = model("host_compromise", {"confidential": True, "holds_refresh_token": True}, **kw)
    new = model("host_compromise", {"auth": "secret", "holds_refresh_token": True}, **kw)
    both = model("host_compromise", {"confidential": True, "auth": "secret", "holds_refresh_token": True}, **kw)
    policies = ["bearer", "dpop", "mtls"]
    frames = [tokensim.replicate(m, policies, replications=4, seed=9, horizon="30d") for m in (old, new, both)]
    assert frames[0]["unauthorized_requests"].sum() > 0
    outcome = [c for c in frames[0].columns if c != "config_hash"]  # the hash covers the file's own spelling
    for f in frames[1:]:
        assert f[outcome].equals(frames[0][outcome])


@pytest.mark.parametrize(
    ("client", "field", "words"),
    [
        ({"confidential": True, "auth": "none"}, "nodes.app.confidential", "contradicts auth: none"),
        ({"grants": ["client_credentials"]}, "nodes.app.grants", "RFC 6749 section 4.4"),
        ({"grants": []}, "nodes.app.grants", "at least one grant"),
        ({"auth": "private_key_jwt", "key_storage": "none"}, "nodes.app.auth", "key_storage is 'none'"),
        ({"static_ttl": "30d"}, "nodes.app.static_ttl", "static_key"),
        ({"identity_ttl": "1h"}, "nodes.app.identity_ttl", "workload_identity"),
        ({"credential": "static_key", "holds_refresh_token": True}, "nodes.app.holds_refresh_token", "never renewed"),
        ({"credential": "workload_identity", "auth": "secret"}, "nodes.app.auth", "identity token"),
        ({"auth": "password"}, "nodes.app.auth", "private_key_jwt"),
        ({"grants": ["implicit"]}, "nodes.app.grants", "token_exchange"),
    ],
)
def test_bad_client_fields_name_the_field(client, field, words):
    with pytest.raises(InputError) as err:
        model("secret_sprawl", client)
    assert field in str(err.value) and words in str(err.value), str(err.value)


def test_a_dumped_model_with_auth_loads_again():
    """A sweep variant is the model dumped with every default written out (`confidential: false` beside
    `auth`): it loads, and `auth` decides."""
    arch = model("secret_sprawl", {"auth": "secret", "grants": ["client_credentials"]})
    again = tokensim.Architecture.from_dict(arch.spec.model_dump())
    assert again.node("app").authentication == "secret"
