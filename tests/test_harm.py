"""Harm version 2 (MODEL-v2.md section 6, docs/model.md "Harm"): privileged weights, records that
saturate per (resource, tenant), incidents and the priced `loss` column, on both exploitation paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import one_client_model

import tokensim
from tokensim.errors import InputError
from tokensim.sim.engine import Simulation

MODELS = Path(__file__).resolve().parents[1] / "models"


def runs(arch: tokensim.Architecture, policy: Any, reps: int, closed_form: bool, horizon: float = 60 * 24.0):
    """The blast-radius fields of ``reps`` replications, on the chosen exploitation path."""
    out = []
    for r in range(reps):
        sim = Simulation(arch, policy, seed=23, replication=r, horizon=horizon, closed_form_families=closed_form)
        sim.run()
        out.append(sim.outcome_fields())
    return out


def data_model(
    records: int, per_request: int, tenants: int = 1, instances: int = 200, **resource: Any
) -> tokensim.Architecture:
    return one_client_model(
        instances=instances,
        leaks=[{"vector": "log", "rate": "6/year"}],
        delay="10m",
        replay_rate="30/h",
        client={"tenants": tenants},
        resource={"records": records, "records_per_request": per_request, "privileged_fraction": 0.2} | resource,
    )


BEARER = tokensim.preset("bearer", access_ttl="1h")


@pytest.mark.parametrize("closed_form", [True, False])
def test_records_exposed_are_linear_below_what_a_tenant_holds_and_saturate_at_it(closed_form: bool) -> None:
    """One tenant, one API: records exposed = min(records, successes x records_per_request), both regimes."""
    held, per_request = 500, 2
    rows = runs(data_model(held, per_request, instances=20), BEARER, 40, closed_form)
    below = above = 0
    for row in rows:
        successes = row["unauthorized_requests"]
        assert row["records_exposed"] == min(held, successes * per_request), row
        below += 0 < successes * per_request < held
        above += successes * per_request > held
    assert below and above, (below, above)  # both regimes occur, so the test sees the cap and the slope


@pytest.mark.parametrize("closed_form", [True, False])
def test_records_are_counted_per_tenant(closed_form: bool) -> None:
    """A cap no request can fill counts every request; a request that empties a tenant counts the tenant once."""
    linear = runs(data_model(10**9, 7, tenants=5), BEARER, 15, closed_form)
    assert all(r["records_exposed"] == 7 * r["unauthorized_requests"] for r in linear)
    assert sum(r["unauthorized_requests"] for r in linear) > 0
    full = runs(data_model(50, 50, tenants=5), BEARER, 15, closed_form)
    assert all(r["records_exposed"] == 50 * r["tenants_reached"] for r in full)
    assert max(r["tenants_reached"] for r in full) > 1  # several tenants, each emptied once


@pytest.mark.parametrize("closed_form", [True, False])
def test_a_privileged_request_weighs_sensitivity_times_privileged_weight(closed_form: bool) -> None:
    arch = data_model(10, 1, sensitivity=3.0, privileged_weight=25.0)
    rows = runs(arch, BEARER, 20, closed_form)
    for row in rows:
        reads = row["unauthorized_requests"] - row["privileged_requests"]
        assert row["blast_radius"] == pytest.approx(3.0 * (reads + 25.0 * row["privileged_requests"]))
    assert sum(r["privileged_requests"] for r in rows) > 0


@pytest.mark.parametrize("closed_form", [True, False])
def test_an_incident_is_a_leak_the_thief_used_and_loss_prices_the_counts(closed_form: bool) -> None:
    """Incidents (FAIR's loss events) are leaks with at least one success; `loss` is each count times its figure."""
    spec = data_model(400, 3, tenants=4).spec.model_dump()
    figures = {"per_record": 2.5, "per_privileged_request": 40.0, "per_tenant": 1000.0, "per_incident": 5000.0}
    arch = tokensim.Architecture.from_dict(spec | {"loss": figures})
    rows = runs(arch, BEARER, 20, closed_form)
    for row in rows:
        assert 0 <= row["incidents"] <= row["leaks"]
        assert (row["incidents"] == 0) == (row["unauthorized_requests"] == 0)
        expected = (
            2.5 * row["records_exposed"]
            + 40.0 * row["privileged_requests"]
            + 1000.0 * row["organisations_reached"]
            + 5000.0 * row["incidents"]
        )
        assert row["loss"] == pytest.approx(expected)
    assert sum(r["incidents"] for r in rows) > 0


def two_populations(
    records: int, per_request: int, tenants: int, client_leaks: bool = True, key_rate: str = "6/year"
) -> tokensim.Architecture:
    """Two client populations of the same organisations (tenant i of each is organisation i), one data API,
    and an issuer whose signing key leaks (a forged token names any tenant)."""
    leak = [{"vector": "log", "rate": "4/year"}] if client_leaks else []
    client = {"kind": "client", "platform": "workload", "instances": 30, "tenants": tenants, "leaks": leak}
    return tokensim.Architecture.from_dict(
        {
            "name": "two-populations",
            "nodes": {
                "web": client,
                "batch": dict(client),
                "api": {"kind": "resource", "records": records, "records_per_request": per_request},
                "idp": {
                    "kind": "issuer",
                    "revocation": "jwt",
                    "leaks": [{"vector": "signing_key", "rate": key_rate, "replay_delay": "1h"}],
                },
            },
            "edges": [["web", "api"], ["batch", "api"]],
            "attacker": {"replay_delay": "10m", "replay_rate": "2/h"},
        }
    )


@pytest.mark.parametrize("closed_form", [True, False])
def test_an_organisation_reached_through_two_populations_counts_once(closed_form: bool) -> None:
    """Tenant i of both populations is one organisation: its records and its `per_tenant` loss count once."""
    spec = two_populations(40, 40, tenants=3).spec.model_dump()
    arch = tokensim.Architecture.from_dict(spec | {"loss": {"per_tenant": 1000.0}})
    rows = runs(arch, BEARER, 15, closed_form)
    for row in rows:
        assert row["organisations_reached"] <= 3 and row["organisations_reached"] <= row["tenants_reached"]
        assert row["records_exposed"] == 40 * row["organisations_reached"]
        assert row["loss"] == 1000.0 * row["organisations_reached"]
    assert any(r["tenants_reached"] > r["organisations_reached"] for r in rows)  # the double count it avoids


def test_forged_requests_spread_evenly_over_the_tenants_and_reach_only_those_they_hit() -> None:
    """A forged token's n requests go round-robin over T tenants holding 2 records each (one per request):
    records exposed are min(n, 2T) and organisations reached min(n, T), however the requests arrive."""
    tenants = 50
    arch = two_populations(2, 1, tenants=tenants, client_leaks=False, key_rate="100/year")
    rows = runs(arch, BEARER, 30, closed_form=False, horizon=3 * 24.0)
    for row in rows:
        n = row["unauthorized_requests"]
        assert row["records_exposed"] == min(n, 2 * tenants), row
        assert row["organisations_reached"] == min(n, tenants), row
    assert any(0 < r["unauthorized_requests"] < 2 * tenants for r in rows)
    assert any(r["unauthorized_requests"] > 2 * tenants for r in rows)


def test_a_leak_exploited_at_once_is_an_incident() -> None:
    """A thief replaying within a minute a token valid for a day, never detected: nearly every leak causes harm
    (the few that do not leaked a token already expired in the log, or in the run's last minute)."""
    arch = one_client_model(instances=100, leaks=[{"vector": "log", "rate": "12/year"}], delay="1m", replay_rate="60/h")
    for closed_form in (True, False):
        rows = runs(arch, tokensim.preset("bearer", access_ttl="24h"), 10, closed_form)
        leaks, incidents = sum(r["leaks"] for r in rows), sum(r["incidents"] for r in rows)
        assert leaks > 1000 and 0.98 * leaks <= incidents <= leaks
        assert all(r["leaks"] - r["incidents"] <= r["credentials_exposed"] - r["credentials_usable"] + 1 for r in rows)


def test_both_paths_agree_on_incidents_and_records() -> None:
    arch = data_model(300, 10, tenants=3)
    fast = runs(arch, BEARER, 40, True)
    slow = runs(arch, BEARER, 40, False)
    for key in ("incidents", "records_exposed"):
        a = np.array([r[key] for r in fast], dtype=float)
        b = np.array([r[key] for r in slow], dtype=float)
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) < 4 * se + 1e-9, (key, a.mean(), b.mean(), se)


