"""Incident models as predictions (MODEL-v2.md section 8; tests/incident_predictions.py and .yaml).

Every documented outcome is recomputed here: a prediction's verdict (inside or outside the model's 90%
prediction interval) must be the one the data file and docs/incidents.md report, whichever it is; the
table in the docs must be the one the script generates; a parameter named fitted must say so in its
model file, and no prediction may run with a parameter fitted to the outcome it predicts.
"""

from __future__ import annotations

import re
from typing import Any

import incident_predictions as ip
import pytest
import yaml

from tokensim.builtin import builtin_models

DATA = ip.load_data()
INCIDENTS = sorted(p.stem for p in builtin_models()["incidents/okta_har_2023"].parent.glob("*.yaml"))
CASES = [(name, case) for name, entry in DATA.items() for case in entry["outcomes"]]


def is_prediction(case: dict[str, Any]) -> bool:
    return "input" not in case and "fitted" not in case


@pytest.fixture(scope="module")
def computed() -> list[ip.Prediction]:
    return ip.predictions(DATA)


def test_every_incident_model_has_documented_outcomes_and_the_named_ones_a_prediction():
    assert sorted(DATA) == INCIDENTS
    for name in INCIDENTS:
        assert DATA[name]["outcomes"], name
    # MODEL-v2.md section 8 (issue 13): each incident model is tested against at least one documented outcome
    # that no parameter was fitted to
    for name in INCIDENTS:
        assert any(is_prediction(c) for c in DATA[name]["outcomes"]), name


def test_each_verdict_is_what_the_model_gives(computed):
    for (name, case), found in zip(CASES, computed, strict=True):
        assert found.incident == name and found.outcome == case["outcome"]
        expected = case.get("verdict", "input" if "input" in case else "fitted" if "fitted" in case else None)
        assert found.verdict == expected, (name, case["id"], found)
        if is_prediction(case):
            assert found.low is not None and found.high is not None and found.median is not None
            assert found.low <= found.median <= found.high
            assert found.runs >= 30, (name, case["id"])  # a 90% interval needs its tails populated


def test_the_table_in_the_docs_is_the_generated_one(computed):
    text = ip.DOC.read_text(encoding="utf-8")
    assert ip.doc_table(text) == ip.table(computed), "regenerate: python tests/incident_predictions.py --write"


def test_the_named_outcomes_are_reported_with_their_records(computed):
    by_id = {(p.incident, c["id"]): p for (_, c), p in zip(CASES, computed, strict=True)}
    assert by_id[("okta_har_2023", "hijacked")].documented == "5"
    assert by_id[("salesloft_drift_2025", "organisations")].documented == "at least 700"
    assert by_id[("storm_0558_2023", "organisations")].documented == "22"
    # CircleCI: every documented date took a parameter; the customers reached is the prediction, and it misses
    assert by_id[("circleci_2023", "alert")].verdict == by_id[("circleci_2023", "rotation")].verdict == "fitted"
    reached = by_id[("circleci_2023", "customers_reached")]
    assert reached.documented == "at most 4" and reached.verdict == "outside"
    assert reached.low is not None and reached.low > 4  # every customer whose secrets were taken is reached
    # Internet Archive: the two weeks unrotated took the response time; the time to detection is the prediction
    assert by_id[("internet_archive_2024", "unrotated")].verdict == "fitted"
    unnoticed = by_id[("internet_archive_2024", "unnoticed")]
    assert unnoticed.documented == "30" and unnoticed.verdict == "inside"


def test_a_prediction_ending_at_detection_does_not_depend_on_the_response_time():
    # internet_archive_2024's detect_days: its response time was fitted to the record it would otherwise predict
    case = next(c for c in DATA["internet_archive_2024"]["outcomes"] if c["id"] == "unnoticed")
    slow = {
        **case,
        "overrides": {"defender.response_time": {"distribution": "lognormal", "median": "60d", "sigma": 0.3}},
    }
    slow["replications"] = 5
    assert ip.samples("internet_archive_2024", {**case, "replications": 5}) == pytest.approx(
        ip.samples("internet_archive_2024", slow)
    )


