"""Label placement that holds: no label overlaps another text or a data marker, none leaves its axes.

matplotlib puts an annotation where it is told, so labels of nearby points collide
and labels near an edge leave the axes. `place_labels` draws the figure once (so
constrained layout has settled every axes), then tries, for each label in turn, a
ring of positions around its point at growing distances, and keeps the first whose
rendered extent (``get_window_extent``) stays inside the axes and clear of every
other text of the figure, every label placed before it and every marker. A label
placed away from its point gets a thin leader line. The layout is then frozen, so
saving the figure (at any dpi, with ``bbox_inches="tight"``) keeps what was checked.

A label with no free position is hidden and returned, so the caller can say so;
on the figures tokensim draws from its own models none is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox, BboxBase

HorizontalAlignment = Literal["left", "center", "right"]
VerticalAlignment = Literal["bottom", "baseline", "center", "center_baseline", "top"]

#: Distances (points) from the anchor the ring of candidate positions is tried at, nearest first.
RADII: tuple[float, ...] = (3.0, 8.0, 14.0, 22.0, 32.0, 44.0, 58.0, 75.0)
#: Directions (degrees, counter-clockwise from east), in the order tried: up-right first, as labels usually sit.
ANGLES: tuple[float, ...] = (45.0, 0.0, 315.0, 90.0, 270.0, 135.0, 180.0, 225.0)
#: Clearance (pixels at the figure's dpi) kept between a label and anything else.
PAD = 2.0


def renderer_of(fig: Figure) -> RendererBase:
    """A renderer for ``fig`` after a full draw (layout done, every extent final)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # with the Agg canvas: the renderer below is the one it laid out with
    renderer: RendererBase = canvas.get_renderer()  # type: ignore[no-untyped-call]
    return renderer


def drawn_texts(fig: Figure) -> list[Text]:
    """Every text the figure draws: visible, not empty, in a visible axes, tick labels of drawn ticks only.

    An axis keeps spare ticks outside its view (not drawn, positions stale); they are left out.
    Call after a draw (`renderer_of`).
    """
    spare: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * max(abs(high - low), 1e-300)
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                if not low - slack <= tick.get_loc() <= high + slack:
                    spare.update((id(tick.label1), id(tick.label2)))
    out = []
    for text in fig.findobj(Text):
        holder = text.axes
        if id(text) in spare or not text.get_visible() or not text.get_text().strip():
            continue
        if holder is not None and not holder.get_visible():
            continue
        out.append(text)
    return out


def text_boxes(fig: Figure, renderer: RendererBase, skip: Iterable[Text] = ()) -> list[Bbox]:
    """Window extents of every text the figure draws (`drawn_texts`) except ``skip``."""
    skipped = {id(t) for t in skip}
    return [text_extent(t, renderer) for t in drawn_texts(fig) if id(t) not in skipped]


def text_extent(text: Text, renderer: RendererBase) -> Bbox:
    """The extent of a text on screen, its background box included (an annotation's leader line is not)."""
    if isinstance(text, Annotation):
        text.update_positions(renderer)  # its text's transform follows the offset just set
    box = Text.get_window_extent(text, renderer)
    patch = text.get_bbox_patch()
    if patch is not None:
        text.update_bbox_position_size(renderer)
        box = Bbox.union([box, patch.get_window_extent(renderer)])
    return box


def marker_boxes(ax: Axes, renderer: RendererBase) -> list[Bbox]:
    """A box around every marker drawn in ``ax`` (points of lines and error bars)."""
    scale = ax.figure.dpi / 72.0
    out = []
    for line in ax.get_lines():
        if not isinstance(line, Line2D) or not line.get_visible() or line.get_marker() in (None, "None", "", " "):
            continue
        half = max(float(line.get_markersize()) * scale / 2.0, 1.0)
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        if xy.size == 0:
            continue
        points = line.get_transform().transform(xy)
        for x, y in points[np.isfinite(points).all(axis=1)]:
            out.append(Bbox([[x - half, y - half], [x + half, y + half]]))
    return out


