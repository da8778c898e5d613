"""`tokensim import` of an Open Threat Model (OTM) file, `tokensim export --format otm`, and the way back.

The fixture (tests/fixtures/import/shop.otm.yaml, and the same document as shop.otm.json) is the web shop of
shop.threagile.yaml as a team would keep it in OTM: the TLS pairs are stated by the dataflows'
``attributes.protocol`` and the partner's allow-list by ``attributes.ip_filtered`` (tokensim's convention for
OTM, docs/import.md), so that the import must reach tests/fixtures/import/shop.yaml through the mapping.
The round trip exports every built-in model to OTM and imports it back.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tokensim.builtin import builtin_models
from tokensim.errors import InputError
from tokensim.importers import build, import_model, otm, roles
from tokensim.importers.export import TYPES, to_otm
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.routes import route_rows

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SHOP = FIXTURES / "shop.yaml"
OTM_JSON = FIXTURES / "shop.otm.json"
OTM_YAML = FIXTURES / "shop.otm.yaml"
ROUTE_COLUMNS = ("client", "resource", "tier", "mechanism", "status", "hop", "path")
POLICIES = ("bearer", "dpop", "mtls", "hybrid")


def tokensim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tokensim", *args], capture_output=True, text=True)


def routes(arch: Architecture, policy: str) -> list[tuple[object, ...]]:
    """The route table of a model under a preset, as comparable rows."""
    return sorted(tuple(row[c] for c in ROUTE_COLUMNS) for row in route_rows(arch, policy))


def shop_document() -> dict[str, Any]:
    return yaml.safe_load(OTM_YAML.read_text())  # type: ignore[no-any-return]


def test_the_json_and_yaml_fixtures_hold_the_same_document():
    assert json.loads(OTM_JSON.read_text()) == shop_document()


@pytest.mark.parametrize("fixture", [OTM_JSON, OTM_YAML], ids=["json", "yaml"])
def test_otm_import_gives_the_hand_written_model_nodes_edges_and_routes(fixture):
    result = import_model(fixture)
    assert result.report.format == "OTM"
    imported, hand_written = result.architecture, load_model(SHOP)
    kinds = {name: node.kind for name, node in imported.spec.nodes.items()}
    assert kinds == {name: node.kind for name, node in hand_written.spec.nodes.items()}
    assert sorted(map(tuple, imported.spec.edges)) == sorted(map(tuple, hand_written.spec.edges))
    for policy in POLICIES:
        assert routes(imported, policy) == routes(hand_written, policy), policy
    nodes = imported.spec.nodes
    assert nodes["edge_load_balancer"].terminates_tls and nodes["api_gateway"].terminates_tls  # attributes.protocol
    assert nodes["billing_api"].network_allow_list  # attributes.ip_filtered on the partner's only dataflow
    assert nodes["billing_api"].privileged_fraction == 0.0  # readonly on every dataflow into it
    assert (nodes["orders_api"].sensitivity, nodes["orders_api"].records) == (5.0, 100_000)  # 70: confidential
    assert (nodes["billing_api"].sensitivity, nodes["billing_api"].records) == (8.0, 1_000)  # 90: strictly
    assert nodes["partner_backend"].auth == "tls_client_auth" and nodes["shop_spa"].grants == ["authorization_code"]
    # stated in the source: tokensim:FIELD=VALUE tags on the SPA, attributes.tokensim on the partner's backend
    assert (nodes["shop_spa"].instances, nodes["shop_spa"].request_rate, nodes["partner_backend"].instances) == (
        5000,
        120.0,
        20,
    )


def test_the_report_lists_exactly_the_unmapped_fields_of_the_fixture():
    report = import_model(OTM_YAML).report
    expected = {("model", key) for key in ("representations", "trustZones", "threats", "mitigations")}
    expected |= {("project", key) for key in ("id", "owner", "ownerContact", "attributes.cmdbId")}
    for asset in ("Customer Orders", "Invoices"):
        expected |= {(f"assets.{asset}", key) for key in ("description", "risk.integrity", "risk.availability")}
    expected |= {("assets.Customer Orders", "risk.comment")}
    expected |= {("components.Shop SPA", "tags"), ("components.Orders DB", "tags")}  # external, postgres
    expected |= {("components.Edge Load Balancer", "representations")}
    expected |= {("components.Orders API", "threats"), ("components.Orders API", "attributes.team")}
    for flow in ("Orders Traffic", "Sign In", "Billing Calls", "To Orders", "To Billing", "Orders DB"):
        expected.add((f"dataflows.{flow}", "description"))
    # a token request and a data store query: no route (build.py), and the link fields they state (otm.py)
    expected |= {("dataflows.Sign In", ""), ("dataflows.Orders DB", "")}
    expected |= {("dataflows.Sign In", "attributes"), ("dataflows.Orders DB", "tags")}
    assert report.unmapped_fields() == expected
    details = {(f.element, f.field): f.detail for f in report.of("unmapped")}
    assert details[("dataflows.Sign In", "attributes")] == (
        "a token request, not a route: its link fields are not mapped (protocol); its authentication is read for "
        "the caller"
    )
    assert details[("dataflows.Orders DB", "tags")] == (
        "a data store query, not a route: its link fields are not mapped (protocol, authentication, authorization)"
    )
    ambiguities = {(f.element, f.field) for f in report.of("ambiguity")}
    assert ("dataflows.Sign In", "bidirectional") in ambiguities


def _flow_document(**flow: Any) -> dict[str, Any]:
    """A client calling an API through a proxy: the first dataflow with ``flow``'s fields, the second plain http."""
    zone = {"trustZone": "z"}
    return {
        "otmVersion": "0.1.0",
        "project": {"name": "p", "id": "p", "attributes": None},
        "trustZones": [{"id": "z", "name": "Z", "risk": {"trustRating": 50}}],
        "components": [
            {"id": "app", "name": "App", "type": "web-client", "parent": zone, "tags": None, "attributes": None},
            {"id": "lb", "name": "LB", "type": "load-balancer", "parent": zone, "assets": None},
            {"id": "api", "name": "API", "type": "web-service", "parent": zone},
        ],
        "dataflows": [
            {"id": "f1", "name": "F1", "source": "app", "destination": "lb", **flow},
            {"id": "f2", "name": "F2", "source": "lb", "destination": "api", "attributes": {"protocol": "http"}},
        ],
        "assets": None,
        "threats": None,
    }


