"""The model a mesh overlay changes, and how mesh configuration finds its nodes (docs/import.md, "Mesh overlay").

`Overlay` holds the overlay's draft (a deep copy of the base model's mapping, so every field of it is kept),
what the documents said that is decided only once every document is read (XFCC modes, which hops ask the
client for its certificate), and the rules that match a Kubernetes resource to model nodes:

* an annotation ``tokensim.io/node: NAME`` names the node outright (a NAME that is not a node is an
  `InputError` naming the file and the document);
* else the workload selector's ``app`` or ``app.kubernetes.io/name`` label, normalised as
  `tokensim.importers.draft.node_name` normalises names, is a node of that name.

Kubernetes namespaces have no counterpart: a tokensim model is one namespace-free graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tokensim.errors import InputError, did_you_mean
from tokensim.importers.draft import Draft, node_name
from tokensim.importers.findings import Category
from tokensim.model.nodes import Mesh

#: The annotation that names a resource's node outright.
NODE_ANNOTATION = "tokensim.io/node"
#: Node kinds that are hops with TLS and forwarding facts (tokensim/model/nodes.py, ``_Hop``).
HOPS = frozenset({"proxy", "gateway", "mesh"})
#: Workload labels read, in this order (Kubernetes recommended labels and the Istio convention ``app``).
WORKLOAD_LABELS = ("app", "app.kubernetes.io/name")
#: Where a hop stands on a route: the first hop that ends the client's TLS, or a hop after one that did.
Position = Literal["first", "later"]


def hop_default(key: str) -> Any:
    """A hop field's default when the model leaves it out (tokensim/model/nodes.py: the same for every hop kind)."""
    return Mesh.model_fields[key].default


@dataclass(frozen=True)
class Doc:
    """One document of the mesh file: its kind, its name in messages and the report (``Kind/name``), its data."""

    kind: str
    element: str
    data: dict[str, Any]

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    def annotation(self) -> object:
        """The value of ``tokensim.io/node`` in the metadata's annotations, or None."""
        annotations = self.metadata.get("annotations")
        return annotations.get(NODE_ANNOTATION) if isinstance(annotations, dict) else None


@dataclass(frozen=True)
class Xfcc:
    """An Envoy ``forward_client_cert_details`` read for a hop; ``cert_requested`` when its own listener says."""

    mode: str
    element: str
    cert_requested: bool | None = None
    origin: str = ""  # where the mode comes from when no document states it (a default)


