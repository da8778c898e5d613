"""The built-in models use the version-2 fields where reality calls for them, and each choice has its effect.

Each test reads a built-in model (models/*.yaml, models/incidents/*.yaml), checks that the field is set as
the model file says (with its source in the file's comments), and shows its effect on a what-if of the same
file: other leaks switched off, detection off, a fixed replay delay, so that the expected count of
unauthorized requests follows from docs/model.md in closed form where one exists (checked within its 99%
interval on both engine paths), or as a paired comparison of the field against its version-1 default.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats

import tokensim
from tokensim.builtin import builtin_models
from tokensim.sim.engine import Simulation

HOURS_PER_YEAR = 8760.0
BOTH_PATHS = pytest.mark.parametrize("closed_form", [True, False], ids=["closed_form", "processes"])


def builtin(name: str, *, defender: dict[str, Any] | None = None, **nodes: dict[str, Any]) -> tokensim.Architecture:
    """A built-in model with some node fields (and defender fields) replaced: the what-if."""
    data = yaml.safe_load(builtin_models()[name].read_text(encoding="utf-8"))
    for node, fields in nodes.items():
        data["nodes"][node].update(fields)
    data["defender"].update(defender or {})
    return tokensim.Architecture.from_dict(data, source=f"{name} (what-if)")


def runs(arch, policy, *, reps: int, horizon: float, closed_form: bool = True, seed: int = 5) -> list[dict[str, Any]]:
    """The outcome fields of ``reps`` replications on the chosen engine path."""
    pol = tokensim.preset(policy) if isinstance(policy, str) else policy
    out = []
    for r in range(reps):
        sim = Simulation(arch, pol, seed=seed, replication=r, horizon=horizon, closed_form_families=closed_form)
        sim.run()
        out.append(sim.outcome_fields())
    return out


def total(rows: list[dict[str, Any]], field: str = "unauthorized_requests") -> np.ndarray:
    return np.array([row[field] for row in rows], dtype=float)


def within99(values: np.ndarray, target: float) -> None:
    half = stats.t.ppf(0.995, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    assert values.mean() - half <= target <= values.mean() + half, (target, values.mean(), half)


def expected(rate_per_hour: float, rho: float, horizon: float, delay: float, ends: np.ndarray) -> float:
    """Lambda * rho * E_U[ integral_0^H (min(U, H - t) - d)^+ dt ]: a leak at t is usable from t + d to t + U."""
    u = np.asarray(ends, dtype=float)
    h, d = horizon, delay
    m = np.minimum(u, h)
    per = np.where(u >= h, (h - d) ** 2 / 2, (m - d) ** 2 / 2 + (h - m) * (m - d))
    return rate_per_hour * rho * float(np.where(u <= d, 0.0, per).mean())


def midpoints(n: int = 100_001) -> np.ndarray:
    """Midpoint quantiles of U(0, 1): exact expectations of smooth functions of a uniform."""
    return (np.arange(n) + 0.5) / n


def policy(base: str, label: str, **overrides: Any) -> tokensim.Policy:
    return tokensim.preset(base, **overrides).model_copy(update={"name": label})


# -- every choice is in the files --------------------------------------------------------------------------

CHOICES = [
    ("workload_direct", "kms_backend", "authentication", "private_key_jwt"),
    ("workload_direct", "kms_backend", "key_storage", "hardware"),
    ("workload_direct", "kms_backend", "grant_types", ("client_credentials",)),
    ("workload_direct", "backend", "authentication", "secret"),
    ("spa_behind_proxy", "spa", "silent_grant", True),
    ("spa_behind_proxy", "spa", "token_handler", "none"),
    ("spa_behind_proxy", "spa", "grant_types", ("authorization_code",)),
    ("mobile_gateway", "mobile_app", "active_fraction", 0.017),
    ("mobile_gateway", "mobile_app", "active_period", 0.1),
    ("mobile_gateway", "mobile_app", "silent_grant", True),
    ("ci_pipeline", "pipelines", "grant_types", ("client_credentials", "authorization_code")),
    ("ci_pipeline_oidc", "pipelines", "credential", "workload_identity"),
    ("ci_pipeline_oidc", "pipelines", "holds_refresh_token", False),
    ("ci_pipeline_oidc", "pipelines", "grant_types", ("client_credentials",)),
    ("service_mesh", "partner_service", "authentication", "tls_client_auth"),
    ("service_mesh", "partner_service", "grant_types", ("client_credentials",)),
    ("service_mesh", "ingress", "forwards_host", True),
    ("saas_broker", "integration", "authentication", "secret"),
    ("saas_broker", "integration", "grant_types", ("authorization_code",)),
    ("partner_network", "partner_app", "grant_types", ("client_credentials",)),
    ("partner_network", "federation_gateway", "forwards_host", False),
    ("incidents/salesloft_drift_2025", "drift_integration", "grant_types", ("authorization_code",)),
    ("incidents/salesloft_drift_2025", "drift_integration", "holds_refresh_token", True),
    ("incidents/heroku_travis_2022", "heroku_integration", "grant_types", ("authorization_code",)),
    ("incidents/heroku_travis_2022", "travis_integration", "grant_types", ("authorization_code",)),
    ("incidents/cloudflare_2023", "service_credentials", "grant_types", ("client_credentials",)),
    ("incidents/internet_archive_2024", "gitlab_automation", "credential", "static_key"),
    ("incidents/internet_archive_2024", "helpdesk_integration", "credential", "static_key"),
    ("incidents/storm_0558_2023", "exchange_online", "validation", "local"),
    ("incidents/storm_0558_2023", "outlook_com", "validation", "local"),
    ("incidents/circleci_2023", "engineer_browser", "token_handler", "none"),
    ("incidents/circleci_2023", "engineer_browser", "silent_grant", False),
    ("incidents/circleci_2023", "customer_secrets", "credential", "static_key"),
    ("incidents/okta_har_2023", "admin_browser", "token_handler", "none"),
]


@pytest.mark.parametrize(("model", "node", "field", "value"), CHOICES, ids=lambda v: str(v))
def test_the_version_2_choice_is_in_the_model_file(model, node, field, value):
    spec = tokensim.load_model(model).node(node)
    got = getattr(spec, field)
    assert got == pytest.approx(value) if isinstance(value, float) else got == value


def test_the_workload_identity_pipeline_is_a_listed_builtin_model():
    from typer.testing import CliRunner

    from tokensim.cli import app

    listed = CliRunner().invoke(app, ["models"])
    assert listed.exit_code == 0 and "ci_pipeline_oidc" in listed.stdout
    assert tokensim.load_model("ci_pipeline_oidc").name == "ci-pipeline-oidc"


# -- workload_direct: a KMS key for client authentication ----------------------------------------------------

KMS_SPRAWL_RATE = 20.0  # per replica per year: the what-if's rate, so that 60 days hold ~160 leaks


def kms_sprawl(**client: Any) -> tokensim.Architecture:
    """workload_direct with one leak: kms_backend's configuration sprawls, replayed 15 minutes later."""
    leak = {"vector": "secret_sprawl", "rate": f"{KMS_SPRAWL_RATE}/year", "replay_delay": "15m"}
    return builtin(
        "workload_direct",
        defender={"detection_probability": 0.0},
        backend={"leaks": []},
        kms_backend={"leaks": [leak], **client},
    )


