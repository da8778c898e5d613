"""Validating an input against its format's JSON schema (jsonschema), with one message per problem.

The schemas of Threagile and OTM are written for tokensim from each format's published schema and
specification (``schemas/*.schema.json``; docs/import.md cites them): the types and enumerations of
the fields an import reads, every other field allowed. CycloneDX BOMs are validated by
cyclonedx-python-lib against CycloneDX's own schema (``cyclonedx.py``).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from tokensim.errors import InputError, Problem, format_loc


def schema(name: str) -> dict[str, Any]:
    """The bundled schema ``name`` (``threagile`` or ``otm``)."""
    text = resources.files("tokensim.importers.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def validate(data: Any, name: str, source: str) -> None:
    """Raise `InputError` naming ``source`` and each element's path if ``data`` breaks schema ``name``."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema(name))
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        problems = [Problem(format_loc(list(e.absolute_path)), message(e)) for e in errors]
        raise InputError(source, problems)


def message(error: Any) -> str:
    """A jsonschema error in plain words: the allowed values of an enumeration, else jsonschema's message."""
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{json.dumps(error.instance)[:60]} is not one of the format's values: {allowed}"
    if error.validator == "required":
        return str(error.message).replace("is a required property", "is required by the format")
    return str(error.message)[:300]


def boolean_keys(data: Any, path: str = "") -> list[str]:
    """Where ``data`` has a mapping key YAML 1.1 read as a boolean (an unquoted ``On:``, ``yes:``, ``off:``):
    its spelling is lost (it becomes ``True`` or ``False``), so the import reports each one."""
    found: list[str] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        here = f"{path}[{key}]" if isinstance(data, list) else f"{path}.{key}" if path else str(key)
        if isinstance(data, dict) and isinstance(key, bool):
            found.append(here)
        found += boolean_keys(value, here)
    return found


def string_keys(data: Any) -> Any:
    """``data`` with every mapping key a string: YAML reads an unquoted ``2024:`` or ``On:`` key as a number or
    a boolean, and a name is text (JSON Schema and the node names expect strings)."""
    if isinstance(data, dict):
        return {str(key): string_keys(value) for key, value in data.items()}
    if isinstance(data, list):
        return [string_keys(item) for item in data]
    return data
