"""Writing a tokensim model as an Open Threat Model document (OTM 0.2.0): ``tokensim export MODEL --format otm``.

The document is for threat-modelling tools, and ``tokensim import`` reads it back to the same model: one
component per node, with a type whose words map back to the node's role (docs/import.md, Roles), a
``tokensim-role:ROLE`` tag so that the way back never depends on those words, and ``attributes.tokensim``
holding the node's fields as a model file writes them (durations and rates with units); one dataflow per
edge with the protocol, authentication and authorization the import reads (tokensim's convention for OTM
dataflow attributes, Threagile's values); the resources' sensitivity and records as OTM assets. The
model's attacker, defender and loss sections go under ``project.attributes.tokensim``.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
from pydantic import BaseModel

from tokensim.importers import assumptions
from tokensim.importers.inventory import CONFIDENTIALITY, HOP_ROLES
from tokensim.model.architecture import Architecture
from tokensim.model.file_schema import file_value
from tokensim.model.schema import Client, Resource
from tokensim.model.units import DURATION_UNITS, parse_duration, parse_rate

OTM_VERSION = "0.2.0"
#: Two trust zones, a convention (assumption: tokensim has no network zones, and the import does not read
#: them): clients in the Internet zone, trusted least (1), every other node in the System zone, trusted most
#: (100; OTM rates trust from 0 to 100).
INTERNET = {"id": "internet", "name": "Internet", "risk": {"trustRating": 1}}
SYSTEM = {"id": "system", "name": "System", "risk": {"trustRating": 100}}
#: The OTM component type of each role: words `roles.by_keyword` maps back to the role (a test checks it);
#: IriusRisk's own type where it has one (web-client, api-gateway). legacy and broker have no keyword in
#: roles.py: their tag decides.
TYPES = {
    "browser": "web-client",
    "mobile": "mobile-client",
    "workload": "workload",
    "ci": "ci-pipeline",
    "legacy": "legacy-client",
    "proxy": "reverse-proxy",
    "gateway": "api-gateway",
    "mesh": "service-mesh",
    "api": "web-service",
    "issuer": "identity-provider",
    "broker": "token-exchange-broker",
}
#: OTM's confidentiality rating written for each level: the middle of its fifth (the import reads fifths).
RATING = {level: 20 * i + 10 for i, level in enumerate(CONFIDENTIALITY)}
#: Integrity and availability of an exported asset (assumption: tokensim rates neither; OTM requires both,
#: and 50, the middle of its 0-100 scale, claims neither a high nor a low rating).
UNRATED = 50
#: Upper ends of Threagile's quantity levels in records (assumption: the geometric middles between the
#: import's records per level, 10, 1,000, 100,000 and 10 million).
QUANTITY_BELOW = (("very-few", 100), ("few", 10_000), ("many", 1_000_000))
#: Grants that carry a user's identity (the rest act for the client itself).
USER_GRANTS = frozenset({"authorization_code", "device_code"})


def to_otm(arch: Architecture) -> dict[str, Any]:
    """The OTM document of a model (`tokensim.model.architecture.load_model`)."""
    spec = arch.spec
    sections = {key: _written(getattr(spec, key)) for key in ("attacker", "defender")}
    if spec.loss is not None:
        sections["loss"] = _written(spec.loss)
    project: dict[str, Any] = {"name": spec.name, "id": spec.name}
    if spec.description:
        project["description"] = spec.description
    project["attributes"] = {"tokensim": sections}
    return {
        "otmVersion": OTM_VERSION,
        "project": project,
        "trustZones": [INTERNET, SYSTEM],
        "components": [_component(name, node) for name, node in spec.nodes.items()],
        "dataflows": [_dataflow(arch, i, a, b) for i, (a, b) in enumerate(spec.edges)],
        "assets": [
            _asset(n, node) for n, node in spec.nodes.items() if isinstance(node, Resource) and _has_asset(node)
        ],
    }


def role_of(node: Any) -> str:
    """The import's role for a node: a client's platform, ``api`` for a resource, else its kind."""
    if isinstance(node, Client):
        return str(node.platform)
    return "api" if isinstance(node, Resource) else str(node.kind)


def _component(name: str, node: Any) -> dict[str, Any]:
    """One node as a component: its role's type and tag, its zone, its data asset, its fields."""
    role = role_of(node)
    component: dict[str, Any] = {"id": name, "name": name, "type": TYPES[role]}
    if node.description:
        component["description"] = node.description
    component["parent"] = {"trustZone": (INTERNET if isinstance(node, Client) else SYSTEM)["id"]}
    component["tags"] = [f"tokensim-role:{role}"]
    if _has_asset(node):
        component["assets"] = {"stored": [_asset_id(name)]}
    component["attributes"] = {"tokensim": node_fields(node)}
    return component


def node_fields(node: BaseModel) -> dict[str, Any]:
    """A node's fields as a model file writes them, for ``attributes.tokensim``: every field, defaults included.

    The import assumes its own value for a field a description does not state (a client's ``supports``, its
    leaks), so an exported node states them all. Left out: ``kind`` (the role tag says it), ``description``
    (the component's own), the empty leaks of a node other than a client, and unset optional fields, except
    a client's ``auth`` and ``grants``, written as in effect (`Client.authentication`, `Client.grant_types`):
    the import would otherwise assume them.
    """
    written = _written(node)
    if isinstance(node, Client):
        written["auth"] = node.authentication
        written["grants"] = list(node.grant_types)
    elif not written.get("leaks"):
        del written["leaks"]  # none assumed for a node other than a client: no need to state the empty list
    return {k: v for k, v in written.items() if k not in ("kind", "description")}


