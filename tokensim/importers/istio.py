"""Istio's security resources as hop facts (docs/import.md, "Mesh overlay"); each rule cites the reference it reads.

* PeerAuthentication ``spec.mtls.mode`` (istio.io, reference/config/security/peer_authentication: STRICT
  "only accept mutual TLS traffic", PERMISSIVE "accept both mutual TLS and plain text traffic", DISABLE
  "Mutual TLS is disabled", UNSET inherits the parent scope's mode): STRICT and PERMISSIVE end the caller's TLS
  at the sidecar, which re-encrypts with its workload identity (terminates_tls: true). DISABLE: the sidecar
  receives plain HTTP. It is still an HTTP proxy that ends any TLS binding (terminates_tls: true) and passes the
  certificate on only as XFCC, which Envoy removes on a connection without a peer certificate unless the mode
  is ALWAYS_FORWARD_ONLY (envoy.py): switching mesh mTLS off never makes a broken mTLS binding bound. A workload
  policy wins over a mesh- or namespace-wide one (Istio's precedence; mesh.py applies them in that order).
* RequestAuthentication ``jwtRules[].forwardOriginalToken`` ("If set to true, the original token will be kept
  for the upstream request. Default is false": istio/api security/v1/jwt.proto, JWTRule): false or unset, the
  proxy that validates the JWT removes it, and what is behind it cannot check the token's ``cnf``; Istio's JWT
  filter checks no DPoP proof or certificate binding (istio/istio issue 59439, open in 2026, asks for DPoP). So the
  API takes the token as a bearer token: ``accepts: any``. The proxy is the workload's sidecar for a
  ``selector`` naming a workload, the gateway for a ``targetRef``/``targetRefs`` to a ``Gateway`` (the only kind
  the reference allows: "must be a `Gateway` in the group `gateway.networking.k8s.io`", security/v1/
  request_authentication.proto) or for a selector naming the ingress gateway (``istio: ingressgateway``).
  Certain for bearer and certificate-bound tokens, sent as ``Authorization: Bearer`` (RFC 8705), the default
  location ("The Authorization header using the Bearer schema", jwt.proto); a DPoP token is sent with the ``DPoP``
  scheme (RFC 9449 section 7.1), which the default does not read, so it reaches the API untouched unless
  ``fromHeaders`` names the ``DPoP `` prefix: ``accepts`` is one value per resource, not per mechanism, so
  ``any`` is kept as the conservative reading and the report says so.

Gateways, routes and mesh-wide settings: istio_gateway.py.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tokensim.importers import envoy
from tokensim.importers.inventory import HOP_ROLES
from tokensim.importers.istio_gateway import ingress_nodes
from tokensim.importers.mesh_context import NODE_ANNOTATION, Doc, Overlay, unread

PEER_MODES = ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")
_WHY = {
    "STRICT": "mtls.mode STRICT: only mTLS; mesh mTLS re-encrypts with the workload's identity",
    "PERMISSIVE": "mtls.mode PERMISSIVE: mTLS (plain text accepted too); mesh mTLS re-encrypts with the workload's "
    "identity",
    "DISABLE": f"mtls.mode DISABLE: no mesh mTLS: the sidecar receives plain HTTP; {envoy.NO_PEER}",
}
#: JWT rule fields read: whether the token is kept, and where it is looked for.
_JWT_READ = ("forwardOriginalToken", "fromHeaders", "fromParams", "fromCookies")
_JWT_DETAILS = "token validation details: the issuer node and the resource's validation say what tokensim needs"
_JWT_REASONS = {
    "outputPayloadToHeader": "the claims reach the API, the token does not: DPoP's ath (the token's hash) cannot "
    "be checked without it (RFC 9449 section 4.3); still read as removed",
}
_DPOP = (
    "accepts: any is the conservative reading for DPoP: Istio's JWT filter reads `Authorization: Bearer` unless "
    "fromHeaders says otherwise (istio/api security/v1/jwt.proto, JWTRule), so a DPoP token, sent as "
    "`Authorization: DPoP` (RFC 9449 section 7.1), is neither validated nor removed and reaches the API, which can "
    "check its proof; tokensim's accepts is one value per resource, not per mechanism (certain for bearer and "
    "certificate-bound tokens, sent as Bearer)"
)
_NO_BEARER = (
    "the rules read no `Authorization: Bearer`: a certificate-bound token sent there (RFC 8705) is neither "
    "validated nor removed and reaches the API; accepts: any is the conservative reading for mTLS too"
)


class Target(NamedTuple):
    """What a RequestAuthentication applies to: gateways (their JWT filter), or resources (their sidecar's)."""

    gateways: list[str]
    resources: list[str]


def _labels(doc: Doc) -> dict[str, Any] | None:
    selector = doc.mapping(doc.spec.get("selector"), "spec.selector")
    return doc.mapping(selector["matchLabels"], "spec.selector.matchLabels") if "matchLabels" in selector else None


def _workload_meshes(ov: Overlay, doc: Doc, mode: str, labels: dict[str, Any] | None) -> list[str] | None:
    """The mesh hops a PeerAuthentication selects (adding one in front of a resource that has none), or None."""
    found = ov.named(doc, labels)
    if found is None:
        ov.add("unmapped", doc.element, "spec.selector", f"matches no node: annotate it with {NODE_ANNOTATION}: NODE")
        return None
    kind = ov.kind(found.node)
    if kind == "mesh":
        return [found.node]
    if kind != "resource":
        ov.add(
            "unmapped",
            doc.element,
            "spec.selector",
            f"{found.how}: {found.node} is a {kind}; PeerAuthentication "
            "governs mesh traffic into a workload's sidecar, not the client's TLS",
        )
        return None
    meshes = ov.mesh_in_front(found.node)
    if not meshes and mode in ("STRICT", "PERMISSIVE"):
        meshes = [ov.add_sidecar(found.node, doc.element)]
    return meshes


def peer_authentication(ov: Overlay, doc: Doc) -> None:
    """PeerAuthentication: a workload's (or, with no selector, every) mesh hop, with mesh mTLS or plain HTTP."""
    spec = doc.spec
    unread(ov, doc, spec, ("selector", "mtls", "portLevelMtls"))
    if "portLevelMtls" in spec:
        ov.add("unmapped", doc.element, "spec.portLevelMtls", "tokensim hops have no ports: one mode per hop")
    mtls = doc.mapping(spec.get("mtls"), "spec.mtls")
    mode = envoy.mode(doc, "spec.mtls.mode", mtls.get("mode", "UNSET"), allowed=PEER_MODES)
    labels = _labels(doc)
    selected = labels is not None or doc.annotation() is not None
    if selected:
        meshes = _workload_meshes(ov, doc, mode, labels)
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
    ov.select(doc.element, meshes)
    if mode == "UNSET" or not meshes:
        what = "mode UNSET inherits" if mode == "UNSET" else f"mode {mode}, and no mesh hop to apply it to"
        ov.add("mapped", doc.element, "", f"{what}: nothing changed")
        return
    if mode == "PERMISSIVE":
        ov.add(
            "ambiguity",
            doc.element,
            "spec.mtls.mode",
            "PERMISSIVE accepts plain text too: read as mesh mTLS (terminates_tls: true), what mesh clients use",
        )
    if mode == "DISABLE":
        ov.add(
            "ambiguity", doc.element, "spec.mtls.mode", f"DISABLE: the sidecar receives plain HTTP; {envoy.PLAINTEXT}"
        )
    for mesh in meshes:
        ov.change(mesh, "terminates_tls", True, doc.element, _WHY[mode], precedence=selected)
        if mode == "DISABLE":  # Istio's sidecar XFCC default still applies, on a connection without a certificate
            ov.plaintext[mesh] = doc.element
            ov.istio.sidecars.pop(mesh, None)
        else:
            ov.istio.sidecars[mesh] = doc.element
            ov.plaintext.pop(mesh, None)


def _target(ov: Overlay, doc: Doc) -> Target | None:
    """The gateways or resources a RequestAuthentication applies to (None: none; the report says why).

    Its annotation first, then ``targetRef``/``targetRefs``, then the selector; no selector: every resource
    behind a mesh hop (Istio: "If not set, the selector will match all workloads")."""
    spec = doc.spec
    refs = doc.mappings(spec.get("targetRefs"), "spec.targetRefs")
    if "targetRef" in spec:
        refs.insert(0, doc.mapping(spec["targetRef"], "spec.targetRef"))
    labels = _labels(doc)
    if refs and doc.annotation() is None:
        return _gateway_refs(ov, doc, refs)
    if labels is None and doc.annotation() is None:
        ov.add("ambiguity", doc.element, "spec.selector", "no selector: applied to every resource behind a mesh hop")
        return Target([], [r for r in ov.of_kind("resource") if ov.mesh_in_front(r)])
    found = ov.named(doc, labels)
    if found is None:
        gateways = ingress_nodes(ov, doc, labels or {}, "spec.selector")
        if gateways:
            return Target(gateways, [])
        if gateways is None:
            ov.add(
                "unmapped", doc.element, "spec.selector", f"matches no node: annotate it with {NODE_ANNOTATION}: NODE"
            )
        return None
    kind = ov.kind(found.node)
    if kind in ("gateway", "proxy"):
        return Target([found.node], [])
    resources = [found.node] if kind == "resource" else ov.resources_behind(found.node) if kind == "mesh" else []
    if not resources:
        ov.add(
            "unmapped",
            doc.element,
            "spec.selector",
            f"{found.how}: {found.node} is a {kind} with no resource behind it",
        )
        return None
    return Target([], resources)


def _gateway_refs(ov: Overlay, doc: Doc, refs: list[dict[str, Any]]) -> Target | None:
    """The gateway nodes of targetRefs to a Gateway (by the Istio Gateway of that name in the file, or a node
    of that name); a target of another kind is reported."""
    gateways: list[str] = []
    for ref in refs:
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        if kind != "Gateway":
            why = f"{kind or 'no kind'} {name}: tokensim reads a Gateway target only (the gateway's JWT filter)"
            ov.add("unmapped", doc.element, "spec.targetRefs", why)
            continue
        found = ov.match(None, (("targetRef.name", name),))
        nodes = ov.gateway_names.get(name) or (
            [found.node] if found and ov.kind(found.node) in ("gateway", "proxy") else []
        )
        if not nodes:
            ov.add("unmapped", doc.element, "spec.targetRefs", f"Gateway {name}: no gateway node of that name")
        gateways += [n for n in nodes if n not in gateways]
    return Target(gateways, []) if gateways else None


def request_authentication(ov: Overlay, doc: Doc) -> None:
    """RequestAuthentication: a proxy that validates and removes the JWT leaves what is behind it a bearer token."""
    spec = doc.spec
    unread(ov, doc, spec, ("selector", "jwtRules", "targetRef", "targetRefs"))
    rules = doc.mappings(spec.get("jwtRules"), "spec.jwtRules")
    kept = [
        doc.flag(r.get("forwardOriginalToken"), f"spec.jwtRules[{i}].forwardOriginalToken") for i, r in enumerate(rules)
    ]
    for i, rule in enumerate(rules):  # where the token is looked for: checked here, read in _schemes
        doc.mappings(rule.get("fromHeaders"), f"spec.jwtRules[{i}].fromHeaders")
        doc.sequence(rule.get("fromParams"), f"spec.jwtRules[{i}].fromParams")
        for key in rule:
            if key not in _JWT_READ:
                ov.add("unmapped", doc.element, f"spec.jwtRules[].{key}", _JWT_REASONS.get(key, _JWT_DETAILS))
    target = _target(ov, doc)
    if target is None:
        return
    ov.select(doc.element, target.gateways + target.resources)
    removed = [i for i, keep in enumerate(kept) if keep is not True]
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
    _schemes(ov, doc, [(i, rules[i]) for i in removed])
    why = f"jwtRules[{removed[0]}] forwardOriginalToken unset or false (Istio's default: false): "
    for gateway in target.gateways:
        _behind_gateway(ov, doc, gateway, why)
    for resource in target.resources:
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
            why + "the sidecar validates the JWT and removes it, so the API never sees the token and cannot check "
            "its binding; Istio checks no DPoP proof or certificate binding",
        )


