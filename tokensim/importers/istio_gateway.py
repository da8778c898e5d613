"""Istio's gateways and routes as hop facts (docs/import.md, "Mesh overlay"); each rule cites the reference it reads.

* Gateway ``servers[].tls.mode`` (istio.io, reference/config/networking/gateway, ServerTLSSettings.TLSmode;
  PASSTHROUGH is the enum's zero value): SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL end TLS at the gateway;
  PASSTHROUGH and AUTO_PASSTHROUGH route by SNI without ending it. MUTUAL requires a client certificate,
  OPTIONAL_MUTUAL "explicitly requests" one; SIMPLE asks for none, so it has nothing to forward. Whether the
  certificate is forwarded follows the gateway's XFCC mode (envoy.py).
* IstioOperator ``spec.meshConfig.defaultConfig.gatewayTopology.forwardClientCertDetails`` (istio.io, ops/
  configuration/traffic-management/network-topologies): the gateways' XFCC mode; unset or UNDEFINED, Istio's
  default SANITIZE_SET (istio/istio pilot/pkg/networking/core/gateway.go, ``buildGatewayConnectionManager``).
* VirtualService ``http[].rewrite.uri`` / ``.authority`` on the gateways it binds (``spec.gateways``; omitted:
  ``mesh``, "apply the rule to all sidecars in the mesh": istio.io, reference/config/networking/virtual-service);
  for ``mesh`` tokensim takes the mesh hop in front of each host's workload.
"""

from __future__ import annotations

from tokensim.importers import envoy
from tokensim.importers.mesh_context import NODE_ANNOTATION, Doc, Overlay, as_dict, as_list, unread

TLS_MODES = ("PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL")
_PASSING = ("PASSTHROUGH", "AUTO_PASSTHROUGH")
_ASKING = ("MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL")
_TOPOLOGY_MODES = ("UNDEFINED", *envoy.FCCD_MODES)


def gateway(ov: Overlay, doc: Doc) -> None:
    """An Istio Gateway: whether the gateway node ends TLS, and whether it asks the client for its certificate."""
    if not doc.api_version.startswith("networking.istio.io/"):
        ov.add("unmapped", doc.element, "", f"{doc.api_version} Gateway: only Istio's (networking.istio.io) is read")
        return
    spec = doc.spec
    unread(ov, doc, spec, ("selector", "servers"))
    nodes = _gateway_nodes(ov, doc)
    if not nodes:
        return
    ov.gateway_names.setdefault(doc.name, []).extend(nodes)
    modes: list[str] = []
    for i, server in enumerate(as_list(spec.get("servers"))):
        tls = as_dict(server).get("tls")
        if isinstance(tls, dict) and set(tls) - {"httpsRedirect"}:  # plain HTTP servers (or redirects) end no TLS
            modes.append(
                envoy.mode(
                    ov, doc.element, f"spec.servers[{i}].tls.mode", tls.get("mode", "PASSTHROUGH"), allowed=TLS_MODES
                )
            )
    if not modes:
        ov.add("unmapped", doc.element, "spec.servers", "no TLS server: terminates_tls left as the model says")
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
            ov.istio_gateways[node] = doc.element
            ov.client_cert[node] = (
                asks,
                f"tls.mode {shown}: "
                + ("a client certificate is requested" if asks else "no client certificate is requested"),
            )
    ov.add("mapped", doc.element, "", f"terminates_tls = {'true' if ending else 'false'} on {', '.join(nodes)}")


def _gateway_nodes(ov: Overlay, doc: Doc) -> list[str]:
    """The gateway or proxy node an Istio Gateway configures: annotation, selector labels, its name, else the
    ``istio: ingressgateway`` convention (the model's only gateway). An annotation naming another kind is an error."""
    selector = as_dict(doc.spec.get("selector"))
    found = ov.named(doc, selector, (("metadata.name", doc.name),))
    if found is not None and ov.kind(found[0]) in ("gateway", "proxy"):
        return [found[0]]
    if found is not None and doc.annotation() is not None:
        raise ov.fail(
            doc.element,
            f"{found[1]} names {found[0]}, a {ov.kind(found[0])}: a Gateway configures a gateway or proxy node",
        )
    if "ingressgateway" in str(selector.get("istio", "")):
        gateways = ov.of_kind("gateway")
        edge = [g for g in gateways if any(ov.kind(p) == "client" for p in ov.predecessors(g))]
        if len(gateways) == 1:
            return gateways
        if len(edge) == 1:
            ov.add(
                "ambiguity",
                doc.element,
                "spec.selector",
                f"istio: ingressgateway and {len(gateways)} gateway "
                f"nodes: {edge[0]}, the only one clients call directly",
            )
            return edge
        ov.add(
            "ambiguity",
            doc.element,
            "spec.selector",
            f"istio: ingressgateway and {len(gateways)} gateway nodes: "
            f"not applied; annotate it with {NODE_ANNOTATION}: NODE",
        )
    ov.add("unmapped", doc.element, "spec.selector", "matches no gateway node")
    return []


