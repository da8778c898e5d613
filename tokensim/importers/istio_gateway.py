"""Istio's gateways and routes as hop facts (docs/import.md, "Mesh overlay"); each rule cites the reference it reads.

* Gateway ``servers[].tls.mode`` (istio.io, reference/config/networking/gateway, ServerTLSSettings.TLSmode;
  PASSTHROUGH is the enum's zero value): SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL end TLS at the gateway;
  PASSTHROUGH and AUTO_PASSTHROUGH route by SNI without ending it. MUTUAL requires a client certificate,
  OPTIONAL_MUTUAL "explicitly requests" one; SIMPLE asks for none, so it has nothing to forward. Whether the
  certificate is forwarded follows the gateway's XFCC mode (envoy.py). A server without TLS whose
  ``port.protocol`` is HTTP, HTTP2 or GRPC receives plain HTTP: an HTTP proxy that ends any TLS binding with no
  peer certificate (envoy.py); a ``TCP`` one passes the bytes, and so the client's TLS, through. A server that
  only redirects to HTTPS (``tls.httpsRedirect``) carries no request on.
* IstioOperator ``spec.meshConfig.defaultConfig.gatewayTopology.forwardClientCertDetails`` (istio.io, ops/
  configuration/traffic-management/network-topologies): the gateways' XFCC mode; unset or UNDEFINED, Istio's
  default SANITIZE_SET (istio/istio pilot/pkg/networking/core/gateway.go, ``buildGatewayConnectionManager``).
* VirtualService ``http[].rewrite.uri`` / ``.authority`` on the gateways it binds (``spec.gateways``; omitted:
  ``mesh``, "apply the rule to all sidecars in the mesh": istio.io, reference/config/networking/virtual-service);
  for ``mesh`` tokensim takes the mesh hop in front of each host's workload.
"""

from __future__ import annotations

from typing import Any

from tokensim.importers import envoy
from tokensim.importers.mesh_context import NODE_ANNOTATION, Doc, Overlay, PeerCert, Setting, unread

TLS_MODES = ("PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL")
#: What a server without TLS is read as, by its port's protocol.
PLAIN_HTTP, PLAIN_TCP = "plain HTTP", "plain TCP"
_PLAIN = {"HTTP": PLAIN_HTTP, "HTTP2": PLAIN_HTTP, "GRPC": PLAIN_HTTP, "GRPC-WEB": PLAIN_HTTP, "TCP": PLAIN_TCP}
_PASSING = ("PASSTHROUGH", "AUTO_PASSTHROUGH", PLAIN_TCP)
_ASKING = ("MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL")
_TOPOLOGY_MODES = ("UNDEFINED", *envoy.FCCD_MODES)


def _server_mode(doc: Doc, server: dict[str, Any], where: str) -> str | None:
    """How one server treats the client's TLS: its TLS mode, plain HTTP or TCP, or None (a redirect, or unknown)."""
    tls = doc.mapping(server.get("tls"), f"{where}.tls")
    if set(tls) - {"httpsRedirect"}:
        return envoy.mode(doc, f"{where}.tls.mode", tls.get("mode", "PASSTHROUGH"), allowed=TLS_MODES)
    if tls.get("httpsRedirect") is True:
        return None
    protocol = str(doc.mapping(server.get("port"), f"{where}.port").get("protocol", "")).upper()
    return _PLAIN.get(protocol)


