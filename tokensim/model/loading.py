"""Reading input files (`tokensim.model.documents`) and turning pydantic errors into `InputError`.

Messages quote values and keys by a short prefix (`tokensim.display.quote`): a value
can be as long as its file.
"""

from __future__ import annotations

import re
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from tokensim.display import quote
from tokensim.errors import InputError, Problem, did_you_mean, format_loc
from tokensim.model.documents import parse_text, read_document

__all__ = ["parse_text", "read_document", "validate_as", "validation_problems"]

_M = TypeVar("_M", bound=BaseModel)


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


def _quoted(expected: object) -> list[str]:
    """The choices pydantic lists in a message's context (`'bearer', 'dpop' or 'mtls'`)."""
    return re.findall(r"'([^']*)'", expected) if isinstance(expected, str) else []


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
            hint = did_you_mean(loc[-1], allowed or [])
            msg = f"unknown field {quote(loc[-1], 40)}{hint}" + (
                f"; allowed fields: {', '.join(allowed)}" if allowed else ""
            )
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "union_tag_invalid":
            ctx = e.get("ctx", {})
            hint = did_you_mean(ctx.get("tag"), _quoted(ctx.get("expected_tags")))
            msg = f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {quote(ctx.get('tag'))}{hint}; allowed: {ctx.get('expected_tags')}"
        elif kind == "union_tag_not_found":
            ctx = e.get("ctx", {})
            msg = f"field {ctx.get('discriminator', '').strip(chr(39))!r} is missing"
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif kind == "literal_error":
            hint = did_you_mean(e.get("input"), _quoted(e.get("ctx", {}).get("expected")))
            msg = f"{quote(e.get('input'))} is not allowed{hint}; {msg[0].lower()}{msg[1:]}"
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
