"""Envoy's ``forward_client_cert_details`` (XFCC) as tokensim's ``forwards_client_cert`` (docs/import.md, "Mesh overlay").

The values and Envoy's default are those of the HttpConnectionManager API
(envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto,
``ForwardClientCertDetails``): ``SANITIZE`` "Do not send the XFCC header to the next hop. This is the default
value."; ``FORWARD_ONLY`` forwards it "when the client connection is mTLS"; ``APPEND_FORWARD`` appends the client
certificate's details to it and forwards it; ``SANITIZE_SET`` resets it to the client certificate's details;
``ALWAYS_FORWARD_ONLY`` forwards it whatever the connection. What that means for a token's binding depends on
where the hop stands (`Overlay.positions`):

* the hop that ends the client's TLS: ``SANITIZE_SET`` and ``APPEND_FORWARD`` put the client's certificate into
  XFCC (forwarded) when the hop asks the client for its certificate; the other modes forward none;
* a later hop: ``FORWARD_ONLY`` and ``APPEND_FORWARD`` keep the XFCC from before when the connection from the
  previous hop is mTLS (mesh mTLS between sidecars is), ``ALWAYS_FORWARD_ONLY`` always; ``SANITIZE`` drops it and
  ``SANITIZE_SET`` replaces it with the previous hop's workload certificate (the reported Istio setup that
  forwarded the ingress gateway's certificate, not the external client's: FACTS.md, DPoP and mTLS mechanics;
  istio/istio issue 33599).

A hop that stands first on some routes and later on others, or has several settings, gets the reading that
loses the binding (the conservative one), and an ambiguity in the report.

Istio's defaults, where the file sets nothing for a hop Istio configures (from Istio's source,
pilot/pkg/networking/core): gateways ``SANITIZE_SET`` unless meshConfig.defaultConfig.gatewayTopology says
otherwise (gateway.go, ``buildGatewayConnectionManager``); sidecars' inbound listeners ``APPEND_FORWARD``
(listener_inbound.go, ``buildSidecarInboundHTTPOpts``).
"""

from __future__ import annotations

from typing import Any

from tokensim.errors import did_you_mean
from tokensim.importers.mesh_context import (
    HOPS,
    NODE_ANNOTATION,
    Doc,
    Overlay,
    Position,
    Xfcc,
    as_dict,
    as_list,
    unread,
)

FCCD_MODES = ("SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET", "ALWAYS_FORWARD_ONLY")
ENVOY_DEFAULT = "SANITIZE"  # the HttpConnectionManager proto: "This is the default value."
ISTIO_GATEWAY_DEFAULT = "SANITIZE_SET"  # istio/istio pilot/pkg/networking/core/gateway.go
ISTIO_SIDECAR_DEFAULT = "APPEND_FORWARD"  # istio/istio pilot/pkg/networking/core/listener_inbound.go
_HCM = "envoy.filters.network.http_connection_manager"
_TCP = "envoy.filters.network.tcp_proxy"
_KEYS = ("forward_client_cert_details", "forwardClientCertDetails")


def mode(ov: Overlay, element: str, where: str, value: object, *, allowed: tuple[str, ...] = FCCD_MODES) -> str:
    """A forward_client_cert_details value, or an `InputError` listing the allowed ones."""
    if value not in allowed:
        raise ov.fail(
            element, f"{where}: unknown mode {value!r}{did_you_mean(value, allowed)}; modes: {', '.join(allowed)}"
        )
    return str(value)


def peer_cert(ov: Overlay, hop: str, position: Position, stated: bool | None) -> tuple[bool, str]:
    """Whether the connection into ``hop`` at ``position`` carries a certificate that XFCC can pass on, and why."""
    if stated is not None:
        return stated, "its listener " + ("requires" if stated else "does not require") + " a client certificate"
    if position == "later" and ov.kind(hop) == "mesh" and ov.fact(hop, "terminates_tls"):
        return True, "mesh mTLS from the previous hop"
    if hop in ov.client_cert:
        return ov.client_cert[hop]
    if ov.kind(hop) == "mesh":
        return False, "mesh mTLS asks for workload certificates, not the client's own (FACTS.md)"
    why = "nothing in the file says it asks for a client certificate (assumption: it does not, conservative)"
    ov.add("ambiguity", hop, "forwards_client_cert", why)
    return False, why


def forwards(xfcc: str, position: Position, cert: bool) -> bool:
    """The XFCC rule (module docstring): does the client's certificate reach the next hop?"""
    if position == "first":
        return xfcc in ("SANITIZE_SET", "APPEND_FORWARD") and cert
    if xfcc == "ALWAYS_FORWARD_ONLY":
        return True
    return xfcc in ("FORWARD_ONLY", "APPEND_FORWARD") and cert


