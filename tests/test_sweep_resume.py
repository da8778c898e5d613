"""A sweep killed at any moment (SIGKILL, or Ctrl-C) and resumed ends with exactly the rows of an uninterrupted one.

Real processes: `python -m tokensim sweep EXP --out DIR -j 2` in its own session, so the
kill reaches the pool's workers too, as when a machine or a job scheduler kills it.
Each kill may land before anything is stored, mid-way, or after the sweep ended; the
comparison holds in every case.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tokensim.experiment import Experiment, load_results
from tokensim.experiment.store import ResultStore

# 2 x 8 x 100 = 1600 small runs: about 5 s on two cores, long enough for kills to land mid-way
# (chunks are written every 2 s or 500 rows: three or four of them)
SWEEP = """\
name: kill-me
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  policy.access_ttl: [5m, 15m, 1h, 8h]
  policy.rotation: [false, true]
design: grid
replications: 100
seed: 11
horizon: 60d
"""
RUNS = 2 * 8 * 100


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "kill.yaml"
    path.write_text(SWEEP)
    return path


@pytest.fixture(scope="module")
def reference(experiment_file, tmp_path_factory) -> pd.DataFrame:
    """The uninterrupted sweep, as stored."""
    out = tmp_path_factory.mktemp("reference") / "out"
    Experiment.from_yaml(experiment_file).run(out, workers=2, progress=False)
    frame = load_results(out)
    assert len(frame) == RUNS and frame["run_id"].is_unique
    return frame


def start(experiment: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tokensim", "sweep", str(experiment), "--out", str(out), "-j", "2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def chunks(out: Path) -> int:
    return len(ResultStore(out).parts())


def interrupt(proc: subprocess.Popen, out: Path, when: float | int | str, sig: int = signal.SIGKILL) -> tuple[int, str]:
    """Send ``sig`` to the sweep's whole process group after ``when`` seconds, or once ``"+N"`` new chunks are stored."""
    before = chunks(out)
    if isinstance(when, str):
        new, deadline = int(when), time.monotonic() + 60
    else:
        new, deadline = None, time.monotonic() + when
    while time.monotonic() < deadline and proc.poll() is None:
        if new is not None and chunks(out) >= before + new:
            break
        time.sleep(0.01)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:  # finished in the meantime
            pass
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # never leave a sweep behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, err


def check_partial(out: Path, reference: pd.DataFrame) -> int:
    """Whatever a kill left is whole, undoubled and right; returns how many runs are stored."""
    if ResultStore(out).manifest() is None:
        return 0
    stored = load_results(out)
    if stored.empty:
        return 0
    assert stored["run_id"].is_unique
    expected = reference[reference["run_id"].isin(stored["run_id"])].reset_index(drop=True)
    assert len(expected) == len(stored)
    pd.testing.assert_frame_equal(stored, expected, check_exact=True)
    return len(stored)


def finish(experiment: Path, out: Path, reference: pd.DataFrame) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "tokensim", "sweep", str(experiment), "--out", str(out), "-j", "2", "--resume"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert f"{RUNS} runs in" in res.stdout
    result = load_results(out)
    assert result["run_id"].is_unique
    assert set(result["run_id"]) == set(reference["run_id"])
    pd.testing.assert_frame_equal(result.sort_values("run_index").reset_index(drop=True), reference, check_exact=True)


def test_killed_again_and_again_then_resumed_equals_an_uninterrupted_sweep(experiment_file, reference, tmp_path):
    out = tmp_path / "out"
    stored = []
    # right away (before anything is written), after 2 s (runs in flight, none stored yet),
    # once a chunk is stored (mid-way)
    for i, when in enumerate([0.0, 2.0, "+1"]):
        proc = start(experiment_file, out, *(["--resume"] if i else []))
        code, err = interrupt(proc, out, when)
        assert code in (-signal.SIGKILL, 0), err
        assert "Traceback" not in err
        stored.append(check_partial(out, reference))
    assert stored == sorted(stored), "a resume never loses what was stored"
    finish(experiment_file, out, reference)


def test_killed_once_late_then_resumed(experiment_file, reference, tmp_path):
    out = tmp_path / "out"
    proc = start(experiment_file, out)
    code, err = interrupt(proc, out, "+2")
    assert code in (-signal.SIGKILL, 0), err
    check_partial(out, reference)
    finish(experiment_file, out, reference)


def test_ctrl_c_keeps_what_finished_and_resume_completes(experiment_file, reference, tmp_path):
    out = tmp_path / "out"
    proc = start(experiment_file, out)
    code, err = interrupt(proc, out, "+1", signal.SIGINT)  # the whole group, as a terminal's Ctrl-C
    assert "Traceback" not in err
    stored = check_partial(out, reference)
    if code != 0:  # the sweep may have ended before the signal
        assert code == 130, err
        assert f"interrupted: {stored} runs are stored in {out}; continue with --resume" in err
    finish(experiment_file, out, reference)
