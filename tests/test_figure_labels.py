"""Figures of issue 14: labels that hold (checked from the drawn extents), settings that look different,
fallback to bearer marked, the exposure grid, one sensitivity transform for CLI and Python, factor names
in words, and the harm-attribution figure."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib.colors
import pandas as pd
import pytest
from conftest import sweep_folder
from matplotlib.figure import Figure
from matplotlib.text import Annotation

import tokensim
from tokensim import InputError
from tokensim.analysis import sensitivity
from tokensim.cli import main
from tokensim.report import read_results, results_figure
from tokensim.report.marks import bearer_fallback
from tokensim.viz import (
    attribution_figure,
    exposure_figure,
    factor_label,
    loss_exceedance_figure,
    sensitivity_figure,
    ttl_figure,
)
from tokensim.viz.placement import label_collisions, place_labels, renderer_of

SMALL = {"replications": 3, "seed": 5, "horizon": "30d", "design": "grid"}


def _run(spec: dict) -> pd.DataFrame:
    return tokensim.Experiment.from_dict({**SMALL, **spec}).run(workers=1, progress=False)


@pytest.fixture(scope="module")
def binding_sweep(tmp_path_factory) -> Path:
    """The README tour's sweep (experiments/hybrid_vs_binding.yaml: every model, five policies, fallback or fail),
    cut to 2 replications of 20 days."""
    exp = tokensim.Experiment.from_yaml("experiments/hybrid_vs_binding.yaml")
    text = exp.spec.model_dump(mode="json") | {"replications": 2, "horizon": "20d", "out": None}
    import yaml

    return sweep_folder(tmp_path_factory.mktemp("tour"), yaml.safe_dump(text))


@pytest.fixture(scope="module")
def ttl_rows() -> pd.DataFrame:
    return _run(
        {
            "name": "labels-ttl",
            "models": ["spa_behind_proxy", "mobile_gateway"],
            "policies": ["bearer", "hybrid", "dpop", "mtls"],
            "factors": {"policy.access_ttl": ["5m", "15m", "1h", "8h"]},
        }
    )


def assert_labels_hold(fig: Figure) -> None:
    problems = label_collisions(fig)
    assert problems == [], problems[:5]
    legend = fig.legends[0].get_window_extent(renderer_of(fig)) if fig.legends else None
    for ax in fig.axes:
        if legend is not None and ax.get_visible():  # the legend sits outside every panel
            assert not ax.get_window_extent().overlaps(legend)


# -- the placement itself ------------------------------------------------------------------------------


def test_the_check_sees_overlaps_and_texts_that_leave_and_placement_clears_them():
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 2], marker="o")
    crowded = [ax.annotate(f"label {i}", (1, 1), xytext=(0, 0), textcoords="offset points") for i in range(6)]
    ax.annotate("far away", (2, 2), xytext=(300, 0), textcoords="offset points")
    problems = label_collisions(fig)
    assert any("overlaps" in p for p in problems) and any("far away" in p and "leaves" in p for p in problems)
    assert any("covers a marker" in p for p in problems)
    fig.texts.clear()
    ax.texts[-1].remove()
    unplaced = place_labels(fig, crowded)
    assert unplaced == [] and all(t.get_visible() for t in crowded)
    assert label_collisions(fig) == []


# -- every kind, on inputs from the built-in models ------------------------------------------------------


def test_tradeoff_and_ttl_labels_hold_and_every_configuration_looks_different(ttl_rows, binding_sweep):
    loaded = read_results(binding_sweep)
    for fig in (
        results_figure(ttl_rows, "tradeoff"),
        results_figure(loaded.frame, "tradeoff", experiment=loaded.experiment),
        ttl_figure(ttl_rows),
    ):
        assert_labels_hold(fig)
    fig = results_figure(loaded.frame, "tradeoff", experiment=loaded.experiment)
    for ax in [a for a in fig.axes if a.get_visible()]:
        curves = [line for line in ax.get_lines() if str(line.get_gid()).startswith("curve|")]
        looks = {
            (
                matplotlib.colors.to_hex(c.get_color()),
                c.get_marker(),
                c.get_linestyle(),
                c.get_markerfacecolor() == "white",
            )
            for c in curves
        }
        names = {c.get_gid().split("|")[1] for c in curves}
        assert len(names) == 10 and len({look[:3] for look in looks}) == 10  # fallback and fail apart
    ttl_labels = [t for ax in results_figure(ttl_rows, "tradeoff").axes for t in ax.texts if t.get_gid() == "ttl-label"]
    assert ttl_labels and all(t.get_visible() for t in ttl_labels)


def test_configurations_that_fall_back_to_bearer_are_hollow_and_say_where(binding_sweep):
    spa = tokensim.load_model("spa_behind_proxy")
    assert bearer_fallback(spa, tokensim.preset("mtls")) == ["browser"]
    assert bearer_fallback(spa, tokensim.preset("dpop")) == []
    assert bearer_fallback(spa, tokensim.preset("bearer")) == []  # bearer asks for no binding
    loaded = read_results(binding_sweep)
    fig = results_figure(loaded.frame, "tradeoff", experiment=loaded.experiment)
    (ax,) = [a for a in fig.axes if a.get_title().startswith("spa-behind-proxy")]
    hollow = {line.get_gid() for line in ax.get_lines() if str(line.get_gid()).endswith("|falls-back")}
    assert hollow == {"curve|mtls, on_binding_loss=fallback|falls-back", "curve|mtls, on_binding_loss=fail|falls-back"}
    assert all(line.get_markerfacecolor() == "white" for line in ax.get_lines() if line.get_gid() in hollow)
    assert "fall back to bearer on browser: mtls" in ax.get_title().replace("\n", " ")
    assert any("falls back to bearer" in t.get_text() for t in fig.legends[0].get_texts())


def test_exposure_is_a_grid_of_two_columns_at_most_with_zero_bars_labelled(binding_sweep):
    loaded = read_results(binding_sweep)
    fig = results_figure(loaded.frame, "exposure", experiment=loaded.experiment)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 7 and len({round(ax.get_position().x0, 3) for ax in shown}) == 2
    width, height = fig.get_size_inches() * 200  # pixels as saved (savefig.dpi)
    assert width <= 2800 and height <= 3200
    assert_labels_hold(fig)
    frame = _run(
        {
            "name": "labels-zero",
            "models": ["mobile_gateway"],
            "policies": ["bearer", {"base": "bearer", "name": "rotated", "set": {"rotation": True}}],
            "replications": 2,
        }
    ).assign(exposure_hours=lambda f: f["exposure_hours"].where(f["policy"] == "bearer", 0.0))
    zero = exposure_figure(frame)
    labels = [t for t in zero.axes[0].texts if str(t.get_gid()).startswith("zero|")]
    assert [t.get_text() for t in labels] == ["0"] and "rotated" in labels[0].get_gid()
    assert_labels_hold(zero)


def test_loss_labels_hold():
    from test_loss import runs

    assert_labels_hold(loss_exceedance_figure(runs(30, seed=10, policies=("bearer", "dpop", "mtls")), currency="EUR"))


# -- sensitivity: one default transform, the same ranking from the command line and from Python ---------


def _cli(monkeypatch, capsys, *args: object) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["tokensim", *map(str, args)])
    with pytest.raises(SystemExit) as done:
        main()
    return done.value.code or 0, capsys.readouterr().err


SOBOL = """\
name: labels-sobol
models: [spa_behind_proxy]
policies: [bearer]
factors:
  attacker.replay_delay.median: {low: 5m, high: 2d, log: true}
  nodes.spa.leaks[0].rate: {low: 0.2/year, high: 20/year, log: true}
  nodes.edge.leaks[0].rate: {low: 0.5/year, high: 50/year, log: true}
