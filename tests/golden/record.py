"""Record the golden regression set (see cases.py). Run from the repository root:

    python tests/golden/record.py

It overwrites the files beside it; commit them only with a change that is meant
to move numbers, and say which numbers moved and why.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cases  # noqa: E402

import tokensim  # noqa: E402

PROCESS_PATH_MODELS = (
    "spa_behind_proxy",
    "mobile_gateway",
    "ci_pipeline",
    "incidents/okta_har_2023",
    "incidents/storm_0558_2023",
)


def lines() -> dict[str, list[str]]:
    """Every golden file's lines, computed now."""
    out: dict[str, list[str]] = {"records": [], "traces": [], "process_path": [], "sweep": []}
    pols = cases.policies()
    for model in cases.models():
        arch = tokensim.load_model(model)
        for pol in pols:
            for seed, rep in cases.SEEDS_AND_REPLICATIONS:
                one = tokensim.simulate(
                    arch, pol, seed=seed, replication=rep, horizon=cases.HORIZON_OF.get(model, cases.HORIZON)
                )
                out["records"].append(cases.record_text(one.record))
            traced = tokensim.simulate(
                arch,
                pol,
                seed=1,
                replication=0,
                horizon=cases.TRACE_HORIZON_OF.get(model, cases.TRACE_HORIZON),
                trace=True,
            )
            out["traces"].append(
                cases.canonical(
                    {
                        "model": model,
                        "policy": pol.name,
                        "record": cases.record_text(traced.record),
                        "trace": cases.trace_summary(traced.trace_rows or []),
                    }
                )
            )
            if model in PROCESS_PATH_MODELS:
                rec = cases.process_path_record(arch, pol, 1, 0, cases.TRACE_HORIZON)
                out["process_path"].append(cases.canonical({"model": model, "policy": pol.name, **rec}))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "experiment.yaml").write_text(cases.SWEEP_EXPERIMENT)
        frame = tokensim.Experiment.from_yaml(Path(tmp) / "experiment.yaml").run(
            Path(tmp) / "results", workers=1, progress=False
        )
        stored = tokensim.load_results(Path(tmp) / "results")
        assert stored.equals(frame)
        out["sweep"].append(cases.canonical(list(stored.columns)))
        for row in stored.to_dict("records"):
            out["sweep"].append(cases.record_text(row))
    return out


def main() -> None:
    for name, rows in lines().items():
        with gzip.open(HERE / f"{name}.jsonl.gz", "wt", encoding="utf-8", compresslevel=9) as fh:
            for row in rows:
                fh.write(row + "\n")
        print(f"{name}: {len(rows)} lines")


if __name__ == "__main__":
    main()