@dataclass
class Overlay:
    """The overlay of one mesh file on one model: the draft, and what is decided after every document is read."""

    source: str
    model_source: str
    draft: Draft
    #: mesh hop -> the PeerAuthentication that turned mesh mTLS on for it (Istio's sidecar XFCC default applies)
    istio_sidecars: dict[str, str] = field(default_factory=dict)
    #: gateway node -> the Istio Gateway that ends TLS on it (Istio's gateway XFCC default applies)
    istio_gateways: dict[str, str] = field(default_factory=dict)
    #: XFCC modes stated per hop (EnvoyFilter, Envoy bootstrap)
    xfcc: dict[str, list[Xfcc]] = field(default_factory=dict)
    #: per hop: whether it asks the client for its own certificate, and why
    client_cert: dict[str, tuple[bool, str]] = field(default_factory=dict)
    #: meshConfig.defaultConfig.gatewayTopology.forwardClientCertDetails: (mode, element)
    gateway_topology: tuple[str, str] | None = None
    #: Istio Gateway names (metadata.name) -> the nodes they configure (for VirtualService.spec.gateways)
    gateway_names: dict[str, list[str]] = field(default_factory=dict)
    _set_by: dict[tuple[str, str], tuple[object, str]] = field(default_factory=dict)

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        nodes: dict[str, dict[str, Any]] = self.draft.model["nodes"]
        return nodes

    @property
    def edges(self) -> list[list[str]]:
        edges: list[list[str]] = self.draft.model.setdefault("edges", [])
        return edges

    @property
    def file(self) -> str:
        return Path(self.source).name

    def kind(self, name: str) -> str:
        return str(self.nodes[name].get("kind", ""))

    def of_kind(self, *kinds: str) -> list[str]:
        return [name for name in self.nodes if self.kind(name) in kinds]

    def fact(self, name: str, key: str) -> Any:
        """A hop field as the draft has it now (the model's value, else the schema default)."""
        return self.nodes[name].get(key, hop_default(key))

    def predecessors(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def successors(self, name: str) -> list[str]:
        return [b for a, b in self.edges if a == name]

    def mesh_in_front(self, resource: str) -> list[str]:
        """The mesh hops directly in front of a resource (its ``kind: mesh`` predecessors)."""
        return [p for p in self.predecessors(resource) if self.kind(p) == "mesh"]

    def resources_behind(self, hop: str) -> list[str]:
        return [s for s in self.successors(hop) if self.kind(s) == "resource"]

    def add(self, category: Category, element: str, field_: str, detail: str) -> None:
        self.draft.report.add(category, element, field_, detail)

    def fail(self, element: str, message: str) -> InputError:
        """The error for a bad document: names the file and the document."""
        return InputError.single(self.source, element, message)

    def change(self, name: str, key: str, value: object, element: str, why: str, *, precedence: bool = False) -> None:
        """Set a node field, its comment naming the document; a second document that disagrees is an ambiguity.

        ``precedence``: the later document wins by the mesh's own rule (a workload policy over a mesh-wide one).
        """
        earlier = self._set_by.get((name, key))
        if earlier is not None and earlier[0] != value and not precedence:
            self.add(
                "ambiguity",
                element,
                key,
                f"{earlier[1]} set {name}.{key} to {_shown(earlier[0])}, this document to {_shown(value)}: "
                "the later document is kept",
            )
        self._set_by[(name, key)] = (value, element)
        self.draft.set(name, key, value, f"set by {self.file}: {element} {why}")

    def node_ref(self, doc: Doc) -> str | None:
        """The node ``tokensim.io/node`` names, or None; a name that is no node is a broken reference."""
        ref = doc.annotation()
        if ref is None:
            return None
        if not isinstance(ref, str) or ref not in self.nodes:
            raise self.fail(
                doc.element,
                f"annotation {NODE_ANNOTATION}: {ref!r} is not a node of {self.model_source}"
                f"{did_you_mean(ref, self.nodes)}; nodes: {', '.join(self.nodes)}",
            )
        return ref

    def named(self, doc: Doc, labels: object, names: tuple[tuple[str, str], ...] = ()) -> tuple[str, str] | None:
        """The node a document names, and how: its annotation, else the first workload label (or ``names``) that is a node."""
        ref = self.node_ref(doc)
        if ref is not None:
            return ref, f"{NODE_ANNOTATION}: {ref}"
        found: list[tuple[str, str]] = []
        if isinstance(labels, Mapping):
            found += [(str(labels[k]), f"selector {k}: {labels[k]}") for k in WORKLOAD_LABELS if k in labels]
        found += [(text, f"{what} {text}") for what, text in names if text]
        for text, how in found:
            name = node_name(text, set())
            if name in self.nodes:
                return name, how
        return None

    def positions(self, target: str) -> set[Position]:
        """Where ``target`` stands on the routes from clients: first TLS terminator, after one, or both.

        A walk from every client through hops and brokers (a broker's own requests are new TLS connections);
        a hop no client reaches is read as first.
        """
        found: set[Position] = set()
        stack = [(s, False) for c in self.of_kind("client") for s in self.successors(c)]
        seen: set[tuple[str, bool]] = set()
        while stack:
            node, ended = stack.pop()
            if (node, ended) in seen or node not in self.nodes:
                continue
            seen.add((node, ended))
            kind = self.kind(node)
            if kind not in HOPS and kind != "broker":
                continue
            if node == target:
                found.add("later" if ended else "first")
            now = ended or kind == "broker" or bool(self.fact(node, "terminates_tls"))
            stack.extend((s, now) for s in self.successors(node))
        return found or {"first"}

    def add_sidecar(self, resource: str, element: str) -> str:
        """Add a mesh hop between all of ``resource``'s predecessors and it; return its name."""
        name = node_name(f"{resource}_sidecar", set(self.nodes))
        nodes: dict[str, dict[str, Any]] = {}
        for key, value in self.nodes.items():
            if key == resource:
                nodes[name] = {"kind": "mesh"}
            nodes[key] = value
        self.draft.model["nodes"] = nodes
        edges: list[list[str]] = []
        for a, b in self.edges:
            if b == resource:
                edges.append([a, name])
                if [name, resource] not in edges:
                    edges.append([name, resource])
            else:
                edges.append([a, b])
        if [name, resource] not in edges:
            edges.append([name, resource])
        self.draft.model["edges"] = edges
        self.draft.comments[("nodes", name)] = (
            f"added by the overlay: {element} puts {resource} in the mesh, and the model had no mesh hop in front of it"
        )
        self.add("mapped", element, "", f"added mesh hop {name} in front of {resource}")
        return name


def as_dict(value: object) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (mesh files leave out what they do not set)."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def unread(ov: Overlay, doc: Doc, mapping: dict[str, Any], read: tuple[str, ...], prefix: str = "spec.") -> None:
    """Report every key of ``mapping`` the overlay does not read (one level: nested routing details change no fact)."""
    for key in mapping:
        if key not in read:
            ov.add("unmapped", doc.element, f"{prefix}{key}", "not read: tokensim has no field for it")


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
