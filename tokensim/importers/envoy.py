"""Envoy's ``forward_client_cert_details`` (XFCC) as tokensim's ``forwards_client_cert`` (docs/import.md, "Mesh overlay").

The values and Envoy's default are those of the HttpConnectionManager API
(envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto,
``ForwardClientCertDetails``): ``SANITIZE`` "Do not send the XFCC header to the next hop. This is the default
value."; ``FORWARD_ONLY`` forwards it "when the client connection is mTLS"; ``APPEND_FORWARD`` appends the client
certificate's details to it and forwards it; ``SANITIZE_SET`` resets it to the client certificate's details;
``ALWAYS_FORWARD_ONLY`` forwards it whatever the connection. Envoy's source says the same
(source/common/http/conn_manager_utility.cc, ``mutateXfccRequestHeader``): ALWAYS_FORWARD_ONLY returns first,
leaving the header as it came; then "When Sanitize is set, or the connection is not mutual TLS, remove the XFCC
header" (the test is ``connection.ssl() && connection.ssl()->peerCertificatePresented()``). So on a connection
without a peer certificate (plain HTTP, or TLS without a client certificate) only ALWAYS_FORWARD_ONLY passes XFCC
on. What that means for a token's binding depends on where the hop stands (`Overlay.positions`):

* the hop that ends the client's TLS: ``SANITIZE_SET`` and ``APPEND_FORWARD`` put the client's certificate into
  XFCC (forwarded) when the hop asks the client for its certificate; the other modes forward none;
* a later hop: ``FORWARD_ONLY`` and ``APPEND_FORWARD`` keep the XFCC from before when the connection from the
  previous hop carries a peer certificate (mesh mTLS between sidecars does), ``ALWAYS_FORWARD_ONLY`` always;
  ``SANITIZE`` drops it and ``SANITIZE_SET`` replaces it with the previous hop's workload certificate (the reported
  Istio setup that forwarded the ingress gateway's certificate, not the external client's: FACTS.md, DPoP and mTLS
  mechanics; istio/istio issue 33599).

A hop that receives plain HTTP (an HTTP connection manager without TLS, a sidecar under PeerAuthentication
DISABLE) is still an HTTP proxy: it ends whatever TLS the request came over and passes the certificate on only
as XFCC, so it keeps ``terminates_tls: true`` and takes the rule above with no peer certificate. A ``tcp_proxy``
without TLS passes the client's TLS through untouched: ``terminates_tls: false``.

A hop that stands first on some routes and later on others, or has several settings, gets the reading that
loses the binding (the conservative one), and an ambiguity in the report.

Istio's defaults, where the file sets nothing for a hop Istio configures (from Istio's source,
pilot/pkg/networking/core): gateways ``SANITIZE_SET`` unless meshConfig.defaultConfig.gatewayTopology says
otherwise (gateway.go, ``buildGatewayConnectionManager``); sidecars' inbound listeners ``APPEND_FORWARD``
(listener_inbound.go, ``buildSidecarInboundHTTPOpts``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tokensim.errors import did_you_mean
from tokensim.importers import unmapped
from tokensim.importers.inventory import HOP_ROLES
from tokensim.importers.mesh_context import NODE_ANNOTATION, Doc, Match, Overlay, PeerCert, Position, Xfcc, unread

FCCD_MODES = ("SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET", "ALWAYS_FORWARD_ONLY")
ENVOY_DEFAULT = "SANITIZE"  # the HttpConnectionManager proto: "This is the default value."
ISTIO_GATEWAY_DEFAULT = "SANITIZE_SET"  # istio/istio pilot/pkg/networking/core/gateway.go
ISTIO_SIDECAR_DEFAULT = "APPEND_FORWARD"  # istio/istio pilot/pkg/networking/core/listener_inbound.go
#: Why XFCC carries nothing from a connection without a peer certificate (the module docstring).
NO_PEER = "only ALWAYS_FORWARD_ONLY passes XFCC on (Envoy removes it on a connection without a peer certificate)"
PLAINTEXT = (
    "tokensim has no plaintext hop: read as an HTTP proxy that ends any TLS binding (terminates_tls: true) and, "
    "with no peer certificate, passes XFCC on only with ALWAYS_FORWARD_ONLY (Envoy, conn_manager_utility.cc, "
    "mutateXfccRequestHeader)"
)
_HCM = "envoy.filters.network.http_connection_manager"
_TCP = "envoy.filters.network.tcp_proxy"
_KEYS = ("forward_client_cert_details", "forwardClientCertDetails")


class Reading(NamedTuple):
    """One way to read a hop's forwarding: a setting at a position, with the peer certificate it sees."""

    forwards: bool
    setting: Xfcc
    position: Position
    peer: PeerCert


