"""A model being written by an import: the model's mapping, and a comment per field (docs/import.md).

The comment says where a value came from: the source field it was mapped from, or "assumed, set me"
with the default's source. ``writer.py`` prints the comments beside the values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tokensim.importers.assumptions import Assumed
from tokensim.importers.findings import ImportReport

#: What an assumed value's comment starts with: the phrase a reader searches the model for.
SET_ME = "assumed, set me"


def node_name(text: str, taken: set[str]) -> str:
    """A tokensim node name for a source element: lower case, words joined by ``_``, unique in ``taken``."""
    base = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "node"
    if base[0].isdigit():
        base = f"n_{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


@dataclass
class Draft:
    """The model mapping under construction, its per-field comments, and the import report."""

    report: ImportReport
    model: dict[str, Any] = field(default_factory=dict)
    comments: dict[tuple[str, ...], str] = field(default_factory=dict)

    def node(self, name: str) -> dict[str, Any]:
        """The mapping of node ``name`` (created empty)."""
        nodes: dict[str, dict[str, Any]] = self.model.setdefault("nodes", {})
        return nodes.setdefault(name, {})

    def set(self, name: str, key: str, value: object, why: str) -> None:
        """Set a node field mapped from the source; ``why`` names the source field (it replaces an assumption)."""
        self.node(name)[key] = value
        assumed = f"{name}.{key} = "
        self.report.findings = [
            f for f in self.report.findings if not (f.category == "assumed" and f.detail.startswith(assumed))
        ]
        self.comments[("nodes", name, key)] = why

    def assume(self, name: str, key: str, assumed: Assumed, element: str) -> None:
        """Set a node field no description holds, mark it "assumed, set me" and report it."""
        self.node(name)[key] = assumed.value
        self.comments[("nodes", name, key)] = f"{SET_ME} ({assumed.source})"
        self.report.add("assumed", element, key, f"{name}.{key} = {_shown(assumed.value)} ({assumed.source})")

    def assume_leak(self, name: str, assumed: Assumed, element: str) -> None:
        """Add a leak no description holds to node ``name``, marked and reported as assumed."""
        leaks: list[Any] = self.node(name).setdefault("leaks", [])
        leaks.append(assumed.value)
        self.comments[("nodes", name, "leaks", str(len(leaks) - 1))] = f"{SET_ME} ({assumed.source})"
        self.report.add("assumed", element, "leaks", f"{name}.leaks: {_shown(assumed.value)} ({assumed.source})")


def _shown(value: object) -> str:
    """A value as the report prints it: flow-style, as in the model file."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