def _behind_gateway(ov: Overlay, doc: Doc, gateway: str, why: str) -> None:
    """The gateway removes the token: every resource behind it (through hops) takes the token as a bearer token.

    A resource that some client also reaches by a route that bypasses the gateway still checks the binding
    on that route, but ``accepts`` is one value per resource: a thief replays where nothing checks, and every
    route through the gateway takes the stolen token as a bearer token. So ``accepts: any`` there too, the
    reading that loses the binding, as everywhere in the overlay, with an ambiguity naming the bypass
    (split the resource if the bypassing routes matter)."""
    reached = ov.reachable(ov.successors(gateway), HOP_ROLES)
    behind = [r for r in ov.of_kind("resource") if r in reached]
    bypass = ov.reachable(ov.entries(), {*HOP_ROLES, "broker"}, avoid=[gateway])
    for resource in behind:
        if resource in bypass:
            ov.add(
                "ambiguity",
                doc.element,
                "accepts",
                f"{resource} is also reached by routes that bypass {gateway}, where it sees the token and checks "
                "its binding: read as accepts: any (conservative: a stolen token replayed through the gateway "
                "reaches it as a bearer token; tokensim's accepts is one value per resource)",
            )
        ov.change(
            resource,
            "accepts",
            "any",
            doc.element,
            why + f"the gateway {gateway} validates the JWT and removes it, so {resource} behind it never sees "
            "the token and cannot check its binding; Istio checks no DPoP proof or certificate binding",
        )
    if not behind:
        ov.add("mapped", doc.element, "", f"no resource behind {gateway}: nothing changed")