@BOTH_PATHS
def test_workload_direct_kms_key_leaves_a_sprawled_configuration_only_its_current_access_token(closed_form):
    """private_key_jwt with a KMS key: a sprawl exposes no client credential, only the current access token.

    Bearer: its remaining life R ~ U(0, 1 h), usable from d = 15 min to R; DPoP: useless without the key (0).
    The version-1 spelling (a client secret) lets the thief mint from the secret until the horizon, DPoP as
    bearer: DPoP now differs from bearer for this fleet."""
    horizon, rho, instances = 60 * 24.0, 60.0, 50
    rate = instances * KMS_SPRAWL_RATE / HOURS_PER_YEAR
    bearer = total(runs(kms_sprawl(), "bearer", reps=40, horizon=horizon, closed_form=closed_form))
    within99(bearer, expected(rate, rho, horizon, 0.25, midpoints()))
    dpop = total(runs(kms_sprawl(), "dpop", reps=10, horizon=horizon, closed_form=closed_form))
    assert (dpop == 0).all()
    secret = kms_sprawl(auth="secret")
    with_secret = total(runs(secret, "dpop", reps=10, horizon=horizon, closed_form=closed_form))
    assert with_secret.mean() >= 100 * bearer.mean()


# -- spa_behind_proxy: a live session at the issuer ----------------------------------------------------------


