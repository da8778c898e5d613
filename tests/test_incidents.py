"""Each incident case study (models/incidents/) reproduces its documented lesson.

The lessons come from the project's sourced facts (docs/FACTS.md, Incidents) and are
checked with real simulations: paired replications of several policies (replication r
of every policy sees the same leaks) and intervals from `tokensim.analysis`. A what-if
that changes the architecture (where a key lives, how long an intruder stays) is the
model file with that one field changed. docs/incidents.md gives the figures measured here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import yaml

import tokensim
from tokensim.analysis import mean_ci, paired_differences
from tokensim.builtin import builtin_models

INCIDENTS = (
    "salesloft_drift_2025",
    "circleci_2023",
    "okta_har_2023",
    "cloudflare_2023",
    "heroku_travis_2022",
    "storm_0558_2023",
    "internet_archive_2024",
)
BINDING = ("bearer", "dpop", "mtls", "hybrid")


def incident(name: str, **nodes: dict[str, Any]) -> tokensim.Architecture:
    """The built-in incident model, with some node fields replaced (the what-if)."""
    data = yaml.safe_load(builtin_models()[f"incidents/{name}"].read_text(encoding="utf-8"))
    for node, fields in nodes.items():
        data["nodes"][node].update(fields)
    return tokensim.Architecture.from_dict(data, source=f"incidents/{name} (what-if)")


def policy(base: str, label: str, **overrides: Any) -> tokensim.Policy:
    """A preset with overrides under its own name (one name per row group)."""
    return tokensim.preset(base, **overrides).model_copy(update={"name": label})


def mean(frame: pd.DataFrame, name: str, metric: str = "blast_radius") -> float:
    return float(frame.loc[frame["policy"] == name, metric].mean())


def difference(frame: pd.DataFrame, name: str, baseline: str, metric: str = "blast_radius") -> pd.Series:
    """The paired difference (mean, ci_low, ci_high) of one policy against the baseline."""
    diffs = paired_differences(frame, [metric], baseline=baseline)
    return diffs.set_index("policy").loc[name]


def replays_by_client(outcome: tokensim.Outcome) -> dict[str, int]:
    """Successful unauthorized requests per client population, from the run's trace."""
    trace = outcome.trace
    return trace[trace["event"] == "replay"].groupby("client")["count"].sum().astype(int).to_dict()


def test_every_incident_is_a_builtin_model_listed_with_its_description():
    known = builtin_models()
    for name in INCIDENTS:
        arch = tokensim.load_model(f"incidents/{name}")
        assert arch.description.startswith("Incident:")
        text = known[f"incidents/{name}"].read_text(encoding="utf-8")
        assert "FACTS.md" in text and "Documented:" in text and "Assumed:" in text  # the header says which is which
    from typer.testing import CliRunner

    from tokensim.cli import app

    listed = CliRunner().invoke(app, ["models"])
    assert listed.exit_code == 0
    for name in INCIDENTS:
        assert f"incidents/{name}" in listed.stdout


# -- Salesloft Drift 2025 ------------------------------------------------------------------------

# Every tenant connection is an identical, independent credential family, so the policy
# comparison does not depend on their number: the comparisons run a 70-connection copy.
DRIFT_SMALL = {"instances": 70, "tenants": 70}


def test_drift_as_was_reaches_hundreds_of_organisations():
    frame = tokensim.replicate("incidents/salesloft_drift_2025", ["bearer"], replications=2, seed=3, horizon="30d")
    assert frame["tenants_reached"].max() >= 600  # documented: 700+ organisations


def test_drift_binding_does_not_help_with_the_breached_hosts_own_software_keys():
    arch = incident("salesloft_drift_2025", drift_integration=DRIFT_SMALL)
    frame = tokensim.replicate(arch, ["bearer", "dpop", "mtls"], replications=5, seed=1, horizon="60d")
    bearer = mean(frame, "bearer")
    assert bearer > 0
    for name in ("dpop", "mtls"):
        diff = difference(frame, name, "bearer")
        # the whole interval of the paired difference lies within 1% of the bearer blast radius
        assert abs(diff["ci_low"]) <= 0.01 * bearer and abs(diff["ci_high"]) <= 0.01 * bearer


@pytest.mark.parametrize("storage", ["hardware", "non_extractable"])
def test_drift_keys_the_host_cannot_export_cut_the_blast_radius_to_near_zero(storage):
    # mTLS: the client authenticates with its certificate too, so nothing on the host works without the key
    arch = incident("salesloft_drift_2025", drift_integration={**DRIFT_SMALL, "key_storage": storage})
    frame = tokensim.replicate(arch, ["bearer", "mtls"], replications=5, seed=1, horizon="60d")
    assert mean(frame, "bearer") > 0
    assert mean(frame, "mtls") <= 0.01 * mean(frame, "bearer")
    assert mean_ci(frame.loc[frame["policy"] == "mtls", "tenants_reached"])[2] <= 1


