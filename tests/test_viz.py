"""Figures: built from real small runs and checked for what they show (data, labels, colours), not pixels."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import tokensim
from tokensim import InputError
from tokensim.analysis import mean_ci, sensitivity, summarise, tradeoff_table
from tokensim.model.units import duration_text
from tokensim.viz import (
    architecture_figure,
    exposure_figure,
    save_figure,
    sensitivity_figure,
    timeline_figure,
    tradeoff_figure,
    ttl_figure,
)
from tokensim.viz.architecture import KIND_STYLES, layers, layout
from tokensim.viz.style import LINE_COLOURS, PRESET_STYLES, STATUS_COLOURS, policy_style, policy_styles
from tokensim.viz.timeline import exposure_windows

TTLS = {"5m": 5 / 60, "1h": 1.0, "8h": 8.0}


# -- runs shared by the tests (small: a few replications, short horizons) ------------------------------


@pytest.fixture(scope="module")
def ttl_sweep() -> pd.DataFrame:
    """Three policies x three access-token TTLs on the SPA behind a proxy."""
    exp = tokensim.Experiment.from_dict(
        {
            "name": "viz-ttl",
            "models": ["spa_behind_proxy"],
            "policies": ["bearer", "dpop", "hybrid"],
            "factors": {"policy.access_ttl": list(TTLS)},
            "design": "grid",
            "replications": 4,
            "seed": 11,
            "horizon": "30d",
        }
    )
    return exp.run(workers=1, progress=False)


@pytest.fixture(scope="module")
def rotation_sweep() -> pd.DataFrame:
    """Rotation on and off, two revocation modes, on the mobile gateway (refresh tokens are stolen there)."""
    exp = tokensim.Experiment.from_dict(
        {
            "name": "viz-exposure",
            "models": ["mobile_gateway"],
            "policies": [
                "bearer",
                {
                    "base": "bearer",
                    "name": "bearer_reuse_detection",
                    "set": {"rotation": True, "reuse_detection": True},
                },
            ],
            "factors": {"policy.access_ttl": ["1h"], "nodes.idp.revocation": ["introspection", "jwt"]},
            "design": "grid",
            "replications": 4,
            "seed": 3,
            "horizon": "60d",
        }
    )
    plain = exp.run(workers=1, progress=False)
    rotated = tokensim.Experiment.from_dict(
        {
            **exp.spec.model_dump(mode="json"),
            "policies": [{"base": "bearer", "name": "bearer_rotation", "set": {"rotation": True}}],
        }
    ).run(workers=1, progress=False)
    return pd.concat([plain, rotated], ignore_index=True)


@pytest.fixture(scope="module")
def traced() -> tokensim.Outcome:
    """One traced bearer run with leaks, successful replays, detections and revocations."""
    outcome = tokensim.simulate("spa_behind_proxy", "bearer", seed=1, horizon="60d", trace=True)
    assert {"leak", "replay", "detection", "revocation"} <= set(outcome.trace["event"])
    return outcome


def errorbars(ax) -> dict[str, ErrorbarContainer]:
    return {c.get_label(): c for c in ax.containers if isinstance(c, ErrorbarContainer)}


def _whiskers(container: ErrorbarContainer, axis: str) -> list[np.ndarray]:
    """The whisker segments of an error bar along ``axis`` (matplotlib keeps x whiskers before y whiskers)."""
    collections = list(container.lines[2])
    if axis == "x":
        assert container.has_xerr
        return [np.asarray(s) for s in collections[0].get_segments()]
    assert container.has_yerr
    return [np.asarray(s) for s in collections[1 if container.has_xerr else 0].get_segments()]


def vertical_segments(container: ErrorbarContainer) -> np.ndarray:
    """(x, low, high) of each vertical whisker of an error bar."""
    return np.array([(s[0, 0], min(s[:, 1]), max(s[:, 1])) for s in _whiskers(container, "y")])


def horizontal_segments(container: ErrorbarContainer) -> np.ndarray:
    """(y, low, high) of each horizontal whisker of an error bar."""
    return np.array([(s[0, 1], min(s[:, 0]), max(s[:, 0])) for s in _whiskers(container, "x")])


def legend_texts(fig: Figure) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def tick_texts(axis) -> list[str]:
    """The labels of the ticks inside the axis's view (what a reader sees)."""
    low, high = sorted(axis.get_view_interval())
    locs = [v for v in axis.get_majorticklocs() if low <= v <= high]
    return list(axis.get_major_formatter().format_ticks(locs))


