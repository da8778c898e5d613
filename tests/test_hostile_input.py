"""Hostile input, case by case (issue 11): each hostile file or command gets one short message naming the
file and the field, and exit status 2, never a traceback, a hang or a flood; names are text everywhere.

The commands run in this process through the console entry point (`tokensim.cli.main`), as a user
runs them. A case that could block (a FIFO) runs under an alarm, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensim.cli import main
from tokensim.errors import InputError
from tokensim.model.documents import MAX_BYTES, MAX_DEPTH, MAX_NODES
from tokensim.model.loading import parse_text

#: Longest message line a hostile case may produce (the longest legitimate ones list allowed fields).
SHORT = 600

MODEL = """\
name: hostile
nodes:
  app: {kind: client, platform: PLATFORM, leaks: [{vector: log, rate: 1/year}]}
  api: {kind: resource}
edges: [[app, api]]
attacker: {replay_delay: DELAY}
"""


def model(platform: str = "workload", delay: str = "1h") -> str:
    return MODEL.replace("PLATFORM", platform).replace("DELAY", delay)


def laughs(levels: int = 9, fan: int = 10) -> str:
    """A "billion laughs" value, its anchors inline: `fan`^`levels` leaves in about 60 bytes a level."""
    parts = ["&l0 [" + ", ".join(["lol"] * fan) + "]"]
    parts += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run `tokensim ARGS` through the console entry point in this process: exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["tokensim", *map(str, args)])
    code: int | str | None = 0
    try:
        main()
    except SystemExit as done:
        code = done.code
    captured = capsys.readouterr()
    return int(code or 0), captured.out, captured.err


def refused(result: tuple[int, str, str], *fragments: str) -> str:
    """The one message line of a refused command, checked: exit 2, no traceback, short, holding every fragment."""
    code, out, err = result
    assert code == 2, (code, out[-500:], err[-500:])
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[:2000]
    assert lines[0].startswith("error: ") and len(lines[0]) < SHORT, lines[0][:2000]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail (rather than hang the suite) if the test blocks for 60 s: the guard of FIFO cases, not a timing."""

    def expire(_signum: int, _frame: object) -> None:
        raise TimeoutError("blocked: the command waited on a FIFO")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- alias bombs and size


def bomb_cases(tmp_path: Path) -> dict[str, tuple[list[object], Path]]:
    """Each place the issue found a bomb, as (command, the file that holds the bomb)."""
    m = tmp_path / "platform.yaml"
    m.write_text(model(platform=laughs()))
    d = tmp_path / "duration.yaml"
    d.write_text(model(delay=laughs()))
    p = tmp_path / "policy.yaml"
    p.write_text(f"base: dpop\naccess_ttl: {laughs()}\n")
    e = tmp_path / "experiment.yaml"
    e.write_text(
        f"name: x\nmodels: [spa_behind_proxy]\npolicies: [bearer]\nfactors:\n  policy.access_ttl: {laughs()}\n"
    )
    c = tmp_path / "costs.yaml"
    c.write_text(f"weights: {{latency: {laughs()}}}\n")
    return {
        "platform": (["check", m], m),
        "duration": (["check", d], d),
        "policy access_ttl": (["check", "spa_behind_proxy", "-p", p], p),
        "factor values": (["sweep", e, "--out", tmp_path / "out", "-j", "1"], e),
        "cost file": (["run", "spa_behind_proxy", "-n", "1", "--costs", c], c),
    }


@pytest.mark.parametrize("case", ["platform", "duration", "policy access_ttl", "factor values", "cost file"])
def test_alias_bomb_is_refused_in_one_line(tmp_path, monkeypatch, capsys, case):
    args, path = bomb_cases(tmp_path)[case]
    assert path.stat().st_size < 1400  # the 1.3 KB file: 10^9 leaves once expanded
    line = refused(cli(monkeypatch, capsys, *args), str(path), "line ", "too many aliases", f"{MAX_NODES:,}")
    assert "lol" not in line
    assert not (tmp_path / "out").exists()  # refused before the sweep folder is made


