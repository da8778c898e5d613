"""The neutral form every reader produces: elements, the links between them, and data (docs/import.md).

A reader (Threagile, OTM, CycloneDX) says only what its format states: what each element is (its
`Role`, and the field that said so), which links carry requests, over which protocol and with which
authentication, and which data each element holds. Every tokensim decision (node kinds, TLS
termination, allow-lists, sensitivity, defaults) is taken once, from this form, in ``build.py``,
so that the three formats map the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tokensim.importers.findings import ImportReport

#: What an element is, in tokensim's words: a client platform (`browser` ... `legacy`; `desktop` is mapped
#: to a native client), an intermediary, a token-exchange broker, an issuer, an API, a data store (no requests
#: of its own), or unknown.
Role = Literal[
    "browser",
    "mobile",
    "desktop",
    "workload",
    "ci",
    "legacy",
    "proxy",
    "gateway",
    "mesh",
    "broker",
    "issuer",
    "api",
    "datastore",
    "unknown",
]
CLIENT_ROLES: frozenset[str] = frozenset({"browser", "mobile", "desktop", "workload", "ci", "legacy"})
HOP_ROLES: frozenset[str] = frozenset({"proxy", "gateway", "mesh"})

#: How a link authenticates (Threagile's vocabulary, which OTM and CycloneDX readers map onto).
Authentication = Literal[
    "none", "credentials", "session-id", "token", "client-certificate", "two-factor", "externalized"
]

#: Confidentiality levels, least to most (Threagile's scale; OTM's 0-100 and CycloneDX's words map onto it).
CONFIDENTIALITY: tuple[str, ...] = ("public", "internal", "restricted", "confidential", "strictly-confidential")
#: Quantity levels, fewest to most (Threagile's scale).
QUANTITY: tuple[str, ...] = ("very-few", "few", "many", "very-many")


@dataclass(frozen=True)
class DataAsset:
    """A data asset: its confidentiality level and, where the format states it, its quantity level."""

    id: str
    name: str
    confidentiality: str | None
    quantity: str | None = None


@dataclass
class Element:
    """One element of the description (a technical asset, component or service).

    ``where`` is its path in the source for the report (``technical_assets.Web App``); ``role_from``
    the field that decided its role (``technology: browser``). ``data`` holds the ids of the data assets
    it processes or stores (a data store's data counts for the API that reaches it). ``human`` is true when people use it (an interactive client); ``tenants`` above 1 for
    a multi-tenant element.
    """

    id: str
    name: str
    where: str
    role: Role
    role_from: str
    description: str = ""
    data: tuple[str, ...] = ()
    human: bool | None = None
    multi_tenant: bool = False
    out_of_scope: bool = False
    confidentiality: str | None = None  # the element's own rating, where the format has one
    #: tokensim fields stated outright (OTM ``attributes.tokensim``, CycloneDX ``tokensim:FIELD`` properties):
    #: they override what the mapping decided (an exported model keeps every field this way).
    explicit: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Link:
    """A link along which requests go from ``source`` to ``target`` (element ids).

    ``encrypted`` is None when the protocol does not say; ``authentication`` None when the format has
    no such field; ``filtered`` when the link is IP-filtered or runs over a VPN (a network allow-list).
    ``delegated`` is true when the link carries the end user's identity (a user's token), false for a
    technical user, None when the format does not say; ``readonly`` true when the caller only reads.
    """

    source: str
    target: str
    where: str
    protocol: str | None = None
    encrypted: bool | None = None
    authentication: Authentication | None = None
    delegated: bool | None = None
    filtered: bool = False
    readonly: bool | None = None


@dataclass
class Inventory:
    """What a reader found: the system's name, its elements, links and data assets, and the report so far."""

    name: str
    description: str
    report: ImportReport
    elements: dict[str, Element] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    data_assets: dict[str, DataAsset] = field(default_factory=dict)
    #: The model's attacker, defender and loss sections, where the source states them (OTM
    #: ``project.attributes.tokensim``, as ``tokensim export`` writes them): copied into the model as they are.
    sections: dict[str, Any] = field(default_factory=dict)
