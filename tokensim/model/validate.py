"""Cross-field rules of a model file that a per-field schema cannot express."""

from __future__ import annotations

from typing import get_args

import networkx as nx

from tokensim.errors import Problem
from tokensim.model import limits
from tokensim.model.policy import Policy
from tokensim.model.schema import (
    Broker,
    Client,
    Intermediary,
    Issuer,
    Leak,
    Mesh,
    ModelFile,
    Platform,
    Position,
    Resource,
)

#: Which leak vectors make sense on which node (client vectors depend on the platform).
CLIENT_VECTORS: dict[str, frozenset[str]] = {
    "browser": frozenset({"log", "xss", "malware", "consent_phishing", "device_code_phishing", "aitm"}),
    "mobile": frozenset({"log", "malware", "consent_phishing", "device_code_phishing", "aitm"}),
    "workload": frozenset({"log", "malware", "host_compromise", "secret_sprawl"}),
    "ci": frozenset({"log", "host_compromise", "secret_sprawl"}),
    "legacy": frozenset({"log", "malware", "host_compromise", "secret_sprawl"}),
}
NODE_VECTORS: dict[str, frozenset[str]] = {
    "proxy": frozenset({"log"}),
    "gateway": frozenset({"log"}),
    "mesh": frozenset({"log"}),
    "resource": frozenset({"log"}),
    "broker": frozenset({"log", "host_compromise"}),
    "issuer": frozenset({"signing_key"}),
}
#: Vectors that give the thief control of a device or host for a while.
DWELL_VECTORS = frozenset({"xss", "malware", "host_compromise"})
#: Phishing of a user-facing client's user (MODEL-v2.md section 2): the thief's own grant, from outside.
PHISHING_VECTORS = frozenset({"consent_phishing", "device_code_phishing", "aitm"})
#: Client authentication methods that sign with the client's key (`key_storage`).
KEY_AUTH = frozenset({"private_key_jwt", "tls_client_auth", "attestation"})


def allowed_vectors(node: object) -> frozenset[str]:
    """Leak vectors that make sense on this node."""
    if isinstance(node, Client):
        return CLIENT_VECTORS[node.platform]
    return NODE_VECTORS[node.kind]  # type: ignore[attr-defined]


def position_of(node: object, leak: Leak) -> Position:
    """Where a leak's thief replays from (MODEL-v2.md section 3): the leak's ``position``, else the vector's default.

    ``outside`` for `log`, `secret_sprawl`, `signing_key` and the phishing vectors (what leaked travels, the thief
    does not: it enters through the client's first hop); ``resident`` for `xss`, `malware` and a client's
    `host_compromise` (from the victim's host while the dwell lasts); ``inside`` for a `host_compromise` of any
    other node (from that node's place in the graph).
    """
    if leak.position is not None:
        return leak.position
    if leak.vector in DWELL_VECTORS:
        return "resident" if isinstance(node, Client) else "inside"
    return "outside"


def _position_problems(where: str, node: object, leak: Leak) -> list[Problem]:
    """A leak's position, reach and resources must fit its vector and node."""
    out: list[Problem] = []
    client = isinstance(node, Client)
    if leak.position == "resident" and not (client and leak.vector in DWELL_VECTORS):
        out.append(
            Problem(
                f"{where}.position",
                f"a resident thief is on a client's device or host for a dwell ({', '.join(sorted(DWELL_VECTORS))} "
                f"on a client), not {leak.vector!r} on a {'client' if client else node.kind}",  # type: ignore[attr-defined]
            )
        )
    if leak.position == "inside" and (client or leak.vector != "host_compromise"):
        out.append(
            Problem(
                f"{where}.position",
                "an inside thief holds a node of the network: host_compromise of a broker, "
                f"not {leak.vector!r} on a {'client' if client else node.kind}",  # type: ignore[attr-defined]
            )
        )
    if leak.reach is not None and not client:
        out.append(Problem(f"{where}.reach", "reach (a correlated leak over a population) applies to client leaks"))
    if leak.resources is not None and leak.vector != "consent_phishing":
        out.append(
            Problem(
                f"{where}.resources",
                f"resources (what the user consented to) apply to consent_phishing, not {leak.vector!r}",
            )
        )
    if isinstance(node, Client) and leak.vector == "device_code_phishing" and "device_code" not in node.grant_types:
        out.append(
            Problem(
                f"{where}.vector",
                "device_code_phishing needs a client registered for the device_code grant (RFC 8628); "
                f"grants are {', '.join(node.grant_types)}",
            )
        )
    if isinstance(node, Client) and leak.reach is not None and leak.reach * node.instances > limits.REACH_FAMILIES.high:
        out.append(
            Problem(
                f"{where}.reach",
                f"reach {leak.reach:g} x {node.instances:,} instances is {leak.reach * node.instances:,.0f} families "
                f"per event, above {limits.REACH_FAMILIES.high_text} ({limits.REACH_FAMILIES.why})",
            )
        )
    return out