def test_without_a_loss_section_the_loss_column_is_nan() -> None:
    row = runs(data_model(10, 1), BEARER, 1, True)[0]
    assert np.isnan(row["loss"])


def test_on_spa_behind_proxy_hybrid_reduces_blast_radius_by_its_weighted_request_reduction() -> None:
    """With the shipped weights, hybrid_jit's cut in blast radius is the cut in sensitivity-weighted requests
    that its read and privileged counts imply (one resource: orders)."""
    spec = yaml.safe_load((MODELS / "spa_behind_proxy.yaml").read_text())
    orders = spec["nodes"]["orders"]
    weight, sensitivity = orders["privileged_weight"], orders["sensitivity"]
    assert weight > 1  # the shipped model weighs a privileged change above a read
    arch = tokensim.load_model("spa_behind_proxy")
    totals = {}
    for name in ("bearer", "hybrid_jit"):
        rows = [
            tokensim.simulate(arch, tokensim.preset(name), seed=5, replication=r, horizon="90d").record
            for r in range(12)
        ]
        reads = sum(r["unauthorized_requests"] - r["privileged_requests"] for r in rows)
        privileged = sum(r["privileged_requests"] for r in rows)
        totals[name] = (
            sum(r["blast_radius"] for r in rows),
            sensitivity * (reads + weight * privileged),
            reads + privileged,
            privileged,
        )
    (br_b, w_b, n_b, p_b), (br_h, w_h, n_h, p_h) = totals["bearer"], totals["hybrid_jit"]
    assert br_b == pytest.approx(w_b) and br_h == pytest.approx(w_h)
    assert 1 - br_h / br_b == pytest.approx(1 - w_h / w_b)
    # the weight is what separates the two measures: version 1's (plain requests) differs from it
    assert 1 - br_h / br_b != pytest.approx(1 - n_h / n_b, abs=1e-3)
    assert p_b > 0 and p_h > 0


