"""Properties the engine must have: common random numbers, monotonicity, binding limits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import one_client_model

import tokensim
from tokensim.builtin import builtin_models

PRESETS = list(tokensim.PRESETS)


@pytest.fixture(scope="module")
def all_models_frame():
    frames = [tokensim.replicate(name, PRESETS, replications=3, seed=99, horizon="30d") for name in builtin_models()]
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_every_builtin_model_runs_under_every_preset_with_consistent_counts(all_models_frame):
    f = all_models_frame
    assert len(f) == len(builtin_models()) * len(PRESETS) * 3
    assert (f["unauthorized_requests"] <= f["replay_attempts"]).all()
    assert (f["privileged_requests"] <= f["unauthorized_requests"]).all()
    assert (f["credentials_usable"] <= f["credentials_exposed"]).all()
    assert (f["reuse_detections"] <= f["detections"]).all()
    assert ((f["availability_loss"] >= 0) & (f["availability_loss"] <= 1)).all()
    assert (f["blast_radius"] >= f["unauthorized_requests"] * 0).all()
    assert f["unauthorized_requests"].sum() > 0  # the built-in models do see theft


def test_replication_r_of_every_policy_sees_the_same_leaks(all_models_frame):
    """Common random numbers: leak counts are identical across policies, replication by replication."""
    per = all_models_frame.groupby(["model", "replication"])["leaks"].nunique()
    assert (per == 1).all()


def test_leak_timelines_are_identical_across_policies():
    arch = tokensim.load_model("spa_behind_proxy")
    times = []
    for policy in PRESETS:
        trace = tokensim.simulate(arch, policy, seed=4, horizon="180d", trace=True).trace
        times.append(trace.loc[trace["event"] == "leak", ["time_hours", "node", "vector"]].reset_index(drop=True))
    for other in times[1:]:
        assert other.equals(times[0])
    assert len(times[0]) > 0


def test_same_seed_same_numbers_different_seed_different_numbers():
    a = tokensim.replicate("saas_broker", ["bearer", "dpop"], replications=3, seed=5, horizon="60d")
    b = tokensim.replicate("saas_broker", ["bearer", "dpop"], replications=3, seed=5, horizon="60d")
    c = tokensim.replicate("saas_broker", ["bearer", "dpop"], replications=3, seed=6, horizon="60d")
    assert a.equals(b)
    assert not a["leaks"].equals(c["leaks"]) or not a["unauthorized_requests"].equals(c["unauthorized_requests"])


def test_shorter_access_ttl_never_raises_expected_bearer_exposure():
    arch = one_client_model(instances=300, leaks=[{"vector": "log", "rate": "6/year"}], delay="10m")
    means = []
    for ttl in ["5m", "15m", "1h", "8h"]:
        frame = tokensim.replicate(
            arch, [tokensim.preset("bearer", access_ttl=ttl)], replications=15, seed=3, horizon="60d"
        )
        means.append(frame["exposure_hours"].mean())
    assert all(a < b for a, b in itertools.pairwise(means)), means


def test_binding_with_hardware_keys_never_beats_bearer_for_the_thief():
    """Under dpop and mtls with hardware keys, the thief's usable time is a subset of its bearer time."""
    arch = one_client_model(
        instances=200,
        leaks=[{"vector": "malware", "rate": "5/year", "dwell": "6h"}, {"vector": "log", "rate": "5/year"}],
        client={"key_storage": "hardware", "holds_refresh_token": True},
        delay="20m",
    )
    frame = tokensim.replicate(
        arch, ["bearer", "dpop", "mtls", "hybrid", "hybrid_jit"], replications=10, seed=12, horizon="60d"
    )
    wide = frame.pivot(index="replication", columns="policy", values="exposure_hours")
    for policy in ["dpop", "mtls", "hybrid", "hybrid_jit"]:
        assert (wide[policy] <= wide["bearer"] + 1e-9).all(), policy
    means = frame.groupby("policy")["unauthorized_requests"].mean()
    assert means["dpop"] < means["bearer"] and means["mtls"] < means["bearer"]


