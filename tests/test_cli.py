"""The command line as a user runs it: real processes, exit codes, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def tokensim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tokensim", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_run_prints_intervals_and_paired_differences_and_writes_every_row(tmp_path):
    out = tmp_path / "rows.csv"
    res = tokensim(
        "run",
        "spa_behind_proxy",
        "-p",
        "bearer",
        "-p",
        "dpop",
        "-n",
        "4",
        "--seed",
        "3",
        "--horizon",
        "60d",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    assert "per policy: mean [95% CI]" in res.stdout
    assert "paired difference against bearer" in res.stdout
    assert "unauthorized_requests" in res.stdout and "integration_cost" in res.stdout
    rows = pd.read_csv(out)
    assert len(rows) == 8 and set(rows["policy"]) == {"bearer", "dpop"}
    for column in ["leaks", "blast_radius", "access_ttl", "seed", "replication", "tokensim_version", "config_hash"]:
        assert column in rows.columns


def test_same_seed_same_output_byte_for_byte(tmp_path):
    args = ["run", "mobile_gateway", "-p", "bearer", "-p", "hybrid", "-n", "3", "--seed", "9", "--horizon", "30d"]
    first = tokensim(*args, "--out", str(tmp_path / "a.csv"))
    second = tokensim(*args, "--out", str(tmp_path / "b.csv"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.replace("a.csv", "") == second.stdout.replace("b.csv", "")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_run_in_worker_processes_prints_and_writes_what_a_serial_run_does(tmp_path):
    args = ["run", "spa_behind_proxy", "-p", "bearer", "-p", "dpop", "-n", "5", "--seed", "4", "--horizon", "30d"]
    serial = tokensim(*args, "-j", "1", "--out", str(tmp_path / "serial.csv"))
    parallel = tokensim(*args, "-j", "2", "--out", str(tmp_path / "parallel.csv"))
    assert serial.returncode == 0 and parallel.returncode == 0, serial.stderr + parallel.stderr
    assert serial.stdout.replace("serial.csv", "") == parallel.stdout.replace("parallel.csv", "")
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    refused = tokensim(*args, "-j", "0")
    assert refused.returncode == 2 and "-j" in refused.stderr and "Traceback" not in refused.stderr


def test_parquet_output_and_trace_file(tmp_path):
    res = tokensim(
        "run",
        "spa_behind_proxy",
        "-p",
        "bearer",
        "-n",
        "2",
        "--horizon",
        "120d",
        "--set",
        "access_ttl=5m",
        "--out",
        str(tmp_path / "r.parquet"),
        "--trace",
        str(tmp_path / "t.csv"),
    )
    assert res.returncode == 0, res.stderr
    rows = pd.read_parquet(tmp_path / "r.parquet")
    assert list(rows["access_ttl"]) == pytest.approx([5 / 60] * 2)
    trace = pd.read_csv(tmp_path / "t.csv")
    assert {"time_hours", "event", "node", "vector", "credential", "detail", "policy"} <= set(trace.columns)
    assert (trace["event"] == "leak").sum() == rows.loc[rows["replication"] == 0, "leaks"].iloc[0]
    assert set(trace["replication"]) == {0}
    assert f"wrote the trace of replication 0 ({len(trace)} events) to {tmp_path / 't.csv'}" in res.stdout


def test_the_trace_records_a_chosen_replication_or_all_of_them(tmp_path):
    base = ["run", "spa_behind_proxy", "-p", "bearer", "-n", "3", "--horizon", "30d", "--seed", "4"]
    res = tokensim(
        *base, "--out", str(tmp_path / "r.csv"), "--trace", str(tmp_path / "all.csv"), "--trace-replication", "all"
    )
    assert res.returncode == 0, res.stderr
    rows = pd.read_csv(tmp_path / "r.csv")
    every = pd.read_csv(tmp_path / "all.csv")
    assert "wrote the trace of every replication" in res.stdout and (rows["leaks"] > 0).all()
    for r, leaks in zip(rows["replication"], rows["leaks"]):  # each replication's leaks, as its row counts them
        assert ((every["replication"] == r) & (every["event"] == "leak")).sum() == leaks
    res = tokensim(*base, "--trace", str(tmp_path / "two.csv"), "--trace-replication", "2")
    assert res.returncode == 0, res.stderr
    two = pd.read_csv(tmp_path / "two.csv")
    assert set(two["replication"]) == {2}
    pd.testing.assert_frame_equal(two, every[every["replication"] == 2].reset_index(drop=True))
    bad = tokensim(*base, "--trace", str(tmp_path / "bad.csv"), "--trace-replication", "3")
    assert bad.returncode == 2 and "--trace-replication: replication: must be all or a number from 0 to 2" in bad.stderr
    assert not (tmp_path / "bad.csv").exists() or (tmp_path / "bad.csv").stat().st_size == 0
    plot = tokensim("plot", str(tmp_path / "all.csv"), "--kind", "timeline", "--out", str(tmp_path / "t.png"))
    assert plot.returncode == 2 and "several replications" in plot.stderr and "Traceback" not in plot.stderr


def test_check_names_the_hop_that_breaks_the_binding():
    res = tokensim("check", "service_mesh", "--policy", "mtls")
    assert res.returncode == 0, res.stderr
    assert "broken" in res.stdout and "downgraded" in res.stdout and "bound" in res.stdout
    assert "does not forward the client certificate" in res.stdout


def test_models_lists_every_builtin_with_its_description():
    res = tokensim("models")
    assert res.returncode == 0
    for name in [
        "workload_direct",
        "spa_behind_proxy",
        "mobile_gateway",
        "service_mesh",
        "saas_broker",
        "ci_pipeline",
        "partner_network",
    ]:
        assert name in res.stdout


def test_schema_is_json_schema_of_model_files():
    res = tokensim("schema")
    schema = json.loads(res.stdout)
    assert schema["type"] == "object" and "nodes" in schema["properties"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "no_such_model"], "no such file or built-in model"),
        (["run", "spa_behind_proxy", "--policy", "quantum"], "unknown policy 'quantum'"),
        (["run", "spa_behind_proxy", "--set", "access_ttl=-5m"], "access_ttl: must be greater than zero"),
        (["run", "spa_behind_proxy", "--set", "rotation"], "expected key=value"),
        (["run", "spa_behind_proxy", "--set", "colour=blue"], "colour: unknown policy parameter"),
        (["run", "spa_behind_proxy", "--horizon", "ten days"], "--horizon"),
        (["run", "spa_behind_proxy", "-n", "0"], "must be at least 1"),
        (["check", "spa_behind_proxy", "--policy", "dpop", "--set", "audience=everywhere"], "audience"),
    ],
)
def test_bad_input_gets_one_clear_message_and_exit_2(args, needle):
    res = tokensim(*args)
    assert res.returncode == 2
    assert needle in res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout


def test_malformed_model_file_names_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nnodes:\n  a: {kind: client, platform: browser, leaks: [{vector: log, rate: 3/fortnight}]}\n"
    )
    res = tokensim("run", str(bad))
    assert res.returncode == 2
    assert str(bad) in res.stderr and "nodes.a.leaks[0].rate" in res.stderr and "fortnight" in res.stderr
    assert "Traceback" not in res.stderr


def test_cost_overrides_from_a_file(tmp_path):
    good = tmp_path / "costs.yaml"
    good.write_text("weights: {engineering: 100}\n")
    base = tokensim(
        "run", "mobile_gateway", "-p", "dpop", "-n", "1", "--horizon", "1d", "--out", str(tmp_path / "a.csv")
    )
    heavy = tokensim(
        "run",
        "mobile_gateway",
        "-p",
        "dpop",
        "-n",
        "1",
        "--horizon",
        "1d",
        "--costs",
        str(good),
        "--out",
        str(tmp_path / "b.csv"),
    )
    assert base.returncode == heavy.returncode == 0, heavy.stderr
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    extra = b["integration_cost"].iloc[0] - a["integration_cost"].iloc[0]
    # the engineering weight prices one-off person-days and the recurring ones of the horizon (3 years)
    days = a["engineering_cost"].iloc[0] + 3 * a["recurring_cost"].iloc[0]
    assert extra == pytest.approx(99 * days) and extra > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("weights: {engineerin: 1}\n")
    res = tokensim("run", "mobile_gateway", "--costs", str(bad))
    assert res.returncode == 2 and str(bad) in res.stderr and "weights.engineerin" in res.stderr


def test_the_package_and_the_help_import_no_heavy_library() -> None:
    """`import tokensim` and `tokensim --help` load pandas, SciPy, networkx and matplotlib only when a command
    needs them (issue 14: start-up time; the timing itself is in docs/benchmarks.md), and every public name
    still resolves."""
    import subprocess
    import sys

    heavy = ("pandas", "scipy", "networkx", "matplotlib", "simpy")
    probe = (
        "import sys, tokensim; from tokensim.cli import app; "
        "from typer.testing import CliRunner; r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported at start-up: {done.stdout.strip()}"
    check = (
        "import sys; from tokensim.cli import app; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(app, ['check', 'partner_network']); assert r.exit_code == 0, r.output; "
        "assert 'federation_gateway' in r.output; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "networkx", f"`tokensim check` imported: {done.stdout.strip()}"  # the graph only
    resolve = "import tokensim; print(all(getattr(tokensim, n) is not None for n in tokensim.__all__))"
    done = subprocess.run([sys.executable, "-c", resolve], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr


def test_the_subpackages_are_attributes_of_the_package_as_the_guide_uses_them() -> None:
    """docs/guide.md section 3: `import tokensim`, then `tokensim.analysis.paired_differences(...)`."""
    code = (
        "import sys, tokensim; heavy = 'pandas' in sys.modules; "
        "frame = tokensim.replicate('spa_behind_proxy', ['bearer', 'dpop'], replications=2, horizon='5d'); "
        "d = tokensim.analysis.paired_differences(frame, ['blast_radius'], baseline='bearer'); "
        "print(heavy, list(d['policy']), tokensim.viz.__name__, tokensim.report.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "['dpop']", "tokensim.viz", "tokensim.report"], done.stderr
