"""Policy search (`tokensim optimize`): known optima, presets beaten, kill and resume, executors, bad input."""

from __future__ import annotations

import itertools
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tokensim
from tokensim import analysis
from tokensim.errors import InputError
from tokensim.search import SearchFile, load_search, optimize
from tokensim.search.space import candidate

ROOT = Path(__file__).resolve().parents[1]
#: A space of 2 x 2 x 2 = 8 policies on ci_pipeline, small enough to enumerate.
TOY_SPACE = {"rotation": [False, True], "reuse_detection": [False, True], "revocation_scope": ["family", "all"]}


def toy(**fields: Any) -> SearchFile:
    """The toy search: 8 policies, no refinement (max_replications = replications), two presets."""
    settings: dict[str, Any] = {
        "name": "toy",
        "model": "ci_pipeline",
        "base": "bearer",
        "space": TOY_SPACE,
        "target": 2_500_000,
        "budget": 24,
        "population": 8,
        "replications": 4,
        "max_replications": 4,
        "seed": 5,
        "horizon": "365d",
        "presets": ["bearer", "mtls"],
    }
    return SearchFile.model_validate(settings | fields)


def settings_of(table: pd.DataFrame) -> set[tuple[object, ...]]:
    return {tuple(row[k] for k in TOY_SPACE) for _, row in table.iterrows()}


@pytest.fixture(scope="module")
def toy_result() -> Any:
    return optimize(toy(), workers=1, progress=False)


def test_on_a_toy_space_the_search_finds_the_front_and_answer_an_enumeration_gives(toy_result) -> None:
    base = tokensim.preset("bearer")
    points = [dict(zip(TOY_SPACE, values)) for values in itertools.product(*TOY_SPACE.values())]
    policies = [candidate(base, point, "toy").policy for point in points]
    every = tokensim.replicate("ci_pipeline", policies, replications=4, seed=5, horizon="365d")
    exhaustive = analysis.tradeoff_table(every, by=["policy"])
    searched = toy_result.table[~toy_result.table["preset"]]
    # the same candidate on the same common random numbers: the same numbers as a plain replicate
    means = exhaustive.set_index("policy")["blast_radius_mean"]
    for _, row in searched.iterrows():
        assert row["blast_radius_mean"] == pytest.approx(means[row["policy"]], rel=1e-12)
    front = analysis.pareto_front(searched, "integration_cost_mean", "blast_radius_mean")
    known = exhaustive[exhaustive["pareto"]]
    assert set(front["policy"]) == set(known["policy"])
    best = analysis.recommend(every, 2_500_000, by=["policy"])
    assert toy_result.choice is not None and toy_result.choice.label == best.label
    assert toy_result.choice.metric_ci == best.metric_ci


def test_same_seed_same_front_on_every_executor(toy_result) -> None:
    from tokensim.experiment import local_dask_cluster

    pd.testing.assert_frame_equal(toy_result.table, optimize(toy(), workers=2, progress=False).table)
    with ThreadPoolExecutor(2) as pool:
        pd.testing.assert_frame_equal(toy_result.table, optimize(toy(), executor=pool, progress=False).table)
    client, cluster = local_dask_cluster(2)
    with cluster, client:
        pd.testing.assert_frame_equal(toy_result.table, optimize(toy(), executor=client, progress=False).table)
    other = optimize(toy(seed=6), workers=1, progress=False)
    assert list(other.table["trial"]) != list(toy_result.table["trial"])  # another seed searches otherwise


class _Killed(ThreadPoolExecutor):
    """A pool whose ``after``-th task dies as a Ctrl-C does (the search is killed in its middle)."""

    def __init__(self, after: int) -> None:
        super().__init__(2)
        self.left = after

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.left -= 1
        if self.left < 0:

            def interrupted(*_: Any) -> Any:
                raise KeyboardInterrupt

            return super().submit(interrupted)
        return super().submit(fn, *args, **kwargs)


def test_a_killed_search_resumes_to_the_same_front(toy_result, tmp_path: Path) -> None:
    spec = toy(max_replications=8, rel_ci=0.01)  # refinement too: the kill may fall in it or before
    whole = optimize(spec, workers=1, progress=False)
    for after in (3, 9):
        folder = tmp_path / f"killed-{after}"
        with _Killed(after) as pool, pytest.raises(KeyboardInterrupt):
            optimize(spec, out=folder, executor=pool, progress=False)
        stored = len(tokensim.load_results(folder))
        assert 0 < stored < len(whole.rows)
        resumed = optimize(spec, out=folder, resume=True, workers=1, progress=False)
        pd.testing.assert_frame_equal(whole.table, resumed.table)
        assert len(tokensim.load_results(folder)) == len(whole.rows)  # no run stored twice
    with pytest.raises(InputError, match="--resume"):
        optimize(spec, out=tmp_path / "killed-3", workers=1, progress=False)


