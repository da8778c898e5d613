"""Cost model version 2 (MODEL-v2.md section 7; issue 13): each component recomputed by hand for built-in
models, signing latency per key storage, support gaps, recurring cost, and bad cost files refused."""

from __future__ import annotations

import sys
from typing import Any
from unittest import mock

import pytest
import yaml

import tokensim
from tokensim.builtin import builtin_models
from tokensim.cli import main
from tokensim.errors import InputError
from tokensim.model.cost import CostModel, load_costs
from tokensim.outcome import COST_FIELDS


def cost_row(model: Any, policy: Any, costs: CostModel | None = None) -> dict[str, float]:
    """The cost fields of one run (they do not depend on the random run)."""
    record = tokensim.simulate(model, policy, seed=0, horizon="1h", costs=costs).record
    return {k: record[k] for k in COST_FIELDS}


def model_data(name: str) -> dict[str, Any]:
    """A built-in model as the plain data of its file, to edit."""
    data: dict[str, Any] = yaml.safe_load(builtin_models()[name].read_text(encoding="utf-8"))
    return data


def edited(name: str, client: str, **fields: Any) -> tokensim.Architecture:
    data = model_data(name)
    data["nodes"][client].update(fields)
    return tokensim.Architecture.from_dict(data, source=f"{name} (edited)")


def test_recurring_cost_sits_just_before_integration_cost() -> None:
    assert COST_FIELDS[-2:] == ("recurring_cost", "integration_cost")


# --------------------------------------------------------------------------- by hand: mobile_gateway, DPoP


def test_mobile_gateway_dpop_with_nonce_and_shared_jti_recomputed_by_hand() -> None:
    policy = tokensim.preset("dpop", nonce=True, jti_tracking="global")
    row = cost_row("mobile_gateway", policy)
    # mobile_app: 10,000 instances, 30 requests/h, key_storage hardware -> mobile_tee; one gateway that
    # verifies the binding; two resources (accounts_api, payments_api); access_ttl 1 h, refresh_ttl 90 d.
    engineering = (
        4.0  # client_person_days.mobile.dpop
        + 4.0  # platform_support.mobile.dpop: custom (AppAuth lacks DPoP)
        + 2 * 2.0  # resource_person_days.dpop at each resource
        + 1.0  # intermediary_person_days: api_gateway verifies the binding
        + 2.0  # feature_person_days.nonce (some route uses DPoP)
    )
    assert row["engineering_cost"] == pytest.approx(engineering) == 15.0
    per_nonce = max(30 * 5 / 60, 1.0)  # requests one nonce serves: 2.5
    latency = 37.0 + 0.0587 + 50.0 / per_nonce  # mobile_tee signing + verification + the nonce round trip
    assert row["latency_overhead_ms"] == pytest.approx(latency) == pytest.approx(57.0587)
    rps = 10_000 * (1 / 1.0 + 1 / (90 * 24)) / 3600  # one renewal per access_ttl and per refresh_ttl
    assert row["token_endpoint_rps"] == pytest.approx(rps)
    assert row["availability_loss"] == pytest.approx(0.001)  # recurring.clock_skew_failure_share.mobile
    assert row["unsupported_instances"] == 0
    nonce_rps = 10_000 * 30 / per_nonce / 3600  # nonce round trips per second
    recurring = (
        0.5  # recurring.rotation_person_days_per_year.dpop, one client population
        + 2 * 2.0  # recurring.jti_store_person_days_per_year at each resource verifying DPoP
        + 0.01 * nonce_rps  # recurring.person_days_per_rps_year
    )
    assert row["recurring_cost"] == pytest.approx(recurring) == pytest.approx(4.8333, abs=1e-4)
    composite = 1.0 * (engineering + 3.0 * recurring) + 1.0 * latency + 0.01 * rps + 1000.0 * 0.001 + 100.0 * 0
    assert row["integration_cost"] == pytest.approx(composite)


def test_mobile_gateway_dpop_defaults_no_longer_pay_secure_element_signing() -> None:
    """Version 1 charged 80 ms (a secure element) for every hardware key: 80 of mobile DPoP's 93 points."""
    row = cost_row("mobile_gateway", "dpop")
    assert row["latency_overhead_ms"] == pytest.approx(37.0 + 0.0587)
    assert row["recurring_cost"] == pytest.approx(0.5)  # rotation only: no nonce, no shared jti store
    rps = 10_000 * (1 / 1.0 + 1 / (90 * 24)) / 3600
    # 13 person-days (no nonce feature), 3 years of 0.5, 37.06 ms, the token endpoint, 0.1% skewed clocks
    expected = (13.0 + 3 * 0.5) + (37.0 + 0.0587) + 0.01 * rps + 1000.0 * 0.001
    assert row["integration_cost"] == pytest.approx(expected) == pytest.approx(52.59, abs=0.01)


