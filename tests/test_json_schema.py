"""The JSON Schema of input files (`tokensim schema`) agrees with the loader, field by field (issue 14).

Every model, policy and experiment file the repository ships validates against it with jsonschema, and
the bad-input corpus of tests/test_model_loading.py and tests/test_policy.py is refused by both the loader
and the schema, except the cases a per-field schema cannot express (`LOADER_ONLY`): rules across fields,
the size of a number written with a unit, and NaN. Those are listed, and checked to be accepted by the
schema, so that the list stays exact.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
import yaml

from tokensim.errors import InputError
from tokensim.model.architecture import load_model
from tokensim.model.file_schema import DURATION_OR_ZERO_PATTERN, DURATION_PATTERN, RATE_PATTERN, file_value
from tokensim.model.policy import PRESETS, PolicyFile, PresetName, load_policy, preset
from tokensim.model.units import DURATION_UNITS, parse_duration, parse_rate
from tokensim.schemas import SCHEMA_KINDS, file_schema

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILES = sorted([*ROOT.glob("models/*.yaml"), *ROOT.glob("models/incidents/*.yaml")])
BENCHMARK_MODELS = sorted(ROOT.glob("benchmarks/models/*.yaml"))
EXPERIMENT_FILES = sorted(ROOT.glob("experiments/*.yaml"))
loading = importlib.import_module("test_model_loading")  # the loader's bad-input corpus
hostile = importlib.import_module("test_hostile_input")


def validator(kind: str) -> jsonschema.protocols.Validator:
    schema = file_schema(kind)  # type: ignore[arg-type]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


MODEL = validator("model")
POLICY = validator("policy")
EXPERIMENT = validator("experiment")


def schema_errors(v: jsonschema.protocols.Validator, data: Any) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in v.iter_errors(data)]


def as_file(data: Any) -> Any:
    """What a file of ``data`` reads back as (YAML: .nan and .inf are floats)."""
    return yaml.safe_load(yaml.safe_dump(data, sort_keys=False))


# --------------------------------------------------------------------------- the schema itself


def test_the_schema_is_draft_2020_12_and_checks_as_one() -> None:
    for kind in SCHEMA_KINDS:
        schema = file_schema(kind)  # type: ignore[arg-type]
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator
        assert "rules across fields" in schema["description"] and "tokensim check" in schema["description"]


def properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema, with its place, anywhere in a schema ($defs included)."""
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield f"{where}.{name}", prop
        for key, value in node.items():
            yield from properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from properties(value, f"{where}[{i}]")


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_every_property_has_a_description(kind: str) -> None:
    found = list(properties(file_schema(kind)))  # type: ignore[arg-type]
    assert len(found) > {"model": 100, "policy": 20, "experiment": 20}[kind]
    missing = [where for where, prop in found if not prop.get("description", "").strip()]
    assert missing == []


def enums(prop: dict[str, Any]) -> list[Any]:
    """The enum of a property, of its items, or of the members of its anyOf."""
    out = list(prop.get("enum", []))
    for part in [prop.get("items"), *prop.get("anyOf", [])]:
        out += enums(part) if isinstance(part, dict) else []
    return out


def literal_fields() -> Iterator[tuple[str, str, Any]]:
    """(class, field, Literal choices) for every field whose type holds a Literal (kind tags aside)."""
    from tokensim.experiment.spec import ExperimentFile
    from tokensim.model.schema import ModelFile

    seen: set[type] = set()
    todo: list[type] = [ModelFile, PolicyFile, ExperimentFile]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for name, info in cls.model_fields.items():
            stack = [info.annotation]
            while stack:
                t = stack.pop()
                if getattr(t, "__origin__", None) is not None and str(t.__origin__) == "typing.Literal":
                    yield cls.__name__, name, get_args(t)
                elif isinstance(t, type) and hasattr(t, "model_fields"):
                    todo.append(t)
                else:
                    stack += [*get_args(t), *[a for a in getattr(t, "__metadata__", ()) if isinstance(a, type)]]


