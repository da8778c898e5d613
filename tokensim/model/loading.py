"""Reading YAML and JSON files safely and turning pydantic errors into `InputError`.

Files are parsed with a safe loader only: a YAML tag that would build a Python
object is rejected with a message, never run. Duplicate keys are rejected too,
because a silently ignored duplicate is a wrong simulation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tokensim.errors import InputError, Problem, format_loc


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""


def _mapping_without_duplicates(loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key: let the constructor report it
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def parse_text(text: str, source: str, *, json_only: bool = False) -> Any:
    """Parse YAML (a superset of JSON) or strict JSON; raise `InputError` on any syntax problem."""
    if not text.strip():
        raise InputError.single(source, "", "the file is empty; expected a mapping of fields")
    if json_only:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError.single(source, f"line {err.lineno}", f"JSON syntax error: {err.msg}") from None
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = err.problem or err.context or "cannot be parsed"
        if "could not determine a constructor" in str(err):
            what = f"{what}: tags that build objects are not allowed in data files"
        raise InputError.single(source, where, f"YAML error: {what}") from None
    except yaml.YAMLError as err:
        raise InputError.single(source, "", f"YAML error: {err}") from None


def read_document(path: str | Path) -> tuple[Any, str]:
    """Read and parse a YAML or JSON file; return the data and the label for messages."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise InputError.single(source, "", "no such file")
    if path.is_dir():
        raise InputError.single(source, "", "is a folder, expected a YAML or JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError.single(source, "", "is not UTF-8 text") from None
    except OSError as err:
        raise InputError.single(source, "", f"cannot be read: {err.strerror}") from None
    data = parse_text(text, source, json_only=path.suffix.lower() == ".json")
    return data, source


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...], data: Any) -> list[str] | None:
    """Field names allowed at the parent of ``loc`` (for 'unknown field' messages)."""
    from tokensim.model.schema import NODE_CLASSES  # local: avoid a cycle at import

    current: type[BaseModel] | None = model
    value = data
    for part in loc[:-1]:
        if current is None:
            return None
        if isinstance(value, dict) and current.__name__ == "ModelFile" and part == "nodes":
            current, value = None, value.get("nodes")
            continue
        if current is None:
            return None
        field = current.model_fields.get(part) if isinstance(part, str) else None
        value = value.get(part) if isinstance(value, dict) and isinstance(part, str) else None
        if field is None:
            return None
        annotation = field.annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return sorted(current.model_fields) if current is not None else None


def validation_problems(err: ValidationError, model: type[BaseModel], data: Any) -> list[Problem]:
    """Translate pydantic errors into problems with dotted paths and plain words."""
    from tokensim.model.schema import NODE_CLASSES

    problems: list[Problem] = []
    for e in err.errors(include_url=False):
        loc = list(e["loc"])
        # A discriminated union puts the tag into the location: nodes.spa.client.x -> nodes.spa.x
        if len(loc) >= 3 and loc[0] == "nodes" and loc[2] in NODE_CLASSES:
            kind_class = NODE_CLASSES[loc[2]]
            del loc[2]
        else:
            kind_class = None
        if loc and loc[-1] in ("fixed", "lognormal", "exponential", "uniform") and e["type"] != "union_tag_invalid":
            loc = loc[:-1]
        elif len(loc) >= 2 and loc[-2] in ("fixed", "lognormal", "exponential", "uniform"):
            del loc[-2]
        path = format_loc(loc)
        kind = e["type"]
        msg = e["msg"]
        if kind == "extra_forbidden":
            allowed = sorted(kind_class.model_fields) if kind_class is not None and len(loc) == 3 else _allowed_fields(model, tuple(loc), data)
            msg = f"unknown field {loc[-1]!r}" + (f"; allowed fields: {', '.join(allowed)}" if allowed else "")
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "union_tag_invalid":
            ctx = e.get("ctx", {})
            msg = f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
        elif kind == "union_tag_not_found":
            ctx = e.get("ctx", {})
            msg = f"field {ctx.get('discriminator', '').strip(chr(39))!r} is missing"
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif kind == "literal_error":
            msg = f"{e.get('input')!r} is not allowed; {msg[0].lower()}{msg[1:]}"
        problems.append(Problem(path, msg))
    return problems


def validate_as(model: type[BaseModel], data: Any, source: str) -> Any:
    """Validate ``data`` as ``model`` or raise `InputError` naming ``source`` and each field."""
    if not isinstance(data, dict):
        raise InputError.single(source, "", f"expected a mapping of fields at the top, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(source, validation_problems(err, model, data)) from None
