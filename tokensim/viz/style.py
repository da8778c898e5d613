"""One style for every tokensim figure: colour-blind-safe colours, labels with units.

Colours come from the Okabe-Ito palette (distinguishable with every common
colour-vision deficiency). Every policy name keeps one colour and one marker in
every figure: the presets have fixed ones, other names get theirs from a CRC of
the name (stable across runs and processes, unlike ``hash``). The style is applied
per figure through `context` (``matplotlib.rc_context``): importing this module
changes nothing global.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import matplotlib
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.rcsetup import cycler  # what matplotlib.cycler is; its stub does not export it
from matplotlib.ticker import FixedLocator, FuncFormatter, MultipleLocator
from matplotlib.transforms import offset_copy

from tokensim.analysis.text import number
from tokensim.model.units import duration_text

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: The Okabe-Ito palette (Okabe and Ito 2008, "Color Universal Design").
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: A neutral grey for things that carry no binding (not part of Okabe-Ito; grey is safe for every reader).
GREY = "#999999"

#: Colours a line or marker may take on white (yellow is too pale for thin lines).
LINE_COLOURS: tuple[str, ...] = tuple(v for k, v in OKABE_ITO.items() if k != "yellow")
MARKERS: tuple[str, ...] = ("o", "s", "D", "^", "v", "P", "X", "h")

#: Fixed colour and marker of each preset: bearer in warning vermillion, full binding in green and blue.
PRESET_STYLES: dict[str, tuple[str, str]] = {
    "bearer": (OKABE_ITO["vermillion"], "o"),
    "dpop": (OKABE_ITO["bluish_green"], "s"),
    "mtls": (OKABE_ITO["blue"], "D"),
    "hybrid": (OKABE_ITO["orange"], "^"),
    "hybrid_jit": (OKABE_ITO["reddish_purple"], "v"),
}

#: Route status colours (tokensim.route_table ``status``).
STATUS_COLOURS: dict[str, str] = {
    "bound": OKABE_ITO["bluish_green"],
    "downgraded": OKABE_ITO["orange"],
    "broken": OKABE_ITO["vermillion"],
    "bearer": GREY,
}
STATUS_LABELS: dict[str, str] = {
    "bound": "bound (a thief needs the key)",
    "downgraded": "downgraded (taken as bearer)",
    "broken": "broken (binding lost on the way)",
    "bearer": "bearer (no binding asked)",
}

#: Axis labels with their units, per outcome column (MODEL.md section 8, docs/parameters.md).
METRIC_LABELS: dict[str, str] = {
    "blast_radius": "blast radius (weighted unauthorized requests)",
    "integration_cost": "integration cost (relative units)",
    "unauthorized_requests": "unauthorized requests (count)",
    "privileged_requests": "privileged unauthorized requests (count)",
    "replay_attempts": "replay attempts (count)",
    "exposure_hours": "window of exposure (hours, summed over stolen families)",
    "time_to_containment_hours": "time to containment (hours)",
    "tenants_reached": "tenants reached (count)",
    "resources_reached": "resources reached (count)",
    "credentials_exposed": "credentials exposed (count)",
    "credentials_usable": "credentials usable (count)",
    "leaks": "leaks (count)",
    "detections": "detections (count)",
    "reuse_detections": "reuse detections (count)",
    "engineering_cost": "engineering cost (person-days)",
    "latency_overhead_ms": "latency overhead (ms per request)",
    "token_endpoint_rps": "token endpoint load (requests/s)",
    "availability_loss": "availability loss (share of failed legitimate requests)",
    "unsupported_instances": "unsupported instances (count)",
    "access_ttl": "access-token TTL",
    "refresh_ttl": "refresh-token lifetime",
    "reuse_grace": "reuse grace window",
    "time_hours": "time since the start of the run",
}

#: rcParams of every tokensim figure (applied with `context`, never globally).
RC: dict[RcKeyType, object] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=list(LINE_COLOURS)),
    "lines.linewidth": 1.6,
    "lines.markersize": 6,
    "errorbar.capsize": 3,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "svg.fonttype": "none",  # text stays text in SVG: searchable, small
    "svg.hashsalt": "tokensim",  # fixed ids in SVG: the same figure gives the same file
    "pdf.fonttype": 42,  # TrueType in PDF: editable text
    "text.parse_math": False,  # names are text: `a$b$c` is drawn as written, never parsed as math
}

#: Steps (hours) the duration axis may use: 1 minute up to 5 years.
_STEPS: tuple[float, ...] = tuple(
    h
    for h in (
        1 / 60,
        5 / 60,
        15 / 60,
        0.5,
        1,
        2,
        6,
        12,
        24,
        2 * 24,
        7 * 24,
        14 * 24,
        30 * 24,
        60 * 24,
        90 * 24,
        180 * 24,
        365 * 24,
        2 * 365 * 24,
        5 * 365 * 24,
    )
)


@contextmanager
def context() -> Iterator[None]:
    """Apply the tokensim style to everything created (or saved) inside the block."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(width: float = 7.0, height: float = 4.5) -> Figure:
    """A `Figure` (object API, no pyplot) with constrained layout; call inside `context`."""
    return Figure(figsize=(width, height), layout="constrained")


