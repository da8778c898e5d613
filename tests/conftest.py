"""Shared helpers: small models built in Python for closed-form checks, and sweep folders from experiment text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tokensim import Architecture


def one_client_model(
    *,
    instances: int = 1000,
    leaks: list[dict[str, Any]],
    delay: str = "15m",
    replay_rate: str = "30/h",
    detection: float = 0.0,
    client: dict[str, Any] | None = None,
    resource: dict[str, Any] | None = None,
    revocation: str = "introspection",
    response: str = "1h",
) -> Architecture:
    """One client population calling one resource directly, with the given leaks."""
    return Architecture.from_dict(
        {
            "name": "closed-form",
            "nodes": {
                "app": {
                    "kind": "client",
                    "platform": "workload",
                    "instances": instances,
                    "leaks": leaks,
                    "supports": ["bearer", "dpop", "mtls"],
                    **(client or {}),
                },
                "api": {"kind": "resource", "privileged_fraction": 0.0, **(resource or {})},
                "idp": {"kind": "issuer", "revocation": revocation},
            },
            "edges": [["app", "api"]],
            "attacker": {"replay_delay": delay, "replay_rate": replay_rate},
            "defender": {"detection_probability": detection, "response_time": response},
        }
    )


def sweep_folder(folder: Path, text: str) -> Path:
    """Write experiment ``text`` to ``folder``/experiment.yaml, run it serially, return its results folder."""
    import tokensim

    (folder / "experiment.yaml").write_text(text)
    tokensim.Experiment.from_yaml(folder / "experiment.yaml").run(folder / "results", workers=1, progress=False)
    return folder / "results"


@pytest.fixture
def make_model():
    return one_client_model


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands a test starts write to a pipe, as for a program that reads them: no width to fit.

    Under pytest, commands started from a test saw ``COLUMNS=80`` although ``os.environ`` held none
    (set in the process's C environment by a library); a command would wrap its output to it (`tokensim.commands.formats`). A test of that wrapping
    sets ``COLUMNS`` itself.
    """
    for name in ("COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
        os.unsetenv(name)  # set below os.environ (the process's C environment), which a child inherits
