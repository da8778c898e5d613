"""The shared mapping rules of `tokensim import` on small Threagile descriptions, one rule a test (docs/import.md).

Each case is the smallest description that exercises a rule a reviewer found wrong or silent: allow-lists
only from a client's own filtered link, plain HTTP into a hop, data carried through hops, a
backend-for-frontend, the nearest link deciding a client's grant, names that are YAML words, text from
the source that must stay a comment, and errors that name the source element.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tokensim.errors import InputError
from tokensim.importers import import_model
from tokensim.model.routes import route_rows


def asset(technology: str, links: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": "", "technology": technology, "communication_links": links or {}, **fields}


def link(target: str, protocol: str = "https", authentication: str = "token", **fields: Any) -> dict[str, Any]:
    return {"target": target, "protocol": protocol, "authentication": authentication, **fields}


def threagile(tmp_path: Path, assets: dict[str, dict[str, Any]], data: dict[str, Any] | None = None) -> Path:
    """A Threagile file of ``assets`` (keyed by id; the name is the id with its words capitalised)."""
    technical = {}
    for ident, spec in assets.items():
        technical[ident.replace("-", " ").title()] = {**spec, "id": ident}
    path = tmp_path / "model.threagile.yaml"
    path.write_text(
        yaml.safe_dump(
            {"threagile_version": "1.0.0", "title": "Case", "data_assets": data or {}, "technical_assets": technical},
            sort_keys=False,
        )
    )
    return path


def statuses(path: Path, policy: str) -> dict[tuple[str, str], str]:
    arch = import_model(path).architecture
    return {(r["client"], r["resource"]): r["status"] for r in route_rows(arch, policy) if r["tier"] == "privileged"}


def test_a_filter_between_internal_hops_is_no_allow_list(tmp_path):
    path = threagile(
        tmp_path,
        {
            "partner": asset("unknown-technology", {"c": link("gw")}, tags=["tokensim-role:workload"]),
            "gw": asset("gateway", {"d": link("api", ip_filtered=True)}),
            "api": asset("web-service-rest"),
        },
    )
    result = import_model(path)
    assert not result.architecture.spec.nodes["api"].network_allow_list  # the gateway forwards a thief too
    assert any(f.field == "ip_filtered" for f in result.report.of("ambiguity"))
    own = threagile(
        tmp_path,
        {
            "partner": asset(
                "unknown-technology", {"c": link("gw", ip_filtered=True)}, tags=["tokensim-role:workload"]
            ),
            "gw": asset("gateway", {"d": link("api")}),
            "api": asset("web-service-rest"),
        },
    )
    assert import_model(own).architecture.spec.nodes["api"].network_allow_list


def test_plain_http_into_a_hop_ends_a_certificate_binding(tmp_path):
    path = threagile(
        tmp_path,
        {
            "worker": asset(
                "unknown-technology",
                {"c": link("proxy", "http", "client-certificate")},
                tags=["tokensim-role:workload"],
            ),
            "proxy": asset("reverse-proxy", {"d": link("api", "https")}),
            "api": asset("web-service-rest"),
        },
    )
    assert statuses(path, "mtls")[("worker", "api")] == "broken"  # no certificate ever reached the API


def test_data_sent_to_a_hop_and_a_data_stores_rating_reach_the_api(tmp_path):
    data = {"Payments": {"id": "payments", "confidentiality": "strictly-confidential", "quantity": "few"}}
    path = threagile(
        tmp_path,
        {
            "spa": asset("browser", {"c": link("lb", data_assets_sent=["payments"])}),
            "lb": asset("load-balancer", {"d": link("api", "http")}),
            "api": asset("web-service-rest", {"q": link("db", "jdbc", "credentials")}),
            "db": asset("database", type="datastore"),
        },
        data,
    )
    api = import_model(path).architecture.spec.nodes["api"]
    assert (api.sensitivity, api.records) == (8.0, 1000)
    rated = threagile(
        tmp_path,
        {
            "spa": asset("browser", {"c": link("api")}),
            "api": asset("web-service-rest", {"q": link("db", "jdbc", "credentials")}),
            "db": asset("database", type="datastore", confidentiality="confidential"),
        },
    )
    assert import_model(rated).architecture.spec.nodes["api"].sensitivity == 5.0


def test_a_backend_for_frontend_is_the_browsers_token_handler(tmp_path):
    path = threagile(
        tmp_path,
        {
            "spa": asset("browser", {"c": link("bff", authentication="session-id")}),
            "bff": asset("web-application", {"d": link("orders", authentication="token")}),
            "orders": asset("web-service-rest", confidentiality="confidential"),
        },
    )
    spec = import_model(path).architecture.spec
    assert set(spec.nodes) == {"spa", "orders", "issuer"}
    assert spec.nodes["spa"].token_handler == "bff" and [list(e) for e in spec.edges] == [["spa", "orders"]]


def test_the_nearest_link_decides_a_clients_grant(tmp_path):
    path = threagile(
        tmp_path,
        {
            "partner": asset(
                "unknown-technology", {"c": link("gw", authorization="technical-user")}, tags=["tokensim-role:workload"]
            ),
            "gw": asset("gateway", {"d": link("api", authorization="enduser-identity-propagation")}),
            "api": asset("web-service-rest"),
        },
    )
    result = import_model(path)
    assert result.architecture.spec.nodes["partner"].grants == ["client_credentials"]
    assert any(f.field == "authorization" for f in result.report.of("ambiguity"))


def test_a_certificate_on_the_token_request_is_the_clients_authentication(tmp_path):
    path = threagile(
        tmp_path,
        {
            "worker": asset(
                "unknown-technology",
                {
                    "c": link("api", authorization="technical-user"),
                    "t": link("idp", authentication="client-certificate"),
                },
                tags=["tokensim-role:workload"],
            ),
            "api": asset("web-service-rest"),
            "idp": asset("identity-provider"),
        },
    )
    assert import_model(path).architecture.spec.nodes["worker"].auth == "tls_client_auth"


def test_no_authentication_anywhere_is_said_not_hidden(tmp_path):
    path = threagile(
        tmp_path, {"app": asset("browser", {"c": link("api", "http", "none")}), "api": asset("web-service-rest")}
    )
    found = import_model(path).report.of("ambiguity")
    assert any("no token to steal" in f.detail for f in found)


def test_self_links_are_reported_and_dropped(tmp_path):
    path = threagile(
        tmp_path, {"spa": asset("browser", {"c": link("api")}), "api": asset("web-service-rest", {"self": link("api")})}
    )
    result = import_model(path)
    assert set(result.architecture.spec.nodes) == {"spa", "api", "issuer"}
    assert any(f.detail.startswith("a link from an element to itself") for f in result.report.of("unmapped"))


def test_names_that_are_yaml_words_or_collide_stay_names(tmp_path):
    path = tmp_path / "words.yaml"
    path.write_text(
        "threagile_version: 1.0.0\ntitle: Words\ntechnical_assets:\n"
        '  On:\n    id: "on"\n    technology: browser\n    communication_links:\n'
        "      c: {target: api, protocol: https, authentication: token}\n"
        "  2024:\n    id: api\n    technology: web-service-rest\n"
        "  Orders-API:\n    id: o1\n    technology: browser\n    communication_links:\n"
        "      c: {target: o2, protocol: https, authentication: token}\n"
        "  Orders API:\n    id: o2\n    technology: web-service-rest\n"
    )
    result = import_model(path)
    assert {"true", "n_2024", "orders_api", "orders_api_2"} <= set(result.architecture.spec.nodes)
    assert any("is another element's" in f.detail for f in result.report.of("ambiguity"))
    booleans = [f for f in result.report.of("ambiguity") if "as a boolean" in f.detail]
    assert [f.element for f in booleans] == ["technical_assets.True"]


def test_text_from_the_source_stays_inside_comments(tmp_path):
    path = threagile(
        tmp_path,
        {
            "spa": asset("browser", {"flow\nattacker: {replay_rate: 0.001/h}\n#": link("api")}),
            "api": asset("web-service-rest"),
        },
    )
    result = import_model(path)
    assert yaml.safe_load(result.text).get("attacker") is None
    assert result.architecture.spec.attacker.replay_rate == 30.0  # the schema default, as the report says


def test_a_model_with_no_client_names_why(tmp_path):
    path = threagile(tmp_path, {"app": asset("browser", {"c": link("idp")}), "idp": asset("identity-provider")})
    with pytest.raises(InputError) as err:
        import_model(path)
    message = str(err.value)
    assert "no element maps to a client" in message and "technical_assets.App" in message


def test_a_wrong_stated_value_names_the_element(tmp_path):
    path = threagile(
        tmp_path,
        {"spa": asset("browser", {"c": link("api")}, tags=["tokensim:instances=-3"]), "api": asset("web-service-rest")},
    )
    with pytest.raises(InputError) as err:
        import_model(path)
    assert "technical_assets.Spa (node spa.instances)" in str(err.value)


def test_a_stated_leak_replaces_the_assumed_ones(tmp_path):
    path = threagile(
        tmp_path,
        {
            "app": asset(
                "mobile-app", {"c": link("api")}, tags=["tokensim:leaks=[{vector: malware, rate: 0.01/year}]"]
            ),
            "api": asset("web-service-rest"),
        },
    )
    result = import_model(path)
    assert [leak.rate for leak in result.architecture.spec.nodes["app"].leaks] == [pytest.approx(0.01 / 8766, rel=1e-3)]
    assert not [f for f in result.report.of("assumed") if f.field == "leaks"]
    assert "0.0033/year" not in result.text


def test_out_never_overwrites_an_input_and_keeps_the_mode(tmp_path):
    source = tmp_path / "shop.yaml"
    source.write_text((Path(__file__).parent / "fixtures" / "import" / "shop.threagile.yaml").read_text())
    run = [sys.executable, "-m", "tokensim"]
    same = subprocess.run([*run, "import", str(source), "--out", str(source)], capture_output=True, text=True)
    assert same.returncode == 2 and "is the file imported" in same.stderr
    out = tmp_path / "model.yaml"
    done = subprocess.run([*run, "import", str(source), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert os.stat(out).st_mode & 0o777 == 0o644
    export = subprocess.run([*run, "export", str(out), "--out", str(out)], capture_output=True, text=True)
    assert export.returncode == 2 and "is the model exported" in export.stderr