def test_without_attributes_dataflow_tags_state_the_link_fields():
    tags = ["HTTPS", "token", "enduser-identity-propagation", "ip-filtered", "read-only", "sensitive"]
    inventory = otm.read(_flow_document(tags=tags), "t.otm.yaml")
    link = inventory.links[0]
    assert (link.protocol, link.encrypted, link.authentication, link.delegated) == ("https", True, "token", True)
    assert link.filtered and link.readonly
    # "sensitive" only among the tags; the null fields state nothing
    assert inventory.report.unmapped_fields() == {("dataflows.F1", "tags"), ("model", "trustZones"), ("project", "id")}
    stated = otm.read(_flow_document(tags=["http"], attributes={"protocol": "https", "vpn": "true"}), "t")
    assert (stated.links[0].protocol, stated.links[0].filtered) == ("https", True)  # the attribute decides
    assert ("dataflows.F1", "tags") in {(f.element, f.field) for f in stated.report.of("ambiguity")}
    unknown = otm.read(_flow_document(attributes={"protocol": "quic"}), "t")
    assert (
        unknown.links[0].encrypted is None
        and ("dataflows.F1", "attributes.protocol") in unknown.report.unmapped_fields()
    )


def test_a_dataflow_from_a_component_to_itself_is_reported_not_linked():
    document = _flow_document()
    document["dataflows"].append({"id": "f3", "name": "F3", "source": "api", "destination": "api"})
    inventory = otm.read(document, "t")
    # the reader states the link as the file does; build.py reports and drops it, as for every format
    assert [(link.source, link.target) for link in inventory.links] == [("app", "lb"), ("lb", "api"), ("api", "api")]
    draft = build.build(inventory)
    assert draft.model["edges"] == [["app", "lb"], ["lb", "api"]]
    assert [(f.field, f.detail) for f in draft.report.of("unmapped") if f.element == "dataflows.F3"] == [
        ("", "a link from an element to itself: no route")
    ]


