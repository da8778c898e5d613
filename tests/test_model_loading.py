"""Loading model files: the example loads with the right values, and every kind of bad
input raises `InputError` naming the file, the dotted field path and what is allowed."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tokensim.errors import InputError, Problem, format_loc
from tokensim.model.architecture import Architecture, load_model
from tokensim.model.loading import parse_text, read_document
from tokensim.model.schema import Exponential, Fixed, LogNormal, Uniform

MODELS = Path(__file__).resolve().parents[1] / "models"
SPA = MODELS / "spa_behind_proxy.yaml"


@pytest.fixture
def spa() -> dict[str, Any]:
    """The spa example as plain data, to mutate."""
    return yaml.safe_load(SPA.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: Any, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    elif name.endswith(".json"):
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load_error(path: Path | str) -> InputError:
    with pytest.raises(InputError) as info:
        load_model(path)
    return info.value


def assert_problem(err: InputError, source: str | Path, path: str, *fragments: str) -> str:
    """One line of the message reads `<source>: <path>: ...` and holds every fragment."""
    prefix = f"{source}: {path}: " if path else f"{source}: "
    lines = [line for line in str(err).splitlines() if line.startswith(prefix)]
    assert lines, f"no line starting with {prefix!r} in:\n{err}"
    matching = [line for line in lines if all(f in line for f in fragments)]
    assert matching, f"no line with {fragments!r} in:\n{err}"
    assert any(p.path == path for p in err.problems), [p.path for p in err.problems]
    return matching[0]


# --------------------------------------------------------------------------- the example


def test_spa_example_loads_with_values_in_hours_and_per_hour() -> None:
    arch = load_model(SPA)
    assert arch.source == str(SPA)
    assert arch.name == "spa-behind-proxy"
    spa, edge, orders, idp = (arch.node(n) for n in ("spa", "edge", "orders", "idp"))

    assert spa.kind == "client" and spa.platform == "browser"
    assert spa.instances == 1000
    assert spa.key_storage == "non_extractable"
    assert spa.supports == ["bearer", "dpop"]
    assert spa.holds_refresh_token is True
    assert spa.request_rate == pytest.approx(120.0)
    xss, log = spa.leaks
    assert (xss.vector, log.vector) == ("xss", "log")
    assert xss.rate == pytest.approx(0.02 / 8760)
    assert xss.dwell == pytest.approx(2.0)
    assert log.rate == pytest.approx(0.05 / 8760)
    assert log.dwell is None

    assert edge.kind == "proxy"
    assert edge.terminates_tls is True and edge.forwards_client_cert is False
    assert edge.logs_tokens is True
    assert edge.log_retention == pytest.approx(168.0)
    assert edge.leaks[0].rate == pytest.approx(0.5 / 8760)

    assert orders.sensitivity == 5.0
    assert orders.privileged_fraction == pytest.approx(0.1)
    assert orders.accepts == "bound"
    assert idp.revocation == "introspection"

    replay = arch.spec.attacker.replay_delay
    assert isinstance(replay, LogNormal)
    assert replay.median == pytest.approx(1.0) and replay.sigma == pytest.approx(1.0)
    assert arch.spec.attacker.replay_rate == pytest.approx(30.0)
    assert arch.spec.defender.detection_probability == pytest.approx(0.01)
    response = arch.spec.defender.response_time
    assert isinstance(response, Exponential) and response.mean == pytest.approx(24.0)

    assert arch.clients == ["spa"] and arch.resources == ["orders"]
    assert set(arch.graph.edges) == {("spa", "edge"), ("edge", "orders")}
    assert arch.graph.nodes["edge"]["kind"] == "proxy"
    assert {pair: list(space.listing()) for pair, space in arch.paths.items()} == {
        ("spa", "orders"): [("spa", "edge", "orders")]
    }
    assert arch.issuer_of("orders") is idp


def test_builtin_name_loads_the_same_model() -> None:
    assert load_model("spa_behind_proxy").config_hash == load_model(SPA).config_hash
    assert load_model("spa-behind-proxy").config_hash == load_model(SPA).config_hash


def test_json_file_loads_like_yaml(tmp_path: Path, spa: dict[str, Any]) -> None:
    path = write(tmp_path, spa, "spa.json")
    arch = load_model(path)
    assert arch.source == str(path)
    assert arch.node("edge").log_retention == pytest.approx(168.0)
    assert arch.node("spa").request_rate == pytest.approx(120.0)
    assert arch.config_hash == load_model(SPA).config_hash


def test_config_hash_ignores_formatting_but_not_values(tmp_path: Path, spa: dict[str, Any]) -> None:
    reordered = dict(reversed(list(spa.items())))
    assert load_model(write(tmp_path, reordered, "a.yaml")).config_hash == load_model(SPA).config_hash
    spa["nodes"]["edge"]["log_retention"] = "168h"  # same value, other spelling
    assert load_model(write(tmp_path, spa, "b.yaml")).config_hash == load_model(SPA).config_hash
    spa["nodes"]["edge"]["log_retention"] = "8d"
    assert load_model(write(tmp_path, spa, "c.yaml")).config_hash != load_model(SPA).config_hash


def test_plain_duration_means_a_fixed_delay(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["attacker"]["replay_delay"] = "30m"
    spa["defender"]["response_time"] = {"distribution": "uniform", "low": "1h", "high": "1d"}
    arch = load_model(write(tmp_path, spa))
    assert arch.spec.attacker.replay_delay == Fixed(value=0.5)
    assert arch.spec.defender.response_time == Uniform(distribution="uniform", low=1.0, high=24.0)


def test_defaults_apply_to_a_minimal_model() -> None:
    arch = Architecture.from_dict(
        {
            "name": "m",
            "nodes": {"c": {"kind": "client", "platform": "workload"}, "r": {"kind": "resource"}},
            "edges": [["c", "r"]],
        }
    )
    client = arch.node("c")
    assert client.supports == ["bearer"] and client.request_rate == 60.0 and client.instances == 1
    assert arch.node("r").accepts == "bound" and arch.node("r").log_retention == 720.0
    assert arch.issuer_of("r").revocation == "jwt"
    assert isinstance(arch.spec.attacker.replay_delay, LogNormal)


def test_yaml_merge_keys_are_allowed(tmp_path: Path) -> None:
    text = """
