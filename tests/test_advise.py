"""``tokensim advise`` (issue 14): from a model to the report in one command, with an estimate and stopping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tokensim


def _advise(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokensim", "advise", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_advise_runs_the_default_experiment_and_writes_the_report(tmp_path):
    out = tmp_path / "runs"
    # scaled down from the defaults (365d, up to 200 replications) so that the test takes seconds
    done = _advise("workload_direct", "--out", str(out), "--horizon", "60d", "--max-replications", "6", "-j", "2",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "advise: 120 runs first (6 replications of 20 configurations), about" in done.stderr
    assert f"wrote {out} (" in done.stderr and f"wrote {out / 'report.html'} (the report)" in done.stdout
    assert "verdicts (the report's first screen):\n  workload-direct: " in done.stdout  # the answer, on the terminal
    rows = tokensim.load_results(out)
    assert set(rows["policy"]) == {"bearer", "hybrid", "hybrid_jit", "dpop", "mtls"}
    assert set(rows["policy.access_ttl"].astype(str)) == {"5m", "1h"} and rows["policy.rotation"].nunique() == 2
    assert rows.groupby(["policy", "policy.access_ttl", "policy.rotation"]).size().min() >= 6
    page = (out / "report.html").read_text()
    assert "Which token policy should workload_direct use, with which access-token TTL and rotation?" in page
    assert 'class="verdict"' in page and 'class="findings"' in page

    again = _advise("workload_direct", "--out", str(out), "--horizon", "60d", "--max-replications", "6", cwd=tmp_path)
    assert again.returncode == 2 and "pass --resume" in again.stderr
    resumed = _advise("workload_direct", "--out", str(out), "--horizon", "60d", "--max-replications", "6",
                      "--resume", "-j", "1", cwd=tmp_path)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert len(tokensim.load_results(out)) == len(rows)  # nothing ran twice


def test_advise_refuses_bad_input_in_one_line(tmp_path):
    done = _advise("no_such_model", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert done.returncode == 2 and "no_such_model: no such file or built-in model" in done.stderr
    assert "Traceback" not in done.stderr
    done = _advise("workload_direct", "--out", str(tmp_path / "y"), "--rel-ci", "-1", cwd=tmp_path)
    assert done.returncode == 2 and "rel_ci" in done.stderr and "Traceback" not in done.stderr
