"""Scoring answers against ground truth: boxes (precision, recall, mean IoU), text (CER, WER) and
parsed pages (text and layout)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common.errors import InputError
from .detection import SCALE, Detection
from .document import Block, page_text


@dataclass(frozen=True)
class DetectionScore:
    """Predicted boxes matched to ground truth at one IoU threshold.

    Attributes:
        true_positives: Predictions matched to a ground-truth box.
        false_positives: Predictions left unmatched.
        false_negatives: Ground-truth boxes left unmatched.
        mean_iou: Mean IoU over the matched pairs; 0.0 when nothing matched.
        iou_threshold: The IoU a match needed.
        matches: ``(prediction index, truth index, IoU)`` for each match.

    Example:
        >>> score = DetectionScore(3, 1, 2, 0.8, 0.5)
        >>> score.precision, round(score.recall, 2)
        (0.75, 0.6)
    """

    true_positives: int
    false_positives: int
    false_negatives: int
    mean_iou: float  # over matched pairs; 0.0 when nothing matched
    iou_threshold: float
    matches: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of predictions that matched: TP / (TP + FP); 0.0 when nothing was predicted.

        Example:
            >>> DetectionScore(3, 1, 0, 0.9, 0.5).precision
            0.75
            >>> DetectionScore(0, 0, 4, 0.0, 0.5).precision
            0.0
        """
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        """Share of ground-truth boxes found: TP / (TP + FN); 0.0 when there is no ground truth.

        Example:
            >>> DetectionScore(3, 0, 1, 0.9, 0.5).recall
            0.75
        """
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 0.0

    def as_row(self) -> dict[str, float | int]:
        """The score as a table row (rates rounded to 3 places), e.g. for a ``pandas.DataFrame``.

        Returns:
            ``precision``, ``recall``, ``mean_iou``, ``tp``, ``fp`` and ``fn``.

        Example:
            >>> DetectionScore(2, 1, 1, 0.71234, 0.5).as_row()
            {'precision': 0.667, 'recall': 0.667, 'mean_iou': 0.712, 'tp': 2, 'fp': 1, 'fn': 1}
        """
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "mean_iou": round(self.mean_iou, 3),
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
        }