def test_value_under_the_budget_is_quoted_by_a_short_prefix(tmp_path, monkeypatch, capsys):
    """10^4 leaves load (under the budget); the message about them quotes a few, not 70 KB."""
    path = tmp_path / "wide.yaml"
    path.write_text(model(platform=laughs(levels=4)))
    line = refused(cli(monkeypatch, capsys, "check", path), f"{path}: nodes.app.platform:", "is not allowed")
    assert line.count("lol") < 20


def test_long_string_value_is_quoted_by_its_start_and_length(tmp_path, monkeypatch, capsys):
    path = tmp_path / "long.yaml"
    path.write_text(model(delay="x" * 722_000))
    refused(
        cli(monkeypatch, capsys, "check", path), f"{path}: attacker.replay_delay", "cannot read", "(722000 characters)"
    )


def test_long_key_is_shortened_in_the_field_path(tmp_path, monkeypatch, capsys):
    path = tmp_path / "key.json"  # JSON: YAML's plain keys stop at 1024 characters, JSON's do not
    nodes = {"app": {"kind": "client", "platform": "workload"}, "k" * 50_000: {"kind": "firewall"}}
    path.write_text(json.dumps({"name": "k", "nodes": nodes, "edges": [["app", "k" * 50_000]]}))
    refused(cli(monkeypatch, capsys, "check", path), f"{path}: nodes.kkkk", "(50000 characters)", "unknown kind")


@pytest.mark.parametrize("item", ["access_ttl=" + "9" * 100_000 + "parsecs", "z" * 100_000])
def test_long_set_option_is_quoted_short(monkeypatch, capsys, item):
    refused(cli(monkeypatch, capsys, "check", "spa_behind_proxy", "--set", item), "--set", "(100")


def test_many_problems_are_counted_not_listed(tmp_path, monkeypatch, capsys):
    path = tmp_path / "many.yaml"
    path.write_text(
        model().replace("{kind: resource}", "{kind: resource, " + ", ".join(f"f{i}: 1" for i in range(500)) + "}")
    )
    code, _, err = cli(monkeypatch, capsys, "check", path)
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 21 and lines[-1] == f"{path}: and 480 more problems"
    assert all(len(line) < SHORT for line in lines)


def test_file_larger_than_the_limit_is_refused_unread(tmp_path, monkeypatch, capsys):
    path = tmp_path / "huge.yaml"
    path.write_text(model() + "#" * MAX_BYTES)
    refused(cli(monkeypatch, capsys, "check", path), str(path), f"larger than {MAX_BYTES:,} bytes")


def test_recursive_alias_is_refused(tmp_path, monkeypatch, capsys):
    path = tmp_path / "loop.yaml"
    path.write_text(model(platform="&me [*me]"))
    refused(cli(monkeypatch, capsys, "check", path), str(path), "alias *me refers to a value that contains it")


def test_aliases_cannot_nest_deeper_than_the_limit(tmp_path, monkeypatch, capsys):
    """Each anchor shallow, the chain of aliases 5 x 10 levels deep once expanded."""
    chain = ["&n0 " + "[" * 10 + "1" + "]" * 10]
    chain += [f"&n{i} " + "[" * 10 + f"*n{i - 1}" + "]" * 10 for i in range(1, 5)]
    path = tmp_path / "chain.yaml"
    path.write_text(model(platform="[" + ", ".join(chain) + "]"))
    refused(cli(monkeypatch, capsys, "check", path), f"{path}: YAML error: nested too deeply (more than {MAX_DEPTH}")


def test_anchors_and_merge_keys_within_the_budget_still_work(tmp_path, monkeypatch, capsys):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "name: anchors\nnodes:\n"
        "  a: &client {kind: client, platform: workload, leaks: &leaks [{vector: log, rate: 1/year}]}\n"
        "  b: {<<: *client, instances: 3}\n"
        "  c: {<<: *client, leaks: *leaks}\n"
        "  api: {kind: resource}\n"
        "edges: [[a, api], [b, api], [c, api]]\n"
    )
    code, out, err = cli(monkeypatch, capsys, "check", path)
    assert code == 0, err
    assert "model anchors, policy hybrid: 6 routes" in out


