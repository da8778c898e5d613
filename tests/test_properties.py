"""Property tests: malformed documents give `InputError` (or load, if they happen to be
valid), never another exception.

Documents come from random YAML text, random nested data and mutations of the valid
spa example (fields deleted, values replaced by random types, random keys added).
Whatever loads must also survive route analysis and hold finite numbers only.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensim.errors import InputError, format_loc
from tokensim.model.architecture import Architecture
from tokensim.model.loading import parse_text, validate_as
from tokensim.model.policy import PARAMETERS, PRESETS, Policy, preset
from tokensim.model.routes import analyse
from tokensim.model.schema import NODE_CLASSES, Attacker, Defender, Leak, ModelFile

SPA_PATH = Path(__file__).resolve().parents[1] / "models" / "spa_behind_proxy.yaml"
SPA: dict[str, Any] = yaml.safe_load(SPA_PATH.read_text(encoding="utf-8"))
SOURCE = "prop.yaml"

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Every field name the schema knows: random keys are drawn from these too, so that
#: additions often land on real fields in the wrong place.
FIELD_NAMES = sorted(
    {name for cls in (*NODE_CLASSES.values(), Leak, Attacker, Defender, ModelFile) for name in cls.model_fields}
    | {"distribution", "median", "sigma", "mean", "low", "high", "value"}
)
WORDS = sorted(
    set(NODE_CLASSES)
    | set(SPA["nodes"])
    | {
        "browser",
        "workload",
        "ci",
        "xss",
        "log",
        "malware",
        "signing_key",
        "bound",
        "any",
        "preserve",
        "strip",
        "fail",
        "dpop",
        "mtls",
        "bearer",
        "lognormal",
        "exponential",
        "fixed",
        "uniform",
        "software",
        "none",
        "hardware",
        "introspection",
        "jwt",
        "true",
        "no",
        "null",
        "~",
        "",
    }
)

durations = st.from_regex(r"\A-?[0-9]{1,4}(\.[0-9]{1,2})? ?(ms|s|m|min|h|hours|d|days|w|mo|y|year|x|parsec)?\Z")
rates = st.from_regex(r"\A-?[0-9]{1,4}(\.[0-9])? ?/ ?(ms|s|m|h|d|day|w|mo|y|year|fortnight)\Z")
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(WORDS),
    durations,
    rates,
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.sampled_from(WORDS), st.text(max_size=8))


def _containers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4))


values = st.recursive(scalars, _containers, max_leaves=12)


def check_loads(data: Any, source: str = SOURCE) -> Architecture | None:
    """Load plain data as a model; only `InputError` may come out. Return the model, if valid."""
    try:
        arch = Architecture(validate_as(ModelFile, data, source), source)
    except InputError as err:
        check_error(err, source, data)
        return None
    check_valid(arch)
    return arch


def check_error(err: InputError, source: str, data: Any) -> None:
    assert err.source == source
    assert err.problems, "an InputError must say what is wrong"
    text = str(err)
    assert text
    for line in text.splitlines():
        assert line.startswith(f"{source}: ")
    heads = {format_loc((k,)) for k in data} if isinstance(data, dict) else set()
    heads |= set(ModelFile.model_fields)
    for problem in err.problems:
        assert problem.message.strip()
        if problem.path and not problem.path.startswith("line "):
            # every field path starts at a key the document has or a field the schema requires
            assert starts_at(problem.path, heads), problem.path


def starts_at(path: str, heads: set[str]) -> bool:
    return any(path == h or path.startswith((h + ".", h + "[")) for h in heads)


def check_valid(arch: Architecture) -> None:
    """A model that loads has finite numbers and can be analysed under every preset."""

    def walk(value: Any) -> None:
        if isinstance(value, float):
            assert math.isfinite(value), value
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(arch.spec.model_dump())
    assert arch.clients and arch.resources
    for name in PRESETS:
        routes = analyse(arch, preset(name)).groups
        assert {r.status for r in routes} <= {"bearer", "bound", "downgraded", "broken"}
        assert {r.effect for r in routes} <= {"bearer", "bound", "fails"}


def check_text(text: str, *, json_only: bool = False) -> None:
    try:
        data = parse_text(text, SOURCE, json_only=json_only)
    except InputError as err:
        assert err.source == SOURCE and err.problems
        return
    check_loads(data)


# --------------------------------------------------------------------------- random text

YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{},\n #&*!|>'\"?%@`\t.0123456789abkndsy/\\~=<")), max_size=80)


@SETTINGS
@given(st.one_of(st.text(max_size=200), YAMLISH))
def test_random_text_gives_input_error_or_a_model(text: str) -> None:
    check_text(text)


@SETTINGS
@given(st.one_of(st.text(max_size=100), YAMLISH))
def test_random_text_as_json(text: str) -> None:
    check_text(text, json_only=True)


@SETTINGS
@given(st.lists(st.sampled_from(SPA_PATH.read_text(encoding="utf-8").splitlines()), min_size=1, max_size=40))
def test_shuffled_lines_of_the_example(lines: list[str]) -> None:
    check_text("\n".join(lines))


# --------------------------------------------------------------------------- random data


@SETTINGS
@given(values)
def test_random_nested_data(data: Any) -> None:
    check_loads(data)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {"name": values, "nodes": values},
        optional={"edges": values, "attacker": values, "defender": values, "description": values},
    )
)
def test_random_data_in_the_right_shape(data: dict[str, Any]) -> None:
    check_loads(data)


node_specs = st.fixed_dictionaries(
    {"kind": st.sampled_from(sorted(NODE_CLASSES))},
    optional={
        name: st.one_of(scalars, st.lists(scalars, max_size=3))
        for name in (
            "platform",
            "supports",
            "key_storage",
            "exchange",
            "accepts",
            "terminates_tls",
            "forwards_client_cert",
            "rewrites_uri",
            "verifies_binding",
            "logs_tokens",
            "log_retention",
        )
    }
    | {
        "leaks": st.lists(
            st.fixed_dictionaries(
                {"vector": st.sampled_from(WORDS), "rate": st.one_of(rates, scalars)},
                optional={"dwell": st.one_of(durations, scalars)},
            ),
            max_size=2,
        )
    },
)


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), node_specs, min_size=1, max_size=5),
    st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "zz"]), min_size=1, max_size=3), max_size=6),
)
def test_random_graphs(nodes: dict[str, Any], edges: list[list[str]]) -> None:
    check_loads({"name": "g", "nodes": nodes, "edges": edges})


# --------------------------------------------------------------------------- mutations of the example


def paths_in(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(prefix + (k,))
            out.extend(paths_in(v, prefix + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append(prefix + (i,))
            out.extend(paths_in(v, prefix + (i,)))
    return out


def container_at(doc: Any, path: tuple) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def mutated_spa(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(SPA)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = paths_in(doc)
        op = draw(st.sampled_from(["delete", "replace", "add"]))
        if op == "add":
            dicts = [()] + [p for p in paths if isinstance(container_at(doc, p), dict)]
            where = container_at(doc, draw(st.sampled_from(dicts)))
            where[draw(keys)] = draw(values)
            continue
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent = container_at(doc, path[:-1])
        if op == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return doc


@SETTINGS
@given(mutated_spa())
def test_mutations_of_the_example(doc: dict[str, Any]) -> None:
    check_loads(doc)


@SETTINGS
@given(mutated_spa())
def test_mutations_of_the_example_through_yaml_and_json_text(doc: dict[str, Any]) -> None:
    check_text(yaml.safe_dump(doc, sort_keys=False))
    try:
        text = json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError):  # non-string keys or NaN are not JSON
        return
    check_text(text, json_only=True)


REQUIRED = {"name", "nodes", "platform", "vector", "rate", "median", "mean"}
TAGS = {"kind", "distribution"}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(paths_in(SPA), key=repr)))
def test_deleting_a_field_names_it_or_loads(path: tuple) -> None:
    doc = copy.deepcopy(SPA)
    del container_at(doc, path[:-1])[path[-1]]
    arch = check_loads(doc)
    if path[-1] in REQUIRED:
        assert arch is None
        with pytest.raises(InputError) as info:
            Architecture(validate_as(ModelFile, doc, SOURCE), SOURCE)
        assert format_loc(path) in [p.path for p in info.value.problems if p.message == "required field is missing"]
    elif path[-1] in TAGS:
        with pytest.raises(InputError) as info:
            Architecture(validate_as(ModelFile, doc, SOURCE), SOURCE)
        assert f"{SOURCE}: {format_loc(path[:-1])}: field {path[-1]!r} is missing" in str(info.value).splitlines()


# --------------------------------------------------------------------------- policies


@SETTINGS
@given(
    st.sampled_from(PRESETS),
    st.dictionaries(st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=6)), values, max_size=3),
)
def test_policy_overrides_give_input_error_or_a_policy(name: str, overrides: dict[str, Any]) -> None:
    try:
        policy = preset(name).with_overrides(overrides, source="--set")
    except InputError as err:
        assert err.source == "--set" and err.problems
        heads = set(PARAMETERS) | {format_loc((str(k),)) for k in overrides}
        for problem in err.problems:
            assert starts_at(problem.path, heads), problem.path
        return
    assert isinstance(policy, Policy)
    for field in ("access_ttl", "refresh_ttl", "proof_window", "jit_ttl"):
        assert math.isfinite(getattr(policy, field)) and getattr(policy, field) > 0
    assert policy.low_risk and policy.privileged


def test_the_unmutated_example_is_valid() -> None:
    # guards the mutation tests: they start from a document that loads
    arch = check_loads(copy.deepcopy(SPA))
    assert arch is not None and arch.name == "spa-behind-proxy"
    assert check_loads({**copy.deepcopy(SPA), "nodes": {}}) is None
