"""`tokensim import` of a Threagile model, the shared mapping rules, the report, the written file and bad input.

The fixture (tests/fixtures/import/shop.threagile.yaml) is a web shop a team would keep in Threagile;
tests/fixtures/import/shop.yaml is the same shop written by hand as a tokensim model. The import must
give the same nodes, edges and route table; its report must list exactly the fields that did not map.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tokensim.api import replicate
from tokensim.errors import InputError
from tokensim.importers import import_model
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.policy import preset
from tokensim.model.routes import route_rows

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SHOP = FIXTURES / "shop.yaml"
THREAGILE = FIXTURES / "shop.threagile.yaml"
ROUTE_COLUMNS = ("client", "resource", "tier", "mechanism", "status", "hop", "path")


def tokensim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tokensim", *args], capture_output=True, text=True, cwd=cwd)


def routes(arch: Architecture, policy: str) -> list[tuple[object, ...]]:
    """The route table of a model under a preset, as comparable rows."""
    return sorted(tuple(row[c] for c in ROUTE_COLUMNS) for row in route_rows(arch, policy))


def same_system(imported: Architecture, hand_written: Architecture) -> None:
    """The imported model has the hand-written model's nodes (name and kind), edges and route tables."""
    kinds = {name: node.kind for name, node in imported.spec.nodes.items()}
    assert kinds == {name: node.kind for name, node in hand_written.spec.nodes.items()}
    assert sorted(map(tuple, imported.spec.edges)) == sorted(map(tuple, hand_written.spec.edges))
    for policy in ("bearer", "dpop", "mtls", "hybrid"):
        assert routes(imported, policy) == routes(hand_written, policy), policy


def test_threagile_import_gives_the_hand_written_model_nodes_edges_and_routes():
    result = import_model(THREAGILE)
    assert result.report.format == "Threagile"
    same_system(result.architecture, load_model(SHOP))
    spec = result.architecture.spec
    # the facts the mapping states, each from its source field
    assert spec.nodes["edge_load_balancer"].terminates_tls  # https in, http out
    assert spec.nodes["billing_api"].network_allow_list  # the partner's only link is IP-filtered
    assert spec.nodes["orders_api"].sensitivity == 5.0 and spec.nodes["orders_api"].records == 100_000
    assert spec.nodes["billing_api"].sensitivity == 8.0 and spec.nodes["billing_api"].privileged_fraction == 0.0
    assert spec.nodes["partner_backend"].auth == "tls_client_auth"  # authentication: client-certificate
    assert spec.nodes["shop_spa"].grants == ["authorization_code"]  # enduser-identity-propagation


def test_the_report_lists_exactly_the_unmapped_fields_of_the_fixture():
    report = import_model(THREAGILE).report
    assets = ["Shop SPA", "Partner Backend", "Edge Load Balancer", "API Gateway", "Orders API", "Billing API"]
    assets += ["Orders DB", "Keycloak"]
    links = ["Shop SPA.communication_links.Orders Traffic", "Shop SPA.communication_links.Sign In"]
    links += ["Partner Backend.communication_links.Billing Calls", "Edge Load Balancer.communication_links.To Orders"]
    links += ["API Gateway.communication_links.To Billing", "Orders API.communication_links.Orders DB"]
    expected = {("model", key) for key in ("date", "author", "business_criticality", "trust_boundaries")}
    expected |= {("model", "shared_runtimes")}
    for data in ("Customer Orders", "Invoices"):
        expected |= {(f"data_assets.{data}", key) for key in ("description", "usage", "integrity", "availability")}
    for asset in assets:
        for key in ("usage", "size", "internet", "machine", "encryption", "owner", "integrity", "availability"):
            expected.add((f"technical_assets.{asset}", key))
    expected |= {("technical_assets.Orders API", "custom_developed_parts")}
    for link in links:
        expected |= {(f"technical_assets.{link}", "usage"), (f"technical_assets.{link}", "description")}
    # the token request to Keycloak and the orders database query: no routes
    expected |= {(f"technical_assets.{link}", "") for link in (links[1], links[5])}
    # ratings and flags of elements whose nodes have no such field
    for asset in ("Shop SPA", "Partner Backend", "Edge Load Balancer", "API Gateway", "Keycloak"):
        expected.add((f"technical_assets.{asset}", "confidentiality"))
    for asset in ("Edge Load Balancer", "API Gateway", "Orders API", "Billing API", "Orders DB", "Keycloak"):
        expected.add((f"technical_assets.{asset}", "used_as_client_by_human"))
    assert report.unmapped_fields() == expected


