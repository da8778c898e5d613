"""Experiments as a user relies on them: files, designs, executors, the result folder, sequential stopping.

The kill-and-resume tests (real processes, SIGKILL) are in test_sweep_resume.py.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import tokensim
from tokensim._version import SEMANTICS
from tokensim.analysis import mean_ci
from tokensim.cli import main
from tokensim.errors import InputError
from tokensim.experiment import Experiment, load_results
from tokensim.experiment.designs import design_points
from tokensim.experiment.executors import SerialExecutor, dask_parallelism, open_executor
from tokensim.experiment.inputs import manifest_inputs
from tokensim.experiment.store import ResultStore
from tokensim.experiment.tasks import make_tasks

ISSUE_EXAMPLE = """\
name: ttl-vs-policy
models: [spa_behind_proxy, saas_broker]
policies: [bearer, hybrid, dpop]
factors:
  policy.access_ttl: [5m, 15m, 1h, 8h]
  policy.rotation: [false, true]
design: grid
replications: 50
seed: 20261125
horizon: 90d
"""

SMALL = """\
name: small
models: [spa_behind_proxy]
policies: [bearer, dpop]
replications: 2
seed: 1
horizon: 7d
"""


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """Run the console entry point in this process (the same code `python -m tokensim` runs)."""
    monkeypatch.setattr(sys, "argv", ["tokensim", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def equal_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


# -- 1. experiment files ---------------------------------------------------------------------


def test_issue_example_loads_and_expands_into_every_run(tmp_path):
    exp = Experiment.from_yaml(write(tmp_path, ISSUE_EXAMPLE))
    spec = exp.spec
    assert spec.models == ["spa_behind_proxy", "saas_broker"]
    assert [p.base for p in spec.policies] == ["bearer", "hybrid", "dpop"]
    assert spec.design == "grid" and spec.replications == 50 and spec.seed == 20261125
    assert spec.horizon == pytest.approx(90 * 24)

    assert len(exp.plan.variants) == 2 * 4 * 2
    runs = exp.runs()
    assert len(runs) == 2 * (4 * 2) * 3 * 50
    assert len({r.run_id for r in runs}) == len(runs)
    assert sorted(r.index for r in runs) == list(range(len(runs)))

    ttl = {"5m": 5 / 60, "15m": 0.25, "1h": 1.0, "8h": 8.0}
    seen = set()
    for variant, policies in zip(exp.plan.variants, exp.plan.policies):
        assert [p.name for p in policies] == ["bearer", "hybrid", "dpop"]
        for pol in policies:
            assert pol.access_ttl == pytest.approx(ttl[variant.factors["policy.access_ttl"]])
            assert pol.rotation is variant.factors["policy.rotation"]
        seen.add((variant.model, variant.factors["policy.access_ttl"], variant.factors["policy.rotation"]))
    assert seen == set(itertools.product(["spa-behind-proxy", "saas-broker"], ttl, [False, True]))

    per_model_policy = pd.Series([(exp.plan.variants[r.variant].model, r.policy.name) for r in runs]).value_counts()
    assert set(per_model_policy) == {8 * 50}


def test_python_entry_points_are_exported():
    assert tokensim.Experiment is Experiment
    assert tokensim.load_results is load_results


def test_model_factors_reach_the_model(tmp_path):
    exp = Experiment.from_yaml(
        write(
            tmp_path,
            SMALL + "factors:\n  nodes.edge.leaks[0].rate: [1/year, 100/year]\n  attacker.replay_delay.median: [30m]\n",
        )
    )
    rates = [v.arch.spec.nodes["edge"].leaks[0].rate for v in exp.plan.variants]
    assert rates == pytest.approx([1 / 8760, 100 / 8760])
    assert {v.arch.spec.attacker.replay_delay.median for v in exp.plan.variants} == {0.5}


BAD_FILES = [
    # (what the file says, the field path the message names, words the message contains)
    ("factors:\n  policy.acess_ttl: [5m]\n", "factors.policy.acess_ttl", "unknown policy parameter"),
    ("factors:\n  nodes.nope.leaks[0].rate: [1/year]\n", "factors.nodes.nope.leaks[0].rate", "'nope'"),
    ("factors:\n  nodes.edge.leaks[5].rate: [1/year]\n", "factors.nodes.edge.leaks[5].rate", "no item [5]"),
    ("factors:\n  policy.access_ttl: []\n", "factors.policy.access_ttl", "empty list"),
    ("design: latin\nfactors:\n  policy.access_ttl: [5m]\n", "design", "'latin'"),
    ("colour: blue\n", "colour", "unknown field"),
    ("factors:\n  policy.access_ttl: [5m, banana]\n", "factors.policy.access_ttl", "banana"),
    # a range with nothing in it, or one that cannot be read, is an input error, not a traceback
    ("design: lhs\nfactors:\n  policy.access_ttl: {low: 8h, high: 5m}\n", "factors.policy.access_ttl", "empty range"),
    ("design: lhs\nfactors:\n  policy.access_ttl: {low: 5m, high: 5m}\n", "factors.policy.access_ttl", "empty range"),
    (
        "design: lhs\nfactors:\n  policy.access_ttl: {low: 5 parsecs, high: 8h}\n",
        "factors.policy.access_ttl",
        "parsecs",
    ),
    (
        "design: lhs\nfactors:\n  policy.access_ttl: {low: 0s, high: 8h, log: true}\n",
        "factors.policy.access_ttl",
        "log",
    ),
    ("design: sobol\n", "", "samples factors"),
    # files write units, factor values included (a rate of 3 would silently mean 3 per hour)
    ("factors:\n  nodes.edge.leaks[0].rate: [3]\n", "factors.nodes.edge.leaks[0].rate", "no unit"),
    ("factors:\n  policy.access_ttl: [1, 2]\n", "factors.policy.access_ttl", "no unit"),
    # found before anything runs
    ("until: {metric: blast_raduis}\n", "until.metric", "unknown metric"),
]


def _with(base: str, extra: str, **replace: str) -> str:
    data = base
    for key, value in replace.items():
        data = "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line for line in data.splitlines()) + "\n"
    return data + extra


@pytest.mark.parametrize(
    "text, field, words",
    [(_with(SMALL, extra), field, words) for extra, field, words in BAD_FILES]
    + [
        (_with(SMALL, "", models="[spa_behind_proxy, no_such_model]"), "models[1]", "no_such_model"),
        (_with(SMALL, "", horizon="90"), "horizon", "no unit"),
        (_with(SMALL, "", policies="[bearer, nope]"), "policies[1]", "nope"),
        (_with(SMALL, "", replications="0"), "replications", ""),
    ],
    ids=[f"{field or 'top'}-{words}" for _, field, words in BAD_FILES]
    + ["unknown-model", "bare-number-horizon", "unknown-policy", "zero-replications"],
)
def test_malformed_files_name_the_file_and_the_field(tmp_path, monkeypatch, capsys, text, field, words):
    path = write(tmp_path, text, "bad.yaml")
    with pytest.raises(InputError) as err:
        Experiment.from_yaml(path)
    message = str(err.value)
    assert "bad.yaml" in message
    assert (f"bad.yaml: {field}: " if field else "bad.yaml: ") in message
    assert words in message

    out = tmp_path / "out"
    code, stdout, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1")
    assert code == 2
    assert stdout == ""
    assert "Traceback" not in stderr
    assert stderr.startswith("error: ") and stderr.count("error: ") == 1
    assert (f"{field}: " if field else "bad.yaml") in stderr
    assert not out.exists(), "nothing runs (or is stored) for a bad file"


def test_bad_file_as_a_real_process_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, SMALL + "factors:\n  policy.acess_ttl: [5m, 1h]\n", "bad.yaml")
    res = subprocess.run(
        [sys.executable, "-m", "tokensim", "sweep", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "bad.yaml: factors.policy.acess_ttl: unknown policy parameter 'acess_ttl'" in lines[0]


@pytest.mark.parametrize(
    "args, words",
    [
        (["-j", "0"], "at least 1"),
        (["--dask", "tcp://127.0.0.1:1", "--dask-local", "2"], "not both"),
        (["--dask-local", "0"], "at least 1"),
        (["--dask", "foo"], "--dask: foo: not a Dask scheduler address"),
        (["--dask", "http://127.0.0.1:8786"], "give one like tcp://HOST:8786"),
    ],
)
def test_bad_sweep_options_exit_2(tmp_path, monkeypatch, capsys, args, words):
    code, _, stderr = cli(monkeypatch, capsys, "sweep", write(tmp_path, SMALL), "--out", tmp_path / "o", *args)
    assert code == 2 and words in stderr and "Traceback" not in stderr
    assert not (tmp_path / "o").exists(), "a refused sweep leaves no output folder behind"


def test_missing_experiment_file_exits_2(tmp_path, monkeypatch, capsys):
    code, _, stderr = cli(monkeypatch, capsys, "sweep", tmp_path / "nope.yaml")
    assert code == 2 and "nope.yaml" in stderr and "Traceback" not in stderr


# -- 2. designs ------------------------------------------------------------------------------


def _spec(design: str, seed: int, factors: dict, **options) -> Experiment:
    return Experiment.from_dict(
        {
            "name": "d",
            "models": ["spa_behind_proxy"],
            "policies": ["bearer"],
            "design": design,
            "seed": seed,
            "replications": 1,
            "horizon": "7d",
            "factors": factors,
            "design_options": options,
        }
    )


RANGES = {
    "policy.access_ttl": {"low": "5m", "high": "8h"},
    "policy.refresh_ttl": {"low": "1d", "high": "30d", "log": True},
}


def test_grid_is_the_full_factorial_whatever_the_seed():
    factors = {
        "policy.access_ttl": ["5m", "1h", "8h"],
        "policy.rotation": [False, True],
        "policy.refresh_ttl": {"low": "1d", "high": "9d", "steps": 3},
    }
    points = design_points(_spec("grid", 1, factors).spec)
    assert len(points) == 3 * 2 * 3
    assert points == design_points(_spec("grid", 2, factors).spec)
    assert sorted({p["policy.refresh_ttl"] for p in points}) == pytest.approx([24.0, 120.0, 216.0])  # read in hours
    combos = {(p["policy.access_ttl"], p["policy.rotation"], round(p["policy.refresh_ttl"])) for p in points}
    assert combos == set(itertools.product(["5m", "1h", "8h"], [False, True], [24, 120, 216]))
    log = design_points(
        _spec("grid", 1, {"policy.access_ttl": {"low": "1h", "high": "100h", "steps": 3, "log": True}}).spec
    )
    assert [p["policy.access_ttl"] for p in log] == pytest.approx([1.0, 10.0, 100.0])


@pytest.mark.parametrize(
    "design, count",
    [("lhs", lambda n, d: n), ("sobol", lambda n, d: n * (d + 2)), ("morris", lambda n, d: n * (d + 1))],
)
def test_sampled_designs_are_reproducible_from_the_seed(design, count):
    points = design_points(_spec(design, 11, RANGES, samples=8).spec)
    assert len(points) == count(8, 2)
    assert points == design_points(_spec(design, 11, RANGES, samples=8).spec)
    assert points != design_points(_spec(design, 12, RANGES, samples=8).spec)
    for p in points:  # ranges are read in hours, log ranges stay inside their ends
        assert 5 / 60 - 1e-9 <= p["policy.access_ttl"] <= 8 + 1e-9
        assert 24 - 1e-6 <= p["policy.refresh_ttl"] <= 720 + 1e-6


def test_lhs_range_in_hours_covers_every_stratum():
    points = design_points(_spec("lhs", 3, {"policy.access_ttl": {"low": "5m", "high": "8h"}}, samples=20).spec)
    low, high = 5 / 60, 8.0
    width = (high - low) / 20
    strata = sorted(int((p["policy.access_ttl"] - low) // width) for p in points)
    assert strata == list(range(20))


def test_categorical_lists_in_sampled_designs_map_to_their_values():
    factors = {"policy.access_ttl": ["5m", "1h", "8h"], "policy.rotation": [False, True]}
    lhs = design_points(_spec("lhs", 5, factors, samples=30).spec)
    ttl = pd.Series([p["policy.access_ttl"] for p in lhs]).value_counts().to_dict()
    rot = pd.Series([p["policy.rotation"] for p in lhs]).value_counts().to_dict()
    assert ttl == {"5m": 10, "1h": 10, "8h": 10}  # 30 strata, 10 per category
    assert rot == {False: 15, True: 15}
    for design in ("sobol", "morris"):
        for p in design_points(_spec(design, 5, factors, samples=4).spec):
            assert p["policy.access_ttl"] in ("5m", "1h", "8h") and p["policy.rotation"] in (False, True)


def test_sampled_points_are_what_the_runs_use():
    exp = _spec(
        "lhs",
        9,
        {
            "policy.access_ttl": {"low": "5m", "high": "8h"},
            "policy.rotation": [False, True],
            "nodes.edge.leaks[0].rate": {"low": "1/year", "high": "10/year"},
        },
        samples=4,
    )
    frame = exp.run(workers=1, progress=False)
    assert len(frame) == 4
    assert list(frame["access_ttl"]) == pytest.approx(list(frame["policy.access_ttl"]))
    assert list(frame["rotation"]) == list(frame["policy.rotation"])
    rates = [v.arch.spec.nodes["edge"].leaks[0].rate for v in exp.plan.variants]
    assert rates == pytest.approx(list(frame["nodes.edge.leaks[0].rate"]))
    assert all(1 / 8760 <= r <= 10 / 8760 for r in rates)


def test_repeated_design_points_still_get_distinct_run_ids():
    # Morris trajectories on a few levels revisit points; each run must keep its own id,
    # or --resume would take a stored twin for a run that never ran.
    exp = _spec(
        "morris", 3, {"policy.access_ttl": {"low": "5m", "high": "8h"}, "policy.rotation": [False, True]}, samples=4
    )
    points = [tuple(p.items()) for p in design_points(exp.spec)]
    assert len(set(points)) < len(points), "this design was meant to repeat points"
    runs = exp.runs()
    assert len({r.run_id for r in runs}) == len(runs)


# -- 3. executors and pairing ----------------------------------------------------------------

PAIRED = """\
name: paired
models: [spa_behind_proxy]
policies: [bearer, hybrid, dpop]
factors:
  policy.access_ttl: [5m, 1h]