def _consent_problems(spec: ModelFile, graph: nx.DiGraph) -> list[Problem]:
    """A consent phishing leak's `resources` must be resources the client reaches."""
    out = []
    for name, node in spec.nodes.items():
        for i, leak in enumerate(node.leaks):
            for j, r in enumerate(leak.resources or ()):
                if not isinstance(spec.nodes.get(r), Resource) or not nx.has_path(graph, name, r):
                    out.append(
                        Problem(f"nodes.{name}.leaks[{i}].resources[{j}]", f"{r!r} is not a resource {name} reaches")
                    )
    return out


def check_model(spec: ModelFile) -> list[Problem]:
    """Return every cross-field problem of a schema-valid model (empty when all is well)."""
    problems: list[Problem] = []
    nodes = spec.nodes

    for name, node in nodes.items():
        where = f"nodes.{name}"
        for i, leak in enumerate(node.leaks):
            allowed = allowed_vectors(node)
            what = f"a {node.platform} client" if isinstance(node, Client) else f"a {node.kind}"
            if leak.vector not in allowed:
                problems.append(
                    Problem(
                        f"{where}.leaks[{i}].vector",
                        f"vector {leak.vector!r} makes no sense on {what}; allowed here: {', '.join(sorted(allowed))}",
                    )
                )
            problems.extend(_position_problems(f"{where}.leaks[{i}]", node, leak))
            if leak.dwell is not None and leak.vector not in DWELL_VECTORS:
                problems.append(
                    Problem(
                        f"{where}.leaks[{i}].dwell",
                        f"dwell applies only to {', '.join(sorted(DWELL_VECTORS))}, not to {leak.vector!r}",
                    )
                )
            if (
                leak.vector == "log"
                and isinstance(node, (Intermediary, Mesh, Broker, Resource))
                and not node.logs_tokens
            ):
                problems.append(
                    Problem(
                        f"{where}.leaks[{i}].vector",
                        f"a 'log' leak needs 'logs_tokens: true' on {name} (its logs hold no tokens otherwise)",
                    )
                )
        if isinstance(node, Client):
            if node.token_handler == "bff" and any(leak.vector == "log" for leak in node.leaks):
                problems.append(
                    Problem(
                        f"{where}.leaks",
                        "a 'log' leak of a backend-for-frontend client exposes its session cookie, whose replay "
                        "tokensim does not model; remove the leak or the token_handler",
                    )
                )
            if node.token_handler == "bff" and node.platform != "browser":
                problems.append(
                    Problem(
                        f"{where}.token_handler",
                        f"a backend-for-frontend serves browser clients; {name} is a {node.platform} client",
                    )
                )
            bound = [m for m in node.supports if m != "bearer"]
            if bound and node.key_storage == "none":
                problems.append(
                    Problem(
                        f"{where}.supports",
                        f"{', '.join(bound)} needs a key, but key_storage is 'none'; allowed: software, non_extractable, hardware",
                    )
                )
            problems.extend(_client_problems(where, node))
            if node.hosts is not None and node.hosts > node.instances:
                problems.append(
                    Problem(
                        f"{where}.hosts",
                        f"{node.hosts} hosts for {node.instances} instances; hosts must not exceed instances",
                    )
                )
        if isinstance(node, Issuer) and "bearer" not in node.supports:
            problems.append(
                Problem(
                    f"{where}.supports",
                    "an issuer issues bearer tokens whatever else it binds; list bearer "
                    f"(got {', '.join(node.supports) or 'nothing'})",
                )
            )
        if isinstance(node, Resource) and node.records_per_request != 1 and node.records is None:
            problems.append(
                Problem(f"{where}.records_per_request", "counts records only with `records` (records per tenant)")
            )
        if isinstance(node, Resource) and node.issuer is not None:
            target = nodes.get(node.issuer)
            if not isinstance(target, Issuer):
                issuers = [n for n, v in nodes.items() if isinstance(v, Issuer)]
                problems.append(
                    Problem(
                        f"{where}.issuer",
                        f"{node.issuer!r} is not an issuer node; issuers: {', '.join(issuers) or 'none'}",
                    )
                )

    for i, (a, b) in enumerate(spec.edges):
        for j, end in enumerate((a, b)):
            if end not in nodes:
                problems.append(Problem(f"edges[{i}][{j}]", f"unknown node {end!r}; nodes: {', '.join(nodes)}"))
        if a in nodes and b in nodes:
            if a == b:
                problems.append(Problem(f"edges[{i}]", f"edge from {a!r} to itself"))
            if isinstance(nodes[b], Client):
                problems.append(
                    Problem(f"edges[{i}][1]", f"{b!r} is a client; requests start at clients, no edge may enter one")
                )
            if isinstance(nodes[a], (Resource, Issuer)) or isinstance(nodes[b], Issuer):
                end, node = (a, nodes[a]) if isinstance(nodes[a], (Resource, Issuer)) else (b, nodes[b])
                problems.append(
                    Problem(
                        f"edges[{i}]",
                        f"{end!r} is a {node.kind}; edges run from clients through intermediaries to resources",
                    )
                )

    clients = [n for n, v in nodes.items() if isinstance(v, Client)]
    resources = [n for n, v in nodes.items() if isinstance(v, Resource)]
    issuers = [n for n, v in nodes.items() if isinstance(v, Issuer)]
    if not clients:
        problems.append(Problem("nodes", "the model has no client node (kind: client)"))
    if not resources:
        problems.append(Problem("nodes", "the model has no resource node (kind: resource)"))
    if len(issuers) > 1:
        for name in resources:
            if nodes[name].issuer is None:  # type: ignore[union-attr]
                problems.append(
                    Problem(
                        f"nodes.{name}.issuer",
                        f"the model has several issuers ({', '.join(issuers)}); name the one this resource trusts",
                    )
                )
    if problems:
        return problems

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(tuple(e) for e in spec.edges)
    for name in clients:
        if not any(nx.has_path(graph, name, r) for r in resources):
            problems.append(
                Problem(f"nodes.{name}", "this client reaches no resource; add edges from it towards a resource")
            )
    problems.extend(_consent_problems(spec, graph))
    return problems