def apply_forwarding(ov: Overlay) -> None:
    """Set ``forwards_client_cert`` on every hop the file configures, once every TLS fact is known."""
    for hop in ov.of_kind(*HOPS):
        settings = list(ov.xfcc.get(hop, []))
        if not settings and hop in ov.istio_gateways:
            xfcc, element = ov.gateway_topology or (ISTIO_GATEWAY_DEFAULT, ov.istio_gateways[hop])
            origin = " (meshConfig gatewayTopology)" if ov.gateway_topology else " (Istio's gateway default)"
            settings = [Xfcc(xfcc, element, origin=origin)]
        elif not settings and hop in ov.istio_sidecars:
            settings = [
                Xfcc(ISTIO_SIDECAR_DEFAULT, ov.istio_sidecars[hop], origin=" (Istio's sidecar inbound default)")
            ]
            ov.add(
                "ambiguity",
                ov.istio_sidecars[hop],
                "forwards_client_cert",
                f"no XFCC setting for {hop} in the file: Istio's sidecar inbound default {ISTIO_SIDECAR_DEFAULT} "
                "taken (istio/istio pilot/pkg/networking/core/listener_inbound.go)",
            )
        if not settings:
            continue
        if not ov.fact(hop, "terminates_tls"):
            for s in settings:
                ov.add(
                    "mapped", s.element, "forward_client_cert_details", f"{hop} passes TLS through: XFCC does not apply"
                )
            continue
        readings = [
            (forwards(s.mode, p, peer_cert(ov, hop, p, s.cert_requested)[0]), s, p)
            for s in settings
            for p in sorted(ov.positions(hop))
        ]
        value, s, p = min(readings, key=lambda r: r[0])
        if len({r[0] for r in readings}) > 1:
            ov.add(
                "ambiguity",
                s.element,
                "forward_client_cert_details",
                f"{hop} forwards the client certificate on some routes and settings, not on others: read as not "
                "forwarded (conservative; tokensim has one forwarding fact per hop)",
            )
        why = peer_cert(ov, hop, p, s.cert_requested)[1]
        where = "ends the client's TLS" if p == "first" else "is a later hop (the client's TLS ended before it)"
        ov.change(
            hop,
            "forwards_client_cert",
            value,
            s.element,
            f"forward_client_cert_details {s.mode}{s.origin}; the hop {where}; {why}",
        )
        ov.add("mapped", s.element, "", f"{hop}.forwards_client_cert = {'true' if value else 'false'}")


