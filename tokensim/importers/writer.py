"""Writing an imported model: the report as comments at the top, each value with where it came from.

The file is laid out as the built-in models are (one field a line, a comment beside it), so that a
team reads the import the way it reads a hand-written model, and finds every "assumed, set me".
Values are printed by PyYAML (flow style), so the file parses back to exactly the mapping written.
"""

from __future__ import annotations

from typing import Any

import yaml

from tokensim.importers.draft import SET_ME, Draft

#: Column of the comments beside values (the built-in models' layout).
COMMENT_COLUMN = 36


def _flow(value: object) -> str:
    """One value in YAML flow style, on one line."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, sort_keys=False).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _line(text: str, comment: str | None) -> str:
    if not comment:
        return text
    return f"{text.ljust(COMMENT_COLUMN - 1)} # {comment}"


def header(draft: Draft) -> list[str]:
    """The report as comment lines, and how to read the model."""
    lines = [f"# {line}" if line else "#" for line in draft.report.lines()]
    lines += [
        "#",
        f'# Values marked "{SET_ME}" are not in the description: they are documented defaults',
        "# (docs/parameters.md, docs/import.md) that let the model run; set them from your system.",
        "# The mapping of each format: docs/import.md.",
    ]
    return lines


def model_text(draft: Draft) -> str:
    """The imported model as YAML text: the report as comments, then the model with a comment per field."""
    model, comments = draft.model, draft.comments
    lines = header(draft)
    lines.append(f"name: {_flow(model['name'])}")
    if "description" in model:  # optional in a model file (docs/parameters.md s3: default empty)
        lines.append(f"description: {_flow(model['description'])}")
    lines.append("nodes:")
    for name, node in model["nodes"].items():
        lines.append(_line(f"  {name}:", comments.get(("nodes", name))))
        for key, value in node.items():
            if key == "leaks":
                lines.append("    leaks:" if value else "    leaks: []")
                for i, leak in enumerate(value):
                    lines.append(_line(f"      - {_flow(leak)}", comments.get(("nodes", name, "leaks", str(i)))))
            else:
                lines.append(_line(f"    {key}: {_flow(value)}", comments.get(("nodes", name, key))))
    lines.append("edges:" if model.get("edges") else "edges: []")
    lines.extend(f"  - {_flow(edge)}" for edge in model.get("edges", []))
    for key, value in model.items():  # attacker, defender, loss (a model the overlay read keeps them)
        if key not in ("name", "description", "nodes", "edges"):
            lines.append(_line(f"{key}: {_flow(value)}", comments.get((key,))))
    return "\n".join(lines) + "\n"


def plain(model: dict[str, Any]) -> dict[str, Any]:
    """The model mapping as written (for comparing a written file with its draft)."""
    return yaml.safe_load(yaml.safe_dump(model, sort_keys=False))  # type: ignore[no-any-return]
