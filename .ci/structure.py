"""Structure checks CI runs before the tests (issue 10): small modules, small classes, no import cycles.

- every module under tokensim/ is under 350 lines;
- no class holds more than 12 attributes (dataclass and NamedTuple fields, attributes set
  on ``self``); pydantic models are exempt, their fields are the file format;
- no two subpackages of tokensim import each other, directly or through others
  (function-level imports included: a cycle hidden in a function is still a cycle).

Prints each violation and exits 1 if there is one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent / "tokensim"
MAX_LINES = 350
MAX_ATTRIBUTES = 12
PYDANTIC_BASES = {"BaseModel", "_Strict", "_NodeBase", "Client"}  # schema classes: the file format's fields


def attributes(cls: ast.ClassDef) -> set[str]:
    """Names a class holds: annotated class-level fields and attributes assigned on self."""
    names = {s.target.id for s in cls.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
    for node in ast.walk(cls):
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                names.add(t.attr)
    return names


def subpackage(module: str) -> str:
    """tokensim.sim.engine -> sim; tokensim.api -> api."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def main() -> int:
    problems: list[str] = []
    graph: nx.DiGraph = nx.DiGraph()
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent)
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines >= MAX_LINES:
            problems.append(f"{rel}: {lines} lines (limit {MAX_LINES})")
        tree = ast.parse(text)
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if not bases & PYDANTIC_BASES:
                    held = attributes(node)
                    if len(held) > MAX_ATTRIBUTES:
                        problems.append(
                            f"{rel}: class {node.name} holds {len(held)} attributes (limit {MAX_ATTRIBUTES})"
                        )
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tokensim"):
                a, b = subpackage(module), subpackage(node.module)
                if a != b:
                    graph.add_edge(a, b)
    for cycle in nx.simple_cycles(graph):
        if len(cycle) > 1 and "tokensim" not in cycle:  # the package's __init__ re-exports everything
            problems.append(f"import cycle between subpackages: {' -> '.join([*cycle, cycle[0]])}")
    for p in problems:
        print(p)
    if not problems:
        print(
            f"structure: {len(list(ROOT.rglob('*.py')))} modules under {MAX_LINES} lines, classes of at most "
            f"{MAX_ATTRIBUTES} attributes, no import cycle between subpackages"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
