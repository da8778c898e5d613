"""`tokensim import MESH --overlay-on MODEL`: Kubernetes/Istio/Envoy configuration sets the hop facts of a model.

The fixtures (tests/fixtures/import/mesh/) are what a team keeps in its cluster: istio.yaml configures the
built-in service_mesh model's mesh (mesh-wide STRICT mTLS, a MUTUAL ingress gateway, an EnvoyFilter that makes
the billing sidecar reset XFCC); overlaid on a copy of that model whose hop facts are wrong, it must give the
built-in model's route table back. request_auth.yaml downgrades a resource whose sidecar removes the JWT;
add_sidecar.yaml puts a resource without a sidecar into the mesh; envoy_edge.yaml is an Envoy bootstrap;
broken_ref.yaml, bad_mode.yaml and no_kind.yaml are malformed.
"""

from __future__ import annotations

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


def resource(
    kind: str, name: str, spec: dict[str, Any], api: str = "networking.istio.io/v1", **meta: Any
) -> dict[str, Any]:
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
    assert nodes["sidecar_orders"].terminates_tls and not nodes["sidecar_billing"].terminates_tls
    assert not any(f.field == "terminates_tls" for f in result.report.of("ambiguity"))
    assert not nodes["ingress"].forwards_client_cert  # SIMPLE: no client certificate is requested
    assert "tls.mode SIMPLE: no client certificate is requested" in result.text
