"""Harm by cause (issue 14): an attributed run is the same run, told by leak, node and means of success.

The attribution draws nothing, so the record of an attributed run equals the record without it; its
requests, privileged requests and blast radius sum to the record's, on the closed-form path and on
the process path; and the causes are the ones the model's leaks and the policy allow (a client
secret lets the thief mint tokens bound to its own key under DPoP: the issue's own example).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import tokensim
from tokensim.analysis.attribution import ATTRIBUTION_FRAME_COLUMNS, CAUSES, attribution, by_cause, how_of
from tokensim.builtin import builtin_models
from tokensim.model.policy import resolve_policy
from tokensim.sim.engine import Simulation

POLICIES = ("bearer", "dpop", "hybrid_jit", "mtls")


def _same(a: object, b: object) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("model", builtin_models())
def test_attribution_leaves_the_record_alone_and_sums_to_it(model):
    for policy in POLICIES:
        plain = tokensim.simulate(model, policy, seed=11, horizon="120d")
        told = tokensim.simulate(model, policy, seed=11, horizon="120d", attribution=True)
        assert all(_same(plain.record[k], told.record[k]) for k in plain.record), (model, policy)
        frame = told.attribution
        assert frame is not None and list(frame.columns) == ["node", "vector", "means", *ATTRIBUTION_FRAME_COLUMNS[6:9]]
        assert int(frame["requests"].sum()) == told["unauthorized_requests"]
        assert int(frame["privileged_requests"].sum()) == told["privileged_requests"]
        assert frame["blast_radius"].sum() == pytest.approx(told["blast_radius"], rel=1e-12, abs=1e-9)
        assert (frame["requests"] > 0).all()
        assert plain.attribution is None


@pytest.mark.parametrize("model", ["spa_behind_proxy", "mobile_gateway", "workload_direct"])
def test_process_path_attributes_as_it_counts(model):
    arch = tokensim.load_model(model)
    for policy in ("bearer", "dpop"):
        sim = Simulation(
            arch, resolve_policy(policy), seed=4, replication=1, horizon=24 * 150.0, attribution=True,
            closed_form_families=False,
        )  # fmt: skip
        sim.run()
        fields = sim.outcome_fields()
        rows = sim.tally.reach.attribution.rows()
        assert sum(r.requests for r in rows) == fields["unauthorized_requests"]
        assert sum(r.blast_radius for r in rows) == pytest.approx(fields["blast_radius"])


def test_every_engine_reason_of_a_success_has_a_plain_cause():
    seen = set()
    for model in builtin_models():
        frame = attribution(model, ["bearer", "dpop", "hybrid_jit", "mtls"], replications=2, seed=3, horizon="365d")
        seen |= set(frame["credential"])
    assert seen, "no success at all on the built-in models"
    for reason in seen:
        assert how_of(reason) in {cause for _, cause in CAUSES}, reason


def test_a_leaked_client_secret_mints_tokens_bound_to_the_thiefs_key_under_dpop():
    """workload_direct leaks its client secret (secret_sprawl): under DPoP the thief mints tokens for its own key."""
    frame = attribution("workload_direct", ["bearer", "dpop"], replications=3, seed=20261125, horizon="365d")
    dpop = frame[frame["policy"] == "dpop"]
    minted = dpop[dpop["credential"].str.contains("client secret, bound to the thief's own key")]
    assert len(minted) and minted["requests"].sum() > 0
    assert set(minted["vector"]) <= {"secret_sprawl", "host_compromise"}
    causes = by_cause(frame)
    shares = causes.groupby("policy")["share"].sum()
    assert shares.to_numpy() == pytest.approx([1.0, 1.0])


def test_attribution_sums_to_the_replications_it_ran():
    rows = tokensim.replicate("mobile_gateway", ["bearer", "dpop"], replications=3, seed=2, horizon="90d")
    frame = attribution("mobile_gateway", ["bearer", "dpop"], replications=3, seed=2, horizon="90d")
    assert set(frame["replications"]) == {3}
    for policy in ("bearer", "dpop"):
        ran = rows[rows["policy"] == policy]
        got = frame[frame["policy"] == policy]
        assert int(got["requests"].sum()) == int(ran["unauthorized_requests"].sum())
        assert got["blast_radius"].sum() == pytest.approx(ran["blast_radius"].sum())


def test_no_success_gives_an_empty_frame_with_the_columns():
    frame = attribution("saas_broker", ["bearer"], replications=1, seed=0, horizon="1d")
    assert list(frame.columns) == list(ATTRIBUTION_FRAME_COLUMNS)
    assert isinstance(frame, pd.DataFrame)