def test_given_incident_drops_the_runs_without_one():
    case = next(c for c in DATA["circleci_2023"]["outcomes"] if c["id"] == "customers_reached")
    kept = ip.samples("circleci_2023", {**case, "replications": 20})
    every = ip.samples("circleci_2023", {**case, "replications": 20, "given_incident": False})
    assert len(every) == 20 and 0 < len(kept) <= 20
    assert sorted(kept) == sorted(v for v in every if v > 0)


def comment_lines(text: str, line: int) -> str:
    """The comment on a line of a YAML file and the comment block directly above it."""
    lines = text.splitlines()
    found = [lines[line].partition("#")[2]]
    above = line - 1
    while above >= 0 and lines[above].lstrip().startswith("#"):
        found.append(lines[above])
        above -= 1
    return " ".join(found)


def key_lines(text: str, path: str) -> list[int]:
    """The lines (0-based) of each mapping key and list item along a dotted path."""
    node: Any = yaml.compose(text)
    lines = []
    for key in path.split("."):
        if isinstance(node, yaml.SequenceNode):
            node = node.value[int(key)]
            lines.append(node.start_mark.line)
        else:
            matches = [(k, v) for k, v in node.value if k.value == key]
            assert matches, (path, key)
            lines.append(matches[0][0].start_mark.line)
            node = matches[0][1]
    return lines


def parameter_comment(text: str, path: str) -> str:
    """What the file says of a parameter: the comment on its line and the comment block above it, or above
    the list item holding it (a leak's comments stand above ``- vector:``)."""
    lines = key_lines(text, path)
    return " ".join(comment_lines(text, line) for line in lines[-2:])


def test_every_fitted_parameter_is_named_fitted_in_its_model_file():
    for name, entry in DATA.items():
        text = builtin_models()[f"incidents/{name}"].read_text(encoding="utf-8")
        for path in entry.get("fitted", {}):
            assert "fitted" in parameter_comment(text, path).lower(), (name, path)
        assert "calibrat" not in text.lower(), name  # the files say fitted, and to what


def test_every_input_is_the_documented_value():
    for name, entry in DATA.items():
        model = ip.model_dict(name)
        outcomes = {c["id"]: c for c in entry["outcomes"]}
        for path, outcome in entry.get("inputs", {}).items():
            assert ip.get_path(model, path) == outcomes[outcome]["documented"], (name, path)
            assert outcomes[outcome]["input"] == path


def test_no_prediction_runs_with_a_parameter_fitted_to_what_it_predicts():
    for name, entry in DATA.items():
        for case in filter(is_prediction, entry["outcomes"]):
            replaced = set((case.get("borrow") or {}).get("paths", [])) | set(case.get("overrides") or {})
            for path, fit in entry.get("fitted", {}).items():
                if fit["to"] == case["id"]:
                    assert path in replaced, (name, case["id"], path)
            borrow = case.get("borrow")
            if borrow:  # the donor's parameters were fitted to the donor's own record
                donor = DATA[borrow["from"]]
                assert borrow["from"] != name
                for path in borrow["paths"]:
                    assert path in donor.get("fitted", {}), (borrow["from"], path)


def test_a_borrowed_parameter_replaces_the_models_own():
    for name, entry in DATA.items():
        for case in entry["outcomes"]:
            borrow = case.get("borrow")
            if not borrow:
                continue
            arch = ip.architecture(name, case).spec.model_dump(mode="json")
            own, donor = ip.model_dict(name), ip.model_dict(borrow["from"])
            for path in borrow["paths"]:
                # the run uses the donor's value, and it is not the model's own fitted one
                assert ip.get_path(donor, path) != ip.get_path(own, path), (name, path)
                if path == "defender.detection_probability":
                    assert ip.get_path(arch, path) == ip.get_path(donor, path)