class Manager(NamedTuple):
    """An HTTP connection manager of a filter chain: where it is in the file, and its typed_config."""

    where: str
    config: dict[str, Any]


class Chain(NamedTuple):
    """An Envoy filter chain: whether it ends TLS, whether its TLS asks for a client certificate, its filters."""

    tls: bool
    required: bool
    http: list[Manager]
    tcp: bool  # it has a tcp_proxy


def mode(doc: Doc, where: str, value: object, *, allowed: tuple[str, ...] = FCCD_MODES) -> str:
    """A forward_client_cert_details value, or an `InputError` listing the allowed ones."""
    if value not in allowed:
        raise doc.fail(f"{where}: unknown mode {value!r}{did_you_mean(value, allowed)}; modes: {', '.join(allowed)}")
    return str(value)


def peer_cert(ov: Overlay, hop: str, position: Position, stated: PeerCert | None) -> PeerCert:
    """Whether the connection into ``hop`` at ``position`` carries a certificate that XFCC can pass on, and why."""
    if stated is not None:
        return stated
    if hop in ov.plaintext:
        return PeerCert(False, f"no mesh mTLS ({ov.plaintext[hop]}): the sidecar receives plain HTTP; {NO_PEER}")
    if position == "later" and ov.kind(hop) == "mesh" and ov.fact(hop, "terminates_tls"):
        return PeerCert(True, "mesh mTLS from the previous hop")
    if hop in ov.client_cert:
        return ov.client_cert[hop]
    if ov.kind(hop) == "mesh":
        return PeerCert(False, "mesh mTLS asks for workload certificates, not the client's own (FACTS.md)")
    why = "nothing in the file says it asks for a client certificate (assumption: it does not, conservative)"
    ov.add("ambiguity", hop, "forwards_client_cert", why)
    return PeerCert(False, why)


def forwards(xfcc: str, position: Position, cert: bool) -> bool:
    """The XFCC rule (module docstring): does the client's certificate reach the next hop?"""
    if position == "first":
        return xfcc in ("SANITIZE_SET", "APPEND_FORWARD") and cert
    if xfcc == "ALWAYS_FORWARD_ONLY":
        return True
    return xfcc in ("FORWARD_ONLY", "APPEND_FORWARD") and cert


def _settings(ov: Overlay, hop: str) -> list[Xfcc]:
    """The XFCC settings of a hop: those the file states, else Istio's default for a hop Istio configures."""
    if ov.xfcc.get(hop):
        return list(ov.xfcc[hop])
    if hop in ov.istio.gateways:
        if ov.gateway_topology is not None:
            return [Xfcc(ov.gateway_topology.mode, ov.gateway_topology.element, origin=" (meshConfig gatewayTopology)")]
        return [Xfcc(ISTIO_GATEWAY_DEFAULT, ov.istio.gateways[hop], origin=" (Istio's gateway default)")]
    element = ov.istio.sidecars.get(hop) or ov.plaintext.get(hop)
    if element is None:
        return []
    ov.add(
        "ambiguity",
        element,
        "forwards_client_cert",
        f"no XFCC setting for {hop} in the file: Istio's sidecar inbound default {ISTIO_SIDECAR_DEFAULT} "
        "taken (istio/istio pilot/pkg/networking/core/listener_inbound.go)",
    )
    return [Xfcc(ISTIO_SIDECAR_DEFAULT, element, origin=" (Istio's sidecar inbound default)")]


