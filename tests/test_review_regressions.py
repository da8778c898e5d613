"""Regressions found by review: each test failed before its fix."""

from __future__ import annotations

from conftest import one_client_model

import tokensim


def test_rotation_with_reuse_detection_also_races_confidential_clients():
    arch = one_client_model(
        instances=100,
        leaks=[{"vector": "host_compromise", "rate": "10/year", "dwell": "1ms"}],  # leaves at once: no harvest
        delay="30m",
        client={"confidential": True, "holds_refresh_token": True, "key_storage": "software"},
    )
    plain = tokensim.preset("bearer", access_ttl="1h")
    rotated = tokensim.preset("bearer", access_ttl="1h", rotation=True, reuse_detection=True).model_copy(
        update={"name": "rotated"}
    )
    frame = tokensim.replicate(arch, [plain, rotated], replications=3, seed=1, horizon="60d")
    by = frame.groupby("policy")[["reuse_detections", "unauthorized_requests"]].sum()
    assert by.loc["rotated", "reuse_detections"] > 0
    assert by.loc["rotated", "unauthorized_requests"] < 0.05 * by.loc["bearer", "unauthorized_requests"]


def _revocation_exposure(mode: str, delay: str = "5m") -> float:
    arch = one_client_model(
        instances=100,
        leaks=[{"vector": "malware", "rate": "20/year"}],
        delay="10m",
        replay_rate="60/h",
        detection=1.0,
        response="1m",
        revocation=mode,
        client={"holds_refresh_token": True, "key_storage": "software"},
    )
    if mode == "caep":
        arch = tokensim.Architecture.from_dict(
            {
                **arch.spec.model_dump(),
                "nodes": {
                    **arch.spec.model_dump()["nodes"],
                    "idp": {"kind": "issuer", "revocation": "caep", "propagation_delay": delay},
                },
            }
        )
    frame = tokensim.replicate(
        arch, [tokensim.preset("bearer", access_ttl="5m")], replications=3, seed=2, horizon="60d"
    )
    return frame["exposure_hours"].sum() / frame["leaks"].sum()


def test_after_revocation_the_thief_keeps_at_most_its_last_token():
    introspection = _revocation_exposure("introspection")
    jwt = _revocation_exposure("jwt")
    assert introspection < jwt < introspection + 5 / 60 + 1e-6  # at most one 5-minute token more
    # a long CAEP delay cannot outlast the token itself either
    assert _revocation_exposure("caep", "10h") <= jwt + 1e-6


def test_broker_compromise_with_a_client_that_also_reaches_a_resource_directly():
    arch = tokensim.Architecture.from_dict(
        {
            "name": "broker-and-direct",
            "nodes": {
                "app": {"kind": "client", "platform": "workload", "instances": 20, "holds_refresh_token": True},
                "broker": {"kind": "broker", "leaks": [{"vector": "host_compromise", "rate": "20/year"}]},
                "crm": {"kind": "resource"},
                "direct_api": {"kind": "resource", "sensitivity": 100},
                "idp": {"kind": "issuer"},
            },
            "edges": [["app", "broker"], ["broker", "crm"], ["app", "direct_api"]],
        }
    )
    out = tokensim.simulate(arch, "bearer", seed=3, horizon="90d", trace=True)
    assert out["unauthorized_requests"] > 0
    replays = out.trace[out.trace["event"] == "replay"]
    assert replays["detail"].str.contains("crm").all() and not replays["detail"].str.contains("direct_api").any()


def test_a_broad_token_in_a_clients_log_works_for_both_tiers():
    arch = one_client_model(
        instances=500,
        leaks=[{"vector": "log", "rate": "10/year"}],
        delay="1m",
        client={"log_retention": "1h", "request_rate": "60/h"},
        resource={"privileged_fraction": 0.3},
    )
    frame = tokensim.replicate(
        arch, [tokensim.preset("bearer", access_ttl="1h")], replications=4, seed=5, horizon="60d"
    )
    share = frame["privileged_requests"].sum() / frame["unauthorized_requests"].sum()
    assert 0.25 < share < 0.35


def test_tokens_that_expire_before_exploitation_are_not_exposure():
    arch = one_client_model(instances=200, leaks=[{"vector": "log", "rate": "10/year"}], delay="2h")
    frame = tokensim.replicate(
        arch, [tokensim.preset("bearer", access_ttl="1h")], replications=2, seed=1, horizon="60d"
    )
    assert frame["leaks"].sum() > 0
    assert frame["unauthorized_requests"].sum() == 0
    assert frame["exposure_hours"].sum() == 0 and frame["credentials_usable"].sum() == 0
    assert frame["time_to_containment_hours"].isna().all()


def test_files_must_write_units_but_python_may_pass_hours(tmp_path):
    import pytest

    from tokensim import InputError, load_model

    text = tmp_path / "m.yaml"
    text.write_text(
        "name: x\nnodes:\n  a: {kind: client, platform: workload, leaks: [{vector: log, rate: 3}]}\n"
        "  api: {kind: resource}\nedges: [[a, api]]\n"
    )
    with pytest.raises(InputError) as err:
        load_model(text)
    assert "nodes.a.leaks[0].rate: 3 has no unit" in str(err.value) and "3/year" in str(err.value)
    arch = tokensim.Architecture.from_dict(
        {
            "name": "x",
            "nodes": {
                "a": {"kind": "client", "platform": "workload", "leaks": [{"vector": "log", "rate": 0.001}]},
                "api": {"kind": "resource"},
            },
            "edges": [["a", "api"]],
        }
    )
    assert arch.node("a").leaks[0].rate == 0.001


def test_bad_values_are_quoted_as_written():
    import pytest

    from tokensim import InputError

    with pytest.raises(InputError) as err:
        tokensim.preset("bearer").with_overrides({"access_ttl": "-5m"})
    assert "got '-5m'" in str(err.value)
