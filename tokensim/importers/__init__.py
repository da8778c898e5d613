"""Importing architecture descriptions: Threagile, OTM, CycloneDX, and a mesh overlay (docs/import.md).

`import_model` reads a file, detects its format from the content, maps it to a tokensim model, and
returns the model, its YAML text (the import report as comments at the top, a comment per field) and
the report itself. The model is validated before it is returned: it loads, passes `tokensim check`
and runs. A mesh configuration (Istio, Envoy) is an overlay: it sets the hop facts of an existing
model (``overlay_on``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokensim.errors import InputError, Problem
from tokensim.importers import writer
from tokensim.importers.detect import FORMATS, Format, detect
from tokensim.importers.draft import Draft
from tokensim.importers.findings import ImportReport

if TYPE_CHECKING:
    from tokensim.model.architecture import Architecture

__all__ = ["FORMATS", "ImportReport", "ImportResult", "import_model"]


@dataclass(frozen=True)
class ImportResult:
    """An imported model: its mapping (``model``), the file text to write (``text``), the report, and the
    validated `Architecture` (so that a caller can run it without writing it first)."""

    model: dict[str, Any]
    text: str
    report: ImportReport
    architecture: Architecture


def import_model(
    path: str | Path, *, format: Format | None = None, overlay_on: str | Path | None = None
) -> ImportResult:
    """Import the architecture description at ``path`` as a tokensim model.

    ``format`` forces one of `FORMATS` (default: detected from the content). A mesh configuration needs
    ``overlay_on``, the model (a file or a built-in name) whose hops it configures. Bad input raises
    `tokensim.InputError` naming the file and the element.
    """
    from tokensim.model.documents import parse_all, read_text

    text, source = read_text(path)
    documents = parse_all(text, source)
    found = detect(documents, source) if format is None else format
    if found not in FORMATS:
        raise InputError.single(source, "--format", f"unknown format {found!r}; formats: {', '.join(FORMATS)}")
    if found == "mesh":
        if overlay_on is None:
            raise InputError.single(
                source, "", "mesh configuration is an overlay: give the model with --overlay-on MODEL.yaml"
            )
        from tokensim.importers import mesh

        draft = mesh.overlay(documents, source, overlay_on)
    else:
        if overlay_on is not None:
            raise InputError.single(
                source, "--overlay-on", f"only mesh configuration overlays a model, not a {found} file"
            )
        if len(documents) != 1 or not isinstance(documents[0], dict):
            raise InputError.single(source, "", f"expected one {found} document, a mapping of fields")
        draft = _draft(found, documents[0], source)
    model_text = writer.model_text(draft)
    return ImportResult(draft.model, model_text, draft.report, _checked(model_text, draft, source))


def _checked(model_text: str, draft: Draft, source: str) -> Architecture:
    """Validate the text to be written (the file a user gets must load); a problem names the source element.

    The text is the importer's own (no size bound: its comments may outgrow the source); a problem in it comes
    from a value the source states (a ``tokensim:FIELD=VALUE`` tag) or from the overlay's base model.
    """
    import yaml

    from tokensim.model.architecture import Architecture
    from tokensim.model.loading import validate_as
    from tokensim.model.schema import ModelFile

    try:
        spec = validate_as(ModelFile, yaml.safe_load(model_text), source, units_required=True)
        return Architecture(spec, source)
    except InputError as err:
        raise InputError(source, [_traced(problem, draft) for problem in err.problems]) from None


def _traced(problem: Problem, draft: Draft) -> Problem:
    """A problem of the imported model, at the source element its node came from (``nodes.X.f`` -> ``ELEMENT: ...``)."""
    parts = problem.path.split(".")
    if len(parts) >= 2 and parts[0] == "nodes" and parts[1] in draft.origins:
        rest = ".".join(parts[2:])
        where = f"{draft.origins[parts[1]]} (node {parts[1]}{'.' + rest if rest else ''})"
        return Problem(where, problem.message)
    return Problem(f"the imported model: {problem.path}" if problem.path else "the imported model", problem.message)


def _draft(found: Format, document: dict[str, Any], source: str) -> Draft:
    from tokensim.importers import build

    if found == "threagile":
        from tokensim.importers import threagile

        inventory = threagile.read(document, source)
    elif found == "otm":
        from tokensim.importers import otm

        inventory = otm.read(document, source)
    else:
        from tokensim.importers import cyclonedx

        inventory = cyclonedx.read(document, source)
    return build.build(inventory)
