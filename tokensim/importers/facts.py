"""The fields of each imported node: what the description states, and what is assumed (docs/import.md).

Clients (``clients.py``): what they hold and support, from the authentication of their links.
Intermediaries (here): TLS termination from the protocols on each side. Resources (``resources.py``):
sensitivity and records from their data, allow-lists. Issuers and brokers (here): assumed. What an
element states that its node has no field for is reported (`_leftovers`). Everything assumed is marked
"assumed, set me".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from tokensim.importers import assumptions as assumed
from tokensim.importers import clients, resources
from tokensim.importers.assumptions import Assumed
from tokensim.importers.draft import Draft, node_name
from tokensim.importers.inventory import HOP_ROLES, Element, Inventory, Link

if TYPE_CHECKING:
    from tokensim.importers.build import Plan


def decide(inventory: Inventory, plan: Plan, draft: Draft) -> None:
    """Set the fields of every planned node (``plan.kinds``) in ``draft``."""
    graph = nx.DiGraph(plan.edges)
    graph.add_nodes_from(plan.kinds)
    for name, kind in plan.kinds.items():
        element = plan.element_of[name]
        if kind == "client":
            clients.decide(inventory, plan, draft, graph, name, element)
        elif kind in HOP_ROLES:
            _hop(plan, draft, name, element)
        elif kind == "resource":
            resources.decide(inventory, plan, draft, graph, name, element)
        elif kind == "broker":
            _broker(draft, name, element)
        else:
            _issuer(draft, name, element)
    _leftovers(inventory, plan, draft)
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
        resources.issuer_of_resources(inventory, plan, draft, graph, issuers)


def _hop(plan: Plan, draft: Draft, name: str, element: Element) -> None:
    """TLS termination from the protocols on each side; the forwarding facts assumed (a mesh overlay sets them)."""
    into = [link for edge in plan.edges if edge.target == name for link in plan.links_of[edge]]
    out = [link for edge in plan.edges if edge.source == name for link in plan.links_of[edge]]
    inside = {link.encrypted for link in into} - {None}
    outside = {link.encrypted for link in out} - {None}
    protocols = f"{_protocols(into)} in, {_protocols(out)} out"
    where = element.where
    if True in inside and outside == {False}:
        draft.set(name, "terminates_tls", True, f"{protocols}: it ends the client's TLS")
    elif inside == {False}:
        draft.set(
            name,
            "terminates_tls",
            True,
            f"{protocols}: plain HTTP in, so no client certificate reaches it (an HTTP proxy: mTLS cannot pass)",
        )
        draft.report.add(
            "ambiguity",
            where,
            "protocol",
            f"plain HTTP in ({protocols}): tokensim has no plaintext "
            "hop; taken as an HTTP proxy that ends any certificate binding",
        )
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


def _issuer(draft: Draft, name: str, element: Element) -> None:
    where = element.where
    draft.assume(
        name, "revocation", Assumed("jwt", "docs/parameters.md s3: self-contained tokens, revoked at expiry"), where
    )
    draft.assume(
        name, "supports", Assumed(["bearer", "dpop", "mtls"], "docs/parameters.md s3: set from your vendor"), where
    )


def _broker(draft: Draft, name: str, element: Element) -> None:
    """A token-exchange broker: how it treats bound tokens decides every route through it, so it is marked."""
    source = "docs/parameters.md s3: Keycloak's first token exchange stripped DPoP binding"
    draft.assume(name, "exchange", Assumed("strip", source), element.where)


def _leftovers(inventory: Inventory, plan: Plan, draft: Draft) -> None:
    """Report what an element states that its node has no field for (nothing dropped silently)."""
    kinds: dict[str, set[str]] = {}
    for name, kind in plan.kinds.items():
        kinds.setdefault(plan.element_of[name].id, set()).add(kind)
    report = draft.report
    for element in inventory.elements.values():
        mine = kinds.get(element.id, set())
        if element.confidentiality is not None and "resource" not in mine and element.role != "datastore":
            report.add(
                "unmapped", element.where, "confidentiality", "rates an element that is no API: harm counts at the APIs"
            )
        if element.human is not None and "client" not in mine:
            report.add("unmapped", element.where, "used_as_client_by_human", "on an element that is no client")
        if element.multi_tenant and not mine & {"client", "resource"}:
            report.add("unmapped", element.where, "multi_tenant", "on an element that is neither client nor API")
        if element.data and element.role != "datastore" and not mine & {"resource", *HOP_ROLES, "broker"}:
            report.add("unmapped", element.where, "data", "data on an element that is no API: harm counts at the APIs")
