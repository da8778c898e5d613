"""Istio's security resources as hop facts (docs/import.md, "Mesh overlay"); each rule cites the reference it reads.

* PeerAuthentication ``spec.mtls.mode`` (istio.io, reference/config/security/peer_authentication: STRICT
  "only accept mutual TLS traffic", PERMISSIVE "accept both mutual TLS and plain text traffic", DISABLE
  "Mutual TLS is disabled", UNSET inherits the parent scope's mode): STRICT and PERMISSIVE end the caller's TLS
  at the sidecar, which re-encrypts with its workload identity (terminates_tls: true); DISABLE: false. A
  workload policy wins over a mesh- or namespace-wide one (Istio's precedence; mesh.py applies them in that order).
* RequestAuthentication ``jwtRules[].forwardOriginalToken`` ("If set to true, the original token will be kept
  for the upstream request. Default is false": istio.io, reference/config/security/jwt): false or unset, the
  sidecar validates the JWT and removes it before the API, which then cannot check the token's ``cnf``; Istio's
  JWT filter checks no DPoP proof or certificate binding (istio/istio issue 59439, open in 2026, asks for DPoP).
  So the API takes the token as a bearer token: ``accepts: any``. Surest for certificate-bound tokens, which
  travel as ``Authorization: Bearer`` (RFC 8705), where Istio looks by default; a DPoP token travels with the
  ``DPoP`` scheme (RFC 9449 section 7.1), which Istio's default header rule (prefix ``Bearer``) may not extract
  and so not remove: the reading is the conservative one, and ``fromHeaders`` is reported.

Gateways, routes and mesh-wide settings: istio_gateway.py.
"""

from __future__ import annotations

from typing import Any

from tokensim.importers import envoy
from tokensim.importers.mesh_context import NODE_ANNOTATION, Doc, Overlay, as_dict, as_list, unread

PEER_MODES = ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")
_JWT_DETAILS = "token validation details: the issuer node and the resource's validation say what tokensim needs"
_JWT_REASONS = {
    "outputPayloadToHeader": "the claims reach the API, the token does not: DPoP's ath (the token's hash) cannot "
    "be checked without it (RFC 9449 section 4.3); still read as removed",
    "fromHeaders": "where the token is read: a DPoP token sent with the DPoP scheme (RFC 9449 section 7.1) is "
    "found only by a header rule with that prefix; not read",
}


def _labels(spec: dict[str, Any]) -> object:
    selector = spec.get("selector")
    return as_dict(selector).get("matchLabels") if isinstance(selector, dict) else None


def _workload_meshes(ov: Overlay, doc: Doc, mode: str) -> list[str] | None:
    """The mesh hops a PeerAuthentication selects (adding one in front of a resource that has none), or None."""
    found = ov.named(doc, _labels(doc.spec))
    if found is None:
        ov.add("unmapped", doc.element, "spec.selector", f"matches no node: annotate it with {NODE_ANNOTATION}: NODE")
        return None
    name, how = found
    if ov.kind(name) == "mesh":
        return [name]
    if ov.kind(name) != "resource":
        ov.add(
            "unmapped",
            doc.element,
            "spec.selector",
            f"{how}: {name} is a {ov.kind(name)}; PeerAuthentication "
            "governs mesh traffic into a workload's sidecar, not the client's TLS",
        )
        return None
    meshes = ov.mesh_in_front(name)
    if not meshes and mode in ("STRICT", "PERMISSIVE"):
        meshes = [ov.add_sidecar(name, doc.element)]
    return meshes