def test_every_assumed_value_is_marked_in_the_file_and_listed_in_the_report():
    result = import_model(THREAGILE)
    marked = [
        line
        for line in result.text.splitlines()
        if "assumed, set me" in line.partition("#")[2] and not line.startswith("#")
    ]
    node_assumptions = [f for f in result.report.of("assumed") if f.element not in ("attacker", "defender")]
    assert len(marked) == len(node_assumptions) > 0
    for finding in node_assumptions:  # instances, request and leak rates among them
        assert finding.field in {
            "instances",
            "request_rate",
            "leaks",
            "supports",
            "holds_refresh_token",
            "accepts",
            "privileged_fraction",
            "forwards_client_cert",
            "forwards_host",
            "rewrites_uri",
            "revocation",
            "auth",
            "sensitivity",
            "records",
            "key_storage",
        }
    assert {"request_rate", "leaks"} <= {f.field for f in node_assumptions}
    # what the source states (tokensim:FIELD=VALUE tags) is not assumed: the populations of the two clients
    assert "instances" not in {f.field for f in node_assumptions}
    assert result.architecture.spec.nodes["shop_spa"].instances == 5000
    assert "instances: 5000" in result.text and "stated in the source" in result.text


def test_the_counts_docs_import_md_quotes():
    report = import_model(THREAGILE).report  # docs/import.md, "End to end": keep the two in step
    nodes = [f for f in report.of("assumed") if f.element not in ("attacker", "defender")]
    assert (len(report.of("unmapped")), len(nodes), len(report.of("ambiguity"))) == (103, 24, 3)


def test_the_written_file_holds_the_model_and_the_report_as_comments():
    result = import_model(THREAGILE)
    assert yaml.safe_load(result.text) == yaml.safe_load(yaml.safe_dump(result.model))
    header = [line for line in result.text.splitlines() if line.startswith("#")]
    assert header[0].startswith("# imported") and any("Not mapped" in line for line in header)
    assert any("technical_assets.Orders DB" in line for line in header)  # no node, said so


def test_an_imported_model_runs():
    arch = import_model(THREAGILE).architecture
    frame = replicate(arch, [preset("bearer"), preset("hybrid")], replications=2, seed=1, horizon=24 * 30)
    assert set(frame["policy"]) == {"bearer", "hybrid"} and len(frame) == 4


def test_cli_import_writes_a_model_that_check_accepts(tmp_path):
    out = tmp_path / "shop.yaml"
    done = tokensim("import", str(THREAGILE), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Assumed, set me" in done.stdout and f"wrote {out}" in done.stdout
    checked = tokensim("check", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "4 routes" in checked.stdout
    printed = tokensim("import", str(THREAGILE))  # no --out: the model on stdout
    assert printed.returncode == 0 and printed.stdout == out.read_text()


def _threagile(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(THREAGILE.read_text())
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _link(data):
    return data["technical_assets"]["Shop SPA"]["communication_links"]["Orders Traffic"]


@pytest.mark.parametrize(
    ("edit", "where", "what"),
    [
        (lambda d: _link(d).update(target="nowhere"), "Orders Traffic.target", "no technical asset has id 'nowhere'"),
        (lambda d: d["technical_assets"]["Keycloak"].update(id="edge-lb"), "Keycloak.id", "is also"),
        (lambda d: d["technical_assets"]["Keycloak"].update(technology="quantum"), "Keycloak.technology", "quantum"),
        (lambda d: _link(d).update(data_assets_sent=["gold"]), "data_assets_sent", "no data asset has id 'gold'"),
        (lambda d: d["technical_assets"]["Orders API"].update(tags=["tokensim-role:wizard"]), "tags", "wizard"),
        (
            lambda d: d["technical_assets"]["Orders API"].update(tags=["tokensim-role:api", "tokensim-role:workload"]),
            "Orders API.tags",
            "name 2 roles (api, workload)",
        ),
    ],
)
def test_bad_threagile_input_gets_one_message_naming_the_file_and_the_element(tmp_path, edit, where, what):
    path = _threagile(tmp_path, edit)
    with pytest.raises(InputError) as err:
        import_model(path)
    message = str(err.value)
    assert message.startswith(str(path)) and where in message and what in message
    done = tokensim("import", str(path), "--out", str(tmp_path / "m.yaml"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and where in done.stderr
    assert not (tmp_path / "m.yaml").exists()


def test_files_of_no_format_and_misused_options_are_refused(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("hello: world\n")
    done = tokensim("import", str(other))
    assert done.returncode == 2 and "none of the formats tokensim imports" in done.stderr
    model = tokensim("import", str(SHOP))
    assert model.returncode == 2 and "is a tokensim model already" in model.stderr
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec: {}\n")
    alone = tokensim("import", str(mesh))
    assert alone.returncode == 2 and "--overlay-on" in alone.stderr
    overlay = tokensim("import", str(THREAGILE), "--overlay-on", str(SHOP))
    assert overlay.returncode == 2 and "only mesh configuration overlays" in overlay.stderr
    suffix = tokensim("import", str(THREAGILE), "--out", str(tmp_path / "m.txt"))
    assert suffix.returncode == 2 and "suffix" in suffix.stderr


def test_forced_format_must_fit_the_content(tmp_path):
    with pytest.raises(InputError):
        import_model(THREAGILE, format="otm")  # a Threagile file read as OTM breaks the OTM schema