@pytest.mark.parametrize(
    ("documented", "low", "high", "at_least", "expected"),
    [
        (5, 20, 33, "", "outside"),
        (5, 3, 6, "", "inside"),
        (5, 5, 5, "", "inside"),
        (700, 0, 699, "yes", "outside"),
        (700, 0, 700, "yes", "inside"),
        ([8, 15], 3.7, 7.3, "", "outside"),
        ([8, 15], 3.7, 8.0, "", "inside"),
        ([8, 15], 15.0, 20, "", "inside"),
    ],
)
def test_verdict_known_answers(documented, low, high, at_least, expected):
    assert ip.verdict(documented, low, high, bool(at_least)) == expected


@pytest.mark.parametrize(
    ("documented", "low", "high", "expected"),
    [(4, 100, 100, "outside"), (4, 4, 100, "inside"), (4, 0, 2, "inside"), (4, 5, 6, "outside")],
)
def test_verdict_known_answers_at_most(documented, low, high, expected):
    assert ip.verdict(documented, low, high, at_most=True) == expected
    assert ip.shown(documented, at_most=True) == "at most 4"


def test_abuse_days_from_a_hand_made_trace():
    import pandas as pd

    trace = pd.DataFrame(
        {
            "event": ["exploit", "revocation", "exploit", "revocation", "exploit", "exploit", "exploit"],
            "client": ["a", "a", "a", "a", "a", "b", "b"],
            "instance": [0, 0, 2, 2, 1, 0, 1],
            "time_hours": [24.0, 72.0, 24.0, 120.0, 48.0, 0.0, 100.0],
        }
    )
    # campaign (a, 24 h): families of 2 and 4 days -> 3; (a, 48 h): censored at 120 h -> 3 days;
    # (b, 0 h): censored -> 5 days; (b, 100 h) starts in the second half of the horizon: left out
    assert ip.abuse_days(trace, 120.0) == pytest.approx([3.0, 3.0, 5.0])
    assert ip.abuse_days(trace.iloc[0:0], 120.0) == []
    assert ip.abuse_days(trace, 120.0, client="b") == pytest.approx([5.0])


def test_detect_days_from_a_hand_made_trace():
    import pandas as pd

    trace = pd.DataFrame(
        {
            "event": ["exploit", "detection", "revocation", "exploit", "detection", "exploit"],
            "client": ["a", "a", "a", "b", "b", "c"],
            "instance": [0, 0, 0, 0, 0, 0],
            "time_hours": [24.0, 48.0, 96.0, 0.0, 12.0, 10.0],
        }
    )
    # a: detected 1 day after its first use (the revocation 2 days later does not count); b: half a day;
    # c: never detected, censored at the horizon (110 h)
    assert ip.abuse_days(trace, 120.0, end="detection") == pytest.approx([1.0, 0.5, 110 / 24])
    assert ip.abuse_days(trace, 120.0) == pytest.approx([3.0, 5.0, 110 / 24])


PROVENANCE = ("documented", "assumption", "fitted", "facts.md", "what-if", "rfc ", "as heroku", "as the ", "as crm_api")
NUMBER = re.compile(r"^-?[\d.]+(e\d+)?(/(h|d|year|min|s))?$|^[\d.]+(s|m|h|d|y)$")


def numeric_parameters(node: Any, path: str = "") -> list[tuple[str, int]]:
    """Every number, rate, duration or delay distribution in a model file, with the line of its key."""
    found = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = f"{path}.{key.value}".lstrip(".")
            if key.value in ("replay_delay", "response_time") or (
                isinstance(value, yaml.ScalarNode) and NUMBER.match(value.value)
            ):
                found.append((here, key.start_mark.line))
            elif not isinstance(value, yaml.ScalarNode):
                found.extend(numeric_parameters(value, here))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found.extend(numeric_parameters(item, f"{path}.{i}"))
    return found


@pytest.mark.parametrize("name", INCIDENTS)
def test_every_numeric_parameter_says_where_it_comes_from(name):
    # documented (with its source), an assumption, fitted (to what), or a what-if: on the parameter's line,
    # in the comment block above it, or above the list item holding it (a leak's comments)
    text = builtin_models()[f"incidents/{name}"].read_text(encoding="utf-8")
    missing = [
        path
        for path, _ in numeric_parameters(yaml.compose(text))
        if not any(word in parameter_comment(text, path).lower() for word in PROVENANCE)
    ]
    assert not missing, missing
