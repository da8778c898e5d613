"""`tokensim plot`, `tokensim diagram` and `tokensim report` on small real results: each writes a
non-empty file of the right type; bad input exits 2 with one message naming the file or field."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import sweep_folder
from typer.testing import CliRunner

from tokensim.cli import app, main

GRID = """\
name: cli-grid
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  policy.access_ttl: [5m, 1h]
  policy.rotation: [false, true]
design: grid
replications: 2
seed: 4
horizon: 20d
"""

SOBOL = """\
name: cli-sobol
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  attacker.replay_rate: {low: 1/h, high: 120/h, log: true}
  defender.detection_probability: {low: 0.001, high: 0.1, log: true}
design: sobol
design_options: {samples: 4}
replications: 1
seed: 2
horizon: 20d
"""


LHS = """\
name: cli-lhs
models: [spa_behind_proxy]
policies: [bearer, dpop]
factors:
  policy.access_ttl: [5m, 1h]
  attacker.replay_rate: {low: 1/h, high: 120/h, log: true}
design: lhs
design_options: {samples: 4}
replications: 1
seed: 2
horizon: 5d
"""


def cli(monkeypatch, capsys, *args: object) -> tuple[int, str, str]:
    """Run the console entry point in this process (as `tokensim ARGS`): exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["tokensim", *map(str, args)])
    with pytest.raises(SystemExit) as done:
        main()
    captured = capsys.readouterr()
    return done.value.code or 0, captured.out, captured.err


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A grid sweep folder, a sobol sweep folder, and a results file and trace file written by `tokensim run`."""
    root = tmp_path_factory.mktemp("cli")
    rows, trace = root / "rows.csv", root / "trace.csv"
    run = CliRunner().invoke(
        app,
        [
            "run",
            "spa_behind_proxy",
            "-p",
            "bearer",
            "-p",
            "dpop",
            "-p",
            "hybrid",
            "-n",
            "3",
            "--seed",
            "1",
            "--horizon",
            "30d",
            "--out",
            str(rows),
            "--trace",
            str(trace),
        ],
    )
    assert run.exit_code == 0, run.output
    grid = sweep_folder(tmp_path_factory.mktemp("grid"), GRID)
    corrupt = root / "corrupt"  # a copy of the grid folder whose manifest was cut short
    shutil.copytree(grid, corrupt)
    (corrupt / "manifest.json").write_text('{"experiment": "cli-grid", "experiment_ha')
    return {
        "grid": grid,
        "sobol": sweep_folder(tmp_path_factory.mktemp("sobol"), SOBOL),
        "lhs": sweep_folder(tmp_path_factory.mktemp("lhs"), LHS),
        "corrupt": corrupt,
        "rows": rows,
        "trace": trace,
        "out": root,
        **_damaged(root, rows, trace),
    }


def _damaged(root: Path, rows: Path, trace: Path) -> dict[str, Path]:
    """Copies of the results and trace files with one column spoiled: text in a number column, or no values at all."""
    frame, events = pd.read_csv(rows), pd.read_csv(trace)
    out = {}
    for name, table, column, value in (
        ("badrep", frame, "replication", "x"),
        ("badhor", frame, "horizon_hours", "ten"),
        ("badttl", frame, "access_ttl", "15 minutes"),
        ("nan", frame, "blast_radius", None),
        ("badcount", events, "count", "many"),
        ("badtime", events, "time_hours", "soon"),
    ):
        spoiled = table.copy()
        if value is None:
            spoiled[column] = float("nan")
        else:
            spoiled[column] = spoiled[column].astype(object)
            spoiled.loc[len(spoiled) - 1, column] = value  # the last row: the check reads the whole column
        out[name] = root / f"{name}.csv"
        spoiled.to_csv(out[name], index=False)
    return out


def _kind(path: Path) -> str:
    head = path.read_bytes()[:400]
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"%PDF"):
        return "pdf"
    if b"<svg" in head:
        return "svg"
    if head.lstrip().lower().startswith(b"<!doctype html"):
        return "html"
    return "unknown"


def test_plot_tradeoff_from_a_results_file(data, monkeypatch, capsys):
    out = data["out"] / "tradeoff.png"
    code, stdout, err = cli(monkeypatch, capsys, "plot", data["rows"], "--kind", "tradeoff", "--out", out)
    assert code == 0, err
    assert _kind(out) == "png" and out.stat().st_size > 5000 and f"wrote {out}" in stdout


def test_plot_ttl_from_a_sweep_folder_draws_every_ttl_and_the_metric(data, monkeypatch, capsys):
    out = data["out"] / "ttl.svg"
    code, _, err = cli(
        monkeypatch, capsys, "plot", data["grid"], "--kind", "ttl", "--metric", "unauthorized_requests", "--out", out
    )
    assert code == 0, err
    svg = out.read_text()
    assert _kind(out) == "svg" and "unauthorized requests" in svg and ">5m<" in svg and ">1h<" in svg


def test_plot_exposure_needs_one_ttl_then_writes_a_pdf(data, monkeypatch, capsys):
    out = data["out"] / "exposure.pdf"
    code, _, err = cli(monkeypatch, capsys, "plot", data["grid"], "--kind", "exposure", "--out", out)
    assert code == 2 and "--where access_ttl=" in err and str(data["grid"]) in err and not out.exists()
    code, _, err = cli(
        monkeypatch, capsys, "plot", data["grid"], "--kind", "exposure", "--where", "access_ttl=1h", "--out", out
    )
    assert code == 0, err
    assert _kind(out) == "pdf" and out.stat().st_size > 2000
    hours = data["out"] / "exposure_hours.pdf"  # the table shows TTLs in hours: a bare number reads as hours
    code, _, err = cli(
        monkeypatch, capsys, "plot", data["grid"], "--kind", "exposure", "--where", "access_ttl=1.0", "--out", hours
    )
    assert code == 0, err
    assert _kind(hours) == "pdf"


def test_plot_sensitivity_from_a_sobolsweep_folder(data, monkeypatch, capsys):
    out = data["out"] / "sobol.svg"
    code, _, err = cli(monkeypatch, capsys, "plot", data["sobol"], "--kind", "sensitivity", "--out", out)
    assert code == 0, err
    svg = out.read_text()
    assert _kind(out) == "svg" and "attacker.replay_rate" in svg and "defender.detection_probability" in svg


def test_plot_timeline_from_the_trace_file_of_tokensim_run(data, monkeypatch, capsys):
    out = data["out"] / "timeline.svg"
    code, _, err = cli(
        monkeypatch,
        capsys,
        "plot",
        data["trace"],
        "--kind",
        "timeline",
        "--policy",
        "dpop",
        "--horizon",
        "30d",
        "--out",
        out,
    )
    assert code == 0, err
    svg = out.read_text()
    assert _kind(out) == "svg" and "policy dpop" in svg and "leaks (" in svg


def test_diagram_of_a_model_under_a_policy(data, monkeypatch, capsys):
    out = data["out"] / "mesh.png"
    code, _, err = cli(monkeypatch, capsys, "diagram", "service_mesh", "--policy", "mtls", "--out", out)
    assert code == 0, err
    assert _kind(out) == "png" and out.stat().st_size > 5000
    svg = data["out"] / "mesh.svg"
    assert cli(monkeypatch, capsys, "diagram", "service_mesh", "-p", "mtls", "--out", svg)[0] == 0
    assert "service-mesh under mtls" in svg.read_text()


def test_report_from_a_results_file_records_its_command(data, monkeypatch, capsys):
    out = data["out"] / "report.html"
    code, stdout, err = cli(monkeypatch, capsys, "report", data["rows"], "--out", out, "--baseline", "bearer")
    assert code == 0, err
    text = out.read_text()
    assert _kind(out) == "html" and f"wrote {out}" in stdout
    assert "recommendation-text" in text and f"tokensim report {data['rows']}" in text
    assert "do not match" not in text  # the CSV read back exactly: configuration hashes verified


@pytest.mark.parametrize(
    "args, expected",
    [
        (["plot", "{out}/missing", "--kind", "tradeoff", "--out", "{out}/x.png"], "missing: no such file or folder"),
        (["plot", "{rows}", "--kind", "histogram", "--out", "{out}/x.png"], "--kind: histogram: unknown kind"),
        (["plot", "{rows}", "--kind", "tradeoff", "--out", "{out}/x.gif"], "x.gif: --out: unsupported suffix '.gif'"),
        (
            ["plot", "{rows}", "--kind", "tradeoff", "--metric", "damage", "--out", "{out}/x.png"],
            "rows.csv: --metric: no column 'damage'",
        ),
        (["plot", "{rows}", "--kind", "ttl", "--out", "{out}/x.png"], "rows.csv: access_ttl:"),
        (
            ["plot", "{rows}", "--kind", "sensitivity", "--out", "{out}/x.png"],
            "rows.csv: sensitivity needs a sweep folder",
        ),
        (["plot", "{trace}", "--kind", "tradeoff", "--out", "{out}/x.png"], "trace.csv: is an event trace"),
        (["plot", "{rows}", "--kind", "timeline", "--out", "{out}/x.png"], "rows.csv: holds result rows"),
        (
            ["plot", "{trace}", "--kind", "timeline", "--out", "{out}/x.png"],
            "trace.csv: policy: the trace holds several policies",
        ),
        (
            ["plot", "{grid}", "--kind", "ttl", "--where", "access_ttl=2h", "--out", "{out}/x.png"],
            "--where: access_ttl: no rows",
        ),
        (["diagram", "no_such_model", "--out", "{out}/x.png"], "no_such_model: no such file or built-in model"),
        (["report", "{rows}", "--out", "{out}/r.pdf"], "r.pdf: --out: unsupported suffix '.pdf'"),
        (
            ["report", "{rows}", "--out", "{out}/r.html", "--baseline", "nope"],
            "--baseline: unknown baseline policy 'nope'",
        ),
        (
            ["report", "{rows}", "--out", "{out}/r.html", "--target", "0"],
            "--target: must be a positive blast radius (500) or a share",
        ),
        # Bad columns are caught once, where the file is read, naming the file and the column.
        (["report", "{badrep}", "--out", "{out}/r.html"], "badrep.csv: replication: expected numbers, found 'x'"),
        (["report", "{badhor}", "--out", "{out}/r.html"], "badhor.csv: horizon_hours: expected numbers, found 'ten'"),
        (
            ["report", "{badttl}", "--out", "{out}/r.html"],
            "badttl.csv: access_ttl: expected numbers, found '15 minutes'",
        ),
        (
            ["plot", "{badrep}", "--kind", "tradeoff", "--out", "{out}/x.png"],
            "badrep.csv: replication: expected numbers",
        ),
        (
            ["plot", "{badcount}", "--kind", "timeline", "-p", "dpop", "--out", "{out}/x.png"],
            "badcount.csv: count: expected numbers, found 'many'",
        ),
        (
            ["plot", "{badtime}", "--kind", "timeline", "-p", "dpop", "--out", "{out}/x.png"],
            "badtime.csv: time_hours: expected numbers, found 'soon'",
        ),
        (["report", "{corrupt}", "--out", "{out}/r.html"], "corrupt/manifest.json: corrupt manifest, not JSON"),
        (
            ["plot", "{corrupt}", "--kind", "tradeoff", "--out", "{out}/x.png"],
            "corrupt/manifest.json: corrupt manifest, not JSON",
        ),
        # A metric with no values is refused, not drawn as an empty figure or recommended "at n/a".
        (["report", "{nan}", "--out", "{out}/r.html"], "nan.csv: blast_radius: has no values"),
        (["plot", "{nan}", "--kind", "tradeoff", "--out", "{out}/x.png"], "nan.csv: blast_radius: has no values"),
        (
            ["plot", "{nan}", "--kind", "ttl", "--metric", "blast_radius", "--out", "{out}/x.png"],
            "nan.csv: blast_radius: has no values",
        ),
        (
            ["plot", "{trace}", "--kind", "timeline", "-p", "dpop", "--horizon", "-5d", "--out", "{out}/x.png"],
            "--horizon: must be a positive duration",
        ),
        (
            ["plot", "{trace}", "--kind", "timeline", "-p", "dpop", "--horizon", "0h", "--out", "{out}/x.png"],
            "--horizon: must be a positive duration",
        ),
        (
            ["diagram", "service_mesh", "--tier", "bogus", "--out", "{out}/x.png"],
            "--tier: bogus: unknown tier; use one of low_risk, privileged",
        ),
        # A figure that would pool a sampled factor names the results and the --where that fixes it.
        (
            ["plot", "{lhs}", "--kind", "ttl", "--out", "{out}/x.png"],
            "results: attacker.replay_rate: attacker.replay_rate also varies",
        ),
    ],
)
def test_bad_input_exits_2_with_one_message(data, monkeypatch, capsys, args, expected):
    args = [a.format(**{k: str(v) for k, v in data.items()}) for a in args]
    code, _stdout, err = cli(monkeypatch, capsys, *args)
    assert code == 2
    assert err.startswith("error: ") and expected in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (data["out"] / "x.png").exists() and not (data["out"] / "r.html").exists()


def test_pooling_error_gives_advice_the_command_line_can_follow(data, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, "plot", data["lhs"], "--kind", "ttl", "--out", data["out"] / "x.png")
    assert code == 2 and err.startswith(f"error: {data['lhs']}: attacker.replay_rate:")
    assert "--where attacker.replay_rate=VALUE" in err and "by=" not in err
    shown = err.split("VALUE (")[1].split(",")[0]  # a value as the message prints it (3 digits) ...
    out = data["out"] / "lhs-ttl.png"
    code, _, err = cli(
        monkeypatch,
        capsys,
        "plot",
        data["lhs"],
        "--kind",
        "ttl",
        "--where",
        f"attacker.replay_rate={shown}",
        "--out",
        out,
    )
    assert "no rows with" not in err and "cannot read" not in err  # ... is a value --where finds