# -- tradeoff ------------------------------------------------------------------------------------------


def test_tradeoff_figure_plots_the_table_means_intervals_and_pareto_front(ttl_sweep):
    table = tradeoff_table(ttl_sweep)
    fig = tradeoff_figure(ttl_sweep)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "integration cost (relative units)"
    assert ax.get_ylabel() == "blast radius (weighted unauthorized requests)"
    assert "spa-behind-proxy" in ax.get_title()
    bars = errorbars(ax)
    assert set(bars) == {"bearer", "dpop", "hybrid"}  # one curve per policy, across the TTLs
    for policy, container in bars.items():
        rows = table[table["policy"] == policy].sort_values("access_ttl")
        line = container.lines[0]
        np.testing.assert_allclose(line.get_xdata(), rows["integration_cost_mean"])
        np.testing.assert_allclose(line.get_ydata(), rows["blast_radius_mean"])
        vertical = vertical_segments(container)
        np.testing.assert_allclose(
            vertical[:, 1], rows["blast_radius_low"].clip(lower=0)
        )  # clipped as the CLI prints it
        np.testing.assert_allclose(vertical[:, 2], rows["blast_radius_high"])
        horizontal = horizontal_segments(container)
        np.testing.assert_allclose(horizontal[:, 1], rows["integration_cost_low"].clip(lower=0))
        np.testing.assert_allclose(horizontal[:, 2], rows["integration_cost_high"])
        colour, marker = PRESET_STYLES[policy]
        assert matplotlib.colors.same_color(line.get_color(), colour) and line.get_marker() == marker
    assert (table["blast_radius_low"] < 0).any()  # heavy tails: the t interval reaches below zero somewhere
    front = table[table["pareto"]].sort_values("integration_cost_mean")
    (pareto,) = [line for line in ax.lines if line.get_gid() == "pareto"]
    np.testing.assert_allclose(pareto.get_xdata(), front["integration_cost_mean"])
    np.testing.assert_allclose(pareto.get_ydata(), front["blast_radius_mean"])
    knee = table[table["knee"]].iloc[0]
    (star,) = [line for line in ax.lines if line.get_gid() == "knee"]
    np.testing.assert_allclose(star.get_xydata()[0], [knee["integration_cost_mean"], knee["blast_radius_mean"]])
    assert any(t.get_text() == f"knee: {knee['label']}" for t in ax.texts)
    assert {"5m", "1h", "8h"} <= {t.get_text() for t in ax.texts}  # each point labelled with its TTL
    assert {"bearer", "dpop", "hybrid", "knee of the front"} <= set(legend_texts(fig))


def test_tradeoff_figure_accepts_a_table_and_draws_one_panel_per_model(ttl_sweep):
    table = tradeoff_table(ttl_sweep)
    from_table = tradeoff_figure(table)
    line = errorbars(from_table.axes[0])["dpop"].lines[0]
    np.testing.assert_allclose(
        line.get_ydata(), table[table["policy"] == "dpop"].sort_values("access_ttl")["blast_radius_mean"]
    )
    other = ttl_sweep.assign(model="second-model")
    two = tradeoff_figure(pd.concat([ttl_sweep, other], ignore_index=True))
    assert [ax.get_title().split(":")[0] for ax in two.axes if ax.get_visible()] == ["spa-behind-proxy", "second-model"]
    with pytest.raises(InputError, match="blast_radius"):
        tradeoff_figure(ttl_sweep.drop(columns=["blast_radius"]))


