"""The fields of an imported API: sensitivity and records from its data, allow-lists, the issuer it trusts.

Sensitivity comes from the most confidential data the API holds: the data assets it processes or
stores, those of the data stores it queries, and those carried to it through the hops in front of it;
else its own rating, else a data store's. The numbers of the scales are assumptions (docs/parameters.md
section 8), so each value says so. An allow-list is set where every route from a client enters
through an IP-filtered or VPN link from the client itself: a filter between two internal hops admits
whatever the first hop forwards, a thief included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from tokensim.importers import assumptions as assumed
from tokensim.importers.assumptions import Assumed
from tokensim.importers.draft import SET_ME, Draft
from tokensim.importers.inventory import CONFIDENTIALITY, QUANTITY, DataAsset, Element, Inventory

if TYPE_CHECKING:
    from tokensim.importers.build import Plan

SCALE = "docs/parameters.md s8"


def decide(inventory: Inventory, plan: Plan, draft: Draft, graph: nx.DiGraph, name: str, element: Element) -> None:
    """Sensitivity, records, privileged share, allow-list; the rest assumed."""
    where = element.where
    assets, stores = _data(inventory, plan, graph, name, element)
    top = _highest(assets, "confidentiality", CONFIDENTIALITY)
    if top is not None:
        _scaled(
            draft,
            name,
            "sensitivity",
            assumed.SENSITIVITY[str(top.confidentiality)],
            f"confidentiality {top.confidentiality} of data asset {top.name}",
            where,
        )
    elif element.confidentiality in CONFIDENTIALITY or stores:
        own = element.confidentiality if element.confidentiality in CONFIDENTIALITY else None
        level = own or max(stores, key=CONFIDENTIALITY.index)
        whose = "its own confidentiality" if own else "the confidentiality of the data store it queries"
        _scaled(draft, name, "sensitivity", assumed.SENSITIVITY[level], f"{whose}, {level}: no rated data asset", where)
    else:
        source = "docs/parameters.md s3: the reference weight; no data asset rated"
        draft.assume(name, "sensitivity", Assumed(1.0, source), where)
    counted = _highest(assets, "quantity", QUANTITY)
    if counted is not None:
        _scaled(
            draft,
            name,
            "records",
            assumed.RECORDS[str(counted.quantity)],
            f"quantity {counted.quantity} of data asset {counted.name}",
            where,
        )
    source = "docs/parameters.md s3: it enforces binding; a legacy API: set any"
    draft.assume(name, "accepts", Assumed("bound", source), where)
    into = [link for edge in plan.edges if edge.target == name for link in plan.links_of[edge]]
    if into and all(link.readonly for link in into):
        draft.set(name, "privileged_fraction", 0.0, "every link into it is read-only (readonly: true)")
    else:
        source = "docs/parameters.md s3: 1 in 10 requests privileged"
        draft.assume(name, "privileged_fraction", Assumed(0.1, source), where)
    _allow_list(plan, draft, graph, name, element)
    if element.multi_tenant:
        draft.report.add(
            "unmapped",
            where,
            "multi_tenant",
            "records are per tenant and the tenants are clients' (set tenants on them)",
        )


def _highest(assets: list[DataAsset], level: str, scale: tuple[str, ...]) -> DataAsset | None:
    """The asset whose ``level`` (confidentiality or quantity) stands highest on ``scale``; None if none is rated."""
    rated = [a for a in assets if getattr(a, level) in scale]
    return max(rated, key=lambda a: scale.index(getattr(a, level)), default=None)


def _scaled(draft: Draft, name: str, key: str, value: float, why: str, element: str) -> None:
    """A value mapped from a level by an assumed scale: set, and marked and reported as assumed."""
    draft.assume(name, key, Assumed(value, f"{why}; the scale is assumed, {SCALE}"), element)
    draft.comments[("nodes", name, key)] = f"{why} ({SET_ME} if your scale differs: {SCALE})"


def _data(
    inventory: Inventory, plan: Plan, graph: nx.DiGraph, name: str, element: Element
) -> tuple[list[DataAsset], list[str]]:
    """The data assets the API holds (its own, its data stores', those carried through the hops in front of it),
    and the confidentiality levels of the data stores it queries."""
    ids = list(element.data)
    stores: list[str] = []
    for link in inventory.links:
        target = inventory.elements[link.target]
        if link.source == element.id and target.role == "datastore":
            ids += list(target.data)
            if target.confidentiality in CONFIDENTIALITY:
                stores.append(str(target.confidentiality))
    for hop in nx.ancestors(graph, name):
        if plan.kinds.get(hop) in ("proxy", "gateway", "mesh", "broker"):
            ids += list(plan.element_of[hop].data)  # data sent to a hop goes on to what it forwards to
    return [inventory.data_assets[i] for i in dict.fromkeys(ids) if i in inventory.data_assets], stores


def _allow_list(plan: Plan, draft: Draft, graph: nx.DiGraph, name: str, element: Element) -> None:
    """`network_allow_list` where every client reaches the resource only through a filtered link of its own."""
    clients = [n for n, k in plan.kinds.items() if k == "client" and nx.has_path(graph, n, name)]
    filtered = [e for e in plan.edges if all(link.filtered for link in plan.links_of[e])]
    crossing = [e for e in filtered if e.target == name or nx.has_path(graph, e.target, name)]
    if not clients or not crossing:
        return
    entry = [e for e in crossing if plan.kinds.get(e.source) == "client"]
    inner = [e for e in crossing if plan.kinds.get(e.source) != "client"]
    where = ", ".join(plan.links_of[e][0].where for e in crossing)
    open_graph = graph.copy()
    open_graph.remove_edges_from(entry)
    if entry and not any(nx.has_path(open_graph, c, name) for c in clients):
        draft.set(
            name,
            "network_allow_list",
            True,
            f"every client's route to it enters through an IP-filtered or VPN link ({where})",
        )
    elif inner:
        draft.report.add(
            "ambiguity",
            element.where,
            "ip_filtered",
            f"a filtered link between hops ({where}) admits "
            "what the hop before it forwards, a thief's requests too: no allow-list",
        )
    else:
        draft.report.add(
            "ambiguity",
            element.where,
            "ip_filtered",
            f"some routes cross a filtered link ({where}), others do not: no allow-list",
        )


def issuer_of_resources(inventory: Inventory, plan: Plan, draft: Draft, graph: nx.DiGraph, issuers: list[str]) -> None:
    """With several issuers, each resource trusts the one its clients get tokens from (else the first)."""
    by_element = {plan.element_of[n].id: n for n in issuers}
    for name, kind in plan.kinds.items():
        if kind != "resource":
            continue
        callers = {
            plan.element_of[c].id for c, k in plan.kinds.items() if k == "client" and nx.has_path(graph, c, name)
        }
        used = sorted(
            {
                by_element[link.target]
                for link in inventory.links
                if link.source in callers and link.target in by_element
            }
        )
        choice = used[0] if used else issuers[0]
        if len(used) > 1:
            why = f"its clients get tokens from {', '.join(used)}: the first, {choice}"
        else:
            why = (
                f"its clients get tokens from {choice}"
                if used
                else f"no client links to an issuer: the first, {choice}"
            )
        draft.set(name, "issuer", choice, why)
        if len(used) != 1:
            draft.report.add(
                "ambiguity", plan.element_of[name].where, "issuer", f"several issuers: {name} trusts {choice} ({why})"
            )
