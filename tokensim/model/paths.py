"""The routes from a client to a resource, counted instead of listed (docs/model.md section 3).

A route is a simple path. Their number grows exponentially with the architecture
(a client, 20 layers of 20 fully connected proxies and a resource: 20^20 paths), so
they are never all listed. Per (client, resource) pair a `PathSpace` holds the part of
the graph the pair's paths can use and answers, exactly and with Python integers:

* how many paths there are, and how many pass through each node (`total`, `passes`);
* per mechanism, how many paths end in each verdict, how many of those pass through
  each node, and the first path of each verdict (`tally`: `HopRule` folded over the hops);
* the paths themselves, lazily, in sorted order (`listing`), for a table a person reads.

When that part of the graph is acyclic (every built-in model; a request does not loop)
this is dynamic programming over it: walks in the same state at the same node share
their future. With a cycle, simple paths cannot be counted that way; they are listed
one by one, at most `CYCLIC_PATH_LIMIT` of them, and a model beyond that is refused with
one message naming the pair and the limit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from tokensim.errors import InputError
from tokensim.model.hops import HopRule, Verdict, Walk

#: Most simple paths listed for one (client, resource) pair whose paths can pass a cycle. Assumption: far
#: above any architecture drawn by hand (every built-in model has one path per pair), and listed and
#: classified in well under a second; a cycle of 12 fully connected proxies has about 1.3 billion.
CYCLIC_PATH_LIMIT = 10_000
#: Most steps (a node entered) of the search for those paths: the search may enter branches that lead
#: nowhere new without finding a path, so it is bounded too. Assumption: 100 steps per path allowed.
CYCLIC_STEP_LIMIT = 100 * CYCLIC_PATH_LIMIT


@dataclass(frozen=True)
class Tally:
    """The paths of one (client, resource) pair under one mechanism, by verdict.

    Every mapping is keyed by verdict, in the order of each verdict's first path (sorted order).
    """

    paths: Mapping[Verdict, int]  # how many paths end in each verdict
    through: Mapping[Verdict, Mapping[str, int]]  # per verdict, interior node -> how many of its paths pass there
    first: Mapping[Verdict, tuple[str, ...]]  # per verdict, its first path in sorted order


class PathSpace(ABC):
    """The simple paths from ``client`` to ``resource``: counted, classified and listed (module docstring)."""

    def __init__(self, nodes: Mapping[str, Any], client: str, resource: str) -> None:
        self.nodes = nodes
        self.client = client
        self.resource = resource
        self._tallies: dict[str, Tally] = {}  # per mechanism: the rule is fixed by the model's nodes and it

    @property
    @abstractmethod
    def total(self) -> int:
        """How many paths there are."""

    @property
    @abstractmethod
    def passes(self) -> Mapping[str, int]:
        """Per node (the client and the resource included), how many paths pass through it; absent: none."""

    @abstractmethod
    def listing(self) -> Iterator[tuple[str, ...]]:
        """Every path, in sorted order, one at a time (there may be astronomically many: take what you need)."""

    @abstractmethod
    def _tally(self, rule: HopRule) -> Tally: ...

    def tally(self, mechanism: str) -> Tally:
        """The paths by verdict under `HopRule` for ``mechanism`` (computed once per mechanism)."""
        if mechanism not in self._tallies:
            self._tallies[mechanism] = self._tally(HopRule(self.nodes, mechanism))
        return self._tallies[mechanism]


class DagPaths(PathSpace):
    """The paths of a pair whose usable part of the graph is acyclic: counted by dynamic programming over it.

    ``order``: that part's nodes in topological order (the client first, the resource last); ``succ``: each
    node's successors in it, sorted.
    """

    def __init__(
        self,
        nodes: Mapping[str, Any],
        client: str,
        resource: str,
        order: Sequence[str],
        succ: Mapping[str, Sequence[str]],
    ) -> None:
        super().__init__(nodes, client, resource)
        self._order = tuple(order)
        self._succ = {v: tuple(succ[v]) for v in self._order}
        pred: dict[str, list[str]] = {v: [] for v in self._order}
        for v in self._order:
            for w in self._succ[v]:
                pred[w].append(v)
        self._pred = {v: tuple(us) for v, us in pred.items()}
        into: dict[str, int] = {client: 1}  # paths from the client to each node
        for v in self._order[1:]:
            into[v] = sum(into[u] for u in self._pred[v])
        out: dict[str, int] = {resource: 1}  # paths from each node to the resource
        for v in reversed(self._order[:-1]):
            out[v] = sum(out[w] for w in self._succ[v])
        self._total = out[client]
        self._passes = {v: into[v] * out[v] for v in self._order}

    @property
    def total(self) -> int:
        return self._total

    @property
    def passes(self) -> Mapping[str, int]:
        return self._passes

    def listing(self) -> Iterator[tuple[str, ...]]:
        # depth first, successors in sorted order: paths come out sorted (the resource only ends a path)
        path = [self.client]
        stack = [iter(self._succ[self.client])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                path.pop()
            elif nxt == self.resource:
                yield (*path, nxt)
            else:
                path.append(nxt)
                stack.append(iter(self._succ[nxt]))

    def _tally(self, rule: HopRule) -> Tally:
        client, resource = self.client, self.resource
        moves: dict[tuple[Walk, str], Walk] = {}  # (state, next node) -> state there: each step taken once

        def enter(state: Walk, v: str) -> Walk:
            key = (state, v)
            if key not in moves:  # the resource's verdict comes from `finish`, not a step
                moves[key] = state if v == resource else rule.step(state, v)
            return moves[key]

        # forward: per node, how many walks from the client arrive in each state (its own hop applied)
        start = rule.start()
        arrive: dict[str, dict[Walk, int]] = {client: {start: 1}}
        for v in self._order[1:]:
            here: dict[Walk, int] = {}
            for u in self._pred[v]:
                for state, n in arrive[u].items():
                    s2 = enter(state, v)
                    here[s2] = here.get(s2, 0) + n
            arrive[v] = here
        # backward: per (node, state), how many ways on to the resource end in each verdict
        ahead: dict[tuple[str, Walk], dict[Verdict, int]] = {
            (resource, s): {rule.finish(s, resource): 1} for s in arrive[resource]
        }
        for v in reversed(self._order[:-1]):
            for state in arrive[v]:
                acc: dict[Verdict, int] = {}
                for w in self._succ[v]:
                    for verdict, m in ahead[(w, enter(state, w))].items():
                        acc[verdict] = acc.get(verdict, 0) + m
                ahead[(v, state)] = acc
        paths = ahead[(client, start)]
        first = {verdict: self._first(enter, ahead, start, verdict) for verdict in paths}
        order = sorted(first, key=first.__getitem__)
        through: dict[Verdict, dict[str, int]] = {verdict: {} for verdict in order}
        for v in self._order[1:-1]:
            for state, n in arrive[v].items():
                for verdict, m in ahead[(v, state)].items():
                    through[verdict][v] = through[verdict].get(v, 0) + n * m
        return Tally({k: paths[k] for k in order}, through, {k: first[k] for k in order})

    def _first(
        self,
        enter: Callable[[Walk, str], Walk],
        ahead: Mapping[tuple[str, Walk], Mapping[Verdict, int]],
        start: Walk,
        verdict: Verdict,
    ) -> tuple[str, ...]:
        """The first path (sorted order) ending in ``verdict``: at each node the first successor that still can."""
        path, state = [self.client], start
        while path[-1] != self.resource:
            for w in self._succ[path[-1]]:
                nxt = enter(state, w)
                if ahead[(w, nxt)].get(verdict, 0):
                    path.append(w)
                    state = nxt
                    break
        return tuple(path)


class ListedPaths(PathSpace):
    """The paths of a pair whose usable subgraph has a cycle: listed one by one (at most `CYCLIC_PATH_LIMIT`)."""

    def __init__(self, nodes: Mapping[str, Any], client: str, resource: str, paths: Sequence[tuple[str, ...]]) -> None:
        super().__init__(nodes, client, resource)
        self._paths = tuple(paths)
        self._passes = dict(Counter(v for p in self._paths for v in p))

    @property
    def total(self) -> int:
        return len(self._paths)

    @property
    def passes(self) -> Mapping[str, int]:
        return self._passes

    def listing(self) -> Iterator[tuple[str, ...]]:
        return iter(self._paths)

    def _tally(self, rule: HopRule) -> Tally:
        paths: dict[Verdict, int] = {}
        through: dict[Verdict, dict[str, int]] = {}
        first: dict[Verdict, tuple[str, ...]] = {}
        for p in self._paths:  # sorted: each verdict is met first at its first path
            verdict = rule.classify(p)
            paths[verdict] = paths.get(verdict, 0) + 1
            first.setdefault(verdict, p)
            counts = through.setdefault(verdict, {})
            for v in p[1:-1]:
                counts[v] = counts.get(v, 0) + 1
        return Tally(paths, through, first)


def path_spaces(
    graph: nx.DiGraph, nodes: Mapping[str, Any], clients: Sequence[str], resources: Sequence[str], source: str
) -> dict[tuple[str, str], PathSpace]:
    """Per (client, resource) pair with at least one path, in the order of ``clients`` then ``resources``.

    Raises `InputError` (naming ``source``) for a pair whose paths pass a cycle and number
    more than `CYCLIC_PATH_LIMIT` (or take more than `CYCLIC_STEP_LIMIT` steps to find).
    """
    succ = {v: sorted(graph.successors(v)) for v in graph}
    acyclic = nx.is_directed_acyclic_graph(graph)
    topo = list(nx.topological_sort(graph)) if acyclic else []
    above = {r: nx.ancestors(graph, r) for r in resources}
    out: dict[tuple[str, str], PathSpace] = {}
    for c in clients:
        below = nx.descendants(graph, c)
        for r in resources:
            if r not in below:
                continue
            usable = (below & above[r]) | {c, r}  # the nodes some path from c to r can use
            inside = {v: [w for w in succ[v] if w in usable] for v in usable}
            if acyclic:
                out[(c, r)] = DagPaths(nodes, c, r, [v for v in topo if v in usable], inside)
                continue
            sub = graph.subgraph(usable)
            if nx.is_directed_acyclic_graph(sub):
                out[(c, r)] = DagPaths(nodes, c, r, list(nx.topological_sort(sub)), inside)
            else:
                out[(c, r)] = ListedPaths(nodes, c, r, _simple_paths(sub, c, r, source))
    return out


def _simple_paths(sub: nx.DiGraph, client: str, resource: str, source: str) -> list[tuple[str, ...]]:
    """Every simple path from client to resource in sorted order, or `InputError` beyond the limits."""
    succ = {v: sorted(sub.successors(v)) for v in sub}
    found: list[tuple[str, ...]] = []
    path, on_path = [client], {client}
    stack = [iter(succ[client])]
    steps = 0
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            on_path.discard(path.pop())
        elif nxt == resource:
            found.append((*path, nxt))
            if len(found) > CYCLIC_PATH_LIMIT:
                _refuse(sub, client, resource, source, f"more than {CYCLIC_PATH_LIMIT:,} simple paths")
        elif nxt not in on_path:
            steps += 1
            if steps > CYCLIC_STEP_LIMIT:
                _refuse(sub, client, resource, source, f"a search of more than {CYCLIC_STEP_LIMIT:,} steps for them")
            path.append(nxt)
            on_path.add(nxt)
            stack.append(iter(succ[nxt]))
    return found


def _refuse(sub: nx.DiGraph, client: str, resource: str, source: str, what: str) -> None:
    edges = nx.find_cycle(sub)
    cycle = " -> ".join([*(u for u, _ in edges), edges[0][0]])
    raise InputError.single(
        source,
        "edges",
        f"the routes from {client!r} to {resource!r} can pass a cycle ({cycle}), so their simple paths are "
        f"listed one by one, and there are {what} (limit: {CYCLIC_PATH_LIMIT:,} paths, "
        f"{CYCLIC_STEP_LIMIT:,} steps; docs/model.md section 3); remove an edge of the cycle "
        "(a request does not loop): without cycles, paths are counted, not listed",
    )
