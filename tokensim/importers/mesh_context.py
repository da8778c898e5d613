"""The model a mesh overlay changes, and how mesh configuration finds its nodes (docs/import.md, "Mesh overlay").

`Overlay` holds the overlay's draft (a deep copy of the base model's mapping, so every field of it is kept),
the base model's nodes as they were (a field is commented and reported as set only when its value changes),
what the documents said that is decided only once every document is read (XFCC modes, which hops ask the
client for its certificate, which sidecars receive plain HTTP), and the rules that match a Kubernetes resource
to model nodes:

* an annotation ``tokensim.io/node: NAME`` names the node outright (a NAME that is not a node is an
  `InputError` naming the file and the document);
* else the workload selector's ``app`` or ``app.kubernetes.io/name`` label, normalised as
  `tokensim.importers.draft.node_name` normalises names, is a node of that name.

`Doc` reads a document's fields by their type: a field of the wrong type (``mtls: STRICT`` where a mapping
belongs) is an `InputError` naming the file, the document and the field, never read as "nothing set".
Kubernetes namespaces have no counterpart: a tokensim model is one namespace-free graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from tokensim.errors import InputError, did_you_mean
from tokensim.importers import unmapped
from tokensim.importers.draft import Draft, node_name, shown
from tokensim.importers.findings import Category
from tokensim.importers.inventory import HOP_ROLES
from tokensim.importers.mesh_records import Match as Match
from tokensim.importers.mesh_records import PeerCert as PeerCert
from tokensim.importers.mesh_records import SetBy as SetBy
from tokensim.importers.mesh_records import Setting as Setting
from tokensim.model.nodes import Intermediary, Mesh, Resource

#: The annotation that names a resource's node outright.
NODE_ANNOTATION = "tokensim.io/node"
#: Workload labels read, in this order (Kubernetes recommended labels and the Istio convention ``app``).
WORKLOAD_LABELS = ("app", "app.kubernetes.io/name")
#: Where a hop stands on a route: the first hop that ends the client's TLS, or a hop after one that did.
Position = Literal["first", "later"]
#: The schema of each node kind the overlay changes (its defaults stand where the model leaves a field out).
_SCHEMAS: dict[str, type[BaseModel]] = {"mesh": Mesh, "proxy": Intermediary, "gateway": Intermediary}
_TYPES = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a mapping"}


def field_default(kind: str, key: str) -> Any:
    """A node field's default when the model leaves it out (tokensim/model/nodes.py)."""
    return _SCHEMAS.get(kind, Resource).model_fields[key].default


@dataclass(frozen=True)
class Doc:
    """One document of the mesh file: its kind, its name in messages and the report (``Kind/name``), its data,
    and the file it is in (for errors)."""

    kind: str
    element: str
    data: dict[str, Any]
    source: str

    def fail(self, message: str) -> InputError:
        """The error for a bad document: names the file and the document."""
        return InputError.single(self.source, self.element, message)

    def _wrong(self, where: str, expected: str, value: object) -> InputError:
        return self.fail(f"{where}: expected {expected}, got {_TYPES.get(type(value), type(value).__name__)}")

    def mapping(self, value: object, where: str) -> dict[str, Any]:
        """``value`` as a mapping (absent or null: empty); another type is an error naming field ``where``."""
        if value is not None and not isinstance(value, dict):
            raise self._wrong(where, "a mapping", value)
        return value if isinstance(value, dict) else {}

    def sequence(self, value: object, where: str) -> list[Any]:
        """``value`` as a list (absent or null: empty); another type is an error naming field ``where``."""
        if value is not None and not isinstance(value, list):
            raise self._wrong(where, "a list", value)
        return value if isinstance(value, list) else []

    def mappings(self, value: object, where: str) -> list[dict[str, Any]]:
        """``value`` as a list of mappings (``where[i]`` named in an error)."""
        return [self.mapping(item, f"{where}[{i}]") for i, item in enumerate(self.sequence(value, where))]

    def flag(self, value: object, where: str) -> bool | None:
        """``value`` as a boolean (absent: None); another type is an error."""
        if value is not None and not isinstance(value, bool):
            raise self._wrong(where, "true or false", value)
        return value

    @property
    def spec(self) -> dict[str, Any]:
        return self.mapping(self.data.get("spec"), "spec")

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        return self.mapping(self.data.get("metadata"), "metadata")

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    def annotation(self) -> object:
        """The value of ``tokensim.io/node`` in the metadata's annotations, or None."""
        return self.mapping(self.metadata.get("annotations"), "metadata.annotations").get(NODE_ANNOTATION)


