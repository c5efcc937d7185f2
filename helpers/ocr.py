"""OCR: error rates against ground truth, and a resumable batch OCR over a folder."""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .chat import chat_batch
from .files import write_atomic
from .messages import InputError, check_messages, image_message

OCR_PROMPT = "Give the OCR of this image without any additional context."
MARKDOWN_PROMPT = "Read all the text in this image. Keep the layout, and output it as markdown."
SPOTTING_PROMPT = (
    "Spot all the text in the image with line-level, and output in JSON format as "
    "[{'bbox_2d': [x1, y1, x2, y2], 'text_content': 'text'}, ...]."
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


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


@dataclass
class OcrRecord:
    """One image of an :func:`ocr_folder` run."""

    image: str
    status: str  # "done" (this run), "cached" (done before), "error" (skipped)
    output: str | None = None
    cer: float | None = None
    wer: float | None = None
    seconds: float | None = None  # per image, the batch's time shared out
    error: str | None = None


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files of a folder, sorted by name."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError(
            f"{os.fspath(folder)!r} is not a folder: pass the folder that holds the images."
        )
    return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _score(record: OcrRecord, image: Path) -> None:
    truth = image.with_suffix(".txt")
    if record.output is not None and truth.exists():
        reference = truth.read_text(encoding="utf-8")
        record.cer, record.wer = (
            round(cer(record.output, reference), 4),
            round(wer(record.output, reference), 4),
        )


def ocr_folder(
    model: Any,
    processor: Any,
    folder: str | os.PathLike,
    *,
    out_dir: str | os.PathLike,
    prompt: str = OCR_PROMPT,
    batch_size: int = 4,
    max_new_tokens: int = 1024,
    progress: bool = True,
    **generation: Any,
) -> Any:
    """OCR every image of ``folder``, writing ``out_dir/<image stem>.txt`` as each batch finishes.

    Resumes: images whose output file exists are not run again, so an interrupted run loses only
    the batch in flight and a re-run costs nothing. An unreadable image is reported and skipped.
    Where ``<image stem>.txt`` sits beside an image, CER and WER are computed against it.
    Returns a pandas DataFrame, one row per image (see :class:`OcrRecord`).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    out = Path(out_dir)
    images = list_images(folder)
    records: dict[Path, OcrRecord] = {}
    todo: list[tuple[Path, list[dict[str, Any]]]] = []
    for image in images:
        target = out / f"{image.stem}.txt"
        if target.exists():
            records[image] = OcrRecord(image.name, "cached", target.read_text(encoding="utf-8"))
            continue
        try:
            todo.append((image, check_messages(image_message(image, prompt))))
        except InputError as exc:
            records[image] = OcrRecord(image.name, "error", error=str(exc))
            print(f"skipped {image.name}: {exc}")
    with tqdm(total=len(todo), desc="OCR", unit="image", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            began = time.perf_counter()
            answers = chat_batch(
                model, processor, [m for _, m in batch], max_new_tokens=max_new_tokens, **generation
            )
            each = (time.perf_counter() - began) / len(batch)
            for (image, _), answer in zip(batch, answers, strict=True):
                write_atomic(out / f"{image.stem}.txt", str(answer))
                records[image] = OcrRecord(image.name, "done", str(answer), seconds=round(each, 3))
            bar.update(len(batch))
    rows = []
    for image in images:
        record = records[image]
        _score(record, image)
        rows.append(asdict(record))
    return pd.DataFrame(rows, columns=list(OcrRecord.__dataclass_fields__))
