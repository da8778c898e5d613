"""Every number is finite and inside its documented range (tokensim/model/limits.py), checked where it enters.

Each hostile value is its own small test, entered the ways a user enters it: a file
(model, policy, experiment, cost file), a command-line option (exit 2, one line naming
the option or the file and the field, no traceback) and an argument of the Python API.
Then the other side: values at the bounds are accepted and run without overflow.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensim
from tokensim.cli import main
from tokensim.errors import InputError
from tokensim.experiment import Experiment
from tokensim.experiment.designs import design_points, point_count
from tokensim.model import limits
from tokensim.model.cost import CostModel, load_costs
from tokensim.model.units import UnitError, parse_duration, parse_rate
from tokensim.model.workload import check_run, leak_loads


def tiny(**client: Any) -> dict[str, Any]:
    """One workload instance calling one API, leaking to malware about once a year."""
    return {
        "name": "tiny",
        "nodes": {
            "app": {"kind": "client", "platform": "workload", "leaks": [{"vector": "malware", "rate": "1/year"}]}
            | client,
            "api": {"kind": "resource"},
        },
        "edges": [["app", "api"]],
    }


def write(folder: Path, data: Any, name: str = "model.yaml") -> Path:
    path = folder / name
    text = json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the command line in this process (as the console script does); its exit status and stderr."""
    with mock.patch.object(sys, "argv", ["tokensim", *args]), pytest.raises(SystemExit) as info:
        main()
    code = info.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


def one_problem(err: InputError, source: str, path: str, *fragments: str) -> None:
    """The error is one problem, at ``path`` of ``source``, one line holding every fragment."""
    assert [(err.source, p.path) for p in err.problems] == [(source, path)], str(err)
    text = str(err)
    assert "\n" not in text and all(f in text for f in fragments), text


def refused_by_cli(capsys: pytest.CaptureFixture[str], args: list[str], *fragments: str) -> str:
    code, err = cli(capsys, *args)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line
    assert "Traceback" not in err and all(f in err for f in fragments), err
    return err


# --------------------------------------------------------------------------- model files

#: (a change to the tiny model, the field it names, a fragment of the message)
MODEL_CASES = [
    (lambda d: d["nodes"]["app"].update(instances=True), "nodes.app.instances", "a boolean is not a number"),
    (lambda d: d["nodes"]["app"].update(instances=1e20), "nodes.app.instances", "at most 10,000,000"),
    (lambda d: d["nodes"]["app"].update(instances=10**20), "nodes.app.instances", "at most 10,000,000"),
    (lambda d: d["nodes"]["app"].update(instances=2.5), "nodes.app.instances", "must be a whole number, got 2.5"),
    (lambda d: d["nodes"]["app"].update(instances="12"), "nodes.app.instances", "must be a whole number, got '12'"),
    (lambda d: d["nodes"]["app"].update(hosts=False), "nodes.app.hosts", "a boolean is not a number"),
    (lambda d: d["nodes"]["app"].update(tenants=10**7), "nodes.app.tenants", "at most 1,000,000"),
    (lambda d: d["nodes"]["api"].update(records=10**13), "nodes.api.records", "at most 1,000,000,000,000"),
    (lambda d: d["nodes"]["api"].update(sensitivity=1e300), "nodes.api.sensitivity", "at most 1,000,000"),
    (lambda d: d["nodes"]["api"].update(sensitivity=True), "nodes.api.sensitivity", "a boolean is not a number"),
    (
        lambda d: d.update(attacker={"replay_delay": {"distribution": "lognormal", "median": "1h", "sigma": 800}}),
        "attacker.replay_delay.sigma",
        "at most 10",
    ),
    (lambda d: d.update(attacker={"replay_rate": "1e300/h"}), "attacker.replay_rate", "at most 1000/s"),
    (lambda d: d["nodes"]["app"]["leaks"][0].update(rate="1e12/h"), "nodes.app.leaks[0].rate", "at most 1000/s"),
    (lambda d: d["nodes"]["app"].update(request_rate="1e400/h"), "nodes.app.request_rate", "must be a finite number"),
    (lambda d: d["nodes"]["app"].update(log_retention="2000y"), "nodes.app.log_retention", "at most 1000y"),
    (lambda d: d["nodes"]["app"].update(log_retention="0.5ms"), "nodes.app.log_retention", "at least 1ms"),
    (
        lambda d: d["nodes"].update(idp={"kind": "issuer", "propagation_delay": "1e400s"}),
        "nodes.idp.propagation_delay",
        "must be a finite number",
    ),
    (
        lambda d: d.update(defender={"detection_probability": True}),
        "defender.detection_probability",
        "a boolean is not a number",
    ),
    (
        lambda d: d.update(defender={"response_time": {"distribution": "exponential", "mean": "1e6y"}}),
        "defender.response_time.mean",
        "at most 1000y",
    ),
]