def spa_ratio(arch, closed_form: bool) -> float:
    bearer = total(runs(arch, "bearer", reps=10, horizon=365 * 24.0, closed_form=closed_form), "blast_radius")
    dpop = total(runs(arch, "dpop", reps=10, horizon=365 * 24.0, closed_form=closed_form), "blast_radius")
    assert bearer.sum() > 0
    return float(bearer.mean() / max(dpop.mean(), 1e-9))


@BOTH_PATHS
def test_spa_silent_grant_takes_away_most_of_dpops_gain(closed_form):
    """With silent_grant the XSS thief takes a grant bound to its own key: DPoP cuts the blast radius far less
    than thirtyfold (measured: about 1x); with version 1's default (false) DPoP still cuts it ~20x."""
    with_grant = spa_ratio(tokensim.load_model("spa_behind_proxy"), closed_form)
    without = spa_ratio(builtin("spa_behind_proxy", spa={"silent_grant": False}), closed_form)
    assert with_grant < 2 < 10 < without


@BOTH_PATHS
@pytest.mark.parametrize("name", ["bearer", "dpop"])
def test_spa_bff_variant_lets_the_thief_ride_the_session_only_during_the_dwell(closed_form, name):
    """token_handler: bff (its log leak dropped): the script rides the session for its 2-hour dwell from the
    moment it runs, whatever the binding, and nothing outlives it: rho * dwell requests per XSS, N lambda H of
    them (1,000 sessions, 0.02/year, one year, 30/h): 20 x 60 = 1,200 requests a year."""
    xss = {"vector": "xss", "rate": "0.02/year", "dwell": "2h"}
    arch = builtin(
        "spa_behind_proxy",
        defender={"detection_probability": 0.0},
        spa={"token_handler": "bff", "leaks": [xss]},
        edge={"leaks": []},
    )
    values = total(runs(arch, name, reps=40, horizon=365 * 24.0, closed_form=closed_form))
    within99(values, 1000 * 0.02 * 30.0 * 2.0)


# -- mobile_gateway: an app that is mostly closed, and malware that runs the app's own grant ----------------

MALWARE = {"vector": "malware", "rate": "0.0033/year", "dwell": "3d"}
ROTATING = {"access_ttl": "5m", "rotation": True, "reuse_detection": True}


def mobile(leak: dict[str, Any] = MALWARE, detection: float | None = None, **client: Any) -> tokensim.Architecture:
    defender = {} if detection is None else {"detection_probability": detection}
    return builtin(
        "mobile_gateway", defender=defender, mobile_app={"leaks": [leak], **client}, api_gateway={"leaks": []}
    )


def test_mobile_short_bearer_tokens_with_rotation_no_longer_stop_malware():
    """Version 1's snapshot made 5-minute bearer tokens with rotation and reuse detection a near-zero result
    against malware; with harvest, the app's activity and the fresh grant they keep most of the blast radius."""
    frame = tokensim.replicate(mobile(), ["bearer", policy("bearer", "rotating", **ROTATING)], replications=10, seed=1)
    bearer = frame.loc[frame["policy"] == "bearer", "blast_radius"].mean()
    assert bearer > 0
    assert frame.loc[frame["policy"] == "rotating", "blast_radius"].mean() >= 0.5 * bearer  # measured: ~0.95


@BOTH_PATHS
def test_mobile_silent_grant_gives_the_malware_a_grant_that_dpop_does_not_stop(closed_form):
    """No detection: without a fresh grant a DPoP thief's use ends with the dwell (and its pre-signed proofs);
    with it the thief's own grant lives its 90 days (measured: ~11x as many requests in 60 days)."""
    with_grant = total(runs(mobile(detection=0.0), "dpop", reps=8, horizon=60 * 24.0, closed_form=closed_form))
    without = mobile(detection=0.0, silent_grant=False)
    no_grant = total(runs(without, "dpop", reps=8, horizon=60 * 24.0, closed_form=closed_form))
    assert no_grant.mean() > 0 and with_grant.mean() >= 5 * no_grant.mean()