def _find_modes(value: Any) -> list[object]:
    """Every forward_client_cert_details in an EnvoyFilter patch value (snake or camel case, any depth)."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k in _KEYS] + [m for v in value.values() for m in _find_modes(v)]
    if isinstance(value, list):
        return [m for v in value for m in _find_modes(v)]
    return []


def envoy_filter(ov: Overlay, doc: Doc) -> None:
    """An Istio EnvoyFilter: the XFCC modes its patches set, for the hops it selects."""
    spec = doc.spec
    unread(ov, doc, spec, ("workloadSelector", "configPatches"))
    selector = spec.get("workloadSelector")
    found = ov.named(doc, as_dict(selector).get("labels"))
    for i, item in enumerate(as_list(spec.get("configPatches"))):
        where = f"spec.configPatches[{i}]"
        patch = as_dict(item)
        values = _find_modes(as_dict(patch.get("patch")).get("value"))
        match = as_dict(patch.get("match"))
        context = str(match.get("context", "ANY"))
        if not values:
            ov.add("unmapped", doc.element, where, "sets no forward_client_cert_details: nothing tokensim reads")
            continue
        if context == "SIDECAR_OUTBOUND":
            ov.add("unmapped", doc.element, where, "SIDECAR_OUTBOUND: changes requests the workload sends, not its hop")
            continue
        hops = _filter_targets(ov, doc, found, context, bool(selector))
        for value in values:
            xfcc = mode(ov, doc.element, f"{where}.patch.value forward_client_cert_details", value)
            for hop in hops:
                ov.xfcc.setdefault(hop, []).append(Xfcc(xfcc, doc.element))


def _filter_targets(ov: Overlay, doc: Doc, found: tuple[str, str] | None, context: str, selected: bool) -> list[str]:
    """The hops an EnvoyFilter patch applies to (a resource's: the mesh hop in front of it)."""
    if found is not None:
        name = found[0]
        hops = ov.mesh_in_front(name) if ov.kind(name) == "resource" else [name] if ov.kind(name) in HOPS else []
        if not hops:
            ov.add("unmapped", doc.element, "", f"{found[1]}: {name} is a {ov.kind(name)} with no mesh hop in front")
        return hops
    if selected:
        ov.add(
            "unmapped",
            doc.element,
            "spec.workloadSelector",
            f"matches no node: annotate it with {NODE_ANNOTATION}: NODE",
        )
        return []
    kinds = {"GATEWAY": ("gateway",), "SIDECAR_INBOUND": ("mesh",)}.get(context, tuple(HOPS))
    hops = ov.of_kind(*kinds)
    ov.add(
        "ambiguity",
        doc.element,
        "spec.workloadSelector",
        f"no selector: applied to every {'/'.join(sorted(kinds))} "
        "hop of the model (a namespace-wide filter; tokensim models have no namespaces)",
    )
    return hops


def bootstrap(ov: Overlay, doc: Doc) -> None:
    """An Envoy bootstrap: whether its listeners end TLS, and their XFCC modes, for the node it is."""
    data = doc.data
    for key in data:
        if key not in ("node", "static_resources"):
            why = (
                "configuration served at run time by a control plane: not in the file"
                if key == "dynamic_resources"
                else "not read"
            )
            ov.add("unmapped", doc.element, key, why)
    node = as_dict(data.get("node"))
    meta = as_dict(node.get("metadata"))
    ref = (
        Doc(doc.kind, doc.element, {"metadata": {"annotations": {NODE_ANNOTATION: meta[NODE_ANNOTATION]}}})
        if (NODE_ANNOTATION in meta)
        else doc
    )
    found = ov.named(ref, None, (("node.cluster", str(node.get("cluster", ""))), ("node.id", str(node.get("id", "")))))
    if found is None or ov.kind(found[0]) not in HOPS:
        ov.add(
            "unmapped",
            doc.element,
            "node",
            f"node.id and node.cluster match no proxy, gateway or mesh node: set node.metadata {NODE_ANNOTATION}: NODE",
        )
        return
    hop, how = found
    chains = [
        (li, chain)
        for li, listener in enumerate(as_list(as_dict(data.get("static_resources")).get("listeners")))
        for chain in as_list(as_dict(listener).get("filter_chains"))
    ]
    tls = [_tls(chain) for _, chain in chains]
    http = [any(_is(f, _HCM) for f in as_list(as_dict(chain).get("filters"))) for _, chain in chains]
    if any(tls):
        if not all(tls):
            ov.add(
                "ambiguity",
                doc.element,
                "filter_chains",
                "some filter chains end TLS, others do not: "
                "terminates_tls true (conservative: mTLS is lost there unless forwarded)",
            )
        ov.change(hop, "terminates_tls", True, doc.element, f"({how}): a DownstreamTlsContext ends the client's TLS")
    elif chains and not any(http):
        ov.change(hop, "terminates_tls", False, doc.element, f"({how}): TCP proxying without TLS passes TLS through")
    elif chains:
        ov.add(
            "ambiguity",
            doc.element,
            "filter_chains",
            f"plain HTTP listeners: {hop} receives TLS ended before it; terminates_tls left as the model says",
        )
    for (li, chain), ends, is_http in zip(chains, tls, http, strict=True):
        required = _requires_cert(chain)
        for fi, f in enumerate(as_list(as_dict(chain).get("filters"))):
            where = f"static_resources.listeners[{li}] filters[{fi}]"
            if _is(f, _HCM):
                config = as_dict(as_dict(f).get("typed_config"))
                raw = next((v for k, v in config.items() if k in _KEYS), None)
                xfcc = mode(ov, doc.element, f"{where} forward_client_cert_details", raw or ENVOY_DEFAULT)
                origin = " (Envoy's default: none set)" if raw is None else ""
                ov.xfcc.setdefault(hop, []).append(Xfcc(xfcc, doc.element, required, origin))
            elif _is(f, _TCP) and ends and not is_http:  # TLS ended with no HTTP layer: nothing carries XFCC
                ov.xfcc.setdefault(hop, []).append(Xfcc("SANITIZE", doc.element, required, " (tcp_proxy: no HTTP)"))
    ends_tls = "ends TLS" if any(tls) else "passes TLS through" if chains and not any(http) else "plain HTTP"
    ov.add("mapped", doc.element, "", f"Envoy bootstrap of {hop} ({how}): {ends_tls}")


def _is(f: object, name: str) -> bool:
    """Whether a filter is the named Envoy filter (by name or by its typed_config's type)."""
    kind = name.rsplit(".", 1)[-1].replace("_", "").lower()
    type_url = str(as_dict(as_dict(f).get("typed_config")).get("@type", "")).lower()
    return as_dict(f).get("name") == name or type_url.endswith(f".{kind}")


def _tls(chain: object) -> bool:
    """Whether a filter chain ends TLS: a transport socket with a DownstreamTlsContext."""
    socket = as_dict(as_dict(chain).get("transport_socket"))
    type_url = str(as_dict(socket.get("typed_config")).get("@type", ""))
    return socket.get("name") == "envoy.transport_sockets.tls" or type_url.endswith("DownstreamTlsContext")


def _requires_cert(chain: object) -> bool:
    """DownstreamTlsContext.require_client_certificate (a bool, or a BoolValue ``{value: ...}``)."""
    context = as_dict(as_dict(as_dict(chain).get("transport_socket")).get("typed_config"))
    value = context.get("require_client_certificate", context.get("requireClientCertificate", False))
    return bool(value.get("value")) if isinstance(value, dict) else value is True
