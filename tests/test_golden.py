"""Byte-for-byte regression against the golden set recorded before issue 10's restructure.

Every case of tests/golden/cases.py is run again and written down the same way; the
text must equal the recorded line. A change meant to move numbers re-records with
``python tests/golden/record.py`` (and says so); any other difference is a bug.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import tokensim

GOLDEN = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN))
import cases  # noqa: E402
import record  # noqa: E402


def golden(name: str) -> list[str]:
    with gzip.open(GOLDEN / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()


def first_difference(expected: str, actual: str) -> str:
    """The fields that differ, for a readable failure."""
    want, got = json.loads(expected), json.loads(actual)
    if not (isinstance(want, dict) and isinstance(got, dict)):
        return f"expected {expected[:300]}\n     got {actual[:300]}"
    keys = list(dict.fromkeys([*want, *got]))
    diff = {
        k: (want.get(k, "<missing>"), got.get(k, "<missing>"))
        for k in keys
        if json.dumps(want.get(k, "<missing>")) != json.dumps(got.get(k, "<missing>"))
    }
    order = "" if list(want) == list(got) else " (key order differs)"
    return f"differing fields{order}: {diff}"


RECORDS = golden("records")
TRACES = golden("traces")
PROCESS = golden("process_path")
MODELS = cases.models()


def test_the_golden_set_covers_every_builtin_model_and_preset():
    assert len(RECORDS) == len(MODELS) * len(cases.policies()) * len(cases.SEEDS_AND_REPLICATIONS)
    assert len(TRACES) == len(MODELS) * len(cases.policies())
    traced = {json.loads(line)["model"] for line in TRACES}
    assert traced == set(MODELS)
    # the set compares something: most models' runs see leaks that succeed
    hit = {json.loads(line)["model"] for line in RECORDS if json.loads(line)["unauthorized_requests"] > 0}
    assert len(hit) == len(MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_records_and_traces_are_unchanged(model: str):
    arch = tokensim.load_model(model)
    pols = cases.policies()
    per_model = len(pols) * len(cases.SEEDS_AND_REPLICATIONS)
    start = MODELS.index(model) * per_model
    expected = iter(RECORDS[start : start + per_model])
    horizon = cases.HORIZON_OF.get(model, cases.HORIZON)
    for pol in pols:
        for seed, rep in cases.SEEDS_AND_REPLICATIONS:
            actual = cases.record_text(tokensim.simulate(arch, pol, seed=seed, replication=rep, horizon=horizon).record)
            want = next(expected)
            assert actual == want, f"{model} {pol.name} seed {seed} replication {rep}: {first_difference(want, actual)}"
    traces = [json.loads(line) for line in TRACES if json.loads(line)["model"] == model]
    for pol, want in zip(pols, traces):
        one = tokensim.simulate(
            arch, pol, seed=1, replication=0, trace=True, horizon=cases.TRACE_HORIZON_OF.get(model, cases.TRACE_HORIZON)
        )
        assert cases.record_text(one.record) == want["record"], f"{model} {pol.name} traced record"
        assert cases.trace_summary(one.trace_rows or []) == want["trace"], f"{model} {pol.name} trace"


def test_the_process_path_for_token_only_families_is_unchanged():
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for line in PROCESS:
        row = json.loads(line)
        expected[(row.pop("model"), row.pop("policy"))] = row
    models = dict.fromkeys(model for model, _ in expected)
    assert set(models) == set(record.PROCESS_PATH_MODELS)
    for model in models:
        arch = tokensim.load_model(model)
        for pol in cases.policies():
            got = cases.process_path_record(arch, pol, 1, 0, cases.TRACE_HORIZON)
            assert cases.canonical(got) == cases.canonical(expected[(model, pol.name)]), f"{model} {pol.name}"


def test_a_sweep_folder_holds_the_same_rows(tmp_path: Path):
    expected = golden("sweep")
    (tmp_path / "experiment.yaml").write_text(cases.SWEEP_EXPERIMENT)
    tokensim.Experiment.from_yaml(tmp_path / "experiment.yaml").run(tmp_path / "results", workers=1, progress=False)
    stored = tokensim.load_results(tmp_path / "results")
    assert cases.canonical(list(stored.columns)) == expected[0]
    rows = [cases.record_text(row) for row in stored.to_dict("records")]
    assert len(rows) == len(expected) - 1
    for want, got in zip(expected[1:], rows):
        assert got == want, first_difference(want, got)