@pytest.mark.parametrize(("mutate", "where", "fragment"), MODEL_CASES)
def test_a_model_file_out_of_range_names_the_file_and_field(tmp_path, mutate, where, fragment) -> None:
    data = tiny()
    mutate(data)
    path = write(tmp_path, data, "model.json")  # JSON keeps 1e20 a number (YAML would read it as text)
    with pytest.raises(InputError) as info:
        tokensim.load_model(path)
    one_problem(info.value, str(path), where, fragment)


@pytest.mark.parametrize(("mutate", "where", "fragment"), MODEL_CASES)
def test_a_model_from_python_out_of_range_gets_the_same_message(mutate, where, fragment) -> None:
    data = tiny()
    mutate(data)
    with pytest.raises(InputError) as info:
        tokensim.Architecture.from_dict(data, "mine")
    one_problem(info.value, "mine", where, fragment)


@pytest.mark.parametrize(("mutate", "where", "fragment"), MODEL_CASES[:3] + MODEL_CASES[10:13])
def test_tokensim_run_refuses_the_model_file_with_exit_2(tmp_path, capsys, mutate, where, fragment) -> None:
    data = tiny()
    mutate(data)
    path = write(tmp_path, data, "model.json")
    refused_by_cli(capsys, ["run", str(path), "-n", "1"], f"{path}: {where}: ", fragment)


