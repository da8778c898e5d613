"""Which format a file is in, from its content (docs/import.md, "Formats"): never from its name alone."""

from __future__ import annotations

from typing import Any, Literal

from tokensim.errors import InputError

Format = Literal["threagile", "otm", "cyclonedx", "mesh"]
FORMATS: tuple[Format, ...] = ("threagile", "otm", "cyclonedx", "mesh")
#: The top-level keys of an Envoy bootstrap (the overlay's other documents are Kubernetes resources: ``mesh.py``).
ENVOY_KEYS = frozenset({"static_resources", "dynamic_resources"})


def detect(documents: list[Any], source: str) -> Format:
    """The format of parsed ``documents`` (one for a model file, several for a Kubernetes stream)."""
    first = documents[0] if documents else None
    if len(documents) == 1 and isinstance(first, dict):
        if "otmVersion" in first:
            return "otm"
        if first.get("bomFormat") == "CycloneDX":
            return "cyclonedx"
        if "threagile_version" in first or "technical_assets" in first:
            return "threagile"
    if documents and any(_mesh_document(d) for d in documents):  # the overlay names a document that is not one
        return "mesh"
    if len(documents) == 1 and isinstance(first, dict) and "nodes" in first and "name" in first:
        raise InputError.single(source, "", "is a tokensim model already: run it, or give it to --overlay-on")
    raise InputError.single(
        source,
        "",
        "is none of the formats tokensim imports: a Threagile model (threagile_version, technical_assets), "
        "an OTM file (otmVersion), a CycloneDX BOM (bomFormat: CycloneDX), or Kubernetes/Istio/Envoy "
        "configuration (apiVersion and kind, or static_resources)",
    )


def _mesh_document(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return all(_mesh_document(item) for item in doc["items"])
    return ("apiVersion" in doc and "kind" in doc) or bool(ENVOY_KEYS & doc.keys())
