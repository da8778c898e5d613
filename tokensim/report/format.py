"""The report templates' filters: numbers, intervals and durations as `tokensim.analysis.text` and
`tokensim.model.units` render them, and identifiers that may wrap."""

from __future__ import annotations

import math
import re

from markupsafe import Markup, escape

from tokensim.analysis.text import as_float, interval, number
from tokensim.model.units import duration_text

__all__ = ["breakable", "hours", "interval", "number"]


def hours(value: object) -> str:
    """A template value in hours as a duration (`15m`, `1h`, `30d`); `n/a` when missing, text as it is."""
    x = as_float(value)
    if x is None:
        return str(value)
    return "n/a" if math.isnan(x) else duration_text(x)


def breakable(text: object) -> Markup:
    """Escaped text with line-break opportunities after `_`, `.` and `,` (long identifiers wrap, not overflow)."""
    return Markup(re.sub(r"([_.,])", r"\1<wbr>", str(escape(str(text)))))
