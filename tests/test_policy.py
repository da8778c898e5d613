"""Token policies (MODEL.md section 2): presets, overrides and policy files."""

from __future__ import annotations

from pathlib import Path

import pytest

import tokensim
from tokensim.errors import InputError
from tokensim.model.policy import PARAMETERS, PRESETS, Policy, load_policy, parse_assignments, preset, resolve_policy


@pytest.mark.parametrize(
    ("name", "low_risk", "privileged", "jit"),
    [
        ("bearer", ("bearer",), ("bearer",), False),
        ("dpop", ("dpop",), ("dpop",), False),
        ("mtls", ("mtls",), ("mtls",), False),
        ("hybrid", ("bearer",), ("dpop", "mtls"), False),
        ("hybrid_jit", ("bearer",), ("dpop", "mtls"), True),
    ],
)
def test_presets_and_their_mechanisms(name: str, low_risk: tuple, privileged: tuple, jit: bool) -> None:
    policy = preset(name)
    assert isinstance(policy, Policy)
    assert policy.name == name
    assert policy.low_risk == low_risk
    assert policy.privileged == privileged
    assert policy.jit is jit
    assert resolve_policy(name) == policy


def test_the_five_presets_exist() -> None:
    assert set(PRESETS) == {"bearer", "dpop", "mtls", "hybrid", "hybrid_jit"}


def test_preset_defaults_are_in_hours() -> None:
    policy = preset("dpop")
    assert policy.access_ttl == 1.0
    assert policy.refresh_ttl == 90 * 24.0
    assert policy.reuse_grace == pytest.approx(30 / 3600)
    assert policy.proof_window == pytest.approx(120 / 3600)
    assert policy.jit_ttl == pytest.approx(10 / 60)
    assert policy.on_binding_loss == "fallback" and policy.on_unsupported == "fallback"
    assert policy.audience == "broad"


def test_with_overrides_parses_strings() -> None:
    base = preset("dpop")
    policy = base.with_overrides({"access_ttl": "5m", "rotation": "true"})
    assert policy.access_ttl == pytest.approx(5 / 60)
    assert policy.rotation is True
    assert policy.low_risk == ("dpop",) and policy.name == "dpop"
    # the original is a value and stays as it was
    assert base.access_ttl == 1.0 and base.rotation is False


def test_with_overrides_mechanism_lists_and_literals() -> None:
    policy = preset("bearer").with_overrides(
        {"privileged": "mtls, dpop", "on_binding_loss": "fail", "audience": "per_resource", "reuse_grace": "0s"}
    )
    assert policy.privileged == ("mtls", "dpop")
    assert policy.on_binding_loss == "fail"
    assert policy.audience == "per_resource"
    assert policy.reuse_grace == 0.0


def test_preset_keyword_overrides() -> None:
    policy = preset("hybrid", access_ttl="10m", on_unsupported="fail")
    assert policy.access_ttl == pytest.approx(10 / 60)
    assert policy.on_unsupported == "fail"
    assert policy.privileged == ("dpop", "mtls")