def _typed(*names: str, kind: str = "web-service") -> dict[str, Any]:
    """A web client calling, in a chain, components of type ``kind`` named ``names``; the last holds card data."""
    document = _flow_document()
    zone = {"trustZone": "z"}
    document["components"] = [document["components"][0]] + [
        {"id": f"c{i}", "name": name, "type": kind, "parent": zone} for i, name in enumerate(names)
    ]
    document["components"][-1]["assets"] = {"stored": ["cards"]}
    document["assets"] = [
        {"id": "cards", "name": "Cards", "risk": {"confidentiality": 90, "integrity": 50, "availability": 50}}
    ]
    ends = ["app", *(f"c{i}" for i in range(len(names)))]
    document["dataflows"] = [
        {"id": f"f{i}", "name": f"F{i}", "source": a, "destination": b, "attributes": {"protocol": "https"}}
        for i, (a, b) in enumerate(itertools.pairwise(ends))
    ]
    return document


@pytest.mark.parametrize("name", ["Payment Gateway", "Document Storage Service", "Mobile Backend"])
def test_the_type_decides_the_role_before_the_name(tmp_path, name):
    inventory = otm.read(_typed(name), "t")
    (element,) = [e for e in inventory.elements.values() if e.name == name]
    assert (element.role, element.role_from) == ("api", "type: web-service")
    assert not inventory.report.of("ambiguity")
    path = tmp_path / "t.otm.json"
    path.write_text(json.dumps(_typed(name)))
    (resource,) = [n for n in import_model(path).architecture.spec.nodes.values() if n.kind == "resource"]
    assert resource.sensitivity == 8.0  # the card data stays with its API: neither pruned nor a client


def test_a_type_without_a_keyword_leaves_the_role_to_the_name_with_an_ambiguity():
    inventory = otm.read(_typed("Payment Gateway", "Payments", kind="generic-component"), "t")
    gateway = inventory.elements["c0"]
    assert (gateway.role, gateway.role_from) == ("gateway", "name: Payment Gateway")
    assert inventory.elements["c1"].role == "unknown"
    (finding,) = inventory.report.of("ambiguity")
    assert (finding.element, finding.field) == ("components.Payment Gateway", "name")
    assert "role from its name: 'gateway'" in finding.detail and "tokensim-role tag settles it" in finding.detail


def test_names_and_ids_yaml_reads_as_numbers_or_booleans_are_text(tmp_path):
    text = OTM_YAML.read_text().replace("name: Orders API", "name: 2024").replace("name: Shop SPA", "name: true")
    text = text.replace("id: keycloak", "id: 7").replace("destination: keycloak", "destination: 7")
    text = text.replace("cmdbId: SHOP-42", "cmdbId: SHOP-42\n    42: answer")
    path = tmp_path / "numbers.otm.yaml"
    path.write_text(text)
    result = import_model(path)
    assert {"n_2024", "true", "keycloak"} <= set(result.architecture.spec.nodes)
    assert ("project", "attributes.42") in result.report.unmapped_fields()


def test_a_dataflow_into_a_data_store_reports_its_link_fields_once():
    document = _flow_document(attributes={"protocol": "https", "readonly": True}, tags=["vpn"])
    document["components"][1]["type"] = "database"
    findings = [f for f in otm.read(document, "t").report.of("unmapped") if f.element == "dataflows.F1"]
    assert [(f.field, f.detail) for f in findings] == [
        ("attributes", "a data store query, not a route: its link fields are not mapped (protocol, readonly, vpn)")
    ]