def test_drift_dpop_needs_the_client_authentication_off_the_host_too():
    # With a shared client secret on the breached host, the thief mints DPoP tokens bound to its own
    # key (docs/model.md, section 5): the hardware key alone changes nothing.
    secret = incident("salesloft_drift_2025", drift_integration={**DRIFT_SMALL, "key_storage": "hardware"})
    frame = tokensim.replicate(secret, ["bearer", "dpop"], replications=4, seed=1, horizon="60d")
    assert mean(frame, "dpop") >= 0.99 * mean(frame, "bearer") > 0
    # No exportable credential at all (refresh tokens usable only with the hardware key, as a client
    # that authenticates with that key): near zero.
    keyed = incident(
        "salesloft_drift_2025", drift_integration={**DRIFT_SMALL, "key_storage": "hardware", "confidential": False}
    )
    frame = tokensim.replicate(keyed, ["bearer", "dpop"], replications=4, seed=1, horizon="60d")
    assert mean(frame, "bearer") > 0
    assert mean(frame, "dpop") <= 0.01 * mean(frame, "bearer")


# -- CircleCI 2023 -------------------------------------------------------------------------------


def test_circleci_device_bound_session_stops_the_remote_replay_but_not_the_bearer_downstream():
    arch = tokensim.load_model("incidents/circleci_2023")
    session: dict[str, list[int]] = {"bearer": [], "dpop": []}
    downstream: dict[str, list[int]] = {"bearer": [], "dpop": []}
    for r in range(6):
        for name in session:
            by_client = replays_by_client(
                tokensim.simulate(arch, name, seed=2, replication=r, horizon="30d", trace=True)
            )
            session[name].append(by_client.get("engineer_browser", 0))
            downstream[name].append(by_client.get("customer_secrets", 0))
    assert sum(n > 0 for n in session["bearer"]) >= 4  # the stolen cookie is replayed in most runs
    assert session["dpop"] == [0] * 6  # never with a TPM-bound session and an infostealer that left
    assert downstream["dpop"] == downstream["bearer"]  # the exfiltrated secrets were bearer: unchanged
    assert sum(downstream["dpop"]) > 0


def test_circleci_device_binding_does_not_stop_malware_that_stays_on_the_device():
    stays = {
        "leaks": [
            {
                "vector": "malware",
                "rate": "36/year",
                "dwell": "19d",
                "replay_delay": {"distribution": "lognormal", "median": "3d", "sigma": 0.3},
            }
        ]
    }
    arch = incident("circleci_2023", engineer_browser=stays, customer_secrets={"leaks": []})
    frame = tokensim.replicate(arch, ["bearer", "dpop"], replications=6, seed=2, horizon="30d")
    assert mean(frame, "bearer", "unauthorized_requests") > 0
    # malware on the laptop until discovery uses the TPM key in place: a signing oracle
    assert mean(frame, "dpop", "unauthorized_requests") >= 0.9 * mean(frame, "bearer", "unauthorized_requests")


# -- Okta support HAR files 2023 -------------------------------------------------------------------


def test_okta_har_session_binding_stops_replay_of_tokens_from_har_files():
    nonce = policy("dpop", "dpop_nonce", nonce=True)
    frame = tokensim.replicate(
        "incidents/okta_har_2023", ["bearer", "dpop", nonce], replications=12, seed=1, horizon="20d"
    )
    hijacked = mean_ci(frame.loc[frame["policy"] == "bearer", "credentials_usable"])
    assert (
        hijacked[1] <= 5 <= hijacked[2] and 2 <= hijacked[0] <= 10
    )  # documented: 5 sessions hijacked out of 134 customers' files
    assert mean(frame, "bearer") > 0
    # a HAR file holds the session token and DPoP proofs, never the key: only a proof still
    # inside its 2-minute window could replay, and server nonces stop even that
    assert mean(frame, "dpop") <= 0.01 * mean(frame, "bearer")
    assert (frame.loc[frame["policy"] == "dpop_nonce", "unauthorized_requests"] == 0).all()


# -- Cloudflare 2023 -----------------------------------------------------------------------------


def test_cloudflare_certificate_bound_service_tokens_stop_the_replay_of_unrotated_credentials():
    frame = tokensim.replicate(
        "incidents/cloudflare_2023", ["bearer", "dpop", "mtls"], replications=20, seed=1, horizon="60d"
    )
    bearer = frame[frame["policy"] == "bearer"]
    assert (bearer["unauthorized_requests"] > 0).mean() >= 0.8
    # a non-rotated secret stays usable from the leak until the response: weeks, not hours
    days = bearer["exposure_hours"].sum() / bearer["credentials_usable"].sum() / 24
    assert days >= 20  # ~4 weeks dormant (Okta breach -> Nov 14) and ~10 days of use (-> Nov 24)
    # mTLS with certificate client authentication: the leaked secret is useless without the private key
    assert (frame.loc[frame["policy"] == "mtls", "unauthorized_requests"] == 0).all()
    # DPoP does not help: whoever holds the client secret gets DPoP tokens bound to its own key
    assert mean(frame, "dpop") == pytest.approx(mean(frame, "bearer"), rel=0.01)