def test_every_literal_field_has_its_choices_as_an_enum() -> None:
    defs: dict[str, Any] = {}
    for kind in SCHEMA_KINDS:
        schema = file_schema(kind)  # type: ignore[arg-type]
        defs.update(schema.get("$defs", {}))
        defs[schema["title"]] = schema
    checked = 0
    for cls, name, choices in literal_fields():
        prop = defs[cls]["properties"][name]
        shown = enums(prop) + ([prop["const"]] if "const" in prop else [])
        assert set(choices) <= set(shown), (cls, name, choices, prop)
        checked += 1
    assert checked >= 30


def test_defaults_are_written_as_files_write_them() -> None:
    policy = file_schema("policy")["properties"]
    assert policy["access_ttl"]["default"] == "1h" and policy["refresh_ttl"]["default"] == "90d"
    assert policy["reuse_grace"]["default"] == "30s" and policy["low_risk"]["default"] == ["bearer"]
    defs = file_schema("model")["$defs"]
    assert defs["Client"]["properties"]["request_rate"]["default"] == "60/h"
    assert defs["Client"]["properties"]["supports"]["default"] == ["bearer"]  # a default factory
    attacker = defs["Attacker"]["properties"]
    assert attacker["replay_rate"]["default"] == "30/h"
    assert attacker["replay_delay"]["default"] == {"distribution": "lognormal", "median": "1h", "sigma": 1.0}
    assert defs["Intermediary"]["properties"]["log_retention"]["default"] == "30d"
    assert file_schema("experiment")["properties"]["horizon"]["default"] == "90d"


def test_every_default_validates_against_its_own_property() -> None:
    for kind in SCHEMA_KINDS:
        schema = file_schema(kind)  # type: ignore[arg-type]
        for where, prop in properties(schema):
            if "default" in prop:
                sub = {**prop, "$defs": schema.get("$defs", {})}
                assert schema_errors(jsonschema.Draft202012Validator(sub), prop["default"]) == [], where


def test_the_preset_names_type_matches_the_presets() -> None:
    assert get_args(PresetName) == PRESETS


def test_file_value_writes_units() -> None:
    assert file_value(preset("dpop"), None)["access_ttl"] == "1h"
    assert file_value(0.5, "rate") == "12/day" and file_value(0.0, "duration_or_zero") == 0


# --------------------------------------------------------------------------- units: the patterns and the parser


def spellings() -> list[str]:
    """Every unit as the parser takes it: each name, upper case, plural, with and without a space."""
    out = []
    for unit in DURATION_UNITS:
        out += [f"2{unit}", f"1.5 {unit.upper()}", f" .5{unit}s ", f"3e2{unit.capitalize()}"]
    return out


@pytest.mark.parametrize("text", spellings())
def test_every_unit_the_parser_reads_matches_the_patterns(text: str) -> None:
    parse_duration(text)
    parse_rate("1/" + text.strip().lstrip("0123456789.e"))
    assert re.search(DURATION_PATTERN, text) and re.search(DURATION_OR_ZERO_PATTERN, text)
    assert re.search(RATE_PATTERN, "3/" + text.strip().lstrip("0123456789.e"))


@pytest.mark.parametrize(
    "text", ["5", "5 parsecs", "1 hr", "1.h", "h", "-1h", "1h1m", "5/fortnight", "--1h", "1e5", "a week", "0.02/yr"]
)
def test_what_the_parser_refuses_the_patterns_refuse(text: str) -> None:
    for parse, pattern in ((parse_duration, DURATION_OR_ZERO_PATTERN), (parse_rate, RATE_PATTERN)):
        try:
            ok = parse(text) >= 0
        except ValueError:
            ok = False
        assert ok == bool(re.search(pattern, text)), (text, pattern)


@pytest.mark.parametrize(("text", "positive"), [("0s", False), ("-0m", False), ("0.0h", False), ("1ms", True)])
def test_zero_durations_match_where_zero_is_allowed(text: str, positive: bool) -> None:
    assert bool(re.search(DURATION_PATTERN, text)) is positive
    assert re.search(DURATION_OR_ZERO_PATTERN, text)


# --------------------------------------------------------------------------- files the loader accepts


