"""A results folder is one experiment's, and says so (issue 11).

One writer at a time (a second is refused, naming the first; a dead writer's lock is not
obeyed), inputs checked by digest on resume, no runs without a manifest, no run stored twice,
a corrupt chunk named in one message by every command that reads a folder, and
``sweep --resume --quarantine`` ending with exactly the rows of an uninterrupted sweep.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from tokensim._version import SEMANTICS
from tokensim.builtin import builtin_models
from tokensim.cli import main
from tokensim.errors import InputError
from tokensim.experiment import Experiment, load_results, verify_results
from tokensim.experiment.inputs import ExperimentChanged
from tokensim.experiment.lock import FolderLock, writer_of
from tokensim.experiment.store import ResultStore

SMALL = """\
name: small
models: [{model}]
policies: [bearer, {policy}]
factors:
  policy.access_ttl: [5m, 1h]
replications: 3
seed: 4
horizon: 7d
"""
SMALL_RUNS = 2 * 2 * 3
# long enough to be caught running: 400 runs, a few seconds of one core
LONG = """\
name: lock-me
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  policy.access_ttl: [5m, 1h]
replications: 100
seed: 11
horizon: 1y
"""
LONG_RUNS = 2 * 2 * 100


def write(folder: Path, text: str, name: str = "exp.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def small(tmp_path: Path, model: str = "spa_behind_proxy", policy: str = "dpop") -> Path:
    return write(tmp_path, SMALL.format(model=model, policy=policy))


def cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """The console entry point in this process: an exception other than SystemExit fails the test."""
    monkeypatch.setattr(sys, "argv", ["tokensim", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def tokensim_cmd(*args: object, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tokensim", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def wait_for_writer(out: Path, pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = writer_of(out) if out.exists() else None
        if holder is not None and holder.pid == pid:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never took the lock of {out}")


def end_group(proc: subprocess.Popen) -> None:
    """Never leave a sweep (or its pool's workers) behind."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def equal_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.sort_values("run_index").reset_index(drop=True),
        b.sort_values("run_index").reset_index(drop=True),
        check_exact=True,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    """The small experiment file, its uninterrupted folder, and that folder's rows."""
    root = tmp_path_factory.mktemp("reference")
    path = small(root)
    Experiment.from_yaml(path).run(root / "out", workers=1, progress=False)
    frame = load_results(root / "out")
    assert len(frame) == SMALL_RUNS and frame["run_id"].is_unique
    return path, root / "out", frame


def copy_folder(reference, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    return out


def the_chunk(out: Path) -> Path:
    (part,) = ResultStore(out).parts()
    return part


# -- one writer at a time -----------------------------------------------------------------


def test_two_sweeps_into_one_folder_one_writes_the_others_are_refused(tmp_path):
    path = write(tmp_path, LONG)
    out = tmp_path / "out"
    first = tokensim_cmd("sweep", path, "--out", out, "-j", "1")
    try:
        wait_for_writer(out, first.pid)
        os.kill(first.pid, signal.SIGSTOP)  # caught mid-sweep, holding the lock, for as long as the others take
        try:
            others = [tokensim_cmd("sweep", path, "--out", out, "-j", "1", *extra) for extra in ([], ["--resume"])]
            results = [p.communicate(timeout=120) for p in others]
        finally:
            os.kill(first.pid, signal.SIGCONT)
        for proc, (stdout, stderr) in zip(others, results):
            assert proc.returncode == 2, stderr
            assert "Traceback" not in stderr and stderr.count("\n") == 1
            assert f"{out}: another sweep is writing this folder: process {first.pid} on " in stderr
            assert "since 20" in stderr and "sweep" in stderr and "runs in" not in stdout
        stdout, stderr = first.communicate(timeout=300)
        assert first.returncode == 0, stderr
    finally:
        end_group(first)
    stored = load_results(out)
    assert len(stored) == LONG_RUNS and stored["run_id"].is_unique
    assert set(stored["run_id"]) == {r.run_id for r in Experiment.from_yaml(path).runs()}
    assert (out / "experiment.yaml").read_text() == LONG


def test_experiment_run_from_python_is_refused_while_the_folder_is_locked(tmp_path):
    path = small(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with FolderLock(out):  # this very process: two writers in one process are refused too
        with pytest.raises(InputError, match=rf"another sweep is writing this folder: process {os.getpid()} on "):
            Experiment.from_yaml(path).run(out, workers=1, progress=False)
        holder = writer_of(out)  # what `tokensim results` reports
        assert holder is not None and holder.pid == os.getpid()
    assert sorted(p.name for p in out.iterdir()) == ["writer.lock"], "refused before writing anything"
    assert writer_of(out) is None
    assert len(Experiment.from_yaml(path).run(out, workers=1, progress=False)) == SMALL_RUNS


def test_the_lock_of_a_sweep_killed_with_its_workers_running_is_not_obeyed(tmp_path):
    """kill -9 of the sweep's own process only: its pool's forked workers do not keep the lock."""
    path = write(tmp_path, LONG)
    out = tmp_path / "out"
    first = tokensim_cmd("sweep", path, "--out", out, "-j", "2")
    try:
        wait_for_writer(out, first.pid)
        time.sleep(1.0)  # the pool's workers are forked and working
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        assert json.loads((out / "writer.lock").read_text())["pid"] == first.pid, "its details stay behind"
        resumed = subprocess.run(
            [sys.executable, "-m", "tokensim", "sweep", path, "--out", out, "-j", "1", "--resume"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        end_group(first)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{LONG_RUNS} runs in" in resumed.stdout
    stored = load_results(out)
    assert len(stored) == LONG_RUNS and stored["run_id"].is_unique


FORK_AND_DIE = """\
import os, signal, sys, time
from tokensim.experiment.lock import FolderLock
lock = FolderLock(sys.argv[1])
lock.acquire()
child = os.fork()
if child == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # let the test's pipe close when the parent dies
    os.dup2(devnull, 2)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_process_forked_by_the_holder_does_not_keep_its_lock(tmp_path):
    script = write(tmp_path, FORK_AND_DIE, "fork_and_die.py")
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    child = int(proc.stdout)
    try:
        os.kill(child, 0)  # the forked child outlives its parent, and still has the lock file open
        lock = FolderLock(tmp_path)
        lock.acquire()
        assert lock.held
        lock.release()
    finally:
        os.kill(child, signal.SIGKILL)


# -- the inputs an experiment names ----------------------------------------------------------


def test_resume_refuses_an_edited_model_file_and_names_it(tmp_path, monkeypatch, capsys):
    model = tmp_path / "mine.yaml"
    shutil.copy(builtin_models()["workload_direct"], model)
    path = small(tmp_path, model=str(model))
    out = tmp_path / "out"
    assert cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1")[0] == 0
    before = load_results(out)
    manifest = ResultStore(out).manifest()
    assert manifest["inputs"]["models[0]"]["source"] == str(model)

    model.write_text("# a comment changes no result\n" + model.read_text())
    code, _, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1", "--resume")
    assert code == 0, stderr

    text = model.read_text()
    assert "instances: 200" in text
    model.write_text(text.replace("instances: 200", "instances: 300", 1))
    code, stdout, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1", "--resume")
    assert code == 2 and "Traceback" not in stderr and stderr.count("\n") == 1
    assert f"error: {model}: changed since the results in {out} were run (models[0] of the experiment)" in stderr
    equal_frames(load_results(out), before)
    with pytest.raises(ExperimentChanged, match=r"mine\.yaml: changed since"):
        Experiment.from_folder(out)
    code, stdout, _ = cli(monkeypatch, capsys, "results", out)
    assert code == 1 and f"problem: models[0] ({model}) changed since the results were run" in stdout


def test_resume_refuses_an_edited_policy_file(tmp_path, monkeypatch, capsys):
    policy = write(tmp_path, "base: dpop\nrotation: false\n", "rotating.yaml")
    path = small(tmp_path, policy=str(policy))
    out = tmp_path / "out"
    assert cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1")[0] == 0
    policy.write_text("base: dpop\nrotation: true\n")
    code, _, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1", "--resume")
    assert code == 2 and f"{policy}: changed since the results in {out} were run (policies[1] " in stderr


def test_a_folder_without_input_digests_still_reads_and_resume_says_what_it_cannot_check(
    reference, tmp_path, monkeypatch, capsys
):
    out = copy_folder(reference, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    old = {k: v for k, v in manifest.items() if k not in ("inputs", "inputs_hash")}
    (out / "manifest.json").write_text(json.dumps(old))
    equal_frames(load_results(out), reference[2])
    code, stdout, stderr = cli(monkeypatch, capsys, "results", out)
    assert code == 0, stdout
    assert "note: the manifest has no digests of the models, policies and costs" in stdout
    code, stdout, stderr = cli(monkeypatch, capsys, "sweep", reference[0], "--out", out, "-j", "1", "--resume")
    assert code == 0, stderr
    assert "note: " in stderr and "cannot check that they are unchanged" in stderr
    assert "inputs" not in ResultStore(out).manifest(), "the folder keeps saying it cannot be checked"


def test_runs_without_a_manifest_are_refused(reference, tmp_path, monkeypatch, capsys):
    out = copy_folder(reference, tmp_path)
    (out / "manifest.json").unlink()
    chunks = ResultStore(out).parts()
    other = write(tmp_path, SMALL.format(model="workload_direct", policy="mtls"), "other.yaml")
    for args in ([reference[0]], [reference[0], "--resume"], [other]):
        code, _, stderr = cli(monkeypatch, capsys, "sweep", *args, "--out", out, "-j", "1")
        assert code == 2 and "Traceback" not in stderr and stderr.count("\n") == 1
        assert f"{out}: manifest.json: missing, but runs/ holds result chunks" in stderr
    assert ResultStore(out).parts() == chunks and not (out / "manifest.json").exists()
    code, _, stderr = cli(monkeypatch, capsys, "results", out)
    assert code == 2 and "not a tokensim results folder (no manifest.json, yet runs/ holds result chunks" in stderr


# -- corrupt folders: one message naming what is wrong, in every command -----------------------


def _truncate(out: Path) -> Path:
    part = the_chunk(out)
    part.write_bytes(part.read_bytes()[:300])
    return part


def _not_results(out: Path) -> Path:
    part = out / "runs" / "part-000000099-0000aaaa.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(part)
    return part


def _runs_file(out: Path) -> Path:
    shutil.rmtree(out / "runs")
    (out / "runs").write_text("not a folder")
    return out / "runs"


def _unreadable(out: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop reads")
    part = the_chunk(out)
    part.chmod(0)
    return part


CORRUPTIONS = {
    "truncated": (_truncate, "cannot read this results chunk: truncated, or not Parquet"),
    "not results": (_not_results, "a Parquet file, but not a tokensim results chunk (no run_id, run_index"),
    "runs is a file": (_runs_file, "is not a folder"),
    "unreadable": (_unreadable, "cannot read this results chunk: permission denied"),
}


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_a_corrupt_folder_gets_one_message_naming_what_is_wrong(reference, tmp_path, monkeypatch, capsys, kind):
    out = copy_folder(reference, tmp_path)
    corrupt, words = CORRUPTIONS[kind]
    bad = corrupt(out)
    commands = {
        "resume": ["sweep", reference[0], "--out", out, "-j", "1", "--resume"],
        "report": ["report", out, "--out", tmp_path / "r.html"],
        "plot": ["plot", out, "--kind", "tradeoff", "--out", tmp_path / "p.png"],
    }
    for name, args in commands.items():
        code, stdout, stderr = cli(monkeypatch, capsys, *args)
        assert code == 2, (name, stderr)
        assert "Traceback" not in stderr and stderr.count("\n") == 1, (name, stderr)
        assert stderr.startswith(f"error: {bad}: ") and words in stderr, (name, stderr)
    with pytest.raises(InputError, match=r"cannot read|not a tokensim results chunk|is not a folder"):
        load_results(out)
    code, stdout, stderr = cli(monkeypatch, capsys, "results", out)
    assert code == 1 and "Traceback" not in stderr
    assert f"problem: {bad}: " in stdout and words in stdout
    assert "--resume --quarantine" in stdout


def test_a_corrupt_chunk_is_named_without_a_traceback_from_a_real_process(reference, tmp_path):
    out = copy_folder(reference, tmp_path)
    bad = _truncate(out)
    proc = tokensim_cmd("report", out, "--out", tmp_path / "r.html")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in stderr
    assert stderr.startswith(f"error: {bad}: cannot read this results chunk")


def test_results_reports_planted_copies_and_foreign_rows(reference, tmp_path, monkeypatch, capsys):
    out = copy_folder(reference, tmp_path)
    chunk = the_chunk(out)
    copy = out / "runs" / "part-000000000-ffffffff.parquet"  # the same runs again, as two writers left them
    shutil.copy(chunk, copy)
    other = tmp_path / "other"
    Experiment.from_yaml(write(tmp_path, SMALL.format(model="workload_direct", policy="mtls"), "o.yaml")).run(
        other, workers=1, progress=False
    )
    foreign = out / "runs" / "part-000000001-eeeeeeee.parquet"
    shutil.copy(the_chunk(other), foreign)

    check = verify_results(out)
    assert not check.clean and check.chunks == 3 and check.rows == SMALL_RUNS
    assert [(Path(p.path).name, p.kind) for p in check.problems] == [
        (copy.name, "duplicate"),
        (foreign.name, "foreign"),
    ]
    assert check.duplicate_runs == SMALL_RUNS and check.missing == 0
    assert {(c.done, c.missing) for c in check.counts} == {(SMALL_RUNS // 2, 0)}, "copies are not counted as done"
    code, stdout, stderr = cli(monkeypatch, capsys, "results", out)
    assert code == 1, stderr
    assert f"problem: {foreign}: holds rows of another experiment" in stdout
    assert f"problem: {copy}: holds {SMALL_RUNS} runs already stored in {chunk.name}" in stdout
    assert f"problem: {SMALL_RUNS} runs are stored more than once" in stdout
    with pytest.raises(InputError, match=rf"holds {SMALL_RUNS} runs already stored .* \(1 more problem\)"):
        load_results(out)  # the report never reads copies or foreign rows


def test_the_writer_never_stores_a_run_twice(reference, tmp_path):
    out = copy_folder(reference, tmp_path)
    store = ResultStore(out)
    rows = reference[2].to_dict("records")
    store.append(rows + rows[:3])
    assert len(store.parts()) == 1, "every run is stored already: nothing written"
    fresh = ResultStore(tmp_path / "fresh")
    fresh.initialise(ResultStore(out).manifest(), reference[0].read_text(), resume=False)
    fresh.append(rows[:4] + rows[:4])
    fresh.append(rows[2:6])
    stored = load_results(tmp_path / "fresh")
    assert stored["run_id"].is_unique and len(stored) == 6 and len(fresh.parts()) == 2


def test_quarantine_then_resume_ends_with_the_rows_of_an_uninterrupted_sweep(reference, tmp_path, monkeypatch, capsys):
    path, _, frame = reference
    out = tmp_path / "out"
    store = ResultStore(out)
    store.initialise(ResultStore(reference[1]).manifest(), path.read_text(), resume=False)
    rows = frame.to_dict("records")
    for start in range(0, SMALL_RUNS, 4):  # three chunks
        store.append(rows[start : start + 4])
    first, second, _ = store.parts()
    second.write_bytes(second.read_bytes()[:500])  # its four runs are lost
    shutil.copy(first, out / "runs" / "part-000000000-ffffffff.parquet")  # four runs stored twice
    _not_results(out)

    code, _, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1", "--quarantine")
    assert code == 2 and "--quarantine: applies to --resume only" in stderr
    code, stdout, stderr = cli(monkeypatch, capsys, "sweep", path, "--out", out, "-j", "1", "--resume", "--quarantine")
    assert code == 0, stderr
    assert f"note: {out}: moved 3 entries to {out / 'quarantine'}" in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in (out / "quarantine").iterdir()) == sorted(
        [second.name, "part-000000000-ffffffff.parquet", "part-000000099-0000aaaa.parquet"]
    )
    equal_frames(load_results(out), frame)
    code, stdout, _ = cli(monkeypatch, capsys, "results", out)
    assert code == 0 and "every chunk readable and this experiment's, no run stored twice" in stdout


def test_quarantine_moves_a_runs_file_aside_and_reruns_everything(reference, tmp_path, monkeypatch, capsys):
    out = copy_folder(reference, tmp_path)
    _runs_file(out)
    code, _, stderr = cli(
        monkeypatch, capsys, "sweep", reference[0], "--out", out, "-j", "1", "--resume", "--quarantine"
    )
    assert code == 0, stderr
    assert (out / "quarantine" / "runs").read_text() == "not a folder"
    equal_frames(load_results(out), reference[2])


def test_lock_refusal_names_the_holder_details_script(tmp_path):
    """The refusal quotes the holder's command line: the user can tell which sweep it is."""
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from tokensim.experiment.lock import FolderLock
            FolderLock({str(out)!r}).acquire()
            print("held", flush=True)
            time.sleep(60)
        """),
            "my-marker",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError) as err:
            FolderLock(out).acquire()
        assert f"process {holder.pid} on " in str(err.value) and "my-marker" in str(err.value)
    finally:
        holder.kill()
        holder.wait()
    lock = FolderLock(out)
    lock.acquire()  # its holder is gone: so is the lock
    lock.release()


def test_a_fifo_in_place_of_the_manifest_is_refused_not_waited_on(tmp_path):
    folder = tmp_path / "out"
    (folder / "runs").mkdir(parents=True)
    os.mkfifo(folder / "manifest.json")
    with pytest.raises(InputError, match=r"manifest\.json.*not a regular file"):
        load_results(folder)


def test_a_folder_simulated_under_version_1_semantics_is_not_resumed(tmp_path):
    """Version 2 changed what a leak exposes: rows of version 1 and version 2 must never share a folder."""
    path = write(tmp_path, SMALL.format(model="workload_direct", policy="dpop"))
    out = tmp_path / "out"
    Experiment.from_yaml(path).run(out, workers=1, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["semantics"] == SEMANTICS
    del manifest["semantics"]  # what tokensim 0.1.0 wrote
    manifest["tokensim_version"] = "0.1.0"
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = sorted(p.name for p in (out / "runs").iterdir())
    with pytest.raises(InputError, match=r"version-1 semantics \(tokensim 0\.1\.0\).*new --out folder"):
        Experiment.from_yaml(path).run(out, workers=1, progress=False, resume=True)
    assert sorted(p.name for p in (out / "runs").iterdir()) == before  # nothing added, nothing lost
    assert len(load_results(out)) == SMALL_RUNS  # and the old rows still load
