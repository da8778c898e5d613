"""The JSON Schema of input files (`tokensim schema`), made by pydantic from the same types that validate them.

The field types of `tokensim.model.fields` carry the markers below as ``Annotated`` metadata:
`UnitText` says that a duration or rate is written with a unit (its regular expression is built
from `units.DURATION_UNITS`, the table the parser reads, so the two cannot drift), `Bounds` adds
the range a validator checks, `AlsoAccepts` a shorter form a validator turns into the canonical
one (a plain duration for a fixed delay, ``dpop,mtls`` for a list). `FileSchema` writes defaults
as a file gives them (``1h``, ``30/h``); `tokensim.schemas.file_schema` makes the schema of each file kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, GetJsonSchemaHandler
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, NoDefault
from pydantic_core import PydanticUndefined
from pydantic_core import core_schema as cs

from tokensim.model.units import DURATION_UNITS, format_duration

#: A number as the unit parser reads it (`units._NUMBER`), one whose digits are all zero, and one with a digit
#: above zero before any exponent (a positive duration).
NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
ZERO = r"0*\.?0+(?:[eE][-+]?[0-9]+)?"
NONZERO = r"(?=[0-9.]*[1-9])" + NUMBER


def _unit_alternatives() -> str:
    """Every unit of `DURATION_UNITS`, case-insensitive (JSON Schema patterns take no flags), with a plural `s`."""
    units = sorted(DURATION_UNITS, key=lambda u: (-len(u), u))
    spelled = ["".join(f"[{c.lower()}{c.upper()}]" for c in unit) for unit in units]
    return "(?:" + "|".join(spelled) + ")[sS]?"


UNIT = _unit_alternatives()
#: A positive duration with its unit (`15m`, `1.5 hours`); a zero or negative one is refused by the loader.
DURATION_PATTERN = rf"^\s*{NONZERO}\s*{UNIT}\s*$"
#: A duration that may be zero (`0s`, `-0s` read as zero too).
DURATION_OR_ZERO_PATTERN = rf"^\s*(?:-{ZERO}|{NUMBER})\s*{UNIT}\s*$"
#: A rate, a count per unit of time (`0.2/year`, `30/h`); zero switches it off.
RATE_PATTERN = rf"^\s*(?:-{ZERO}|{NUMBER})\s*/\s*{UNIT}\s*$"

UnitKind = Literal["duration", "duration_or_zero", "rate"]
_PATTERNS: dict[str, str] = {
    "duration": DURATION_PATTERN,
    "duration_or_zero": DURATION_OR_ZERO_PATTERN,
    "rate": RATE_PATTERN,
}
_EXAMPLES = {"duration": ["15m", "8h", "90d"], "duration_or_zero": ["0s", "30s", "1h"], "rate": ["0.2/year", "30/h"]}

TOP_DESCRIPTION = (
    "Checked per field: types, enums, unknown keys, number ranges and unit syntax. Durations and rates are "
    "written with a unit (a bare number is refused, except 0). The loader checks more than a schema can say: "
    "the size of a duration or rate written with a unit (1 ms to 1000 y, at most 1000/s), NaN, and rules across "
    "fields (which leak vector fits which node, edge ends, a key for a bound mechanism, uniform low <= high); "
    "`tokensim check` reports those."
)


@dataclass(frozen=True)
class UnitText:
    """Metadata of a duration or rate type: in a file it is text with a unit, or the number 0 where zero is allowed."""

    kind: UnitKind
    maximum: str  # as a user writes the upper end (`1000y`, `1000/s`): said in the description, not checked here

    def __get_pydantic_json_schema__(self, core: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return unit_schema(self.kind)


@dataclass(frozen=True, eq=False)  # eq=False: hashed by identity (a dict field; Annotated metadata is hashed)
class Bounds:
    """Metadata adding the range a validator checks (``minimum``, ``exclusiveMinimum``, ``maximum``) to the schema."""

    keys: dict[str, float] = field(default_factory=dict)

    def __get_pydantic_json_schema__(self, core: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(core)
        json_schema.update({k: v for k, v in self.keys.items() if math.isfinite(v)})
        return json_schema


@dataclass(frozen=True, eq=False)
class AlsoAccepts:
    """Metadata for a shorter form a validator reads as well: the schema accepts it beside the canonical one."""

    alternative: JsonSchemaValue

    def __get_pydantic_json_schema__(self, core: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"anyOf": [self.alternative, handler(core)]}


def unit_schema(kind: UnitKind) -> JsonSchemaValue:
    """The JSON Schema of one unit kind (for `AlsoAccepts`: a plain duration is a fixed delay)."""
    text: JsonSchemaValue = {"type": "string", "pattern": _PATTERNS[kind], "examples": _EXAMPLES[kind]}
    return text if kind == "duration" else {"anyOf": [text, {"const": 0}]}


def rate_text(per_hour: float) -> str:
    """A rate per hour as a file writes it: `30/h`, or per day or year when that reads as a whole number."""
    for unit, hours in (("h", 1.0), ("day", 24.0), ("year", 24.0 * 365)):
        count = per_hour * hours
        if abs(count - round(count)) < 1e-9 and round(count) != 0:
            return f"{round(count)}/{unit}"
    return f"{per_hour:g}/h"


def _unit_kind(json_schema: JsonSchemaValue) -> str | None:
    """Which unit kind a generated schema (or one member of its anyOf) is, by its pattern."""
    if json_schema.get("pattern") in _PATTERNS.values():
        return next(k for k, p in _PATTERNS.items() if p == json_schema["pattern"])
    for member in json_schema.get("anyOf", []):
        kind = _unit_kind(member)
        if kind is not None:
            return kind
    return None


def file_value(value: Any, kind: str | None = None) -> Any:
    """A Python value (hours, per hour, models) as a file writes it: units on durations and rates."""
    if isinstance(value, BaseModel):
        out = {}
        for name, info in type(value).model_fields.items():
            inner = getattr(value, name)
            out[name] = file_value(inner, _field_unit(info.annotation, info.metadata))
        return out
    if isinstance(value, (list, tuple)):
        return [file_value(v) for v in value]
    if kind is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == 0:
            return 0
        return rate_text(value) if kind == "rate" else format_duration(value)
    return value


def _field_unit(annotation: Any, metadata: list[Any]) -> str | None:
    """The unit kind of a field from its metadata or its (optional) annotation's metadata."""
    for item in [*metadata, *getattr(annotation, "__metadata__", ())]:
        if isinstance(item, UnitText):
            return item.kind
    for arg in getattr(annotation, "__args__", ()):
        kind = _field_unit(arg, [])
        if kind is not None:
            return kind
    return None


class FileSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema generator, with defaults as a file writes them and default factories shown."""

    def get_default_value(self, schema: cs.WithDefaultSchema) -> Any:
        """The static default, else what a default factory makes (`supports: [bearer]`, an attacker's defaults)."""
        default = schema.get("default", PydanticUndefined)
        if default is not PydanticUndefined:
            return default
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return NoDefault

    def default_schema(self, schema: cs.WithDefaultSchema) -> JsonSchemaValue:
        """A field with a default: the default written with its unit, as the file would write it."""
        json_schema = super().default_schema(schema)
        if "default" in json_schema:
            default = self.get_default_value(schema)
            json_schema["default"] = self.encode_default(file_value(default, _unit_kind(json_schema)))
        return json_schema
