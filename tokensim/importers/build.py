"""From a reader's inventory to a tokensim model: which elements become which nodes, and the edges.

The rules (docs/import.md, "How elements become nodes"): a client platform becomes a client; a proxy,
load balancer, WAF, gateway or mesh an intermediary; an identity provider an issuer (links to it are
token requests, not routes); a data store no node (its data counts for the APIs that reach it); a
browser's backend-for-frontend (session in, token out) no node either (the browser gets
``token_handler: bff``); an API or an element of unknown role a resource where requests reach it, a
workload client where it only calls, and both (two nodes) where it serves and calls onward. A link
becomes an edge between the nodes of its ends. The fields of each node are decided in ``facts.py``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import networkx as nx

from tokensim.errors import InputError, Problem
from tokensim.importers import facts, sections
from tokensim.importers.draft import Draft, node_name
from tokensim.importers.findings import ImportReport
from tokensim.importers.inventory import CLIENT_ROLES, HOP_ROLES, Element, Inventory, Link
from tokensim.model.schema import NODE_CLASSES

SELF_LINK = "a link from an element to itself: no route"


class Edge(NamedTuple):
    """An edge of the model: requests go from ``source`` to ``target`` (node names)."""

    source: str
    target: str


@dataclass
class Plan:
    """Which node(s) each element became: ``serves`` (a hop or resource), ``calls`` (a client).

    ``bff`` maps a browser client to the element that is its backend-for-frontend (no node of its own).
    """

    serves: dict[str, str] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # node name -> kind
    element_of: dict[str, Element] = field(default_factory=dict)  # node name -> its element
    edges: list[Edge] = field(default_factory=list)
    links_of: dict[Edge, list[Link]] = field(default_factory=lambda: defaultdict(list))
    bff: dict[str, Element] = field(default_factory=dict)


def build(inventory: Inventory) -> Draft:
    """The model an inventory describes, with its comments and the completed report."""
    draft = Draft(inventory.report)
    draft.model["name"] = node_name(inventory.name, set()).replace("_", "-")
    draft.model["description"] = inventory.description or f"Imported from {inventory.report.source}"
    _drop_self_links(inventory)
    plan = _plan(inventory, set())
    _edges(inventory, plan)
    _prune(inventory, plan)
    for name in plan.kinds:
        draft.node(name)["kind"] = plan.kinds[name]
        draft.origins[name] = plan.element_of[name].where
        if plan.element_of[name].description:
            draft.node(name)["description"] = " ".join(plan.element_of[name].description.split())
    facts.decide(inventory, plan, draft)
    _stated(inventory, plan, draft)
    draft.model["edges"] = [list(e) for e in plan.edges]
    sections.apply(inventory, draft)
    return draft


def _drop_self_links(inventory: Inventory) -> None:
    """Report and drop links from an element to itself (every format the same way)."""
    for link in inventory.links:
        if link.source == link.target:
            inventory.report.add("unmapped", link.where, "", SELF_LINK)
    inventory.links = [link for link in inventory.links if link.source != link.target]


def _request_link(inventory: Inventory, link: Link) -> bool:
    """Whether requests to APIs travel this link (not a token request to an issuer, not a data store query)."""
    ends = (inventory.elements[link.source], inventory.elements[link.target])
    return not any(e.role in ("issuer", "datastore") for e in ends)


def _plan(inventory: Inventory, taken: set[str]) -> Plan:
    """Decide the node(s) of every element from its role and its links."""
    plan, report = Plan(), inventory.report
    incoming: dict[str, list[Link]] = defaultdict(list)
    outgoing: dict[str, list[Link]] = defaultdict(list)
    for link in inventory.links:
        if _request_link(inventory, link):
            incoming[link.target].append(link)
            outgoing[link.source].append(link)
        else:
            target = inventory.elements[link.target]
            what = "a token request to an issuer" if target.role == "issuer" else "a query of a data store"
            report.add("unmapped", link.where, "", f"{what}, not a route (its authentication is read for the caller)")
    bffs = _backends_for_frontends(inventory, incoming, outgoing)
    for element in inventory.elements.values():
        role, where = element.role, element.where
        if element.out_of_scope:
            report.add(
                "ambiguity", where, "out_of_scope", "marked out of scope; mapped anyway, since requests cross it"
            )
        if element.id in bffs:
            report.add(
                "ambiguity",
                where,
                "",
                "a session in, a token out: the browser's backend-for-frontend, no node "
                "(the browser gets token_handler: bff and reaches what it calls)",
            )
        elif role == "issuer":
            name = _named(element, taken, report)
            _add(plan, name, "issuer", element)
            report.add("mapped", where, "", f"issuer {name} ({element.role_from}); links to it are token requests")
        elif role == "datastore":
            report.add(
                "mapped", where, "", f"no node ({element.role_from}): its data counts for the APIs that reach it"
            )
        elif role in CLIENT_ROLES:
            name = plan.calls[element.id] = _named(element, taken, report)
            _add(plan, name, "client", element)
            report.add("mapped", where, "", f"client {name} ({element.role_from})")
            for link in incoming[element.id]:
                report.add("unmapped", link.where, "", "a link into a client: requests start at clients in tokensim")
        elif role in HOP_ROLES or role == "broker":
            kind = "mesh" if role == "mesh" else role
            name = plan.serves[element.id] = _named(element, taken, report)
            _add(plan, name, kind, element)
            report.add("mapped", where, "", f"{kind} {name} ({element.role_from})")
        elif incoming[element.id] or outgoing[element.id]:
            _serving_or_calling(plan, element, bool(incoming[element.id]), bool(outgoing[element.id]), taken, report)
        else:
            report.add("unmapped", where, "", f"{element.role_from}, and no request reaches it or leaves it")
    for bff, browsers in bffs.items():
        for browser in browsers:
            plan.bff[browser] = inventory.elements[bff]
    return plan


def _backends_for_frontends(
    inventory: Inventory, incoming: dict[str, list[Link]], outgoing: dict[str, list[Link]]
) -> dict[str, list[str]]:
    """Elements every caller of which is a browser holding a session (``session-id``), and that call onward:
    backends-for-frontends, by element id, with their browsers."""
    found: dict[str, list[str]] = {}
    for element in inventory.elements.values():
        into, out = incoming[element.id], outgoing[element.id]
        if element.role not in ("api", "unknown") or not into or not out:
            continue
        callers = [inventory.elements[link.source] for link in into]
        if all(c.role == "browser" for c in callers) and all(link.authentication == "session-id" for link in into):
            found[element.id] = [c.id for c in callers]
    return found


def _named(element: Element, taken: set[str], report: ImportReport, suffix: str = "") -> str:
    """The node name of an element; a name another element already took is reported."""
    wanted = node_name(f"{element.name}{suffix}", set())
    name = node_name(f"{element.name}{suffix}", taken)
    if name != wanted:
        report.add("ambiguity", element.where, "", f"its name {wanted!r} is another element's: node {name}")
    return name


def _serving_or_calling(
    plan: Plan, element: Element, served: bool, calls: bool, taken: set[str], report: ImportReport
) -> None:
    """An API or an element of unknown role: a resource where requests reach it, a client where it calls."""
    where = element.where
    if served:
        name = plan.serves[element.id] = _named(element, taken, report)
        _add(plan, name, "resource", element)
        report.add("mapped", where, "", f"resource {name} ({element.role_from})")
    if calls:
        name = plan.calls[element.id] = _named(element, taken, report, " client" if served else "")
        _add(plan, name, "client", element)
        if served:
            report.add(
                "ambiguity",
                where,
                "",
                f"it serves requests and calls other APIs: two nodes, resource {plan.serves[element.id]} and "
                f"workload client {name} (its onward calls carry its own token; tokensim routes end at a resource, "
                "so a caller's token passed on is modelled as the service's own)",
            )
        else:
            report.add("ambiguity", where, "", f"{element.role_from}, it only calls other APIs: workload client {name}")


def _add(plan: Plan, name: str, kind: str, element: Element) -> None:
    plan.kinds[name] = kind
    plan.element_of[name] = element


def _edges(inventory: Inventory, plan: Plan) -> None:
    """One edge per request link whose ends became a caller (client or hop) and a hop or resource."""
    browsers_of: dict[str, list[str]] = defaultdict(list)
    for browser, bff in plan.bff.items():
        browsers_of[bff.id].append(browser)
    for link in inventory.links:
        if not _request_link(inventory, link):
            continue
        if link.source in browsers_of:  # a backend-for-frontend's calls are its browsers'
            sources = [plan.calls[b] for b in browsers_of[link.source] if b in plan.calls]
        elif link.source in plan.serves and plan.kinds[plan.serves[link.source]] != "resource":
            sources = [plan.serves[link.source]]  # a hop forwards
        else:
            sources = [s for s in (plan.calls.get(link.source),) if s is not None]
        target = plan.serves.get(link.target)
        for source in sources:
            if target is None:
                continue  # an end with no node: reported with its element
            edge = Edge(source, target)
            if edge not in plan.links_of:
                plan.edges.append(edge)
            plan.links_of[edge].append(link)


def _prune(inventory: Inventory, plan: Plan) -> None:
    """Drop clients that reach no resource and hops no route crosses (reported); refuse a model with neither."""
    graph = nx.DiGraph(plan.edges)
    graph.add_nodes_from(plan.kinds)
    resources = {n for n, k in plan.kinds.items() if k == "resource"}
    clients = {n for n, k in plan.kinds.items() if k == "client"}
    reached = {n for c in clients for n in nx.descendants(graph, c)}
    useful = {n for n in reached if nx.descendants(graph, n) & resources or n in resources}
    report = inventory.report
    for name, kind in list(plan.kinds.items()):
        element = plan.element_of[name]
        if kind == "client" and not (nx.descendants(graph, name) & resources):
            report.add("unmapped", element.where, "", f"client {name} reaches no API: left out of the model")
        elif kind in (*HOP_ROLES, "broker") and name not in useful:
            report.add("unmapped", element.where, "", f"{kind} {name} is on no route from a client to an API: left out")
        else:
            continue
        del plan.kinds[name]
        plan.edges = [e for e in plan.edges if name not in e]
    kinds = set(plan.kinds.values())
    if not {"client", "resource"} <= kinds:
        what = "client" if "client" not in kinds else "API (resource)"
        why = [
            f"{f.element}: {f.detail}"
            for f in report.findings
            if f.category in ("unmapped", "ambiguity") and not f.field
        ]
        problems = [Problem("", f"no element maps to a {what} that a route joins; tokensim needs both")]
        problems += [Problem("", line) for line in why[:15]]
        raise InputError(report.source, problems)


def _stated(inventory: Inventory, plan: Plan, draft: Draft) -> None:
    """Apply the fields the source states outright; names the source wrote for its own nodes are renamed."""
    renamed = {plan.element_of[n].name: n for n in plan.kinds if plan.element_of[n].name != n}
    nodes_of: dict[str, list[str]] = defaultdict(list)
    for name in plan.kinds:
        nodes_of[plan.element_of[name].id].append(name)
    for name in plan.kinds:
        element = plan.element_of[name]
        for key, value in element.explicit.items():
            fits = [n for n in nodes_of[element.id] if key in NODE_CLASSES[plan.kinds[n]].model_fields]
            if key != "kind" and name not in fits and fits:
                continue  # an element split into a resource and a client: the field goes where it exists
            if key == "kind":
                if value != plan.kinds[name]:
                    draft.report.add(
                        "ambiguity",
                        element.where,
                        "tokensim:kind",
                        f"kind {value!r} stated, "
                        f"{plan.kinds[name]} from its role: the role decides (a tokensim-role tag sets it)",
                    )
                continue
            draft.set(
                name, key, _renamed(key, value, renamed), f"stated in the source ({element.where}: tokensim {key})"
            )


def _renamed(key: str, value: object, renamed: dict[str, str]) -> object:
    """A stated value with the node names it holds (a resource's issuer, a leak's resources) renamed."""
    if key == "issuer" and isinstance(value, str):
        return renamed.get(value, value)
    if key == "leaks" and isinstance(value, list):
        return [
            {**leak, "resources": [renamed.get(r, r) for r in leak["resources"]]}
            if isinstance(leak, dict) and isinstance(leak.get("resources"), list)
            else leak
            for leak in value
        ]
    return value