def _schemes(ov: Overlay, doc: Doc, rules: list[tuple[int, dict[str, Any]]]) -> None:
    """Whether the rules that remove the token read it where DPoP and certificate-bound tokens are sent."""
    bearer = dpop = False
    for i, rule in rules:
        where = f"spec.jwtRules[{i}]"
        headers = doc.mappings(rule.get("fromHeaders"), f"{where}.fromHeaders")
        located = (
            headers
            or doc.sequence(rule.get("fromParams"), f"{where}.fromParams")
            or doc.sequence(rule.get("fromCookies"), f"{where}.fromCookies")
        )
        schemes = [(str(h.get("name", "")).lower(), str(h.get("prefix", "")).strip().lower()) for h in headers]
        bearer = bearer or not located or ("authorization", "bearer") in schemes
        dpop = dpop or any(prefix == "dpop" for _, prefix in schemes)
    if dpop:
        ov.add(
            "mapped", doc.element, "spec.jwtRules[].fromHeaders", "reads the DPoP scheme: DPoP tokens are removed too"
        )
    else:
        ov.add("ambiguity", doc.element, "spec.jwtRules[].fromHeaders", _DPOP)
    if not bearer:
        ov.add("ambiguity", doc.element, "spec.jwtRules[].fromHeaders", _NO_BEARER)
