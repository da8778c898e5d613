"""Signals: a sweep stopped at random moments leaves no process behind, says what it stored, and resumes exactly.

One results folder, one sweep after another (each resuming the last), with every executor
(-j 2, --dask-local 2, serial) and every way a sweep is stopped: SIGKILL of its process
alone (its pool's workers and its Dask workers must end with it), SIGTERM of its process
alone (a job scheduler's ``kill PID``), and SIGINT, SIGTERM or SIGHUP of its whole process
group (a terminal's Ctrl-C, a service manager, a closed terminal). Each signal comes at a
seeded random delay after an event of the sweep (its command started, its runs started, a
chunk was stored), so that kills land while the command loads the experiment, while a Dask
cluster starts, mid-runs and while a chunk is written. After each: no process of the
sweep's session survives it (`interrupt` checks), stderr holds no traceback and, for a
signal the sweep handles, names the signal and the runs stored, with exit status
128 + the signal's number; what is stored is whole and right. The last sweep resumes to
exactly the rows of an uninterrupted one.

A signal reaching the process while Python is still loading tokensim, before the command
starts (about a second), takes Python's default action, as it does for any Python program;
nothing is written then. The handled signals are sent while the command runs: when its
handlers are installed (its /proc status says so).
"""

from __future__ import annotations

import random
import signal
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_sweep_resume import check_partial, chunks, finish, interrupt, start  # the kill helpers

from tokensim.experiment import Experiment, load_results

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="walks /proc for the sweep's processes")

# 2 x 8 x 60 = 960 small runs: about 2.5 s on two idle cores, so that six sweeps stopped early leave runs to do
SWEEP = """\
name: stop-me
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  policy.access_ttl: [5m, 15m, 1h, 8h]
  policy.rotation: [false, true]
design: grid
replications: 60
seed: 5
horizon: 60d
"""
RUNS = 2 * 8 * 60

POOL = ("-j", "2")
DASK = ("--dask-local", "2")
SERIAL = ("-j", "1")

#: (executor, signal, to the group or to the process alone, event, shortest and longest delay after it, in
#: seconds). The pool's workers, and Dask's, are busy when the sweep's process is killed alone; the
#: Ctrl-C with Dask comes mid-runs (its workers used to print their tracebacks), the SIGKILL while
#: its cluster may still be starting.
STEPS = [
    (POOL, signal.SIGKILL, False, "runs", 0.3, 1.5),
    (DASK, signal.SIGINT, True, "runs", 0.0, 1.0),
    (POOL, signal.SIGTERM, False, "chunk", 0.0, 1.0),
    (DASK, signal.SIGKILL, False, "command", 0.0, 4.0),
    (SERIAL, signal.SIGHUP, True, "runs", 0.0, 1.5),
    (POOL, signal.SIGINT, True, "command", 0.0, 2.0),
]
#: the delays, drawn from a fixed seed: the same moments every time
DELAYS = [round(random.Random(20261201 + i).uniform(step[4], step[5]), 2) for i, step in enumerate(STEPS)]


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "stop.yaml"
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


def catching(pid: int, sig: int) -> bool:
    """Whether process ``pid`` handles ``sig`` (the SigCgt mask of its /proc status): the sweep command is running."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # ended
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (sig - 1) & 1)


def wait_for(proc, out: Path, event: str, started: int) -> bool:
    """Wait for ``event`` of this sweep: its command handles SIGTERM, its runs started (manifest written), a new chunk.

    Whether it came before the sweep ended.
    """
    before = chunks(out)
    manifest = out / "manifest.json"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if event == "command" and catching(proc.pid, signal.SIGTERM):
            return True
        if event == "runs" and manifest.exists() and manifest.stat().st_mtime_ns >= started:
            return True
        if event == "chunk" and chunks(out) > before:
            return True
        time.sleep(0.01)
    return False


def test_a_sweep_stopped_by_every_signal_with_every_executor_leaves_nothing_running_and_resumes_exactly(
    experiment_file, reference, tmp_path
):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    stored = [0]
    for i, ((executor, sig, group, event, *_), delay) in enumerate(zip(STEPS, DELAYS)):
        step = (
            f"step {i}: {' '.join(executor)}, {sig.name} to the {'group' if group else 'process'}, {event} + {delay}s"
        )
        started = time.time_ns()
        proc = start(experiment_file, out, *(["--resume"] if i else []), executor=executor)
        seen = wait_for(proc, out, event, started)
        assert seen or event != "command", f"{step}: the sweep ran and ended without ever handling SIGTERM"
        time.sleep(delay)
        when = 0.0
        if sig != signal.SIGKILL and proc.poll() is None and not catching(proc.pid, signal.SIGTERM):
            # A running sweep handles the signal; one that no longer does is ending on its own (its
            # process exits), every run stored. Let it end: the signal would meet Python's defaults.
            assert check_partial(out, reference) == RUNS, (
                f"{step}: the sweep runs without its handlers (SIGTERM is not handled)"
            )
            when = 60.0
        code, err = interrupt(proc, out, when, sig, group=group)  # asserts that no process of the sweep survives
        assert "Traceback" not in err, f"{step}:\n{err}"
        stored.append(check_partial(out, reference))  # whole, undoubled, the uninterrupted rows
        assert stored[-1] >= stored[-2], f"{step}: a sweep never loses what was stored"
        if code == 0:  # ended before the signal
            assert stored[-1] == RUNS, step
        elif sig == signal.SIGKILL:
            assert code == -signal.SIGKILL, f"{step}: exit status {code}\n{err}"
        else:
            assert code == 128 + sig, f"{step}: exit status {code}\n{err}"
            said = f"interrupted by {sig.name}: {stored[-1]} runs are stored in {out}; continue with --resume"
            assert said in err, f"{step}:\n{err}"
            assert f"tokensim sweep {experiment_file} --out {out} --resume" in err, f"{step}:\n{err}"
    finish(experiment_file, out, reference)  # -j 2 --resume: exactly the uninterrupted rows


def test_experiment_run_installs_no_signal_handler(tmp_path, monkeypatch):
    """From Python, a sweep leaves its caller's signal handlers alone (the command installs its own, and restores them)."""
    installed: list[int] = []
    real = signal.signal

    def spy(sig, handler):
        installed.append(sig)
        return real(sig, handler)

    monkeypatch.setattr(signal, "signal", spy)  # this process only: the pool's workers set theirs in their own
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    exp = Experiment.from_dict(
        {"name": "quiet", "models": ["ci_pipeline"], "policies": ["bearer"], "replications": 8, "horizon": "7d"}
    )
    for workers in (1, 2):
        exp.run(tmp_path / str(workers), workers=workers, progress=False)
    assert installed == []
    assert {sig: signal.getsignal(sig) for sig in before} == before