def apply_forwarding(ov: Overlay) -> None:
    """Set ``forwards_client_cert`` on every hop the file configures, once every TLS fact is known."""
    for hop in ov.of_kind(*HOP_ROLES):
        settings = _settings(ov, hop)
        if not settings:
            continue
        if not ov.fact(hop, "terminates_tls"):
            for s in settings:
                ov.select(s.element, [hop])
                ov.add(
                    "mapped", s.element, "forward_client_cert_details", f"{hop} passes TLS through: XFCC does not apply"
                )
            continue
        readings = []
        for s in settings:
            for p in sorted(ov.positions(hop)):
                peer = peer_cert(ov, hop, p, s.peer)
                readings.append(Reading(forwards(s.mode, p, peer.present), s, p, peer))
        chosen = min(readings, key=lambda r: r.forwards)
        if len({r.forwards for r in readings}) > 1:
            ov.add(
                "ambiguity",
                chosen.setting.element,
                "forward_client_cert_details",
                f"{hop} forwards the client certificate on some routes and settings, not on others: read as not "
                "forwarded (conservative; tokensim has one forwarding fact per hop)",
            )
        where = (
            "ends the client's TLS"
            if chosen.position == "first"
            else "is a later hop (the client's TLS ended before it)"
        )
        s = chosen.setting
        ov.change(
            hop,
            "forwards_client_cert",
            chosen.forwards,
            s.element,
            f"forward_client_cert_details {s.mode}{s.origin}; the hop {where}; {chosen.peer.why}",
        )


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
    selector = doc.mapping(spec.get("workloadSelector"), "spec.workloadSelector")
    found = ov.named(doc, doc.mapping(selector.get("labels"), "spec.workloadSelector.labels"))
    for i, patch in enumerate(doc.mappings(spec.get("configPatches"), "spec.configPatches")):
        where = f"spec.configPatches[{i}]"
        values = _find_modes(doc.mapping(patch.get("patch"), f"{where}.patch").get("value"))
        context = str(doc.mapping(patch.get("match"), f"{where}.match").get("context", "ANY"))
        if not values:
            ov.add("unmapped", doc.element, where, "sets no forward_client_cert_details: nothing tokensim reads")
            continue
        if context == "SIDECAR_OUTBOUND":
            ov.add("unmapped", doc.element, where, "SIDECAR_OUTBOUND: changes requests the workload sends, not its hop")
            continue
        hops = _filter_targets(ov, doc, found, context, bool(selector))
        ov.select(doc.element, hops)
        for value in values:
            xfcc = mode(doc, f"{where}.patch.value forward_client_cert_details", value)
            for hop in hops:
                ov.xfcc.setdefault(hop, []).append(Xfcc(xfcc, doc.element))


def _filter_targets(ov: Overlay, doc: Doc, found: Match | None, context: str, selected: bool) -> list[str]:
    """The hops an EnvoyFilter patch applies to (a resource's: the mesh hop in front of it)."""
    if found is not None:
        kind = ov.kind(found.node)
        hops = ov.mesh_in_front(found.node) if kind == "resource" else [found.node] if kind in HOP_ROLES else []
        if not hops:
            ov.add("unmapped", doc.element, "", f"{found.how}: {found.node} is a {kind} with no mesh hop in front")
        return hops
    if selected:
        ov.add(
            "unmapped",
            doc.element,
            "spec.workloadSelector",
            f"matches no node: annotate it with {NODE_ANNOTATION}: NODE",
        )
        return []
    kinds = {"GATEWAY": ("gateway",), "SIDECAR_INBOUND": ("mesh",)}.get(context, tuple(sorted(HOP_ROLES)))
    ov.add(
        "ambiguity",
        doc.element,
        "spec.workloadSelector",
        f"no selector: applied to every {'/'.join(sorted(kinds))} "
        "hop of the model (a namespace-wide filter; tokensim models have no namespaces)",
    )
    return ov.of_kind(*kinds)


def _chain(doc: Doc, chain: dict[str, Any], where: str) -> Chain:
    """A filter chain's TLS and filters, every field checked for its type."""
    socket = doc.mapping(chain.get("transport_socket"), f"{where}.transport_socket")
    context = doc.mapping(socket.get("typed_config"), f"{where}.transport_socket.typed_config")
    tls = socket.get("name") == "envoy.transport_sockets.tls" or str(context.get("@type", "")).endswith(
        "DownstreamTlsContext"
    )
    key = "require_client_certificate" if "require_client_certificate" in context else "requireClientCertificate"
    value = context.get(key)  # a bool, or a BoolValue {value: ...}
    field_ = f"{where}.transport_socket.typed_config.{key}"
    required = (
        doc.flag(doc.mapping(value, field_).get("value"), f"{field_}.value")
        if isinstance(value, dict)
        else doc.flag(value, field_)
    )
    http: list[Manager] = []
    tcp = False
    for i, f in enumerate(doc.mappings(chain.get("filters"), f"{where}.filters")):
        config = doc.mapping(f.get("typed_config"), f"{where}.filters[{i}].typed_config")
        if _is(f, config, _HCM):
            http.append(Manager(f"{where}.filters[{i}].typed_config", config))
        tcp = tcp or _is(f, config, _TCP)
    return Chain(tls, bool(required), http, tcp)