def policy_style(name: str) -> tuple[str, str]:
    """The (colour, marker) of a policy name: fixed for presets, CRC-derived (stable) for others."""
    if name in PRESET_STYLES:
        return PRESET_STYLES[name]
    code = zlib.crc32(str(name).encode())
    return LINE_COLOURS[code % len(LINE_COLOURS)], MARKERS[(code // len(LINE_COLOURS)) % len(MARKERS)]


def policy_styles(names: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) for each policy of one figure: `policy_style`, unless two names would look alike.

    Presets keep theirs; other names, in sorted order, take their own colour if no
    other policy of the figure has it, else the next free colour (and, once all
    colours are taken, the next free colour and marker pair). The result depends
    only on the set of names, so figures of one experiment agree with each other.
    """
    unique = list(dict.fromkeys(str(n) for n in names))
    out = {n: PRESET_STYLES[n] for n in unique if n in PRESET_STYLES}
    used_colours = {c for c, _ in out.values()}
    used_pairs = set(out.values())
    for name in sorted(n for n in unique if n not in out):
        colour, marker = policy_style(name)
        start = LINE_COLOURS.index(colour)
        free = [LINE_COLOURS[(start + k) % len(LINE_COLOURS)] for k in range(len(LINE_COLOURS))]
        choice = next(((c, marker) for c in free if c not in used_colours), None)
        if choice is None:
            pairs = [
                (c, MARKERS[(MARKERS.index(marker) + k) % len(MARKERS)]) for k in range(len(MARKERS)) for c in free
            ]
            choice = next((p for p in pairs if p not in used_pairs), (colour, marker))
        out[name] = choice
        used_colours.add(choice[0])
        used_pairs.add(choice)
    return {n: out[n] for n in unique}


def metric_label(name: str) -> str:
    """An axis label with units for an outcome column (or a readable fallback)."""
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    base = name.rsplit(".", 1)[-1]  # factor columns: policy.access_ttl -> access_ttl
    return METRIC_LABELS.get(base, name.replace("_", " "))


def duration_formatter() -> FuncFormatter:
    """Tick labels such as 5m, 1h, 30d for an axis in hours."""
    return FuncFormatter(lambda value, _pos: duration_text(value, exact=True))


def duration_axis(axis: Axis, ticks: list[float] | None = None, *, span: float | None = None) -> None:
    """Label an axis in hours with durations: at the given ``ticks``, or at round steps over ``span`` hours."""
    if ticks is not None:
        axis.set_major_locator(FixedLocator(sorted(set(ticks))))
    elif span is not None and span > 0:
        step = next((s for s in _STEPS if span / s <= 8), _STEPS[-1])
        axis.set_major_locator(MultipleLocator(step))
    axis.set_minor_locator(FixedLocator([]))
    axis.set_major_formatter(duration_formatter())


def value_axis(axis: Axis) -> None:
    """Plain numbers with thousands separators (12,500 rather than 1.25e4)."""
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: number(value, "tick")))


def dodge(ax: Axes, artists: list[Artist], index: int, count: int, step: float = 5.0, spread: float = 24.0) -> None:
    """Shift one of ``count`` overlapping series sideways by a few points (the data stay as they are).

    Neighbours sit ``step`` points apart, all of them within ``spread`` points.
    """
    if count < 2:
        return
    step = min(step, spread / (count - 1))
    fig = ax.figure
    root = fig if isinstance(fig, Figure) else fig.figure  # axes of a subfigure: offsets in its figure's dpi
    shift = offset_copy(ax.transData, fig=root, x=(index - (count - 1) / 2) * step, y=0.0, units="points")
    for artist in artists:
        artist.set_transform(shift)