# --------------------------------------------------------------------------- hypothesis: aliases and nesting


def expanded_size(value: object, depth: int = 1) -> tuple[int, int]:
    """(values, depth) of loaded data with every shared part counted each time it appears, as the loader counts."""
    if isinstance(value, dict):
        parts = [expanded_size(v, depth + 1) for pair in value.items() for v in pair]
    elif isinstance(value, list):
        parts = [expanded_size(v, depth + 1) for v in value]
    else:
        return 1, depth
    return 1 + sum(n for n, _ in parts), max([depth, *(d for _, d in parts)])


@st.composite
def aliased_yaml(draw: st.DrawFn) -> str:
    """A mapping of anchored values, each a list or mapping of scalars, nested lists and aliases of earlier
    anchors (mostly of the last few: chains that multiply), some documents nested beyond the limit."""
    deep = draw(st.booleans())
    lines = []
    for i in range(draw(st.integers(1, 14))):

        def item(i: int) -> str:
            kind = draw(st.sampled_from(["scalar", "scalar", "alias", "alias", "alias", "alias", "nest"]))
            if kind == "alias" and i:
                return f"*a{i - 1 - draw(st.integers(0, min(2, i - 1)))}"
            if kind == "nest":
                depth = draw(st.integers(1, 2 * MAX_DEPTH if deep else 3))
                return "[" * depth + draw(st.sampled_from(["1", "x", ""])) + "]" * depth
            return draw(st.sampled_from(["1", "lol", "15m", "~", "true"]))

        items = [item(i) for _ in range(draw(st.integers(0, 16)))]
        if draw(st.booleans()):
            body = "[" + ", ".join(items) + "]"
        else:
            body = "{" + ", ".join(f"k{j}: {v}" for j, v in enumerate(items)) + "}"
        lines.append(f"d{i}: &a{i} {body}")
    if draw(st.booleans()):
        lines.append("merged: {<<: *a0, extra: 1}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aliased_yaml())
def test_aliases_and_nesting_load_within_bounds_or_raise_input_error(text: str) -> None:
    try:
        data = parse_text(text, "gen.yaml")
    except InputError as err:
        assert err.source == "gen.yaml" and len(str(err)) < SHORT
        return
    values, depth = expanded_size(data)
    assert values <= MAX_NODES and depth <= MAX_DEPTH


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["[", "]", "{", "}", "a: ", "&x ", "*x", ", ", "- ", "\n  ", "1", "<<: "]), max_size=200)
)
def test_fragments_of_nesting_and_aliases_never_raise_another_error(parts: list[str]) -> None:
    for json_only in (False, True):
        try:
            data = parse_text("".join(parts) or "x", "frag", json_only=json_only)
        except InputError as err:
            assert err.source == "frag"
            continue
        values, depth = expanded_size(data)
        assert values <= MAX_NODES and depth <= MAX_DEPTH


# --------------------------------------------------------------------------- names are text: `$` and control characters

DOLLARS = """\
name: m$x$
nodes:
  a$b$c: {kind: client, platform: workload, leaks: [{vector: log, rate: 1/year}]}
  "r$^{$": {kind: resource}
edges: [[a$b$c, "r$^{$"]]
"""


def test_dollar_names_draw_as_text_in_a_diagram(tmp_path, monkeypatch, capsys):
    path = tmp_path / "dollars.yaml"
    path.write_text(DOLLARS)
    policy = tmp_path / "p$^{$.yaml"
    policy.write_text("base: dpop\n")
    out = tmp_path / "d.svg"
    code, _, err = cli(monkeypatch, capsys, "diagram", path, "-p", policy, "--out", out)
    assert code == 0, err
    svg = out.read_text()
    assert "a$b$c" in svg and "r$^{$" in svg and "m$x$ under p$^{$" in svg  # drawn as written, not as math