def test_tradeoff_points_that_coincide_share_one_ttl_label():
    """A TTL that changes nothing puts a curve's points on one spot: one label `5m, 15m, 1h`, not `5m15m1h` stacked."""
    ttls = {"5m": 5 / 60, "15m": 0.25, "1h": 1.0}
    rows = []
    for r in range(3):
        for _name, hours in ttls.items():
            rows.append(
                {
                    "model": "m",
                    "policy": "mtls",
                    "access_ttl": hours,
                    "replication": r,
                    "blast_radius": 10.0 + r,
                    "integration_cost": 8.0 + 0.01 * r,
                }
            )  # the same for every TTL
            rows.append(
                {
                    "model": "m",
                    "policy": "bearer",
                    "access_ttl": hours,
                    "replication": r,
                    "blast_radius": 1000.0 * hours + r,
                    "integration_cost": 1.0 / hours + r,
                }
            )  # well apart
    fig = tradeoff_figure(pd.DataFrame(rows))
    labels = [t for t in fig.axes[0].texts if t.get_gid() == "ttl-label"]
    mtls = [t.get_text() for t in labels if matplotlib.colors.same_color(t.get_color(), PRESET_STYLES["mtls"][0])]
    bearer = sorted(
        t.get_text() for t in labels if matplotlib.colors.same_color(t.get_color(), PRESET_STYLES["bearer"][0])
    )
    assert mtls == ["5m, 15m, 1h"]  # one label, the TTLs in order
    assert bearer == ["15m", "1h", "5m"]  # distinct points keep their own labels
    (point,) = [t.xy for t in labels if t.get_text() == "5m, 15m, 1h"]
    np.testing.assert_allclose(point, (8.01, 11.0))


# -- TTL -----------------------------------------------------------------------------------------------


def test_ttl_figure_lines_are_the_means_with_their_intervals(ttl_sweep):
    fig = ttl_figure(ttl_sweep, "blast_radius")
    (ax,) = fig.axes
    summary = summarise(ttl_sweep, ["blast_radius"], by=["policy", "access_ttl"])
    bars = errorbars(ax)
    assert set(bars) == {"bearer", "dpop", "hybrid"}
    for policy, container in bars.items():
        rows = summary[summary["policy"] == policy].sort_values("access_ttl")
        np.testing.assert_allclose(container.lines[0].get_xdata(), sorted(TTLS.values()))
        np.testing.assert_allclose(container.lines[0].get_ydata(), rows["mean"])
        vertical = vertical_segments(container)
        np.testing.assert_allclose(vertical[:, 1], rows["ci_low"].clip(lower=0))
        np.testing.assert_allclose(vertical[:, 2], rows["ci_high"])
    assert ax.get_xscale() == "log"
    assert tick_texts(ax.xaxis) == ["5m", "1h", "8h"]
    assert ax.get_xlabel() == "access-token TTL"
    assert ax.get_ylabel() == "blast radius (weighted unauthorized requests)"
    assert set(legend_texts(fig)) == {"bearer", "dpop", "hybrid"}


def test_ttl_figure_refuses_to_average_over_a_setting_that_varies(rotation_sweep, ttl_sweep):
    mixed = pd.concat([ttl_sweep, ttl_sweep.assign(rotation=True)], ignore_index=True)
    with pytest.raises(InputError, match="rotation varies within one plotted point"):
        ttl_figure(mixed)
    fig = ttl_figure(mixed, by=["policy", "rotation"])  # named: one curve each
    assert {"bearer, no rotation", "bearer, rotation"} <= set(errorbars(fig.axes[0]))
    with pytest.raises(InputError, match="no_such_metric"):
        ttl_figure(ttl_sweep, "no_such_metric")


# -- exposure ------------------------------------------------------------------------------------------


def test_exposure_figure_bars_by_rotation_and_revocation_mode(rotation_sweep):
    fig = exposure_figure(rotation_sweep)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["revocation: introspection", "revocation: jwt"]
    assert axes[0].get_xlabel() == "window of exposure (hours, summed over stolen families)"
    expected_modes = {
        "bearer": "no rotation",
        "bearer_rotation": "rotation",
        "bearer_reuse_detection": "rotation + reuse detection",
    }
    for ax, mode in zip(axes, ["introspection", "jwt"]):
        bars = {
            p.get_gid(): p for p in ax.patches if isinstance(p, Rectangle) and (p.get_gid() or "").startswith("bar|")
        }
        whiskers = {c.get_gid(): c for c in ax.collections if isinstance(c, LineCollection) and c.get_gid()}
        assert len(bars) == 3
        for policy, rotation in expected_modes.items():
            rows = rotation_sweep[
                (rotation_sweep["policy"] == policy) & (rotation_sweep["nodes.idp.revocation"] == mode)
            ]
            mean, low, high = mean_ci(rows["exposure_hours"])
            key = f"mobile-gateway|{mode}|{policy}|{rotation}"
            assert bars[f"bar|{key}"].get_width() == pytest.approx(mean)  # horizontal bars: the length is the mean
            (segment,) = whiskers[f"ci|{key}"].get_segments()
            assert sorted(np.asarray(segment)[:, 0]) == pytest.approx([max(low, 0.0), high])
            zero = [t for t in ax.texts if t.get_gid() == f"zero|{key}"]
            assert [t.get_text() for t in zero] == (["0"] if mean == 0 else [])  # an empty bar says 0
        assert tick_texts(ax.yaxis) == list(expected_modes)  # top to bottom, names whole
    assert {"no rotation", "rotation", "rotation + reuse detection", "95% interval", *expected_modes} <= set(
        legend_texts(fig)
    )
    no_mode = exposure_figure(
        rotation_sweep[rotation_sweep["nodes.idp.revocation"] == "jwt"].drop(columns=["nodes.idp.revocation"])
    )
    assert [ax.get_title() for ax in no_mode.axes] == ["mobile-gateway"]  # no revocation mode to name


