"""Routes counted, not listed (tokensim.model.paths): the counts agree with listing every path, and scale.

The reference is brute force: every simple path from networkx, each classified by the
per-hop rule on its own (`HopRule.classify`), then counted here.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import tokensim
from tokensim.cli import app
from tokensim.model.architecture import Architecture
from tokensim.model.hops import HopRule
from tokensim.model.paths import CYCLIC_PATH_LIMIT, DagPaths, ListedPaths
from tokensim.model.policy import preset
from tokensim.model.routes import TIERS, analyse, route_table
from tokensim.sim.plan import _broker_views, _path_shares, build_plan
from tokensim.sim.streams import Streams

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MECHANISMS = ("bearer", "dpop", "mtls")
FLAGS = ("terminates_tls", "forwards_client_cert", "forwards_host", "rewrites_uri", "verifies_binding")
POLICIES = [
    preset(name, on_binding_loss=loss, on_unsupported=unsupported)
    for name in ("bearer", "dpop", "mtls", "hybrid")
    for loss in ("fallback", "fail")
    for unsupported in ("fallback", "fail")
]


@st.composite
def dag_models(draw: st.DrawFn, back_edges: bool = False) -> dict[str, Any]:
    """A random acyclic model: clients, proxies, gateways, meshes and brokers in a random order, resources
    (``back_edges``: plus some edges backwards between the middle nodes, which may close cycles)."""
    nodes: dict[str, Any] = {}
    clients = [f"c{i}" for i in range(draw(st.integers(1, 2)))]
    for c in clients:
        supports = draw(st.lists(st.sampled_from(MECHANISMS), min_size=1, max_size=3, unique=True))
        storage = ["software", "hardware"] + (["none"] if supports == ["bearer"] else [])  # a key for dpop, mtls
        nodes[c] = {
            "kind": "client",
            "platform": "workload",
            "supports": supports,
            "key_storage": draw(st.sampled_from(storage)),
        }
    middle = [f"m{i}" for i in range(draw(st.integers(1, 8)))]
    for m in middle:
        kind = draw(st.sampled_from(["proxy", "gateway", "mesh", "broker"]))
        if kind == "broker":
            nodes[m] = {"kind": kind, "exchange": draw(st.sampled_from(["preserve", "strip", "fail"]))}
        else:
            nodes[m] = {"kind": kind, **{f: draw(st.booleans()) for f in FLAGS if draw(st.booleans())}}
    if draw(st.booleans()):  # an issuer that may not issue every mechanism (MODEL-v2 section 1)
        bound = draw(st.lists(st.sampled_from(["dpop", "mtls"]), max_size=2, unique=True))
        nodes["idp"] = {"kind": "issuer", "supports": ["bearer", *bound]}
    resources = [f"r{i}" for i in range(draw(st.integers(1, 2)))]
    for r in resources:
        nodes[r] = {"kind": "resource", "accepts": draw(st.sampled_from(["bound", "any"]))}
    # edges only forward in the order clients, middle, resources: acyclic
    order = [*clients, *middle, *resources]
    candidates = [
        (a, b)
        for i, a in enumerate(order)
        for b in order[i + 1 :]
        if a not in resources and b not in clients and not (a in clients and b in resources and len(middle) > 0)
    ]
    chosen = draw(st.lists(st.booleans(), min_size=len(candidates), max_size=len(candidates)))
    edges = {e for e, keep in zip(candidates, chosen) if keep}
    edges |= {(c, middle[0]) for c in clients}
    for i, m in enumerate(middle):  # an edge onwards from every middle node: every client reaches a resource
        edges.add((m, draw(st.sampled_from([*middle[i + 1 :], *resources]))))
    if back_edges and len(middle) > 1:
        backwards = [(b, a) for i, a in enumerate(middle) for b in middle[i + 1 :]]
        edges |= set(draw(st.lists(st.sampled_from(backwards), min_size=1, max_size=4)))
    return {"name": "random", "nodes": nodes, "edges": sorted(map(list, edges))}


def brute_force(arch: Architecture, client: str, resource: str) -> list[tuple[str, ...]]:
    return sorted(tuple(p) for p in nx.all_simple_paths(arch.graph, client, resource))


@SETTINGS
@given(dag_models())
def test_counts_agree_with_listing_every_path(data: dict[str, Any]) -> None:
    arch = Architecture.from_dict(data)
    assert all(isinstance(space, DagPaths) for space in arch.paths.values())
    check_against_brute_force(arch)


@SETTINGS
@given(dag_models(back_edges=True))
def test_routes_through_cycles_are_listed_and_agree_with_brute_force(data: dict[str, Any]) -> None:
    arch = Architecture.from_dict(data)  # small: far below the limit of listed paths
    g = arch.graph
    for (c, r), space in arch.paths.items():
        # counted where no cycle lies between the two, listed where one does
        between = (nx.descendants(g, c) & nx.ancestors(g, r)) | {c, r}
        cyclic = not nx.is_directed_acyclic_graph(g.subgraph(between))
        assert isinstance(space, ListedPaths if cyclic else DagPaths)
    check_against_brute_force(arch)


def check_against_brute_force(arch: Architecture) -> None:
    """Every count, share, first path and verdict of every pair equals listing and classifying every path."""
    pairs = {(c, r) for c in arch.clients for r in arch.resources if brute_force(arch, c, r)}
    assert set(arch.paths) == pairs
    for (c, r), space in arch.paths.items():
        paths = brute_force(arch, c, r)
        assert list(space.listing()) == paths
        assert space.total == len(paths)
        assert dict(space.passes) == dict(Counter(v for p in paths for v in p))
        listed = ListedPaths(arch.spec.nodes, c, r, paths)  # the cyclic case's way, on the same paths
        for mechanism in MECHANISMS:
            verdicts = [HopRule(arch.spec.nodes, mechanism).classify(p) for p in paths]
            want_paths = Counter(verdicts)
            want_first = {v: paths[verdicts.index(v)] for v in want_paths}
            want_through = {
                v: dict(Counter(h for p, w in zip(paths, verdicts) if w == v for h in p[1:-1])) for v in want_paths
            }
            for tally in (space.tally(mechanism), listed.tally(mechanism)):
                assert dict(tally.paths) == dict(want_paths)
                assert list(tally.paths) == sorted(want_first, key=want_first.__getitem__)  # first-path order
                assert dict(tally.first) == want_first
                assert {v: {h: n for h, n in t.items() if n} for v, t in tally.through.items()} == want_through


@settings(SETTINGS, max_examples=100)
@given(dag_models(), st.sampled_from(POLICIES))
def test_analysis_agrees_with_the_full_table(data: dict[str, Any], policy: tokensim.Policy) -> None:
    arch = Architecture.from_dict(data)
    table = route_table(arch, policy, limit=10**9)  # every path listed
    analysis = analyse(arch, policy)
    assert set(table["paths"]) == {1} and len(table) == analysis.rows
    # the groups are the table's rows counted by outcome, in the table's order, each with its first path
    keys = ["client", "resource", "tier", "mechanism", "status", "effect", "hop", "reason", "entry_verifier"]
    firsts = (
        table.fillna({"hop": "-", "entry_verifier": "-"})
        .groupby(keys, sort=False)
        .agg(path=("path", "first"), paths=("path", "size"))
    )
    got = [({k: getattr(g, k) or "-" for k in keys}, " > ".join(g.path), g.paths) for g in analysis.groups]
    assert got == [(dict(zip(keys, key)), row.path, row.paths) for key, row in firsts.iterrows()]
    # what the thief faces and the failing share, as the old per-path rule had it
    for (c, r, tier), (effect, share) in analysis.binding.items():
        effects = list(table[(table["client"] == c) & (table["resource"] == r) & (table["tier"] == tier)]["effect"])
        assert effect == ("bearer" if "bearer" in effects else "bound" if "bound" in effects else "fails")
        assert share == effects.count("fails") / len(effects)
    # the interior nodes of bound paths (what the cost model charges for)
    for (c, r, tier), hops in analysis.bound_hops.items():
        rows = table[(table["client"] == c) & (table["resource"] == r) & (table["tier"] == tier)]
        want = {h for p in rows[rows["effect"] == "bound"]["path"] for h in p.split(" > ")[1:-1]}
        assert hops == want
    # the run plan's path shares and broker views: shares of the listed paths through each node
    plan = build_plan(arch, policy, analysis.binding, Streams(1, 0))
    listing = {pair: brute_force(arch, *pair) for pair in arch.paths}
    for node in arch.spec.nodes:
        for name, share in _path_shares(arch, node, plan.clients).items():
            for cell in plan.clients[name].cells:
                paths = listing[(name, cell.resource)]
                assert share[cell.index] == sum(node in p for p in paths) / len(paths)
        views = {v.plan.name: {c.resource for c in v.seen} for v in _broker_views(arch, node, plan.clients)}
        for name, cp in plan.clients.items():
            want = {r for r in cp.resources if any(node in p for p in listing[(name, r)])}
            assert views.get(name, set()) == want


def layered(k: int, width: int | None = None, **proxy: Any) -> dict[str, Any]:
    """A client, ``k`` layers of ``width`` (default k) proxies, each layer fully connected to the next, a resource."""
    width = width or k
    nodes: dict[str, Any] = {"app": {"kind": "client", "platform": "workload", "supports": list(MECHANISMS)}}
    layers = [[f"p{i}_{j}" for j in range(width)] for i in range(k)]
    nodes.update({n: {"kind": "proxy", **proxy} for layer in layers for n in layer})
    nodes["api"] = {"kind": "resource"}
    edges = [["app", n] for n in layers[0]]
    edges += [[a, b] for x, y in itertools.pairwise(layers) for a in x for b in y]
    edges += [[n, "api"] for n in layers[-1]]
    return {"name": f"layered_{k}x{width}", "nodes": nodes, "edges": edges}


def test_a_20x20_layered_graph_is_counted_exactly() -> None:
    data = layered(20, terminates_tls=False)
    data["nodes"]["p7_3"]["rewrites_uri"] = True  # one proxy of one layer breaks DPoP on the paths through it
    arch = Architecture.from_dict(data)
    space = arch.paths[("app", "api")]
    assert space.total == 20**20
    assert space.passes["p7_3"] == space.passes["p19_0"] == 20**19 and space.passes["api"] == 20**20
    analysis = analyse(arch, preset("dpop", on_binding_loss="fail"))
    for tier in TIERS:
        # a thief can use the bound paths only with the key; 1 legitimate request in 20 fails
        assert analysis.binding[("app", "api", tier)] == ("bound", 1 / 20)
    by_status = Counter()
    for g in analysis.groups:
        by_status[g.status] += g.paths
    assert by_status == {"bound": 2 * (20**20 - 20**19), "broken": 2 * 20**19}
    broken = [g for g in analysis.groups if g.status == "broken"]
    assert {g.hop for g in broken} == {"p7_3"} and all("p7_3" in g.path for g in broken)
    table = route_table(arch, preset("dpop"))
    assert len(table) == 4 and sum(table["paths"]) == 2 * 20**20  # one row per tier and outcome
    # mTLS is lost at whichever first-layer proxy a path takes: 20 outcomes per tier, each 20^19 paths
    arch = Architecture.from_dict(layered(20))
    mtls = analyse(arch, preset("mtls"))
    assert len(mtls.groups) == 40 and {g.paths for g in mtls.groups} == {20**19}
    assert {g.hop for g in mtls.groups} == {f"p0_{j}" for j in range(20)}


def test_a_table_over_the_limit_is_summarised_with_counts_and_first_paths() -> None:
    arch = Architecture.from_dict(layered(3, width=5))  # 125 paths: 250 rows under a policy
    policy = preset("mtls")
    full = route_table(arch, policy, limit=250)
    assert len(full) == 250 and set(full["paths"]) == {1}
    summary = route_table(arch, policy, limit=249)
    assert sum(summary["paths"]) == 250 and len(summary) == 10  # lost at one of 5 first proxies, per tier
    for _, row in summary.iterrows():
        same = full[(full["tier"] == row["tier"]) & (full["hop"] == row["hop"]) & (full["status"] == row["status"])]
        assert row["paths"] == len(same) and row["path"] == same["path"].iloc[0]
    assert len(route_table(arch, policy)) == 10  # the default limit (200 rows) summarises it too


def test_check_summarises_a_model_with_too_many_routes(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(layered(3, width=5)))
    result = CliRunner().invoke(app, ["check", str(path), "--policy", "mtls"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("model layered_3x5, policy mtls: 250 routes, more than 200 to list: summarised in 10")
    assert lines[1].split() == [
        "client",
        "resource",
        "tier",
        "mechanism",
        "status",
        "effect",
        "hop",
        "verifier",
        "paths",
    ]
    assert lines[2].split()[-3:] == ["p0_0", "-", "25"]
    assert lines[3] == (
        "    the first of 25: app > p0_0 > p1_0 > p2_0 > api: p0_0 terminates TLS and does not forward the client "
        "certificate; the policy falls back to bearer"
    )
    # then the route facts (counted over all 250 routes)
    assert lines[2 + 2 * 10 :] == [
        "",
        "DPoP htu breaks:",
        "  none",
        "issuer gaps (a mechanism asked for that the resource's issuer does not issue):",
        "  none",
        "entry verifiers (where a thief from outside must pass with the key):",
        "  none: no route is bound",
    ]


def test_a_diagram_of_a_model_with_too_many_routes_draws_one_line_per_outcome() -> None:
    from tokensim.viz import architecture_figure

    fig = architecture_figure(Architecture.from_dict(layered(3, width=5)), "mtls")
    ax = fig.axes[0]
    gids = {line.get_gid() for line in ax.get_lines() if (line.get_gid() or "").startswith("route|")}
    assert len(gids) == 10  # one per tier and outcome
    assert "250 broken" in ax.get_title() and "one line per outcome" in ax.get_title()


# --------------------------------------------------------------------------- cycles


def cyclic(n: int) -> dict[str, Any]:
    """A client, ``n`` proxies all connected to each other both ways, a resource behind each."""
    names = [f"p{i}" for i in range(n)]
    nodes: dict[str, Any] = {"app": {"kind": "client", "platform": "workload", "supports": list(MECHANISMS)}}
    nodes.update({p: {"kind": "proxy", "rewrites_uri": p == "p1"} for p in names})
    nodes["api"] = {"kind": "resource"}
    edges = [["app", p] for p in names] + [[p, "api"] for p in names]
    edges += [[a, b] for a in names for b in names if a != b]
    return {"name": f"cyclic_{n}", "nodes": nodes, "edges": edges}


def test_a_cycle_is_listed_path_by_path() -> None:
    arch = Architecture.from_dict(cyclic(3))  # 3 + 6 + 6 = 15 simple paths
    space = arch.paths[("app", "api")]
    assert isinstance(space, ListedPaths)
    assert list(space.listing()) == brute_force(arch, "app", "api") and space.total == 15
    analysis = analyse(arch, preset("dpop", on_binding_loss="fail"))
    broken = sum(g.paths for g in analysis.groups if g.tier == "low_risk" and g.status == "broken")
    assert broken == 11  # every path through the rewriting p1: all but p0, p2, p0>p2 and p2>p0
    assert analysis.binding[("app", "api", "low_risk")] == ("bound", 11 / 15)
    assert len(route_table(arch, "dpop")) == 30


def test_a_cycle_with_too_many_paths_is_refused_with_one_message(tmp_path: Path) -> None:
    with pytest.raises(tokensim.InputError) as err:
        Architecture.from_dict(cyclic(12), "cyclic.yaml")  # about 1.3 billion simple paths
    assert err.value.source == "cyclic.yaml" and len(err.value.problems) == 1
    problem = err.value.problems[0]
    assert problem.path == "edges"
    assert "'app' to 'api'" in problem.message and f"more than {CYCLIC_PATH_LIMIT:,} simple paths" in problem.message
    assert "p0 -> p1" in problem.message  # the cycle it found
    path = tmp_path / "cyclic.yaml"
    path.write_text(yaml.safe_dump(cyclic(12)))
    result = subprocess.run(
        [sys.executable, "-m", "tokensim", "check", str(path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path}: edges: the routes from 'app' to 'api' can pass a cycle")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_model_just_under_the_cyclic_limit_loads() -> None:
    # 7 mutually connected proxies: 13,699 simple paths: over; 6: 1,956: under
    arch = Architecture.from_dict(cyclic(6))
    assert arch.paths[("app", "api")].total == sum(len(list(itertools.permutations(range(6), k))) for k in range(1, 7))
    with pytest.raises(tokensim.InputError, match="more than 10,000 simple paths"):
        Architecture.from_dict(cyclic(7))
