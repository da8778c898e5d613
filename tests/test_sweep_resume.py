"""A sweep killed at any moment (SIGKILL, or Ctrl-C) and resumed ends with exactly the rows of an uninterrupted one.

Real processes: `python -m tokensim sweep EXP --out DIR -j 2` in its own session, so the
kill reaches the pool's workers too, as when a machine or a job scheduler kills it.
Each kill may land before anything is stored, mid-way, or after the sweep ended; the
comparison holds in every case, and no process of the sweep outlives it.
tests/test_signals.py reuses these helpers for kills of the sweep's process alone, and
for the other executors.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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


def start(experiment: Path, out: Path, *extra: str, executor: tuple[str, ...] = ("-j", "2")) -> subprocess.Popen:
    """``tokensim sweep`` in a new session (its id is the sweep's pid), on ``executor``."""
    return subprocess.Popen(
        [sys.executable, "-m", "tokensim", "sweep", str(experiment), "--out", str(out), *executor, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def chunks(out: Path) -> int:
    return len(ResultStore(out).parts())


def session_processes(sid: int) -> list[str]:
    """The live processes of session ``sid``, as "pid command" (a zombie has ended; only its parent has not reaped it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()  # state, ppid, pgrp, session, ...
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            found.append(f"{entry.name} {command[:150].strip()}")
    return found


def survivors(sid: int, grace: float = 15.0) -> list[str]:
    """The processes of session ``sid`` still alive after up to ``grace`` seconds (none, once they have all ended)."""
    deadline = time.monotonic() + grace
    while (alive := session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def interrupt(
    proc: subprocess.Popen, out: Path, when: float | int | str, sig: int = signal.SIGKILL, *, group: bool = True
) -> tuple[int, str]:
    """Send ``sig`` after ``when`` seconds, or once ``"+N"`` new chunks are stored; returns the exit status and stderr.

    To the sweep's whole process group (a terminal's Ctrl-C, a job scheduler's kill), or with
    ``group=False`` to the sweep's process alone (``kill PID``, an out-of-memory kill). Then
    asserts that no process of the sweep's session outlives it by more than a grace period
    (and kills any that does, by its pid).
    """
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
        with contextlib.suppress(ProcessLookupError):  # finished in the meantime
            if group:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
    # The pipes stay open while any child holds them: read them aside, wait for the sweep's process.
    with ThreadPoolExecutor(1) as reader:
        output = reader.submit(proc.communicate)
        try:
            proc.wait(timeout=60)
        finally:
            left = survivors(proc.pid)
            for line in left:  # never leave a sweep behind
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(line.split()[0]), signal.SIGKILL)
        _, err = output.result(timeout=60)
    assert not left, f"processes of the sweep outlived it: {left}"
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
    assert f"{len(reference)} runs in" in res.stdout
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
        assert f"interrupted by SIGINT: {stored} runs are stored in {out}; continue with --resume" in err
    finish(experiment_file, out, reference)


def pool_workers(sweep_pid: int) -> list[int]:
    """The pids of the sweep's pool workers: its children, CPython's resource tracker excepted."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == sweep_pid and b"resource_tracker" not in command:
            found.append(int(entry.name))
    return found


def test_a_worker_killed_alone_ends_the_sweep_with_a_message_and_resume_completes(experiment_file, reference, tmp_path):
    # what the out-of-memory killer does: one worker dies, nobody signals the sweep
    out = tmp_path / "out"
    proc = start(experiment_file, out)
    deadline = time.monotonic() + 60
    while chunks(out) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = pool_workers(proc.pid)
    assert workers, "the sweep runs on a pool of workers"
    os.kill(workers[0], signal.SIGKILL)
    code, err = interrupt(proc, out, 60, signal.SIGCONT)  # no signal to the sweep: wait for it to end
    if code == 0:
        pytest.skip("the sweep finished before the worker was killed")
    assert code == 1, err
    assert "Traceback" not in err
    assert "a worker process of the sweep died unexpectedly" in err and "--resume" in err
    check_partial(out, reference)
    finish(experiment_file, out, reference)