# -- sensitivity ---------------------------------------------------------------------------------------


def test_sensitivity_figure_draws_sobol_indices_with_their_intervals():
    exp = tokensim.Experiment.from_dict(
        {
            "name": "viz-sobol",
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
    indices = sensitivity(exp, frame, metric=["blast_radius", "integration_cost"], transform="log1p")
    fig = sensitivity_figure(indices)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    panels = [
        ("bearer", "blast_radius"),
        ("bearer", "integration_cost"),
        ("dpop", "blast_radius"),
        ("dpop", "integration_cost"),
    ]
    assert [ax.get_title() for ax in axes] == [
        "bearer, blast radius",
        "bearer, integration cost",
        "dpop, blast radius",
        "dpop, integration cost",
    ]
    for ax, (policy, metric) in zip(axes, panels):
        rows = indices[(indices["policy"] == policy) & (indices["metric"] == metric)].set_index("factor")
        if rows["S1"].isna().all():  # DPoP stops every replay here: nothing varies, SALib returns NaN
            assert (policy, metric) == ("dpop", "blast_radius")
            assert any(t.get_gid() == "no-variation" for t in ax.texts)
            continue
        bars = {p.get_gid(): p for p in ax.patches if p.get_gid()}
        for factor, row in rows.iterrows():
            for order in ("S1", "ST"):
                assert bars[f"{order}|{factor}"].get_width() == pytest.approx(row[order])
        for order in ("S1", "ST"):
            (whiskers,) = [c for c in ax.collections if c.get_gid() == f"{order}_conf"]
            spans = sorted((min(s[:, 0]), max(s[:, 0])) for s in map(np.asarray, whiskers.get_segments()))
            want = sorted((v - c, v + c) for v, c in zip(rows[order], rows[f"{order}_conf"]))
            np.testing.assert_allclose(spans, want)
        assert ax.get_xlabel() == "index (share of the output variance)"
        assert {t.get_text() for t in ax.get_yticklabels()} == {"replay rate", "access-token TTL"}  # in words
    assert any(t.startswith("first order (S1)") for t in legend_texts(fig))
    assert any(t.startswith("total order (ST)") for t in legend_texts(fig))


def test_sensitivity_figure_draws_morris_screening():
    screening = pd.DataFrame(
        {
            "policy": "bearer",
            "metric": "blast_radius",
            "factor": ["replay", "delay"],
            "mu_star": [120.0, 15.0],
            "mu_star_conf": [20.0, 5.0],
            "sigma": [60.0, 3.0],
        }
    )
    fig = sensitivity_figure(screening)
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["delay", "replay"]  # most influential on top
    (sigma,) = [line for line in ax.lines if line.get_gid() == "sigma"]
    np.testing.assert_allclose(sigma.get_xdata(), [3.0, 60.0])
    assert ax.get_xlabel() == "effect on blast radius (weighted unauthorized requests)"
    with pytest.raises(InputError, match=r"Sobol .* or Morris"):
        sensitivity_figure(screening.drop(columns=["mu_star"]))


# -- timeline ------------------------------------------------------------------------------------------


def test_timeline_marks_each_event_at_its_time_and_shades_the_exposure(traced):
    fig = timeline_figure(traced)
    (ax,) = fig.axes
    trace = traced.trace
    for event in ("leak", "replay", "detection", "revocation"):
        (points,) = [c for c in ax.collections if isinstance(c, PathCollection) and c.get_gid() == event]
        rows = trace[trace["event"] == event]
        if event == "replay":
            rows = rows[rows["count"] > 0]
        np.testing.assert_allclose(points.get_offsets()[:, 0], rows["time_hours"])
    windows = exposure_windows(trace)
    assert windows and all(a <= b for a, b in windows)
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(windows))  # merged: no overlaps
    # every window opens when a family's exploitation starts and holds a successful replay
    exploits = set(trace.loc[trace["event"] == "exploit", "time_hours"])
    replays = trace[(trace["event"] == "replay") & (trace["count"] > 0)]["time_hours"]
    assert all(a in exploits for a, _ in windows)
    assert all(((replays >= a) & (replays <= b)).any() for a, b in windows)
    shaded = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches if p.get_gid() == "exposure")
    lines = sorted(line.get_xdata()[0] for line in ax.lines if line.get_gid() == "exposure")
    np.testing.assert_allclose(np.reshape(shaded, (-1, 2)), np.reshape([w for w in windows if w[1] > w[0]], (-1, 2)))
    assert lines == pytest.approx([a for a, b in windows if b == a])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["revocations", "detections", "successful replays", "leaks"]
    assert ax.get_xlim() == (0.0, 60 * 24.0)
    assert ax.get_xlabel() == "time since the start of the run"
    assert "spa-behind-proxy under bearer" in ax.get_title()
    assert "window of exposure" in legend_texts(fig)
    assert tick_texts(ax.xaxis) == ["0", "14d", "28d", "42d", "56d"]