def istio_operator(ov: Overlay, doc: Doc) -> None:
    """IstioOperator: the gateways' XFCC mode from meshConfig.defaultConfig.gatewayTopology."""
    spec = doc.spec
    unread(ov, doc, spec, ("meshConfig",))
    mesh = as_dict(spec.get("meshConfig"))
    unread(ov, doc, mesh, ("defaultConfig",), "spec.meshConfig.")
    default = as_dict(mesh.get("defaultConfig"))
    unread(ov, doc, default, ("gatewayTopology",), "spec.meshConfig.defaultConfig.")
    topology = as_dict(default.get("gatewayTopology"))
    where = "spec.meshConfig.defaultConfig.gatewayTopology."
    unread(ov, doc, topology, ("forwardClientCertDetails",), where)
    if "forwardClientCertDetails" in topology:
        value = envoy.mode(
            ov,
            doc.element,
            where + "forwardClientCertDetails",
            topology["forwardClientCertDetails"],
            allowed=_TOPOLOGY_MODES,
        )
        if value != "UNDEFINED":  # UNDEFINED keeps Istio's gateway default
            ov.gateway_topology = (value, doc.element)
        ov.add("mapped", doc.element, "", f"gateways' forwardClientCertDetails {value}")


def virtual_service(ov: Overlay, doc: Doc) -> None:
    """VirtualService: a URI rewrite breaks DPoP's htu, an authority rewrite the host the client signed."""
    spec = doc.spec
    unread(ov, doc, spec, ("hosts", "gateways", "http"))
    changed = False
    for i, item in enumerate(as_list(spec.get("http"))):
        route = as_dict(item)
        if "headers" in route:
            ov.add(
                "unmapped",
                doc.element,
                "spec.http[].headers",
                "header changes are not read (a removed Authorization, DPoP or XFCC header would change the route)",
            )
        rewrite = as_dict(route.get("rewrite"))
        facts = (
            [("rewrites_uri", True, "rewrite.uri: the proof's htu no longer matches")]
            if "uri" in rewrite or "uriRegexRewrite" in rewrite
            else []
        )
        if "authority" in rewrite:
            facts.append(
                ("forwards_host", False, "rewrite.authority: the host the client signed (DPoP htu) no longer matches")
            )
        for hop in _bound_hops(ov, doc) if facts else []:
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
    ov.add("mapped", doc.element, "", "rewrites applied" if changed else "no rewrite: nothing changed")


def _bound_hops(ov: Overlay, doc: Doc) -> list[str]:
    """The hops a VirtualService binds: its gateways' nodes, and for ``mesh`` the mesh hops of its hosts."""
    hops: list[str] = []
    for raw in doc.spec.get("gateways") or ["mesh"]:
        name = str(raw).rsplit("/", 1)[-1]
        if name == "mesh":
            for host in as_list(doc.spec.get("hosts")):
                found = ov.named(Doc(doc.kind, doc.element, {}), {"app": str(host).split(".", 1)[0]})
                kind = ov.kind(found[0]) if found else ""
                meshes = [found[0]] if found and kind == "mesh" else ov.mesh_in_front(found[0]) if found else []
                if not meshes:
                    ov.add("unmapped", doc.element, "spec.hosts", f"{host}: no mesh hop of that name or in front of it")
                hops += meshes
        elif name in ov.gateway_names:
            hops += ov.gateway_names[name]
        else:
            found = ov.named(Doc(doc.kind, doc.element, {}), {"app": name})
            if found and ov.kind(found[0]) in ("gateway", "proxy"):
                hops.append(found[0])
            else:
                ov.add("unmapped", doc.element, "spec.gateways", f"{raw}: no Gateway in the file, no node of that name")
    return list(dict.fromkeys(hops))