# --------------------------------------------------------------------------- policies


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("access_ttl", "1e400h", "must be a finite number"),
        ("refresh_ttl", "5000y", "at most 1000y"),
        ("proof_window", "0.1ms", "at least 1ms"),
        ("reuse_grace", "-1s", "must not be negative"),
    ],
)
def test_policy_durations_are_ranged_in_files_options_and_python(tmp_path, capsys, name, value, fragment) -> None:
    path = tmp_path / "pol.yaml"
    path.write_text(f"base: dpop\n{name}: {value}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        tokensim.load_policy(path)
    one_problem(info.value, str(path), name, fragment)
    with pytest.raises(InputError) as info:
        tokensim.preset("dpop", **{name: value})
    one_problem(info.value, "policy dpop", name, fragment)
    refused_by_cli(capsys, ["check", "ci_pipeline", "--set", f"{name}={value}"], f"--set: {name}: ", fragment)


# --------------------------------------------------------------------------- cost files


COST_CASES = [
    ({"weights": {"latency": float("nan")}}, "weights.latency", "must be a finite number, got nan"),
    ({"weights": {"engineering": float("inf")}}, "weights.engineering", "must be a finite number, got inf"),
    ({"sign_ms": {"strongbox": -3}}, "sign_ms.strongbox", "must not be negative, got -3"),
    ({"client_person_days": {"browser": {"dpop": -1}}}, "client_person_days.browser.dpop", "must not be negative"),
    ({"mtls_ms": 1e300}, "mtls_ms", "at most 1,000,000,000"),
    ({"weights": {"unsupported": True}}, "weights.unsupported", "a boolean is not a number"),
    ({"concurrent_refresh_gap_seconds": 0}, "concurrent_refresh_gap_seconds", "must be greater than zero"),
]


@pytest.mark.parametrize(("overrides", "where", "fragment"), COST_CASES)
def test_a_cost_file_refuses_nan_infinite_and_negative_figures(tmp_path, overrides, where, fragment) -> None:
    path = write(tmp_path, overrides, "costs.yaml")  # safe_dump writes .nan and .inf, read back as floats
    with pytest.raises(InputError) as info:
        load_costs(path)
    one_problem(info.value, str(path), where, fragment)


@pytest.mark.parametrize(("overrides", "where", "fragment"), COST_CASES)
def test_cost_overrides_from_python_get_the_same_message(overrides, where, fragment) -> None:
    with pytest.raises(InputError) as info:
        CostModel().with_overrides(overrides, source="mine")
    one_problem(info.value, "mine", where, fragment)


@pytest.mark.parametrize(("overrides", "where", "fragment"), COST_CASES[:3])
def test_run_with_a_bad_cost_file_exits_2(tmp_path, capsys, overrides, where, fragment) -> None:
    path = write(tmp_path, overrides, "costs.yaml")
    refused_by_cli(capsys, ["run", "ci_pipeline", "-n", "1", "--costs", str(path)], f"{path}: {where}: ", fragment)


@pytest.mark.parametrize(("overrides", "where", "fragment"), COST_CASES[:3])
def test_an_experiments_costs_are_checked_like_a_cost_file(tmp_path, overrides, where, fragment) -> None:
    path = write(tmp_path, {"name": "e", "models": ["ci_pipeline"], "policies": ["bearer"], "costs": overrides})
    with pytest.raises(InputError) as info:
        Experiment.from_yaml(path)
    one_problem(info.value, str(path), f"costs.{where}", fragment)


# --------------------------------------------------------------------------- horizons, seeds, replications


@pytest.mark.parametrize(
    ("horizon", "fragment"),
    [
        ("1e400h", "must be a finite number, got '1e400h'"),
        ("101y", "must be at most 100y"),
        ("1000000y", "must be at most 100y"),
        ("0s", "must be greater than zero"),
        ("-1d", "must be greater than zero"),
    ],
)
def test_horizon_is_ranged_on_the_command_line_in_files_and_in_python(tmp_path, capsys, horizon, fragment) -> None:
    refused_by_cli(capsys, ["run", "ci_pipeline", "--horizon", horizon], "--horizon: horizon: ", fragment)
    path = write(tmp_path, {"name": "e", "models": ["ci_pipeline"], "policies": ["bearer"], "horizon": horizon})
    with pytest.raises(InputError) as info:
        Experiment.from_yaml(path)
    one_problem(info.value, str(path), "horizon", fragment)
    for call in (tokensim.simulate, tokensim.replicate):
        with pytest.raises(InputError) as info:
            call("ci_pipeline", horizon=horizon)
        one_problem(info.value, f"{call.__name__}()", "horizon", fragment)


def test_a_horizon_of_infinite_hours_from_python_is_refused() -> None:
    with pytest.raises(InputError, match="horizon: must be a finite number, got inf"):
        tokensim.simulate("ci_pipeline", horizon=math.inf)


@pytest.mark.parametrize("seed", [2**63, 2**64 + 5, -1])
def test_a_seed_outside_int64_is_refused_before_any_run(tmp_path, capsys, seed) -> None:
    fragment = f"must be a whole number from 0 to 2^63 - 1 (seeds are stored as int64), got {seed}"
    refused_by_cli(capsys, ["run", "ci_pipeline", "--seed", str(seed), "--out", str(tmp_path / "r.parquet")], fragment)
    assert not (tmp_path / "r.parquet").exists()
    path = write(tmp_path, {"name": "e", "models": ["ci_pipeline"], "policies": ["bearer"], "seed": seed})
    with pytest.raises(InputError) as info:
        Experiment.from_yaml(path)
    one_problem(info.value, str(path), "seed", fragment)
    for call in (tokensim.simulate, tokensim.replicate):
        with pytest.raises(InputError) as info:
            call("ci_pipeline", seed=seed, horizon="1d")
        one_problem(info.value, f"{call.__name__}()", "seed", fragment)


def test_a_boolean_seed_is_not_a_seed() -> None:
    with pytest.raises(InputError, match=r"seed: .*got True"):
        tokensim.simulate("ci_pipeline", seed=True, horizon="1d")  # type: ignore[arg-type]


def test_the_largest_seed_is_stored_and_read_back_as_given(tmp_path) -> None:
    frame = tokensim.replicate(tiny_arch(), replications=1, seed=2**63 - 1, horizon="30d")
    frame.to_parquet(tmp_path / "r.parquet")
    assert pd.read_parquet(tmp_path / "r.parquet")["seed"].tolist() == [2**63 - 1]
    spec = {"name": "big-seed", "models": [str(write(tmp_path, tiny()))], "policies": ["bearer"]}
    rows = Experiment.from_dict({**spec, "replications": 1, "seed": 2**63 - 1, "horizon": "30d"}).run(
        tmp_path / "sweep", workers=1, progress=False
    )
    assert tokensim.load_results(tmp_path / "sweep")["seed"].tolist() == rows["seed"].tolist() == [2**63 - 1]


@pytest.mark.parametrize("n", ["1000000000", "1000001"])
def test_too_many_replications_on_the_command_line(capsys, n) -> None:
    refused_by_cli(capsys, ["run", "ci_pipeline", "-n", n], "-n: replications: must be at most 1,000,000", f"got {n}")


def test_replications_times_policies_beyond_the_run_limit(capsys) -> None:
    err = refused_by_cli(capsys, ["run", "ci_pipeline", "-n", "600000", "-p", "bearer", "-p", "dpop"])
    assert "600,000 replications x 2 policies = 1,200,000 runs, at most 1,000,000" in err
    with pytest.raises(InputError, match=r"replicate\(\): replications: 600,000 replications x 2 policies"):
        tokensim.replicate("ci_pipeline", ["bearer", "dpop"], replications=600_000)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(10**9, "must be at most 1,000,000"), (True, "a boolean is not a number"), (2.5, "got 2.5"), (0, "at least 1")],
)
def test_replications_from_python(value, fragment) -> None:
    with pytest.raises(InputError) as info:
        tokensim.replicate("ci_pipeline", replications=value)
    one_problem(info.value, "replicate()", "replications", fragment)