def test_timeline_of_an_untraced_or_empty_run():
    with pytest.raises(InputError, match="trace=True"):
        timeline_figure(tokensim.simulate("spa_behind_proxy", "bearer", seed=1, horizon="1d"))
    empty = tokensim.simulate("saas_broker", "bearer", seed=1, horizon="1h", trace=True)
    assert empty.trace.empty
    fig = timeline_figure(empty)
    assert any(t.get_text() == "no leaks in this run" for t in fig.axes[0].texts)
    with pytest.raises(InputError, match="time_hours"):
        timeline_figure(pd.DataFrame({"event": ["leak"]}))
    for horizon in (-120.0, 0, float("nan"), "90d"):  # the time axis must end after it starts
        with pytest.raises(InputError, match="horizon: must be a positive number of hours"):
            timeline_figure(empty, horizon=horizon)
    assert timeline_figure(empty, horizon=np.int64(2)).axes[0].get_xlim() == (0.0, 2.0)


# -- architecture --------------------------------------------------------------------------------------


def route_lines(ax) -> dict[tuple[str, str], list]:
    """(resource, tier) -> the route's line segments, for the one-client models used here."""
    out: dict[tuple[str, str], list] = {}
    for line in ax.lines:
        gid = line.get_gid() or ""
        if gid.startswith("route|"):
            _, _client, resource, _path, tier, _status = gid.split("|")
            out.setdefault((resource, tier), []).append(line)
    return out


