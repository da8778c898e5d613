"""Unknown names get "did you mean" (issue 14): one message, the closest name, exit 2 on the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tokensim.cli import main
from tokensim.errors import InputError, did_you_mean
from tokensim.model.policy import load_policy, preset


def refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object) -> str:
    monkeypatch.setattr(sys, "argv", ["tokensim", *map(str, args)])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 2 and "Traceback" not in err
    return err


def test_did_you_mean_picks_the_closest_and_ignores_case() -> None:
    assert did_you_mean("dpoop", ["bearer", "dpop", "mtls"]) == " (did you mean 'dpop'?)"
    assert did_you_mean("DPoP", ["bearer", "dpop"]) == " (did you mean 'dpop'?)"
    assert did_you_mean("kerberos", ["bearer", "dpop", "mtls"]) == ""
    assert did_you_mean("dpop", ["dpop"]) == "" and did_you_mean(3, ["dpop"]) == ""


MODEL = """\
name: typos
nodes:
  app: {kind: clinet, platform: workload}
  app2: {kind: client, platfrom: workload, leaks: [{vector: secret_spraw, rate: 1/year}]}
  app3: {kind: client, platform: brwoser, request_rate: 3/hr}
  api: {kind: resource}
attacker: {replay_delay: {distribution: lognormall}}
edges: [[app, api]]
"""


@pytest.mark.parametrize(
    ("path", "suggestion"),
    [
        ("nodes.app", "unknown kind 'clinet' (did you mean 'client'?)"),
        ("nodes.app2.platfrom", "unknown field 'platfrom' (did you mean 'platform'?)"),
        ("nodes.app2.leaks[0].vector", "'secret_spraw' is not allowed (did you mean 'secret_sprawl'?)"),
        ("nodes.app3.platform", "'brwoser' is not allowed (did you mean 'browser'?)"),
        ("nodes.app3.request_rate", "unknown time unit 'hr' (did you mean 'hour'?)"),
        ("attacker.replay_delay", "unknown distribution 'lognormall' (did you mean 'lognormal'?)"),
    ],
)
def test_model_file_names(tmp_path: Path, monkeypatch, capsys, path: str, suggestion: str) -> None:
    model = tmp_path / "typos.yaml"
    model.write_text(MODEL, encoding="utf-8")
    err = refused(monkeypatch, capsys, "check", model)
    assert f"{model}: {path}: {suggestion}" in err


def test_policy_names(tmp_path: Path, monkeypatch, capsys) -> None:
    assert "unknown policy 'hybird' (did you mean 'hybrid'?); presets:" in refused(
        monkeypatch, capsys, "check", "spa_behind_proxy", "-p", "hybird"
    )
    assert "acess_ttl: unknown policy parameter (did you mean 'access_ttl'?)" in refused(
        monkeypatch, capsys, "check", "spa_behind_proxy", "--set", "acess_ttl=5m"
    )
    policy = tmp_path / "p.yaml"
    policy.write_text("base: dpopp\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown preset 'dpopp' \(did you mean 'dpop'\?\)"):
        load_policy(policy)
    policy.write_text("base: dpop\nrotaton: true\noverrides: {mobile: {jti_trackin: global}}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_policy(policy)
    assert "unknown field 'rotaton' (did you mean 'rotation'?)" in str(info.value)
    assert "mobile.jti_trackin: unknown policy parameter (did you mean 'jti_tracking'?)" in str(info.value)
    with pytest.raises(InputError, match=r"'fallbak' is not allowed \(did you mean 'fallback'\?\)"):
        preset("dpop", on_binding_loss="fallbak")


def test_builtin_model_names_and_command_line_choices(tmp_path: Path, monkeypatch, capsys) -> None:
    err = refused(monkeypatch, capsys, "check", "spa_behnd_proxy")
    assert "no such file or built-in model (did you mean 'spa_behind_proxy'?)" in err
    err = refused(
        monkeypatch, capsys, "diagram", "spa_behind_proxy", "--tier", "privilegd", "--out", tmp_path / "d.svg"
    )
    assert "unknown tier (did you mean 'privileged'?)" in err
    assert "(did you mean 'experiment'?)" in refused(monkeypatch, capsys, "schema", "--kind", "experimnt")


def test_experiment_names(tmp_path: Path, monkeypatch, capsys) -> None:
    exp = tmp_path / "e.yaml"
    exp.write_text(
        "name: e\nmodels: [spa_behind_proxy]\npolicies: [bearer]\nreplications: 1\nhorizon: 1d\n"
        "factors: {policy.acces_ttl: [5m, 1h], attacker.replay_rat: [1/h]}\nuntil: {metric: blast_radiu}\n",
        encoding="utf-8",
    )
    err = refused(monkeypatch, capsys, "sweep", exp, "--out", tmp_path / "out", "-j", "1")
    assert "unknown policy parameter 'acces_ttl' (did you mean 'access_ttl'?)" in err
    assert "has no 'replay_rat' (did you mean 'replay_rate'?)" in err
    assert "unknown metric 'blast_radiu' (did you mean 'blast_radius'?)" in err
    exp.write_text("name: e\nmodels: [spa_behind_proxy]\npolicies: [bearer]\ndesing: grid\n", encoding="utf-8")
    assert "unknown field 'desing' (did you mean 'design'?)" in refused(monkeypatch, capsys, "sweep", exp)