@pytest.mark.parametrize(("option", "value"), [("-j", "100000"), ("--dask-local", "5000")])
def test_worker_counts_are_ranged(tmp_path, capsys, option, value) -> None:
    refused_by_cli(capsys, ["sweep", str(tmp_path / "none.yaml"), option, value], f"{option}: ", "at most 1024")


# --------------------------------------------------------------------------- experiment files


def experiment(tmp_path: Path, **fields: Any) -> Path:
    return write(tmp_path, {"name": "e", "models": ["ci_pipeline"], "policies": ["bearer"], **fields}, "exp.yaml")


@pytest.mark.parametrize(
    ("fields", "where", "fragment"),
    [
        (
            {"replications": 10**9},
            "replications",
            "must be at most 1,000,000 (the most replications tokensim plans), got 1000000000",
        ),
        ({"replications": True}, "replications", "a boolean is not a number"),
        ({"seed": True}, "seed", "got True"),
        (
            {"design_options": {"samples": True}, "design": "lhs", "factors": {"policy.access_ttl": [1]}},
            "design_options.samples",
            "boolean",
        ),
        ({"until": {"max_replications": 10**7}}, "until.max_replications", "at most 1,000,000"),
        ({"until": {"rel_ci": float("inf")}}, "until.rel_ci", "must be a finite number"),
        ({"factors": {"policy.access_ttl": {"low": "1h", "high": math.inf}}}, "factors.policy.access_ttl", "finite"),
        ({"factors": {"policy.access_ttl": {"low": "1h", "high": "1e400h"}}}, "factors.policy.access_ttl", "finite"),
        (
            {"factors": {"policy.access_ttl": {"low": 1, "high": 2, "steps": 10**6}}},
            "factors.policy.access_ttl.steps",
            "at most 100,000",
        ),
    ],
)
def test_experiment_numbers_out_of_range(tmp_path, fields, where, fragment) -> None:
    path = experiment(tmp_path, **fields)
    with pytest.raises(InputError) as info:
        Experiment.from_yaml(path)
    one_problem(info.value, str(path), where, fragment)


