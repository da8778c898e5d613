"""Loss in money (issue 13, MODEL-v2 section 6): annual loss, exceedance, loss avoided, return on cost.

Known answers come from a model whose counts are known: one instance whose static key leaks by
secret sprawl at rate m per year (leaks ~ Poisson(m * horizon)), replayed at once and never
detected, so every leak is an incident; one tenant of R records, all returned by the first request.
With ``per_incident`` c and ``per_record`` r a year loses c N + r R 1[N > 0], N ~ Poisson(m):

    E[annual loss] = c m + r R (1 - exp(-m)),   P(annual loss > c (j + 1/2)) = P(N > j)  (r = 0).
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import tokensim
from tokensim import analysis
from tokensim.analysis import LossNote
from tokensim.analysis.loss import HOURS_PER_YEAR
from tokensim.cli import main
from tokensim.errors import InputError
from tokensim.viz import loss_exceedance_figure

RATE = 3.0  # leaks per year (one instance)
RECORDS = 1000


def known_counts(
    per_incident: float = 100.0, per_record: float = 0.0, rate: float = RATE, key: str = "static_key"
) -> dict[str, Any]:
    """The model of the module docstring (``key="hardware"``: an OAuth workload whose hardware-held DPoP
    key a log leak cannot export: bearer loses, dpop and mtls lose nothing)."""
    app: dict[str, Any] = {
        "kind": "client",
        "platform": "workload",
        "instances": 1,
        "supports": ["bearer", "dpop", "mtls"],
    }
    delay = "1s"
    if key == "static_key":
        app |= {"credential": "static_key", "leaks": [{"vector": "secret_sprawl", "rate": f"{rate}/year"}]}
    else:  # replayed after the proof window (a DPoP proof captured with its token is stale by then)
        app |= {"key_storage": "hardware", "leaks": [{"vector": "log", "rate": f"{rate}/year"}]}
        delay = "15m"
    return {
        "name": "known-counts",
        "nodes": {
            "app": app,
            "api": {"kind": "resource", "privileged_fraction": 0.0, "records": RECORDS, "records_per_request": RECORDS},
            "idp": {"kind": "issuer", "revocation": "introspection"},
        },
        "edges": [["app", "api"]],
        "attacker": {"replay_delay": delay, "replay_rate": "1000/h"},
        "defender": {"detection_probability": 0.0, "response_time": "1h"},
        "loss": {"per_incident": per_incident, "per_record": per_record, "currency": "EUR", "day_rate": 800},
    }


def runs(replications: int, seed: int, horizon: str = "1y", policies=("bearer",), **figures: Any) -> pd.DataFrame:
    arch = tokensim.Architecture.from_dict(known_counts(**figures))
    return tokensim.replicate(arch, list(policies), replications=replications, seed=seed, horizon=horizon)


def quiet(function, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LossNote)
        return function(*args, **kwargs)


# --------------------------------------------------------------------------- the model's counts


def test_the_known_counts_model_makes_every_leak_an_incident_with_poisson_leaks() -> None:
    frame = runs(400, seed=1)
    assert (frame["incidents"] == frame["leaks"]).all()
    assert (frame["records_exposed"] == RECORDS * (frame["incidents"] > 0)).all()
    # the leak count is Poisson(m): its mean and variance both m (99% intervals)
    assert stats.ttest_1samp(frame["leaks"], RATE).pvalue > 0.01
    assert stats.chi2(len(frame) - 1).cdf((len(frame) - 1) * frame["leaks"].var() / RATE) > 0.005


# --------------------------------------------------------------------------- mean annual loss: closed form


def test_mean_annual_loss_of_one_year_runs_equals_the_closed_form() -> None:
    c, r = 100.0, 2.0
    frame = runs(600, seed=2, per_incident=c, per_record=r)
    table = analysis.expected_annual_loss(frame, level=0.99)
    row = table.iloc[0]
    expected = c * RATE + r * RECORDS * (1 - math.exp(-RATE))
    assert row["runs_per_year"] == 1 and row["n"] == 600
    assert row["annual_loss_low"] <= expected <= row["annual_loss_high"], (expected, row.to_dict())
    assert row["annual_loss_high"] - row["annual_loss_low"] < 0.1 * expected  # the check has teeth
    p = 1 - math.exp(-RATE)  # a year with any loss: a year with a leak
    assert abs(row["p_any_loss"] - p) < 3.3 * math.sqrt(p * (1 - p) / 600)
    # the years are the runs: the distribution is the loss column itself
    years = analysis.annual_loss(frame)
    np.testing.assert_array_equal(np.sort(years["annual_loss"]), np.sort(frame["loss"]))
    assert years.attrs["composed"] is False


@pytest.mark.parametrize("horizon", ["73d", "60d"])
def test_years_composed_of_shorter_runs_keep_the_closed_form_mean(horizon: str) -> None:
    """73 days: five runs a year; 60 days: 6.08 (six runs, and a seventh with probability 0.08)."""
    c = 100.0
    frame = runs(600, seed=3, horizon=horizon, per_incident=c)
    with pytest.warns(LossNote, match="composed of runs drawn with replacement"):
        table = analysis.expected_annual_loss(frame, level=0.99)
    row = table.iloc[0]
    k = HOURS_PER_YEAR / frame["horizon_hours"].iloc[0]
    assert row["runs_per_year"] == pytest.approx(k)
    assert row["annual_loss_low"] <= c * RATE <= row["annual_loss_high"], row.to_dict()
    years = quiet(analysis.annual_loss, frame, years=40_000, seed=5)
    assert years.attrs["composed"] is True and len(years) == 40_000
    # composed years have k times the mean per run, up to Monte Carlo error
    per_run = frame["loss"]
    sem = math.sqrt(k) * per_run.std() / math.sqrt(40_000)
    assert abs(years["annual_loss"].mean() - k * per_run.mean()) < 4 * sem
    # and the spread of Poisson(m) years: variance c^2 m (30% tolerance: 600 runs, resampled)
    assert years["annual_loss"].var() == pytest.approx(c * c * RATE, rel=0.3)


def test_composed_years_count_saturated_records_once_per_run_as_documented() -> None:
    """The documented upper bound: records saturate per run, so six 60-day runs can expose R six times."""
    r = 2.0
    one_year = analysis.expected_annual_loss(runs(300, seed=4, per_incident=0.0, per_record=r)).iloc[0]
    composed = quiet(analysis.expected_annual_loss, runs(300, seed=4, horizon="60d", per_incident=0.0, per_record=r))
    truth = r * RECORDS * (1 - math.exp(-RATE))
    assert one_year["annual_loss_low"] <= truth <= one_year["annual_loss_high"]
    assert composed.iloc[0]["annual_loss_low"] > 1.5 * truth


def test_runs_longer_than_a_year_give_the_mean_but_no_distribution() -> None:
    frame = runs(200, seed=6, horizon="2y")
    row = quiet(analysis.expected_annual_loss, frame, level=0.99).iloc[0]
    assert row["runs_per_year"] == 0.5
    assert row["annual_loss_low"] <= 100 * RATE <= row["annual_loss_high"]
    assert math.isnan(row["p_any_loss"])
    with pytest.raises(InputError, match="longer than a year"):
        quiet(analysis.annual_loss, frame)
    with pytest.raises(InputError, match="longer than a year"):
        quiet(analysis.loss_exceedance, frame)


# --------------------------------------------------------------------------- the exceedance curve


def synthetic(losses: list[float], horizon: float = HOURS_PER_YEAR) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": "m",
            "policy": "p",
            "replication": range(len(losses)),
            "horizon_hours": horizon,
            "loss": np.asarray(losses, float),
        }
    )


def assert_monotone(curve: pd.DataFrame) -> None:
    for _, one in curve.groupby(["model", "policy"]):
        one = one.sort_values("threshold")
        for column in ("probability", "ci_low", "ci_high"):
            assert (np.diff(one[column].to_numpy()) <= 1e-12).all(), column
        assert ((one["ci_low"] <= one["probability"] + 1e-12) & (one["probability"] <= one["ci_high"] + 1e-12)).all()
        assert ((one["ci_low"] >= 0) & (one["ci_high"] <= 1)).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 0.0, 1.0, 5.0, 37.5, 1e3, 2.5e5]), min_size=1, max_size=40),
    st.sampled_from([HOURS_PER_YEAR, HOURS_PER_YEAR / 4, 1000.0]),
)
def test_the_exceedance_curve_and_its_interval_never_rise(losses: list[float], horizon: float) -> None:
    frame = synthetic(losses, horizon)
    if not (frame["loss"] > 0).any():
        frame.loc[0, "loss"] = 1.0
    assert_monotone(quiet(analysis.loss_exceedance, frame))
    curve = quiet(analysis.loss_exceedance, frame, thresholds=[7.0, 0.0, 1e4, 2.0])  # any order
    assert_monotone(curve)
    assert curve["threshold"].is_monotonic_increasing


def test_the_exceedance_of_one_year_runs_is_their_share_above_each_threshold() -> None:
    frame = synthetic([0, 0, 10, 20, 20, 50])
    curve = analysis.loss_exceedance(frame, thresholds=[0, 10, 20, 49.9])
    assert curve["probability"].tolist() == [4 / 6, 3 / 6, 1 / 6, 1 / 6]
    assert (curve["interval"] == "clopper-pearson").all()
    low, high = stats.binomtest(3, 6).proportion_ci(0.95, method="exact")
    assert curve.loc[1, ["ci_low", "ci_high"]].tolist() == pytest.approx([low, high])


def coverage(horizon: str, trials: int, replications: int) -> tuple[np.ndarray, np.ndarray]:
    # printed with -s: the figures docs/analysis.md quotes
    """Per threshold c (j + 1/2), j = 0..5: the share of trials whose interval holds P(N > j), and mean widths."""
    c = 100.0
    grid = c * (np.arange(6) + 0.5)
    truth = stats.poisson(RATE).sf(np.arange(6))
    hits, widths = np.zeros(6), np.zeros(6)
    for trial in range(trials):
        frame = runs(replications, seed=1000 + trial, horizon=horizon, per_incident=c)
        curve = quiet(analysis.loss_exceedance, frame, thresholds=grid, seed=trial)
        hits += (curve["ci_low"].to_numpy() <= truth) & (truth <= curve["ci_high"].to_numpy())
        widths += (curve["ci_high"] - curve["ci_low"]).to_numpy()
    print(f"coverage {horizon} x {replications} runs, {trials} trials:", hits / trials, "width", widths / trials)
    return hits / trials, widths / trials


def test_the_exceedance_interval_of_one_year_runs_covers_the_truth() -> None:
    """200 sets of 30 simulated years: Clopper-Pearson is exact (at least 95% per threshold); tolerance:
    coverage >= 0.90 (a 95% coverage over 200 trials falls below 0.90 with probability under 0.1%)."""
    hit, width = coverage("1y", trials=200, replications=30)
    assert (hit >= 0.90).all(), hit
    assert (width < 0.45).all(), width  # intervals narrow enough to miss


def test_the_bootstrap_interval_of_composed_years_covers_the_truth() -> None:
    """Five 73-day runs make a year (a sum of five Poisson(m/5) is Poisson(m)): 80 sets of 100 runs. The
    percentile bootstrap is approximate: tolerance, coverage >= 0.85 per threshold."""
    hit, width = coverage("73d", trials=80, replications=100)
    assert (hit >= 0.85).all(), hit
    assert (width < 0.45).all(), width


# --------------------------------------------------------------------------- loss avoided, return on cost


def test_loss_avoided_is_paired_on_replications() -> None:
    """A static key is bearer under every policy: the same losses, so exactly nothing avoided, with a
    zero-width interval (an unpaired comparison would give a wide one)."""
    frame = runs(50, seed=7, policies=("bearer", "dpop"))
    assert frame.groupby("policy")["loss"].std().min() > 0
    table = analysis.loss_avoided(frame, "bearer")
    assert table[["loss_avoided", "ci_low", "ci_high"]].iloc[0].tolist() == [0.0, 0.0, 0.0]
    assert table.iloc[0]["n"] == 50 and table.iloc[0]["model"] == "known-counts"


def test_loss_avoided_by_a_key_the_thief_cannot_export_is_the_baselines_whole_loss() -> None:
    frame = runs(80, seed=8, horizon="73d", policies=("bearer", "dpop", "mtls"), key="hardware")
    assert frame.loc[frame["policy"] != "bearer", "loss"].eq(0).all()
    bearer = frame[frame["policy"] == "bearer"].sort_values("replication")
    table = quiet(analysis.loss_avoided, frame, "bearer", level=0.9)
    eal = quiet(analysis.expected_annual_loss, bearer, level=0.9).iloc[0]
    assert set(table["policy"]) == {"dpop", "mtls"}
    for _, row in table.iterrows():
        assert row["loss_avoided"] == pytest.approx(eal["annual_loss_mean"]) and eal["annual_loss_mean"] > 0
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((eal["annual_loss_low"], eal["annual_loss_high"]))


def test_return_on_cost_is_loss_avoided_over_the_money_spent_switching() -> None:
    frame = runs(60, seed=9, policies=("bearer", "dpop"), key="hardware")
    avoided = analysis.loss_avoided(frame, "bearer").iloc[0]
    frame = frame.drop(columns="recurring_cost")  # first the one-off work alone
    cost = frame.groupby("policy")["engineering_cost"].mean()
    table = analysis.return_on_cost(frame, "bearer", day_rate=800, years=3)
    row = table.iloc[0]
    spent = 800 * (cost["dpop"] - cost["bearer"])
    assert spent > 0 and row["cost"] == pytest.approx(spent)
    assert row["loss_avoided_total"] == pytest.approx(3 * avoided["loss_avoided"])
    assert row["net_benefit_low"] == pytest.approx(3 * avoided["ci_low"] - spent)
    assert row["return_on_cost"] == pytest.approx(3 * avoided["loss_avoided"] / spent)
    assert row["return_on_cost_high"] == pytest.approx(3 * avoided["ci_high"] / spent)
    # a recurring cost (cost model v2: person-days per year) counts once per year
    recurring = frame.assign(recurring_cost=np.where(frame["policy"] == "dpop", 2.0, 0.5))
    again = analysis.return_on_cost(recurring, "bearer", day_rate=800, years=3).iloc[0]
    assert again["cost"] == pytest.approx(spent + 800 * 3 * (2.0 - 0.5))
    # switching that costs nothing has no ratio, but a net benefit
    free = frame.assign(engineering_cost=1.0)
    row = analysis.return_on_cost(free, "bearer", day_rate=800).iloc[0]
    assert math.isnan(row["return_on_cost"]) and row["net_benefit"] == pytest.approx(avoided["loss_avoided"])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"day_rate": -1}, "day_rate"), ({"day_rate": 800, "years": 0}, "years"), ({"day_rate": "800"}, "day_rate")],
)
def test_return_on_cost_refuses_a_bad_rate_or_span(kwargs: dict[str, Any], field: str) -> None:
    frame = runs(3, seed=1, policies=("bearer", "dpop"))
    with pytest.raises(InputError) as info:
        analysis.return_on_cost(frame, "bearer", **kwargs)
    assert info.value.problems[0].path == field


def test_an_unknown_baseline_is_named() -> None:
    with pytest.raises(InputError, match="unknown baseline policy 'nope'"):
        analysis.loss_avoided(runs(3, seed=1, policies=("bearer", "dpop")), "nope")


# --------------------------------------------------------------------------- results without a loss


def test_results_of_a_model_without_a_loss_section_say_so() -> None:
    plain = tokensim.replicate("spa_behind_proxy", ["bearer"], replications=2, seed=1, horizon="7d")
    assert plain["loss"].isna().all()
    with pytest.raises(InputError, match="no `loss:` section"):
        analysis.expected_annual_loss(plain)
    mixed = pd.concat([plain, runs(4, seed=1)], ignore_index=True)
    with pytest.warns(LossNote, match="left out .*spa-behind-proxy, bearer"):
        table = analysis.expected_annual_loss(mixed)
    assert table["model"].tolist() == ["known-counts"]


@pytest.mark.parametrize("function", ["annual_loss", "expected_annual_loss", "loss_exceedance", "loss_avoided"])
def test_results_written_before_the_loss_column_get_a_clear_note(function: str) -> None:
    old = runs(4, seed=1, policies=("bearer", "dpop")).drop(columns=["loss", "incidents", "records_exposed"])
    args = ("bearer",) if function == "loss_avoided" else ()
    with pytest.raises(InputError) as info:
        getattr(analysis, function)(old, *args)
    assert info.value.problems[0].path == "loss" and "written before" in str(info.value)
    assert len(str(info.value).splitlines()) == 1


# --------------------------------------------------------------------------- the figure and the command line


def test_the_figure_draws_one_curve_per_configuration_on_a_log_loss_axis() -> None:
    frame = runs(30, seed=10, policies=("bearer", "dpop", "mtls"), key="hardware")
    fig = loss_exceedance_figure(frame, currency="EUR")
    ax = fig.axes[0]
    curves = [line.get_gid() for line in ax.get_lines() if str(line.get_gid()).startswith("curve|")]
    assert curves == ["curve|bearer", "curve|dpop", "curve|mtls"]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "annual loss x (EUR)"
    assert len(ax.collections) == 3  # the interval bands
    assert fig.legends and "a year with loss" in fig.legends[0].texts[0].get_text()
    # from a curve table as well, and too many curves are refused
    same = loss_exceedance_figure(analysis.loss_exceedance(frame))
    assert len([line for line in same.axes[0].get_lines() if line.get_gid()]) == 3
    many = pd.concat([synthetic([1.0, 2.0]).assign(policy=f"p{i}") for i in range(13)], ignore_index=True)
    with pytest.raises(InputError, match="13 configurations"):
        loss_exceedance_figure(many)


def cli(monkeypatch, capsys, *args: object) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["tokensim", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A sweep folder of the known-counts model (60-day runs) and spa_behind_proxy, and an 'old' copy of it
    whose chunks lack the columns of issue 13, as a folder written before them would."""
    import shutil

    import yaml

    root = tmp_path_factory.mktemp("loss")
    model = root / "known.yaml"
    model.write_text(yaml.safe_dump(known_counts(per_record=2.0, key="hardware")))
    (root / "exp.yaml").write_text(
        f"name: loss-grid\nmodels: [{model}, spa_behind_proxy]\npolicies: [bearer, dpop]\n"
        "replications: 6\nseed: 3\nhorizon: 60d\n"
    )
    tokensim.Experiment.from_yaml(root / "exp.yaml").run(root / "new", workers=1, progress=False)
    shutil.copytree(root / "new", root / "old")
    for part in (root / "old" / "runs").glob("part-*.parquet"):
        table = pq.read_table(part)
        pq.write_table(table.drop_columns(["loss", "incidents", "records_exposed"]), part)
    return {"new": root / "new", "old": root / "old", "out": root}