def bootstrap(ov: Overlay, doc: Doc) -> None:
    """An Envoy bootstrap: whether its listeners end TLS, and their XFCC modes, for the node it is."""
    data = doc.data
    reasons = {"dynamic_resources": "configuration served at run time by a control plane: not in the file"}
    for key in data:
        if key not in ("node", "static_resources"):
            unmapped.unread(ov.draft.report, doc.element, key, reasons=reasons, documentation=())
    node = doc.mapping(data.get("node"), "node")
    meta = doc.mapping(node.get("metadata"), "node.metadata")
    names = (("node.cluster", str(node.get("cluster", ""))), ("node.id", str(node.get("id", ""))))
    found = ov.named(doc, None, names, ref=meta.get(NODE_ANNOTATION))
    static = doc.mapping(data.get("static_resources"), "static_resources")
    chains = [
        _chain(doc, chain, f"static_resources.listeners[{li}].filter_chains[{ci}]")
        for li, listener in enumerate(doc.mappings(static.get("listeners"), "static_resources.listeners"))
        for ci, chain in enumerate(
            doc.mappings(listener.get("filter_chains"), f"static_resources.listeners[{li}].filter_chains")
        )
    ]
    if found is None or ov.kind(found.node) not in HOP_ROLES:
        ov.add(
            "unmapped",
            doc.element,
            "node",
            f"node.id and node.cluster match no proxy, gateway or mesh node: set node.metadata {NODE_ANNOTATION}: NODE",
        )
        return
    hop, how = found
    ov.select(doc.element, [hop])
    ending = [c for c in chains if c.tls or c.http]  # an HTTP connection manager ends TLS or receives plain HTTP
    plain = [c for c in ending if not c.tls]
    if ending and len(ending) < len(chains):
        ov.add(
            "ambiguity",
            doc.element,
            "filter_chains",
            "some filter chains pass TLS through (tcp_proxy without TLS), others end it: "
            "terminates_tls true (conservative: mTLS is lost there unless forwarded)",
        )
    if plain:
        ov.add(
            "ambiguity", doc.element, "filter_chains", f"plain HTTP listeners: {hop} receives plain HTTP; {PLAINTEXT}"
        )
    if ending:
        why = "a DownstreamTlsContext ends the client's TLS" if len(plain) < len(ending) else "plain HTTP listeners"
        ov.change(hop, "terminates_tls", True, doc.element, f"({how}): {why}; an HTTP proxy ends any TLS binding")
    elif chains:
        ov.change(hop, "terminates_tls", False, doc.element, f"({how}): TCP proxying without TLS passes TLS through")
    for chain in ending:
        peer = (
            PeerCert(
                chain.required,
                "its listener " + ("requires" if chain.required else "does not require") + " a client certificate",
            )
            if chain.tls
            else PeerCert(False, f"plain HTTP listener: no peer certificate; {NO_PEER}")
        )
        for manager in chain.http:
            raw = next((v for k, v in manager.config.items() if k in _KEYS), None)
            xfcc = mode(doc, f"{manager.where}.forward_client_cert_details", raw or ENVOY_DEFAULT)
            origin = " (Envoy's default: none set)" if raw is None else ""
            ov.xfcc.setdefault(hop, []).append(Xfcc(xfcc, doc.element, peer, origin))
        if chain.tcp and not chain.http:  # TLS ended with no HTTP layer: nothing carries XFCC
            ov.xfcc.setdefault(hop, []).append(Xfcc("SANITIZE", doc.element, peer, " (tcp_proxy: no HTTP)"))
    ends_tls = "ends TLS" if len(plain) < len(ending) else "plain HTTP" if ending else "passes TLS through"
    ov.add("mapped", doc.element, "", f"Envoy bootstrap of {hop} ({how}): {ends_tls if chains else 'no listener'}")


def _is(f: dict[str, Any], config: dict[str, Any], name: str) -> bool:
    """Whether a filter is the named Envoy filter (by name or by its typed_config's type)."""
    kind = name.rsplit(".", 1)[-1].replace("_", "").lower()
    return f.get("name") == name or str(config.get("@type", "")).lower().endswith(f".{kind}")