# --------------------------------------------------------------------------- by hand: workload_direct, mTLS


def test_workload_direct_mtls_recomputed_by_hand() -> None:
    row = cost_row("workload_direct", "mtls")
    # backend (200 instances) and kms_backend (50) call orders_api and reporting_api directly, 600 requests/h
    engineering = 2 * 3.0 + 2 * 3.0  # client_person_days.workload.mtls per client, resource_person_days.mtls
    assert row["engineering_cost"] == pytest.approx(engineering) == 12.0
    assert row["latency_overhead_ms"] == pytest.approx(0.5)  # mtls_ms on every request
    outage_share = 1.0 * 4.0 / 8760  # recurring.cert_outages_per_year x cert_outage_hours, per hour of the year
    assert row["availability_loss"] == pytest.approx(outage_share)
    recurring = 2 * (2.0 + 1.0 * 1.0)  # per client: certificate rotation + outages x outage_person_days
    assert row["recurring_cost"] == pytest.approx(recurring) == 6.0
    rps = 250 * (1 / 1.0 + 1 / (90 * 24)) / 3600
    assert row["token_endpoint_rps"] == pytest.approx(rps)
    composite = engineering + 3.0 * recurring + 0.5 + 0.01 * rps + 1000.0 * outage_share
    assert row["integration_cost"] == pytest.approx(composite)


def test_the_horizon_and_the_engineering_weight_price_recurring_person_days() -> None:
    base = cost_row("workload_direct", "mtls")
    longer = cost_row("workload_direct", "mtls", CostModel().with_overrides({"recurring": {"years": 5}}))
    assert longer["recurring_cost"] == base["recurring_cost"] > 0
    assert longer["integration_cost"] - base["integration_cost"] == pytest.approx(2 * base["recurring_cost"])
    none = cost_row("workload_direct", "mtls", CostModel().with_overrides({"recurring": {"years": 0}}))
    assert base["integration_cost"] - none["integration_cost"] == pytest.approx(3 * base["recurring_cost"])


def test_bearer_has_no_recurring_cost() -> None:
    for name in builtin_models():
        assert cost_row(name, "bearer")["recurring_cost"] == 0.0, name


# --------------------------------------------------------------------------- signing latency per storage


def test_hardware_keys_sign_slower_than_software_keys_by_the_table() -> None:
    hardware = cost_row("mobile_gateway", "dpop")["latency_overhead_ms"]
    software = cost_row(edited("mobile_gateway", "mobile_app", key_storage="software"), "dpop")["latency_overhead_ms"]
    assert hardware - software == pytest.approx(37.0 - 0.0199)  # sign_ms.mobile_tee - sign_ms.software


def test_a_cost_file_maps_a_platforms_key_storage_to_another_storage(tmp_path) -> None:
    path = tmp_path / "strongbox.yaml"
    path.write_text("key_storage_map: {mobile: {hardware: strongbox}}\n", encoding="utf-8")
    costs = load_costs(path)
    assert costs.storage_of("mobile", "non_extractable") == "mobile_tee"  # the rest of the map is kept
    assert cost_row("mobile_gateway", "dpop", costs)["latency_overhead_ms"] == pytest.approx(80.0 + 0.0587)
    faster = CostModel().with_overrides({"sign_ms": {"mobile_tee": 10.0}})
    assert cost_row("mobile_gateway", "dpop", faster)["latency_overhead_ms"] == pytest.approx(10.0 + 0.0587)


def test_a_kms_held_workload_key_pays_the_network_call() -> None:
    """workload_direct: backend signs in software, kms_backend (hardware) through a cloud KMS, on orders_api."""
    row = cost_row("workload_direct", "dpop")
    # requests/h: backend 200 x 600 over two resources, kms_backend 50 x 600 on one
    backend, kms = 200 * 600, 50 * 600
    expected = (backend * (0.0199 + 0.0587) + kms * (15.0 + 0.0587)) / (backend + kms)
    assert row["latency_overhead_ms"] == pytest.approx(expected)


# --------------------------------------------------------------------------- support gaps


def test_an_sdk_with_native_dpop_saves_the_custom_work_its_platform_needs() -> None:
    usual = cost_row("mobile_gateway", "dpop")["engineering_cost"]
    appauth = cost_row(edited("mobile_gateway", "mobile_app", sdk="appauth_ios"), "dpop")["engineering_cost"]
    auth0 = cost_row(edited("mobile_gateway", "mobile_app", sdk="auth0_swift"), "dpop")["engineering_cost"]
    assert appauth == usual  # AppAuth lacks DPoP: the platform's custom 4 person-days
    assert usual - auth0 == pytest.approx(4.0)


