"""`tokensim import` of a CycloneDX BOM with services (tokensim/importers/cyclonedx.py, docs/import.md).

The fixture (tests/fixtures/import/shop.cdx.json) is the web shop of shop.threagile.yaml as a CycloneDX 1.6
SaaSBOM; tests/fixtures/import/shop.yaml is the same shop written by hand. The import must give the same
nodes, edges and route table, and its report must list exactly the fields that did not map. Bad BOMs
(bad_*.cdx.json, or written here) are one `InputError` naming the file and the element.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tokensim.api import replicate
from tokensim.errors import InputError
from tokensim.importers import cyclonedx, import_model
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.routes import route_rows

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SHOP = FIXTURES / "shop.yaml"
BOM = FIXTURES / "shop.cdx.json"
ROUTE_COLUMNS = ("client", "resource", "tier", "mechanism", "status", "hop", "path")


def routes(arch: Architecture, policy: str) -> list[tuple[object, ...]]:
    """The route table of a model under a preset, as comparable rows."""
    return sorted(tuple(row[c] for c in ROUTE_COLUMNS) for row in route_rows(arch, policy))


def shop() -> dict[str, Any]:
    return json.loads(BOM.read_text())  # type: ignore[no-any-return]


def written(tmp_path: Path, bom: dict[str, Any], name: str = "bom.cdx.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bom))
    return path


def minimal(**services: Any) -> dict[str, Any]:
    """A BOM of one mobile app and one API it calls, with ``services`` fields added to the API."""
    api = {"bom-ref": "orders-api", "name": "Orders API", "endpoints": ["https://api.example.com/v1"]}
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "application", "bom-ref": "app", "name": "Mobile App"}],
        "services": [{**api, "authenticated": True, **services}],
        "dependencies": [{"ref": "app", "dependsOn": ["orders-api"]}],
    }


def test_the_fixture_passes_the_cyclonedx_1_6_schema():
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(BOM.read_text()) is None


def test_cyclonedx_import_gives_the_hand_written_model_nodes_edges_and_routes():
    result = import_model(BOM)
    imported, hand_written = result.architecture, load_model(SHOP)
    assert result.report.format == "CycloneDX" and result.model["name"] == "web-shop"  # metadata.component.name
    assert {n: x.kind for n, x in imported.spec.nodes.items()} == {
        n: x.kind for n, x in hand_written.spec.nodes.items()
    }
    assert sorted(map(tuple, imported.spec.edges)) == sorted(map(tuple, hand_written.spec.edges))
    for policy in ("bearer", "dpop", "mtls", "hybrid"):
        assert routes(imported, policy) == routes(hand_written, policy), policy
    nodes = imported.spec.nodes
    assert nodes["edge_load_balancer"].terminates_tls  # https endpoint in, the orders API's http endpoint out
    assert nodes["api_gateway"].terminates_tls  # https on both sides: re-encrypts (an ambiguity, reported)
    assert nodes["billing_api"].network_allow_list  # tokensim:ip_filtered on the gateway, the only way in
    assert nodes["orders_api"].sensitivity == 5.0 and nodes["billing_api"].sensitivity == 8.0  # PII, PCI
    assert nodes["orders_api"].records == 100_000 and nodes["billing_api"].records == 1000  # tokensim:records
    assert nodes["billing_api"].privileged_fraction == 0.0  # tokensim:readonly
    assert nodes["partner_backend"].auth == "tls_client_auth"  # tokensim:authentication client-certificate
    assert nodes["shop_spa"].grants == ["authorization_code"] and nodes["shop_spa"].instances == 5000
    assert nodes["partner_backend"].grants == ["client_credentials"] and nodes["partner_backend"].instances == 20


def test_data_flows_that_follow_the_dependencies_add_no_shortcut():
    # Orders API's data comes from the SPA (through the load balancer); Billing API's invoices go to the
    # partner (the response of its call): neither adds an edge the dependencies do not have
    result = import_model(BOM)
    edges = result.architecture.spec.edges
    assert ["shop_spa", "orders_api"] not in edges and ["billing_api", "partner_backend"] not in edges
    joined = {f.element: f.detail for f in result.report.of("mapped") if "data[0]" in f.element}
    assert set(joined) == {
        "services.Orders API.data[0].source[0]",
        "services.Orders API.data[0].destination[0]",
        "services.Billing API.data[0].destination[0]",
    }
    assert joined["services.Orders API.data[0].source[0]"] == (
        "no link added: a route already joins components.Shop SPA and services.Orders API "
        "(a response returns along its request's route)"
    )


def test_the_report_lists_exactly_the_unmapped_fields_of_the_fixture():
    report = import_model(BOM).report
    zones = {(f"services.{s}", "trustZone") for s in ("Edge Load Balancer", "API Gateway", "Orders API")}
    zones |= {(f"services.{s}", "trustZone") for s in ("Billing API", "Orders Database", "Keycloak")}
    expected = zones | {
        ("metadata", "timestamp"),
        ("metadata", "authors"),
        ("metadata.component", "dependencies"),  # the root lists the system's parts: not calls
        ("components", "type"),  # react and spring-boot: code, one finding for the BOM
        ("components.Shop SPA", "version"),
        ("components.Partner Backend", "supplier"),
        ("services.Edge Load Balancer", "x-trust-boundary"),
        ("services.API Gateway", "x-trust-boundary"),
        ("services.API Gateway", "provider"),
        ("services.Orders API", "version"),
        ("services.Orders API.data[0]", "flow"),
        ("services.Orders API.data[0]", "description"),
        ("services.Billing API", "properties.cost-center"),
        ("services.Billing API.data[0]", "flow"),
        ("services.Billing API.data[0]", "description"),
        ("services.Billing API.data[0]", "governance"),
        ("services.Orders Database.data[0]", "flow"),
        ("services.Orders Database", "endpoints"),  # postgresql: neither TLS nor plain to tokensim
        ("services.Keycloak", "version"),
    }
    # the token request to Keycloak and the orders database query: no routes (build.py reports them)
    expected |= {("components.Shop SPA dependsOn Keycloak", ""), ("services.Orders API dependsOn Orders Database", "")}
    assert report.unmapped_fields() == expected
    code = [f for f in report.of("unmapped") if f.field == "type"]
    assert len(code) == 1 and "react (library)" in code[0].detail and "spring-boot (framework)" in code[0].detail


def test_the_import_runs_end_to_end():
    result = import_model(BOM)
    assert "# assumed, set me" in result.text and result.text.startswith("# imported")
    frame = replicate(result.architecture, ["bearer", "dpop"], replications=1, horizon="7d")
    assert set(frame["policy"]) == {"bearer", "dpop"}


@pytest.mark.parametrize(
    ("fixture", "where", "words"),
    [
        ("bad_unknown_ref", "dependencies[0].dependsOn", ["components.Web App", "'billing-api'"]),
        ("bad_duplicate_ref", "services[1].bom-ref", ["services.Billing API", "services.Orders API", "'orders-api'"]),
        ("bad_schema", "services[0].authenticated", ["'yes'", "boolean"]),
        ("bad_no_services", "services", ["no services"]),
    ],
)
def test_a_malformed_bom_is_one_error_naming_the_file_and_the_element(fixture, where, words):
    path = FIXTURES / f"{fixture}.cdx.json"
    with pytest.raises(InputError) as caught:
        import_model(path)
    assert len(caught.value.problems) == 1
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}: ")
    assert all(word in message for word in words), message


def test_a_data_flow_naming_no_bom_ref_is_an_error(tmp_path):
    bom = minimal(data=[{"flow": "inbound", "classification": "PII", "source": ["ghost"]}])
    with pytest.raises(InputError, match=r"services\.Orders API\.data\[0\]\.source\[0\]: .*'ghost'"):
        import_model(written(tmp_path, bom))


@pytest.mark.parametrize(
    ("version", "accepted"), [("1.4", False), ("1.5", True), ("1.6", True), ("1.7", True), ("2.0", False)]
)
def test_spec_versions_1_5_to_1_7_are_read_and_others_refused(tmp_path, version, accepted):
    bom = {**minimal(), "specVersion": version}
    if accepted:
        assert import_model(written(tmp_path, bom)).architecture.spec.nodes["orders_api"].kind == "resource"
    else:
        with pytest.raises(InputError, match=r"specVersion: CycloneDX '.*' is not read: .*1\.5, 1\.6, 1\.7"):
            import_model(written(tmp_path, bom))


def test_a_data_flow_adds_the_link_no_dependency_states(tmp_path):
    bom = minimal(data=[{"flow": "inbound", "classification": "confidential", "source": ["app"]}])
    bom["dependencies"] = []
    result = import_model(written(tmp_path, bom))
    assert result.architecture.spec.edges == [["mobile_app", "orders_api"]]
    assert result.architecture.spec.nodes["mobile_app"].platform == "mobile"  # "mobile" in its name
    # a BOM-Link into this BOM names an element as its bom-ref does; a BOM-Link to another BOM is reported
    serial = "3e671687-395b-41f5-a30f-a58921a69b79"
    bom["serialNumber"] = f"urn:uuid:{serial}"
    for link, expected in ((f"urn:cdx:{serial}/1#app", [("app", "orders-api")]), ("urn:cdx:other/1#app", [])):
        bom["services"][0]["data"][0]["source"] = [link]
        inventory = cyclonedx.read(bom, "bom.json")
        assert [(k.source, k.target) for k in inventory.links] == expected
    other = [f for f in inventory.report.of("unmapped") if f.element == "services.Orders API.data[0].source[0]"]
    assert len(other) == 1 and "another BOM" in other[0].detail


def test_a_data_flow_url_names_the_service_whose_endpoint_it_begins_with():
    bom = minimal(
        data=[{"flow": "outbound", "classification": "PCI", "destination": ["https://billing.example.com/v2/x"]}]
    )
    bom["services"].append(
        {"bom-ref": "billing", "name": "Billing API", "endpoints": ["https://billing.example.com/v2"]}
    )
    inventory = cyclonedx.read(bom, "bom.json")
    assert [(k.source, k.target) for k in inventory.links] == [("app", "orders-api"), ("orders-api", "billing")]
    for outside in ("https://elsewhere.example.com/", "https://billing.example.com/v20", "https://billing.example.co"):
        bom["services"][0]["data"][0]["destination"] = [outside]  # a prefix only at a path boundary
        inventory = cyclonedx.read(bom, "bom.json")
        assert [(k.source, k.target) for k in inventory.links] == [("app", "orders-api")], outside
        assert any("outside the description" in f.detail for f in inventory.report.of("unmapped"))
    # the longest endpoint a URL begins with names the service
    bom["services"].append({"bom-ref": "root", "name": "Billing Root", "endpoints": ["https://billing.example.com"]})
    for url, target in (("https://billing.example.com/v2?x=1", "billing"), ("https://billing.example.com/v3", "root")):
        bom["services"][0]["data"][0]["destination"] = [url]
        assert cyclonedx.read(bom, "bom.json").links[-1].target == target, url


def test_endpoint_schemes_and_authenticated_set_the_facts_of_links_into_a_service(tmp_path):
    bom = minimal(endpoints=["http://api.example.com", "https://api.example.com"])
    inventory = cyclonedx.read(bom, "bom.json")
    (link,) = inventory.links
    assert (link.encrypted, link.authentication, link.protocol) == (True, "token", "http/https")
    assert [f.field for f in inventory.report.of("ambiguity")] == ["endpoints"]  # TLS and plain: taken as TLS
    bom = minimal(authenticated=False, properties=[{"name": "tokensim:vpn", "value": "true"}])
    (link,) = cyclonedx.read(bom, "bom.json").links
    assert (link.encrypted, link.authentication, link.filtered) == (True, "none", True)


def test_a_wrong_tokensim_property_is_an_error_naming_the_service(tmp_path):
    for name, value in (("tokensim:authentication", "magic"), ("tokensim:readonly", "often"), ("tokensim-role", "x")):
        bom = minimal(properties=[{"name": name, "value": value}])
        with pytest.raises(InputError, match=r"services\.Orders API\.properties"):
            cyclonedx.read(bom, "bom.json")
    bom = minimal(tags=["tokensim-role:api", "tokensim-role:issuer"])
    with pytest.raises(InputError, match=r"services\.Orders API\.tags.*name 2 roles \(api, issuer\)"):
        cyclonedx.read(bom, "bom.json")


@pytest.mark.parametrize(
    ("classification", "level"),
    [
        ("public", "public"),
        ("Internal use", "internal"),
        ("restricted", "restricted"),
        ("PII", "confidential"),
        ("personal data", "confidential"),
        ("strictly-confidential", "strictly-confidential"),
        ("PCI DSS cardholder data", "strictly-confidential"),
        ("PHI", "strictly-confidential"),
        ("telemetry", None),
        ("non-public", None),
        ("not public", None),
        ("Non-public, confidential", "confidential"),
        ("nonpublic", None),
    ],
)
def test_classification_words_name_confidentiality_levels(classification, level):
    assert cyclonedx._level(classification) == level


def test_code_components_and_devices(tmp_path):
    bom = minimal()
    bom["components"] += [
        {"type": "library", "bom-ref": "lib-a", "name": "left-pad"},
        {"type": "framework", "bom-ref": "lib-b", "name": "express"},
        {"type": "device", "bom-ref": "meter", "name": "Smart Meter"},
    ]
    bom["dependencies"] += [{"ref": "meter", "dependsOn": ["orders-api", "lib-a"]}]
    inventory = cyclonedx.read(copy.deepcopy(bom), "bom.json")
    assert "lib-a" not in inventory.elements and inventory.elements["meter"].role == "legacy"
    assert [(f.element, f.field) for f in inventory.report.of("unmapped")] == [("components", "type")]


@pytest.mark.parametrize(
    ("service", "role"),
    [
        ({"name": "Orders API", "description": "Orders API used by the mobile app and the browser"}, "api"),
        ({"name": "Orders", "description": "behind the API gateway, reads the database"}, "api"),
        ({"name": "Payment Gateway"}, "gateway"),
        ({"name": "Orders", "group": "token-exchange"}, "broker"),
    ],
    ids=["description-browser", "description-gateway", "name", "group"],
)
def test_a_service_role_comes_from_its_name_then_its_group_never_its_description(service, role):
    bom = minimal(**service)
    inventory = cyclonedx.read(bom, "bom.json")
    assert inventory.elements["orders-api"].role == role
    assert not [f for f in inventory.report.of("ambiguity") if f.element.startswith("services.")]


def test_a_client_keyword_in_a_service_name_leaves_it_an_api_with_an_ambiguity():
    inventory = cyclonedx.read(minimal(name="Mobile Backend"), "bom.json")
    backend = inventory.elements["orders-api"]
    assert backend.role == "api" and "'mobile' in its name" in backend.role_from
    (finding,) = [f for f in inventory.report.of("ambiguity") if f.element == "services.Mobile Backend"]
    assert finding.field == "name" and "taken as an API" in finding.detail
    components = minimal()
    components["components"][0].update(name="Checkout", group="com.example.mobile")
    app = cyclonedx.read(components, "bom.json").elements["app"]
    assert (app.role, app.role_from) == ("mobile", "'mobile' in its group")  # a component: any role, name first


def test_a_self_dependency_and_a_self_flow_are_links_build_reports_and_drops(tmp_path):
    bom = minimal(data=[{"flow": "inbound", "classification": "PII", "source": ["orders-api"]}])
    bom["dependencies"] += [{"ref": "orders-api", "dependsOn": ["orders-api"]}]
    inventory = cyclonedx.read(copy.deepcopy(bom), "bom.json")
    selves = [k.where for k in inventory.links if k.source == k.target == "orders-api"]
    assert selves == ["services.Orders API dependsOn Orders API", "services.Orders API.data[0].source[0]"]
    result = import_model(written(tmp_path, bom))
    assert result.architecture.spec.edges == [["mobile_app", "orders_api"]]
    reported = {(f.element, f.field, f.detail) for f in result.report.of("unmapped") if f.element in selves}
    assert reported == {(where, "", "a link from an element to itself: no route") for where in selves}


def test_an_endpoint_scheme_neither_tls_nor_plain_is_reported():
    inventory = cyclonedx.read(minimal(endpoints=["postgresql://db.internal:5432/orders"]), "bom.json")
    (link,) = inventory.links
    assert (link.protocol, link.encrypted) == ("postgresql", None)
    (finding,) = [f for f in inventory.report.of("unmapped") if f.field == "endpoints"]
    assert finding.element == "services.Orders API" and finding.detail.startswith("postgresql: a scheme tokensim")