design: grid
replications: 6
seed: 3
horizon: 14d
"""


@pytest.fixture(scope="module")
def paired_experiment(tmp_path_factory):
    return Experiment.from_yaml(write(tmp_path_factory.mktemp("paired"), PAIRED))


@pytest.fixture(scope="module")
def serial_frame(paired_experiment):
    return paired_experiment.run(workers=1, progress=False)


def _profiler_enabled() -> bool:
    import dask
    import distributed  # noqa: F401  (loads its configuration defaults)

    return bool(dask.config.get("distributed.worker.profile.enabled"))


def _tick() -> str:
    import dask

    return str(dask.config.get("distributed.admin.tick.interval"))


def test_serial_process_pool_threads_and_dask_agree_row_for_row(paired_experiment, serial_frame):
    from tokensim.experiment import local_dask_cluster

    assert len(serial_frame) == 2 * 3 * 6
    assert list(serial_frame["run_index"]) == list(range(36))
    equal_frames(serial_frame, paired_experiment.run(workers=2, progress=False))
    with ThreadPoolExecutor(2) as pool:
        equal_frames(serial_frame, paired_experiment.run(executor=pool, progress=False))
    caller_setting = _profiler_enabled()
    client, cluster = local_dask_cluster(2)
    with cluster, client:
        # tokensim's cluster: two single-threaded workers without Dask's stack-sampling profiler
        # (it costs pure-Python runs 5-10 % CPU); the caller's own configuration is untouched.
        assert set(client.run(_profiler_enabled).values()) == {False}
        assert set(client.run(_tick).values()) == {"200ms"}  # event-loop checks every 200 ms, not 20
        assert len(client.nthreads()) == 2 and set(client.nthreads().values()) == {1}
        assert _profiler_enabled() == caller_setting and _tick() == "20ms", "the caller's configuration is untouched"
        # tasks are sized for the cluster's threads, not this machine's cores
        assert open_executor(client, None).parallelism == 2
        equal_frames(serial_frame, paired_experiment.run(executor=client, progress=False))


class _FakeClient:
    """What `dask_parallelism` asks of a distributed.Client: its workers' threads."""

    def __init__(self, nthreads: dict[str, int]) -> None:
        self._nthreads = nthreads

    def nthreads(self) -> dict[str, int]:
        return self._nthreads