def test_architecture_colours_routes_broken_by_a_tls_terminating_proxy():
    # ci_pipeline: the egress proxy terminates TLS without forwarding the client certificate, so mTLS
    # binding is broken on the routes through it; the direct route to the vault stays bound.
    arch = tokensim.load_model("ci_pipeline")
    table = tokensim.route_table(arch, tokensim.preset("mtls"))
    fig = architecture_figure(arch, "mtls")
    (ax,) = fig.axes
    routes = route_lines(ax)
    pos = layout(arch)
    assert len(routes) == len(table)
    for _, row in table.iterrows():
        lines = routes[(row["resource"], row["tier"])]
        assert all(matplotlib.colors.same_color(line.get_color(), STATUS_COLOURS[row["status"]]) for line in lines)
        assert all(line.get_linestyle() == ("-" if row["tier"] == "privileged" else "--") for line in lines)
        nodes = row["path"].split(" > ")
        drawn = [tuple(map(tuple, line.get_xydata())) for line in lines]
        assert drawn == [(pos[u], pos[v]) for u, v in itertools.pairwise(nodes)]  # along the path's edges
    assert {
        r
        for (r, _), lines in routes.items()
        if matplotlib.colors.same_color(lines[0].get_color(), STATUS_COLOURS["broken"])
    } == {"deploy_api", "artifact_registry"}
    assert {
        r
        for (r, _), lines in routes.items()
        if matplotlib.colors.same_color(lines[0].get_color(), STATUS_COLOURS["bound"])
    } == {"secrets_vault"}
    hops = [line for line in ax.lines if (line.get_gid() or "").startswith("hop|")]
    assert [h.get_gid() for h in hops] == ["hop|egress_proxy|broken"]
    assert tuple(hops[0].get_xydata()[0]) == pos["egress_proxy"]
    assert any(t.get_text() == "binding broken here" for t in ax.texts)
    nodes = {c.get_gid(): c for c in ax.collections if (c.get_gid() or "").startswith("nodes|")}
    assert set(nodes) == {"nodes|client", "nodes|proxy", "nodes|resource", "nodes|issuer"}
    for kind, collection in nodes.items():
        kind = kind.split("|")[1]
        members = [n for n, d in arch.graph.nodes(data=True) if d["kind"] == kind]
        np.testing.assert_allclose(collection.get_offsets(), [pos[n] for n in members])
        assert matplotlib.colors.same_color(collection.get_facecolor()[0], KIND_STYLES[kind][1])
    assert {t.get_text() for t in ax.texts} >= set(arch.spec.nodes)
    assert "ci-pipeline under mtls" in ax.get_title() and "2 bound, 4 broken" in ax.get_title()
    texts = legend_texts(fig)
    assert {
        "client",
        "proxy",
        "resource",
        "issuer",
        "privileged tier",
        "low-risk tier",
        "binding broken at this hop",
    } <= set(texts)
    assert any(t.startswith("broken") for t in texts) and any(t.startswith("bound") for t in texts)


def test_architecture_bound_and_downgraded_routes():
    # spa_behind_proxy under dpop: the proxy keeps the URI, so DPoP stays bound end to end, no hop marked
    fig = architecture_figure("spa_behind_proxy", "dpop")
    ax = fig.axes[0]
    routes = route_lines(ax)
    assert set(routes) == {("orders", "low_risk"), ("orders", "privileged")}
    assert all(
        matplotlib.colors.same_color(line.get_color(), STATUS_COLOURS["bound"]) for ls in routes.values() for line in ls
    )
    assert not [line for line in ax.lines if (line.get_gid() or "").startswith("hop|")]
    # under mtls the browser cannot bind at all: the route is downgraded and the client is the hop
    ax = architecture_figure("spa_behind_proxy", "mtls").axes[0]
    assert all(
        matplotlib.colors.same_color(line.get_color(), STATUS_COLOURS["downgraded"])
        for ls in route_lines(ax).values()
        for line in ls
    )
    assert [line.get_gid() for line in ax.lines if (line.get_gid() or "").startswith("hop|")] == ["hop|spa|downgraded"]
    # one tier only
    ax = architecture_figure("spa_behind_proxy", "hybrid", tier="low_risk").axes[0]
    assert set(route_lines(ax)) == {("orders", "low_risk")}
    assert all(
        matplotlib.colors.same_color(line.get_color(), STATUS_COLOURS["bearer"])
        for line in route_lines(ax)[("orders", "low_risk")]
    )
    with pytest.raises(InputError, match="unknown tier"):
        architecture_figure("spa_behind_proxy", "dpop", tier="admin")


def test_architecture_layout_is_layered_and_deterministic():
    arch = tokensim.load_model("service_mesh")
    pos = layout(arch)
    assert pos == layout(tokensim.load_model("service_mesh"))
    assert all(pos[u][0] < pos[v][0] for u, v in arch.graph.edges)  # every edge points right
    columns = layers(arch)
    last = max(k for k, nodes in columns.items() if not any(arch.node(n).kind == "issuer" for n in nodes))
    assert set(columns[last]) == set(arch.resources)
    assert columns[0] == arch.clients


# -- saving --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def diagram() -> Figure:
    return architecture_figure("ci_pipeline", "mtls")