def overlaps(a: Bbox, b: Bbox, pad: float = 0.0) -> bool:
    """Whether two boxes come closer than ``pad`` pixels."""
    return bool(a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad)


def inside(box: BboxBase, frame: BboxBase, pad: float = 0.0) -> bool:
    """Whether ``box`` lies within ``frame`` with ``pad`` pixels to spare."""
    return bool(
        box.x0 >= frame.x0 + pad and box.x1 <= frame.x1 - pad and box.y0 >= frame.y0 + pad and box.y1 <= frame.y1 - pad
    )


def _alignment(angle: float) -> tuple[HorizontalAlignment, VerticalAlignment]:
    """Horizontal and vertical alignment that keep a label on the far side of its anchor."""
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    ha: HorizontalAlignment = "left" if dx > 0.3 else "right" if dx < -0.3 else "center"
    va: VerticalAlignment = "bottom" if dy > 0.3 else "top" if dy < -0.3 else "center"
    return ha, va


def place_labels(
    fig: Figure,
    labels: Sequence[Annotation],
    *,
    radii: Sequence[float] = RADII,
    angles: Sequence[float] = ANGLES,
    freeze: bool = True,
) -> list[Annotation]:
    """Move each of ``labels`` (annotations in offset points from their point) to a free position.

    Labels are placed in order (put the important ones first). Returns the labels that
    found no free position; they are hidden. With ``freeze`` the figure's layout engine
    is switched off afterwards, so the positions checked here are the ones saved.
    """
    if not labels:
        return []
    renderer = renderer_of(fig)
    taken = text_boxes(fig, renderer, skip=labels)
    markers: dict[int, list[Bbox]] = {}
    unplaced = []
    for label in labels:
        ax = label.axes
        assert isinstance(ax, Axes), "a label to place belongs to an axes"
        if id(ax) not in markers:
            markers[id(ax)] = marker_boxes(ax, renderer)
        frame = ax.get_window_extent(renderer)
        found = None
        for radius in radii:
            for angle in angles:
                ha, va = _alignment(angle)
                label.set_position((radius * math.cos(math.radians(angle)), radius * math.sin(math.radians(angle))))
                label.set_horizontalalignment(ha)
                label.set_verticalalignment(va)
                box = text_extent(label, renderer)
                if inside(box, frame, PAD) and not any(overlaps(box, other, PAD) for other in taken):
                    if not any(overlaps(box, m, 0.0) for m in markers[id(ax)]):
                        found = box
                        break
            if found is not None:
                break
        if found is None:
            label.set_visible(False)
            unplaced.append(label)
            continue
        taken.append(found)
        if label.arrow_patch is not None:
            label.arrow_patch.set_visible(radius > 10.0)  # a leader line only when the label sits away
    if freeze:
        fig.set_layout_engine("none")
    return unplaced


def label_collisions(fig: Figure) -> list[str]:
    """Problems with the figure's texts as drawn: pairs that overlap, texts outside the figure, labels of
    points or bars (annotations) outside their axes or on a marker.

    Empty for a figure whose labels hold; the tests use it on every figure kind.
    """
    renderer = renderer_of(fig)
    frame = fig.bbox
    boxes = [(t, text_extent(t, renderer)) for t in drawn_texts(fig)]
    out = [f"{t.get_text()!r} leaves the figure" for t, b in boxes if not inside(b, frame, -0.5)]
    for t, b in boxes:
        if isinstance(t, Annotation) and isinstance(t.axes, Axes):
            if not inside(b, t.axes.get_window_extent(renderer), -0.5):
                out.append(f"{t.get_text()!r} leaves its axes")
            if any(overlaps(b, m, -0.5) for m in marker_boxes(t.axes, renderer)):
                out.append(f"{t.get_text()!r} covers a marker")
    for i, (first, box_a) in enumerate(boxes):
        for second, box_b in boxes[i + 1 :]:
            if overlaps(box_a, box_b, -0.5):
                out.append(f"{first.get_text()!r} overlaps {second.get_text()!r}")
    return out