def test_tasks_are_sized_for_the_executors_parallelism(paired_experiment):
    # A big cluster needs many small tasks to keep every worker busy; a sweep sized for this
    # machine's cores would leave most of a 64-worker cluster idle.
    assert dask_parallelism(_FakeClient({"tcp://a": 3, "tcp://b": 5})) == 8
    assert dask_parallelism(_FakeClient({"tcp://w": 1} | {f"tcp://w{i}": 1 for i in range(63)})) == 64
    assert dask_parallelism(_FakeClient({})) == (os.cpu_count() or 1), "no worker joined yet: this machine's cores"
    with ThreadPoolExecutor(5) as pool:
        # a caller's executor does not say its size: this machine's cores, unless `workers` says
        assert open_executor(pool, None).parallelism == (os.cpu_count() or 1)
        assert open_executor(pool, 5).parallelism == 5
    own = open_executor(None, 3)
    try:
        assert own.parallelism == 3, "a pool tokensim starts knows its size"
    finally:
        own.close()
    assert isinstance(open_executor(None, 1), SerialExecutor)
    runs = paired_experiment.runs(range(100))  # 600 runs: enough for task sizes above the minimum
    plan = paired_experiment.plan
    few, many = make_tasks(plan, runs, 2), make_tasks(plan, runs, 16)
    assert len(many) > len(few)
    for tasks in (few, many):  # every run once, whatever the sizes
        assert sorted(item.columns["run_index"] for task in tasks for item in task.runs) == sorted(
            r.index for r in runs
        )