# -- Heroku and Travis CI 2022 -------------------------------------------------------------------------

HEROKU_CLIENTS = ("heroku_integration", "travis_integration")


def test_heroku_travis_mtls_with_software_keys_does_not_reduce_the_blast_radius():
    frame = tokensim.replicate(
        "incidents/heroku_travis_2022", ["bearer", "mtls"], replications=5, seed=1, horizon="30d"
    )
    bearer = mean(frame, "bearer")
    diff = difference(frame, "mtls", "bearer")
    assert bearer > 0 and abs(diff["ci_low"]) <= 0.01 * bearer and abs(diff["ci_high"]) <= 0.01 * bearer


def test_heroku_travis_mtls_with_protected_keys_depends_on_how_long_the_intruder_holds_the_host():
    hardware = {name: {"key_storage": "hardware"} for name in HEROKU_CLIENTS}
    frame = tokensim.replicate(
        incident("heroku_travis_2022", **hardware), ["bearer", "mtls"], replications=10, seed=1, horizon="30d"
    )
    diff = difference(frame, "mtls", "bearer")
    # the documented 6-day hold (Apr 7 -> Apr 13): the key signs for the intruder while it is there,
    # so mTLS cuts the blast radius (the interval lies below zero) but not to zero
    assert diff["ci_high"] < 0
    assert mean(frame, "mtls") >= 0.2 * mean(frame, "bearer")
    # an intruder that only read the token database (no signing access): near zero
    read_only = {
        name: {"key_storage": "hardware", "leaks": [{"vector": "host_compromise", "rate": "18/year", "dwell": "1h"}]}
        for name in HEROKU_CLIENTS
    }
    frame = tokensim.replicate(
        incident("heroku_travis_2022", **read_only), ["bearer", "mtls"], replications=5, seed=1, horizon="30d"
    )
    assert mean(frame, "bearer") > 0
    assert mean(frame, "mtls") <= 0.01 * mean(frame, "bearer")


# -- Storm-0558 2023 -----------------------------------------------------------------------------


def test_storm_0558_no_policy_contains_a_stolen_signing_key():
    frame = tokensim.replicate(
        "incidents/storm_0558_2023", [*BINDING, "hybrid_jit"], replications=10, seed=1, horizon="90d"
    )
    bearer = mean(frame, "bearer")
    assert bearer > 0
    for name in (*BINDING[1:], "hybrid_jit"):
        assert mean(frame, name) > 0
        diff = difference(frame, name, "bearer")
        assert abs(diff["ci_low"]) <= 0.05 * bearer and abs(diff["ci_high"]) <= 0.05 * bearer
    # a forged token reaches every organisation and individual: documented 22 + 500+
    assert frame["tenants_reached"].max() == 22 + 500


# -- Internet Archive 2024 -----------------------------------------------------------------------


def test_internet_archive_short_ttl_with_rotation_shrinks_exposure_by_orders_of_magnitude():
    """The static token against short access tokens, rotation, and a short grant, each on its own (ablations)."""
    static = policy("bearer", "static", refresh_ttl="3y")  # the 2024 token: never expires, never rotated
    short_only = policy("bearer", "short_ttl_only", access_ttl="5m", refresh_ttl="3y")
    rotation_only = policy(
        "bearer", "rotation_only", access_ttl="1h", refresh_ttl="3y", rotation=True, reuse_detection=True
    )
    short_grant = policy("bearer", "short_grant_only", access_ttl="1h", refresh_ttl="30d")
    rotated = policy("bearer", "short_rotated", access_ttl="1h", refresh_ttl="30d", rotation=True, reuse_detection=True)
    names = ("static", "short_ttl_only", "rotation_only", "short_grant_only", "short_rotated")
    frame = tokensim.replicate(
        "incidents/internet_archive_2024",
        [static, short_only, rotation_only, short_grant, rotated],
        replications=30,
        seed=1,
        horizon="730d",
    )
    per_leak = {
        name: frame.loc[frame["policy"] == name, "exposure_hours"].sum()
        / frame.loc[frame["policy"] == name, "leaks"].sum()
        for name in names
    }
    static_runs = frame[frame["policy"] == "static"]
    assert static_runs["exposure_hours"].sum() / static_runs["credentials_usable"].sum() >= 30 * 24  # months, not hours
    assert per_leak["short_rotated"] * 100 <= per_leak["static"]
    # a short access-token lifetime alone does not help when the long-lived grant itself leaks
    assert per_leak["short_ttl_only"] >= 0.5 * per_leak["static"]
    # rotation on its own does it, even with the 3-year grant: the legitimate client has rotated the
    # copied token long before the thief (months later) presents it, and reuse detection revokes the family
    assert per_leak["rotation_only"] * 100 <= per_leak["static"]
    assert (frame.loc[frame["policy"] == "rotation_only", "reuse_detections"] > 0).any()
    # a 30-day grant on its own bounds the exposure by the grant: far below the static token, but not zero
    assert 0 < per_leak["short_grant_only"] <= 30 * 24 and per_leak["short_grant_only"] * 10 <= per_leak["static"]