def test_a_larger_budget_continues_the_same_search(tmp_path: Path) -> None:
    first = optimize(toy(budget=8), out=tmp_path, workers=1, progress=False)
    more = optimize(toy(budget=16), out=tmp_path, resume=True, workers=1, progress=False)
    trials = lambda t: dict(zip(t["policy"], t["trial"]))  # noqa: E731
    started = {name: trial for name, trial in trials(first.table).items() if not pd.isna(trial)}
    assert started.items() <= trials(more.table).items()


@pytest.mark.parametrize(
    ("model", "file"), [("ci_pipeline", "ci_pipeline.yaml"), ("spa_behind_proxy", "spa_behind_proxy.yaml")]
)
def test_the_search_finds_a_policy_at_least_as_good_as_the_best_preset(model: str, file: str, tmp_path: Path) -> None:
    found = optimize(ROOT / "experiments" / "searches" / file, model=model, out=tmp_path, workers=2, progress=False)
    assert found.best_preset is not None
    cost, harm = found.best_preset.cost_ci.mean, found.best_preset.metric_ci.mean
    searched = found.front[~found.front["preset"]]
    at_least = searched[(searched["integration_cost_mean"] <= cost) & (searched["blast_radius_mean"] <= harm)]
    assert len(at_least), f"no candidate on the front is as good as {found.best_preset.label} on both objectives"
    assert "at least as good on both" in found.text
    if model == "ci_pipeline":  # the figures docs/decisions.md quotes ("What the checks show")
        assert found.choice is not None and found.choice.met and not found.best_preset.met
        assert found.best_preset.label == "mtls"
        chosen = found.table.set_index("policy").loc[found.choice.label]
        assert (chosen["access_ttl"], chosen["revocation_scope"], chosen["n"]) == ("5m", "all", 16)
        assert (chosen["low_risk"], chosen["privileged"]) == ("bearer", "bearer")
        assert round(found.choice.metric_ci.mean / 1e6, 2) == 1.33
        assert (round(found.choice.metric_ci.low / 1e6, 2), round(found.choice.metric_ci.high / 1e6, 2)) == (1.17, 1.48)
        assert len(found.rows) == 504 and int((found.table["n"] == 16).sum()) == 28 and len(found.table) == 42
        assert (
            round(found.best_preset.metric_ci.mean / 1e6, 2) == 1.83
            and round(found.best_preset.cost_ci.mean, 2) == 17.96
        )


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"space": {"acess_ttl": [1, 2]}}, "access_ttl"),
        ({"space": {"overrides.ci.name": ["x"]}}, "overrides.ci.name"),
        ({"space": {"overrides.ci": ["x"]}}, "overrides.CLIENT.PARAMETER"),
        ({"budget": 0}, "budget"),
        ({"replications": 5, "max_replications": 4}, "max_replications"),
        ({"target": -1}, "target"),
        ({"sampler": "cmaes"}, "sampler"),
        ({"space": {"access_ttl": {"low": "1h", "high": "5m"}}}, "access_ttl"),
    ],
)
def test_a_bad_search_file_is_one_message_naming_the_file_and_the_field(tmp_path: Path, edit, field) -> None:
    import yaml

    data = {"name": "bad", "model": "ci_pipeline", "space": {"rotation": [False, True]}} | edit
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as err:
        load_search(path)
    assert str(path) in str(err.value) and field in str(err.value)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokensim",
            "optimize",
            "ci_pipeline",
            "--space",
            str(path),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and field in done.stderr
    assert not (tmp_path / "o").exists()


def test_a_setting_the_policy_refuses_names_the_space(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="space"):
        optimize(toy(space={"access_ttl": ["-5m"]}), workers=1, progress=False)
    with pytest.raises(InputError, match="model"):
        optimize(toy(model=None), workers=1, progress=False)


def test_the_command_prints_the_answer_and_the_front(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "toy.yaml"
    data = toy().model_dump(mode="json") | {"horizon": "365d", "target": 2500000}
    path.write_text(yaml.safe_dump(data))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokensim",
            "optimize",
            "ci_pipeline",
            "--space",
            str(path),
            "--out",
            str(tmp_path / "o"),
            "-j",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "The cheapest candidate meeting the target (2,500,000) is c-" in done.stdout
    assert "the front, cheapest first:" in done.stdout and "revocation_scope" in done.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "tokensim", "results", str(tmp_path / "o")], capture_output=True, text=True
    )
    assert shown.returncode == 0 and "a policy search (tokensim optimize)" in shown.stdout


