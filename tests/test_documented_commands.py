"""Every `tokensim` command that README.md, docs/guide.md and docs/import.md show, run as written, in order (issues 14, 15).

A newcomer copies these lines into a shell; each must work there. The README's commands and
then the guide's run in one fresh folder, one after the other (a `sweep` makes the folder a
later `results` or `report` reads, and the guide must not collide with what the tour left),
through the shell as a user types them (`> file` included), each exiting 0 and confirming
every file it writes.

Two things differ from a newcomer's shell, both listed here and asserted exact, so that a
new command cannot slip past: the experiment files in ``experiments/`` are copies cut to 2
replications and a 90-day horizon (same models, policies and factors; a Sobol design of 8
samples), and the search files in ``experiments/searches/`` to 12 candidates of 2 replications
over 90 days (same model, space and target), since the full sweeps take minutes; and `SPEED_UPS` adds options to the commands
that run until their intervals are tight. Commands that name a file or host the reader
supplies (`PLACEHOLDERS`) are not run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/guide.md", "docs/import.md")

#: Commands not run, with why: they name something the reader supplies.
PLACEHOLDERS = {
    "tokensim run my_model.yaml": "shows the message for a bad file of the reader's (tests/test_model_loading.py)",
    "tokensim run my_model.yaml --horizon 1d": "shows the message for a file of the reader's (tests/test_ranges.py)",
    "tokensim sweep experiments/sobol_threats.yaml --dask tcp://HOST:8786": "needs the reader's Dask scheduler",
}
#: Options added to a command that runs until its intervals are tight (up to 200 replications a configuration).
SPEED_UPS = {
    "tokensim advise workload_direct --out results/advise": "--max-replications 10",
    "tokensim advise spa_behind_proxy workload_direct --out results/advise-two": "--max-replications 10",
    "tokensim advise shop.yaml --out results/shop": "--max-replications 10",
    "tokensim advise shop.yaml --out results/shop-review": "--max-replications 10",
}


class Command(NamedTuple):
    """One documented command line: where it is shown and what is typed."""

    document: str
    line: int
    text: str


def documented_commands(document: str) -> list[Command]:
    """The `tokensim` command lines of ``document``'s code blocks (a leading ``$ `` and a trailing comment dropped)."""
    commands = []
    inside = False
    for number, line in enumerate((ROOT / document).read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = not inside
            continue
        stripped = stripped.removeprefix("$ ")
        if inside and stripped.startswith("tokensim "):
            commands.append(Command(document, number, re.sub(r"\s+#\s.*$", "", stripped)))
    return commands


def cut_experiment(spec: dict[str, Any]) -> dict[str, Any]:
    """An experiment file's content cut to a short run: 2 replications, 90 days, 8 Sobol samples."""
    cut = {**spec, "replications": 2, "horizon": "90d"}
    if "until" in cut:
        cut["until"] = {**cut["until"], "max_replications": 4}
    if "samples" in cut.get("design_options", {}):
        cut["design_options"] = {**cut["design_options"], "samples": 8}
    return cut


def folder_for(tmp_path: Path) -> Path:
    """A fresh working folder holding cut copies of the repository's experiment files, and the import fixtures
    the documents import (as a checkout holds them)."""
    shutil.copytree(ROOT / "tests" / "fixtures" / "import", tmp_path / "tests" / "fixtures" / "import")
    (tmp_path / "experiments").mkdir()
    for file in sorted((ROOT / "experiments").glob("*.yaml")):
        spec = yaml.safe_load(file.read_text(encoding="utf-8"))
        (tmp_path / "experiments" / file.name).write_text(yaml.safe_dump(cut_experiment(spec)), encoding="utf-8")
    (tmp_path / "experiments" / "searches").mkdir()
    for file in sorted((ROOT / "experiments" / "searches").glob("*.yaml")):
        spec = yaml.safe_load(file.read_text(encoding="utf-8"))
        cut = {**spec, "budget": 12, "population": 6, "replications": 2, "max_replications": 4, "horizon": "90d"}
        (tmp_path / "experiments" / "searches" / file.name).write_text(yaml.safe_dump(cut), encoding="utf-8")
    return tmp_path


def written_files(text: str) -> list[tuple[str, str]]:
    """The files and folders a command line writes, with how it names them: ``--out X``, ``--trace X``, ``> X``."""
    words = shlex.split(text)
    return [(w, words[i + 1]) for i, w in enumerate(words[:-1]) if w in ("--out", "--trace", "--report", ">")]


def run_as_typed(command: Command, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` through the shell in ``cwd``, with this interpreter's `tokensim` first on the PATH."""
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "tokensim").exists(), f"the tokensim command is not installed next to {sys.executable}"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("COLUMNS", None)
    text = f"{command.text} {SPEED_UPS.get(command.text, '')}".strip()
    return subprocess.run(
        ["bash", "-c", text], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_exceptions_are_exactly_the_documented_commands_they_name() -> None:
    shown = {c.text for document in DOCUMENTS for c in documented_commands(document)}
    assert set(PLACEHOLDERS) <= shown, set(PLACEHOLDERS) - shown  # none stale
    assert set(SPEED_UPS) <= shown, set(SPEED_UPS) - shown
    assert len(shown) >= 20  # the tour and the guide: a parser that found nothing must fail


def test_every_command_works_as_written(tmp_path: Path) -> None:
    """README.md's commands, then the guide's, in one folder: a newcomer's path (the guide must not trip on the tour's files)."""
    cwd = folder_for(tmp_path)
    commands = [c for document in DOCUMENTS for c in documented_commands(document) if c.text not in PLACEHOLDERS]
    assert {c.document for c in commands} == set(DOCUMENTS)
    for command in commands:
        result = run_as_typed(command, cwd)
        where = f"{command.document}:{command.line}: {command.text}"
        assert result.returncode == 0, f"{where}\nexit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr}"
        assert "Traceback" not in result.stderr, f"{where}\n{result.stderr}"
        said = result.stdout + result.stderr
        for how, name in written_files(command.text):
            target = cwd / name
            assert target.exists(), f"{where}: wrote no {name}"
            if target.is_file():
                assert target.stat().st_size > 0, f"{where}: {name} is empty"
            if how != ">":  # a file the command writes itself: it says so (a redirect is the shell's)
                assert name in said, f"{where}: does not say it wrote {name}\n{said[-1000:]}"


def test_a_cut_experiment_keeps_what_the_document_describes() -> None:
    for file in sorted((ROOT / "experiments").glob("*.yaml")):
        spec = yaml.safe_load(file.read_text(encoding="utf-8"))
        cut = cut_experiment(spec)
        for key in ("name", "models", "policies", "factors", "design", "out"):
            assert cut.get(key) == spec.get(key), (file.name, key)
        assert cut["replications"] <= spec["replications"]


def test_the_shell_runs_this_checkout_s_tokensim(tmp_path: Path) -> None:
    """The commands run this interpreter's tokensim, not another one earlier on the PATH."""
    from tokensim import __version__

    assert shutil.which("bash"), "the documented commands are shell lines"
    result = run_as_typed(Command("-", 0, "tokensim --version"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tokensim {__version__}"