def _client_problems(where: str, node: Client) -> list[Problem]:
    """How a client authenticates, what it may do and what it holds (MODEL-v2.md section 1)."""
    out: list[Problem] = []
    # `confidential: true` with a public `auth` contradicts it; `confidential: false` beside an `auth` is what a
    # dumped model (a sweep variant) writes for the default, so `auth` decides
    if node.confidential and node.auth == "none":
        out.append(
            Problem(
                f"{where}.confidential",
                f"confidential: {str(node.confidential).lower()} contradicts auth: {node.auth}; "
                "give auth alone (confidential is the version-1 spelling of auth: secret)",
            )
        )
    if node.credential == "workload_identity" and node.authentication != "none":
        field = "auth" if node.auth is not None else "confidential"
        out.append(
            Problem(
                f"{where}.{field}",
                "a workload_identity client authenticates with the platform's identity token; drop "
                f"{field} (got {node.authentication})",
            )
        )
    if node.authentication in KEY_AUTH and node.key_storage == "none":
        out.append(
            Problem(f"{where}.auth", f"{node.authentication} signs with the client's key, but key_storage is 'none'")
        )
    if node.grants is not None and not node.grants:
        out.append(Problem(f"{where}.grants", "give at least one grant type, or leave grants out for the default"))
    if "client_credentials" in node.grant_types and not node.is_confidential:
        out.append(
            Problem(
                f"{where}.grants",
                "client_credentials needs a client that authenticates (RFC 6749 section 4.4), but auth is 'none'",
            )
        )
    if node.static_ttl is not None and node.credential != "static_key":
        out.append(
            Problem(f"{where}.static_ttl", f"static_ttl applies to credential: static_key, not {node.credential}")
        )
    if node.identity_ttl is not None and node.credential != "workload_identity":
        out.append(
            Problem(
                f"{where}.identity_ttl", f"identity_ttl applies to credential: workload_identity, not {node.credential}"
            )
        )
    if node.credential == "static_key" and node.holds_refresh_token:
        out.append(
            Problem(f"{where}.holds_refresh_token", "a static_key credential is never renewed: it has no refresh token")
        )
    return out


def check_overrides(spec: ModelFile, policy: Policy) -> list[Problem]:
    """Every `overrides` entry of ``policy`` must name a client of the model or a platform.

    Any platform is accepted (a policy may serve several models); a client name must be one of this model's.
    """
    clients = {n: v for n, v in spec.nodes.items() if isinstance(v, Client)}
    platforms = set(get_args(Platform))
    return [
        Problem(
            f"overrides.{who}",
            f"{who!r} is neither a client of model {spec.name!r} nor a platform; clients: "
            f"{', '.join(clients)}; platforms: {', '.join(sorted(platforms))}",
        )
        for who in policy.overrides
        if who not in clients and who not in platforms
    ]