@pytest.mark.parametrize("path", MODEL_FILES + BENCHMARK_MODELS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_model_file_validates(path: Path) -> None:
    load_model(path)
    assert schema_errors(MODEL, yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_model_files_are_all_there() -> None:
    assert len(MODEL_FILES) == 15 and len(BENCHMARK_MODELS) == 4


ACCEPTED_MODELS = {
    "hostile's model": yaml.safe_load(hostile.model()),
    "dollar names": yaml.safe_load(hostile.DOLLARS),
    "plain delays": {
        "name": "m",
        "nodes": {"c": {"kind": "client", "platform": "workload"}, "r": {"kind": "resource"}},
        "edges": [["c", "r"]],
        "attacker": {"replay_delay": "30m", "replay_rate": 0},
        "defender": {"response_time": {"distribution": "uniform", "low": 0, "high": "1 day"}},
    },
}


@pytest.mark.parametrize("name", ACCEPTED_MODELS)
def test_test_models_the_loader_accepts_validate(tmp_path: Path, name: str) -> None:
    load_model(loading.write(tmp_path, ACCEPTED_MODELS[name]))
    assert schema_errors(MODEL, ACCEPTED_MODELS[name]) == []


def test_spa_variants_of_the_loading_tests_validate(tmp_path: Path) -> None:
    spa = yaml.safe_load(loading.SPA.read_text(encoding="utf-8"))
    variants = []
    for leak_delay in ("2d", {"distribution": "exponential", "mean": "1w"}, "0s"):
        data = copy.deepcopy(spa)
        data["nodes"]["spa"]["leaks"][0]["replay_delay"] = leak_delay
        data["nodes"]["orders"].update(privileged_fraction=1, sensitivity=2.5)
        data["defender"]["detection_probability"] = 0
        variants.append(data)
    for i, data in enumerate(variants):
        load_model(loading.write(tmp_path, data, f"v{i}.yaml"))
        assert schema_errors(MODEL, data) == []


@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: p.name)
def test_every_experiment_file_validates(path: Path) -> None:
    import tokensim

    tokensim.Experiment.from_yaml(path)
    assert schema_errors(EXPERIMENT, yaml.safe_load(path.read_text(encoding="utf-8"))) == []


POLICY_FILES = [
    "base: dpop\naccess_ttl: 5m\nrotation: true\nreuse_detection: true\nnonce: true\n",
    "base: hybrid_jit\nname: my-jit\nprivileged: [mtls]\njit_ttl: 2m\n",
    '{"low_risk": "bearer", "privileged": ["dpop"], "access_ttl": "15m"}',
    "low_risk: dpop, mtls\njti_tracking: true\nreuse_grace: 0\noverrides: {legacy: {low_risk: bearer}}\n",
]


@pytest.mark.parametrize("text", POLICY_FILES)
def test_policy_files_the_loader_accepts_validate(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    load_policy(path)
    assert schema_errors(POLICY, yaml.safe_load(text)) == []


# --------------------------------------------------------------------------- the bad-input corpus

#: Corpus cases (by test and index) that a per-field JSON Schema cannot refuse, and why: rules across
#: fields, the size of a number written with a unit, and NaN where a plain number is allowed (JSON has no NaN).
LOADER_ONLY = {
    "non_finite_numbers[3]": "1e999s: a size inside a unit string",
    "non_finite_numbers[4]": "NaN",
    "non_finite_numbers[6]": "NaN",
    "wrong_values_name_the_field_and_what_is_allowed[8]": "uniform high below low: across two fields",
}


def model_corpus() -> Iterator[tuple[str, Callable[[dict[str, Any]], Any], str]]:
    """(id, mutation of the spa example, field path) from every test of the loading tests parametrized by mutations."""
    for name in dir(loading):
        for mark in getattr(getattr(loading, name), "pytestmark", []):
            if mark.name == "parametrize" and mark.args[0][:2] == ("mutate", "where"):
                for i, case in enumerate(mark.args[1]):
                    yield f"{name.removeprefix('test_')}[{i}]", case[0], case[1]


CORPUS = list(model_corpus())


def test_the_corpus_is_the_loading_tests() -> None:
    assert len(CORPUS) == 53 and set(LOADER_ONLY) <= {c[0] for c in CORPUS}


@pytest.mark.parametrize(("case", "mutate", "where"), CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_is_refused_by_loader_and_schema(tmp_path: Path, case: str, mutate: Callable, where: str) -> None:
    data = yaml.safe_load(loading.SPA.read_text(encoding="utf-8"))
    mutate(data)
    path = loading.write(tmp_path, data)
    with pytest.raises(InputError) as info:
        load_model(path)
    assert any(p.path == where for p in info.value.problems), str(info.value)
    errors = schema_errors(MODEL, as_file(data))
    if case in LOADER_ONLY:
        assert errors == [], f"{case} is refused by the schema: take it off LOADER_ONLY"
    else:
        assert errors, f"{case}: the loader refuses {where} ({info.value}), the schema accepts it"


CROSS_FIELD = [
    lambda d: d["nodes"]["edge"].setdefault("leaks", []).append({"vector": "xss", "rate": "1/year"}),
    lambda d: d["nodes"]["spa"]["leaks"][1].update(dwell="1h"),
    lambda d: d["nodes"]["edge"].update(logs_tokens=False),
    lambda d: d["nodes"]["spa"].update(key_storage="none"),
    lambda d: d["edges"].__setitem__(0, ["spa", "edgy"]),
]


@pytest.mark.parametrize("mutate", CROSS_FIELD)
def test_rules_across_fields_are_the_loaders_alone(tmp_path: Path, mutate: Callable) -> None:
    """The schema says so at the top; these files pass it and `tokensim check` refuses them."""
    data = yaml.safe_load(loading.SPA.read_text(encoding="utf-8"))
    mutate(data)
    with pytest.raises(InputError):
        load_model(loading.write(tmp_path, data))
    assert schema_errors(MODEL, data) == []


@pytest.mark.parametrize(
    "data",
    [
        yaml.safe_load(hostile.model(platform=hostile.laughs(levels=3))),  # a list for a platform
        yaml.safe_load(hostile.model(delay="x" * 1000)),
        yaml.safe_load(hostile.model().replace("{kind: resource}", "{kind: resource, f0: 1, f1: 2}")),
        yaml.safe_load(hostile.model().replace("{kind: resource}", "{kind: firewall}")),
    ],
)
def test_hostile_documents_are_refused_by_loader_and_schema(tmp_path: Path, data: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        load_model(loading.write(tmp_path, data))
    assert schema_errors(MODEL, data)


def policy_corpus() -> list[dict[str, Any]]:
    """The bad values of tests/test_policy.py, each as a policy file's content."""
    policy_tests = importlib.import_module("test_policy")
    out = []
    for mark in policy_tests.test_bad_override_values_name_the_field.pytestmark:
        out += [{"base": "dpop", **case[0]} for case in mark.args[1]]
    out += [{"base": b} for b in ("dpopp", ["dpop"], {"a": 1}, 3)]
    out += [{"base": "dpop", "access_tll": "5m"}, {"base": "dpop", "proof_window": "2 minutes ago"}]
    out += [{"overrides": {"mobile": {"acess_ttl": "5m"}}}, {"jti_tracking": "sometimes"}]
    return out


@pytest.mark.parametrize("data", policy_corpus(), ids=lambda d: json.dumps(d)[:40])
def test_policy_corpus_is_refused_by_loader_and_schema(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(InputError):
        load_policy(path)
    assert schema_errors(POLICY, data)


def test_schema_command_prints_each_kind_and_refuses_an_unknown_one() -> None:
    for kind in SCHEMA_KINDS:
        res = subprocess.run(
            [sys.executable, "-m", "tokensim", "schema", "--kind", kind], capture_output=True, text=True
        )
        assert res.returncode == 0 and json.loads(res.stdout) == file_schema(kind)  # type: ignore[arg-type]
    res = subprocess.run(
        [sys.executable, "-m", "tokensim", "schema", "--kind", "polcy"], capture_output=True, text=True
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert (
        res.stderr.strip()
        == "error: --kind: kind: unknown kind 'polcy' (did you mean 'policy'?); use model, policy, experiment"
    )