@BOTH_PATHS
def test_mobile_activity_lets_the_thief_win_the_rotation_race_while_the_app_is_closed(closed_form):
    """A 1-hour infection, 5-minute bearer tokens with rotation, no detection: an always-active app refreshes
    within minutes of the harvest's end and its refresh hands the family back (reuse detection); an app open
    1.7% of the time is idle then (mean idle spell ~5.8 h), so the thief refreshes first and keeps the family
    until the app next runs (measured: ~27x)."""
    leak = {**MALWARE, "dwell": "1h"}
    rotating = policy("bearer", "rotating", **ROTATING)
    closed = total(
        runs(mobile(leak, 0.0, silent_grant=False), rotating, reps=8, horizon=1440.0, closed_form=closed_form)
    )
    always = mobile(leak, 0.0, silent_grant=False, active_fraction=1.0)
    open_ = total(runs(always, rotating, reps=8, horizon=1440.0, closed_form=closed_form))
    assert closed.mean() >= 5 * max(open_.mean(), 1.0)


# -- ci_pipeline_oidc: nothing long-lived to sprawl --------------------------------------------------------


def ci_sprawl(name: str) -> tokensim.Architecture:
    leak = {"vector": "secret_sprawl", "rate": "0.05/year", "replay_delay": "1m"}
    return builtin(
        name, defender={"detection_probability": 0.0}, pipelines={"leaks": [leak]}, egress_proxy={"leaks": []}
    )


@BOTH_PATHS
def test_ci_pipeline_oidc_sprawl_exposes_one_five_minute_identity_token(closed_form):
    """secret_sprawl on the workload-identity pipeline: one identity token, remaining life R ~ U(0, 5 min);
    replayed after d = 1 min, it mints one access token (1 h) if R > d: U = d + 1 h with probability 4/5.
    The classic pipeline's sprawled secret mints until the horizon (no detection): >= 100x more."""
    horizon, rho = 180 * 24.0, 30.0
    rate = 500 * 0.05 / HOURS_PER_YEAR
    r = (5 / 60) * midpoints()
    ends = np.where(r > 1 / 60, 1 / 60 + 1.0, 0.0)
    oidc = total(runs(ci_sprawl("ci_pipeline_oidc"), "bearer", reps=40, horizon=horizon, closed_form=closed_form))
    within99(oidc, expected(rate, rho, horizon, 1 / 60, ends))
    classic = total(runs(ci_sprawl("ci_pipeline"), "bearer", reps=10, horizon=horizon, closed_form=closed_form))
    assert classic.mean() >= 100 * oidc.mean()


# -- routes: forwards_host ------------------------------------------------------------------------------------


def test_partner_gateway_changes_the_host_so_dpop_breaks_there_and_mtls_survives():
    dpop = tokensim.route_table("partner_network", "dpop")
    assert (dpop["status"] == "broken").all() and (dpop["hop"] == "federation_gateway").all()
    assert dpop["reason"].str.contains("htu no longer matches").all()
    mtls = tokensim.route_table("partner_network", "mtls")
    assert (mtls.loc[mtls["resource"] == "status_api", "status"] == "bound").all()
    forwarded = tokensim.route_table(builtin("partner_network", federation_gateway={"forwards_host": True}), "dpop")
    assert (forwarded.loc[forwarded["resource"] == "status_api", "status"] == "bound").all()


def test_service_mesh_envoy_hops_keep_the_host_so_dpop_survives_the_mesh():
    table = tokensim.route_table("service_mesh", "dpop")
    assert not table["reason"].str.contains("htu").any()
    assert set(table.loc[table["resource"] != "inventory_api", "status"]) == {"bound"}


# -- Storm-0558: local validation is where a forged token works ----------------------------------------------


def test_storm_0558_forged_tokens_work_only_where_tokens_are_validated_locally():
    """Exchange Online validated the forged JWTs locally (validation: local): every organisation is reached.
    Had it introspected opaque tokens, a forged token would fail there: only the 500 individuals remain."""
    local = tokensim.replicate("incidents/storm_0558_2023", ["bearer"], replications=3, seed=1, horizon="90d")
    assert local["tenants_reached"].max() == 22 + 500
    introspected = builtin("incidents/storm_0558_2023", exchange_online={"validation": "introspection"})
    frame = tokensim.replicate(introspected, ["bearer"], replications=3, seed=1, horizon="90d")
    assert 0 < frame["tenants_reached"].max() <= 500
