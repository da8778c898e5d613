"""From a reader's inventory to a tokensim model: which elements become which nodes, and the edges.

The rules (docs/import.md, "How elements become nodes"): a client platform becomes a client; a proxy,
load balancer, WAF, gateway or mesh an intermediary; an identity provider an issuer (links to it are
token requests, not routes); a data store no node (its data counts for the APIs that reach it); an API
or an element of unknown role a resource where requests reach it, a workload client where it only
calls, and both (two nodes) where it serves and calls onward. A link becomes an edge between the nodes
of its ends. The fields of each node are decided in ``facts.py``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from tokensim.importers import facts
from tokensim.importers.draft import Draft, node_name
from tokensim.importers.findings import ImportReport
from tokensim.importers.inventory import CLIENT_ROLES, HOP_ROLES, Element, Inventory, Link


@dataclass
class Plan:
    """Which node(s) each element became: ``serves`` (a hop or resource), ``calls`` (a client), ``issuer``."""

    serves: dict[str, str] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)
    issuers: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # node name -> kind
    element_of: dict[str, Element] = field(default_factory=dict)  # node name -> its element
    edges: list[tuple[str, str]] = field(default_factory=list)
    links_of: dict[tuple[str, str], list[Link]] = field(default_factory=lambda: defaultdict(list))


def build(inventory: Inventory) -> Draft:
    """The model an inventory describes, with its comments and the completed report."""
    draft = Draft(inventory.report)
    taken: set[str] = set()
    draft.model["name"] = node_name(inventory.name, set()).replace("_", "-")
    draft.model["description"] = inventory.description or f"Imported from {inventory.report.source}"
    plan = _plan(inventory, taken)
    _edges(inventory, plan)
    _prune(inventory, plan)
    for name in plan.kinds:
        draft.node(name)["kind"] = plan.kinds[name]
        if plan.element_of[name].description:
            draft.node(name)["description"] = " ".join(plan.element_of[name].description.split())
    facts.decide(inventory, plan, draft)
    for name in plan.kinds:
        element = plan.element_of[name]
        for key, value in element.explicit.items():
            if key == "kind" and value != plan.kinds[name]:
                continue  # the kind is decided by the role; a tokensim-role names another one
            draft.set(name, key, value, f"stated in the source ({element.where}: tokensim {key})")
    draft.model["edges"] = [list(e) for e in plan.edges]
    report = inventory.report
    for key, value in inventory.sections.items():
        draft.model[key] = value
        draft.comments[(key,)] = f"stated in the source (tokensim {key})"
    if "attacker" not in inventory.sections:
        report.add(
            "assumed",
            "attacker",
            "",
            "replay delay, replay rate and targeting: the schema defaults (docs/parameters.md s3)",
        )
    if "defender" not in inventory.sections:
        report.add(
            "assumed",
            "defender",
            "",
            "detection probability and response time: the schema defaults (docs/parameters.md s3)",
        )
    return draft


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
    for element in inventory.elements.values():
        role, where = element.role, element.where
        if element.out_of_scope:
            report.add(
                "ambiguity", where, "out_of_scope", "marked out of scope; mapped anyway, since requests cross it"
            )
        if role == "issuer":
            name = plan.issuers[element.id] = node_name(element.name, taken)
            _add(plan, name, "issuer", element)
            report.add(
                "mapped", where, "", f"issuer {name} ({element.role_from}); links to it are token requests, not routes"
            )
        elif role == "datastore":
            report.add(
                "mapped", where, "", f"no node ({element.role_from}): its data counts for the APIs that reach it"
            )
        elif role in CLIENT_ROLES:
            name = plan.calls[element.id] = node_name(element.name, taken)
            _add(plan, name, "client", element)
            report.add("mapped", where, "", f"client {name} ({element.role_from})")
            for link in incoming[element.id]:
                report.add("unmapped", link.where, "", "a link into a client: requests start at clients in tokensim")
        elif role in HOP_ROLES or role == "broker":
            kind = "mesh" if role == "mesh" else role
            name = plan.serves[element.id] = node_name(element.name, taken)
            _add(plan, name, kind, element)
            report.add("mapped", where, "", f"{kind} {name} ({element.role_from})")
        elif incoming[element.id] or outgoing[element.id]:
            _serving_or_calling(plan, element, bool(incoming[element.id]), bool(outgoing[element.id]), taken, report)
        else:
            report.add("unmapped", where, "", f"{element.role_from}, and no request reaches it or leaves it")
    return plan


def _serving_or_calling(
    plan: Plan, element: Element, served: bool, calls: bool, taken: set[str], report: ImportReport
) -> None:
    """An API or an element of unknown role: a resource where requests reach it, a client where it calls."""
    where = element.where
    if served:
        name = plan.serves[element.id] = node_name(element.name, taken)
        _add(plan, name, "resource", element)
        report.add("mapped", where, "", f"resource {name} ({element.role_from})")
    if calls:
        name = plan.calls[element.id] = node_name(f"{element.name} client" if served else element.name, taken)
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
    for link in inventory.links:
        if not _request_link(inventory, link):
            continue
        source = plan.calls.get(link.source) or plan.serves.get(link.source)
        if link.source in plan.serves and plan.kinds[plan.serves[link.source]] != "resource":
            source = plan.serves[link.source]  # a hop forwards
        target = plan.serves.get(link.target)
        if source is None or target is None:
            continue  # an end with no node: reported with its element
        edge = (source, target)
        if edge not in plan.links_of:
            plan.edges.append(edge)
        plan.links_of[edge].append(link)


def _prune(inventory: Inventory, plan: Plan) -> None:
    """Drop clients that reach no resource and hops no route crosses (reported): the model must validate."""
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
        elif kind in ("proxy", "gateway", "mesh", "broker") and name not in useful:
            report.add("unmapped", element.where, "", f"{kind} {name} is on no route from a client to an API: left out")
        else:
            continue
        del plan.kinds[name]
        plan.edges = [e for e in plan.edges if name not in e]
