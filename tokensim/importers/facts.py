"""The fields of each imported node: what the description states, and what is assumed (docs/import.md).

Clients: what they hold and support from the authentication of their links (`token`, `session-id`,
`client-certificate`, `credentials`), their grant from whether links carry the end user's identity.
Intermediaries: TLS termination from the protocols on each side. Resources: sensitivity and records
from their data assets' confidentiality and quantity, a network allow-list where every route to them
crosses an IP-filtered or VPN link. Everything else is assumed and marked "assumed, set me".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from tokensim.importers import assumptions as assumed
from tokensim.importers.assumptions import Assumed
from tokensim.importers.draft import Draft, node_name
from tokensim.importers.inventory import CONFIDENTIALITY, QUANTITY, Element, Inventory, Link

if TYPE_CHECKING:
    from tokensim.importers.build import Plan

#: tokensim platform per client role (a desktop app is a native public client, as a mobile app: RFC 8252).
PLATFORM = {"browser": "browser", "mobile": "mobile", "desktop": "mobile", "workload": "workload", "ci": "ci"}
PLATFORM["legacy"] = "legacy"
HOPS = ("proxy", "gateway", "mesh")


def decide(inventory: Inventory, plan: Plan, draft: Draft) -> None:
    """Set the fields of every planned node (``plan.kinds``) in ``draft``."""
    graph = nx.DiGraph(plan.edges)
    graph.add_nodes_from(plan.kinds)
    for name, kind in plan.kinds.items():
        element = plan.element_of[name]
        if kind == "client":
            _client(inventory, plan, draft, graph, name, element)
        elif kind in HOPS:
            _hop(plan, draft, name, element)
        elif kind == "resource":
            _resource(inventory, plan, draft, graph, name, element)
        elif kind == "issuer":  # a broker: its stated fields, else the schema's defaults
            _issuer(draft, name, element)
    issuers = [n for n, k in plan.kinds.items() if k == "issuer"]
    if not issuers:
        name = node_name("issuer", set(plan.kinds))
        draft.node(name).update(assumed.ISSUER.value)  # type: ignore[call-overload]
        draft.comments[("nodes", name)] = (
            f"assumed, set me ({assumed.ISSUER.source}): the description names no identity provider"
        )
        draft.report.add(
            "assumed", "issuer", "", f"{name}: the description names no identity provider ({assumed.ISSUER.source})"
        )
    elif len(issuers) > 1:
        _issuer_of_resources(inventory, plan, draft, graph, issuers)


def _route_links(plan: Plan, graph: nx.DiGraph, name: str) -> list[Link]:
    """The source links on routes from node ``name``, nearest first (its own links, then beyond)."""
    order = [name, *nx.bfs_tree(graph, name)]
    seen = dict.fromkeys(order)
    return [link for node in seen for edge in plan.edges if edge[0] == node for link in plan.links_of[edge]]


def _client(inventory: Inventory, plan: Plan, draft: Draft, graph: nx.DiGraph, name: str, element: Element) -> None:
    """Platform, credential, client authentication, grants, what it supports, and the assumed population."""
    report, where = draft.report, element.where
    role = element.role if element.role in PLATFORM else "workload"
    platform = PLATFORM[role]
    draft.set(name, "platform", platform, element.role_from)
    if role == "desktop":
        report.add("ambiguity", where, "", "a desktop app: platform mobile (a native public client, RFC 8252)")
    links = _route_links(plan, graph, name)
    stated = [link for link in links if link.authentication not in (None, "none")]
    auth = stated[0].authentication if stated else None
    if auth is None:
        report.add(
            "assumed",
            where,
            "authentication",
            f"{name} holds an OAuth token: no link on its routes names an authentication",
        )
    elif len({link.authentication for link in stated}) > 1:
        kinds = ", ".join(sorted({str(link.authentication) for link in stated}))
        report.add(
            "ambiguity",
            where,
            "authentication",
            f"links on its routes say {kinds}: the nearest ({auth}, {stated[0].where}) decides",
        )
    why = f"authentication: {auth} ({stated[0].where})" if stated else ""
    static = auth == "credentials"
    if static:
        draft.set(name, "credential", "static_key", f"{why}: an API key or password sent with each request")
    if auth == "session-id" and platform == "browser":
        draft.set(name, "token_handler", "bff", f"{why}: the browser holds a session, a backend the tokens")
    elif auth == "session-id":
        report.add(
            "ambiguity", where, "authentication", "session-id on a non-browser client: taken as a token it holds"
        )
    if auth == "externalized":
        report.add("ambiguity", where, "authentication", "externalized: taken as a token checked along the route")
    delegated = {link.delegated for link in links if link.delegated is not None}
    human = element.human if element.human is not None else platform in ("browser", "mobile")
    user = True in delegated or human or auth == "two-factor"
    if auth == "client-certificate":
        draft.set(name, "auth", "tls_client_auth", f"{why}: it authenticates with its certificate (RFC 8705 s2)")
    if user:
        draft.set(name, "grants", ["authorization_code"], "a user's token: " + _user_reason(element, delegated, auth))
    elif not static:
        draft.set(
            name, "grants", ["client_credentials"], "a technical user: the service acts for itself (RFC 6749 s4.4)"
        )
        if auth != "client-certificate":
            draft.assume(
                name,
                "auth",
                Assumed("secret", "docs/parameters.md s3: client_credentials needs client authentication"),
                where,
            )
    if not static:
        supports = assumed.SUPPORTS[platform]
        if auth == "client-certificate" and "mtls" not in supports.value:  # type: ignore[operator]
            supports = Assumed([*supports.value, "mtls"], f"{supports.source}; mtls from its client certificate")  # type: ignore[misc]
        draft.assume(name, "supports", supports, where)
        if user:
            draft.assume(name, "holds_refresh_token", assumed.REFRESH_TOKEN[platform], where)
    for key, value in assumed.CLIENT.items():
        draft.assume(name, key, value, where)
    for leak in assumed.LEAKS[platform]:
        draft.assume_leak(name, leak, where)
    if element.multi_tenant:
        report.add("unmapped", where, "multi_tenant", "how many tenants is not stated: set tenants on the client")


def _user_reason(element: Element, delegated: set[bool], auth: str | None) -> str:
    if True in delegated:
        return "a link carries the end user's identity"
    if auth == "two-factor":
        return "the user signs in with two factors"
    return "people use it" if element.human else f"a {element.role} client is used by people"


def _hop(plan: Plan, draft: Draft, name: str, element: Element) -> None:
    """TLS termination from the protocols on each side; the forwarding facts assumed (a mesh overlay sets them)."""
    into = [link for edge in plan.edges if edge[1] == name for link in plan.links_of[edge]]
    out = [link for edge in plan.edges if edge[0] == name for link in plan.links_of[edge]]
    inside = {link.encrypted for link in into} - {None}
    outside = {link.encrypted for link in out} - {None}
    protocols = f"{_protocols(into)} in, {_protocols(out)} out"
    where = element.where
    if True in inside and outside == {False}:
        draft.set(name, "terminates_tls", True, f"{protocols}: it ends the client's TLS")
    elif inside == {False}:
        draft.set(name, "terminates_tls", False, f"{protocols}: no TLS reaches it to end")
    elif True in inside and True in outside and _tcp_only(into + out):
        draft.set(name, "terminates_tls", False, f"{protocols}: encrypted non-HTTP on both sides, a TLS passthrough")
    elif True in inside and True in outside:
        draft.set(name, "terminates_tls", True, f"{protocols}: re-encrypts (a passthrough would not: set false)")
        draft.report.add(
            "ambiguity",
            where,
            "protocol",
            f"encrypted on both sides ({protocols}): taken as TLS-terminating and re-encrypting",
        )
    elif plan.kinds[name] == "mesh":
        draft.set(name, "terminates_tls", True, "a mesh hop re-encrypts with workload identity (mesh mTLS)")
    else:
        draft.assume(
            name, "terminates_tls", Assumed(True, "docs/parameters.md s3: the usual TLS-offloading proxy"), where
        )
    for key, value in (("forwards_client_cert", False), ("forwards_host", True), ("rewrites_uri", False)):
        source = "docs/parameters.md s3 default; tokensim import MESH --overlay-on sets it from configuration"
        draft.assume(name, key, Assumed(value, source), where)


def _protocols(links: list[Link]) -> str:
    return "/".join(sorted({link.protocol or "unstated" for link in links})) or "none"


def _tcp_only(links: list[Link]) -> bool:
    """Whether every link is a non-HTTP protocol (TCP, binary): a hop cannot read HTTP it passes through."""
    return all(
        link.protocol is not None and not any(w in link.protocol for w in ("http", "ws", "proxy")) for link in links
    )


def _resource(inventory: Inventory, plan: Plan, draft: Draft, graph: nx.DiGraph, name: str, element: Element) -> None:
    """Sensitivity and records from data assets, an allow-list from filtered links, the rest assumed."""
    where, report = element.where, draft.report
    ids = list(element.data)
    for link in inventory.links:
        target = inventory.elements[link.target]
        if link.source == element.id and target.role == "datastore":
            ids += list(target.data)
    assets = [inventory.data_assets[i] for i in dict.fromkeys(ids) if i in inventory.data_assets]
    rated = [a for a in assets if a.confidentiality in CONFIDENTIALITY]
    if rated:
        top = max(rated, key=lambda a: CONFIDENTIALITY.index(str(a.confidentiality)))
        level = str(top.confidentiality)
        draft.set(
            name,
            "sensitivity",
            assumed.SENSITIVITY[level],
            f"confidentiality {level} of data asset {top.name} (scale: docs/import.md)",
        )
    elif element.confidentiality in CONFIDENTIALITY:
        level = str(element.confidentiality)
        draft.set(
            name,
            "sensitivity",
            assumed.SENSITIVITY[level],
            f"its own confidentiality {level}: no rated data asset (scale: docs/import.md)",
        )
    else:
        draft.assume(
            name, "sensitivity", Assumed(1.0, "docs/parameters.md s3: the reference weight; no data asset rated"), where
        )
    counted = [a for a in assets if a.quantity in QUANTITY]
    if counted:
        top = max(counted, key=lambda a: QUANTITY.index(str(a.quantity)))
        draft.set(
            name,
            "records",
            assumed.RECORDS[str(top.quantity)],
            f"quantity {top.quantity} of data asset {top.name} (scale: docs/import.md)",
        )
    draft.assume(
        name, "accepts", Assumed("bound", "docs/parameters.md s3: it enforces binding; a legacy API: set any"), where
    )
    into = [link for edge in plan.edges if edge[1] == name for link in plan.links_of[edge]]
    if into and all(link.readonly for link in into):
        draft.set(name, "privileged_fraction", 0.0, "every link into it is read-only (readonly: true)")
    else:
        draft.assume(
            name, "privileged_fraction", Assumed(0.1, "docs/parameters.md s3: 1 in 10 requests privileged"), where
        )
    _allow_list(plan, draft, graph, name, element)
    if element.multi_tenant:
        report.add(
            "unmapped",
            where,
            "multi_tenant",
            "records are per tenant and the tenants are clients' (set tenants on them)",
        )


def _allow_list(plan: Plan, draft: Draft, graph: nx.DiGraph, name: str, element: Element) -> None:
    """`network_allow_list` where no client reaches the resource without crossing an IP-filtered or VPN link."""
    clients = [n for n, k in plan.kinds.items() if k == "client" and nx.has_path(graph, n, name)]
    filtered = [e for e in plan.edges if all(link.filtered for link in plan.links_of[e])]
    if not clients or not filtered:
        return
    open_graph = graph.copy()
    open_graph.remove_edges_from(filtered)
    crossing = [e for e in filtered if nx.has_path(graph, e[1], name)]
    if not crossing:
        return
    links = ", ".join(plan.links_of[e][0].where for e in crossing)
    if not any(nx.has_path(open_graph, c, name) for c in clients):
        draft.set(name, "network_allow_list", True, f"every route to it crosses an IP-filtered or VPN link ({links})")
    else:
        draft.report.add(
            "ambiguity",
            element.where,
            "ip_filtered",
            f"some routes cross a filtered link ({links}), others do not: no allow-list",
        )


def _issuer(draft: Draft, name: str, element: Element) -> None:
    where = element.where
    draft.assume(
        name, "revocation", Assumed("jwt", "docs/parameters.md s3: self-contained tokens, revoked at expiry"), where
    )
    draft.assume(
        name, "supports", Assumed(["bearer", "dpop", "mtls"], "docs/parameters.md s3: set from your vendor"), where
    )


def _issuer_of_resources(inventory: Inventory, plan: Plan, draft: Draft, graph: nx.DiGraph, issuers: list[str]) -> None:
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
        why = f"its clients get tokens from {choice}" if used else f"no client links to an issuer: the first, {choice}"
        draft.set(name, "issuer", choice, why)
        if len(used) != 1:
            draft.report.add(
                "ambiguity", plan.element_of[name].where, "issuer", f"several issuers: {name} trusts {choice} ({why})"
            )
