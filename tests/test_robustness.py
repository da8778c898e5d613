"""Robustness (tokensim.analysis.robustness): regret per world, minimax regret and satisficing across worlds.

Hand-made frames pin the definitions (regret, pairing, percentiles, the satisficing count and
its interval, the robust recommendation); a real Latin hypercube sweep checks a dominant policy
has no regret anywhere, and the figure draws one box per policy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from scipy.stats import binomtest

import tokensim
from tokensim.analysis import recommend, recommend_robust, regret, robustness
from tokensim.errors import InputError
from tokensim.viz.regret import regret_figure

COST = {"bearer": 1.0, "hybrid": 5.0, "dpop": 10.0}


def _frame(values: dict[str, list[list[float]]], model: str = "m") -> pd.DataFrame:
    """Result rows: ``values[policy][world][replication]`` is the blast radius; cost fixed per policy."""
    rows = [
        {
            "model": model,
            "design_point": w,
            "policy": policy,
            "replication": r,
            "blast_radius": v,
            "integration_cost": COST.get(policy, 2.0),
        }
        for policy, worlds in values.items()
        for w, reps in enumerate(worlds)
        for r, v in enumerate(reps)
    ]
    return pd.DataFrame(rows)


#: Three worlds, two replications each. World means: bearer 10, 100, 30; hybrid 20, 40, 30; dpop 15, 60, 20.
KNOWN = {
    "bearer": [[8.0, 12.0], [90.0, 110.0], [30.0, 30.0]],
    "hybrid": [[20.0, 20.0], [30.0, 50.0], [25.0, 35.0]],
    "dpop": [[10.0, 20.0], [60.0, 60.0], [20.0, 20.0]],
}


def _regret_of(table: pd.DataFrame, policy: str) -> list[float]:
    return table[table["policy"] == policy].sort_values("design_point")["regret"].tolist()


# -- regret ---------------------------------------------------------------------------------------


def test_regret_of_a_known_frame():
    table = regret(_frame(KNOWN), target=35)
    assert list(table.columns) == [
        "model",
        "design_point",
        "policy",
        "blast_radius",
        "replications",
        "best",
        "regret",
        "relative_regret",
        "satisfies",
    ]
    assert len(table) == 9 and (table["replications"] == 2).all()
    # best per world: 10 (bearer), 40 (hybrid), 20 (dpop)
    assert _regret_of(table, "bearer") == [0.0, 60.0, 10.0]
    assert _regret_of(table, "hybrid") == [10.0, 0.0, 10.0]
    assert _regret_of(table, "dpop") == [5.0, 20.0, 0.0]
    bearer = table[table["policy"] == "bearer"].sort_values("design_point")
    assert bearer["relative_regret"].tolist() == pytest.approx([0.0, 1.5, 0.5])
    assert bearer["satisfies"].tolist() == [True, False, True]


def test_regret_is_zero_everywhere_for_a_policy_best_in_every_world():
    dominant = {
        "dpop": [[1.0, 2.0], [5.0, 5.0], [0.0, 0.0]],
        "bearer": [[3.0, 2.0], [9.0, 7.0], [0.0, 4.0]],
        "hybrid": [[1.5, 2.0], [5.0, 6.0], [1.0, 0.0]],
    }
    table = regret(_frame(dominant))
    assert _regret_of(table, "dpop") == [0.0, 0.0, 0.0]
    assert (table.loc[table["policy"] != "dpop", "regret"] > 0).all()
    assert math.isnan(table[(table["policy"] == "bearer") & (table["design_point"] == 2)]["relative_regret"].iloc[0])
    summary = robustness(_frame(dominant)).set_index("policy")
    assert summary.loc["dpop", "max_regret"] == 0 and summary.loc["dpop", "share_best"] == 1.0
    assert summary.index[0] == "dpop"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(0, 1e6, allow_nan=False), min_size=3, max_size=3),  # one world x replication: 3 policies
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 3),
)
def test_regret_is_never_negative_and_zero_for_the_best_of_each_world(cells, replications):
    rows = [
        {
            "model": "m",
            "design_point": i // replications,
            "replication": i % replications,
            "policy": p,
            "blast_radius": v,
        }
        for i, cell in enumerate(cells)
        for p, v in zip(("a", "b", "c"), cell)
    ]
    table = regret(pd.DataFrame(rows))
    assert (table["regret"] >= 0).all()
    assert (table.groupby("design_point")["regret"].min() == 0).all()
    assert (table["regret"] == table["blast_radius"] - table["best"]).all()


def test_pairing_leaves_a_replication_one_policy_lacks_out_for_all():
    frame = _frame(KNOWN)
    gone = (frame["policy"] == "hybrid") & (frame["design_point"] == 1) & (frame["replication"] == 1)
    table = regret(frame[~gone])
    world1 = table[table["design_point"] == 1].set_index("policy")
    # only replication 0 is paired in world 1: bearer 90, hybrid 30, dpop 60
    assert world1["blast_radius"].to_dict() == {"bearer": 90.0, "hybrid": 30.0, "dpop": 60.0}
    assert (world1["replications"] == 1).all() and world1.loc["bearer", "regret"] == 60.0
    assert (table.loc[table["design_point"] != 1, "replications"] == 2).all()  # other worlds untouched
    assert table.attrs["left_out_rows"] == 2  # bearer's and dpop's replication 1 of world 1


def test_a_metric_missing_for_one_policy_is_unpaired_too():
    frame = _frame(KNOWN)
    frame.loc[
        (frame["policy"] == "dpop") & (frame["design_point"] == 0) & (frame["replication"] == 0), "blast_radius"
    ] = np.nan
    world0 = regret(frame).query("design_point == 0").set_index("policy")["blast_radius"]
    assert world0.to_dict() == {"bearer": 12.0, "hybrid": 20.0, "dpop": 20.0}


def test_a_world_missing_a_policy_is_left_out():
    frame = _frame(KNOWN)
    table = regret(frame[~((frame["policy"] == "dpop") & (frame["design_point"] == 2))])
    assert sorted(table["design_point"].unique()) == [0, 1]
    assert table.attrs["left_out_worlds"] == 1


def test_without_design_points_each_model_is_one_world():
    frame = pd.concat([_frame(KNOWN, "m"), _frame({"bearer": [[5.0]], "dpop": [[1.0]]}, "n")])
    frame = frame[(frame["design_point"] == 0)].drop(columns="design_point")
    table = regret(frame)
    assert list(table.columns[:2]) == ["model", "policy"]
    assert table.set_index(["model", "policy"])["regret"].to_dict() == {
        ("m", "bearer"): 0.0,
        ("m", "hybrid"): 10.0,
        ("m", "dpop"): 5.0,
        ("n", "bearer"): 4.0,
        ("n", "dpop"): 0.0,
    }
    only = regret(frame[frame["model"] == "m"].drop(columns="model"))  # no world column at all: one world
    assert only.set_index("policy")["regret"].to_dict() == {"bearer": 0.0, "hybrid": 10.0, "dpop": 5.0}


# -- robustness -----------------------------------------------------------------------------------


def test_robustness_of_a_known_frame():
    table = robustness(_frame(KNOWN), target=35, percentiles=(0.5, 0.9, 0.999))
    assert table["policy"].tolist() == ["hybrid", "dpop", "bearer"]  # max regret 10, 20, 60
    rows = table.set_index("policy")
    assert rows["max_regret"].to_dict() == {"hybrid": 10.0, "dpop": 20.0, "bearer": 60.0}
    assert rows["mean_regret"].to_dict() == pytest.approx({"hybrid": 20 / 3, "dpop": 25 / 3, "bearer": 70 / 3})
    assert rows.loc["bearer", "regret_p50"] == 10.0 and rows.loc["bearer", "regret_p90"] == pytest.approx(50.0)
    assert "regret_p99.9" in rows.columns
    assert rows["share_best"].to_dict() == pytest.approx({"hybrid": 1 / 3, "dpop": 1 / 3, "bearer": 1 / 3})
    assert (rows["worlds"] == 3).all()


def test_satisficing_share_equals_a_hand_count_with_its_exact_interval():
    frame = _frame(KNOWN)
    table = robustness(frame, target=35).set_index("policy")
    means = frame.groupby(["policy", "design_point"])["blast_radius"].mean()
    for policy in KNOWN:
        hits = int((means[policy] <= 35).sum())  # bearer 10, 30; hybrid 20, 30; dpop 15, 20
        assert hits == 2
        assert table.loc[policy, "satisficing_share"] == hits / 3
        ci = binomtest(hits, 3).proportion_ci(0.95, "exact")
        assert (table.loc[policy, "satisficing_low"], table.loc[policy, "satisficing_high"]) == (ci.low, ci.high)
    assert robustness(frame, target=12).set_index("policy")["satisficing_share"].to_dict() == {
        "hybrid": 0.0,
        "dpop": 0.0,
        "bearer": 1 / 3,
    }


def test_several_models_get_one_row_per_model_and_policy():
    frame = pd.concat([_frame(KNOWN, "m"), _frame({"bearer": [[5.0], [1.0]], "dpop": [[1.0], [1.0]]}, "n")])
    table = robustness(frame)
    assert table[["model", "policy"]].values.tolist() == [
        ["m", "hybrid"],
        ["m", "dpop"],
        ["m", "bearer"],
        ["n", "dpop"],
        ["n", "bearer"],
    ]


# -- a real sweep ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lhs_sweep(tmp_path_factory) -> pd.DataFrame:
    spec = {
        "name": "r",
        "models": ["spa_behind_proxy"],
        "policies": ["bearer", "dpop", "mtls"],
        "factors": {"attacker.replay_delay.median": {"low": 0.05, "high": 10, "log": True}},
        "design": "lhs",
        "design_options": {"samples": 8},
        "replications": 2,
        "seed": 1,
        "horizon": "30d",
    }
    return tokensim.Experiment.from_dict(spec).run(out=tmp_path_factory.mktemp("lhs"), workers=1, progress=False)


def test_a_dominant_policy_of_a_real_sweep_has_no_regret(lhs_sweep):
    means = lhs_sweep.groupby(["design_point", "policy"])["blast_radius"].mean().unstack()
    # What the sweep shows: the page's script cannot replay a DPoP-bound token, so dpop is best in every world
    assert (means["dpop"] <= means.min(axis=1)).all() and (means["dpop"] < means["bearer"]).any()
    table = regret(lhs_sweep)
    assert len(table) == 8 * 3 and (table["replications"] == 2).all() and (table["regret"] >= 0).all()
    assert (table.loc[table["policy"] == "dpop", "regret"] == 0).all()
    summary = robustness(lhs_sweep, target=5000).set_index("policy")
    assert summary.index[0] == "dpop" and summary.loc["dpop", "share_best"] == 1.0
    assert summary.loc["bearer", "max_regret"] == pytest.approx((means["bearer"] - means["dpop"]).max())
    rec = recommend(lhs_sweep, 5000, rank_by="max_regret")
    assert rec.choice == {"model": "spa-behind-proxy", "policy": "dpop"} and rec.n == 2
    assert "minimax regret" in rec.text and rec.question.rank_by == "max_regret"


# -- the robust recommendation ----------------------------------------------------------------------


def test_recommend_by_max_regret_and_by_satisficing():
    frame = _frame(KNOWN)
    by_regret = recommend(frame, 35, rank_by="max_regret")
    assert by_regret.label == "hybrid" and by_regret.choice == {"model": "m", "policy": "hybrid"}
    assert by_regret.runner_up is not None and by_regret.runner_up["policy"] == "dpop"
    assert by_regret.margin == pytest.approx(COST["dpop"] - COST["hybrid"])
    assert not by_regret.met  # hybrid's 40 in world 1 misses 35
    assert by_regret.metric_ci.mean == pytest.approx(30.0) and by_regret.cost_ci.mean == COST["hybrid"]
    assert "least maximum regret" in by_regret.text and "(minimax regret)" in by_regret.text
    # every policy meets 35 in two of three worlds: the tie goes to the cheapest, bearer
    by_share = recommend(frame, 35, rank_by="satisficing")
    assert by_share.label == "bearer" and "(satisficing)" in by_share.text and "2 of 3 worlds" in by_share.text
    assert recommend_robust(frame, 65, "satisficing").label == "hybrid"  # only hybrid meets 65 everywhere
    assert recommend_robust(frame, 65, "satisficing").met


def test_recommend_by_cost_is_unchanged():
    frame = _frame(KNOWN)
    assert recommend(frame, 100, rank_by="cost").text == recommend(frame, 100).text
    assert recommend(frame, 100).question.rank_by == "cost"


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda f: regret(f, metric="blast_radiu"), "blast_radiu"),
        (lambda f: regret(f[f["policy"] == "dpop"]), "policy"),
        (lambda f: regret(f, target=0), "target"),
        (lambda f: regret(f, target=-1), "target"),
        (lambda f: regret(f, target=math.inf), "target"),
        (lambda f: regret(f, target=math.nan), "target"),
        (lambda f: regret(f, target="5"), "target"),
        (lambda f: regret(f, world=("model", "scenario")), "scenario"),
        (lambda f: regret(f, world=("policy",)), "world"),
        (lambda f: regret(f.assign(blast_radius="x")), "blast_radius"),
        (lambda f: regret(pd.concat([f, f.assign(access_ttl=2.0)]).fillna({"access_ttl": 1.0})), "access_ttl"),
        (lambda f: regret(pd.concat([f, f])), "replication"),
        (lambda f: robustness(f, percentiles=(0.5, 1.5)), "percentiles"),
        (lambda f: robustness(f, level=2), "level"),
        (lambda f: recommend(f, 10, rank_by="regret"), "rank_by"),
        (lambda f: recommend(f, 10, rank_by="max_regret", by="policy"), "by"),
        (lambda f: recommend_robust(pd.concat([f, f.assign(model="n")]), 10), "model"),
        (lambda f: recommend_robust(f, 10, cost="engineering_cost"), "engineering_cost"),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InputError) as err:
        call(_frame(KNOWN))
    assert any(p.path == field or field in p.path.split(", ") for p in err.value.problems), str(err.value)


def test_not_a_frame_is_refused():
    with pytest.raises(InputError, match="expected a pandas DataFrame"):
        regret([1, 2, 3])


# -- the figure -----------------------------------------------------------------------------------


def test_regret_figure_has_one_box_per_policy_and_marks_the_max():
    table = regret(_frame(KNOWN), target=35)
    fig = regret_figure(table)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    boxes = sorted(p.get_gid() for p in ax.patches if (p.get_gid() or "").startswith("box|"))
    assert boxes == ["box|bearer", "box|dpop", "box|hybrid"]
    tops = {
        line.get_gid(): float(line.get_xdata()[0]) for line in ax.lines if (line.get_gid() or "").startswith("max|")
    }
    assert tops == {"max|hybrid": 10.0, "max|dpop": 20.0, "max|bearer": 60.0}
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["hybrid", "dpop", "bearer"]  # the most robust on top
    shares = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("satisficing|")]
    assert shares == ["meets the target in\n2 of 3 worlds (67%)"] * 3
    assert not [t for t in regret_figure(regret(_frame(KNOWN))).axes[0].texts if t.get_gid()]


def test_regret_figure_draws_a_panel_per_model_and_refuses_a_frame_without_regret():
    frame = pd.concat([_frame(KNOWN, "m"), _frame({"bearer": [[5.0], [1.0]], "dpop": [[1.0], [1.0]]}, "n")])
    fig = regret_figure(regret(frame))
    assert [ax.get_title() for ax in fig.axes] == ["m", "n"]
    with pytest.raises(InputError, match="regret"):
        regret_figure(_frame(KNOWN))