def test_plot_kind_loss_draws_the_exceedance_figure_and_prints_its_notes(folders, monkeypatch, capsys) -> None:
    out = folders["out"] / "loss.svg"
    code, stdout, stderr = cli(monkeypatch, capsys, "plot", folders["new"], "--kind", "loss", "--out", out)
    assert code == 0, stderr
    assert stdout == f"wrote {out}\n" and out.read_text().lstrip().startswith("<?xml")
    notes = stderr.splitlines()
    assert len(notes) == 2 and all(n.startswith("note: ") for n in notes)
    assert "left out" in stderr and "spa-behind-proxy" in stderr and "composed" in stderr
    assert "annual loss x (EUR)" in out.read_text()
    code, _, stderr = cli(
        monkeypatch, capsys, "plot", folders["new"], "--kind", "loss", "--out", out, "--metric", "loss"
    )
    assert code == 2 and stderr.count("\n") == 1 and "--metric" in stderr


def test_an_old_folder_still_loads_reports_and_plots_and_says_why_it_has_no_loss(folders, monkeypatch, capsys) -> None:
    old = folders["old"]
    frame = tokensim.load_results(old)
    assert "loss" not in frame.columns and len(frame) == 24
    out = folders["out"] / "old-loss.png"
    code, stdout, stderr = cli(monkeypatch, capsys, "plot", old, "--kind", "loss", "--out", out)
    assert code == 2 and stdout == "" and not out.exists()
    assert (
        stderr.count("\n") == 1
        and stderr.startswith(f"error: {old}: loss: no loss column")
        and "written before" in stderr
    )
    code, _, stderr = cli(monkeypatch, capsys, "plot", old, "--kind", "tradeoff", "--out", folders["out"] / "t.png")
    assert code == 0, stderr
    report = folders["out"] / "old.html"
    code, _, stderr = cli(monkeypatch, capsys, "report", old, "--out", report)
    assert code == 0, stderr
    assert report.stat().st_size > 10_000


