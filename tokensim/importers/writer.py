"""Writing an imported model: the report as comments at the top, each value with where it came from.

The file is laid out as the built-in models are (one field a line, a comment beside it), so that a
team reads the import the way it reads a hand-written model, and finds every "assumed, set me".
Values and keys are printed by PyYAML (flow style), and comments are one line each (control characters
become spaces), so text from the source can never become YAML of its own. A mesh overlay keeps its
base model's text, comments included (ruamel.yaml's round trip), and comments each field it changes.
"""

from __future__ import annotations

import io
import re
from typing import Any

import yaml

from tokensim.importers.draft import SET_ME, Draft

#: Column of the comments beside values (the built-in models' layout).
COMMENT_COLUMN = 36
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def _flow(value: object) -> str:
    """One value in YAML flow style, on one line."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, sort_keys=False).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def one_line(text: str) -> str:
    """Comment text on one line: a newline in a name from the source must not end the comment."""
    return _CONTROL.sub(" ", text)


def _line(text: str, comment: str | None) -> str:
    if not comment:
        return text
    return f"{text.ljust(COMMENT_COLUMN - 1)} # {one_line(comment)}"


def header(draft: Draft) -> list[str]:
    """The report as comment lines, and how to read the model."""
    lines = [f"# {one_line(line)}" if line else "#" for line in draft.report.lines()]
    lines += [
        "#",
        f'# Values marked "{SET_ME}" are not in the description: they are documented defaults',
        "# (docs/parameters.md section 8, docs/import.md) that let the model run; set them from your system.",
    ]
    return lines


def model_text(draft: Draft) -> str:
    """The imported model as YAML text: the report as comments, then the model with a comment per field."""
    if draft.base_text is not None:
        return "\n".join(header(draft)) + "\n" + _overlaid(draft)
    model, comments = draft.model, draft.comments
    lines = header(draft)
    lines.append(f"name: {_flow(model['name'])}")
    if "description" in model:  # optional in a model file (docs/parameters.md s3: default empty)
        lines.append(f"description: {_flow(model['description'])}")
    lines.append("nodes:")
    for name, node in model["nodes"].items():
        lines.append(_line(f"  {_flow(name)}:", comments.get(("nodes", name))))
        for key, value in node.items():
            if key == "leaks" and value:
                lines.append("    leaks:")
                for i, leak in enumerate(value):
                    lines.append(_line(f"      - {_flow(leak)}", comments.get(("nodes", name, "leaks", str(i)))))
            else:
                lines.append(_line(f"    {_flow(key)}: {_flow(value)}", comments.get(("nodes", name, key))))
    lines.append("edges:" if model.get("edges") else "edges: []")
    lines.extend(f"  - {_flow(edge)}" for edge in model.get("edges", []))
    for key, value in model.items():  # attacker, defender, loss
        if key not in ("name", "description", "nodes", "edges"):
            lines.append(_line(f"{_flow(key)}: {_flow(value)}", comments.get((key,))))
    return "\n".join(lines) + "\n"


def _overlaid(draft: Draft) -> str:
    """The base model's text with the overlay's changes: its comments kept, each changed field commented."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    round_trip = YAML(typ="rt")
    round_trip.width = 4096
    document: Any = round_trip.load(draft.base_text or "")
    nodes = document["nodes"]
    for name, node in draft.model["nodes"].items():
        if name not in nodes:
            nodes[name] = CommentedMap(node)
            if ("nodes", name) in draft.comments:
                nodes.yaml_add_eol_comment(one_line(draft.comments[("nodes", name)]), name)
        target = nodes[name]
        for key, value in node.items():
            if key not in target or target[key] != value:
                target[key] = value
            comment = draft.comments.get(("nodes", name, key))
            if comment:
                target.yaml_add_eol_comment(one_line(comment), key)
    edges = draft.model.get("edges", [])
    if [list(e) for e in document.get("edges", [])] != [list(e) for e in edges]:
        rebuilt = CommentedSeq()
        for edge in edges:
            pair = CommentedSeq(edge)
            pair.fa.set_flow_style()
            rebuilt.append(pair)
        document["edges"] = rebuilt
    out = io.StringIO()
    round_trip.dump(document, out)
    return out.getvalue()