@pytest.mark.parametrize(
    ("change", "where", "fragment"),
    [
        (lambda d: d["nodes"]["api"].update(records_per_request=5), "nodes.api.records_per_request", "`records`"),
        (lambda d: d["nodes"]["api"].update(privileged_weight=-1), "nodes.api.privileged_weight", ""),
        (lambda d: d.update(loss={"per_record": -2}), "loss.per_record", ""),
        (lambda d: d.update(loss={"per_incidnet": 2}), "loss.per_incidnet", ""),
    ],
)
def test_bad_harm_fields_are_refused_with_their_path(change: Any, where: str, fragment: str) -> None:
    data: dict[str, Any] = {
        "name": "bad-harm",
        "nodes": {
            "app": {"kind": "client", "platform": "workload", "leaks": [{"vector": "log", "rate": "1/year"}]},
            "api": {"kind": "resource"},
        },
        "edges": [["app", "api"]],
    }
    change(data)
    with pytest.raises(InputError) as info:
        tokensim.Architecture.from_dict(data)
    paths = [p.path for p in info.value.problems]
    assert paths == [where], str(info.value)
    assert fragment in str(info.value)


def test_the_guides_loss_example_runs_and_says_what_the_guide_says(tmp_path: Path) -> None:
    """docs/guide.md section 6, "Harm in money": its code block, run as written, gives its quoted figures."""
    import re

    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text()
    section = guide[guide.index("### Harm in money") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    scope: dict[str, Any] = {}
    exec(compile(code.group(1).replace('"loss.png"', repr(str(tmp_path / "loss.png"))), "guide", "exec"), scope)
    from tokensim import analysis

    avoided = analysis.loss_avoided(scope["frame"], "bearer").set_index("policy")
    assert avoided.loc["dpop", "loss_avoided"] == 0
    assert avoided.loc["mtls", "loss_avoided"] == pytest.approx(260_000, rel=0.05)  # "about 260,000 a year"
    assert (tmp_path / "loss.png").stat().st_size > 0
