"""Scoring answers against ground truth: boxes (precision, recall, mean IoU) and text (CER, WER)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .detection import SCALE, Detection
from .errors import InputError


@dataclass(frozen=True)
class DetectionScore:
    """Counts at one IoU threshold; ``matches`` pairs (prediction index, truth index, IoU)."""

    true_positives: int
    false_positives: int
    false_negatives: int
    mean_iou: float  # over matched pairs; 0.0 when nothing matched
    iou_threshold: float
    matches: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 0.0

    def as_row(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "mean_iou": round(self.mean_iou, 3),
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
        }


def load_coco_ground_truth(path: str | os.PathLike, file_name: str) -> list[Detection]:
    """The ground-truth boxes of one image of a COCO JSON file, in the model's 0-1000 space."""
    try:
        coco = json.loads(Path(path).read_text(encoding="utf-8"))
        images = {img["file_name"]: img for img in coco["images"]}
        names = {cat["id"]: cat["name"] for cat in coco["categories"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{os.fspath(path)!r} is not a readable COCO file ({exc}).") from exc
    if file_name not in images:
        raise InputError(f"{file_name!r} is not in {os.fspath(path)!r}; it has {sorted(images)}.")
    image = images[file_name]
    width, height = image["width"], image["height"]
    truth = []
    for ann in coco["annotations"]:
        if ann["image_id"] != image["id"]:
            continue
        x, y, w, h = ann["bbox"]
        box = (
            x / width * SCALE,
            y / height * SCALE,
            (x + w) / width * SCALE,
            (y + h) / height * SCALE,
        )
        try:
            truth.append(Detection(names[ann["category_id"]], box))
        except (KeyError, ValueError) as exc:
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
    """Match predictions to ground truth one-to-one (highest IoU first, labels equal unless
    ``match_labels=False``); a match needs IoU >= ``iou_threshold``.

    IoU is computed in the 0-1000 space: scaling both axes scales every area by the same factor,
    so it equals the IoU in pixels. Model answers carry no confidence, so this reports precision
    and recall at one threshold rather than a ranked average precision.
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
    """Whitespace runs (newlines included) collapsed to one space, ends stripped."""
    return re.sub(r"\s+", " ", text).strip()


def _rate(prediction: list[str] | str, reference: list[str] | str) -> float:
    from rapidfuzz.distance import Levenshtein

    if len(reference) == 0:
        return 0.0 if len(prediction) == 0 else 1.0
    return Levenshtein.distance(prediction, reference) / len(reference)


def cer(prediction: str, reference: str) -> float:
    """Character error rate: edit distance / reference length, after :func:`normalize_text`.

    0 is perfect; it can exceed 1 when the prediction is much longer than the reference. An empty
    reference gives 0 for an empty prediction, else 1.
    """
    return _rate(normalize_text(prediction), normalize_text(reference))


def wer(prediction: str, reference: str) -> float:
    """Word error rate: word-level edit distance / reference word count, after normalising."""
    return _rate(normalize_text(prediction).split(), normalize_text(reference).split())