def test_dollar_names_in_report_and_plot(tmp_path, monkeypatch, capsys):
    model_file = tmp_path / "dollars.yaml"
    model_file.write_text(DOLLARS)
    policy = tmp_path / "p$^{$.yaml"
    policy.write_text("base: dpop\n")
    rows = tmp_path / "rows.csv"
    args = ["run", model_file, "-p", "bearer", "-p", policy, "-n", "2", "--horizon", "5d", "--out", rows]
    assert cli(monkeypatch, capsys, *args)[0] == 0
    code, _, err = cli(monkeypatch, capsys, "plot", rows, "--kind", "tradeoff", "--out", tmp_path / "t.svg")
    assert code == 0, err
    assert "p$^{$" in (tmp_path / "t.svg").read_text()
    code, _, err = cli(monkeypatch, capsys, "report", rows, "--model", model_file, "--out", tmp_path / "r.html")
    assert code == 0, err
    assert "p$^{$" in (tmp_path / "r.html").read_text()


ESCAPES = "\x1b\r\a"  # the control characters of the cases below


def test_control_characters_in_names_do_not_reach_the_terminal(tmp_path, monkeypatch, capsys):
    path = tmp_path / "ansi.yaml"
    path.write_text(model().replace("app", '"app\\e[2J\\e[H\\r\\a"').replace("name: hostile", 'name: "m\\e[31m"'))
    code, out, err = cli(monkeypatch, capsys, "check", path)
    assert code == 0, err
    assert not any(c in out for c in ESCAPES)
    assert "app\\x1b[2J\\x1b[H\\r\\x07" in out and "model m\\x1b[31m" in out  # shown escaped: the user sees them


def test_control_characters_in_the_run_table_do_not_reach_the_terminal(tmp_path, monkeypatch, capsys):
    policy = tmp_path / "p\x1b[2J.yaml"  # a policy is named after its file
    policy.write_text("base: dpop\n")
    code, out, err = cli(monkeypatch, capsys, "run", "workload_direct", "-p", policy, "-n", "2", "--horizon", "1d")
    assert code == 0, err
    assert "\x1b" not in out + err and "p\\x1b[2J" in out


def test_control_characters_do_not_reach_the_terminal_in_error_messages(tmp_path, monkeypatch, capsys):
    path = tmp_path / "ansi\x1b[2J\a.yaml"  # the file name is printed as given: it is user text too
    path.write_text(model().replace("{kind: resource}", "{kind: firewall}"))
    line = refused(cli(monkeypatch, capsys, "check", path), "ansi\\x1b[2J\\x07.yaml: nodes.api", "unknown kind")
    assert not any(c in line for c in ESCAPES)


