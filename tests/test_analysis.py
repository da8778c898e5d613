"""Analysis (tokensim.analysis): known answers on constructed data, and real runs end to end.

Constructed tables pin the definitions (Pareto front, knee, intervals, recommendation);
real runs check what users rely on: common random numbers make paired intervals tight,
and a Sobol or Morris sweep goes through SALib with the experiment's own problem.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tokensim
from tokensim.analysis import (
    config_labels,
    configuration_columns,
    interval_table,
    knee_point,
    mean_ci,
    morris_screening,
    paired_differences,
    pareto_front,
    recommend,
    sensitivity,
    sobol_indices,
    summarise,
    tradeoff_table,
)
from tokensim.errors import InputError
from tokensim.experiment.designs import design_matrix, problem

# -- constructed data ---------------------------------------------------------------------------


def _results(configs: dict[str, tuple[float, list[float]]]) -> pd.DataFrame:
    """Result rows: per policy a fixed integration cost and one blast radius per replication."""
    rows = []
    for policy, (cost, blasts) in configs.items():
        for r, blast in enumerate(blasts):
            rows.append(
                {
                    "model": "m",
                    "policy": policy,
                    "access_ttl": 1.0,
                    "seed": 1,
                    "replication": r,
                    "blast_radius": blast,
                    "integration_cost": cost,
                    "config_hash": policy,
                }
            )
    return pd.DataFrame(rows)


def _points(pairs: list[tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["cost", "blast"], index=[f"p{i}" for i in range(len(pairs))])


def test_pareto_front_drops_dominated_points_keeps_ties_and_sorts_by_cost():
    table = _points([(3, 3), (1, 10), (4, 4), (2, 5), (3, 3), (5, 1), (2, 6), (6, 1), (float("nan"), 0)])
    front = pareto_front(table, "cost", "blast")
    # (4,4) is beaten by (3,3); (2,6) by (2,5) at equal cost; (6,1) by (5,1) at equal blast; NaN never counts.
    assert list(front.index) == ["p1", "p3", "p0", "p4", "p5"]
    assert front["cost"].is_monotonic_increasing and front["blast"].is_monotonic_decreasing


def test_knee_is_farthest_below_the_chord_on_normalised_axes():
    front = pareto_front(_points([(1, 10), (2, 5), (3, 3), (5, 1)]), "cost", "blast")
    # Scaled: (0, 1), (0.25, 0.444), (0.5, 0.222), (1, 0); distance below x + y = 1: 0.306 vs 0.278.
    assert knee_point(front, "cost", "blast") == "p1"
    sharp = pareto_front(_points([(0, 100), (1, 2), (10, 0)]), "cost", "blast")
    assert knee_point(sharp, "cost", "blast") == "p1"


def test_knee_falls_back_to_the_point_closest_to_utopia():
    line = pareto_front(_points([(0, 2), (1, 1), (2, 0)]), "cost", "blast")  # straight: nothing below the chord
    assert knee_point(line, "cost", "blast") == "p1"
    two = pareto_front(_points([(5, 9), (7, 1)]), "cost", "blast")  # equidistant ends: the safer one
    assert knee_point(two, "cost", "blast") == "p1"
    ell = pareto_front(_points([(0, 100), (12, 99.9), (12.1, 3)]), "cost", "blast")  # L-shaped: above the chord
    assert knee_point(ell, "cost", "blast") == "p2"
    ties = pareto_front(_points([(2, 2), (2, 2)]), "cost", "blast")
    assert list(ties.index) == ["p0", "p1"] and knee_point(ties, "cost", "blast") == "p0"


def test_intervals_are_student_t_over_replications():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    sem = np.std(values, ddof=1) / math.sqrt(len(values))
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sem)
    assert mean_ci(values) == pytest.approx((4.0, low, high))
    frame = _results({"a": (1.0, values), "b": (2.0, [7.0])})
    table = interval_table(frame, ["blast_radius"], by="policy")
    assert list(table.columns) == ["policy", "n", "blast_radius_mean", "blast_radius_low", "blast_radius_high"]
    assert table.iloc[0][["blast_radius_mean", "blast_radius_low", "blast_radius_high"]].tolist() == pytest.approx(
        [4.0, low, high]
    )
    assert table.iloc[1][["blast_radius_low", "blast_radius_high"]].tolist() == [7.0, 7.0]  # one value: no width
    t90 = stats.t.ppf(0.95, 4) * sem
    long = summarise(frame, "blast_radius", level=0.9)
    assert long.iloc[0][["n", "mean", "ci_low", "ci_high"]].tolist() == pytest.approx([5, 4.0, 4.0 - t90, 4.0 + t90])


def test_summarise_covers_every_metric_by_configuration_and_skips_missing_values():
    frame = _results({"a": (1.0, [1.0, 3.0]), "b": (2.0, [5.0, 5.0])})
    frame["time_to_containment_hours"] = [2.0, np.nan, np.nan, np.nan]
    long = summarise(frame, by=None)
    assert list(long.columns) == ["model", "policy", "metric", "n", "mean", "ci_low", "ci_high"]
    assert set(long["metric"]) == {"blast_radius", "time_to_containment_hours", "integration_cost"}
    ttc = long[long["metric"] == "time_to_containment_hours"].set_index("policy")
    assert (
        ttc.loc["a", "n"] == 1
        and ttc.loc["a", "mean"] == 2.0
        and ttc.loc["b", "n"] == 0
        and math.isnan(ttc.loc["b", "mean"])
    )


def test_summarise_never_pools_models_or_settings_by_default():
    frame = pd.concat(
        [
            _results({"dpop": (1.0, [1.0, 3.0])}).assign(model="m"),
            _results({"dpop": (1.0, [100.0, 300.0])}).assign(model="n"),
        ],
        ignore_index=True,
    )
    long = summarise(frame, "blast_radius")
    assert list(long["model"]) == ["m", "n"] and list(long["mean"]) == [2.0, 200.0]
    pooled = summarise(frame, "blast_radius", by="policy")  # asked for: one mean over both models
    assert list(pooled["mean"]) == [101.0]


def test_tradeoff_table_columns_front_knee_and_labels():
    frame = _results(
        {
            "bearer": (0.0, [900.0, 1100.0]),
            "hybrid": (4.0, [150.0, 250.0]),
            "hybrid2": (6.0, [300.0, 300.0]),
            "dpop": (10.0, [40.0, 60.0]),
            "mtls": (30.0, [20.0, 30.0]),
        }
    )
    table = tradeoff_table(frame)
    assert list(table.columns) == [
        "model",
        "policy",
        "label",
        "n",
        "blast_radius_mean",
        "blast_radius_low",
        "blast_radius_high",
        "integration_cost_mean",
        "integration_cost_low",
        "integration_cost_high",
        "pareto",
        "knee",
    ]
    rows = table.set_index("policy")
    assert rows["label"].to_dict() == {p: p for p in rows.index}  # only the policy varies
    assert rows["pareto"].to_dict() == {"bearer": True, "hybrid": True, "hybrid2": False, "dpop": True, "mtls": True}
    assert table["knee"].sum() == 1 and rows.loc["hybrid", "knee"]  # scaled (0.13, 0.17): farthest below the chord
    assert rows.loc["bearer", "blast_radius_mean"] == 1000.0 and rows.loc["bearer", "n"] == 2


def test_each_model_gets_its_own_front_and_knee():
    a = _results({"bearer": (0.0, [900.0, 1100.0]), "dpop": (10.0, [40.0, 60.0]), "mtls": (30.0, [20.0, 30.0])})
    b = _results({"bearer": (0.0, [9.0, 11.0]), "dpop": (100.0, [4.0, 6.0]), "mtls": (300.0, [2.0, 3.0])}).assign(
        model="n"
    )
    table = tradeoff_table(pd.concat([a, b], ignore_index=True))
    # Across models, model n's bearer (cost 0, blast 10) would dominate all of model m but bearer.
    assert table["pareto"].all() and table.groupby("model")["knee"].sum().to_dict() == {"m": 1, "n": 1}
    assert table["label"].tolist()[:2] == ["m, bearer", "m, dpop"]
    with pytest.raises(InputError, match=r"several models \(m, n\): a recommendation is for one architecture"):
        recommend(pd.concat([a, b]), target=100)


def test_recommendation_picks_the_cheapest_under_target_on_the_interval_with_runner_up():
    frame = _results(
        {
            "bearer": (0.0, [900.0, 1100.0, 1000.0]),
            "hybrid": (5.0, [10.0, 150.0, 80.0]),  # mean 80 < 100, but its interval reaches far above 100
            "dpop": (10.0, [19.0, 20.0, 21.0]),
            "mtls": (12.0, [9.0, 10.0, 11.0]),
        }
    )
    rec = recommend(frame, target=100)
    assert rec.met and rec.choice == {"model": "m", "policy": "dpop"} and rec.label == "dpop"
    assert rec.metric_ci.mean == pytest.approx(20.0) and rec.metric_ci.low < 20.0 < rec.metric_ci.high <= 100
    assert rec.cost_ci.mean == 10.0 and rec.runner_up["label"] == "mtls" and rec.margin == pytest.approx(2.0)
    assert "dpop" in rec.text and "mtls" in rec.text and "95% CI" in rec.text
    assert len(rec.table) == 4
    only = recommend(frame[frame["policy"] != "mtls"], target=100)
    assert only.label == "dpop" and only.runner_up is None and only.margin is None


def test_recommendation_when_no_configuration_meets_the_target():
    frame = _results({"bearer": (0.0, [900.0, 1100.0]), "dpop": (10.0, [40.0, 60.0]), "mtls": (30.0, [45.0, 55.0])})
    rec = recommend(frame, target=5)
    assert not rec.met and rec.label == "dpop" and rec.runner_up is None  # lowest mean (tie with mtls: cheaper)
    assert rec.text.startswith("No configuration keeps blast radius under 5")


def test_one_replication_never_meets_a_target():
    rec = recommend(_results({"dpop": (10.0, [1.0])}), target=100)
    assert not rec.met and "one replication" in rec.text


@pytest.mark.parametrize("target", [0, -3, "50", float("nan"), float("inf"), True, None])
def test_target_must_be_a_positive_number(target):
    with pytest.raises(InputError, match="target: must be a positive number"):
        recommend(_results({"dpop": (10.0, [1.0, 2.0])}), target=target)


def test_missing_metric_column_is_an_input_error():
    frame = _results({"dpop": (10.0, [1.0, 2.0])})
    for call in (
        lambda: tradeoff_table(frame, y="exposure_hour"),
        lambda: summarise(frame, ["exposure_hour"]),
        lambda: recommend(frame, 10, metric="exposure_hour"),
        lambda: paired_differences(frame, ["exposure_hour"], "dpop"),
        lambda: sobol_indices(frame.assign(design_point=0), problem_2d(), "exposure_hour"),
    ):
        with pytest.raises(InputError, match=r"exposure_hour: no such .*column.*metrics present: blast_radius"):
            call()
    with pytest.raises(InputError, match="no result rows"):
        tradeoff_table(frame.iloc[:0])


def _design_rows(skip: set[tuple[str, int, int]] = frozenset()) -> pd.DataFrame:
    """Rows of a sampled design: 2 policies x 3 points x 3 replications (minus ``skip``: policy, point, replication)."""
    rows = [
        {
            "model": "m",
            "policy": pol,
            "design_point": pt,
            "replication": r,
            "blast_radius": 10.0 * pt + r,
            "time_to_containment_hours": np.nan if pt == 0 else float(pt),
        }
        for pol in ("a", "b")
        for pt in range(3)
        for r in range(3)
        if (pol, pt, r) not in skip
    ]
    return pd.DataFrame(rows)


def test_design_average_keeps_replications_that_cover_the_design():
    from tokensim.analysis import design_average

    full = design_average(_design_rows(), ["blast_radius", "time_to_containment_hours"])
    assert list(full.columns) == [
        "model",
        "policy",
        "replication",
        "design_points",
        "blast_radius",
        "time_to_containment_hours",
    ]
    assert list(full["blast_radius"]) == [10.0, 11.0, 12.0] * 2 and full.attrs["left_out_rows"] == 0
    assert set(full["time_to_containment_hours"]) == {1.5}, "a missing value is averaged over the points that have one"
    # b's replication 2 misses point 2 (sequential stopping, an interrupted sweep): left out, counted
    part = design_average(_design_rows({("b", 2, 2)}), "blast_radius")
    assert list(part[part["policy"] == "b"]["replication"]) == [0, 1] and part.attrs["left_out_rows"] == 2
    # b never reached point 2: there is no average over the design to compare
    with pytest.raises(InputError, match="policy 'b': no replication covers every design point"):
        design_average(_design_rows({("b", 2, r) for r in range(3)}), "blast_radius")
    with pytest.raises(InputError, match="by: name the configuration columns"):
        design_average(_design_rows(), "blast_radius", by=())


def test_bad_level_and_text_axes_are_input_errors():
    with pytest.raises(InputError, match="level: confidence level must be a number between 0 and 1, got 2"):
        mean_ci([1.0, 2.0], level=2)
    table = pd.DataFrame({"cost": ["cheap", "dear"], "risk": [1.0, 0.0]})
    for call in (lambda: pareto_front(table, "cost", "risk"), lambda: knee_point(table, "cost", "risk")):
        with pytest.raises(InputError, match="cost: is not a numeric column"):
            call()


def test_unknown_baseline_is_an_input_error():
    frame = _results({"bearer": (0.0, [1.0, 2.0]), "dpop": (10.0, [1.0, 2.0])})
    with pytest.raises(InputError, match="baseline: unknown baseline policy 'mtls'; the results hold: bearer, dpop"):
        paired_differences(frame, ["blast_radius"], "mtls")


def test_labels_show_what_varies_with_durations_readable():
    table = pd.DataFrame(
        {
            "model": ["m", "m", "m"],
            "policy": ["dpop", "dpop", "bearer"],
            "access_ttl": [0.25, 1 / 12, 8.0],
            "rotation": [True, False, True],
            "nodes.edge.leaks[0].rate": [0.5, 0.5, 0.5],
        }
    )
    labels = config_labels(table, list(table.columns))
    assert labels.tolist() == [
        "dpop, access_ttl=15m, rotation",
        "dpop, access_ttl=5m, no rotation",
        "bearer, access_ttl=8h, rotation",
    ]
    sampled = pd.DataFrame(
        {"policy": ["dpop", "dpop"], "access_ttl": [0.0833333, 4.326313], "policy.x": [1.23456, 2.0]}
    )
    assert config_labels(sampled, list(sampled.columns)).tolist() == [
        "access_ttl=5m, policy.x=1.23",
        "access_ttl=4.33h, policy.x=2",
    ]


# -- Sobol and Morris on functions with known indices ------------------------------------------


def problem_2d() -> dict:
    return {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}


def _ishigami_truth(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    return [v1 / total, v2 / total, 0.0], [(v1 + v13) / total, v2 / total, v13 / total]


def test_sobol_indices_recover_the_ishigami_function():
    from SALib.sample import sobol as sobol_sample
    from SALib.test_functions import Ishigami

    prob = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}
    X = sobol_sample.sample(prob, 1024, calc_second_order=False, seed=3)
    y = Ishigami.evaluate(X)
    points = np.arange(len(y))
    # Two replications per point around the true value: the analysis must average them first.
    frame = pd.DataFrame(
        {
            "design_point": np.r_[points, points],
            "policy": "p",
            "replication": np.repeat([0, 1], len(y)),
            "blast_radius": np.r_[y + 1.0, y - 1.0],
            "x1": np.r_[X[:, 0], X[:, 0]],
            "x2": np.r_[X[:, 1], X[:, 1]],
            "x3": np.r_[X[:, 2], X[:, 2]],
        }
    )
    indices = sobol_indices(frame, prob)
    assert list(indices.columns) == ["policy", "metric", "factor", "S1", "S1_conf", "ST", "ST_conf"]
    s1, st = _ishigami_truth()
    assert indices["S1"].to_numpy() == pytest.approx(s1, abs=0.05)
    assert indices["ST"].to_numpy() == pytest.approx(st, abs=0.05)
    assert (indices[["S1_conf", "ST_conf"]] > 0).all().all()
    again = sobol_indices(frame.drop(columns=["x1", "x2", "x3"]), prob, X=X)  # structure checked on X instead
    pd.testing.assert_frame_equal(indices, again)


def test_morris_ranks_the_influential_factor_first():
    from SALib.sample import morris as morris_sample

    prob = {"num_vars": 3, "names": ["big", "small", "tiny"], "bounds": [[0.0, 1.0]] * 3}
    X = morris_sample.sample(prob, 20, num_levels=4, seed=2)
    frame = pd.DataFrame(
        {"design_point": np.arange(len(X)), "policy": "p", "blast_radius": 10 * X[:, 0] + X[:, 1] + 0.1 * X[:, 2] ** 2}
    )
    screening = morris_screening(frame, prob, X)
    assert list(screening.columns) == ["policy", "metric", "factor", "mu_star", "mu_star_conf", "sigma"]
    assert screening.sort_values("mu_star", ascending=False)["factor"].tolist() == ["big", "small", "tiny"]
    assert screening.set_index("factor").loc["big", "mu_star"] == pytest.approx(10.0)  # effect over the whole range
    with pytest.raises(InputError, match="one factor per step"):
        morris_screening(frame, prob, X[::-1].copy() + np.arange(len(X))[:, None])


# -- real runs ------------------------------------------------------------------------------------


def test_paired_intervals_are_narrower_than_unpaired_on_common_random_numbers():
    frame = tokensim.replicate("spa_behind_proxy", ["bearer", "hybrid"], replications=8, seed=1, horizon="30d")
    paired = paired_differences(frame, ["blast_radius"], "bearer").iloc[0]
    bearer = frame.loc[frame["policy"] == "bearer", "blast_radius"].to_numpy()
    hybrid = frame.loc[frame["policy"] == "hybrid", "blast_radius"].to_numpy()
    assert paired["n"] == 8 and paired["mean_difference"] == pytest.approx(hybrid.mean() - bearer.mean())
    unpaired = stats.ttest_ind(hybrid, bearer, equal_var=False).confidence_interval(0.95)
    assert unpaired.high - unpaired.low > 0
    assert paired["ci_high"] - paired["ci_low"] < 0.1 * (unpaired.high - unpaired.low)


def test_configuration_columns_of_a_replicate_frame():
    ttl = tokensim.preset("dpop", access_ttl="5m")
    frame = tokensim.replicate("spa_behind_proxy", ["bearer", "dpop", ttl], replications=2, seed=1, horizon="5d")
    assert configuration_columns(frame) == ["model", "policy", "access_ttl"]
    assert sorted(tradeoff_table(frame)["label"]) == [
        "bearer, access_ttl=1h",
        "dpop, access_ttl=1h",
        "dpop, access_ttl=5m",
    ]


@pytest.fixture(scope="module")
def grid_sweep():
    exp = tokensim.Experiment.from_dict(
        {
            "name": "grid",
            "models": ["spa_behind_proxy"],
            "policies": ["bearer", "dpop"],
            "factors": {"policy.access_ttl": ["5m", "1h"], "policy.rotation": [False, True]},
            "replications": 2,
            "seed": 3,
            "horizon": "5d",
        }
    )
    return exp, exp.run(workers=1, progress=False)


def test_sweep_configurations_recommendation_and_paired_differences_within(grid_sweep):
    _, frame = grid_sweep
    assert configuration_columns(frame) == ["model", "policy", "access_ttl", "rotation"]
    table = tradeoff_table(frame)
    assert len(table) == 8 and set(table["n"]) == {2} and table["knee"].sum() == 1
    assert "dpop, access_ttl=5m, rotation" in set(table["label"])
    rec = recommend(frame, target=1e9)
    assert rec.met and rec.choice["policy"] == "bearer"  # everything meets a huge target: the cheapest wins
    diffs = paired_differences(frame, ["integration_cost"], "bearer", within=["access_ttl", "rotation"])
    assert len(diffs) == 4 and (diffs["n"] == 2).all()
    with pytest.raises(InputError, match="add the columns a sweep varied"):
        paired_differences(frame, ["blast_radius"], "bearer")  # replication alone does not identify a pair


def test_grid_results_are_refused_by_sobol(grid_sweep):
    exp, frame = grid_sweep
    with pytest.raises(InputError, match="not from a Sobol design"):
        sobol_indices(frame, problem(exp.spec))
    with pytest.raises(
        InputError, match="sensitivity needs design: sobol or morris; experiment 'grid' uses design: grid"
    ):
        sensitivity(exp, frame)


def test_a_small_sobol_sweep_runs_end_to_end_through_sensitivity():
    exp = tokensim.Experiment.from_dict(
        {
            "name": "sobol",
            "models": ["spa_behind_proxy"],
            "policies": ["bearer", "dpop"],
            "factors": {
                "attacker.replay_rate": {"low": "1/h", "high": "100/h", "log": True},
                "policy.access_ttl": {"low": "5m", "high": "8h"},
            },
            "design": "sobol",
            "design_options": {"samples": 8},
            "replications": 1,
            "seed": 5,
            "horizon": "10d",
        }
    )
    frame = exp.run(workers=1, progress=False)
    assert frame["design_point"].nunique() == len(design_matrix(exp.spec)) == 8 * 4
    indices = sensitivity(exp, frame, metric=["blast_radius", "integration_cost"], transform="log1p")
    assert list(indices.columns) == ["policy", "metric", "factor", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(indices) == 2 * 2 * 2
    bearer = indices[(indices["policy"] == "bearer") & (indices["metric"] == "blast_radius")]
    assert bearer["factor"].tolist() == ["attacker.replay_rate", "policy.access_ttl"]
    assert np.isfinite(bearer[["S1", "ST"]].to_numpy()).all()
    other = tokensim.Experiment.from_dict({**exp.spec.model_dump(mode="json"), "seed": 6})
    with pytest.raises(InputError, match="another experiment"):
        sensitivity(other, frame)


def test_a_small_morris_sweep_runs_end_to_end_through_sensitivity():
    exp = tokensim.Experiment.from_dict(
        {
            "name": "morris",
            "models": ["spa_behind_proxy"],
            "policies": ["bearer"],
            "factors": {
                "attacker.replay_rate": {"low": "1/h", "high": "100/h", "log": True},
                "policy.access_ttl": {"low": "5m", "high": "8h"},
            },
            "design": "morris",
            "design_options": {"samples": 4},
            "replications": 1,
            "seed": 5,
            "horizon": "10d",
        }
    )
    frame = exp.run(workers=1, progress=False)
    screening = sensitivity(exp, frame)
    assert screening["factor"].tolist() == ["attacker.replay_rate", "policy.access_ttl"]
    assert (screening["mu_star"] >= 0).all() and screening["mu_star"].notna().all()


def _runs(policy: str, cost: float, blast: list[float], leaks: list[int]) -> list[dict]:
    return [
        {"model": "m", "policy": policy, "replication": r, "integration_cost": cost, "blast_radius": b, "leaks": k}
        for r, (b, k) in enumerate(zip(blast, leaks))
    ]


def test_a_zero_width_interval_is_evidence_only_when_runs_saw_leaks():
    """All-equal replications prove nothing if nothing leaked; they do if the thief was tested."""
    untested = pd.DataFrame(_runs("bearer", 0.0, [0, 0, 0], [0, 0, 0]) + _runs("dpop", 10.0, [0, 0, 0], [0, 0, 0]))
    verdict = recommend(untested, target=1)
    assert not verdict.met and "saw a leak" in verdict.text and "more replications" in verdict.text
    tested = pd.DataFrame(_runs("bearer", 0.0, [50, 0, 80], [2, 0, 3]) + _runs("dpop", 10.0, [0, 0, 0], [2, 0, 3]))
    verdict = recommend(tested, target=1)
    assert verdict.met and verdict.label.startswith("dpop") and verdict.n == 3
    assert "all 3 replications gave 0; 2 of them saw a leak" in verdict.text
    once = pd.DataFrame(_runs("bearer", 0.0, [50, 0, 0], [2, 0, 0]) + _runs("dpop", 10.0, [0, 0, 0], [2, 0, 0]))
    assert not recommend(once, target=1).met  # one leaky replication is not enough


def test_recommendation_counts_the_metric_values_not_the_rows():
    rows = _runs("bearer", 0.0, [5.0, math.nan, math.nan], [1, 1, 1]) + _runs("dpop", 10.0, [1.0, 2.0, 1.5], [1, 1, 1])
    verdict = recommend(pd.DataFrame(rows), target=100)
    assert verdict.met and verdict.label.startswith("dpop")  # bearer has one value: no interval


def test_paired_differences_refuse_to_pool_settings_of_the_compared_policy():
    rows = [{"policy": "bearer", "replication": r, "access_ttl": 1.0, "blast_radius": 100.0} for r in range(5)]
    rows += [
        {"policy": "dpop", "replication": r, "access_ttl": ttl, "blast_radius": b}
        for r in range(5)
        for ttl, b in ((1.0, 10.0), (8.0, 90.0))
    ]
    with pytest.raises(InputError, match="'dpop' has several rows"):
        paired_differences(pd.DataFrame(rows), ["blast_radius"], baseline="bearer")