def peer_authentication(ov: Overlay, doc: Doc) -> None:
    """PeerAuthentication: a workload's (or, with no selector, every) mesh hop ends TLS or not."""
    spec = doc.spec
    unread(ov, doc, spec, ("selector", "mtls", "portLevelMtls"))
    if "portLevelMtls" in spec:
        ov.add("unmapped", doc.element, "spec.portLevelMtls", "tokensim hops have no ports: one mode per hop")
    raw = as_dict(spec.get("mtls")).get("mode", "UNSET")
    mode = envoy.mode(ov, doc.element, "spec.mtls.mode", raw, allowed=PEER_MODES)
    selected = _labels(spec) is not None or doc.annotation() is not None
    if selected:
        meshes = _workload_meshes(ov, doc, mode)
        if meshes is None:
            return
    else:
        meshes = ov.of_kind("mesh")
        ov.add(
            "ambiguity",
            doc.element,
            "spec.selector",
            "no selector: applied to every mesh hop of the model "
            "(a namespace- or mesh-wide policy; tokensim models have no namespaces)",
        )
    if mode == "UNSET":
        ov.add("mapped", doc.element, "", "mode UNSET inherits: nothing changed")
        return
    if mode == "PERMISSIVE":
        ov.add(
            "ambiguity",
            doc.element,
            "spec.mtls.mode",
            "PERMISSIVE accepts plain text too: read as mesh mTLS (terminates_tls: true), what mesh clients use",
        )
    on = mode != "DISABLE"
    why = {"STRICT": "only mTLS", "PERMISSIVE": "mTLS (plain text accepted too)", "DISABLE": "no mTLS"}[mode]
    for mesh in meshes:
        ov.change(
            mesh,
            "terminates_tls",
            on,
            doc.element,
            f"mtls.mode {mode}: {why}; mesh mTLS re-encrypts with the workload's identity"
            if on
            else f"mtls.mode {mode}: {why}",
            precedence=selected,
        )
        if on:
            ov.istio_sidecars[mesh] = doc.element
        else:
            ov.istio_sidecars.pop(mesh, None)
    if not meshes:
        ov.add("mapped", doc.element, "", f"mode {mode}, and no mesh hop to apply it to: nothing changed")
        return
    ov.add("mapped", doc.element, "", f"terminates_tls = {'true' if on else 'false'} on {', '.join(meshes)}")


def request_authentication(ov: Overlay, doc: Doc) -> None:
    """RequestAuthentication: a sidecar that validates and removes the JWT leaves the API a bearer token."""
    spec = doc.spec
    unread(ov, doc, spec, ("selector", "jwtRules"))
    if _labels(spec) is not None or doc.annotation() is not None:
        found = ov.named(doc, _labels(spec))
        if found is None:
            ov.add(
                "unmapped", doc.element, "spec.selector", f"matches no node: annotate it with {NODE_ANNOTATION}: NODE"
            )
            return
        name = found[0]
        resources = (
            [name] if ov.kind(name) == "resource" else ov.resources_behind(name) if ov.kind(name) == "mesh" else []
        )
        if not resources:
            ov.add(
                "unmapped",
                doc.element,
                "spec.selector",
                f"{found[1]}: {name} is a {ov.kind(name)}; tokensim "
                "reads a JWT check at a workload only (set accepts on the resources behind it yourself)",
            )
            return
    else:
        resources = [r for r in ov.of_kind("resource") if ov.mesh_in_front(r)]
        ov.add("ambiguity", doc.element, "spec.selector", "no selector: applied to every resource behind a mesh hop")
    rules = [r for r in as_list(spec.get("jwtRules")) if isinstance(r, dict)]
    for rule in rules:
        for key in rule:
            if key != "forwardOriginalToken":
                ov.add("unmapped", doc.element, f"spec.jwtRules[].{key}", _JWT_REASONS.get(key, _JWT_DETAILS))
    removed = [i for i, r in enumerate(rules) if r.get("forwardOriginalToken") is not True]
    if not rules:
        ov.add("unmapped", doc.element, "spec.jwtRules", "no JWT rules: nothing validated, nothing changed")
        return
    if not removed:
        ov.add("mapped", doc.element, "", "forwardOriginalToken: true: the API sees the token; nothing changed")
        return
    if len(removed) < len(rules):
        ov.add(
            "ambiguity",
            doc.element,
            "spec.jwtRules",
            "some rules keep the token, others remove it: read as removed (conservative)",
        )
    for resource in resources:
        if not ov.mesh_in_front(resource):
            ov.add(
                "ambiguity",
                doc.element,
                "spec.selector",
                f"the model has no mesh hop in front of {resource}: "
                "read as if its sidecar validates the JWT (Istio checks JWTs in the workload's proxy)",
            )
        ov.change(
            resource,
            "accepts",
            "any",
            doc.element,
            f"jwtRules[{removed[0]}] forwardOriginalToken unset or false "
            "(Istio's default: false): the sidecar validates the JWT and removes it, so the API never sees the "
            "token and cannot check its binding; Istio checks no DPoP proof or certificate binding",
        )
    ov.add("mapped", doc.element, "", f"accepts = any on {', '.join(resources)}")
