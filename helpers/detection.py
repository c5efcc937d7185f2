"""Grounding: parse Qwen3-VL's boxes and points, and draw them (scores: :mod:`helpers.scoring`).

Qwen3-VL writes boxes as ``{"bbox_2d": [x1, y1, x2, y2], "label": ...}`` and points as
``{"point_2d": [x, y], "label": ...}`` in a relative 0-1000 space, x first. Pixels are
``value / 1000 * size``, as the model family's 2d_grounding cookbook computes them (its OCR
cookbook divides text-spotting boxes by 999; the difference is at most 0.1 % of the size).

Gemini's keys are read in Gemini's order, y first: ``box_2d`` is ``[ymin, xmin, ymax, xmax]`` and
``point`` is ``[y, x]`` (both 0-1000), with a warning that says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .common.entries import parse_entries
from .common.fonts import font_path, load_font
from .images import to_image

SCALE = 1000.0
BOX_KEYS = ("bbox_2d", "bbox", "box_2d")
POINT_KEYS = ("point_2d", "point")
#: Gemini's keys, whose coordinates come y first.
Y_FIRST_KEYS = frozenset({"box_2d", "point"})


@dataclass(frozen=True)
class Detection:
    """One box: a label and its corners in Qwen3-VL's relative 0-1000 space, x first.

    Attributes:
        label: What the box holds (``""`` when the model gave no label).
        box: ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, each 0-1000.

    Raises:
        ValueError: ``box`` is not four finite numbers, or its corners are out of order.

    Example:
        >>> Detection("cat", (100, 200, 500, 800)).to_pixels(640, 480)
        (64, 96, 320, 384)
        >>> Detection("cat", (500, 200, 100, 800))
        Traceback (most recent call last):
        ...
        ValueError: Detection.box must have x1 <= x2 and y1 <= y2, got (500, 200, 100, 800): sort the corners (parse_detections does).
    """

    label: str
    box: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        if len(self.box) != 4 or not all(np.isfinite(self.box)):
            raise ValueError(
                f"Detection.box must be 4 finite numbers (x1, y1, x2, y2), got {self.box!r}."
            )
        x1, y1, x2, y2 = self.box
        if x1 > x2 or y1 > y2:
            raise ValueError(
                f"Detection.box must have x1 <= x2 and y1 <= y2, got {self.box!r}: "
                "sort the corners (parse_detections does)."
            )

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Integer pixel corners for an image of ``width`` x ``height`` (value / 1000 * size, rounded).

        Args:
            width: The image width in pixels.
            height: The image height in pixels.

        Returns:
            ``(x1, y1, x2, y2)`` in pixels.

        Example:
            >>> Detection("cat", (0, 0, 1000, 500)).to_pixels(641, 479)
            (0, 0, 641, 240)
        """
        x1, y1, x2, y2 = self.box
        return (
            round(x1 / SCALE * width),
            round(y1 / SCALE * height),
            round(x2 / SCALE * width),
            round(y2 / SCALE * height),
        )


@dataclass(frozen=True)
class Point:
    """One point: a label and its position in Qwen3-VL's relative 0-1000 space, x first.

    Attributes:
        label: What the point marks.
        point: ``(x, y)``, each 0-1000.

    Example:
        >>> Point("ball", (500, 250)).point
        (500, 250)
    """

    label: str
    point: tuple[float, float]

    def to_pixels(self, width: int, height: int) -> tuple[int, int]:
        """Integer pixel position for an image of ``width`` x ``height`` (value / 1000 * size, rounded).

        Args:
            width: The image width in pixels.
            height: The image height in pixels.

        Returns:
            ``(x, y)`` in pixels.

        Example:
            >>> Point("ball", (500, 250)).to_pixels(640, 480)
            (320, 120)
        """
        x, y = self.point
        return round(x / SCALE * width), round(y / SCALE * height)


def _entries_or_warn(text: str, what: str) -> list[Any]:
    entries = parse_entries(text)
    if not entries:
        warnings.warn(f"no JSON {what} found in the answer: {text[:80]!r}", stacklevel=3)
    return entries


def _numbers(value: Any, count: int) -> tuple[float, ...] | None:
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (list, tuple)):
        value = value[0]  # [[x1, y1, x2, y2]]
    if not isinstance(value, (list, tuple)) or len(value) != count:
        return None
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 400-digit integer
        return None
    return numbers if all(np.isfinite(numbers)) else None


def _coords(entry: Any, keys: tuple[str, ...], count: int) -> tuple[float, ...] | None:
    """The ``count`` numbers under the first of ``keys`` in a dict entry, x first, or ``None``.

    Under a y-first key (:data:`Y_FIRST_KEYS`) each (y, x) pair is swapped to (x, y).
    """
    if not isinstance(entry, dict):
        return None
    key = next((k for k in keys if k in entry), None)
    numbers = _numbers(entry[key], count) if key is not None else None
    if numbers is not None and key in Y_FIRST_KEYS:
        numbers = tuple(v for pair in zip(numbers[1::2], numbers[::2], strict=True) for v in pair)
    return numbers