design: sobol
design_options: {samples: 8}
replications: 1
seed: 3
horizon: 30d
"""


def _svg_order(svg: str, names: list[str]) -> list[str]:
    """Factor names in the order their tick labels come in the file (bottom to top)."""
    return sorted(names, key=lambda n: svg.index(f">{n.splitlines()[0]}<"))


def test_cli_and_python_rank_factors_alike_with_the_one_default(tmp_path, monkeypatch, capsys):
    (tmp_path / "sobol").mkdir()
    folder = sweep_folder(tmp_path / "sobol", SOBOL)
    loaded = read_results(folder)
    arch = tokensim.load_model("spa_behind_proxy")
    for transform in ("none", "log1p"):
        out = tmp_path / f"{transform}.svg"
        args = ["plot", folder, "--kind", "sensitivity", "--out", out]
        code, err = _cli(monkeypatch, capsys, *args, *(["--transform", transform] if transform == "log1p" else []))
        assert code == 0, err
        indices = sensitivity(loaded.experiment, loaded.frame, transform=None if transform == "none" else transform)
        ranked = indices.groupby("factor", sort=False)["ST"].max().sort_values(kind="stable").index  # least first
        expected = [factor_label(f, arch) for f in ranked]
        svg = out.read_text()
        assert _svg_order(svg, expected) == expected
        assert ("log1p(blast_radius)" in svg) == (transform == "log1p")
    assert "spa leak rate (xss)" in expected and "replay delay (median)" in expected
    code, err = _cli(monkeypatch, capsys, "plot", folder, "--kind", "sensitivity", "--transform", "sqrt", "--out", out)
    assert code == 2 and "--transform" in err and len(err.strip().splitlines()) == 1
    fig = sensitivity_figure(indices, models=arch)
    assert_labels_hold(fig)


def test_factor_labels_in_words():
    spa = tokensim.load_model("spa_behind_proxy")
    assert factor_label("nodes.spa.leaks[0].rate", spa) == "spa leak rate (xss)"
    assert factor_label("nodes.edge.leaks[0].rate", spa) == "edge leak rate (log)"
    assert factor_label("nodes.spa.leaks[0].rate") == "spa leak 1 rate"  # no model: by position
    assert factor_label("policy.access_ttl") == "access-token TTL"
    assert factor_label("policy.on_binding_loss") == "on binding loss"
    assert factor_label("defender.detection_probability") == "detection probability"
    assert factor_label("nodes.idp.revocation") == "idp revocation"


# -- the README tour's sweep on the command line --------------------------------------------------------


@pytest.mark.parametrize("kind", ["ttl", "sensitivity"])
def test_kinds_that_do_not_apply_to_the_tour_sweep_say_why_in_one_line(kind, binding_sweep, monkeypatch, capsys):
    out = binding_sweep.parent / f"{kind}.png"
    code, err = _cli(monkeypatch, capsys, "plot", binding_sweep, "--kind", kind, "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not out.exists()
    assert re.search(r"policy_ttl_rotation\.yaml" if kind == "ttl" else r"sobol_threats\.yaml", err)


@pytest.mark.parametrize("kind", ["tradeoff", "exposure"])
def test_kinds_that_apply_to_the_tour_sweep_draw(kind, binding_sweep, monkeypatch, capsys):
    out = binding_sweep.parent / f"{kind}.png"
    code, err = _cli(monkeypatch, capsys, "plot", binding_sweep, "--kind", kind, "--out", out)
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- harm attribution (the frame of tokensim.analysis.attribution, here made by hand) --------------------


def _attribution() -> pd.DataFrame:
    rows = []
    for policy, scale in (("bearer", 1.0), ("dpop", 0.25), ("mtls", 0.0)):
        for vector, node, credential, harm in (
            ("xss", "spa", "access token", 400.0),
            ("xss", "spa", "refresh token", 200.0),
            ("log", "edge", "access token", 100.0),
        ):
            rows.append(
                {
                    "model": "spa-behind-proxy",
                    "policy": policy,
                    "vector": vector,
                    "node": node,
                    "credential": credential,
                    "requests": harm * scale / 2,
                    "privileged_requests": harm * scale / 20,
                    "blast_radius": harm * scale,
                    "replications": 4,
                }
            )
    return pd.DataFrame(rows)


def test_attribution_figure_stacks_harm_by_vector_and_node_per_policy():
    frame = _attribution()
    fig = attribution_figure(frame)
    ax = fig.axes[0]
    segments = {p.get_gid(): p for p in ax.patches if str(p.get_gid()).startswith("segment|")}
    assert segments["segment|spa-behind-proxy|bearer|xss on spa"].get_width() == pytest.approx(600 / 4)
    assert segments["segment|spa-behind-proxy|dpop|log on edge"].get_width() == pytest.approx(25 / 4)
    bearer = [p for g, p in segments.items() if "|bearer|" in g]
    assert sum(p.get_width() for p in bearer) == pytest.approx(700 / 4)  # the segments add up to the mean
    zero = [t for t in ax.texts if isinstance(t, Annotation) and t.get_gid() == "zero|spa-behind-proxy|mtls"]
    assert [t.get_text() for t in zero] == ["0"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["xss on spa", "log on edge"]
    assert_labels_hold(fig)
    by_credential = attribution_figure(frame, metric="requests", by=("credential",))
    assert [t.get_text() for t in by_credential.legends[0].get_texts()] == ["access token", "refresh token"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f.drop(columns=["vector"]), "vector"),
        (lambda f: f.assign(replications=0), "replications"),
        (lambda f: f.assign(blast_radius=-1.0), "blast_radius"),
    ],
)
def test_attribution_figure_refuses_a_bad_frame_naming_the_field(change, field):
    with pytest.raises(InputError) as info:
        attribution_figure(change(_attribution()))
    assert info.value.problems[0].path == field
    with pytest.raises(InputError, match="metric"):
        attribution_figure(_attribution(), metric="loss")