def test_a_ten_billion_point_grid_is_refused_with_its_count_before_planning(tmp_path) -> None:
    ranges = {f"policy.{p}": {"low": "1h", "high": "8h", "steps": 100_000} for p in ("access_ttl", "refresh_ttl")}
    path = experiment(tmp_path, factors=ranges)
    with pytest.raises(InputError) as info:
        Experiment.from_yaml(path)  # enumerating the grid would exhaust memory: this returns at once
    one_problem(
        info.value,
        str(path),
        "factors",
        "the grid has 100,000 x 100,000 = 10,000,000,000 points, x 1 model = 10,000,000,000 model variants;",
        "at most 100,000",
    )


def test_a_sampled_design_too_large_names_its_samples(tmp_path) -> None:
    factors = {"policy.access_ttl": {"low": "1h", "high": "8h"}, "attacker.replay_rate": {"low": "1/h", "high": "9/h"}}
    path = experiment(tmp_path, design="sobol", design_options={"samples": 50_000}, factors=factors)
    with pytest.raises(InputError) as info:
        Experiment.from_yaml(path)
    one_problem(info.value, str(path), "design_options.samples", "50,000 samples has 200,000 points")


def test_too_many_runs_counts_the_replications_until_may_add(tmp_path) -> None:
    path = experiment(tmp_path, replications=10, until={"max_replications": 600_000}, policies=["bearer", "dpop"])
    with pytest.raises(InputError) as info:
        Experiment.from_yaml(path)
    one_problem(
        info.value,
        str(path),
        "until.max_replications",
        "1 model variant x 2 policies x 600,000 replications = 1,200,000 runs; at most 1,000,000",
    )


@pytest.mark.parametrize("design", ["grid", "lhs", "sobol", "morris"])
def test_the_counted_size_of_a_design_is_its_size(design) -> None:
    factors: dict[str, Any] = {
        "policy.access_ttl": {"low": 1, "high": 8, "steps": 3},
        "policy.rotation": [False, True],
        "attacker.replay_rate": {"low": 1, "high": 9, "log": True},
    }
    spec = Experiment.from_dict(
        {"name": "s", "models": ["ci_pipeline"], "policies": ["bearer"], "design": design, "factors": factors}
        | {"design_options": {"samples": 4}, "replications": 1}
    ).spec
    assert point_count(spec) == len(design_points(spec)) == {"grid": 12, "lhs": 4, "sobol": 20, "morris": 16}[design]


# --------------------------------------------------------------------------- expected leaks of a run


def test_a_leak_rate_inside_its_range_that_would_run_for_hours_is_refused_with_the_estimate(tmp_path, capsys) -> None:
    data = tiny()
    data["nodes"]["app"]["leaks"][0]["rate"] = "1000/s"
    path = write(tmp_path, data)
    fragment = "3.6e+06/h on 1 instance over a horizon of 1d is about 8.64e+07 leaks per run; at most 1,000,000"
    refused_by_cli(capsys, ["run", str(path), "--horizon", "1d"], f"{path}: nodes.app.leaks[0].rate: ", fragment)
    with pytest.raises(InputError) as info:
        tokensim.simulate(path, horizon="1d")
    one_problem(info.value, str(path), "nodes.app.leaks[0].rate", fragment)