name: merged
nodes:
  c1: &browser {kind: client, platform: browser, instances: 5}
  c2:
    <<: *browser
    instances: 7
  r: {kind: resource}
edges: [[c1, r], [c2, r]]
"""
    arch = load_model(write(tmp_path, text))
    assert arch.node("c2").platform == "browser"
    assert arch.node("c1").instances == 5 and arch.node("c2").instances == 7


# --------------------------------------------------------------------------- bad input, by kind


def test_unknown_kind(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["edge"]["kind"] = "firewall"
    path = write(tmp_path, spa)
    line = assert_problem(load_error(path), path, "nodes.edge", "unknown kind 'firewall'")
    for kind in ("client", "proxy", "gateway", "mesh", "broker", "resource", "issuer"):
        assert kind in line


def test_missing_kind(tmp_path: Path, spa: dict[str, Any]) -> None:
    del spa["nodes"]["orders"]["kind"]
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, "nodes.orders", "'kind' is missing")


def test_unknown_vector(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["spa"]["leaks"][1]["vector"] = "keylogger"
    path = write(tmp_path, spa)
    line = assert_problem(load_error(path), path, "nodes.spa.leaks[1].vector", "'keylogger' is not allowed")
    for vector in ("log", "xss", "malware", "host_compromise", "secret_sprawl", "signing_key"):
        assert vector in line


@pytest.mark.parametrize(
    ("mutate", "where", "field", "allowed"),
    [
        (
            lambda d: d["nodes"]["spa"].update(colour="red"),
            "nodes.spa.colour",
            "colour",
            ["platform", "key_storage", "supports"],
        ),
        (
            lambda d: d["nodes"]["edge"].update(cache=True),
            "nodes.edge.cache",
            "cache",
            ["terminates_tls", "forwards_client_cert", "rewrites_uri"],
        ),
        (lambda d: d.update(owner="me"), "owner", "owner", ["name", "nodes", "edges", "attacker", "defender"]),
        (
            lambda d: d["nodes"]["spa"]["leaks"][0].update(severity=3),
            "nodes.spa.leaks[0].severity",
            "severity",
            ["vector", "rate", "dwell"],
        ),
        (
            lambda d: d["attacker"].update(skill="high"),
            "attacker.skill",
            "skill",
            ["replay_delay", "replay_rate", "targeting"],
        ),
        (
            lambda d: d["attacker"]["replay_delay"].update(mean="1h"),
            "attacker.replay_delay.mean",
            "mean",
            ["median", "sigma"],
        ),
        (
            lambda d: d["defender"].update(pager="on"),
            "defender.pager",
            "pager",
            ["detection_probability", "response_time"],
        ),
    ],
)
def test_unknown_field_lists_allowed_fields(
    tmp_path: Path, spa: dict[str, Any], mutate: Callable, where: str, field: str, allowed: list[str]
) -> None:
    mutate(spa)
    path = write(tmp_path, spa)
    line = assert_problem(load_error(path), path, where, f"unknown field {field!r}", "allowed fields:")
    for name in allowed:
        assert name in line


def test_field_of_another_kind_is_unknown_on_this_kind(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["orders"]["terminates_tls"] = True  # a proxy field on a resource
    path = write(tmp_path, spa)
    line = assert_problem(load_error(path), path, "nodes.orders.terminates_tls", "unknown field 'terminates_tls'")
    assert "privileged_fraction" in line and "sensitivity" in line


@pytest.mark.parametrize(
    ("node", "leak", "vector", "what", "allowed"),
    [
        ("edge", {"vector": "xss", "rate": "1/year"}, "xss", "a proxy", "log"),
        (
            "spa",
            {"vector": "signing_key", "rate": "1/year"},
            "signing_key",
            "a browser client",
            "aitm, consent_phishing, device_code_phishing, log, malware, xss",
        ),
        ("idp", {"vector": "log", "rate": "1/year"}, "log", "a issuer", "signing_key"),
        ("orders", {"vector": "host_compromise", "rate": "1/year"}, "host_compromise", "a resource", "log"),
    ],
)
def test_vector_that_makes_no_sense_on_the_node(
    tmp_path: Path, spa: dict[str, Any], node: str, leak: dict, vector: str, what: str, allowed: str
) -> None:
    spa["nodes"][node].setdefault("leaks", []).append(leak)
    index = len(spa["nodes"][node]["leaks"]) - 1
    path = write(tmp_path, spa)
    assert_problem(
        load_error(path),
        path,
        f"nodes.{node}.leaks[{index}].vector",
        f"vector {vector!r} makes no sense on {what}",
        f"allowed here: {allowed}",
    )


def test_dwell_only_for_compromise_vectors(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["spa"]["leaks"][1]["dwell"] = "1h"  # on the log leak
    path = write(tmp_path, spa)
    assert_problem(
        load_error(path), path, "nodes.spa.leaks[1].dwell", "dwell applies only to", "host_compromise, malware, xss"
    )


def test_log_leak_needs_logs_tokens(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["edge"]["logs_tokens"] = False
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, "nodes.edge.leaks[0].vector", "'logs_tokens: true'")


def test_bound_mechanism_needs_a_key(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["spa"]["key_storage"] = "none"
    path = write(tmp_path, spa)
    assert_problem(
        load_error(path), path, "nodes.spa.supports", "dpop needs a key", "allowed: software, non_extractable, hardware"
    )


@pytest.mark.parametrize(
    ("edge", "where", "bad"), [(["spa", "edgy"], "edges[0][1]", "edgy"), (["nobody", "edge"], "edges[0][0]", "nobody")]
)
def test_unknown_edge_ends(tmp_path: Path, spa: dict[str, Any], edge: list[str], where: str, bad: str) -> None:
    spa["edges"][0] = edge
    path = write(tmp_path, spa)
    line = assert_problem(load_error(path), path, where, f"unknown node {bad!r}")
    assert "nodes: spa, edge, orders, idp" in line


@pytest.mark.parametrize(
    ("edges", "where", "fragment"),
    [
        ([["spa", "edge"], ["edge", "orders"], ["orders", "spa"]], "edges[2]", "'orders' is a resource"),
        ([["spa", "edge"], ["edge", "orders"], ["edge", "spa"]], "edges[2][1]", "'spa' is a client"),
        ([["spa", "edge"], ["edge", "edge"], ["edge", "orders"]], "edges[1]", "edge from 'edge' to itself"),
        ([["spa", "edge"], ["edge", "orders"], ["edge", "idp"]], "edges[2]", "'idp' is a issuer"),
        ([["spa", "edge", "orders"]], "edges[0]", "at most 2 items"),
    ],
)
def test_bad_edges(tmp_path: Path, spa: dict[str, Any], edges: list, where: str, fragment: str) -> None:
    spa["edges"] = edges
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, where, fragment)


def test_client_that_reaches_no_resource(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["edges"] = [["spa", "edge"]]
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, "nodes.spa", "reaches no resource")


def test_model_needs_clients_and_resources(tmp_path: Path) -> None:
    path = write(tmp_path, {"name": "x", "nodes": {"p": {"kind": "proxy"}}})
    err = load_error(path)
    assert_problem(err, path, "nodes", "no client node")
    assert_problem(err, path, "nodes", "no resource node")


def test_several_issuers_need_a_named_issuer(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["idp2"] = {"kind": "issuer"}
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, "nodes.orders.issuer", "several issuers (idp, idp2)")
    spa["nodes"]["orders"]["issuer"] = "idp2"
    assert load_model(write(tmp_path, spa, "ok.yaml")).issuer_of("orders").kind == "issuer"
    spa["nodes"]["orders"]["issuer"] = "spa"
    path = write(tmp_path, spa, "bad.yaml")
    assert_problem(load_error(path), path, "nodes.orders.issuer", "'spa' is not an issuer node", "issuers: idp, idp2")


@pytest.mark.parametrize(
    ("mutate", "where", "fragment"),
    [
        (
            lambda d: d["nodes"]["edge"].update(log_retention="-7d"),
            "nodes.edge.log_retention",
            "must be greater than zero",
        ),
        (
            lambda d: d["nodes"]["edge"].update(log_retention="0s"),
            "nodes.edge.log_retention",
            "must be greater than zero",
        ),
        (lambda d: d["nodes"]["edge"].update(log_retention=0), "nodes.edge.log_retention", "must be greater than zero"),
        (
            lambda d: d["nodes"]["spa"]["leaks"][0].update(dwell="0m"),
            "nodes.spa.leaks[0].dwell",
            "must be greater than zero",
        ),
        (
            lambda d: d["attacker"]["replay_delay"].update(median="-1h"),
            "attacker.replay_delay.median",
            "must be greater than zero",
        ),
        (
            lambda d: d["defender"]["response_time"].update(mean="0d"),
            "defender.response_time.mean",
            "must be greater than zero",
        ),
        (lambda d: d["attacker"].update(replay_delay="-5m"), "attacker.replay_delay.value", "must not be negative"),
        (
            lambda d: d["nodes"]["idp"].update(propagation_delay="-1s"),
            "nodes.idp.propagation_delay",
            "must not be negative",
        ),
        (
            lambda d: d["nodes"]["spa"]["leaks"][0].update(rate="-1/year"),
            "nodes.spa.leaks[0].rate",
            "must not be negative",
        ),
        (lambda d: d["nodes"]["spa"].update(request_rate="-3/h"), "nodes.spa.request_rate", "must not be negative"),
        (
            lambda d: d["attacker"]["replay_delay"].update(sigma=-0.5),
            "attacker.replay_delay.sigma",
            "must not be negative",
        ),
        (lambda d: d["nodes"]["orders"].update(sensitivity=0), "nodes.orders.sensitivity", "must be greater than zero"),
        (lambda d: d["nodes"]["spa"].update(instances=0), "nodes.spa.instances", "greater than or equal to 1"),
    ],
)
def test_negative_or_zero_values(
    tmp_path: Path, spa: dict[str, Any], mutate: Callable, where: str, fragment: str
) -> None:
    mutate(spa)
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, where, fragment)


@pytest.mark.parametrize(
    ("mutate", "where", "value"),
    [
        (lambda d: d["nodes"]["orders"].update(privileged_fraction=1.5), "nodes.orders.privileged_fraction", "1.5"),
        (lambda d: d["nodes"]["orders"].update(privileged_fraction=-0.1), "nodes.orders.privileged_fraction", "-0.1"),
        (lambda d: d["defender"].update(detection_probability=2), "defender.detection_probability", "2"),
        (
            lambda d: d["nodes"]["spa"].update(concurrent_refresh_fraction=1.01),
            "nodes.spa.concurrent_refresh_fraction",
            "1.01",
        ),
    ],
)
def test_fractions_outside_unit_interval(
    tmp_path: Path, spa: dict[str, Any], mutate: Callable, where: str, value: str
) -> None:
    mutate(spa)
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, where, "must be a fraction in [0, 1]", f"got {value}")


def test_fraction_bounds_are_inclusive(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["orders"]["privileged_fraction"] = 1
    spa["defender"]["detection_probability"] = 0
    arch = load_model(write(tmp_path, spa))
    assert arch.node("orders").privileged_fraction == 1.0
    assert arch.spec.defender.detection_probability == 0.0


@pytest.mark.parametrize(
    ("mutate", "where", "allowed"),
    [
        (
            lambda d: d["nodes"]["spa"].update(request_rate="120/fortnight"),
            "nodes.spa.request_rate",
            "e.g. 0.2/year, 3/day, 30/h",
        ),
        (
            lambda d: d["nodes"]["spa"].update(request_rate="lots"),
            "nodes.spa.request_rate",
            "e.g. 0.2/year, 3/day, 30/h",
        ),
        (
            lambda d: d["nodes"]["edge"].update(log_retention="7 parsecs"),
            "nodes.edge.log_retention",
            "e.g. 90s, 15m, 1h, 30d, 1y",
        ),
        (
            lambda d: d["nodes"]["edge"].update(log_retention="a week"),
            "nodes.edge.log_retention",
            "e.g. 90s, 15m, 1h, 30d, 1y",
        ),
        (lambda d: d["nodes"]["spa"]["leaks"][0].update(rate="0.02/yr"), "nodes.spa.leaks[0].rate", "e.g. 0.2/year"),
        (
            lambda d: d["attacker"]["replay_delay"].update(median="1 hr"),
            "attacker.replay_delay.median",
            "units: ms, s, m, h, d, w, mo, y",
        ),
        (lambda d: d["attacker"].update(replay_delay="soon"), "attacker.replay_delay.value", "e.g. 90s, 15m"),
        (lambda d: d["nodes"]["edge"].update(log_retention=True), "nodes.edge.log_retention", "expected a duration"),
    ],
)
def test_unparsable_units(tmp_path: Path, spa: dict[str, Any], mutate: Callable, where: str, allowed: str) -> None:
    mutate(spa)
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, where, allowed)


@pytest.mark.parametrize(
    ("mutate", "where", "fragment"),
    [
        (
            lambda d: d["nodes"]["spa"].update(request_rate=float("nan")),
            "nodes.spa.request_rate",
            "must be a finite number",
        ),
        (
            lambda d: d["nodes"]["spa"].update(request_rate=float("inf")),
            "nodes.spa.request_rate",
            "must be a finite number",
        ),
        (
            lambda d: d["nodes"]["edge"].update(log_retention=float("inf")),
            "nodes.edge.log_retention",
            "must be a finite number",
        ),
        (
            lambda d: d["nodes"]["edge"].update(log_retention="1e999s"),
            "nodes.edge.log_retention",
            "must be a finite number",
        ),
        (
            lambda d: d["attacker"]["replay_delay"].update(sigma=float("nan")),
            "attacker.replay_delay.sigma",
            "must be a finite number",
        ),
        (
            lambda d: d["nodes"]["orders"].update(sensitivity=float("inf")),
            "nodes.orders.sensitivity",
            "must be a finite number",
        ),
        (
            lambda d: d["nodes"]["orders"].update(privileged_fraction=float("nan")),
            "nodes.orders.privileged_fraction",
            "fraction",
        ),
    ],
)
def test_non_finite_numbers(tmp_path: Path, spa: dict[str, Any], mutate: Callable, where: str, fragment: str) -> None:
    mutate(spa)
    path = write(tmp_path, spa)  # safe_dump writes .nan / .inf, which YAML reads back as floats
    assert_problem(load_error(path), path, where, fragment)


@pytest.mark.parametrize(
    ("mutate", "where", "fragment"),
    [
        (lambda d: d["nodes"]["spa"].update(platform="desktop"), "nodes.spa.platform", "'desktop' is not allowed"),
        (lambda d: d["nodes"]["spa"].update(key_storage="tpm"), "nodes.spa.key_storage", "'hardware'"),
        (lambda d: d["nodes"]["spa"].update(supports=["bearer", "oauth1"]), "nodes.spa.supports[1]", "'dpop'"),
        (lambda d: d["nodes"]["spa"].pop("platform"), "nodes.spa.platform", "required field is missing"),
        (lambda d: d.pop("name"), "name", "required field is missing"),
        (lambda d: d["nodes"].update(spa="a browser"), "nodes.spa", "valid dictionary"),
        (
            lambda d: d["attacker"].update(replay_delay={"distribution": "gamma"}),
            "attacker.replay_delay",
            "unknown distribution 'gamma'",
        ),
        (
            lambda d: d["attacker"].update(replay_delay={"median": "1h"}),
            "attacker.replay_delay",
            "'distribution' is missing",
        ),
        (
            lambda d: d["defender"].update(response_time={"distribution": "uniform", "low": "2h", "high": "1h"}),
            "defender.response_time",
            "high must not be below low",
        ),
        (lambda d: d["attacker"].update(targeting="random"), "attacker.targeting", "'sensitivity' or 'uniform'"),
        (
            lambda d: d["nodes"]["spa"]["leaks"][0].update(replay_delay={"distribution": "lognormal", "median": "0s"}),
            "nodes.spa.leaks[0].replay_delay.median",
            "must be greater than zero",
        ),
        (
            lambda d: d["nodes"]["spa"]["leaks"][0].update(replay_delay="3 fortnights"),
            "nodes.spa.leaks[0].replay_delay.value",
            "unknown time unit",
        ),
        (
            lambda d: d["nodes"]["spa"]["leaks"][0].update(
                replay_delay={"distribution": "exponential", "median": "1h"}
            ),
            "nodes.spa.leaks[0].replay_delay.median",
            "unknown field 'median' (did you mean 'mean'?); allowed fields: distribution, mean",
        ),
        (
            lambda d: d["nodes"]["spa"]["leaks"][0].update(replay_delay={"distribution": "gamma"}),
            "nodes.spa.leaks[0].replay_delay",
            "unknown distribution 'gamma'",
        ),
    ],
)
def test_wrong_values_name_the_field_and_what_is_allowed(
    tmp_path: Path, spa: dict[str, Any], mutate: Callable, where: str, fragment: str
) -> None:
    mutate(spa)
    path = write(tmp_path, spa)
    assert_problem(load_error(path), path, where, fragment)


def test_nodes_named_like_tags_keep_their_name_in_paths(tmp_path: Path) -> None:
    # pydantic puts union tags ('client', 'lognormal', 'fixed') into error locations; a node that
    # happens to carry such a name must still be named in the path.
    data = {
        "name": "x",
        "nodes": {
            "lognormal": {"kind": "client"},
            "fixed": 5,
            "client": {"kind": "client", "platform": "mobile", "client": 1},
            "r": {"kind": "resource"},
        },
        "edges": [],
    }
    path = write(tmp_path, data)
    err = load_error(path)
    assert_problem(err, path, "nodes.lognormal.platform", "required field is missing")
    assert_problem(err, path, "nodes.fixed", "valid dictionary")
    assert_problem(err, path, "nodes.client.client", "unknown field 'client'", "platform")


def test_errors_in_a_leak_replay_delay_are_one_per_problem(tmp_path: Path, spa: dict[str, Any]) -> None:
    # a tagged union must report against the chosen distribution only, not every member
    spa["nodes"]["spa"]["leaks"][0]["replay_delay"] = {"distribution": "lognormal", "median": "-1h"}
    path = write(tmp_path, spa)
    err = load_error(path)
    assert [p.path for p in err.problems] == ["nodes.spa.leaks[0].replay_delay.median"]


def test_leak_replay_delay_loads(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["spa"]["leaks"][0]["replay_delay"] = "2d"
    spa["nodes"]["spa"]["leaks"][1]["replay_delay"] = {"distribution": "exponential", "mean": "1w"}
    arch = load_model(write(tmp_path, spa))
    assert arch.node("spa").leaks[0].replay_delay == Fixed(value=48.0)
    assert arch.node("spa").leaks[1].replay_delay == Exponential(distribution="exponential", mean=168.0)
    assert arch.node("edge").leaks[0].replay_delay is None


def test_every_problem_is_reported_at_once(tmp_path: Path, spa: dict[str, Any]) -> None:
    spa["nodes"]["spa"]["platform"] = "desktop"
    spa["nodes"]["edge"]["log_retention"] = "-1d"
    spa["defender"]["detection_probability"] = 3
    path = write(tmp_path, spa)
    err = load_error(path)
    assert {p.path for p in err.problems} == {
        "nodes.spa.platform",
        "nodes.edge.log_retention",
        "defender.detection_probability",
    }
    assert len(str(err).splitlines()) == 3


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nnodes: [unclosed\n",
        "name: x\n  nodes: {}\n bad: indent\n",
        "name: 'open\n",
        "a: b: c\n",
        "- a\nb: c\n",
        "nodes: {a: 1,,}\n",
    ],
)
def test_yaml_syntax_errors(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    err = load_error(path)
    assert str(err).startswith(f"{path}: line ")
    assert "YAML error" in str(err)
    assert err.problems[0].path.startswith("line ") and ", column " in err.problems[0].path


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "name": "x",\n  "nodes": {,}\n}', "bad.json")
    err = load_error(path)
    assert_problem(err, path, "line 3", "JSON syntax error")


def test_json_is_strict_json(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\n", "yaml_in_disguise.json")
    assert "JSON syntax error" in str(load_error(path))


@pytest.mark.parametrize("text", ["", "   \n\t\n"])
def test_empty_files(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert_problem(load_error(path), path, "", "the file is empty")
    assert_problem(load_error(write(tmp_path, text, "empty.json")), tmp_path / "empty.json", "", "the file is empty")


@pytest.mark.parametrize(
    ("text", "got"),
    [("# just a comment\n", "NoneType"), ("- a\n- b\n", "list"), ("42\n", "int"), ("just words\n", "str")],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    path = write(tmp_path, text)
    assert_problem(load_error(path), path, "", "expected a mapping of fields at the top", got)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert_problem(load_error(path), path, "", "no such file")
    with pytest.raises(InputError) as info:
        read_document(tmp_path / "nope.json")
    assert str(info.value) == f"{tmp_path / 'nope.json'}: no such file"


def test_unknown_builtin_model_lists_builtin_models() -> None:
    err = load_error("no_such_model")
    assert_problem(err, "no_such_model", "", "no such file or built-in model", "spa_behind_proxy")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    assert_problem(load_error(folder), folder, "", "is a folder")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\n".encode("latin-1"))
    assert_problem(load_error(path), path, "", "not UTF-8")


def test_duplicate_keys_in_yaml(tmp_path: Path) -> None:
    text = SPA.read_text(encoding="utf-8").replace("  orders:\n", "  spa:\n    kind: resource\n  orders:\n", 1)
    path = write(tmp_path, text)
    err = load_error(path)
    line = assert_problem(err, path, err.problems[0].path, "duplicate key 'spa'")
    assert err.problems[0].path.startswith("line ")
    # the second 'spa' key is the one reported
    second = text.splitlines().index("  spa:", text.splitlines().index("  spa:") + 1) + 1
    assert f"line {second}, column 3" in line


def test_duplicate_nested_and_top_level_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\nname: b\nnodes: {}\n")
    assert "duplicate key 'name'" in str(load_error(path))
    path = write(tmp_path, "name: a\nnodes:\n  c: {kind: client, kind: resource}\n", "nested.yaml")
    assert_problem(load_error(path), path, "line 3, column 21", "duplicate key 'kind'")


def test_duplicate_keys_in_json(tmp_path: Path) -> None:
    path = write(tmp_path, '{"name": "a", "nodes": {"c": {"kind": "client", "kind": "resource"}}}', "dup.json")
    err = load_error(path)
    assert_problem(err, path, "", "duplicate key 'kind'")


def test_deep_nesting_is_an_input_error(tmp_path: Path) -> None:
    for name, text in (
        ("deep.yaml", "a: " + "[" * 20000),
        ("deep2.yaml", "[" * 5000 + "]" * 5000),
        ("deep.json", "[" * 100000),
    ):
        path = write(tmp_path, text, name)
        assert_problem(load_error(path), path, "", "nested too deeply")


@pytest.mark.parametrize(
    "template",
    [
        '!!python/object/apply:os.system ["touch {marker}"]\n',
        'name: x\nnodes:\n  c: !!python/object/apply:os.system ["touch {marker}"]\n',
        'name: !!python/object/apply:subprocess.check_call [["touch", "{marker}"]]\n',
        '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]\n',
        "name: !!python/name:os.system\n",
        "name: !!python/tuple [a, b]\n",
    ],
)
def test_python_tags_are_rejected_and_never_run(tmp_path: Path, template: str) -> None:
    marker = tmp_path / "pwned"
    path = write(tmp_path, template.format(marker=marker))
    err = load_error(path)
    assert str(err).startswith(f"{path}: line ")
    assert "tags that build objects are not allowed" in str(err)
    assert "python/" in str(err)
    assert not marker.exists(), "the YAML tag was executed"


def test_python_tags_rejected_by_parse_text_too(tmp_path: Path) -> None:
    marker = tmp_path / "pwned2"
    with pytest.raises(InputError) as info:
        parse_text(f'!!python/object/apply:os.system ["touch {marker}"]', "inline")
    assert str(info.value).startswith("inline: line 1, column 1: ")
    assert not marker.exists()


def test_custom_tags_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "name: !secret vault/key\nnodes: {}\n")
    assert_problem(load_error(path), path, "line 1, column 7", "'!secret'", "not allowed")


def test_from_dict_uses_its_source_label(spa: dict[str, Any]) -> None:
    bad = copy.deepcopy(spa)
    bad["nodes"]["spa"]["platform"] = "desktop"
    with pytest.raises(InputError) as info:
        Architecture.from_dict(bad)
    assert str(info.value).startswith("<python>: nodes.spa.platform: ")
    with pytest.raises(InputError) as info:
        Architecture.from_dict(bad, source="inline-model")
    assert str(info.value).startswith("inline-model: nodes.spa.platform: ")


# --------------------------------------------------------------------------- InputError itself


def test_input_error_formatting() -> None:
    err = InputError("m.yaml", [Problem("nodes.a", "bad"), Problem("", "worse")])
    assert str(err) == "m.yaml: nodes.a: bad\nm.yaml: worse"
    assert err.args == (str(err),)
    assert str(InputError("m.yaml")) == "m.yaml: invalid input"
    assert InputError.single("x", "p", "m").problems == [Problem("p", "m")]
    assert format_loc(("nodes", "spa", "leaks", 0, "rate")) == "nodes.spa.leaks[0].rate"
    assert format_loc(("edges", 2, 1)) == "edges[2][1]"
    assert format_loc(()) == ""


def test_input_error_survives_pickling() -> None:
    import pickle

    err = InputError("m.yaml", [Problem("nodes.a", "bad")])
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, InputError)
    assert again.source == "m.yaml" and again.problems == err.problems
    assert str(again) == str(err)
