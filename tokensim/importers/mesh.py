"""The mesh overlay: Kubernetes, Istio and Envoy configuration sets the hop facts of an existing model.

``tokensim import mesh.yaml --overlay-on MODEL.yaml`` (docs/import.md, "Mesh overlay") reads the documents
of a mesh file (a Kubernetes stream, ``kind: List`` items, or an Envoy bootstrap) and changes, on a deep copy
of the model's own mapping (every field of the model is kept), the facts route analysis reads
(tokensim/model/hops.py): a hop's ``terminates_tls``, ``forwards_client_cert``, ``forwards_host`` and
``rewrites_uri``, and a resource's ``accepts``. Every field changed gets a comment naming the document and
why; every document applied is *mapped* in the report, every document or field read but not mapped
*unmapped*, every choice an *ambiguity*.

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
from tokensim.importers.draft import Draft
from tokensim.importers.findings import ImportReport
from tokensim.importers.mesh_context import Doc, Overlay, as_dict

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
#: Kinds read for nothing tokensim models, with the reason.
_NOTHING = {
    "ProxyConfig": "concurrency, environment variables and the proxy image do not change a token's route",
    "AuthorizationPolicy": "who may call is not a binding fact; tokensim does not model authorization rules",
    "DestinationRule": "outbound TLS settings of callers; the hop facts come from PeerAuthentication and Gateway",
}


def overlay(documents: list[Any], source: str, model: str | Path) -> Draft:
    """The draft of ``model`` (a file or a built-in name) with the mesh facts of ``documents`` (parsed ``source``).

    Raises `InputError` naming the file and the document for a document without kind or apiVersion, an
    unknown mode, or a ``tokensim.io/node`` that names no node of the model.
    """
    from tokensim.builtin import resolve_model_path
    from tokensim.model.documents import read_document

    path = resolve_model_path(model)
    raw, model_source = read_document(path)
    if path != Path(model):  # a built-in name: say which, not where the package is installed
        model_source = f"built-in model {model}"
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), dict):
        raise InputError.single(model_source, "nodes", "is not a tokensim model: expected a mapping with nodes")
    report = ImportReport(source, FORMAT)
    report.add("mapped", "model", "", f"overlay on {model_source}: every field of it kept, the hop facts below changed")
    ov = Overlay(source, model_source, Draft(report, copy.deepcopy(raw)))
    docs = _documents(documents, source)
    known = {kind for kind, _ in (*_FIRST, *_SECOND)}
    for doc in docs:
        if doc.kind in _NOTHING:
            ov.add("unmapped", doc.element, "", _NOTHING[doc.kind])
        elif doc.kind not in known:
            ov.add("unmapped", doc.element, "", f"kind {doc.kind}: the overlay reads {', '.join(sorted(known))}")
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
    return ov.draft


def _has_selector(doc: Doc) -> bool:
    """Whether a policy selects workloads (Istio applies a workload policy over a namespace- or mesh-wide one)."""
    return isinstance(doc.spec.get("selector"), dict) or doc.annotation() is not None


def _documents(documents: list[Any], source: str) -> list[Doc]:
    """The documents, ``kind: List`` items in their place, each with its name; malformed ones are refused."""
    out: list[Doc] = []
    for i, data in enumerate(documents, 1):
        items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else None
        if isinstance(items, list):
            out += [_document(item, source, f"document {i} item {j}") for j, item in enumerate(items, 1)]
        else:
            out.append(_document(data, source, f"document {i}"))
    names: dict[str, int] = {}
    unique = []
    for doc in out:  # two documents of one kind and name (other namespaces) keep apart in the report
        names[doc.element] = names.get(doc.element, 0) + 1
        element = doc.element if names[doc.element] == 1 else f"{doc.element} ({names[doc.element]})"
        unique.append(Doc(doc.kind, element, doc.data))
    return unique


def _document(data: Any, source: str, where: str) -> Doc:
    if not isinstance(data, dict):
        raise InputError.single(source, where, "expected a Kubernetes resource or an Envoy bootstrap (a mapping)")
    if "kind" not in data and "apiVersion" not in data and ENVOY_KEYS & data.keys():
        node = as_dict(data.get("node"))
        label = node.get("id") or node.get("cluster") or where
        return Doc(BOOTSTRAP, f"{BOOTSTRAP}/{label}", data)
    meta = as_dict(data.get("metadata"))
    name = meta.get("name")
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
    return Doc(str(data["kind"]), label, data)