def test_nonces_shorten_logged_proofs_and_only_jti_tracking_stops_them():
    """MODEL-v2.md section 4: a nonce limits a captured proof to its epoch; version 1 made it stop every replay."""
    model = {
        "name": "logs-only",
        "nodes": {
            "app": {
                "kind": "client",
                "platform": "browser",
                "instances": 500,
                "key_storage": "non_extractable",
                "supports": ["bearer", "dpop"],
                "request_rate": "600/h",
                "leaks": [{"vector": "log", "rate": "5/year"}],
            },
            "edge": {
                "kind": "proxy",
                "logs_tokens": True,
                "log_retention": "1d",
                "leaks": [{"vector": "log", "rate": "20/year"}],
            },
            "api": {"kind": "resource", "privileged_fraction": 0.2},
            "idp": {"kind": "issuer"},
        },
        "edges": [["app", "edge"], ["edge", "api"]],
        "attacker": {"replay_delay": "1s", "replay_rate": "600/h"},
    }
    arch = tokensim.Architecture.from_dict(model)
    with_nonce = tokensim.preset("dpop", nonce=True, proof_window="5m", name="dpop_nonce")
    without = tokensim.preset("dpop", nonce=False, proof_window="5m")
    tracked = tokensim.preset("dpop", jti_tracking="global", proof_window="5m", name="dpop_jti")
    frame = tokensim.replicate(arch, ["bearer", with_nonce, without, tracked], replications=4, seed=1, horizon="30d")
    by = frame.groupby("policy")["unauthorized_requests"].sum()
    assert by["dpop_jti"] == 0  # the victim's own use of each proof came first
    # window 5m, nonce lifetime 5m: a proof lives min(5m, rest of its epoch), half as long on average
    assert 0.35 * by["dpop"] < by["dpop_nonce"] < 0.65 * by["dpop"]
    assert by["bearer"] > by["dpop"] > 0


def test_an_issuer_signing_key_leak_is_contained_by_no_binding_policy():
    model = tokensim.load_model("workload_direct").spec.model_dump()
    model["nodes"] = {k: v for k, v in model["nodes"].items()}
    for node in model["nodes"].values():
        node["leaks"] = []
    issuer = next(k for k, v in model["nodes"].items() if v["kind"] == "issuer")
    model["nodes"][issuer]["leaks"] = [{"vector": "signing_key", "rate": "6/year"}]
    model["defender"] = {"detection_probability": 0.0}
    arch = tokensim.Architecture.from_dict(model)
    frame = tokensim.replicate(arch, PRESETS, replications=4, seed=7, horizon="90d")
    means = frame.groupby("policy")["unauthorized_requests"].mean()
    assert means["bearer"] > 0
    for policy in PRESETS:
        assert means[policy] > 0.8 * means["bearer"], (policy, means.to_dict())
    exposure = frame.pivot(index="replication", columns="policy", values="exposure_hours")
    assert np.allclose(exposure.to_numpy(), exposure[["bearer"]].to_numpy())


def test_software_key_on_a_compromised_host_defeats_binding_but_hardware_does_not():
    def model(storage: str):
        return one_client_model(
            instances=50,
            leaks=[{"vector": "host_compromise", "rate": "10/year", "dwell": "2h"}],
            client={"key_storage": storage, "confidential": True, "hosts": 50},
            delay="5h",
        )

    soft = tokensim.replicate(model("software"), ["bearer", "mtls"], replications=5, seed=2, horizon="60d")
    hard = tokensim.replicate(model("hardware"), ["bearer", "mtls"], replications=5, seed=2, horizon="60d")
    s = soft.groupby("policy")["unauthorized_requests"].mean()
    h = hard.groupby("policy")["unauthorized_requests"].mean()
    assert s["mtls"] > 0.8 * s["bearer"] > 0
    assert h["mtls"] == 0 < h["bearer"]  # the oracle ends with the dwell, before exploitation starts


def test_trace_marks_the_end_of_each_exposure_after_its_exploitation():
    """Every `exposure_end` row closes a family the trace opened earlier, inside the horizon."""
    horizon = 365 * 24.0
    out = tokensim.simulate("spa_behind_proxy", "bearer", seed=3, horizon=horizon, trace=True)
    trace = out.trace
    ends = trace[trace["event"] == "exposure_end"]
    key = ["node", "vector", "client", "instance"]
    first_exploit = trace[trace["event"] == "exploit"].groupby(key)["time_hours"].min()
    assert len(ends) > 10
    assert {"log", "xss"} <= set(ends["vector"])  # closed-form families and SimPy processes both close
    for _, row in ends.iterrows():
        opened = first_exploit.get(tuple(row[k] for k in key))
        assert opened is not None and opened <= row["time_hours"] < horizon
    assert ends["detail"].str.contains("expired").any() and ends["detail"].str.contains("revocation").any()