def test_policies_are_paired_within_each_design_point(serial_frame):
    by_rep = serial_frame.groupby(["design_point", "replication"])
    assert (by_rep["policy"].nunique() == 3).all()
    assert (by_rep["leaks"].nunique() == 1).all()
    assert serial_frame.groupby("design_point")["leaks"].nunique().min() > 1, "leaks vary across replications"
    # the policies do differ, so pairing is not a coincidence of identical runs
    assert serial_frame.groupby("policy")["unauthorized_requests"].sum().nunique() > 1


def test_rows_carry_their_provenance(tmp_path, paired_experiment, serial_frame):
    for column in [
        "run_id",
        "run_index",
        "seed",
        "replication",
        "tokensim_version",
        "config_hash",
        "experiment_hash",
        "design_point",
        "policy.access_ttl",
    ]:
        assert column in serial_frame.columns
    assert serial_frame["run_id"].is_unique
    assert set(serial_frame["seed"]) == {3}
    assert set(serial_frame["tokensim_version"]) == {tokensim.__version__}
    assert set(serial_frame["experiment_hash"]) == {paired_experiment.plan.experiment_hash}
    out = tmp_path / "out"
    stored = paired_experiment.run(out, workers=1, progress=False)
    equal_frames(stored, serial_frame)
    equal_frames(load_results(out), serial_frame)
    assert (out / "experiment.yaml").read_text() == PAIRED
    assert ResultStore(out).manifest()["experiment_hash"] == paired_experiment.plan.experiment_hash