def _written(value: BaseModel) -> dict[str, Any]:
    """A model's section or node as a file writes it (`file_value`), exact, without its unset (null) fields."""
    return _without_none(_exact(file_value(value), value))  # type: ignore[no-any-return]


def _without_none(value: Any) -> Any:
    """``value`` without the null fields of its mappings, at every depth (an unset field is left unstated)."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return [_without_none(v) for v in value] if isinstance(value, list) else value


def _dataflow(arch: Architecture, index: int, source: str, target: str) -> dict[str, Any]:
    """One edge: protocol, authentication and authorization as the import reads them back."""
    attributes: dict[str, Any] = {"protocol": _protocol(arch, source, target)}
    attributes["authentication"] = _authentication(arch.node(source))
    users = {bool(USER_GRANTS & set(arch.node(c).grant_types)) for c in _callers(arch, source)}
    if len(users) == 1:  # clients of both kinds share the edge: the authorization is left unstated
        attributes["authorization"] = "enduser-identity-propagation" if True in users else "technical-user"
    end = arch.node(target)
    if isinstance(end, Resource) and end.network_allow_list:
        attributes["ip_filtered"] = True  # every route to it crosses a filtered edge: its own
    if isinstance(end, Resource) and end.privileged_fraction == 0:
        attributes["readonly"] = True
    return {
        "id": f"edge-{index}",
        "name": f"{source} to {target}",
        "source": source,
        "destination": target,
        "attributes": attributes,
    }


def _protocol(arch: Architecture, source: str, target: str) -> str:
    """https into a TLS-terminating hop and from a client, http out of a terminating hop, binary-encrypted on
    both sides of a hop that passes TLS through (terminates_tls false): the protocol pairs the import reads."""
    start, end = arch.node(source), arch.node(target)
    if any(role_of(n) in HOP_ROLES and not n.terminates_tls for n in (start, end)):
        return "binary-encrypted"
    if role_of(end) in HOP_ROLES or isinstance(start, Client):
        return "https"
    return "http" if role_of(start) in HOP_ROLES else "https"


def _authentication(node: Any) -> str:
    """What a client's requests carry (Threagile's words); ``token`` on an edge out of a hop."""
    if not isinstance(node, Client):
        return "token"
    if node.credential == "static_key":
        return "credentials"
    if node.token_handler == "bff":
        return "session-id"
    return "client-certificate" if node.authentication == "tls_client_auth" else "token"


def _callers(arch: Architecture, name: str) -> list[str]:
    """The clients whose requests leave node ``name`` (itself, for a client)."""
    return [c for c in arch.clients if c == name or nx.has_path(arch.graph, c, name)]


def _has_asset(node: Any) -> bool:
    """Whether a resource's sensitivity or records are set (a sensitivity other than the default 1)."""
    return isinstance(node, Resource) and (node.sensitivity != 1.0 or node.records is not None)


def _asset_id(name: str) -> str:
    """The id of the OTM asset of resource ``name``."""
    return f"{name}-data"


def _asset(name: str, node: Resource) -> dict[str, Any]:
    """The data a resource holds as an OTM asset: its sensitivity's level rated 0-100, its records' quantity."""
    rated = [level for level, weight in assumptions.SENSITIVITY.items() if weight <= node.sensitivity]
    level = rated[-1] if rated else CONFIDENTIALITY[0]
    asset: dict[str, Any] = {"id": _asset_id(name), "name": f"{name} data"}
    asset["risk"] = {"confidentiality": RATING[level], "integrity": UNRATED, "availability": UNRATED}
    if node.records is not None:
        quantity = next((q for q, below in QUANTITY_BELOW if node.records < below), "very-many")
        asset["attributes"] = {"quantity": quantity}
    return asset


def _exact(written: Any, value: Any) -> Any:
    """``file_value``'s text, made exact where it rounds: each duration and rate reads back to the same number."""
    if isinstance(value, BaseModel) and isinstance(written, dict):
        return {k: _exact(v, getattr(value, k)) for k, v in written.items()}
    if isinstance(value, (list, tuple)) and isinstance(written, list):
        return [_exact(w, v) for w, v in zip(written, value)]
    if not (isinstance(written, str) and isinstance(value, float) and math.isfinite(value)):
        return written
    rate = "/" in written
    parse = parse_rate if rate else parse_duration
    if parse(written) == value:
        return written
    units = (("year", "/year"), ("day", "/day"), ("h", "/h")) if rate else tuple((u, u) for u in "ydhms")
    exact = [f"{value!r}/h" if rate else f"{value!r}h"]
    for unit, suffix in units:
        count = value * DURATION_UNITS[unit] if rate else value / DURATION_UNITS[unit]
        texts = (f"{count:.{digits}g}{suffix}" for digits in range(1, 18))
        exact += [t for t in texts if parse(t) == value][:1]
    return min(exact, key=len)