@dataclass(frozen=True)
class Xfcc:
    """An Envoy ``forward_client_cert_details`` read for a hop; ``peer`` when its own listener says whether the
    connection carries a peer certificate; ``origin`` where the mode comes from when no document states it."""

    mode: str
    element: str
    peer: PeerCert | None = None
    origin: str = ""


@dataclass
class IstioDefaults:
    """Hops with Istio's XFCC default: ``sidecars`` (-> the PeerAuthentication), ``gateways`` (-> the Gateway)."""

    sidecars: dict[str, str] = field(default_factory=dict)
    gateways: dict[str, str] = field(default_factory=dict)


@dataclass
class Overlay:
    """The overlay of one mesh file on one model: the draft, and what is decided after every document is read.

    ``xfcc``: the modes stated per hop (EnvoyFilter, Envoy bootstrap); ``client_cert``: per hop, whether it asks
    the client for its certificate; ``gateway_topology``: meshConfig's gatewayTopology.forwardClientCertDetails.
    """

    source: str
    model_source: str
    draft: Draft
    base: dict[str, dict[str, Any]]  # the base model's nodes as they were (an unchanged field gets no comment)
    istio: IstioDefaults = field(default_factory=IstioDefaults)
    #: mesh hop -> the PeerAuthentication DISABLE that makes it receive plain HTTP (no peer certificate)
    plaintext: dict[str, str] = field(default_factory=dict)
    xfcc: dict[str, list[Xfcc]] = field(default_factory=dict)
    client_cert: dict[str, PeerCert] = field(default_factory=dict)
    gateway_topology: Setting | None = None
    #: Istio Gateway names (metadata.name) -> the nodes they configure (for VirtualService.spec.gateways)
    gateway_names: dict[str, list[str]] = field(default_factory=dict)
    #: document -> the nodes it applies to (a file none of whose documents applies to a node is refused)
    selected: dict[str, list[str]] = field(default_factory=dict)
    _set_by: dict[tuple[str, str], SetBy] = field(default_factory=dict)

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
        """A node field as the draft has it now (the model's value, else the schema default)."""
        return self.nodes[name].get(key, field_default(self.kind(name), key))

    def predecessors(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def successors(self, name: str) -> list[str]:
        return [b for a, b in self.edges if a == name]

    def mesh_in_front(self, resource: str) -> list[str]:
        """The mesh hops directly in front of a resource (its ``kind: mesh`` predecessors)."""
        return [p for p in self.predecessors(resource) if self.kind(p) == "mesh"]

    def resources_behind(self, hop: str) -> list[str]:
        return [s for s in self.successors(hop) if self.kind(s) == "resource"]

    def reachable(self, starts: Iterable[str], through: Iterable[str], avoid: Iterable[str] = ()) -> set[str]:
        """The nodes reached from ``starts``, going on through nodes of the kinds ``through``, never into ``avoid``."""
        kinds, blocked = set(through), set(avoid)
        seen: set[str] = set()
        stack = list(starts)
        while stack:
            node = stack.pop()
            if node in seen or node in blocked or node not in self.nodes:
                continue
            seen.add(node)
            if self.kind(node) in kinds:
                stack.extend(self.successors(node))
        return seen

    def entries(self) -> list[str]:
        """The nodes clients call directly."""
        return [s for c in self.of_kind("client") for s in self.successors(c)]

    def add(self, category: Category, element: str, field_: str, detail: str) -> None:
        self.draft.report.add(category, element, field_, detail)

    def select(self, element: str, nodes: Iterable[str]) -> None:
        """Record that document ``element`` applies to ``nodes``."""
        self.selected.setdefault(element, []).extend(n for n in nodes if n not in self.selected[element])

    def change(self, name: str, key: str, value: object, element: str, why: str, *, precedence: bool = False) -> None:
        """Set a node field; when the base model had another value, comment it naming the document and report it
        as mapped, else report it as confirmed (no comment). A second document that disagrees is an ambiguity.

        ``precedence``: the later document wins by the mesh's own rule (a workload policy over a mesh-wide one).
        """
        earlier = self._set_by.get((name, key))
        if earlier is not None and earlier.value != value and not precedence:
            self.add(
                "ambiguity",
                element,
                key,
                f"{earlier.element} set {name}.{key} to {shown(earlier.value)}, this document to {shown(value)}: "
                "the later document is kept",
            )
        self._set_by[(name, key)] = SetBy(value, element)
        self.select(element, [name])
        base = self.base.get(name)
        before = base.get(key, field_default(self.kind(name), key)) if base is not None else None
        if base is not None and before == value:  # the base model's own value: keep its text and comment
            if key in base:
                self.nodes[name][key] = base[key]
            else:
                self.nodes[name].pop(key, None)
            self.draft.comments.pop(("nodes", name, key), None)
            self.add("mapped", element, key, f"{name}.{key} = {shown(value)} unchanged, confirmed by {element} {why}")
            return
        self.draft.set(name, key, value, f"set by {self.file}: {element} {why}")
        was = f" (was {shown(before)})" if base is not None else ""
        self.add("mapped", element, key, f"{name}.{key} = {shown(value)}{was}")

    def named(
        self, doc: Doc, labels: object, names: tuple[tuple[str, str], ...] = (), ref: object = None
    ) -> Match | None:
        """The node a document names, and how: its annotation (or ``ref``, an annotation kept elsewhere), else the
        first workload label of ``labels`` (or of ``names``, pairs of field and text) that is a node."""
        ref = doc.annotation() if ref is None else ref
        if ref is not None:
            if not isinstance(ref, str) or ref not in self.nodes:
                raise doc.fail(
                    f"annotation {NODE_ANNOTATION}: {ref!r} is not a node of {self.model_source}"
                    f"{did_you_mean(ref, self.nodes)}; nodes: {', '.join(self.nodes)}"
                )
            return Match(ref, f"{NODE_ANNOTATION}: {ref}")
        return self.match(labels, names)

    def match(self, labels: object, names: tuple[tuple[str, str], ...] = ()) -> Match | None:
        """The first workload label of ``labels`` (or text of ``names``) that names a node, normalised."""
        found: list[tuple[str, str]] = []
        if isinstance(labels, Mapping):
            found += [(str(labels[k]), f"selector {k}: {labels[k]}") for k in WORKLOAD_LABELS if k in labels]
        found += [(text, f"{what} {text}") for what, text in names if text]
        for text, how in found:
            name = node_name(text, set())
            if name in self.nodes:
                return Match(name, how)
        return None

    def positions(self, target: str) -> set[Position]:
        """Where ``target`` stands on the routes from clients: first TLS terminator, after one, or both.

        A walk from every client through hops and brokers (a broker's own requests are new TLS connections);
        a hop no client reaches is read as first.
        """
        found: set[Position] = set()
        stack = [(s, False) for s in self.entries()]
        seen: set[tuple[str, bool]] = set()
        while stack:
            node, ended = stack.pop()
            if (node, ended) in seen or node not in self.nodes:
                continue
            seen.add((node, ended))
            kind = self.kind(node)
            if kind not in HOP_ROLES and kind != "broker":
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
            edges.append([a, name] if b == resource else [a, b])
            if b == resource and [name, resource] not in edges:
                edges.append([name, resource])
        if [name, resource] not in edges:
            edges.append([name, resource])
        self.draft.model["edges"] = edges
        self.draft.comments[("nodes", name)] = (
            f"added by the overlay: {element} puts {resource} in the mesh, and the model had no mesh hop in front of it"
        )
        self.select(element, [name])
        self.add("mapped", element, "", f"added mesh hop {name} in front of {resource}")
        return name


def unread(ov: Overlay, doc: Doc, mapping: Mapping[str, Any], read: tuple[str, ...], prefix: str = "spec.") -> None:
    """Report every key of ``mapping`` the overlay does not read (one level: nested routing details change no fact)."""
    for key in mapping:
        if key not in read:
            unmapped.unread(ov.draft.report, doc.element, f"{prefix}{key}", reasons={}, documentation=())
