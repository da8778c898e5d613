"""An architecture: a validated model file as a networkx graph, plus its routes (counted, not listed)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx

from tokensim.errors import InputError
from tokensim.model.loading import read_document, validate_as
from tokensim.model.paths import PathSpace, path_spaces
from tokensim.model.schema import Client, Issuer, ModelFile, Resource
from tokensim.model.validate import check_model

#: Per node kind, node fields added in version 2 and their defaults: left out of `Architecture.config_hash`
#: while at the default.
ADDED_AT_DEFAULT: dict[str, dict[str, Any]] = {
    "proxy": {"forwards_host": True},
    "gateway": {"forwards_host": True},
    "mesh": {"forwards_host": True},
    "resource": {"validation": None, "network_allow_list": False},
    "client": {"phishing_resistant": False, "sdk": None},
    "issuer": {"supports": ["bearer", "dpop", "mtls"]},
}

#: Leak fields added in version 2, left out of the hash while unset (None).
LEAK_ADDED = ("position", "reach", "resources")


@dataclass(frozen=True)
class Architecture:
    """A model: the validated file (``spec``), its graph and where it came from.

    The graph is a ``networkx.DiGraph``; each node carries its validated attributes
    under the ``spec`` key and its ``kind``. ``paths`` holds, per (client, resource)
    pair, its routes counted (tokensim.model.paths); a model whose routes pass a cycle
    and are too many to list is refused here. Build one with `load_model`,
    `Architecture.from_dict` or `Architecture.from_spec`.
    """

    spec: ModelFile
    source: str = "<python>"
    graph: nx.DiGraph = field(init=False, repr=False, compare=False)
    #: Per (client, resource) pair with at least one route, in model order: its routes (`PathSpace`).
    paths: dict[tuple[str, str], PathSpace] = field(init=False, repr=False, compare=False)
    #: What is derived from the model once and asked for by every run (route analysis per routing setting).
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = check_model(self.spec)
        if problems:
            raise InputError(self.source, problems)
        graph = nx.DiGraph(name=self.spec.name)
        for name, node in self.spec.nodes.items():
            graph.add_node(name, kind=node.kind, spec=node)
        graph.add_edges_from(tuple(e) for e in self.spec.edges)
        object.__setattr__(self, "graph", graph)
        # here, not lazily: a model whose routes cannot be analysed is refused when it is loaded
        object.__setattr__(
            self, "paths", path_spaces(graph, self.spec.nodes, self.clients, self.resources, self.source)
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<python>") -> Architecture:
        """Validate a model given as plain data (what a YAML file would hold)."""
        return cls(validate_as(ModelFile, data, source), source)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description

    def node(self, name: str) -> Any:
        """The validated attributes of a node."""
        return self.spec.nodes[name]

    @cached_property
    def clients(self) -> list[str]:
        return [n for n, v in self.spec.nodes.items() if isinstance(v, Client)]

    @cached_property
    def resources(self) -> list[str]:
        return [n for n, v in self.spec.nodes.items() if isinstance(v, Resource)]

    def reachable(self, client: str) -> list[str]:
        """Resources a client reaches, in model order."""
        return [r for r in self.resources if (client, r) in self.paths]

    def issuer_of(self, resource: str) -> Issuer:
        """The issuer a resource trusts (its `issuer` field, the only issuer, or a default JWT issuer)."""
        named = self.spec.nodes[resource].issuer  # type: ignore[union-attr]
        if named is not None:
            return self.spec.nodes[named]  # type: ignore[return-value]
        issuers = [v for v in self.spec.nodes.values() if isinstance(v, Issuer)]
        return issuers[0] if issuers else Issuer(kind="issuer")

    def issuer_name_of(self, resource: str) -> str | None:
        """The name of the issuer node a resource trusts (None: the model has none, a default JWT issuer)."""
        named: str | None = self.spec.nodes[resource].issuer  # type: ignore[union-attr]
        if named is not None:
            return named
        return next((n for n, v in self.spec.nodes.items() if isinstance(v, Issuer)), None)

    def validation_of(self, resource: str) -> str:
        """How a resource validates access tokens: its `validation` field, else by its issuer (MODEL-v2 section 9).

        ``local``: it checks self-contained tokens with the issuer's public key (the default for `jwt` and `caep`
        issuers); ``introspection``: it asks the issuer about opaque tokens (the default for `introspection` issuers).
        """
        node: Resource = self.spec.nodes[resource]  # type: ignore[assignment]
        if node.validation is not None:
            return node.validation
        return "introspection" if self.issuer_of(resource).revocation == "introspection" else "local"

    @cached_property
    def config_hash(self) -> str:
        """A stable hash of the validated model (not of its file's formatting).

        Fields added in version 2 are left out while at their default (`ADDED_AT_DEFAULT`), so that a
        version-1 file keeps its hash (stored results and resumed sweeps still recognise it).
        """
        data = self.spec.model_dump(mode="json")
        for node in data["nodes"].values():
            for field_name, default in ADDED_AT_DEFAULT.get(node["kind"], {}).items():
                if node.get(field_name) == default:
                    del node[field_name]
            for leak in node.get("leaks", []):
                for field_name in LEAK_ADDED:
                    if leak.get(field_name) is None:
                        leak.pop(field_name, None)
        payload = json.dumps(data, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_model(path: str | Path) -> Architecture:
    """Load and validate a model file (YAML or JSON) or a built-in model by name."""
    from tokensim.builtin import resolve_model_path  # local: builtin depends on this module

    resolved = resolve_model_path(path)
    data, source = read_document(resolved)
    return Architecture(validate_as(ModelFile, data, source, units_required=True), source)
