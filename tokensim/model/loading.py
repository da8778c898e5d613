"""Reading YAML and JSON files safely and turning pydantic errors into `InputError`.

Files are parsed with a safe loader only: a YAML tag that would build a Python
object is rejected with a message, never run. Duplicate keys are rejected too,
because a silently ignored duplicate is a wrong simulation.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from tokensim.errors import InputError, Problem, format_loc

_M = TypeVar("_M", bound=BaseModel)


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""


def _mapping_without_duplicates(
    loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Hashable, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` is flattened by construct_mapping
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key: let the constructor report it
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


class _DuplicateJSONKey(ValueError):
    pass


def _json_object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateJSONKey(key)
        out[key] = value
    return out


def parse_text(text: str, source: str, *, json_only: bool = False) -> Any:
    """Parse YAML (a superset of JSON) or strict JSON; raise `InputError` on any syntax problem."""
    if not text.strip():
        raise InputError.single(source, "", "the file is empty; expected a mapping of fields")
    if json_only:
        try:
            return json.loads(text, object_pairs_hook=_json_object_without_duplicates)
        except json.JSONDecodeError as err:
            raise InputError.single(source, f"line {err.lineno}", f"JSON syntax error: {err.msg}") from None
        except _DuplicateJSONKey as err:
            raise InputError.single(source, "", f"JSON error: duplicate key {err.args[0]!r}") from None
        except RecursionError:
            raise InputError.single(source, "", "JSON error: nested too deeply") from None
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)
    except RecursionError:
        raise InputError.single(source, "", "YAML error: nested too deeply") from None
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


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``Optional[...]`` from a type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType) and type(None) in get_args(annotation) and len(get_args(annotation)) == 2:
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def _union_tags(annotation: Any) -> dict[str, type[BaseModel]]:
    """Members of a tagged union (by their ``kind`` or ``distribution`` value); empty otherwise."""
    if get_origin(annotation) not in (Union, UnionType):
        return {}
    tags: dict[str, type[BaseModel]] = {}
    for member in get_args(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name in ("kind", "distribution"):
                field = member.model_fields.get(name)
                if field is not None and get_origin(field.annotation) is Literal:
                    tags.update({value: member for value in get_args(field.annotation)})
    return tags


def _place(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[Any], type[BaseModel] | None]:
    """The location as the user wrote it, and the model holding its last part.

    A tagged union puts the tag into pydantic's location (nodes.spa.client.x); it is
    dropped by following the types, so a node *named* like a tag keeps its name.
    """
    current: Any = model
    clean: list[Any] = []
    holder: type[BaseModel] | None = None
    for part in loc:
        annotation = _unwrap(current)
        tags = _union_tags(annotation)
        if isinstance(part, str) and part in tags:
            current = tags[part]
            continue
        clean.append(part)
        holder = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        origin = get_origin(annotation)
        if holder is not None:
            field = holder.model_fields.get(part) if isinstance(part, str) else None
            current = field.annotation if field is not None else None
        elif origin in (list, tuple) and isinstance(part, int) and get_args(annotation):
            current = get_args(annotation)[0]
        elif origin is dict and get_args(annotation):
            current = get_args(annotation)[1]
        else:
            current = None
    return clean, holder


def validation_problems(err: ValidationError, model: type[BaseModel], data: Any) -> list[Problem]:
    """Translate pydantic errors into problems with dotted paths and plain words."""
    problems: list[Problem] = []
    for e in err.errors(include_url=False):
        loc, holder = _place(model, tuple(e["loc"]))
        path = format_loc(loc)
        kind = e["type"]
        msg = e["msg"]
        if kind == "extra_forbidden":
            allowed = sorted(holder.model_fields) if holder is not None else None
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


def validate_as(model: type[_M], data: object, source: str, *, units_required: bool = False) -> _M:
    """Validate ``data`` as ``model`` or raise `InputError` naming ``source`` and each field.

    ``units_required`` (for files) rejects bare numbers where a duration or rate is
    expected: `rate: 3` is ambiguous, `rate: 3/year` is not.
    """
    if not isinstance(data, dict):
        raise InputError.single(source, "", f"expected a mapping of fields at the top, got {type(data).__name__}")
    try:
        return model.model_validate(data, context={"units_required": units_required})
    except ValidationError as err:
        raise InputError(source, validation_problems(err, model, data)) from None
