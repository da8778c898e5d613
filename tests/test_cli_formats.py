"""`--format` and terminal width (issue 14): data alone on stdout for programs, tables that fit for readers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

RUN = ["run", "spa_behind_proxy", "-p", "bearer", "-p", "dpop", "-n", "3", "--seed", "2", "--horizon", "20d"]


def tokensim(*args: str, columns: int | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "tokensim", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_run_as_csv_json_and_markdown_holds_the_same_numbers_and_nothing_else(tmp_path: Path) -> None:
    csv = tokensim(*RUN, "--format", "csv", "--out", str(tmp_path / "rows.csv"))
    assert csv.returncode == 0, csv.stderr
    table = pd.read_csv(io.StringIO(csv.stdout))  # stdout is a CSV file and nothing else
    assert list(table.columns) == ["statistic", "policy", "baseline", "metric", "n", "estimate", "ci_low", "ci_high"]
    assert set(table["statistic"]) == {"mean", "mean_difference"}
    assert len(table) == 3 * 5  # two policies' means and one paired difference, five metrics each
    assert "model spa-behind-proxy" in csv.stderr and "wrote 6 rows to" in csv.stderr
    rows = pd.read_csv(tmp_path / "rows.csv")
    bearer_blast = table.query("statistic == 'mean' and policy == 'bearer' and metric == 'blast_radius'")
    assert bearer_blast["estimate"].item() == pytest.approx(rows.query("policy == 'bearer'")["blast_radius"].mean())
    diff = table.query("statistic == 'mean_difference' and metric == 'blast_radius'")
    assert diff["baseline"].item() == "bearer" and diff["policy"].item() == "dpop"

    js = tokensim(*RUN, "--format", "json")
    assert js.returncode == 0, js.stderr
    records = json.loads(js.stdout)
    assert len(records) == len(table)
    assert [r["estimate"] for r in records] == list(table["estimate"])  # every digit: CSV and JSON agree exactly
    single = tokensim("run", "spa_behind_proxy", "-n", "1", "-p", "bearer", "--format", "json")
    assert {(r["ci_low"], r["ci_high"]) for r in json.loads(single.stdout)} == {(None, None)}  # no interval of one

    md = tokensim(*RUN, "--format", "markdown")
    assert md.returncode == 0, md.stderr
    lines = md.stdout.strip().splitlines()
    assert lines[0].startswith("| statistic") and set(lines[1]) <= set("|:- ") and len(lines) == 2 + len(table)


def test_a_narrow_terminal_gets_tables_that_fit_it() -> None:
    wide = tokensim(*RUN)
    assert max(len(line) for line in wide.stdout.splitlines()) > 60  # unwrapped into a pipe
    cases = [(RUN, 60), (["check", "partner_network"], 60), (["check", "saas_broker"], 60), (["models"], 60)]
    cases += [(["policies"], 80)]  # its preset table is 62 characters wide
    for args, columns in cases:
        narrow = tokensim(*args, columns=columns)
        assert narrow.returncode == 0, narrow.stderr
        too_long = [line for line in narrow.stdout.splitlines() if len(line) > columns]
        assert not too_long, (args, too_long)
    assert "incidents/okta_har_2023" in tokensim("models", columns=60).stdout  # names whole, never broken
    check = tokensim("check", "partner_network", columns=60).stdout
    assert "partner_app -> partner_orders_api, privileged: dpop broken" in check  # nothing lost: every column named
    assert "effect bearer, hop federation_gateway, verifier -" in check


def test_check_and_results_give_their_tables_as_data(tmp_path: Path) -> None:
    routes = tokensim("check", "partner_network", "--format", "csv")
    assert routes.returncode == 0, routes.stderr
    table = pd.read_csv(io.StringIO(routes.stdout))
    assert {"client", "resource", "tier", "status", "hop", "path", "reason"} <= set(table.columns)
    assert len(table) == 6 and "policy hybrid: 6 routes" in routes.stderr

    spec = {"name": "fmt", "models": ["spa_behind_proxy"], "policies": ["bearer", "dpop"], "replications": 2}
    (tmp_path / "fmt.yaml").write_text(yaml.safe_dump({**spec, "horizon": "5d"}))
    swept = tokensim("sweep", str(tmp_path / "fmt.yaml"), "--out", str(tmp_path / "out"), "-j", "1")
    assert swept.returncode == 0, swept.stderr
    stored = tokensim("results", str(tmp_path / "out"), "--format", "json")
    assert stored.returncode == 0, stored.stderr
    assert json.loads(stored.stdout) == [
        {"model": "spa-behind-proxy", "policy": "bearer", "done": 2, "missing": 0},
        {"model": "spa-behind-proxy", "policy": "dpop", "done": 2, "missing": 0},
    ]
    assert "every chunk readable" in stored.stderr
