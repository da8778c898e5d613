"""Numbers and confidence intervals as people read them: one rule each, for every output.

The command line, the report, the figures and the analysis's own sentences all format
through `number`, `interval` and `ci_text`; a `NumberStyle` says which rendering an
output shows (durations: `tokensim.model.units.duration_text`).

    >>> number(1234.5), number(0.5), number(float("nan"))
    ('1,234', '0.5', 'n/a')
    >>> number(12.5, "fixed"), number(12.5, "sentence"), number(0.00025, "tick")
    ('12.50', '12.5', '0.00025')
    >>> interval(3.0, -0.4, 6.5, 5, clip=True)
    '3 [0, 6.5]'
    >>> ci_text(1.25, 3.5, 5, 0.95)
    '95% CI 1.25 to 3.5, n=5'
"""

from __future__ import annotations

import math
from typing import Literal, SupportsFloat, SupportsIndex, SupportsInt

#: How a number is rendered:
#: ``compact``: about four significant digits, trailing zeros dropped (the report);
#: ``fixed``: the same digits, trailing zeros kept so a column reads evenly (the command line's tables);
#: ``sentence``: three decimals below 10, one from 10 up, exponents from 1e6 and below 1e-3
#: (the recommendation's text);
#: ``tick``: an axis tick, exact to six digits (`0.00025`), whole numbers with separators from 1,000.
NumberStyle = Literal["compact", "fixed", "sentence", "tick"]


def as_float(value: object) -> float | None:
    """``value`` as a float when it reads as one (a number of any kind, a numeric string), else None."""
    if not isinstance(value, (str, SupportsFloat, SupportsIndex)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def number(value: object, style: NumberStyle = "compact") -> str:
    """A number with thousands separators in ``style``; `n/a` for a missing one, yes/no for a flag.

    Sizes beyond everyday ones (from 1e9 or below 1e-4; in sentences from 1e6 or below 1e-3)
    get three significant digits with an exponent. A value that is not a number is shown as it is.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    x = as_float(value)
    if x is None:
        return str(value)
    if math.isnan(x):
        return "n/a"
    if style == "tick":
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:g}"
    large, small = (1e6, 1e-3) if style == "sentence" else (1e9, 1e-4)
    if x != 0 and not small <= abs(x) < large:  # infinities too: `inf`
        return f"{x:.3g}"
    if style == "sentence":
        decimals = 3 if abs(x) < 10 else 1
    else:  # four significant digits at most 4 decimals; the exponent of x as rounded, 9.9999999 -> 1e1
        decimals = min(4, max(0, 3 - int(f"{abs(x):e}".split("e")[1]))) if x else 0
    text = f"{x:,.{decimals}f}"
    if style == "fixed":
        return text
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "-0" else text


def interval(
    mean: SupportsFloat | None,
    low: SupportsFloat,
    high: SupportsFloat,
    n: SupportsInt | None = 2,
    *,
    clip: bool = False,
    style: NumberStyle = "compact",
) -> str:
    """`mean [low, high]`; `mean [n/a]` for a single replication (``n`` < 2); `n/a` without a mean.

    With ``clip`` the lower end is shown from 0: a non-negative metric's mean cannot go below
    zero, though the t interval of a heavy-tailed one can.
    """
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    if n is not None and int(n) < 2:
        return f"{number(mean, style)} [n/a]"
    low = max(float(low), 0.0) if clip else low
    return f"{number(mean, style)} [{number(low, style)}, {number(high, style)}]"


def ci_text(
    low: float, high: float, n: int, level: float, *, floor: float = -math.inf, style: NumberStyle = "compact"
) -> str:
    """An interval in a sentence, `95% CI 1.2 to 3.4, n=5`; below two replications, that there is none.

    The lower end is shown from ``floor`` (0 for a metric that cannot be negative).
    """
    if n < 2:
        return "one replication, no interval"
    return f"{level * 100:g}% CI {number(max(low, floor), style)} to {number(high, style)}, n={int(n)}"
