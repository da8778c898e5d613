"""The mesh overlay: Kubernetes, Istio and Envoy configuration sets the hop facts of an existing model.

``tokensim import mesh.yaml --overlay-on MODEL.yaml`` (docs/import.md, "Mesh overlay") reads the documents
of a mesh file (a Kubernetes stream, ``kind: List`` items, or an Envoy bootstrap) and changes, on a deep copy
of the model's own mapping (every field of the model is kept, and its text: ``Draft.base_text`` lets the
writer keep the base model's comments and "assumed, set me" marks), the facts route analysis reads
(tokensim/model/hops.py): a hop's ``terminates_tls``, ``forwards_client_cert``, ``forwards_host`` and
``rewrites_uri``, and a resource's ``accepts``. Every field whose value changes gets a comment naming the
document and why, and is *mapped* in the report; a value the model has already is *mapped* as confirmed,
without a comment; every document or field read but not mapped is *unmapped*, every choice an *ambiguity*.
The base model is validated first (its errors name the base file); a mesh file none of whose documents
applies to a node of the model is refused.

The documents are applied in three steps, because XFCC's meaning depends on where a hop stands, which
depends on which hops end TLS: (1) IstioOperator, PeerAuthentication (mesh-wide before workload policies,
Istio's precedence), Gateway, Envoy bootstraps and EnvoyFilters (TLS ends; XFCC modes collected); (2)
RequestAuthentication and VirtualService; (3) forwarding, once every TLS fact is known (envoy.py). The rules
per kind: istio.py and envoy.py; matching a resource to nodes: mesh_context.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokensim.errors import InputError
from tokensim.importers import envoy, istio, istio_gateway
from tokensim.importers.detect import ENVOY_KEYS
from tokensim.importers.draft import Draft, shown
from tokensim.importers.findings import ImportReport
from tokensim.importers.mesh_context import NODE_ANNOTATION, Doc, Overlay

#: The report's name for the format.
FORMAT = "mesh overlay (Kubernetes/Istio/Envoy)"
#: The kind given to an Envoy bootstrap (it has none of its own).
BOOTSTRAP = "EnvoyBootstrap"
Handler = Callable[[Overlay, Doc], None]
#: Step 1 and step 2 handlers, in the order they run.
_FIRST: tuple[tuple[str, Handler], ...] = (
    ("IstioOperator", istio_gateway.istio_operator),
    ("PeerAuthentication", istio.peer_authentication),
    ("Gateway", istio_gateway.gateway),
    (BOOTSTRAP, envoy.bootstrap),
    ("EnvoyFilter", envoy.envoy_filter),
)
_SECOND: tuple[tuple[str, Handler], ...] = (
    ("RequestAuthentication", istio.request_authentication),
    ("VirtualService", istio_gateway.virtual_service),
)
_KNOWN = frozenset(kind for kind, _ in (*_FIRST, *_SECOND))
#: Kinds read for nothing tokensim models, with the reason.
_NOTHING = {
    "ProxyConfig": "concurrency, environment variables and the proxy image do not change a token's route",
    "AuthorizationPolicy": "who may call is not a binding fact; tokensim does not model authorization rules",
    "DestinationRule": "outbound TLS settings of callers; the hop facts come from PeerAuthentication and Gateway",
}
#: The fields that say what a document selects, as the error for a file that applies to nothing shows them.
_SELECTING = ("selector", "workloadSelector", "targetRef", "targetRefs", "gateways", "hosts")


def overlay(documents: list[Any], source: str, model: str | Path) -> Draft:
    """The draft of ``model`` (a file or a built-in name) with the mesh facts of ``documents`` (parsed ``source``).

    Raises `InputError` naming the base file for a base model that does not load; naming the mesh file and the
    document for a document without kind or apiVersion, a field of the wrong type, an unknown mode, or a
    ``tokensim.io/node`` that names no node of the model; naming the mesh file when no document applies to a node.
    """
    from tokensim.builtin import resolve_model_path
    from tokensim.model.architecture import load_model
    from tokensim.model.documents import parse_text, read_text

    load_model(model)  # the base model first: its errors name the base file, before anything is applied
    path = resolve_model_path(model)
    text, model_source = read_text(path)
    raw = parse_text(text, model_source, json_only=path.suffix.lower() == ".json")
    if path != Path(model):  # a built-in name: say which, not where the package is installed
        model_source = f"built-in model {model}"
    report = ImportReport(source, FORMAT)
    kept = "every field and comment of it kept, a comment on each value changed"
    report.add("mapped", "model", "", f"overlay on {model_source}: {kept}")
    draft = Draft(report, copy.deepcopy(raw))
    draft.base_text = text
    ov = Overlay(source, model_source, draft, copy.deepcopy(raw["nodes"]))
    docs = _documents(documents, source)
    for doc in docs:
        if doc.kind in _NOTHING:
            ov.add("unmapped", doc.element, "", _NOTHING[doc.kind])
        elif doc.kind not in _KNOWN:
            ov.add("unmapped", doc.element, "", f"kind {doc.kind}: the overlay reads {', '.join(sorted(_KNOWN))}")
    first = sorted(docs, key=lambda d: _has_selector(d))  # mesh-wide policies before workload ones (stable)
    for kind, handle in _FIRST:
        for doc in first if kind == "PeerAuthentication" else docs:
            if doc.kind == kind:
                handle(ov, doc)
    for kind, handle in _SECOND:
        for doc in docs:
            if doc.kind == kind:
                handle(ov, doc)
    envoy.apply_forwarding(ov)
    if not any(ov.selected.values()):
        listed = "; ".join(f"{doc.element} ({_selection(doc)})" for doc in docs) or "the file has no document"
        raise InputError.single(source, "", f"no document of {ov.file} applies to a node of {model_source}: {listed}")
    return ov.draft


def _selection(doc: Doc) -> str:
    """What a document selects, in words, for the error of a file that applies to no node."""
    if doc.kind not in _KNOWN:
        return f"kind {doc.kind}: not read"
    if doc.annotation() is not None:
        return f"{NODE_ANNOTATION}: {shown(doc.annotation())}"
    if doc.kind == BOOTSTRAP:
        node = doc.mapping(doc.data.get("node"), "node")
        return f"node {shown({k: node[k] for k in ('id', 'cluster') if k in node})}: no hop of that name"
    said = [f"{key}: {shown(doc.spec[key])}" for key in _SELECTING if doc.spec.get(key)]
    return ", ".join(said) + ": no node" if said else "no selector: no node of its kind"


def _has_selector(doc: Doc) -> bool:
    """Whether a policy selects workloads (Istio applies a workload policy over a namespace- or mesh-wide one)."""
    return bool(doc.spec.get("selector")) or doc.annotation() is not None


def _documents(documents: list[Any], source: str) -> list[Doc]:
    """The documents, ``kind: List`` items in their place, each with its name; malformed ones are refused."""
    out: list[Doc] = []
    for i, data in enumerate(documents, 1):
        items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else None
        if isinstance(items, list):
            out += [_document(item, source, f"document {i} item {j}") for j, item in enumerate(items, 1)]
        elif items is not None:
            raise InputError.single(source, f"document {i}", "kind List: items: expected a list")
        else:
            out.append(_document(data, source, f"document {i}"))
    names: dict[str, int] = {}
    unique = []
    for doc in out:  # two documents of one kind and name (other namespaces) keep apart in the report
        names[doc.element] = names.get(doc.element, 0) + 1
        element = doc.element if names[doc.element] == 1 else f"{doc.element} ({names[doc.element]})"
        unique.append(Doc(doc.kind, element, doc.data, source))
    return unique


def _document(data: Any, source: str, where: str) -> Doc:
    if not isinstance(data, dict):
        raise InputError.single(source, where, "expected a Kubernetes resource or an Envoy bootstrap (a mapping)")
    if "kind" not in data and "apiVersion" not in data and ENVOY_KEYS & data.keys():
        node = data.get("node")
        label = (node.get("id") or node.get("cluster") if isinstance(node, dict) else None) or where
        return Doc(BOOTSTRAP, f"{BOOTSTRAP}/{label}", data, source)
    meta = data.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise InputError.single(source, where, "metadata: expected a mapping")
    name = (meta or {}).get("name")
    if isinstance(data.get("kind"), str) and data["kind"]:
        label = f"{data['kind']}/{name}" if name else f"{data['kind']} ({where})"
    else:
        label = f"{where} ({name})" if name else where
    for key in ("kind", "apiVersion"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise InputError.single(
                source,
                label,
                f"has no {key}: every Kubernetes resource has apiVersion and kind "
                "(an Envoy bootstrap has static_resources)",
            )
    return Doc(str(data["kind"]), label, data, source)