def test_confidentiality_ratings_map_to_levels_by_fifths():
    levels = [otm.confidentiality_level(r) for r in (0, 19.9, 20, 39, 40, 59, 60, 79, 80, 100)]
    assert levels == ["public", "public", "internal", "internal", "restricted", "restricted"] + [
        "confidential",
        "confidential",
        "strictly-confidential",
        "strictly-confidential",
    ]


def _component(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in data["components"] if c["name"] == name)


def _cycle(data: dict[str, Any]) -> None:
    _component(data, "Orders API")["parent"] = {"component": "billing-api"}
    _component(data, "Billing API")["parent"] = {"component": "orders-api"}


def _duplicate(data: dict[str, Any]) -> None:
    worker = {"id": "orders-api", "name": "Orders Worker", "type": "workload", "parent": {"trustZone": "cloud-vpc"}}
    data["components"].append(worker)


@pytest.mark.parametrize(
    ("edit", "where", "what"),
    [
        (lambda d: d["dataflows"][2].update(destination="payments-api"), "dataflows[2].destination", "payments-api"),
        (_cycle, "components[4].parent.component", "a cycle of parents"),
        (_duplicate, "components[8].id", "is also components[4]'s (Orders API)"),
        (lambda d: _component(d, "Shop SPA").pop("type"), "components[0]", "'type' is required by the format"),
        (lambda d: _component(d, "Keycloak").update(parent={"trustZone": "dmz"}), "components[7].parent", "'dmz'"),
        (lambda d: d["dataflows"][0].update(assets=["gold"]), "dataflows[0].assets", "no asset has id 'gold'"),
        (lambda d: _component(d, "Orders API").update(tags=["tokensim-role:wizard"]), "components[4].tags", "wizard"),
        (
            lambda d: _component(d, "Orders API").update(tags=["tokensim-role:api", "tokensim-role:gateway"]),
            "components[4].tags",
            "name 2 roles (api, gateway)",
        ),
        (lambda d: d["dataflows"][0]["attributes"].update(authentication="oauth"), "authentication", "token"),
    ],
    ids=[
        "unknown-destination",
        "parent-cycle",
        "duplicate-id",
        "no-type",
        "unknown-zone",
        "unknown-asset",
        "role",
        "two-roles",
        "authentication",
    ],
)
def test_bad_otm_input_gets_one_message_naming_the_file_and_the_element(tmp_path, edit, where, what):
    data = shop_document()
    edit(data)
    path = tmp_path / "bad.otm.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        import_model(path)
    assert len(err.value.problems) == 1, err.value.problems
    message = str(err.value)
    assert message.startswith(str(path)) and where in message and what in message
    done = tokensim("import", str(path), "--out", str(tmp_path / "m.yaml"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and where in done.stderr
    assert not (tmp_path / "m.yaml").exists()


def _round_trip(
    model: str | Architecture, tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None
) -> Architecture:
    """``model`` exported to OTM (edited by ``edit``), written as JSON and imported back."""
    document = to_otm(load_model(model) if isinstance(model, str) else model)
    if edit is not None:
        edit(document)
    path = tmp_path / "exported.otm.json"
    path.write_text(json.dumps(document, indent=2))
    return import_model(path).architecture


@pytest.mark.parametrize("name", list(builtin_models()))
def test_every_builtin_model_exported_to_otm_and_imported_back_gives_the_same_routes(tmp_path, name):
    original = load_model(name)
    back = _round_trip(name, tmp_path)
    assert list(back.spec.nodes) == list(original.spec.nodes)
    assert routes(back, "hybrid") == routes(original, "hybrid")
    # more than the routes: exported again, every component, dataflow and asset is the same (fields, units)
    first, again = to_otm(original), to_otm(back)
    for key in ("components", "dataflows", "assets"):
        assert again[key] == first[key], key


@pytest.mark.parametrize("name", list(builtin_models()))
def test_the_dataflow_attributes_alone_give_the_hops_allow_lists_and_certificates(tmp_path, name):
    """Without attributes.tokensim the mapping decides: the exported protocols, filters and authentications
    must lead it to each hop's TLS termination, each allow-list and each certificate-bound client."""
    original = load_model(name)

    def strip(document: dict[str, Any]) -> None:
        for component in document["components"]:
            del component["attributes"]

    nodes = _round_trip(name, tmp_path, strip).spec.nodes
    assert list(nodes) == list(original.spec.nodes)
    for node_name, node in original.spec.nodes.items():
        if node.kind in ("proxy", "gateway", "mesh"):
            assert nodes[node_name].terminates_tls == node.terminates_tls, node_name
        elif node.kind == "resource":
            assert nodes[node_name].network_allow_list == node.network_allow_list, node_name
            assert (nodes[node_name].privileged_fraction == 0) == (node.privileged_fraction == 0), node_name
        elif node.kind == "client":
            assert (nodes[node_name].auth == "tls_client_auth") == (node.authentication == "tls_client_auth")
            assert (nodes[node_name].credential == "static_key") == (node.credential == "static_key")


def test_the_round_trip_keeps_the_attacker_defender_and_loss_sections(tmp_path):
    data = yaml.safe_load(builtin_models()["service_mesh"].read_text())  # an attacker and defender of its own
    data["loss"] = {"per_record": 2.5, "per_incident": 40_000, "currency": "EUR"}
    original = Architecture.from_dict(data)
    back = _round_trip(original, tmp_path)
    assert (back.spec.attacker, back.spec.defender, back.spec.loss) == (
        original.spec.attacker,
        original.spec.defender,
        original.spec.loss,
    )


@pytest.mark.parametrize(
    "role",
    list(TYPES),
)
def test_each_exported_type_maps_back_to_its_role_by_keyword(role):
    found = roles.by_keyword(TYPES[role])
    assert found is not None and found[0] == role


def test_the_export_states_protocol_pairs_and_authentication_on_each_dataflow():
    flows = {
        (f["source"], f["destination"]): f["attributes"] for f in to_otm(load_model("spa_behind_proxy"))["dataflows"]
    }
    arch = load_model("spa_behind_proxy")
    for (source, target), attributes in flows.items():
        if arch.node(target).kind == "proxy" and arch.node(target).terminates_tls:
            assert attributes["protocol"] == "https"
        if arch.node(source).kind == "proxy" and arch.node(source).terminates_tls:
            assert attributes["protocol"] == "http"
        assert attributes["authentication"] in ("token", "client-certificate", "credentials", "session-id")
    passthrough = Architecture.from_dict(
        {
            "name": "t",
            "nodes": {
                "app": {"kind": "client", "platform": "workload", "auth": "tls_client_auth"},
                "lb": {"kind": "proxy", "terminates_tls": False},
                "api": {"kind": "resource"},
            },
            "edges": [["app", "lb"], ["lb", "api"]],
        }
    )
    document = to_otm(passthrough)
    assert [f["attributes"]["protocol"] for f in document["dataflows"]] == ["binary-encrypted", "binary-encrypted"]
    assert document["dataflows"][0]["attributes"]["authentication"] == "client-certificate"
    assert document["dataflows"][0]["attributes"]["authorization"] == "technical-user"
    component = document["components"][0]
    assert component["tags"] == ["tokensim-role:workload"] and component["parent"] == {"trustZone": "internet"}
    assert component["attributes"]["tokensim"]["request_rate"] == "60/h"  # units, as a model file writes them


def test_cli_export_writes_otm_that_import_reads_back(tmp_path):
    out = tmp_path / "spa.otm.yaml"
    done = tokensim("export", "spa_behind_proxy", "--format", "otm", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(out.read_text())["otmVersion"] == "0.2.0"
    back = tokensim("import", str(out), "--out", str(tmp_path / "spa.yaml"))
    assert back.returncode == 0, back.stderr
    assert routes(load_model(tmp_path / "spa.yaml"), "hybrid") == routes(load_model("spa_behind_proxy"), "hybrid")
    assert (
        to_otm(load_model(tmp_path / "spa.yaml"))["components"] == to_otm(load_model("spa_behind_proxy"))["components"]
    )