def _warn_y_first(entries: list[Any], keys: tuple[str, ...]) -> None:
    found = {
        next((k for k in keys if k in e), None) for e in entries if isinstance(e, dict)
    } & Y_FIRST_KEYS
    if found:
        warnings.warn(
            f"read {', '.join(sorted(found))} as Gemini writes it, y first "
            "([ymin, xmin, ymax, xmax] / [y, x]); Qwen3-VL's own keys are bbox_2d / point_2d, x first.",
            stacklevel=3,
        )


def _clip(value: float) -> float:
    return min(max(value, 0.0), SCALE)


def _label(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key, "")
    return value if isinstance(value, str) else str(value)


def parse_detections(text: str, *, label_key: str = "label") -> list[Detection]:
    r"""Boxes from a model answer, tolerant of what models really write.

    Handles fenced or bare JSON, prose around it, a single object, Python-style quotes, a
    ``<think>`` block, an answer cut off by ``max_new_tokens`` (complete objects kept), corners in
    the wrong order (sorted), coordinates outside 0-1000 (clipped) and malformed entries (skipped,
    with a warning). Boxes may be under ``bbox_2d``, ``bbox`` or ``box_2d``; ``box_2d`` is
    Gemini's key and is read y first, ``[ymin, xmin, ymax, xmax]`` (with a warning).

    Args:
        text: The model's answer.
        label_key: The label's field, e.g. ``"text_content"`` for text spotting.

    Returns:
        The boxes, in the answer's order; ``[]`` (with a warning) when there is no JSON at all.

    Example:
        >>> answer = '```json\n[{"bbox_2d": [120, 80, 560, 940], "label": "person"}]\n```'
        >>> parse_detections(answer)
        [Detection(label='person', box=(120.0, 80.0, 560.0, 940.0))]
        >>> parse_detections('[{"bbox_2d": [600, 50, 200, 1200], "label": "ball"}]')  # fixed up
        [Detection(label='ball', box=(200.0, 50.0, 600.0, 1000.0))]
    """
    entries = _entries_or_warn(text, "boxes")
    _warn_y_first(entries, BOX_KEYS)
    detections, skipped = [], 0
    for entry in entries:
        box = _coords(entry, BOX_KEYS, 4)
        if box is None:
            skipped += 1
            continue
        x1, x2 = sorted((_clip(box[0]), _clip(box[2])))
        y1, y2 = sorted((_clip(box[1]), _clip(box[3])))
        if x1 == x2 or y1 == y2:
            skipped += 1
            continue
        detections.append(Detection(_label(entry, label_key), (x1, y1, x2, y2)))
    if skipped:
        warnings.warn(f"skipped {skipped} malformed or empty box entries", stacklevel=2)
    return detections


def parse_points(text: str, *, label_key: str = "label") -> list[Point]:
    """Points (``point_2d``) from a model answer, as tolerant as :func:`parse_detections`.

    Args:
        text: The model's answer.
        label_key: The label's field.

    Returns:
        The points, in order; ``[]`` (with a warning) when there is no JSON at all.

    Example:
        >>> parse_points('[{"point_2d": [500, 250], "label": "ball"}]')
        [Point(label='ball', point=(500.0, 250.0))]
    """
    entries = _entries_or_warn(text, "points")
    _warn_y_first(entries, POINT_KEYS)
    points = []
    for entry in entries:
        point = _coords(entry, POINT_KEYS, 2)
        if point is not None:
            points.append(Point(_label(entry, label_key), (_clip(point[0]), _clip(point[1]))))
    return points


def label_colors(labels: Iterable[str]) -> dict[str, tuple[int, int, int]]:
    """One distinct colour per label (supervision's default palette), in order of first appearance.

    Args:
        labels: Labels, repeats allowed.

    Returns:
        ``{label: (r, g, b)}``.

    Example:
        >>> colors = label_colors(["cat", "dog", "cat"])
        >>> list(colors), colors["cat"] != colors["dog"]
        (['cat', 'dog'], True)
    """
    import supervision as sv

    palette = sv.ColorPalette.DEFAULT
    ordered = list(dict.fromkeys(labels))
    return {label: palette.by_idx(i).as_rgb() for i, label in enumerate(ordered)}