def test_control_characters_in_an_experiment_name_do_not_reach_the_terminal(tmp_path, monkeypatch, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text('name: "x\\e[2J\\r"\nmodels: [workload_direct]\npolicies: [bearer]\nreplications: 1\nhorizon: 1d\n')
    code, out, err = cli(monkeypatch, capsys, "sweep", path, "--out", tmp_path / "o", "-j", "1")
    assert code == 0, err
    assert "\x1b" not in out + err and "\r" not in out  # (tqdm's progress bar on stderr redraws with \r)
    assert "x\\x1b[2J\\r: 1 runs in" in out


# --------------------------------------------------------------------------- output names stay in their folder


@pytest.mark.parametrize(
    "name, folder", [("../../x", "_.._x"), ("a/b", "a_b"), (".hidden", "hidden"), ("..", "experiment")]
)
def test_experiment_name_cannot_leave_the_results_folder(tmp_path, monkeypatch, capsys, name, folder):
    work = tmp_path / "one" / "two"
    work.mkdir(parents=True)
    (work / "exp.yaml").write_text(
        f"name: {name!r}\nmodels: [workload_direct]\npolicies: [bearer]\nreplications: 1\nhorizon: 1d\n"
    )
    monkeypatch.chdir(work)
    code, _, err = cli(monkeypatch, capsys, "sweep", "exp.yaml", "-j", "1")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.rglob("manifest.json")) == ["manifest.json"]
    assert (work / "results" / folder / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one"] and sorted(os.listdir(work)) == ["exp.yaml", "results"]


# --------------------------------------------------------------------------- FIFOs, devices, folders


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("role", ["model", "policy", "costs", "experiment", "results file", "trace file"])
def test_fifo_as_input_is_refused_not_waited_on(tmp_path, monkeypatch, capsys, no_hang, role):
    commands: dict[str, tuple[str, list[object]]] = {
        "model": ("m.yaml", ["check", "{}"]),
        "policy": ("p.yaml", ["check", "spa_behind_proxy", "-p", "{}"]),
        "costs": ("c.yaml", ["run", "spa_behind_proxy", "-n", "1", "--costs", "{}"]),
        "experiment": ("e.yaml", ["sweep", "{}", "--out", tmp_path / "o"]),
        "results file": ("rows.csv", ["plot", "{}", "--kind", "tradeoff", "--out", tmp_path / "t.png"]),
        "trace file": ("trace.csv", ["plot", "{}", "--kind", "timeline", "--out", tmp_path / "t.png"]),
    }
    name, args = commands[role]
    path = fifo(tmp_path / name)
    args = [path if a == "{}" else a for a in args]
    refused(cli(monkeypatch, capsys, *args), str(path), "not a regular file (a FIFO, device or socket)")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("role", ["run --out", "run --trace", "diagram", "plot", "report", "sweep --out"])
def test_fifo_as_output_is_refused_before_any_work(tmp_path, monkeypatch, capsys, no_hang, role):
    rows = tmp_path / "rows.csv"
    if role in ("plot", "report"):
        assert cli(monkeypatch, capsys, "run", "workload_direct", "-n", "2", "--horizon", "5d", "--out", rows)[0] == 0
    exp = tmp_path / "e.yaml"
    exp.write_text("name: e\nmodels: [workload_direct]\npolicies: [bearer]\nreplications: 1\nhorizon: 1d\n")
    name, args = {
        "run --out": ("o.csv", ["run", "workload_direct", "-n", "1", "--out", "{}"]),
        "run --trace": ("t.csv", ["run", "workload_direct", "-n", "1", "--trace", "{}"]),
        "diagram": ("d.png", ["diagram", "workload_direct", "--out", "{}"]),
        "plot": ("p.png", ["plot", rows, "--kind", "tradeoff", "--out", "{}"]),
        "report": ("r.html", ["report", rows, "--out", "{}"]),
        "sweep --out": ("folder", ["sweep", exp, "-j", "1", "--out", "{}"]),
    }[role]
    path = fifo(tmp_path / name)
    args = [path if a == "{}" else a for a in args]
    line = refused(cli(monkeypatch, capsys, *args), str(path), "--out" if role != "run --trace" else "--trace")
    assert "FIFO" in line or "is a file" in line


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero and /dev/null")
@pytest.mark.parametrize(
    "device, name, args",
    [
        ("/dev/zero", "model.yaml", ["check", "{}"]),  # endless: read in full, it would exhaust memory
        ("/dev/zero", "rows.csv", ["report", "{}"]),
        ("/dev/null", "trace.csv", ["run", "workload_direct", "-n", "1", "--trace", "{}"]),
        ("/dev/null", "d.svg", ["diagram", "workload_direct", "--out", "{}"]),
    ],
)
def test_devices_are_refused_as_inputs_and_outputs(tmp_path, monkeypatch, capsys, no_hang, device, name, args):
    link = tmp_path / name  # a name with the suffix a command asks for, for a device
    link.symlink_to(device)
    refused(cli(monkeypatch, capsys, *[link if a == "{}" else a for a in args]), str(link), "is not a regular file")


def test_folder_as_model_and_as_output_is_refused(tmp_path, monkeypatch, capsys):
    refused(cli(monkeypatch, capsys, "check", tmp_path), str(tmp_path), "is a folder")
    (tmp_path / "d.png").mkdir()
    refused(cli(monkeypatch, capsys, "diagram", "workload_direct", "--out", tmp_path / "d.png"), "--out", "is a folder")
