"""`tokensim import MESH --overlay-on MODEL`: Kubernetes/Istio/Envoy configuration sets the hop facts of a model.

The fixtures (tests/fixtures/import/mesh/) are what a team keeps in its cluster: istio.yaml configures the
built-in service_mesh model's mesh (mesh-wide STRICT mTLS, a MUTUAL ingress gateway, an EnvoyFilter that makes
the billing sidecar reset XFCC); overlaid on a copy of that model whose hop facts are wrong, it must give the
built-in model's route table back. request_auth.yaml downgrades a resource whose sidecar removes the JWT;
add_sidecar.yaml puts a resource without a sidecar into the mesh; envoy_edge.yaml is an Envoy bootstrap;
broken_ref.yaml, bad_mode.yaml and no_kind.yaml are malformed. The tests after the fixtures' build documents
inline: plain-HTTP hops (PeerAuthentication DISABLE, listeners without TLS), fields of the wrong type,
RequestAuthentication at a gateway, values the model has already, and the base model's own text and errors.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tokensim.builtin import resolve_model_path
from tokensim.errors import InputError
from tokensim.importers import ImportResult, import_model
from tokensim.importers.envoy import forwards
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.documents import read_document
from tokensim.model.routes import route_rows

MESH = Path(__file__).parent / "fixtures" / "import" / "mesh"
PARTNER = MESH / "partner.yaml"
COLUMNS = ("client", "resource", "tier", "mechanism", "status", "hop")
#: The service_mesh model with every hop's TLS and forwarding facts at the wrong value.
WRONG = {
    "ingress": {"terminates_tls": False, "forwards_client_cert": False},
    "sidecar_orders": {"terminates_tls": False, "forwards_client_cert": False},
    "sidecar_billing": {"terminates_tls": False, "forwards_client_cert": True},
    "sidecar_inventory": {"terminates_tls": False, "forwards_client_cert": False},
}


def routes(arch: Architecture, policy: str) -> list[tuple[object, ...]]:
    """The route table under a preset, as comparable rows."""
    return sorted(tuple(row[c] for c in COLUMNS) for row in route_rows(arch, policy))


def status(arch: Architecture, policy: str, resource: str) -> set[tuple[object, object]]:
    """(status, hop) of every route to ``resource`` under a preset."""
    return {(row["status"], row["hop"]) for row in route_rows(arch, policy) if row["resource"] == resource}


def service_mesh() -> dict[str, Any]:
    raw, _ = read_document(resolve_model_path("service_mesh"))
    assert isinstance(raw, dict)
    return raw


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump_all(data, sort_keys=False) if isinstance(data, list) else yaml.safe_dump(data))
    return path


@pytest.fixture
def wrong_model(tmp_path: Path) -> Path:
    raw = service_mesh()
    for name, facts in WRONG.items():
        raw["nodes"][name].update(facts)
    return write(tmp_path / "service_mesh_wrong.yaml", raw)


def test_the_wrong_variant_has_other_routes(wrong_model: Path) -> None:
    assert routes(load_model(wrong_model), "mtls") != routes(load_model("service_mesh"), "mtls")


def test_istio_overlay_reproduces_the_hand_written_service_mesh_routes(wrong_model: Path) -> None:
    result = import_model(MESH / "istio.yaml", overlay_on=wrong_model)
    for policy in ("mtls", "dpop", "hybrid"):
        assert routes(result.architecture, policy) == routes(load_model("service_mesh"), policy), policy
    nodes = result.architecture.spec.nodes
    assert nodes["ingress"].terminates_tls and nodes["ingress"].forwards_client_cert  # MUTUAL, SANITIZE_SET
    assert not nodes["sidecar_billing"].forwards_client_cert  # the EnvoyFilter's SANITIZE_SET
    assert nodes["sidecar_orders"].forwards_client_cert  # Istio's sidecar default APPEND_FORWARD
    # every changed field says which document set it and why
    assert "set by istio.yaml: EnvoyFilter/billing-xfcc forward_client_cert_details SANITIZE_SET" in result.text
    assert "set by istio.yaml: Gateway/public-gateway tls.mode MUTUAL" in result.text


def test_overlay_keeps_every_field_of_the_base_model(wrong_model: Path) -> None:
    base, _ = read_document(wrong_model)
    result = import_model(MESH / "istio.yaml", overlay_on=wrong_model)
    changed = {"terminates_tls", "forwards_client_cert"}
    for key, value in base.items():
        if key != "nodes":
            assert result.model[key] == value, key
    for name, node in base["nodes"].items():
        assert {k: v for k, v in node.items() if k not in changed} == {
            k: v for k, v in result.model["nodes"][name].items() if k not in changed
        }


def test_overlay_on_a_built_in_model_by_name() -> None:
    result = import_model(MESH / "istio.yaml", overlay_on="service_mesh")
    assert routes(result.architecture, "mtls") == routes(load_model("service_mesh"), "mtls")
    assert "overlay on built-in model service_mesh" in result.text  # the report at the top of the file
    assert result.text.startswith("# imported ")


def test_request_authentication_without_forward_original_token_downgrades_the_resource() -> None:
    result = import_model(MESH / "request_auth.yaml", overlay_on="service_mesh")
    arch = result.architecture
    assert arch.spec.nodes["orders_api"].accepts == "any"
    assert status(arch, "dpop", "orders_api") == {("downgraded", "orders_api")}
    assert arch.spec.nodes["billing_api"].accepts == "bound"  # forwardOriginalToken: true changes nothing
    assert status(arch, "dpop", "billing_api") == status(load_model("service_mesh"), "dpop", "billing_api")
    assert "forwardOriginalToken unset or false" in result.text


def test_peer_authentication_for_a_resource_without_a_sidecar_adds_one() -> None:
    result = import_model(MESH / "add_sidecar.yaml", overlay_on=PARTNER)
    model = result.model
    assert model["nodes"]["partner_api_sidecar"]["kind"] == "mesh"
    assert model["edges"] == [["partner", "edge_proxy"], ["edge_proxy", "partner_api_sidecar"],
                              ["partner_api_sidecar", "partner_api"]]  # fmt: skip
    arch = Architecture.from_dict(model)  # the model still validates
    assert status(arch, "mtls", "partner_api") == {("broken", "partner_api_sidecar")}
    assert status(arch, "dpop", "partner_api") == {("bound", "partner_api")}  # DPoP rides in HTTP
    assert "added by the overlay" in result.text


def test_envoy_bootstrap_sets_the_edge_proxy_facts(tmp_path: Path) -> None:
    result = import_model(MESH / "envoy_edge.yaml", overlay_on=PARTNER)
    edge = result.architecture.spec.nodes["edge_proxy"]
    assert edge.terminates_tls and edge.forwards_client_cert
    assert status(result.architecture, "mtls", "partner_api") == {("bound", "partner_api")}
    bootstrap, _ = read_document(MESH / "envoy_edge.yaml")
    hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    del hcm["forward_client_cert_details"]  # Envoy's default: SANITIZE
    result = import_model(write(tmp_path / "envoy.yaml", bootstrap), overlay_on=PARTNER)
    assert status(result.architecture, "mtls", "partner_api") == {("broken", "edge_proxy")}
    assert "Envoy's default" in result.text


@pytest.mark.parametrize(
    ("fixture", "unmapped"),
    [
        ("istio.yaml", {("AuthorizationPolicy/partners-only", "")}),
        (
            "request_auth.yaml",
            {
                ("RequestAuthentication/orders-jwt", "spec.jwtRules[].issuer"),
                ("RequestAuthentication/orders-jwt", "spec.jwtRules[].jwksUri"),
                ("RequestAuthentication/billing-jwt", "spec.jwtRules[].issuer"),
            },
        ),
        ("add_sidecar.yaml", {("Service/partner-api", ""), ("PeerAuthentication/partner-api", "spec.portLevelMtls")}),
        ("envoy_edge.yaml", {("EnvoyBootstrap/edge-proxy-0", "admin")}),
    ],
)
def test_report_lists_exactly_the_unmapped_documents_and_fields(fixture: str, unmapped: set[tuple[str, str]]) -> None:
    base = "service_mesh" if fixture in ("istio.yaml", "request_auth.yaml") else PARTNER
    result = import_model(MESH / fixture, overlay_on=base)
    assert result.report.unmapped_fields() == unmapped
    applied = {f.element for f in result.report.of("mapped")}
    assert all(element in applied for element, _ in unmapped if not element.startswith(("Service/", "Author")))


@pytest.mark.parametrize(
    ("fixture", "expected", "fmt"),
    [
        ("broken_ref.yaml", ("PeerAuthentication/orders", "ordrs_api", "did you mean 'orders_api'"), None),
        ("bad_mode.yaml", ("PeerAuthentication/billing", "STRICTLY", "UNSET, DISABLE, PERMISSIVE, STRICT"), None),
        ("no_kind.yaml", ("document 2 (orders-jwt)", "has no kind"), "mesh"),
    ],
)
def test_malformed_input_is_one_error_naming_the_file_and_the_document(
    fixture: str, expected: tuple[str, ...], fmt: Any
) -> None:
    with pytest.raises(InputError) as err:
        import_model(MESH / fixture, overlay_on="service_mesh", format=fmt)
    message = str(err.value)
    assert message.startswith(f"{MESH / fixture}: {expected[0]}: ") and len(err.value.problems) == 1
    assert all(part in message for part in expected)


@pytest.mark.parametrize(
    ("mode", "first", "later"),
    [
        ("SANITIZE", False, False),
        ("FORWARD_ONLY", False, True),
        ("APPEND_FORWARD", True, True),
        ("SANITIZE_SET", True, False),
        ("ALWAYS_FORWARD_ONLY", False, True),
    ],
)
def test_the_xfcc_rule(mode: str, first: bool, later: bool) -> None:
    """First TLS-terminating hop with a client certificate, and a later hop on an mTLS connection."""
    assert forwards(mode, "first", True) is first
    assert forwards(mode, "later", True) is later
    assert forwards(mode, "first", False) is False  # no certificate asked for: nothing to forward
    # no peer certificate into a later hop (plain HTTP): Envoy removes XFCC unless ALWAYS_FORWARD_ONLY
    assert forwards(mode, "later", False) is (mode == "ALWAYS_FORWARD_ONLY")


def resource(kind: str, name: str, spec: Any, api: str = "networking.istio.io/v1", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, **meta}, "spec": spec}


def overlay(tmp_path: Path, docs: list[dict[str, Any]], base: str | Path = "service_mesh") -> ImportResult:
    return import_model(write(tmp_path / "mesh.yaml", docs), overlay_on=base)


def test_a_hop_first_on_some_routes_and_later_on_others_loses_the_binding(tmp_path: Path) -> None:
    """sidecar_shared is the first TLS terminator for one client and behind a terminating proxy for the other."""
    model = {
        "name": "two-ways",
        "description": "one mesh hop reached two ways",
        "nodes": {
            "direct": {"kind": "client", "platform": "workload", "supports": ["bearer", "mtls"]},
            "via_proxy": {"kind": "client", "platform": "workload", "supports": ["bearer", "mtls"]},
            "edge": {"kind": "proxy", "terminates_tls": True, "forwards_client_cert": True},
            "sidecar_shared": {"kind": "mesh"},
            "api": {"kind": "resource"},
            "idp": {"kind": "issuer"},
        },
        "edges": [
            ["direct", "sidecar_shared"],
            ["via_proxy", "edge"],
            ["edge", "sidecar_shared"],
            ["sidecar_shared", "api"],
        ],
    }
    patch = {
        "applyTo": "NETWORK_FILTER",
        "patch": {"operation": "MERGE", "value": {"forward_client_cert_details": "APPEND_FORWARD"}},
    }
    xfcc = resource("EnvoyFilter", "shared", {"configPatches": [patch]}, "networking.istio.io/v1alpha3",
                    annotations={"tokensim.io/node": "sidecar_shared"})  # fmt: skip
    result = overlay(tmp_path, [xfcc], write(tmp_path / "model.yaml", model))
    assert result.architecture.spec.nodes["sidecar_shared"].forwards_client_cert is False
    assert any("conservative" in f.detail for f in result.report.of("ambiguity"))


def test_virtual_service_rewrites_and_gateway_topology(tmp_path: Path) -> None:
    gateway = resource("Gateway", "public-gateway", {"selector": {"istio": "ingressgateway"},
                       "servers": [{"port": {"number": 443}, "tls": {"mode": "MUTUAL"}}]})  # fmt: skip
    routes_ = resource("VirtualService", "rewrite", {"hosts": ["orders-api.orders.svc.cluster.local"],
                       "gateways": ["public-gateway", "mesh"], "http": [{"rewrite": {"uri": "/v2", "authority": "orders"}}]})  # fmt: skip
    topology = {"meshConfig": {"defaultConfig": {"gatewayTopology": {"forwardClientCertDetails": "SANITIZE"}}}}
    operator = resource("IstioOperator", "install", topology, "install.istio.io/v1alpha1")
    result = overlay(tmp_path, [gateway, routes_, operator])
    nodes = result.architecture.spec.nodes
    assert nodes["ingress"].rewrites_uri and not nodes["ingress"].forwards_host
    assert nodes["sidecar_orders"].rewrites_uri and not nodes["sidecar_orders"].forwards_host
    assert status(result.architecture, "dpop", "orders_api") == {("broken", "ingress")}
    assert not nodes["ingress"].forwards_client_cert  # gatewayTopology SANITIZE: XFCC dropped at the gateway
    assert status(result.architecture, "mtls", "orders_api") == {("broken", "ingress")}


def test_workload_policy_wins_over_the_mesh_wide_one_and_simple_gateways_forward_nothing(tmp_path: Path) -> None:
    mesh_wide = resource("PeerAuthentication", "default", {"mtls": {"mode": "STRICT"}}, "security.istio.io/v1")
    billing = resource("PeerAuthentication", "billing", {"selector": {"matchLabels": {"app": "billing-api"}},
                       "mtls": {"mode": "DISABLE"}}, "security.istio.io/v1")  # fmt: skip
    gateway = resource("Gateway", "ingress", {"servers": [{"port": {"number": 443}, "tls": {"mode": "SIMPLE"}}]})
    result = overlay(tmp_path, [billing, gateway, mesh_wide])  # order in the file does not matter
    nodes = result.architecture.spec.nodes
    # DISABLE: the billing sidecar receives plain HTTP, still an HTTP proxy that ends any binding
    assert nodes["sidecar_billing"].terminates_tls and not nodes["sidecar_billing"].forwards_client_cert
    assert nodes["sidecar_orders"].terminates_tls and nodes["sidecar_orders"].forwards_client_cert
    assert not any(f.field == "terminates_tls" for f in result.report.of("ambiguity"))
    assert not nodes["ingress"].forwards_client_cert  # SIMPLE: no client certificate is requested
    assert "tls.mode SIMPLE: no client certificate is requested" in result.text


def peer(name: str, mode: str, app: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"mtls": {"mode": mode}}
    if app is not None:
        spec["selector"] = {"matchLabels": {"app": app}}
    return resource("PeerAuthentication", name, spec, "security.istio.io/v1")


def xfcc_filter(name: str, app: str, mode: str) -> dict[str, Any]:
    patch = {"applyTo": "NETWORK_FILTER", "match": {"context": "SIDECAR_INBOUND"},
             "patch": {"operation": "MERGE", "value": {"forward_client_cert_details": mode}}}  # fmt: skip
    return resource("EnvoyFilter", name, {"workloadSelector": {"labels": {"app": app}}, "configPatches": [patch]},
                    "networking.istio.io/v1alpha3")  # fmt: skip


def test_peer_authentication_disable_keeps_a_broken_mtls_binding_broken(tmp_path: Path, wrong_model: Path) -> None:
    """DISABLE does not 'fix' mTLS: the sidecar receives plain HTTP and Envoy removes XFCC without a peer cert."""
    base = status(load_model("service_mesh"), "mtls", "billing_api")
    assert base == {("broken", "sidecar_billing")}
    result = overlay(tmp_path, [peer("billing", "DISABLE", "billing-api")])
    node = result.architecture.spec.nodes["sidecar_billing"]
    assert node.terminates_tls and not node.forwards_client_cert
    assert status(result.architecture, "mtls", "billing_api") == base
    assert any("tokensim has no plaintext hop" in f.detail for f in result.report.of("ambiguity"))
    # on the wrong variant (the sidecar passing TLS through) the overlay sets the fact, and says why
    result = import_model(
        write(tmp_path / "m.yaml", [peer("billing", "DISABLE", "billing-api")]), overlay_on=wrong_model
    )
    assert result.architecture.spec.nodes["sidecar_billing"].terminates_tls
    assert status(result.architecture, "mtls", "billing_api") == {("broken", "sidecar_billing")}
    assert "no mesh mTLS: the sidecar receives plain HTTP; only ALWAYS_FORWARD_ONLY passes XFCC on" in result.text


def test_peer_authentication_disable_with_always_forward_only_forwards(tmp_path: Path) -> None:
    docs = [
        peer("billing", "DISABLE", "billing-api"),
        xfcc_filter("billing-xfcc", "billing-api", "ALWAYS_FORWARD_ONLY"),
    ]
    result = overlay(tmp_path, docs)
    assert result.architecture.spec.nodes["sidecar_billing"].forwards_client_cert
    assert status(result.architecture, "mtls", "billing_api") == {("bound", "billing_api")}
    for mode in ("APPEND_FORWARD", "FORWARD_ONLY", "SANITIZE_SET"):  # every other mode needs a peer certificate
        docs[1] = xfcc_filter("billing-xfcc", "billing-api", mode)
        assert not overlay(tmp_path, docs).architecture.spec.nodes["sidecar_billing"].forwards_client_cert, mode


def edge_bootstrap(tls: bool, http: bool, mode: str = "SANITIZE_SET") -> dict[str, Any]:
    """envoy_edge.yaml with or without its TLS, with its HTTP connection manager or a tcp_proxy."""
    data, _ = read_document(MESH / "envoy_edge.yaml")
    chain = data["static_resources"]["listeners"][0]["filter_chains"][0]
    if not tls:
        del chain["transport_socket"]
    if http:
        chain["filters"][0]["typed_config"]["forward_client_cert_details"] = mode
    else:
        chain["filters"] = [{"name": "envoy.filters.network.tcp_proxy", "typed_config": {"cluster": "partner_api"}}]
    return dict(data)


@pytest.mark.parametrize(
    ("tls", "http", "mode", "ends", "mtls"),
    [
        (False, True, "SANITIZE_SET", True, ("broken", "edge_proxy")),  # plain HTTP: an HTTP proxy, no peer cert
        (False, True, "ALWAYS_FORWARD_ONLY", True, ("broken", "edge_proxy")),  # first hop: nothing came before it
        (False, False, "", False, ("bound", "partner_api")),  # tcp_proxy without TLS: the client's TLS passes
        (True, False, "", True, ("broken", "edge_proxy")),  # TLS ended, no HTTP layer: nothing carries XFCC
    ],
)
def test_envoy_listeners_without_tls(tmp_path: Path, tls: bool, http: bool, mode: str, ends: bool,
                                     mtls: tuple[str, str]) -> None:  # fmt: skip
    result = import_model(write(tmp_path / "envoy.yaml", edge_bootstrap(tls, http, mode)), overlay_on=PARTNER)
    assert result.architecture.spec.nodes["edge_proxy"].terminates_tls is ends
    assert status(result.architecture, "mtls", "partner_api") == {mtls}
    plaintext = any("tokensim has no plaintext hop" in f.detail for f in result.report.of("ambiguity"))
    assert plaintext is (http and not tls)


@pytest.mark.parametrize(
    ("doc", "element", "field"),
    [
        (peer("default", "STRICT") | {"spec": {"mtls": "STRICT"}}, "PeerAuthentication/default", "spec.mtls"),
        (resource("RequestAuthentication", "jwt", {"jwtRules": {"issuer": "https://idp"}}, "security.istio.io/v1"),
         "RequestAuthentication/jwt", "spec.jwtRules"),
        (resource("RequestAuthentication", "jwt", {"jwtRules": [{"issuer": "x", "forwardOriginalToken": "yes"}]},
                  "security.istio.io/v1"), "RequestAuthentication/jwt", "spec.jwtRules[0].forwardOriginalToken"),
        (resource("VirtualService", "routes", {"http": {"rewrite": {"uri": "/v2"}}}), "VirtualService/routes", "spec.http"),
        (resource("Gateway", "gw", {"servers": [{"tls": "MUTUAL"}]}), "Gateway/gw", "spec.servers[0].tls"),
        ({"node": {"id": "edge-proxy-0"}, "static_resources": "nope"}, "EnvoyBootstrap/edge-proxy-0", "static_resources"),
        (resource("EnvoyFilter", "f", {"configPatches": [{"patch": ["x"]}]}), "EnvoyFilter/f", "spec.configPatches[0].patch"),
        (resource("PeerAuthentication", "p", "STRICT"), "PeerAuthentication/p", "spec"),
    ],
)  # fmt: skip
def test_a_field_of_the_wrong_type_is_an_error_naming_file_document_and_field(
    tmp_path: Path, doc: dict[str, Any], element: str, field: str
) -> None:
    path = write(tmp_path / "mesh.yaml", [doc])
    with pytest.raises(InputError) as err:
        import_model(path, overlay_on=PARTNER if element.startswith("Envoy") else "service_mesh", format="mesh")
    assert str(err.value).startswith(f"{path}: {element}: {field}: expected ")


def test_a_malformed_mesh_file_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path / "mesh.yaml", [peer("default", "STRICT") | {"spec": {"mtls": "STRICT"}}])
    done = subprocess.run([sys.executable, "-m", "tokensim", "import", str(path), "--overlay-on", "service_mesh",
                           "--out", str(tmp_path / "out.yaml")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and "PeerAuthentication/default: spec.mtls: expected a mapping" in done.stderr


#: A gateway in front of api_a, a mesh hop in front of api_b that no route through the gateway reaches, and
#: api_c reached both through the gateway and directly.
GATEWAY_MODEL = {
    "name": "gateway-jwt",
    "description": "one gateway, three APIs",
    "nodes": {
        "caller": {"kind": "client", "platform": "workload", "supports": ["bearer", "dpop", "mtls"]},
        "edge": {"kind": "gateway", "terminates_tls": True, "forwards_client_cert": True},
        "sidecar_a": {"kind": "mesh", "forwards_client_cert": True},
        "sidecar_b": {"kind": "mesh", "forwards_client_cert": True},
        "api_a": {"kind": "resource"},
        "api_b": {"kind": "resource"},
        "api_c": {"kind": "resource"},
        "idp": {"kind": "issuer"},
    },
    "edges": [["caller", "edge"], ["edge", "sidecar_a"], ["sidecar_a", "api_a"], ["caller", "sidecar_b"],
              ["sidecar_b", "api_b"], ["edge", "api_c"], ["caller", "api_c"]],
}  # fmt: skip


def jwt(name: str, target: dict[str, Any], **rule: Any) -> dict[str, Any]:
    return resource("RequestAuthentication", name, {**target, "jwtRules": [{"issuer": "https://idp", **rule}]},
                    "security.istio.io/v1")  # fmt: skip


def test_request_authentication_at_a_gateway_downgrades_what_is_behind_it_only(tmp_path: Path) -> None:
    base = write(tmp_path / "model.yaml", GATEWAY_MODEL)
    ref = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}
    service = {"kind": "Service", "name": "api-b"}
    result = overlay(tmp_path, [jwt("edge-jwt", {"targetRefs": [ref, service]})], base)
    nodes = result.architecture.spec.nodes
    assert nodes["api_a"].accepts == "any" and nodes["api_c"].accepts == "any"
    assert nodes["api_b"].accepts == "bound"  # not behind the gateway: its own sidecar is not configured
    assert ("RequestAuthentication/edge-jwt", "spec.targetRefs") in result.report.unmapped_fields()  # the Service
    bypass = [f for f in result.report.of("ambiguity") if f.field == "accepts"]
    assert len(bypass) == 1 and "api_c is also reached by routes that bypass edge" in bypass[0].detail
    assert "the gateway edge validates the JWT and removes it" in result.text
    # targetRef (singular) reads the same; forwardOriginalToken: true changes nothing
    single = overlay(tmp_path, [jwt("edge-jwt", {"targetRef": ref})], base).architecture.spec.nodes
    assert single["api_a"].accepts == "any" and single["api_b"].accepts == "bound"
    kept = overlay(tmp_path, [jwt("edge-jwt", {"targetRef": ref}, forwardOriginalToken=True)], base)
    assert all(kept.architecture.spec.nodes[r].accepts == "bound" for r in ("api_a", "api_b", "api_c"))


def test_request_authentication_on_the_ingress_gateway_by_labels(tmp_path: Path) -> None:
    result = overlay(tmp_path, [jwt("ingress-jwt", {"selector": {"matchLabels": {"istio": "ingressgateway"}}})])
    arch = result.architecture
    assert arch.spec.nodes["orders_api"].accepts == "any" and arch.spec.nodes["billing_api"].accepts == "any"
    assert status(arch, "dpop", "orders_api") == {("downgraded", "orders_api")}
    assert not result.report.unmapped_fields() - {("RequestAuthentication/ingress-jwt", "spec.jwtRules[].issuer")}


def test_request_authentication_says_dpop_is_the_conservative_reading_unless_it_reads_the_dpop_scheme(
    tmp_path: Path,
) -> None:
    def dpop_ambiguity(result: ImportResult) -> bool:
        return any("conservative reading for DPoP" in f.detail for f in result.report.of("ambiguity"))

    orders = {"selector": {"matchLabels": {"app": "orders-api"}}}
    assert dpop_ambiguity(import_model(MESH / "request_auth.yaml", overlay_on="service_mesh"))
    headers = [{"name": "Authorization", "prefix": "Bearer "}, {"name": "Authorization", "prefix": "DPoP "}]
    result = overlay(tmp_path, [jwt("orders-jwt", orders, fromHeaders=headers)])
    assert result.architecture.spec.nodes["orders_api"].accepts == "any" and not dpop_ambiguity(result)
    assert not any("no `Authorization: Bearer`" in f.detail for f in result.report.of("ambiguity"))
    only_dpop = overlay(tmp_path, [jwt("orders-jwt", orders, fromHeaders=headers[1:])])
    assert any("no `Authorization: Bearer`" in f.detail for f in only_dpop.report.of("ambiguity"))


def test_values_the_model_has_already_get_no_comment(wrong_model: Path) -> None:
    result = import_model(MESH / "istio.yaml", overlay_on="service_mesh")
    assert "set by" not in result.text  # the built-in model has every value already
    assert any("confirmed by Gateway/public-gateway" in f.detail for f in result.report.of("mapped"))
    changed = import_model(MESH / "istio.yaml", overlay_on=wrong_model)
    ingress = changed.text.split("  ingress:", 1)[1].split("\n  sidecar_orders:", 1)[0]
    assert "set by istio.yaml" in ingress.split("terminates_tls:", 1)[1].split("\n", 1)[0]
    assert "set by" not in ingress.split("rewrites_uri:", 1)[1].split("\n", 1)[0]  # not changed


def test_a_file_that_applies_to_no_node_is_an_error(tmp_path: Path) -> None:
    docs = [peer("nobody", "STRICT", "no-such-app"), resource("Service", "x", {}, "v1")]
    with pytest.raises(InputError) as err:
        overlay(tmp_path, docs)
    message = str(err.value)
    assert "no document of mesh.yaml applies to a node of built-in model service_mesh: " in message
    assert "PeerAuthentication/nobody (selector: {matchLabels: {app: no-such-app}}: no node)" in message
    assert "Service/x (kind Service: not read)" in message


def test_the_base_model_keeps_its_comments_and_its_errors_name_it(tmp_path: Path) -> None:
    result = import_model(MESH / "istio.yaml", overlay_on="service_mesh")
    assert "# assumption: 40 replicas of the calling service" in result.text
    text = PARTNER.read_text().replace(
        "    sensitivity: 3\n", "    sensitivity: 3                  # assumed, set me (docs/parameters.md)\n"
    )
    marked = tmp_path / "partner.yaml"
    marked.write_text(text)
    result = import_model(MESH / "envoy_edge.yaml", overlay_on=marked)
    assert "# assumed, set me (docs/parameters.md)" in result.text
    assert "# a TCP load balancer: TLS passes through to the API" not in result.text  # the changed value's own
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("sensitivity: 3", "sensitivity: -3"))
    with pytest.raises(InputError) as err:
        import_model(MESH / "envoy_edge.yaml", overlay_on=broken)
    assert err.value.source == str(broken)


def test_a_gateway_server_without_tls_is_an_http_proxy_without_a_peer_certificate(tmp_path: Path) -> None:
    http = resource("Gateway", "ingress", {"servers": [{"port": {"number": 80, "protocol": "HTTP"}}]})
    result = overlay(tmp_path, [http])
    ingress = result.architecture.spec.nodes["ingress"]
    assert ingress.terminates_tls and not ingress.forwards_client_cert
    assert any("tokensim has no plaintext hop" in f.detail for f in result.report.of("ambiguity"))
    tcp = resource("Gateway", "ingress", {"servers": [{"port": {"number": 443, "protocol": "TCP"}}]})
    assert not overlay(tmp_path, [tcp]).architecture.spec.nodes["ingress"].terminates_tls  # bytes pass through
    redirect = resource(
        "Gateway", "ingress", {"servers": [{"port": {"protocol": "HTTP"}, "tls": {"httpsRedirect": True}}]}
    )
    assert ("Gateway/ingress", "spec.servers") in overlay(tmp_path, [redirect]).report.unmapped_fields()
