"""Durations and rates as people write them (tokensim.model.units)."""

from __future__ import annotations

import math

import pytest

from tokensim.model.units import (
    ALLOWED_DURATION,
    ALLOWED_RATE,
    UnitError,
    format_duration,
    parse_duration,
    parse_rate,
)


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("90s", 90 / 3600),
        ("15m", 0.25),
        ("1h", 1.0),
        ("30d", 720.0),
        ("1y", 8760.0),
        ("90ms", 90 / 3_600_000),
        ("2w", 336.0),
        ("1mo", 720.0),
        ("1.5h", 1.5),
        (".5h", 0.5),
        ("1e3s", 1000 / 3600),
        ("10 min", 10 / 60),
        ("  2h  ", 2.0),
        ("1H", 1.0),
        ("30sec", 30 / 3600),
    ],
)
def test_durations_are_hours(text: str, hours: float) -> None:
    assert parse_duration(text) == pytest.approx(hours, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("2 hours", 2.0),
        ("3 days", 72.0),
        ("2 years", 17520.0),
        ("10mins", 10 / 60),
        ("5secs", 5 / 3600),
        ("2weeks", 336.0),
        ("3months", 3 * 720.0),
        ("1 hour", 1.0),
    ],
)
def test_plural_units(text: str, hours: float) -> None:
    assert parse_duration(text) == pytest.approx(hours, rel=1e-12)


def test_bare_numbers_are_hours_and_negative_sign_is_kept() -> None:
    assert parse_duration(3) == 3.0
    assert parse_duration(0.5) == 0.5
    assert isinstance(parse_duration(3), float)
    # The sign is kept so that the schema (not the parser) can say "must be greater than zero".
    assert parse_duration("-1h") == -1.0
    assert parse_duration("0s") == 0.0


@pytest.mark.parametrize(
    ("text", "per_hour"),
    [
        ("0.2/year", 0.2 / 8760),
        ("3/day", 3 / 24),
        ("30/h", 30.0),
        ("120/h", 120.0),
        ("3 / days", 3 / 24),
        ("1/min", 60.0),
        ("1/mo", 1 / 720),
        ("6/w", 6 / 168),
        ("2/years", 2 / 8760),
    ],
)
def test_rates_are_per_hour(text: str, per_hour: float) -> None:
    assert parse_rate(text) == pytest.approx(per_hour, rel=1e-12)


def test_bare_number_rate_is_per_hour() -> None:
    assert parse_rate(7) == 7.0
    assert parse_rate(0) == 0.0


@pytest.mark.parametrize("text", ["5x", "3 fortnights", "1hr", "2 eons"])
def test_unknown_duration_unit_names_the_unit_and_what_is_allowed(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_duration(text)
    message = str(info.value)
    assert "unknown time unit" in message
    assert repr(text) in message
    assert ALLOWED_DURATION in message
    for unit in ("ms", "s", "m", "h", "d", "w", "mo", "y"):
        assert unit in message


@pytest.mark.parametrize("text", ["5", "h", "", "1h30m", "one hour", "1/h", "--1h", "1.2.3h"])
def test_unreadable_durations_say_what_is_allowed(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_duration(text)
    assert ALLOWED_DURATION in str(info.value)
    assert "e.g. 90s, 15m, 1h, 30d, 1y" in str(info.value)


@pytest.mark.parametrize("value", [None, True, False, [1], {"h": 1}, b"1h"])
def test_non_numbers_are_not_durations(value: object) -> None:
    with pytest.raises(UnitError) as info:
        parse_duration(value)
    assert ALLOWED_DURATION in str(info.value)


@pytest.mark.parametrize("text", ["3/fortnight", "1/parsec"])
def test_unknown_rate_unit_names_the_unit_and_what_is_allowed(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_rate(text)
    message = str(info.value)
    assert "unknown time unit" in message
    assert ALLOWED_RATE in message


@pytest.mark.parametrize("text", ["3", "3/", "/h", "1/2h", "3 per day", "1h", ""])
def test_unreadable_rates_say_what_is_allowed(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_rate(text)
    assert ALLOWED_RATE in str(info.value)
    assert "0.2/year, 3/day, 30/h" in str(info.value)


@pytest.mark.parametrize("value", [None, True, [3], {"day": 3}])
def test_non_numbers_are_not_rates(value: object) -> None:
    with pytest.raises(UnitError) as info:
        parse_rate(value)
    assert ALLOWED_RATE in str(info.value)


def test_unit_error_is_a_value_error() -> None:
    # pydantic turns ValueError raised in validators into field errors; UnitError must be one.
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize(
    ("hours", "text"),
    [(0.25, "15m"), (1.0, "1h"), (24.0, "1d"), (8760.0, "1y"), (1 / 3600, "1s"), (168.0, "7d"), (90 / 3600, "90s")],
)
def test_format_duration_round_trips(hours: float, text: str) -> None:
    assert format_duration(hours) == text
    assert math.isclose(parse_duration(format_duration(hours)), hours, rel_tol=1e-9)