def test_space_values_are_checked_like_a_policy_file_before_any_run(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "search.yaml"
    space = {"access_ttl": [5, "1h"], "overrides.pipelines.access_ttl": ["-5m"], "rotation": [False, "maybe"]}
    path.write_text(yaml.safe_dump({"name": "units", "model": "ci_pipeline", "space": space}))
    with pytest.raises(InputError) as err:
        optimize(path, out=tmp_path / "o", workers=1, progress=False)
    message = str(err.value)
    assert "space.access_ttl: 5 has no unit" in message
    assert "space.overrides.pipelines.access_ttl" in message and "greater than zero" in message
    assert "space.rotation" in message
    assert not (tmp_path / "o").exists()  # refused before the folder is made


def test_a_candidate_is_beaten_on_paired_differences_not_on_overlapping_intervals() -> None:
    from tokensim.search.refine import contenders

    luck = [10.0, 1000.0, 50.0, 5000.0, 200.0, 20.0]  # shared by both: common random numbers
    rows = []
    for r, shared in enumerate(luck):
        rows.append({"policy": "cheap", "replication": r, "blast_radius": shared, "integration_cost": 1.0})
        rows.append({"policy": "worse", "replication": r, "blast_radius": shared + 5.0, "integration_cost": 2.0})
        rows.append({"policy": "safer", "replication": r, "blast_radius": shared / 2, "integration_cost": 3.0})
    frame = pd.DataFrame(rows)
    spec = toy()
    # worse's own interval overlaps cheap's (the luck dominates), but replication by replication it is 5 worse
    assert contenders(frame, spec) == ["cheap", "safer"]
    moved = frame["replication"].where(frame["policy"] != "worse", frame["replication"] + 10)
    assert contenders(frame.assign(replication=moved), spec) == ["cheap", "worse", "safer"]  # nothing to pair


def _small(tmp_path: Path, **fields: Any) -> Path:
    import yaml

    data = {"name": "s", "model": "ci_pipeline", "space": {"rotation": [False, True]}, "budget": 2, "population": 2}
    data |= {"replications": 2, "max_replications": 2, "horizon": "30d"} | fields
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("fields", "where", "what"),
    [
        ({"harm": "not_a_metric"}, "harm", "unknown metric 'not_a_metric'"),
        ({"cost": "policy"}, "cost", "unknown metric 'policy'"),
        ({"harm": "loss"}, "harm", "has no loss: section"),
        ({"space": {"low_risk": [["bearer"], ["mtls", "dpopp"]]}}, "space.low_risk[1]", "'dpopp'"),
        (
            {"space": {"overrides.nobody.access_ttl": ["5m"]}},
            "space.overrides.nobody.access_ttl[0]",
            "neither a client",
        ),
        ({"space": {"overrides.pipelines.access_ttl": [5]}}, "space.overrides.pipelines.access_ttl", "5 has no unit"),
        ({"base": "nope"}, "base", "unknown policy 'nope'"),
        ({"presets": ["bearer", "bogus"]}, "presets[1]", "unknown policy 'bogus'"),
    ],
)
def test_what_no_run_can_measure_is_refused_before_any_run(tmp_path: Path, fields, where, what) -> None:
    path = _small(tmp_path, **fields)
    with pytest.raises(InputError) as err:
        optimize(path, out=tmp_path / "o", workers=1, progress=False)
    assert f"{path}: {where}: " in str(err.value) and what in str(err.value)
    assert not (tmp_path / "o").exists()


def test_a_seed_beyond_32_bits_searches(tmp_path: Path) -> None:
    found = optimize(_small(tmp_path, seed=9_000_000_000), workers=1, progress=False)
    assert len(found.table) == 4 + 2


def test_the_order_of_the_space_is_part_of_the_search() -> None:
    from tokensim.search.runner import search_hash

    one = toy()
    other = toy(space=dict(reversed(list(TOY_SPACE.items()))))
    assert search_hash(one) != search_hash(other)
    assert search_hash(one) == search_hash(toy(budget=99, target=1.0, description="words"))


def test_a_search_stored_under_another_optuna_is_not_resumed(tmp_path: Path) -> None:
    import json

    path = _small(tmp_path)
    optimize(path, out=tmp_path / "o", workers=1, progress=False)
    manifest = tmp_path / "o" / "manifest.json"
    data = json.loads(manifest.read_text())
    assert data["kind"] == "search" and data["optuna_version"]
    manifest.write_text(json.dumps(data | {"optuna_version": "0.1"}))
    with pytest.raises(InputError, match=r"run with optuna 0\.1"):
        optimize(path, out=tmp_path / "o", resume=True, workers=1, progress=False)
    kept = (tmp_path / "o" / "experiment.yaml").read_text()
    assert "# The search file as written:" in kept and "# The search as run:" in kept


def test_the_text_says_to_prefer_a_preset_that_meets_the_target_for_less(tmp_path: Path) -> None:
    found = optimize(
        _small(tmp_path, space={"rotation": [True]}, target=1e12, presets=["bearer"]), workers=1, progress=False
    )
    assert found.choice is not None and found.choice.met and found.best_preset is not None
    assert found.best_preset.label == "bearer" and found.best_preset.met
    assert found.choice.cost_ci.mean > found.best_preset.cost_ci.mean
    assert "The best preset, bearer, meets the target" in found.text and "prefer the preset bearer" in found.text
