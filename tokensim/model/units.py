"""Durations and rates as people write them (`90s`, `15m`, `30d`, `3/day`).

Internally every duration is a float number of **hours** and every rate is a
float **per hour**, so the engine never converts units. The parsers refuse what is
not finite (`1e400h` reads as infinity); the ranges per kind of number are in `limits.py`.
"""

from __future__ import annotations

import math
import re

from tokensim.display import quote
from tokensim.errors import did_you_mean

#: Hours in each duration unit. A year is 365 days, a month 30 days.
DURATION_UNITS: dict[str, float] = {
    "ms": 1.0 / 3_600_000.0,
    "s": 1.0 / 3600.0,
    "sec": 1.0 / 3600.0,
    "m": 1.0 / 60.0,
    "min": 1.0 / 60.0,
    "h": 1.0,
    "hour": 1.0,
    "d": 24.0,
    "day": 24.0,
    "w": 24.0 * 7,
    "week": 24.0 * 7,
    "mo": 24.0 * 30,
    "month": 24.0 * 30,
    "y": 24.0 * 365,
    "year": 24.0 * 365,
}

_NUMBER = r"(?P<num>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_DURATION_RE = re.compile(rf"^\s*(?P<sign>-)?{_NUMBER}\s*(?P<unit>[A-Za-z]+)\s*$")
_RATE_RE = re.compile(rf"^\s*(?P<sign>-)?{_NUMBER}\s*/\s*(?P<unit>[A-Za-z]+)\s*$")

ALLOWED_DURATION = "a number with a unit, e.g. 90s, 15m, 1h, 30d, 1y (units: ms, s, m, h, d, w, mo, y)"
ALLOWED_RATE = "a count per unit of time, e.g. 0.2/year, 3/day, 30/h"


class UnitError(ValueError):
    """A duration or rate that cannot be read; the message says what is allowed."""


def _finite(number: float, value: object) -> float:
    """Refuse infinities and NaN (`.inf`, `1e400h`): the ranges of docs/parameters.md start with finite."""
    if not math.isfinite(number):
        raise UnitError(f"must be a finite number, got {quote(value)}")
    return number


def _unit_hours(unit: str, text: str, allowed: str) -> float:
    unit = unit.lower()
    if unit in DURATION_UNITS:
        return DURATION_UNITS[unit]
    if unit.endswith("s") and unit[:-1] in DURATION_UNITS:  # plural: "hours", "days"
        return DURATION_UNITS[unit[:-1]]
    hint = did_you_mean(unit, DURATION_UNITS)
    raise UnitError(f"unknown time unit {quote(unit, 20)}{hint} in {quote(text)}; expected {allowed}") from None


def parse_duration(value: object) -> float:
    """Return a duration in hours. Accepts `15m`-style strings; a bare number is hours."""
    if isinstance(value, bool):
        raise UnitError(f"expected a duration, got {quote(value)}; expected {ALLOWED_DURATION}")
    if isinstance(value, (int, float)):
        return _finite(float(value), value)
    if not isinstance(value, str):
        raise UnitError(f"expected a duration, got {quote(value)}; expected {ALLOWED_DURATION}")
    match = _DURATION_RE.match(value)
    if not match:
        raise UnitError(f"cannot read duration {quote(value)}; expected {ALLOWED_DURATION}")
    hours = _finite(float(match["num"]) * _unit_hours(match["unit"], value, ALLOWED_DURATION), value)
    return -hours if match["sign"] else hours


def parse_rate(value: object) -> float:
    """Return a rate per hour. Accepts `3/day`-style strings; a bare number is per hour."""
    if isinstance(value, bool):
        raise UnitError(f"expected a rate, got {quote(value)}; expected {ALLOWED_RATE}")
    if isinstance(value, (int, float)):
        return _finite(float(value), value)
    if not isinstance(value, str):
        raise UnitError(f"expected a rate, got {quote(value)}; expected {ALLOWED_RATE}")
    match = _RATE_RE.match(value)
    if not match:
        raise UnitError(f"cannot read rate {quote(value)}; expected {ALLOWED_RATE}")
    rate = _finite(float(match["num"]) / _unit_hours(match["unit"], value, ALLOWED_RATE), value)
    return -rate if match["sign"] else rate


def format_duration(hours: float) -> str:
    """Render hours back in the largest unit that divides it evenly (`0.25` -> `15m`)."""
    seconds = round(hours * 3600.0, 6)
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and abs(seconds / size - round(seconds / size)) < 1e-9:
            return f"{round(seconds / size)}{unit}"
    if abs(seconds - round(seconds)) < 1e-9:
        return f"{round(seconds)}s"
    return f"{hours:g}h"


def duration_text(hours: float, *, exact: bool = False) -> str:
    """Hours as a short duration to read (`15m`, `8h`, `30d`): the one rule for labels, text and figures.

    A duration no unit divides evenly is given to three significant digits in the largest
    unit it fills (0.123 -> `7.38m`), and zero as `0s`: right for a setting in a label or a
    sentence. With ``exact`` (figures: axis ticks, values beside points) it keeps
    `format_duration`'s exact text (`0.123h`), zero is a bare `0` and a negative value (an
    axis margin) gets its sign, so a text never misplaces the point it marks.

        >>> duration_text(0.123), duration_text(0.123, exact=True), duration_text(-48, exact=True)
        ('7.38m', '0.123h', '-2d')
    """
    if exact:
        if hours == 0 or not math.isfinite(hours):
            return "0" if hours == 0 else str(hours)
        return f"-{format_duration(-hours)}" if hours < 0 else format_duration(hours)
    text = format_duration(hours)
    if not text.endswith("h") or text[:-1].isdigit():
        return text
    for unit, size in (("d", 24.0), ("h", 1.0), ("m", 1 / 60), ("s", 1 / 3600)):
        if hours >= size * (2 if unit == "d" else 1):
            return f"{hours / size:.3g}{unit}"
    return f"{hours * 3600:.3g}s"