def gateway(ov: Overlay, doc: Doc) -> None:
    """An Istio Gateway: whether the gateway node ends TLS, and whether it asks the client for its certificate."""
    if not doc.api_version.startswith("networking.istio.io/"):
        ov.add("unmapped", doc.element, "", f"{doc.api_version} Gateway: only Istio's (networking.istio.io) is read")
        return
    spec = doc.spec
    unread(ov, doc, spec, ("selector", "servers"))
    servers = doc.mappings(spec.get("servers"), "spec.servers")
    modes = [m for i, s in enumerate(servers) if (m := _server_mode(doc, s, f"spec.servers[{i}]")) is not None]
    nodes = _gateway_nodes(ov, doc)
    if not nodes:
        return
    ov.gateway_names.setdefault(doc.name, []).extend(nodes)
    ov.select(doc.element, nodes)
    if not modes:
        ov.add("unmapped", doc.element, "spec.servers", "no server carries requests on: terminates_tls left as it is")
        return
    ending = [m for m in modes if m not in _PASSING]
    if len(set(modes)) > 1:
        ov.add(
            "ambiguity",
            doc.element,
            "spec.servers",
            f"servers with modes {', '.join(sorted(set(modes)))}: read as "
            "ending TLS if any does, and as asking for a client certificate only if all that end TLS do (the "
            "conservative reading; split the gateway node if binding clients use one server only)",
        )
    if PLAIN_HTTP in ending:
        ov.add("ambiguity", doc.element, "spec.servers", f"a plain HTTP server: {envoy.PLAINTEXT}")
    asks = bool(ending) and all(m in _ASKING for m in ending)
    shown = "/".join(dict.fromkeys(ending or modes))
    for node in nodes:
        ov.change(
            node,
            "terminates_tls",
            bool(ending),
            doc.element,
            f"tls.mode {shown}: "
            + ("the gateway ends the client's TLS" if ending else "routed by SNI, TLS passed through"),
        )
        if ending:
            ov.istio.gateways[node] = doc.element
            ov.client_cert[node] = PeerCert(
                asks,
                f"tls.mode {shown}: "
                + ("a client certificate is requested" if asks else "no client certificate is requested"),
            )


def ingress_nodes(ov: Overlay, doc: Doc, labels: dict[str, Any], where: str) -> list[str] | None:
    """The gateway nodes labels ``istio: ingressgateway`` (or ``app: istio-ingressgateway``) mean: the model's only
    gateway, else the only one clients call directly, else none (an ambiguity). None: the labels do not say."""
    if not any("ingressgateway" in str(labels.get(k, "")) for k in ("istio", "app")):
        return None
    gateways = ov.of_kind("gateway")
    if len(gateways) == 1:
        return gateways
    edge = [g for g in gateways if g in ov.entries()]
    if len(edge) == 1:
        detail = f"{edge[0]}, the only one clients call directly"
    else:
        detail = f"not applied; annotate it with {NODE_ANNOTATION}: NODE"
    ov.add("ambiguity", doc.element, where, f"ingress gateway labels and {len(gateways)} gateway nodes: {detail}")
    return edge if len(edge) == 1 else []


def _gateway_nodes(ov: Overlay, doc: Doc) -> list[str]:
    """The gateway or proxy node an Istio Gateway configures: annotation, selector labels, its name, else the
    ``istio: ingressgateway`` convention. An annotation naming another kind is an error."""
    selector = doc.mapping(doc.spec.get("selector"), "spec.selector")
    found = ov.named(doc, selector, (("metadata.name", doc.name),))
    if found is not None and ov.kind(found.node) in ("gateway", "proxy"):
        return [found.node]
    if found is not None and doc.annotation() is not None:
        raise doc.fail(
            f"{found.how} names {found.node}, a {ov.kind(found.node)}: a Gateway configures a gateway or proxy node"
        )
    nodes = ingress_nodes(ov, doc, selector, "spec.selector")
    if not nodes:
        ov.add("unmapped", doc.element, "spec.selector", "matches no gateway node")
    return nodes or []