def test_a_host_compromise_counts_hosts_and_the_estimate_adds_every_leak() -> None:
    data = tiny(instances=1000, hosts=10)
    data["nodes"]["app"]["leaks"] = [
        {"vector": "host_compromise", "rate": "1/h", "dwell": "1h"},
        {"vector": "malware", "rate": "0.2/h"},
    ]
    arch = tokensim.Architecture.from_dict(data)
    assert [(load.units, load.expected) for load in leak_loads(arch, 100.0)] == [(10, 1000.0), (1000, 20_000.0)]
    check_run(arch, 40.0)  # 40 x (10 + 200) = 8,400 leaks: accepted
    with pytest.raises(InputError) as info:
        check_run(arch, 5000.0)  # 5000 x 210 = 1,050,000
    one_problem(
        info.value, "<python>", "nodes.app.leaks[1].rate", "about 1e+06 leaks", "all its leaks together: about 1.05e+06"
    )


def test_a_thief_whose_requests_could_overflow_a_64_bit_counter_is_refused() -> None:
    data = tiny(instances=limits.INSTANCES.high, leaks=[])
    data["nodes"]["edge"] = {"kind": "proxy", "logs_tokens": True, "leaks": [{"vector": "log", "rate": 1 / 8760}]}
    data["edges"] = [["app", "edge"], ["edge", "api"]]
    data["attacker"] = {"replay_rate": limits.RATE.high}
    arch = tokensim.Architecture.from_dict(data, "big.yaml")
    check_run(arch, 24.0)  # a day: one log leak in 365 expected, 2.7e4 families: 2.4e15 requests at most
    with pytest.raises(InputError) as info:
        tokensim.simulate(arch, horizon="100y")  # 100 log leaks of 10^7 families: 3.2e21 requests
    one_problem(info.value, "big.yaml", "attacker.replay_rate", "on the 1e+09 credential families", "3.15e+21 requests")


def test_a_sweep_whose_factor_makes_one_point_too_heavy_is_refused_before_any_run(tmp_path) -> None:
    model = write(tmp_path, tiny())
    path = experiment(tmp_path, models=[str(model)], factors={"nodes.app.leaks[0].rate": ["1/year", "1000/s"]})
    with pytest.raises(InputError) as info:
        Experiment.from_yaml(path)
    one_problem(info.value, f"{path}: models[0] at design point 1", "nodes.app.leaks[0].rate", "leaks per run")


# --------------------------------------------------------------------------- unit parsers and the process


@pytest.mark.parametrize(
    ("parse", "text"), [(parse_duration, "1e400h"), (parse_duration, math.nan), (parse_rate, "1e999/day")]
)
def test_the_unit_parsers_refuse_what_is_not_finite(parse, text) -> None:
    with pytest.raises(UnitError, match="must be a finite number"):
        parse(text)


def test_the_console_script_exits_2_with_one_line_and_no_traceback() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "tokensim", "run", "ci_pipeline", "--horizon", "1e400h"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2
    assert res.stderr == "error: --horizon: horizon: must be a finite number, got '1e400h'\n"


# --------------------------------------------------------------------------- values at the bounds run


def tiny_arch(**client: Any) -> tokensim.Architecture:
    return tokensim.Architecture.from_dict(tiny(**client))


#: docs/model.md: the fields that are NaN by definition (no family was ever usable; no `loss:` section).
NAN_IF_NONE = {"time_to_containment_hours", "loss"}


