"""``tokensim import`` and ``tokensim export``: architecture descriptions in, OTM out (docs/import.md)."""

from __future__ import annotations

import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tokensim.commands.arguments import ModelArg
from tokensim.commands.outputs import echo, require_suffix, writable_file
from tokensim.errors import InputError


class SourceFormat(StrEnum):
    """The formats ``tokensim import`` reads (``--format`` forces one; default: detected from the content)."""

    threagile = "threagile"
    otm = "otm"
    cyclonedx = "cyclonedx"
    mesh = "mesh"


class ExportFormat(StrEnum):
    """The formats ``tokensim export`` writes."""

    otm = "otm"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in its folder: a crash leaves the old file or the new."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        # mkstemp makes the file private; an output file is as readable as the file it replaces, else 0644
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _same_file(given: Path, out: Path) -> bool:
    """Whether ``out`` is the file ``given`` names (so that writing it would destroy an input)."""
    try:
        return given.exists() and out.exists() and os.path.samefile(given, out)
    except OSError:
        return False


def import_(
    file: Annotated[
        Path, typer.Argument(help="A Threagile model, an OTM file, a CycloneDX BOM, or mesh configuration.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the model to MODEL.yaml (default: print it).")
    ] = None,
    source_format: Annotated[
        SourceFormat | None, typer.Option("--format", help="The input's format (default: detected from its content).")
    ] = None,
    overlay_on: Annotated[
        str | None,
        typer.Option(
            "--overlay-on", help="For mesh configuration: the model (file or built-in name) whose hops it sets."
        ),
    ] = None,
) -> None:
    """Import an architecture description as a tokensim model, with a report of what did not map.

    The report (also written as comments at the top of the model) lists every element and field that
    could not be mapped, every value assumed ("assumed, set me": instances, request and leak rates) and
    every ambiguity resolved. The model is validated before it is written: it passes `tokensim check`.
    """
    from tokensim.importers import import_model

    if out is not None:
        require_suffix(out, (".yaml", ".yml"), "an imported model")
        for given, what in ((str(file), "the file imported"), (overlay_on, "the model the overlay reads")):
            if given is not None and _same_file(Path(given), out):
                raise InputError.single("--out", str(out), f"is {what}; write the result to another file")
        writable_file(out, "--out")
    result = import_model(file, format=None if source_format is None else source_format.value, overlay_on=overlay_on)
    if out is None:
        typer.echo(result.text, nl=False)  # the model itself: the report is its comments
        return
    write_atomically(out, result.text)
    for line in result.report.lines():
        echo(line)
    nodes, edges = len(result.model["nodes"]), len(result.model.get("edges", []))
    echo(f"wrote {out}: {nodes} nodes, {edges} edges; next: tokensim check {out}")


def export(
    model: ModelArg,
    export_format: Annotated[ExportFormat, typer.Option("--format", help="The format to write.")] = ExportFormat.otm,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to FILE.json or FILE.yaml (default: print JSON).")
    ] = None,
) -> None:
    """Export a model as an Open Threat Model (OTM) file, for threat-modelling tools; import reads it back."""
    import yaml

    from tokensim.importers.export import to_otm
    from tokensim.model.architecture import load_model

    if out is not None:
        require_suffix(out, (".json", ".yaml", ".yml"), "an OTM file")
        if _same_file(Path(model), out):
            raise InputError.single("--out", str(out), "is the model exported; write the OTM file to another file")
        writable_file(out, "--out")
    document = to_otm(load_model(model))
    if out is not None and out.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    write_atomically(out, text)
    echo(f"wrote {out} ({export_format.value}): {len(document.get('components', []))} components")
