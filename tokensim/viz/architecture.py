"""The architecture diagram: nodes by kind, each route coloured by what happens to the binding.

Layout: layers from clients (left) to resources (right), computed with networkx
(topological generations: every edge points right; a cycle falls back to the distance from the clients)
and scaled with `networkx.rescale_layout`; drawing is plain matplotlib (networkx's
drawing helpers import pyplot), issuers in a last column with
dotted "trusts" lines from the resources that trust them. Within a layer nodes
follow the mean height of their predecessors (fewer crossings), ties in model
order, so the same model always gives the same picture.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

from tokensim.errors import InputError
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.policy import Policy, resolve_policy
from tokensim.model.routes import TIERS, route_table
from tokensim.viz.style import GREY, OKABE_ITO, STATUS_COLOURS, STATUS_LABELS, context, new_figure

if TYPE_CHECKING:
    from matplotlib.typing import LineStyleType

#: Each node kind's marker and fill (labels sit under the nodes, so any fill reads).
KIND_STYLES: dict[str, tuple[str, str]] = {
    "client": ("o", OKABE_ITO["sky_blue"]),
    "proxy": ("s", OKABE_ITO["yellow"]),
    "gateway": ("D", OKABE_ITO["reddish_purple"]),
    "mesh": ("h", OKABE_ITO["blue"]),
    "broker": ("p", "#6E6E6E"),
    "resource": ("^", OKABE_ITO["black"]),
    "issuer": ("*", "#BBBBBB"),
}
#: Line style per privilege tier: privileged solid, low-risk dashed.
TIER_STYLES: dict[str, LineStyleType] = {"privileged": "-", "low_risk": "--"}
#: Where the binding is lost: the hop's marker says how.
HOP_TEXT: dict[str, str] = {"broken": "binding broken here", "downgraded": "downgraded to bearer here"}


def layers(arch: Architecture) -> dict[int, list[str]]:
    """Layer number -> nodes, clients first, every resource in the last layer, issuers after it."""
    graph = arch.graph
    issuers = [n for n, d in graph.nodes(data=True) if d["kind"] == "issuer"]
    flow = graph.subgraph([n for n in graph if n not in issuers])
    depth: dict[str, int] = {}
    if nx.is_directed_acyclic_graph(flow):
        for level, nodes in enumerate(nx.topological_generations(flow)):
            depth.update({n: level for n in nodes})
    else:  # a cycle among intermediaries: fall back to the distance from the nearest client
        depth = {n: 0 for n in flow}
        depth.update(nx.multi_source_dijkstra_path_length(flow, arch.clients))
    last = max([depth[r] for r in arch.resources] + [1])
    for r in arch.resources:
        depth[r] = last
    for i in issuers:
        depth[i] = last + 1
    order = {n: k for k, n in enumerate(arch.spec.nodes)}
    trusted_by: dict[str, list[str]] = {}
    for r in arch.resources:
        issuer = _issuer_of(arch, r)
        if issuer is not None:
            trusted_by.setdefault(issuer, []).append(r)
    out: dict[int, list[str]] = {}
    height: dict[str, float] = {}
    for level in sorted(set(depth.values())):
        nodes = [n for n in arch.spec.nodes if depth[n] == level]

        def barycentre(n: str) -> float:
            sources = trusted_by.get(n) or list(graph.predecessors(n))  # an issuer sits by the resources trusting it
            preds = [height[p] for p in sources if p in height]
            return float(np.mean(preds)) if preds else float(order[n])

        nodes.sort(key=lambda n: (barycentre(n), order[n]))
        out[level] = nodes
        height.update({n: float(k) for k, n in enumerate(nodes)})
    return out


def layout(arch: Architecture) -> dict[str, tuple[float, float]]:
    """Node positions: one column per layer of `layers` (first node on top), scaled by networkx's `rescale_layout`.

    (networkx's multipartite_layout orders a layer through a set, so its order is not
    stable across processes: the columns are placed here, the scaling is networkx's.)
    """
    names: list[str] = []
    points: list[tuple[float, float]] = []
    for column, nodes in enumerate(layers(arch).values()):
        for k, n in enumerate(nodes):
            names.append(n)
            points.append((float(column), (len(nodes) - 1) / 2 - k))
    scaled = nx.rescale_layout(np.array(points, dtype=float), scale=1.0)
    return {n: (float(x), float(y)) for n, (x, y) in zip(names, scaled)}


def _issuer_of(arch: Architecture, resource: str) -> str | None:
    named: str | None = arch.node(resource).issuer
    if named is not None:
        return named
    issuers = [n for n, v in arch.spec.nodes.items() if v.kind == "issuer"]
    return issuers[0] if len(issuers) == 1 else None


def _routes(arch: Architecture, policy: Policy, tier: str | None) -> pd.DataFrame:
    table = route_table(arch, policy)
    if tier is not None:
        table = table[table["tier"] == tier]
    return table.reset_index(drop=True)


def _draw_routes(ax: Axes, fig: Figure, table: pd.DataFrame, pos: dict[str, tuple[float, float]]) -> None:
    """Each route and tier as lines along its edges; the lines sharing an edge sit side by side, centred on it.

    One Line2D per (route, tier, edge), all with the route's gid, so a route's
    colour can be checked edge by edge. The offsets are in points (not data units),
    so they stay a few points apart whatever the figure's size.
    """
    paths = [row["path"].split(" > ") for _, row in table.iterrows()]
    lanes: dict[tuple[str, str], list[int]] = {}
    for k, nodes in enumerate(paths):
        for edge in itertools.pairwise(nodes):
            lanes.setdefault(edge, []).append(k)
    for k, ((_, row), nodes) in enumerate(zip(table.iterrows(), paths)):
        gid = f"route|{row['client']}|{row['resource']}|{row['path']}|{row['tier']}|{row['status']}"
        for u, v in itertools.pairwise(nodes):
            sharing = lanes[(u, v)]
            spacing = min(3.5, 16.0 / max(len(sharing) - 1, 1))
            shift = offset_copy(
                ax.transData, fig=fig, x=0.0, y=(sharing.index(k) - (len(sharing) - 1) / 2) * spacing, units="points"
            )
            ax.plot(
                [pos[u][0], pos[v][0]],
                [pos[u][1], pos[v][1]],
                color=STATUS_COLOURS[row["status"]],
                linestyle=TIER_STYLES[row["tier"]],
                linewidth=2.0,
                transform=shift,
                zorder=2,
                gid=gid,
            )


def _draw_hops(ax: Axes, table: pd.DataFrame, pos: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    """Mark each node where a binding is lost (broken wins over downgraded at one node)."""
    lost = table[table["status"].isin(list(HOP_TEXT)) & table["hop"].notna()]
    marks: dict[str, str] = {}
    for _, row in lost.iterrows():
        if marks.get(row["hop"]) != "broken":
            marks[row["hop"]] = row["status"]
    for hop, status in marks.items():
        x, y = pos[hop]
        ax.plot(
            [x],
            [y],
            linestyle="none",
            marker="X",
            markersize=17,
            markerfacecolor=STATUS_COLOURS[status],
            markeredgecolor="white",
            markeredgewidth=1.2,
            zorder=5,
            gid=f"hop|{hop}|{status}",
        )
        ax.annotate(
            HOP_TEXT[status],
            (x, y),
            xytext=(0, 14),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            color=STATUS_COLOURS[status],
            fontweight="bold",
            zorder=6,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    return list(marks.items())


def architecture_figure(
    model: Architecture | str | Path,
    policy: Policy | str | Path = "dpop",
    *,
    tier: str | None = None,
) -> Figure:
    """Draw a model's architecture and what ``policy`` does to each client -> resource route.

    ``model``: an `Architecture`, a built-in model name or a model file; ``policy``:
    a `Policy`, a preset name or a policy file. Nodes are drawn by kind (shape and
    colour); every route of `tokensim.route_table` is a line from client to
    resource (for a model with too many routes to list, one line per outcome, along
    the first route that has it) coloured by its status (bound, downgraded, broken, or bearer when the
    policy asks for no binding), solid for the privileged tier, dashed for the
    low-risk tier (``tier`` draws only one). The node that breaks or downgrades a
    binding is marked with an X in that colour.
    """
    arch = model if isinstance(model, Architecture) else load_model(model)
    pol = resolve_policy(policy)
    if tier is not None and tier not in TIERS:
        raise InputError.single("architecture figure", "tier", f"unknown tier {tier!r}; tiers: {', '.join(TIERS)}")
    table = _routes(arch, pol, tier)
    pos = layout(arch)
    graph = arch.graph
    levels = layers(arch)
    with context():
        fig = new_figure(max(6.5, 2.3 * len(levels) + 2.5), max(3.8, 1.1 * max(len(v) for v in levels.values()) + 2.4))
        ax = fig.add_subplot()
        for u, v in graph.edges:  # the topology underneath: thin grey arrows
            ax.annotate(
                "",
                xy=pos[v],
                xytext=pos[u],
                zorder=1,
                gid=f"edge|{u}|{v}",
                arrowprops={"arrowstyle": "-|>", "color": "#BBBBBB", "linewidth": 0.8, "shrinkA": 14, "shrinkB": 14},
            )
        for resource in arch.resources:
            issuer = _issuer_of(arch, resource)
            if issuer is not None:
                (x0, y0), (x1, y1) = pos[resource], pos[issuer]
                ax.plot(
                    [x0, x1],
                    [y0, y1],
                    linestyle=":",
                    color=GREY,
                    linewidth=1.0,
                    zorder=1,
                    gid=f"trusts|{resource}|{issuer}",
                )
        _draw_routes(ax, fig, table, pos)
        for kind, (marker, colour) in KIND_STYLES.items():
            nodes = [n for n, d in graph.nodes(data=True) if d["kind"] == kind]
            if nodes:
                xy = np.array([pos[n] for n in nodes])
                ax.scatter(
                    xy[:, 0],
                    xy[:, 1],
                    s=900 if marker == "*" else 650,
                    marker=marker,
                    color=colour,
                    edgecolors="black",
                    linewidths=1.0,
                    zorder=3,
                    label=kind,
                    gid=f"nodes|{kind}",
                )
        below = offset_copy(ax.transData, fig=fig, x=0, y=-16, units="points")
        for name, (x, y) in pos.items():
            ax.text(x, y, name, transform=below, ha="center", va="top", fontsize=9, zorder=6, gid=f"label|{name}")
        hops = _draw_hops(ax, table, pos)
        xs, ys = zip(*pos.values())
        ax.set_xlim(min(xs) - 0.25, max(xs) + 0.25)
        ax.set_ylim(min(ys) - 0.35, max(ys) + 0.3)
        ax.set_axis_off()
        handles = [
            Line2D(
                [],
                [],
                linestyle="none",
                marker=KIND_STYLES[k][0],
                markerfacecolor=KIND_STYLES[k][1],
                markeredgecolor="black",
                markersize=9,
                label=k,
            )
            for k in KIND_STYLES
            if any(d["kind"] == k for _, d in graph.nodes(data=True))
        ]
        for status in STATUS_COLOURS:
            if (table["status"] == status).any():
                handles.append(Line2D([], [], color=STATUS_COLOURS[status], linewidth=2.0, label=STATUS_LABELS[status]))
        if any(_issuer_of(arch, r) for r in arch.resources):
            handles.append(
                Line2D([], [], color=GREY, linestyle=":", linewidth=1.0, label="trusts (resource to issuer)")
            )
        for t in TIERS if tier is None else [tier]:
            handles.append(
                Line2D(
                    [], [], color="black", linestyle=TIER_STYLES[t], linewidth=1.4, label=f"{t.replace('_', '-')} tier"
                )
            )
        for status in dict.fromkeys(s for _, s in hops):
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker="X",
                    markersize=11,
                    markerfacecolor=STATUS_COLOURS[status],
                    markeredgecolor="white",
                    label=HOP_TEXT[status].replace(" here", " at this hop"),
                )
            )
        fig.legend(handles=handles, loc="outside right center", fontsize=8)
        # a summarised table (a model with too many paths to list) has a line per outcome, along its first path
        summarised = bool(len(table)) and int(table["paths"].sum()) > len(table)
        counts = table.groupby("status")["paths"].sum() if summarised else table["status"].value_counts()
        summary = ", ".join(f"{int(counts[s]):,} {s}" for s in STATUS_COLOURS if s in counts)
        ax.set_title(
            f"{arch.name} under {pol.name}"
            + (f" ({tier.replace('_', '-')} tier)" if tier else "")
            + f"\n{'routes' if tier else 'routes, counted in each tier'}: {summary}"
            + ("\n(too many to draw: one line per outcome, along its first route)" if summarised else ""),
            fontsize=11,
        )
    return fig