def test_the_figure_groups_by_any_columns_and_labels_rare_losses() -> None:
    frame = synthetic([0.0] * 199 + [5.0])  # one year in 200 with a loss
    fig = loss_exceedance_figure(frame, by=["model"])
    assert [t.get_text() for t in fig.legends[0].texts] == ["m (a year with loss: 0.50%)"]
    assert fig.axes[0].get_title() == "m: step curve and 95% interval"
    none = loss_exceedance_figure(synthetic([0.0, 0.0]))
    assert "no loss in any simulated year" in [t.get_text() for t in none.axes[0].texts] and not none.legends


def test_plot_kind_loss_refuses_a_sampled_design(tmp_path, monkeypatch, capsys) -> None:
    from conftest import sweep_folder

    lhs = sweep_folder(
        tmp_path,
        "name: lhs\nmodels: [spa_behind_proxy]\npolicies: [bearer]\n"
        "factors:\n  attacker.replay_rate: {low: 1/h, high: 120/h, log: true}\n"
        "design: lhs\ndesign_options: {samples: 3}\nreplications: 1\nseed: 2\nhorizon: 2d\n",
    )
    code, _, stderr = cli(monkeypatch, capsys, "plot", lhs, "--kind", "loss", "--out", tmp_path / "x.png")
    assert code == 2 and stderr.count("\n") == 1
    assert f"{lhs}: design: the sweep's lhs design samples uncertainties" in stderr
