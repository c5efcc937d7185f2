"""Grounding by description: one box for a referring expression, and boxes with attributes.

The prompts (:func:`helpers.prompts.referring_prompt`, :func:`helpers.prompts.attribute_prompt`,
sourced there) ask for one box per description, or boxes with extra fields; both are scored
against hand-checked boxes in ``input/referring_ground_truth.json``.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common.entries import parse_entries
from .common.errors import InputError
from .detection import (
    BOX_KEYS,
    SCALE,
    Detection,
    draw_detections,
    label_colors,
    parse_detections,
)
from .grid import image_grid
from .images import load_image
from .scoring import score_detections


@dataclass(frozen=True)
class AttributedBox:
    """A box and the extra fields the model wrote for it (``color``, ``type``...), as text.

    Example:
        >>> AttributedBox(Detection("sweet", (1, 2, 30, 40)), {"color": "red"}).attributes["color"]
        'red'
    """

    detection: Detection
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReferringTruth:
    """One expression on one image and the box it refers to.

    Attributes:
        image: The image's path.
        expression: What the model is asked to find, e.g. ``"the leftmost red sweet"``.
        box: The referred box in the 0-1000 space.
        box_px: The same box in pixels.
    """

    image: Path
    expression: str
    box: tuple[float, float, float, float]
    box_px: tuple[int, int, int, int]


@dataclass(frozen=True)
class AttributeTruth:
    """Every object of ``category`` on ``image`` with its known ``attribute`` value.

    Attributes:
        image: The image's path.
        category: What the objects are, e.g. ``"sweet"``.
        attribute: The field asked for, e.g. ``"color"``.
        objects: ``(box, value)`` for each object, boxes in the 0-1000 space.
    """

    image: Path
    category: str
    attribute: str
    objects: list[tuple[Detection, str]]  # (box, value)


@dataclass(frozen=True)
class ReferringScore:
    """IoU of the model's (first) box with the referred object.

    Attributes:
        iou: The IoU, 0.0 when the answer held no box.
        hit: Whether the IoU reached the threshold.
        boxes: How many boxes the answer held (one was asked for).
    """

    iou: float
    hit: bool
    boxes: int  # how many boxes the answer held (one was asked for)


@dataclass(frozen=True)
class AttributeScore:
    """Boxes matched one-to-one at an IoU threshold, and how many have the right attribute.

    Attributes:
        matched: Predicted boxes matched to a known object.
        predicted: Boxes the model wrote.
        expected: Objects on the image.
        correct: Matched boxes whose attribute names the known value.

    Example:
        >>> AttributeScore(matched=10, predicted=12, expected=14, correct=8).as_row()
        {'precision': 0.833, 'recall': 0.714, 'attribute_accuracy': 0.8, 'correct_of_expected': '8/14'}
    """

    matched: int
    predicted: int
    expected: int
    correct: int

    @property
    def attribute_accuracy(self) -> float:
        """Right values among matched boxes."""
        return self.correct / self.matched if self.matched else 0.0

    def as_row(self) -> dict[str, Any]:
        """One table row: box precision and recall, attribute accuracy, right values of all."""
        return {
            "precision": round(self.matched / self.predicted, 3) if self.predicted else 0.0,
            "recall": round(self.matched / self.expected, 3) if self.expected else 0.0,
            "attribute_accuracy": round(self.attribute_accuracy, 3),
            "correct_of_expected": f"{self.correct}/{self.expected}",
        }


def parse_attributed_boxes(text: str, *, label_key: str = "label") -> list[AttributedBox]:
    """Boxes with every other field of their entry kept as text attributes.

    As tolerant as :func:`helpers.parse_detections`, whose box reading it uses: entries without a
    valid box are skipped with a warning; an answer cut off mid-entry keeps the complete ones.

    Args:
        text: The model's answer to :func:`attribute_prompt`.
        label_key: The label's field (not kept as an attribute).

    Returns:
        The boxes with their attributes; ``[]`` (with a warning) when there is no JSON.

    Example:
        >>> parse_attributed_boxes('[{"bbox_2d": [1, 2, 30, 40], "label": "sweet", "color": "red"}]')
        [AttributedBox(detection=Detection(label='sweet', box=(1.0, 2.0, 30.0, 40.0)), attributes={'color': 'red'})]
    """
    boxes = parse_detections(text, label_key=label_key)  # warns on garbage and malformed boxes
    if not boxes:
        return []
    valid = [e for e in parse_entries(text) if isinstance(e, dict) and _has_box(e)]
    if len(valid) != len(boxes):  # cannot pair fields with boxes safely: keep boxes only
        return [AttributedBox(d) for d in boxes]
    return [
        AttributedBox(
            d, {str(k): _text(v) for k, v in e.items() if k not in (*BOX_KEYS, label_key)}
        )
        for d, e in zip(boxes, valid, strict=True)
    ]


def _has_box(entry: dict[str, Any]) -> bool:
    """Whether parse_detections would keep this entry (same rules, no second copy of them)."""
    if not any(k in entry for k in BOX_KEYS):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(parse_detections(json.dumps([entry], default=str)))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _to_scale(box_px: Sequence[float], size_wh: Sequence[int]) -> tuple[float, float, float, float]:
    w, h = size_wh
    x1, y1, x2, y2 = box_px
    return (x1 / w * SCALE, y1 / h * SCALE, x2 / w * SCALE, y2 / h * SCALE)


def load_referring_truth(
    path: str | os.PathLike,
) -> tuple[list[ReferringTruth], list[AttributeTruth]]:
    """Expressions and attribute sets of a referring truth file, boxes scaled to 0-1000.

    Args:
        path: ``input/referring_ground_truth.json`` or a file of the same shape.

    Returns:
        The expressions and the attribute sets.

    Raises:
        InputError: The file or an image it names cannot be read.

    Example:
        >>> import helpers
        >>> expressions, attributes = load_referring_truth(helpers.INPUT_DIR / "referring_ground_truth.json")
        >>> expressions[0].expression, expressions[0].box_px, len(attributes[0].objects)
        ('the leftmost red sweet', (7, 203, 60, 254), 14)
    """
    from PIL import Image

    path = Path(path)
    sizes: dict[str, tuple[int, int]] = {}

    def size(name: str) -> tuple[int, int]:
        if name not in sizes:
            with Image.open(path.parent / name) as img:
                sizes[name] = img.size
        return sizes[name]

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        expressions = [
            ReferringTruth(
                path.parent / e["image"],
                e["expression"],
                _to_scale(e["box_px"], size(e["image"])),
                tuple(int(v) for v in e["box_px"]),
            )
            for e in data["expressions"]
        ]
        attributes = [
            AttributeTruth(
                path.parent / a["image"],
                a["category"],
                a["attribute"],
                [
                    (
                        Detection(a["category"], _to_scale(o["box_px"], size(a["image"]))),
                        o[a["attribute"]],
                    )
                    for o in a["objects"]
                ],
            )
            for a in data["attributes"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{os.fspath(path)!r} is not a readable referring-expression truth file ({exc})."
        ) from exc
    return expressions, attributes


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    import supervision as sv

    return float(sv.box_iou_batch(np.array([a], dtype=float), np.array([b], dtype=float))[0, 0])


def score_referring(
    predicted: Sequence[Detection], truth: ReferringTruth, *, iou_threshold: float = 0.5
) -> ReferringScore:
    """Score the answer to one referring expression.

    The first box is scored, not the best: an answer listing many boxes must not win by chance.

    Args:
        predicted: The boxes parsed from the answer.
        truth: The expression and its box.
        iou_threshold: The IoU that counts as a hit.

    Returns:
        The IoU, whether it is a hit, and how many boxes there were.

    Example:
        >>> truth = ReferringTruth(Path("x.png"), "the ball", (100, 100, 300, 300), (10, 10, 30, 30))
        >>> score_referring([Detection("ball", (100, 100, 200, 300))], truth)
        ReferringScore(iou=0.5, hit=True, boxes=1)
    """
    if not predicted:
        return ReferringScore(0.0, False, 0)
    iou = _iou(predicted[0].box, truth.box)
    return ReferringScore(iou, iou >= iou_threshold, len(predicted))


def normalize_attribute(value: str) -> set[str]:
    """The words of an attribute value, for comparing.

    Args:
        value: The value as written.

    Returns:
        Its words: NFKC, case-folded, ``colour``/``grey`` spelled ``color``/``gray``.

    Example:
        >>> sorted(normalize_attribute("Dark Grey"))
        ['dark', 'gray']
    """
    text = unicodedata.normalize("NFKC", value).casefold().replace("colour", "color")
    words = set(re.findall(r"\w+", text))
    return {"gray" if w == "grey" else w for w in words}


def score_attributes(
    predicted: Sequence[AttributedBox], truth: AttributeTruth, *, iou_threshold: float = 0.5
) -> AttributeScore:
    """Score boxes with attributes: match boxes one-to-one, then check each match's value.

    Labels are ignored; a value is right when it names the known one (``"dark brown"`` names
    ``"brown"``, ``"reddish"`` does not name ``"red"``) and hedges no more than it does
    (:func:`names_value`: listing every colour is not an answer).

    Args:
        predicted: The parsed boxes with attributes.
        truth: The known objects and values.
        iou_threshold: The IoU a box needs to match an object.

    Returns:
        Match and value counts.

    Example:
        >>> truth = AttributeTruth(Path("x.png"), "sweet", "color",
        ...                        [(Detection("sweet", (0, 0, 100, 100)), "brown")])
        >>> found = [AttributedBox(Detection("sweet", (0, 0, 100, 90)), {"color": "dark brown"})]
        >>> score_attributes(found, truth)
        AttributeScore(matched=1, predicted=1, expected=1, correct=1)
    """
    detections = [p.detection for p in predicted]
    known = [d for d, _value in truth.objects]
    score = score_detections(detections, known, iou_threshold=iou_threshold, match_labels=False)
    correct = 0
    for p, t, _iou_value in score.matches:
        value = predicted[p].attributes.get(truth.attribute, "")
        correct += names_value(str(value), truth.objects[t][1])
    return AttributeScore(len(score.matches), len(predicted), len(known), correct)


#: What separates alternatives in a value (``"red, green"``, ``"brown or red"``, ``"red/blue"``).
_ALTERNATIVES = re.compile(r"[,;/|&+]|\bor\b|\band\b", re.IGNORECASE)


def names_value(value: str, known: str) -> bool:
    """Whether ``value`` names ``known`` and hedges no more than it: listing every colour, or
    ``"brown or red"``, does not name ``"brown"``.

    Args:
        value: The value as the model wrote it.
        known: The true value.

    Returns:
        ``True`` when each alternative of ``known`` is named by one of ``value`` and ``value``
        lists no more alternatives than ``known``.

    Example:
        >>> names_value("dark brown", "brown"), names_value("red, green, brown", "brown")
        (True, False)
    """
    given = [a for a in _ALTERNATIVES.split(value) if a.strip()]
    wanted = [a for a in _ALTERNATIVES.split(known) if a.strip()]
    if not given or len(given) > len(wanted):
        return False
    return all(any(normalize_attribute(w) <= normalize_attribute(g) for g in given) for w in wanted)


def truth_detections(expressions: Sequence[ReferringTruth]) -> list[Detection]:
    """The referred boxes as detections labelled with their expressions, for drawing.

    Args:
        expressions: Referring truths.

    Returns:
        One detection per expression.

    Example:
        >>> truth_detections([ReferringTruth(Path("x.png"), "the ball", (1, 2, 3, 4), (1, 2, 3, 4))])
        [Detection(label='the ball', box=(1, 2, 3, 4))]
    """
    return [Detection(e.expression, e.box) for e in expressions]


@dataclass(frozen=True)
class ReferringResult:
    """One referring expression, the model's answer, its parsed boxes and the score.

    Example:
        >>> truth = ReferringTruth(Path("x.png"), "the ball", (100, 100, 300, 300), (10, 10, 30, 30))
        >>> referring_result(truth, '[{"bbox_2d": [100, 100, 200, 300]}]').as_row()["iou"]
        0.5
    """

    truth: ReferringTruth
    answer: str
    found: list[Detection]
    score: ReferringScore

    @property
    def first(self) -> list[Detection]:
        """The scored box (the answer's first), labelled with the expression; ``[]`` if none."""
        return [Detection(self.truth.expression, d.box) for d in self.found[:1]]

    def as_row(self, answer_chars: int = 60) -> dict[str, Any]:
        """One table row: the expression, IoU, hit, box count and the answer's start."""
        return {
            "expression": self.truth.expression,
            "iou": round(self.score.iou, 3),
            "hit": self.score.hit,
            "boxes": self.score.boxes,
            "answer": self.answer[:answer_chars],
        }


def referring_result(truth: ReferringTruth, answer: str) -> ReferringResult:
    """Parse one answer to :func:`referring_prompt` and score its first box against ``truth``.

    Args:
        truth: The expression and the box it refers to.
        answer: The model's answer.

    Returns:
        The result; an answer without boxes scores IoU 0 (the parser warns).

    Example:
        >>> import warnings
        >>> truth = ReferringTruth(Path("x.png"), "the ball", (100, 100, 300, 300), (10, 10, 30, 30))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     referring_result(truth, "I cannot see a ball.").score
        ReferringScore(iou=0.0, hit=False, boxes=0)
    """
    found = parse_detections(answer)
    return ReferringResult(truth, answer, found, score_referring(found, truth))


def draw_referring(results: Sequence[ReferringResult], *, columns: int = 2) -> Any:
    """One picture per image: each expression's scored box (solid) and the referred box (dashed),
    one colour per expression.

    Args:
        results: One :func:`referring_result` per expression.
        columns: Images per row of the grid.

    Returns:
        The grid (a PIL image).

    Example:
        >>> import helpers
        >>> expressions, _ = load_referring_truth(helpers.INPUT_DIR / "referring_ground_truth.json")
        >>> results = [ReferringResult(e, "", [], ReferringScore(0.0, False, 0)) for e in expressions]
        >>> draw_referring(results).mode
        'RGB'
    """
    if not results:
        raise ValueError(
            "draw_referring: no results to draw; pass one referring_result per expression."
        )
    drawn = []
    for image in dict.fromkeys(r.truth.image for r in results):
        here = [r for r in results if r.truth.image == image]
        truth_boxes = truth_detections([r.truth for r in here])
        colors = label_colors(d.label for d in truth_boxes)
        predicted = [d for r in here for d in r.first]
        canvas = draw_detections(load_image(image), predicted, colors=colors)
        drawn.append(draw_detections(canvas, truth_boxes, colors=colors, dashed=True))
    return image_grid(drawn, columns=min(columns, len(drawn)))
