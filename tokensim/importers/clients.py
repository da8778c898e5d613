"""What an imported client holds, how it authenticates, what it may do and what it supports (docs/import.md).

The nearest link on a client's routes that names an authentication decides what it holds (`token`,
`session-id`, `client-certificate`, `credentials`); its own link to the issuer, what it authenticates
with; the nearest link that says whether it carries the end user's identity, its grant. What a client
could do (DPoP, mTLS), how many instances run and how often tokens leak are assumed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from tokensim.importers import assumptions as assumed
from tokensim.importers.assumptions import Assumed
from tokensim.importers.draft import Draft
from tokensim.importers.inventory import Element, Inventory, Link

if TYPE_CHECKING:
    from tokensim.importers.build import Plan

#: tokensim platform per client role (a desktop app is a native public client, as a mobile app: RFC 8252).
PLATFORM = {"browser": "browser", "mobile": "mobile", "desktop": "mobile", "workload": "workload", "ci": "ci"}
PLATFORM["legacy"] = "legacy"


def route_links(plan: Plan, graph: nx.DiGraph, name: str) -> list[Link]:
    """The source links on routes from node ``name``, nearest first (its own links, then beyond)."""
    order = dict.fromkeys([name, *nx.bfs_tree(graph, name)])
    return [link for node in order for edge in plan.edges if edge.source == node for link in plan.links_of[edge]]


def decide(inventory: Inventory, plan: Plan, draft: Draft, graph: nx.DiGraph, name: str, element: Element) -> None:
    """Platform, credential, client authentication, grants, what it supports, and the assumed population."""
    report, where = draft.report, element.where
    role = element.role if element.role in PLATFORM else "workload"
    platform = PLATFORM[role]
    draft.set(name, "platform", platform, element.role_from)
    if role == "desktop":
        report.add("ambiguity", where, "", "a desktop app: platform mobile (a native public client, RFC 8252)")
    links = route_links(plan, graph, name)
    bff = plan.bff.get(element.id)
    auth, why = _authentication(draft, name, element, links)
    static = auth == "credentials"
    if static:
        draft.set(name, "credential", "static_key", f"{why}: an API key or password sent with each request")
    if bff is not None:
        draft.set(name, "token_handler", "bff", f"its backend-for-frontend {bff.where} holds the tokens, it a session")
    elif auth == "session-id" and platform == "browser":
        draft.set(name, "token_handler", "bff", f"{why}: the browser holds a session, a backend the tokens")
    elif auth == "session-id":
        report.add(
            "ambiguity", where, "authentication", "session-id on a non-browser client: taken as a token it holds"
        )
    if auth == "externalized":
        report.add("ambiguity", where, "authentication", "externalized: taken as a token checked along the route")
    user = _grant(draft, name, element, links, platform, auth)
    certificate = auth == "client-certificate" or _issuer_authentication(inventory, draft, name, element)
    if certificate:
        draft.set(
            name,
            "auth",
            "tls_client_auth",
            f"{why or 'its token request'}: it authenticates with its certificate (RFC 8705 s2)",
        )
    if not user and not static and "auth" not in draft.node(name):
        source = "docs/parameters.md s3: client_credentials needs client authentication"
        draft.assume(name, "auth", Assumed("secret", source), where)
    if not static:
        supports = assumed.SUPPORTS[platform]
        if certificate and "mtls" not in supports.value:  # type: ignore[operator]
            supports = Assumed([*supports.value, "mtls"], f"{supports.source}; mtls from its client certificate")  # type: ignore[misc]
        draft.assume(name, "supports", supports, where)
        draft.assume(name, "key_storage", assumed.KEY_STORAGE[platform], where)
        if user:
            draft.assume(name, "holds_refresh_token", assumed.REFRESH_TOKEN[platform], where)
    for key, value in assumed.CLIENT.items():
        draft.assume(name, key, value, where)
    for leak in assumed.LEAKS[platform]:
        draft.assume_leak(name, leak, where)
    if element.multi_tenant:
        report.add("unmapped", where, "multi_tenant", "how many tenants is not stated: set tenants on the client")


def _authentication(draft: Draft, name: str, element: Element, links: list[Link]) -> tuple[str | None, str]:
    """The authentication of the nearest link that names one, and the comment saying where it came from."""
    report, where = draft.report, element.where
    stated = [link for link in links if link.authentication not in (None, "none")]
    if not stated and any(link.authentication == "none" for link in links):
        report.add(
            "ambiguity",
            where,
            "authentication",
            f"every link on its routes says no authentication: no token "
            f"to steal; {name} is modelled as holding an OAuth token (set the model from what really protects it)",
        )
        return None, ""
    if not stated:
        report.add(
            "assumed",
            where,
            "authentication",
            f"{name} holds an OAuth token: no link on its routes names an authentication",
        )
        return None, ""
    auth = stated[0].authentication
    if len({link.authentication for link in stated}) > 1:
        kinds = ", ".join(sorted({str(link.authentication) for link in stated}))
        report.add(
            "ambiguity",
            where,
            "authentication",
            f"links on its routes say {kinds}: the nearest ({auth}, {stated[0].where}) decides",
        )
    return auth, f"authentication: {auth} ({stated[0].where})"


def _grant(draft: Draft, name: str, element: Element, links: list[Link], platform: str, auth: str | None) -> bool:
    """Set the grant: a user's token (authorization code) or the service's own (client credentials); True: a user's."""
    said = [link for link in links if link.delegated is not None]
    if said and len({link.delegated for link in said}) > 1:
        draft.report.add(
            "ambiguity",
            element.where,
            "authorization",
            f"links on its routes say both a user's and a "
            f"technical user's token: the nearest ({said[0].where}) decides",
        )
    human = element.human if element.human is not None else platform in ("browser", "mobile")
    if said:
        user, why = bool(said[0].delegated), f"authorization of {said[0].where}"
    elif element.human or auth == "two-factor":
        user, why = True, "people use it" if element.human else "the user signs in with two factors"
    elif human:
        user, why = True, f"a {platform} client is used by people"
    else:
        user, why = False, "no link says it carries a user's identity"
    if user:
        draft.set(name, "grants", ["authorization_code"], f"a user's token: {why}")
    elif auth != "credentials":
        draft.set(
            name, "grants", ["client_credentials"], f"a technical user ({why}): it acts for itself (RFC 6749 s4.4)"
        )
    return user


def _issuer_authentication(inventory: Inventory, draft: Draft, name: str, element: Element) -> bool:
    """Read the client's own link to an issuer (its token request): True when it authenticates with a certificate;
    a secret or key stated there is set as its client authentication."""
    for link in inventory.links:
        target = inventory.elements[link.target]
        if link.source != element.id or target.role != "issuer":
            continue
        if link.authentication == "client-certificate":
            return True
        if link.authentication == "credentials":
            draft.set(name, "auth", "secret", f"its token request authenticates with credentials ({link.where})")
    return False
