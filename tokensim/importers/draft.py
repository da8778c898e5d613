"""A model being written by an import: the model's mapping, and a comment per field (docs/import.md).

The comment says where a value came from: the source field it was mapped from, or "assumed, set me"
with the default's source. ``writer.py`` prints the comments beside the values. Each assumption is
kept by (node, field), so that a value the source states later replaces it in the file and the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tokensim.importers.assumptions import Assumed
from tokensim.importers.findings import Finding, ImportReport

#: What an assumed value's comment starts with: the phrase a reader searches the model for.
SET_ME = "assumed, set me"


def node_name(text: object, taken: set[str]) -> str:
    """A tokensim node name for a source element: lower case, words joined by ``_``, unique in ``taken``.

    >>> node_name("Orders API", set()), node_name("Kassensystem Süd", set()), node_name(2024, set())
    ('orders_api', 'kassensystem_süd', 'n_2024')
    """
    base = re.sub(r"\W+", "_", str(text).lower()).strip("_") or "node"
    if base[0].isdigit():
        base = f"n_{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


@dataclass
class Draft:
    """The model mapping under construction, its per-field comments, and the import report.

    ``base_text`` is the text of the model a mesh overlay started from (its comments are kept when the
    overlay is written); None for an import. ``origins`` names the source element of each node.
    """

    report: ImportReport
    model: dict[str, Any] = field(default_factory=dict)
    comments: dict[tuple[str, ...], str] = field(default_factory=dict)
    base_text: str | None = None
    origins: dict[str, str] = field(default_factory=dict)  # node name -> the source element it came from
    assumptions: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)

    def node(self, name: str) -> dict[str, Any]:
        """The mapping of node ``name`` (created empty)."""
        nodes: dict[str, dict[str, Any]] = self.model.setdefault("nodes", {})
        return nodes.setdefault(name, {})

    def set(self, name: str, key: str, value: object, why: str) -> None:
        """Set a node field mapped from the source; ``why`` names the source field. It replaces an assumption."""
        self._forget(name, key)
        self.node(name)[key] = value
        self.comments[("nodes", name, key)] = why

    def assume(self, name: str, key: str, assumed: Assumed, element: str) -> None:
        """Set a node field no description holds, mark it "assumed, set me" and report it."""
        self._forget(name, key)
        self.node(name)[key] = assumed.value
        self.comments[("nodes", name, key)] = f"{SET_ME} ({assumed.source})"
        self._note(name, key, element, f"{name}.{key} = {shown(assumed.value)} ({assumed.source})")

    def assume_leak(self, name: str, assumed: Assumed, element: str) -> None:
        """Add a leak no description holds to node ``name``, marked and reported as assumed."""
        leaks: list[Any] = self.node(name).setdefault("leaks", [])
        leaks.append(assumed.value)
        self.comments[("nodes", name, "leaks", str(len(leaks) - 1))] = f"{SET_ME} ({assumed.source})"
        self._note(name, "leaks", element, f"{name}.leaks: {shown(assumed.value)} ({assumed.source})")

    def _note(self, name: str, key: str, element: str, detail: str) -> None:
        self.assumptions.setdefault((name, key), []).append(self.report.add("assumed", element, key, detail))

    def _forget(self, name: str, key: str) -> None:
        """Drop the assumption of a field (its findings and the comments of its values) before it is set."""
        self.report.remove(self.assumptions.pop((name, key), []))
        for path in [p for p in self.comments if p[:3] == ("nodes", name, key) and len(p) > 3]:
            del self.comments[path]


def shown(value: object) -> str:
    """A value as the report prints it: flow-style, as in the model file."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