def finite_record(record: dict[str, Any]) -> None:
    """Every number of the record is finite (NaN only where docs/model.md defines it so)."""
    numbers = {k: v for k, v in record.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    bad = {k: v for k, v in numbers.items() if not math.isfinite(v) and not (k in NAN_IF_NONE and math.isnan(v))}
    assert numbers and not bad, bad


def test_a_run_at_every_upper_bound_at_once_finishes_without_overflow() -> None:
    """The longest horizon, the widest delay, the fastest thief and client, the heaviest API and cost weights."""
    data = tiny(request_rate="1000/s", log_retention="1000y", tenants=limits.TENANTS.high)
    data["nodes"]["app"]["leaks"] = [{"vector": "malware", "rate": "1/year", "dwell": "1000y"}]
    data["nodes"]["api"] |= {
        "sensitivity": 1e6,
        "privileged_weight": limits.PRIVILEGED_WEIGHT.high,
        "records": limits.RECORDS.high,
        "records_per_request": limits.RECORDS.high,
        "privileged_fraction": 1,
    }
    money = limits.MONEY.high
    data["loss"] = dict.fromkeys(("per_record", "per_privileged_request", "per_tenant", "per_incident"), money)
    data["attacker"] = {
        "replay_rate": "1000/s",
        "replay_delay": {"distribution": "lognormal", "median": "1ms", "sigma": 10},
    }
    data["defender"] = {"detection_probability": 1, "response_time": "1000y"}
    costs = CostModel().with_overrides({"weights": dict.fromkeys(("engineering", "latency", "token_endpoint"), 1e9)})
    for policy in (tokensim.preset("bearer", access_ttl="1000y", refresh_ttl="1000y"), "dpop"):
        record = tokensim.simulate(
            tokensim.Architecture.from_dict(data), policy, seed=2**63 - 1, horizon="100y", costs=costs
        ).record
        finite_record(record)
        assert math.isfinite(record["loss"]) and record["loss"] > 0
        assert record["horizon_hours"] == 100 * 8760
        if record["policy"] == "bearer":  # a token valid for the whole century, replayed at 1000/s
            assert record["unauthorized_requests"] > 10**12


def test_the_shortest_durations_and_largest_population_run_without_overflow() -> None:
    arch = tiny_arch(instances=limits.INSTANCES.high, leaks=[{"vector": "malware", "rate": 1e-12}])
    policy = tokensim.preset("dpop", access_ttl="1ms", refresh_ttl="1ms", proof_window="1ms", jit_ttl="1ms", jit=True)
    record = tokensim.simulate(arch, policy, horizon="100y").record
    finite_record(record)
    assert record["token_endpoint_rps"] > 1e9  # a renewal every millisecond by ten million instances: large, finite


@settings(max_examples=25, deadline=None)
@given(
    sigma=st.floats(0, limits.SIGMA.high),
    median=st.floats(limits.DURATION.low, limits.DURATION.high),
    replay=st.floats(0, limits.RATE.high),
    ttl=st.floats(limits.DURATION.low, limits.DURATION.high),
    sensitivity=st.floats(1e-300, limits.SENSITIVITY.high),
)
def test_any_accepted_values_run_to_a_finite_record(sigma, median, replay, ttl, sensitivity) -> None:
    data = tiny()
    data["nodes"]["app"]["leaks"][0]["rate"] = "12/year"
    data["nodes"]["api"]["sensitivity"] = sensitivity
    data["attacker"] = {
        "replay_rate": replay,
        "replay_delay": {"distribution": "lognormal", "median": median, "sigma": sigma},
    }
    arch = tokensim.Architecture.from_dict(data)  # from Python: numbers are hours and per hour
    finite_record(tokensim.simulate(arch, tokensim.preset("bearer", access_ttl=ttl), horizon="1y").record)


def test_the_built_in_models_and_experiments_are_inside_every_range() -> None:
    from tokensim.builtin import builtin_models

    for name in builtin_models():
        check_run(tokensim.load_model(name), limits.HORIZON.high / 10)  # a decade of every built-in model
    for path in sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml")):
        Experiment.from_yaml(path)
