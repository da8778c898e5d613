"""Numbers, intervals and durations as a design review reads them (used by the report's templates)."""

from __future__ import annotations

import math
import re
from typing import Any

from markupsafe import Markup, escape

from tokensim.analysis.configurations import duration_text


def number(value: Any) -> str:
    """Fixed point with about four significant digits and thousands separators; `n/a` for missing values."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x != 0 and (abs(x) >= 1e9 or abs(x) < 1e-4):
        return f"{x:.3g}"
    digits = min(4, max(0, 3 - math.floor(math.log10(abs(x))))) if x else 0
    text = f"{x:,.{digits}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def interval(mean: Any, low: Any, high: Any, n: Any = 2, *, clip: bool = False) -> str:
    """`mean [low, high]`; `mean [n/a]` for a single replication; the lower end clipped at 0 when ``clip``."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    if n is not None and int(n) < 2:
        return f"{number(mean)} [n/a]"
    low = max(float(low), 0.0) if clip else low
    return f"{number(mean)} [{number(low)}, {number(high)}]"


def hours(value: Any) -> str:
    """Hours as a duration (`15m`, `1h`, `30d`)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "n/a" if math.isnan(x) else duration_text(x)


def breakable(text: Any) -> Markup:
    """Escaped text with line-break opportunities after `_`, `.` and `,` (long identifiers wrap, not overflow)."""
    return Markup(re.sub(r"([_.,])", r"\1<wbr>", str(escape(str(text)))))