def istio_operator(ov: Overlay, doc: Doc) -> None:
    """IstioOperator: the gateways' XFCC mode from meshConfig.defaultConfig.gatewayTopology."""
    spec = doc.spec
    unread(ov, doc, spec, ("meshConfig",))
    where = "spec.meshConfig"
    mesh = doc.mapping(spec.get("meshConfig"), where)
    unread(ov, doc, mesh, ("defaultConfig",), f"{where}.")
    default = doc.mapping(mesh.get("defaultConfig"), f"{where}.defaultConfig")
    unread(ov, doc, default, ("gatewayTopology",), f"{where}.defaultConfig.")
    where += ".defaultConfig.gatewayTopology"
    topology = doc.mapping(default.get("gatewayTopology"), where)
    unread(ov, doc, topology, ("forwardClientCertDetails",), f"{where}.")
    if "forwardClientCertDetails" in topology:
        value = envoy.mode(
            doc, f"{where}.forwardClientCertDetails", topology["forwardClientCertDetails"], allowed=_TOPOLOGY_MODES
        )
        if value != "UNDEFINED":  # UNDEFINED keeps Istio's gateway default
            ov.gateway_topology = Setting(value, doc.element)
        ov.add("mapped", doc.element, "", f"gateways' forwardClientCertDetails {value}")


def virtual_service(ov: Overlay, doc: Doc) -> None:
    """VirtualService: a URI rewrite breaks DPoP's htu, an authority rewrite the host the client signed."""
    spec = doc.spec
    unread(ov, doc, spec, ("hosts", "gateways", "http"))
    routes = doc.mappings(spec.get("http"), "spec.http")
    rewrites = [doc.mapping(route.get("rewrite"), f"spec.http[{i}].rewrite") for i, route in enumerate(routes)]
    hops = _bound_hops(ov, doc, quiet=not any(rewrites))
    ov.select(doc.element, hops)
    changed = False
    for i, (route, rewrite) in enumerate(zip(routes, rewrites, strict=True)):
        if "headers" in route:
            ov.add(
                "unmapped",
                doc.element,
                "spec.http[].headers",
                "header changes are not read (a removed Authorization, DPoP or XFCC header would change the route)",
            )
        facts: list[tuple[str, bool, str]] = []
        if "uri" in rewrite or "uriRegexRewrite" in rewrite:
            facts.append(("rewrites_uri", True, "rewrite.uri: the proof's htu no longer matches"))
        if "authority" in rewrite:
            facts.append(
                ("forwards_host", False, "rewrite.authority: the host the client signed (DPoP htu) no longer matches")
            )
        for hop in hops if facts else []:
            changed = True
            for key, value, why in facts:
                ov.change(hop, key, value, doc.element, f"http[{i}] {why}")
            if ov.kind(hop) != "mesh":
                ov.add(
                    "ambiguity",
                    doc.element,
                    f"spec.http[{i}].rewrite",
                    f"one fact per hop: every route through {hop} is read as rewritten (conservative)",
                )
    if not changed:
        ov.add("mapped", doc.element, "", "no rewrite: nothing changed")


def _bound_hops(ov: Overlay, doc: Doc, *, quiet: bool) -> list[str]:
    """The hops a VirtualService binds: its gateways' nodes, and for ``mesh`` the mesh hops of its hosts.
    ``quiet``: report no host or gateway that matches nothing (the document changes nothing anyway)."""
    hops: list[str] = []
    missing: list[tuple[str, str]] = []
    for raw in doc.sequence(doc.spec.get("gateways"), "spec.gateways") or ["mesh"]:
        name = str(raw).rsplit("/", 1)[-1]
        if name == "mesh":
            for host in doc.sequence(doc.spec.get("hosts"), "spec.hosts"):
                found = ov.match({"app": str(host).split(".", 1)[0]})
                kind = ov.kind(found.node) if found else ""
                meshes = [found.node] if found and kind == "mesh" else ov.mesh_in_front(found.node) if found else []
                if not meshes:
                    missing.append(("spec.hosts", f"{host}: no mesh hop of that name or in front of it"))
                hops += meshes
        elif name in ov.gateway_names:
            hops += ov.gateway_names[name]
        else:
            found = ov.match({"app": name})
            if found and ov.kind(found.node) in ("gateway", "proxy"):
                hops.append(found.node)
            else:
                missing.append(("spec.gateways", f"{raw}: no Gateway in the file, no node of that name"))
    for where, why in [] if quiet else missing:
        ov.add("unmapped", doc.element, where, why)
    return list(dict.fromkeys(hops))