def test_unknown_parameter_names_it_and_lists_the_allowed() -> None:
    with pytest.raises(InputError) as info:
        preset("dpop").with_overrides({"acess_ttl": "5m", "rotation": "true"})
    err = info.value
    assert err.source == "--set"
    assert [p.path for p in err.problems] == ["acess_ttl"]
    message = str(err)
    assert message.startswith("--set: acess_ttl: unknown policy parameter (did you mean 'access_ttl'?); allowed: ")
    for name in PARAMETERS:
        assert name in message


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"access_ttl": "-5m"}, "access_ttl", "must be greater than zero"),
        ({"access_ttl": "0s"}, "access_ttl", "must be greater than zero"),
        ({"refresh_ttl": "-1d"}, "refresh_ttl", "must be greater than zero"),
        ({"reuse_grace": "-1s"}, "reuse_grace", "must not be negative"),
        ({"access_ttl": "5 fortnights"}, "access_ttl", "e.g. 90s, 15m, 1h, 30d, 1y"),
        ({"access_ttl": "5"}, "access_ttl", "expected a number with a unit"),
        ({"rotation": "sometimes"}, "rotation", "valid boolean"),
        ({"on_binding_loss": "ignore"}, "on_binding_loss", "'fallback' or 'fail'"),
        ({"privileged": "dpop, kerberos"}, "privileged[1]", "'bearer', 'dpop' or 'mtls'"),
        ({"low_risk": ""}, "low_risk", "at least 1 item"),
    ],
)
def test_bad_override_values_name_the_field(overrides: dict, field: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        preset("dpop").with_overrides(overrides, source="--set")
    err = info.value
    assert [p.path for p in err.problems] == [field]
    line = str(err)
    assert line.startswith(f"--set: {field}: ")
    assert fragment in line


def test_preset_keyword_override_errors_name_the_preset() -> None:
    with pytest.raises(InputError) as info:
        preset("mtls", access_ttl="-1h")
    assert str(info.value).startswith("policy mtls: access_ttl: must be greater than zero")


@pytest.mark.parametrize("name", ["dpopp", "Bearer", ""])
def test_unknown_preset(name: str) -> None:
    with pytest.raises(InputError) as info:
        preset(name)
    err = info.value
    assert [p.path for p in err.problems] == ["policy"]
    assert f"unknown policy {name!r}" in str(err)
    for known in PRESETS:
        assert known in str(err)


def test_resolve_unknown_name_is_an_input_error() -> None:
    with pytest.raises(InputError) as info:
        resolve_policy("strongest")
    assert "unknown policy 'strongest'" in str(info.value)


def test_resolve_passes_policies_through() -> None:
    policy = preset("dpop", access_ttl="5m")
    assert resolve_policy(policy) is policy


def test_policy_file_with_base(tmp_path: Path) -> None:
    path = tmp_path / "short_dpop.yaml"
    path.write_text(
        "base: dpop\naccess_ttl: 5m\nrotation: true\nreuse_detection: true\nnonce: true\n", encoding="utf-8"
    )
    policy = load_policy(path)
    assert policy.name == "short_dpop"  # named after its file, not its base: it is not the preset
    assert policy.low_risk == ("dpop",) and policy.privileged == ("dpop",)
    assert policy.access_ttl == pytest.approx(5 / 60)
    assert policy.rotation and policy.reuse_detection and policy.nonce
    assert policy.refresh_ttl == preset("dpop").refresh_ttl
    assert resolve_policy(str(path)) == policy


def test_policy_file_with_base_keeps_preset_mechanisms_unless_overridden(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("base: hybrid_jit\nname: my-jit\nprivileged: [mtls]\njit_ttl: 2m\n", encoding="utf-8")
    policy = load_policy(path)
    assert policy.name == "my-jit"
    assert policy.jit is True
    assert policy.low_risk == ("bearer",)
    assert policy.privileged == ("mtls",)
    assert policy.jit_ttl == pytest.approx(2 / 60)


def test_policy_file_without_base_is_named_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "custom_mix.json"
    path.write_text('{"low_risk": "bearer", "privileged": ["dpop"], "access_ttl": "15m"}', encoding="utf-8")
    policy = load_policy(path)
    assert policy.name == "custom_mix"
    assert policy.privileged == ("dpop",)
    assert policy.access_ttl == 0.25


@pytest.mark.parametrize("base", ["dpopp", "[dpop]", "{a: 1}", "3"])
def test_policy_file_with_unknown_base(tmp_path: Path, base: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"base: {base}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_policy(path)
    message = str(info.value)
    assert message.startswith(f"{path}: base: unknown preset ")
    assert "presets: bearer, dpop, mtls, hybrid, hybrid_jit" in message


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("base: dpop\naccess_tll: 5m\n", "access_tll", "unknown field 'access_tll'"),
        ("base: dpop\naccess_ttl: -5m\n", "access_ttl", "must be greater than zero"),
        ("base: dpop\nproof_window: 2 minutes ago\n", "proof_window", "expected a number with a unit"),
        ("- dpop\n", "", "expected a mapping of policy parameters"),
        ("base: dpop\nbase: mtls\n", "line 2, column 1", "duplicate key 'base'"),
        ("", "", "the file is empty"),
    ],
)
def test_bad_policy_files(tmp_path: Path, text: str, where: str, fragment: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_policy(path)
    prefix = f"{path}: {where}: " if where else f"{path}: "
    assert str(info.value).startswith(prefix)
    assert fragment in str(info.value)


def test_unknown_field_in_policy_file_lists_parameters(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("base: dpop\nttl: 5m\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_policy(path)
    assert "allowed fields:" in str(info.value)
    assert "access_ttl" in str(info.value) and "on_binding_loss" in str(info.value)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        resolve_policy(str(tmp_path / "nope.yaml"))
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_parameters_are_flat_columns() -> None:
    params = preset("hybrid").parameters()
    assert set(params) == set(PARAMETERS)
    assert params["low_risk"] == "bearer"
    assert params["privileged"] == "dpop,mtls"
    assert params["access_ttl"] == 1.0


def test_policy_is_frozen() -> None:
    policy = preset("dpop")
    with pytest.raises(Exception):
        policy.access_ttl = 2.0  # type: ignore[misc]
    assert policy.access_ttl == 1.0


def test_parse_assignments() -> None:
    assert parse_assignments(["access_ttl=5m", " rotation = true ", "privileged=dpop,mtls"]) == {
        "access_ttl": "5m",
        "rotation": "true",
        "privileged": "dpop,mtls",
    }
    with pytest.raises(InputError) as info:
        parse_assignments(["access_ttl"])
    assert str(info.value) == "--set: access_ttl: expected key=value, e.g. access_ttl=5m"
    with pytest.raises(InputError):
        parse_assignments(["=5m"])


def test_preset_can_rename_its_variant():
    variant = tokensim.preset("dpop", name="dpop_5m", access_ttl="5m")
    assert variant.name == "dpop_5m" and variant.access_ttl == pytest.approx(5 / 60)
    assert variant.low_risk == tokensim.preset("dpop").low_risk
    frame = tokensim.replicate("workload_direct", [tokensim.preset("dpop"), variant], replications=1, horizon="1d")
    assert list(frame["policy"]) == ["dpop", "dpop_5m"]


def test_replicate_refuses_the_same_policy_twice_but_keeps_same_named_variants():
    with pytest.raises(InputError, match="the same policy is given twice: 'dpop'"):
        tokensim.replicate("workload_direct", ["dpop", tokensim.preset("dpop")], replications=1, horizon="1d")
    # variants that share a name stay apart by their parameter columns (analysis.configuration_columns)
    frame = tokensim.replicate(
        "workload_direct", ["dpop", tokensim.preset("dpop", access_ttl="5m")], replications=1, horizon="1d"
    )
    assert sorted(frame["access_ttl"]) == pytest.approx([5 / 60, 1.0])