def load_coco_ground_truth(path: str | os.PathLike, file_name: str) -> list[Detection]:
    """The ground-truth boxes of one image of a COCO JSON file, in the model's 0-1000 space.

    Args:
        path: The COCO file (``images``, ``categories`` and ``annotations`` with ``bbox`` as
            ``[x, y, width, height]`` in pixels).
        file_name: The image's ``file_name`` in that file.

    Returns:
        One :class:`~helpers.detection.Detection` per annotation, labelled with its category name.

    Raises:
        InputError: The file is missing or not COCO, the image is not in it (the images it has are
            listed), or an annotation is not a valid box.

    Example:
        >>> import helpers
        >>> truth = load_coco_ground_truth(helpers.INPUT_DIR / "detection_ground_truth.json", "basketball1.png")
        >>> sorted({box.label for box in truth})
        ['ball', 'person']
    """
    try:
        coco = json.loads(Path(path).read_text(encoding="utf-8"))
        images = {img["file_name"]: img for img in coco["images"]}
        names = {cat["id"]: cat["name"] for cat in coco["categories"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{os.fspath(path)!r} is not a readable COCO file ({exc}).") from exc
    if file_name not in images:
        raise InputError(f"{file_name!r} is not in {os.fspath(path)!r}; it has {sorted(images)}.")
    if not isinstance(coco.get("annotations"), list):
        raise InputError(
            f"{os.fspath(path)!r} has no 'annotations' list; a ground-truth file needs one (an "
            "empty list for images without objects)."
        )
    image = images[file_name]
    width, height = image.get("width"), image.get("height")
    if not all(isinstance(v, (int, float)) and 0 < v < float("inf") for v in (width, height)):
        raise InputError(
            f"{os.fspath(path)!r}: image {file_name!r} needs a positive width and height in pixels, "
            f"got {width!r} x {height!r}; fix the file."
        )
    truth = []
    for ann in coco["annotations"]:
        if not isinstance(ann, dict) or ann.get("image_id") != image.get("id"):
            continue
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
            box = (
                x / width * SCALE,
                y / height * SCALE,
                (x + w) / width * SCALE,
                (y + h) / height * SCALE,
            )
            truth.append(Detection(names[ann["category_id"]], box))
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(
                f"{os.fspath(path)!r}: annotation {ann.get('id')!r} of {file_name!r} is not a valid "
                f"box ({exc}); fix or remove it."
            ) from exc
    return truth


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def score_detections(
    predictions: list[Detection],
    ground_truth: list[Detection],
    *,
    iou_threshold: float = 0.5,
    match_labels: bool = True,
) -> DetectionScore:
    """Match predictions to ground truth one-to-one and count hits, misses and false alarms.

    Pairs are taken highest IoU first; a match needs IoU >= ``iou_threshold`` and, unless
    ``match_labels=False``, the same label (case and surrounding spaces ignored). IoU is computed in
    the 0-1000 space: scaling both axes scales every area by the same factor, so it equals the IoU in
    pixels. Model answers carry no confidence, so this reports precision and recall at one threshold
    rather than a ranked average precision.

    Args:
        predictions: Boxes from :func:`helpers.parse_detections`.
        ground_truth: Boxes from :func:`load_coco_ground_truth` (or built by hand).
        iou_threshold: The IoU a match needs.
        match_labels: Whether labels must agree.

    Returns:
        The counts, the mean IoU of the matches and the matches themselves.

    Example:
        >>> from helpers import Detection
        >>> truth = [Detection("car", (0, 0, 100, 100)), Detection("dog", (500, 500, 600, 600))]
        >>> found = [Detection("car", (0, 0, 100, 80)), Detection("cat", (500, 500, 600, 600))]
        >>> score = score_detections(found, truth)
        >>> score.true_positives, score.false_positives, score.false_negatives, round(score.mean_iou, 3)
        (1, 1, 1, 0.8)
    """
    import supervision as sv

    if not predictions or not ground_truth:
        return DetectionScore(0, len(predictions), len(ground_truth), 0.0, iou_threshold)
    iou = sv.box_iou_batch(
        np.array([d.box for d in predictions], dtype=float),
        np.array([t.box for t in ground_truth], dtype=float),
    )
    if match_labels:
        same = np.array([[_same(p.label, t.label) for t in ground_truth] for p in predictions])
        iou = np.where(same, iou, 0.0)
    matches: list[tuple[int, int, float]] = []
    used_p, used_t = set(), set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        p, t = divmod(int(flat), iou.shape[1])
        if iou[p, t] < iou_threshold:
            break
        if p in used_p or t in used_t:
            continue
        used_p.add(p)
        used_t.add(t)
        matches.append((p, t, float(iou[p, t])))
    tp = len(matches)
    mean_iou = float(np.mean([m[2] for m in matches])) if matches else 0.0
    return DetectionScore(
        tp, len(predictions) - tp, len(ground_truth) - tp, mean_iou, iou_threshold, matches
    )


def normalize_text(text: str) -> str:
    r"""Whitespace runs (newlines included) collapsed to one space, ends stripped.

    Example:
        >>> normalize_text("  Total:\n\t12.50  EUR ")
        'Total: 12.50 EUR'
    """
    return re.sub(r"\s+", " ", text).strip()


def _rate(prediction: list[str] | str, reference: list[str] | str) -> float:
    from rapidfuzz.distance import Levenshtein

    if len(reference) == 0:
        return 0.0 if len(prediction) == 0 else 1.0
    return Levenshtein.distance(prediction, reference) / len(reference)


def cer(prediction: str, reference: str) -> float:
    r"""Character error rate of an OCR answer: edit distance / reference length, after normalising.

    Both texts go through :func:`normalize_text` first, so line breaks and spacing do not count.

    Args:
        prediction: The model's text.
        reference: The true text.

    Returns:
        0 for a perfect read; it can exceed 1 when the prediction is much longer than the reference.
        An empty reference gives 0 for an empty prediction, else 1.

    Example:
        >>> cer("Totai 12.50", "Total 12.50")
        0.09090909090909091
        >>> cer("Total\n12.50", "Total 12.50")
        0.0
    """
    return _rate(normalize_text(prediction), normalize_text(reference))


def wer(prediction: str, reference: str) -> float:
    """Word error rate of an OCR answer: word-level edit distance / reference word count.

    Args:
        prediction: The model's text.
        reference: The true text.

    Returns:
        0 for a perfect read (after :func:`normalize_text`); an empty reference gives 0 for an
        empty prediction, else 1.

    Example:
        >>> wer("Total 12.50 EUR", "Total: 12.50 EUR")
        0.3333333333333333
    """
    return _rate(normalize_text(prediction).split(), normalize_text(reference).split())


# --- pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentScore:
    """Text and layout scores of one parsed page against its known blocks.

    Attributes:
        cer: Character error rate of the page text (reading order) against the known text.
        blocks_found: Blocks parsed from the answer.
        blocks_expected: Blocks the page has (0 when only its text is known).
        layout: Precision, recall and mean IoU of the boxed blocks (same category needed).

    Example:
        >>> DocumentScore(0.25, 5, 6, {"precision": 1.0}).as_row()
        {'cer': 0.25, 'blocks_found': 5, 'blocks_expected': 6, 'layout_precision': 1.0}
    """

    cer: float  # page text (reading order) against the known text
    blocks_found: int
    blocks_expected: int
    layout: dict[str, float | int] = field(default_factory=dict)  # precision/recall/mean IoU

    def as_row(self) -> dict[str, Any]:
        """One table row: CER, block counts and ``layout_*`` scores."""
        return {
            "cer": round(self.cer, 4),
            "blocks_found": self.blocks_found,
            "blocks_expected": self.blocks_expected,
            **{f"layout_{k}": v for k, v in self.layout.items()},
        }


@dataclass(frozen=True)
class DocumentTruth:
    """A page with known blocks (``input/document/page.json``).

    Attributes:
        image: The page image's path.
        size_wh: Its size in pixels.
        blocks: The known blocks, boxes in the 0-1000 space.
        text: The known text in reading order (``page.txt``).
    """

    image: Path
    size_wh: tuple[int, int]
    blocks: list[Block]
    text: str


def load_document_truth(path: str | os.PathLike) -> DocumentTruth:
    """The known blocks and text of a generated page.

    Args:
        path: Its ``page.json`` (``page.txt`` beside it holds the text).

    Returns:
        The page's truth.

    Raises:
        InputError: The file is missing or not a page truth file; the message says how to
            regenerate it.

    Example:
        >>> import helpers
        >>> truth = load_document_truth(helpers.INPUT_DIR / "document" / "page.json")
        >>> truth.size_wh, [b.category for b in truth.blocks][:3]
        ((850, 1100), ['title', 'paragraph', 'table'])
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        blocks = [
            Block(b["category"], b["text"], tuple(float(v) for v in b["box_2d"]), "truth")
            for b in data["blocks"]
        ]
        size_wh = (int(data["size_wh"][0]), int(data["size_wh"][1]))
        image = path.parent / data["image"]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InputError(
            f"{os.fspath(path)!r} is not a readable page truth file ({exc}); regenerate it with "
            "`python scripts/make_document.py`."
        ) from exc
    text_file = path.with_suffix(".txt")
    text = text_file.read_text(encoding="utf-8") if text_file.exists() else page_text(blocks)
    return DocumentTruth(image, size_wh, blocks, text)


def score_document(
    blocks: Sequence[Block], truth: DocumentTruth | str, *, iou_threshold: float = 0.5
) -> DocumentScore:
    """Score parsed blocks against a page's truth: text by CER, layout by matched boxes.

    Args:
        blocks: The parsed blocks.
        truth: The page's truth, or only its known text (then no layout is scored).
        iou_threshold: The IoU a box needs to match a known block of the same category.

    Returns:
        The CER of :func:`page_text` against the known text, block counts, and layout precision,
        recall and mean IoU.

    Example:
        >>> score = score_document([Block("title", "Reveiw", (0, 0, 500, 100))],
        ...                        "Review")
        >>> round(score.cer, 3), score.layout
        (0.333, {})
    """
    if isinstance(truth, str):
        return DocumentScore(cer(page_text(blocks), truth), len(blocks), 0)
    predicted = [d for d in (b.to_detection() for b in blocks) if d is not None]
    known = [d for d in (b.to_detection() for b in truth.blocks) if d is not None]
    layout = score_detections(predicted, known, iou_threshold=iou_threshold).as_row()
    return DocumentScore(
        cer(page_text(blocks), truth.text), len(blocks), len(truth.blocks), dict(layout)
    )