# -- 4. the result folder (the SIGKILL tests are in test_sweep_resume.py) ---------------------

TWO_MODELS = """\
name: two-models
models: [spa_behind_proxy, workload_direct]
policies: [bearer, dpop]
factors:
  policy.access_ttl: [5m, 1h]
replications: 3
seed: 4
horizon: 7d
"""


def _summary(stdout: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(model, policy) -> (done, missing) from `tokensim results` (pandas prints a model once per block)."""
    rows, model = {}, None
    for line in stdout.splitlines():
        words = line.split()
        if len(words) == 4 and words[2].isdigit() and words[3].isdigit():
            model = words[0]
            rows[(model, words[1])] = (int(words[2]), int(words[3]))
        elif len(words) == 3 and words[1].isdigit() and words[2].isdigit() and model is not None:
            rows[(model, words[0])] = (int(words[1]), int(words[2]))
    return rows


def test_results_counts_done_and_missing_then_resume_completes(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, TWO_MODELS)
    exp = Experiment.from_yaml(path)
    full = exp.run(tmp_path / "full", workers=1, progress=False)
    assert len(full) == 2 * 2 * 3 * 2

    # a folder where only some runs made it to disk, as after a crash
    partial = tmp_path / "partial"
    store = ResultStore(partial)
    store.initialise(ResultStore(tmp_path / "full").manifest(), path.read_text(), resume=False)
    keep = full[(full["model"] == "spa-behind-proxy") & ((full["policy"] == "bearer") | (full["replication"] == 0))]
    keep = pd.concat([keep, full[(full["model"] == "workload-direct") & (full["policy"] == "dpop")].head(1)])
    store.append(keep.iloc[:5].to_dict("records"))
    store.append(keep.iloc[5:].to_dict("records"))

    code, stdout, stderr = cli(monkeypatch, capsys, "results", partial)
    assert code == 0, stderr
    assert "two-models" in stdout and exp.plan.experiment_hash in stdout
    assert _summary(stdout) == {
        ("spa-behind-proxy", "bearer"): (6, 0),
        ("spa-behind-proxy", "dpop"): (2, 4),
        ("workload-direct", "bearer"): (0, 6),
        ("workload-direct", "dpop"): (1, 5),
    }

    code, stdout, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", partial, "-j", "1", "--resume")
    assert code == 0, stderr
    result = load_results(partial)
    assert result["run_id"].is_unique
    equal_frames(result, full)
    code, stdout, _ = cli(monkeypatch, capsys, "results", partial)
    assert set(_summary(stdout).values()) == {(6, 0)}


def test_resume_refuses_a_changed_experiment_file(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, SMALL)
    out = tmp_path / "out"
    code, _, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1")
    assert code == 0, stderr
    before = load_results(out)
    changed = write(tmp_path, SMALL.replace("seed: 1", "seed: 2"), "changed.yaml")
    for extra in (["--resume"], []):
        code, _stdout, stderr = cli(monkeypatch, capsys, "sweep", changed, "--out", out, "-j", "1", *extra)
        assert code == 2
        assert "different experiment" in stderr and "Traceback" not in stderr
        assert stderr.count("error: ") == 1
    assert (out / "experiment.yaml").read_text() == SMALL
    equal_frames(load_results(out), before)
    # a new folder is the way out
    code, _, stderr = cli(monkeypatch, capsys, "sweep", changed, "--out", tmp_path / "new", "-j", "1")
    assert code == 0, stderr


def test_second_run_into_a_used_folder_needs_resume(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, SMALL)
    out = tmp_path / "out"
    assert cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1")[0] == 0
    before = load_results(out)
    code, _, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1")
    assert code == 2 and "--resume" in stderr and "Traceback" not in stderr
    equal_frames(load_results(out), before)
    code, _stdout, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1", "--resume")
    assert code == 0, stderr
    assert len(ResultStore(out).parts()) == 1, "nothing to redo, nothing written"
    equal_frames(load_results(out), before)


def test_load_results_refuses_a_folder_that_is_not_a_sweep(tmp_path, monkeypatch, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="not a tokensim results folder"):
        load_results(tmp_path)
    with pytest.raises(InputError):
        load_results(tmp_path / "missing")
    code, _, stderr = cli(monkeypatch, capsys, "results", tmp_path)
    assert code == 2 and "not a tokensim results folder" in stderr and "Traceback" not in stderr


# -- 5. sequential stopping ------------------------------------------------------------------

UNTIL = {
    "name": "until",
    # spa_behind_proxy's unauthorized requests are heavy-tailed (it runs to the cap); workload_direct
    # sees none in a week (a zero-width interval: it stops at once)
    "models": ["spa_behind_proxy", "workload_direct"],
    "policies": ["bearer", "dpop"],
    "factors": {"policy.access_ttl": ["5m", "8h"]},
    "replications": 4,
    "seed": 5,
    "horizon": "7d",
    "until": {"metric": "unauthorized_requests", "rel_ci": 0.5, "max_replications": 12, "batch": 2},
}
# leaks are Poisson-like: the interval narrows, so mobile_gateway stops part-way (10) and
# ci_pipeline, with fewer leaks, runs to the cap (12)
UNTIL_LEAKS = {
    **UNTIL,
    "models": ["mobile_gateway", "ci_pipeline"],
    "horizon": "14d",
    "until": {"metric": "leaks", "rel_ci": 0.2, "max_replications": 12, "batch": 2},
}


@pytest.fixture(scope="module", params=[UNTIL, UNTIL_LEAKS], ids=["unauthorized_requests", "leaks"])
def until_frames(request):
    exp = Experiment.from_dict(request.param)
    return request.param, exp, exp.run(workers=1, progress=False), exp.run(workers=1, progress=False)


def _check_stopping(data: dict, frame: pd.DataFrame) -> dict[tuple[str, int], int]:
    until = data["until"]
    counts = {}
    for (model, point), variant in frame.groupby(["model", "design_point"]):
        per_policy = variant.groupby("policy")["replication"].agg(["size", "max", "nunique"])
        n = int(per_policy["size"].iloc[0])
        assert (per_policy["size"] == n).all(), "paired policies get the same replications"
        assert (per_policy["nunique"] == n).all() and (per_policy["max"] == n - 1).all(), "replications 0..n-1"
        assert data["replications"] <= n <= until["max_replications"]
        assert (n - data["replications"]) % until["batch"] == 0
        if n < until["max_replications"]:
            for _, group in variant.groupby("policy"):
                mean, low, high = mean_ci(group[until["metric"]])
                assert (high - low) / 2 <= until["rel_ci"] * abs(mean) or high == low
        counts[(model, point)] = n
    return counts


def test_sequential_stopping_stops_by_the_cap_and_is_reproducible(until_frames):
    data, exp, first, second = until_frames
    equal_frames(first, second)
    counts = _check_stopping(data, first)
    assert len(counts) == len(exp.plan.variants)
    assert max(counts.values()) == 12 and min(counts.values()) < 12, "some points stop early, some hit the cap"
    if data["until"]["metric"] == "leaks":
        assert set(counts.values()) - {4, 12}, "and some stop part-way, the interval met"
    assert set(first["run_index"]) >= {r.index for r in exp.runs()}, "the first replications always run"


def test_sequential_stopping_agrees_across_executors_and_resume(tmp_path, until_frames):
    _, exp, reference, _ = until_frames
    equal_frames(exp.run(workers=2, progress=False), reference)
    # a sweep stopped during the added batches holds later replications of some points already;
    # resuming must take the same decisions and end with the same rows
    for cut in (4, 6, 8, 10):
        out = tmp_path / f"cut{cut}"
        store = ResultStore(out)
        store.initialise(
            {
                "experiment": exp.spec.name,
                "experiment_hash": exp.plan.experiment_hash,
                "inputs": manifest_inputs(exp.plan.inputs),
                "semantics": SEMANTICS,  # as the runner writes it: a folder of this engine's runs
            },
            exp.text,
            resume=False,
        )
        store.append(reference[reference["replication"] < cut].to_dict("records"))
        resumed = exp.run(out, workers=1, progress=False, resume=True)
        equal_frames(resumed, reference)
        stored = load_results(out)
        assert stored["run_id"].is_unique
        equal_frames(stored, reference)


def test_stopping_decisions_are_a_pure_function_of_the_rows_and_the_counts(until_frames):
    """`units_to_extend` judges only the runs counted so far: rows of later replications change nothing."""
    from tokensim.experiment.stopping import next_replications, stopping_units, units_to_extend

    _, exp, reference, _ = until_frames
    until, start = exp.spec.until, exp.spec.replications
    units = stopping_units(exp.plan)
    counted = {r.run_id: r.variant for r in exp.runs()}
    done = dict.fromkeys(range(len(exp.plan.variants)), start)
    wide = units_to_extend(reference[reference["run_id"].isin(counted)], counted, done, until, units)
    assert wide, "the first replications are not enough for every point"
    assert units_to_extend(reference, counted, done, until, units) == wide, "later replications are not judged"
    added = next_replications(wide, units, done, until, until.batch)
    assert set(added) == {v for u in wide for v in units.members[u]}
    assert set(added.values()) == {range(start, start + until.batch)}


def test_sequential_stopping_of_a_sampled_design_extends_every_point_together():
    # A sampled design is judged as the report reads it: per model and policy, each replication
    # averaged over the design's points; a model's points get their replications together, so
    # no run is left outside the design average.
    from tokensim.analysis import design_average

    data = {
        "name": "until-lhs",
        "models": ["mobile_gateway", "workload_direct"],
        "policies": ["bearer", "dpop"],
        "factors": {"attacker.replay_rate": {"low": "1/h", "high": "60/h"}},
        "design": "lhs",
        "design_options": {"samples": 3},
        "replications": 2,
        "seed": 5,
        "horizon": "60d",
        "until": {"metric": "leaks", "rel_ci": 0.2, "max_replications": 8, "batch": 2},
    }
    exp = Experiment.from_dict(data)
    frame = exp.run(workers=1, progress=False)
    reps = frame.groupby(["model", "design_point", "policy"])["replication"].nunique()
    per_model = reps.groupby(level="model").agg(["min", "max"])
    assert (per_model["min"] == per_model["max"]).all(), "every point of a model has the same replications"
    averaged = design_average(frame, "leaks")
    assert averaged.attrs["left_out_rows"] == 0 and set(averaged["design_points"]) == {3}
    counts = per_model["max"].to_dict()
    for (model, _), group in averaged.groupby(["model", "policy"]):
        mean, low, high = mean_ci(group["leaks"])
        assert len(group) == counts[model]
        if counts[model] < 8:  # stopped early: the design-averaged interval is as tight as asked
            assert (high - low) / 2 <= 0.2 * abs(mean) or high == low
    assert counts == {"mobile-gateway": 6, "workload-direct": 8}, "one model stops part-way, one runs to the cap"


def test_unknown_until_metric_is_refused_before_running():
    with pytest.raises(InputError, match=r"until\.metric: unknown metric 'blast'"):
        Experiment.from_dict({**UNTIL, "until": {"metric": "blast"}})
    assert math.isfinite(Experiment.from_dict(UNTIL).spec.until.rel_ci)


def test_a_sweep_started_from_python_reads_back_from_its_folder(tmp_path, monkeypatch, capsys):
    """Experiment.from_dict stores its spec in hours; the folder still reads back (results, report)."""
    data = {
        "name": "from-python",
        "models": ["workload_direct"],
        "policies": ["bearer", "dpop"],
        "factors": {"policy.access_ttl": ["5m", 2.0]},
        "replications": 2,
        "seed": 3,
        "horizon": "2d",
    }
    exp = tokensim.Experiment.from_dict(data)
    exp.run(out=tmp_path / "out", workers=1, progress=False)
    back = tokensim.Experiment.from_folder(tmp_path / "out")
    assert back.plan.experiment_hash == exp.plan.experiment_hash
    assert [r.run_id for r in back.runs()] == [r.run_id for r in exp.runs()]
    code, stdout, stderr = cli(monkeypatch, capsys, "results", tmp_path / "out")
    assert code == 0, stderr
    assert set(_summary(stdout).values()) == {(4, 0)}  # 2 TTLs x 2 replications per model and policy


def test_from_folder_refuses_an_edited_experiment_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: e\nmodels: [workload_direct]\npolicies: [bearer]\nreplications: 1\nhorizon: 1d\n")
    tokensim.Experiment.from_yaml(path).run(out=tmp_path / "out", workers=1, progress=False)
    stored = tmp_path / "out" / "experiment.yaml"
    stored.write_text(stored.read_text().replace("replications: 1", "replications: 2"))
    with pytest.raises(tokensim.InputError, match="no longer matches"):
        tokensim.Experiment.from_folder(tmp_path / "out")


@pytest.mark.parametrize(
    "command, target, words",
    [
        ("run", "adir.parquet", "is a folder"),
        ("run", "afile.parquet/sub.parquet", "cannot create its folder"),
        ("run-trace", "adir.csv", "is a folder"),
        ("sweep", "afile.parquet", "is a file"),
        ("sweep", "afile.parquet/sub", "cannot create the folder"),
    ],
)
def test_unwritable_outputs_are_refused_before_any_run(tmp_path, monkeypatch, capsys, command, target, words):
    (tmp_path / "adir.parquet").mkdir()
    (tmp_path / "adir.csv").mkdir()
    (tmp_path / "afile.parquet").write_text("not a folder")
    dest = tmp_path / target
    if command == "sweep":
        args = ("sweep", write(tmp_path, TWO_MODELS), "--out", dest, "-j", "1")
    else:
        flag = "--trace" if command == "run-trace" else "--out"
        args = ("run", "workload_direct", "-n", "1", "--horizon", "1d", flag, dest)
    code, stdout, stderr = cli(monkeypatch, capsys, *args)
    assert code == 2 and words in stderr and str(dest) in stderr and "Traceback" not in stderr
    assert stderr.count("\n") == 1 and "runs" not in stdout  # one line, nothing ran


def test_a_policy_setting_a_factor_replaces_is_noted(tmp_path):
    """Issue 14: a policy's own `set:` of a parameter a `policy.*` factor sweeps never runs; the sweep says so."""
    from tokensim.experiment.store import FolderNote

    text = """\
name: overridden
models: [workload_direct]
policies: [bearer, {base: dpop, name: dpop_5m, set: {access_ttl: 5m}}, {base: dpop, name: dpop_nonce, set: {nonce: true}}]
factors:
  policy.access_ttl: [15m, 1h]
replications: 1
seed: 1
horizon: 2d
"""
    (tmp_path / "exp.yaml").write_text(text)
    exp = Experiment.from_yaml(tmp_path / "exp.yaml")
    with pytest.warns(FolderNote) as caught:
        rows = exp.run(workers=1, progress=False)
    notes = [str(w.message) for w in caught if issubclass(w.category, FolderNote)]
    assert len(notes) == 1, notes  # dpop_nonce's nonce is not swept: no note for it
    assert "policies[1] (dpop_5m) sets access_ttl, which factor policy.access_ttl replaces in every run" in notes[0]
    assert set(rows.loc[rows["policy"] == "dpop_5m", "access_ttl"]) == {0.25, 1.0}  # what the note warns of