@pytest.mark.parametrize(
    "suffix, magic",
    [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml"), (".pdf", b"%PDF-"), (".PNG", b"\x89PNG\r\n\x1a\n")],
)
def test_save_figure_writes_the_format_of_its_suffix(tmp_path, diagram, suffix, magic):
    out = save_figure(diagram, tmp_path / f"diagram{suffix}")
    data = out.read_bytes()
    assert out.stat().st_size > 1000 and data.startswith(magic)
    if suffix == ".svg":
        assert b"<svg" in data and b"egress_proxy" in data  # text kept as text
    again = save_figure(diagram, tmp_path / f"again{suffix}")
    assert again.read_bytes() == data  # no dates, no random ids: the same figure gives the same file


def test_save_figure_refuses_other_suffixes_and_missing_folders(tmp_path, diagram):
    fig = diagram
    with pytest.raises(InputError, match=r"cannot save a figure as '\.jpg'; use one of \.png, \.svg, \.pdf"):
        save_figure(fig, tmp_path / "diagram.jpg")
    with pytest.raises(InputError, match="without a suffix"):
        save_figure(fig, tmp_path / "diagram")
    with pytest.raises(InputError, match="does not exist"):
        save_figure(fig, tmp_path / "missing" / "diagram.png")
    with pytest.raises(InputError, match=r"x\.png: expected a matplotlib Figure .* got str"):
        save_figure("x", tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


# -- style ---------------------------------------------------------------------------------------------


def test_policy_colours_are_stable_and_distinct_within_a_figure():
    assert policy_style("bearer") == PRESET_STYLES["bearer"]
    assert policy_style("bearer_reuse_detection") == policy_style("bearer_reuse_detection")
    assert policy_style("bearer_reuse_detection")[0] in LINE_COLOURS
    names = ["bearer", "dpop", "a", "b", "c", "d", "e"]
    styles = policy_styles(names)
    assert len({c for c, _ in styles.values()}) == len(names)  # seven line colours for seven policies
    assert styles == policy_styles(list(reversed(names)))  # depends on the set, not the order
    many = policy_styles([f"p{i}" for i in range(12)])
    assert len(set(many.values())) == 12


def test_durations_read_as_people_write_them():
    assert [duration_text(h, exact=True) for h in (0, 5 / 60, 0.25, 1, 8, 24, 30 * 24, -48)] == [
        "0",
        "5m",
        "15m",
        "1h",
        "8h",
        "1d",
        "30d",
        "-2d",
    ]


def test_figures_leave_global_matplotlib_state_alone(ttl_sweep):
    before = dict(matplotlib.rcParams)
    ttl_figure(ttl_sweep)
    architecture_figure("ci_pipeline", "mtls")
    assert dict(matplotlib.rcParams) == before


def test_a_fresh_process_draws_the_same_layout_without_pyplot():
    # Another process with another hash seed: the layout may not depend on set or hash order,
    # and drawing never imports pyplot (no global backend or figure manager).
    code = (
        "import sys, tokensim; from tokensim.viz import architecture_figure; "
        "from tokensim.viz.architecture import layout; architecture_figure('service_mesh', 'mtls'); "
        "print(sorted(layout(tokensim.load_model('service_mesh')).items())); print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    drawn, pyplot = out.stdout.strip().splitlines()
    assert drawn == str(sorted(layout(tokensim.load_model("service_mesh")).items()))
    assert pyplot == "False"


def test_crowded_tradeoff_legend_names_policies_and_notes_the_settings():
    """Many curves (policies x settings) keep a readable legend: one entry per policy and a note."""
    from tokensim.viz import tradeoff

    rows = []
    for policy, cost in (("bearer", 0.0), ("dpop", 10.0)):
        for grace in range(6):
            for r in range(2):
                rows.append(
                    {
                        "model": "m",
                        "policy": policy,
                        "reuse_grace": float(grace),
                        "replication": r,
                        "integration_cost": cost + 0.1 * r,
                        "blast_radius": 100.0 - cost * 9 + grace + r,
                    }
                )
    fig = tradeoff.tradeoff_figure(pd.DataFrame(rows))
    assert len(pd.DataFrame(rows).groupby(["policy", "reuse_grace"])) > tradeoff.MAX_LEGEND_CURVES
    entries = legend_texts(fig)
    assert {"bearer", "dpop"} <= set(entries) and not any("reuse_grace" in e for e in entries)
    ax = fig.axes[0]
    assert any(
        t.get_gid() == "curves-note" and "12 curves" in t.get_text() and "reuse_grace" in t.get_text() for t in ax.texts
    )