def draw_detections(
    image: Image.Image | np.ndarray,
    detections: Sequence[Detection] = (),
    points: Sequence[Point] = (),
    *,
    colors: dict[str, tuple[int, int, int]] | None = None,
    dashed: bool = False,
) -> Image.Image:
    """A new image with boxes (one colour per label, label on a filled background) and points drawn.

    Labels in any script are drawn with a wide-coverage font (Noto/DejaVu); line width and text size
    scale with the image. The input is not changed.

    Args:
        image: A PIL image or an HxWx3 array.
        detections: Boxes to draw.
        points: Points to draw.
        colors: ``{label: (r, g, b)}``; labels not in it get :func:`label_colors`' colours (pass
            the same map to two drawings to keep their colours alike).
        dashed: Draw boxes dashed (e.g. ground truth next to predictions).

    Returns:
        The drawing, an RGB image of the input's size.

    Example:
        >>> from PIL import Image
        >>> image = Image.new("RGB", (320, 240), "white")
        >>> drawn = draw_detections(image, [Detection("cat", (100, 100, 600, 900))], [Point("eye", (300, 300))])
        >>> drawn.size, drawn.getpixel((0, 0)), drawn.getpixel((32, 120)) != (255, 255, 255)
        ((320, 240), (255, 255, 255), True)
    """
    canvas = to_image(image, "draw_detections: image").copy()  # the input stays unchanged
    width, height = canvas.size
    labels = [d.label for d in detections] + [p.label for p in points]
    colors = {**label_colors(labels), **(colors or {})}  # labels not in ``colors`` get their own
    font_size = max(12, round(min(width, height) / 40))
    if detections:
        canvas = _draw_boxes(canvas, detections, colors, font_size, dashed=dashed)
    if points:
        _draw_points(canvas, points, colors, font_size)
    return canvas


def _draw_boxes(
    canvas: Image.Image,
    detections: Sequence[Detection],
    colors: dict[str, tuple[int, int, int]],
    font_size: int,
    *,
    dashed: bool,
) -> Image.Image:
    """Boxes drawn by supervision's annotators (dashed ones by hand), labels on filled tags."""
    import supervision as sv

    width, height = canvas.size
    thickness = max(2, round(min(width, height) / 250))
    xyxy = np.array([d.to_pixels(width, height) for d in detections], dtype=float)
    names = [d.label for d in detections]
    class_of = {name: i for i, name in enumerate(dict.fromkeys(names))}
    palette = sv.ColorPalette([sv.Color(*colors[n]) for n in class_of])
    found = sv.Detections(xyxy=xyxy, class_id=np.array([class_of[n] for n in names]))
    if dashed:
        draw = ImageDraw.Draw(canvas)
        for (x1, y1, x2, y2), name in zip(xyxy, names, strict=True):
            _dashed_rectangle(draw, (x1, y1, x2, y2), colors[name], thickness)
    else:
        canvas = sv.BoxAnnotator(color=palette, thickness=thickness).annotate(canvas, found)
    labelled = [i for i, n in enumerate(names) if n]
    if labelled:
        annotator = sv.RichLabelAnnotator(
            color=palette,
            font_path=font_path(),
            font_size=font_size,
            text_padding=max(2, font_size // 4),
            smart_position=True,
        )
        canvas = annotator.annotate(
            canvas, found[np.array(labelled)], labels=[names[i] for i in labelled]
        )
    return canvas


def _draw_points(
    canvas: Image.Image,
    points: Sequence[Point],
    colors: dict[str, tuple[int, int, int]],
    font_size: int,
) -> None:
    """Dots with a white rim, each label beside its dot (drawn in place)."""
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    radius = max(4, round(min(width, height) / 80))
    font = load_font(font_size)
    for point in points:
        x, y = point.to_pixels(width, height)
        color = colors[point.label]
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius), fill=color, outline="white", width=2
        )
        if point.label:
            draw.text(
                (x + radius + 2, y - radius),
                point.label,
                fill=color,
                font=font,
                stroke_width=2,
                stroke_fill="white",
            )


def _dashed_rectangle(
    draw: ImageDraw.ImageDraw, box: Sequence[float], color: tuple[int, int, int], width: int
) -> None:
    x1, y1, x2, y2 = box
    dash = 4 * width
    for start, end in (
        ((x1, y1), (x2, y1)),
        ((x2, y1), (x2, y2)),
        ((x2, y2), (x1, y2)),
        ((x1, y2), (x1, y1)),
    ):
        length = max(abs(end[0] - start[0]), abs(end[1] - start[1]))
        for offset in np.arange(0, length, 2 * dash):
            a, b = (
                offset / length if length else 0,
                min(offset + dash, length) / length if length else 1,
            )
            draw.line(
                (start[0] + (end[0] - start[0]) * a, start[1] + (end[1] - start[1]) * a,
                 start[0] + (end[0] - start[0]) * b, start[1] + (end[1] - start[1]) * b),
                fill=color, width=width,
            )  # fmt: skip