def test_a_cost_file_raises_an_sdks_custom_work() -> None:
    arch = edited("mobile_gateway", "mobile_app", sdk="appauth_android")
    costs = CostModel().with_overrides({"sdk_support": {"appauth_android": {"dpop": {"person_days": 9}}}})
    assert costs.support("mobile", "appauth_android", "dpop").status == "custom"  # merged, status kept
    gain = cost_row(arch, "dpop", costs)["engineering_cost"] - cost_row(arch, "dpop")["engineering_cost"]
    assert gain == pytest.approx(9.0 - 4.0)


def test_a_gap_that_cannot_be_built_makes_the_policy_unsupported() -> None:
    """A browser that claims mTLS: the route analysis binds it, the cost model says it cannot be built."""
    arch = edited("spa_behind_proxy", "spa", supports=["bearer", "dpop", "mtls"])
    row = cost_row(arch, "mtls")
    assert row["unsupported_instances"] == 1000  # every spa instance
    dpop = cost_row(arch, "dpop")
    assert dpop["unsupported_instances"] == 0
    native = CostModel().with_overrides({"platform_support": {"browser": {"mtls": {"status": "native"}}}})
    buildable = cost_row(arch, "mtls", native)
    assert buildable["unsupported_instances"] == 0
    # the client's mTLS person-days (client_person_days.browser.mtls) are charged only where it can be built
    assert buildable["engineering_cost"] - row["engineering_cost"] == pytest.approx(30.0)


def test_an_sdk_must_fit_the_clients_platform_and_be_known() -> None:
    with pytest.raises(InputError) as info:
        edited("mobile_gateway", "mobile_app", sdk="keycloak_js")
    assert [p.path for p in info.value.problems] == ["nodes.mobile_app.sdk"]
    assert "browser" in str(info.value) and "mobile" in str(info.value)
    with pytest.raises(InputError) as info:
        edited("mobile_gateway", "mobile_app", sdk="appauth")
    assert [p.path for p in info.value.problems] == ["nodes.mobile_app.sdk"] and "appauth_ios" in str(info.value)


# --------------------------------------------------------------------------- bad cost files


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("sign_ms: {hardware: 80}\n", "sign_ms", "unknown storage 'hardware'"),
        ("key_storage_map: {mobile: {hardware: strongbx}}\n", "key_storage_map.mobile.hardware", "'strongbx'"),
        ("sdk_support: {appauth: {dpop: {status: custom}}}\n", "sdk_support", "unknown sdk 'appauth'"),
        ("platform_support: {browser: {mtls: {status: maybe}}}\n", "platform_support.browser.mtls.status", "maybe"),
        ("recurring: {years: -1}\n", "recurring.years", "must not be negative"),
        ("client_person_days: {desktop: {dpop: 1}}\n", "client_person_days", "unknown platform 'desktop'"),
        ("client_person_days: {mobile: {dpopp: 1}}\n", "client_person_days.mobile", "unknown mechanism 'dpopp'"),
        ("resource_person_days: {dpopp: 1}\n", "resource_person_days", "unknown mechanism 'dpopp'"),
        ("feature_person_days: {jitt: 1}\n", "feature_person_days", "unknown feature 'jitt'"),
        (
            "recurring: {clock_skew_failure_share: {mobile: 2}}\n",
            "recurring.clock_skew_failure_share.mobile",
            "must be a fraction",
        ),
    ],
)
def test_a_bad_cost_file_is_refused_naming_file_and_field(tmp_path, capsys, text, where, fragment) -> None:
    path = tmp_path / "costs.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_costs(path)
    assert [(info.value.source, p.path) for p in info.value.problems] == [(str(path), where)]
    assert fragment in str(info.value)
    with mock.patch.object(sys, "argv", ["tokensim", "run", "mobile_gateway", "-n", "1", "--costs", str(path)]):
        with pytest.raises(SystemExit) as exit_info:
            main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"{path}: {where}" in err and "Traceback" not in err


# --------------------------------------------------------------------------- the documentation


def test_parameters_md_lists_every_signing_figure_and_sdk() -> None:
    """docs/parameters.md section 4 states each default of the latency table and each SDK it knows."""
    from pathlib import Path

    from tokensim.model import cost_data

    text = (Path(__file__).resolve().parents[1] / "docs" / "parameters.md").read_text(encoding="utf-8")
    for storage, ms in cost_data.SIGN_MS.items():
        assert f"| `{storage}` | {ms:g} ms |" in text, storage
    for sdk, platform in cost_data.SDK_PLATFORMS.items():
        assert f"| `{sdk}` | {platform} |" in text, sdk
