"""OCR: a resumable batch OCR over a folder scored against ground truth, markdown read as text.

The prompts live in :mod:`helpers.prompts`; the error rates (:func:`cer`, :func:`wer`) in
:mod:`helpers.scoring`.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tqdm.auto import tqdm

from .chat import chat_batch
from .common.errors import InputError
from .common.files import write_atomic
from .common.markup import markdown_to_text
from .common.sizes import image_pixel_bounds
from .facts import ReceiptTruth, facts_rows
from .messages import check_budget, check_messages, image_message
from .prompts import KEY_FACTS_PROMPT, OCR_PROMPT
from .scoring import cer, wer

if TYPE_CHECKING:
    import pandas as pd

#: What happened to one image: OCR'd in this run, read from an earlier run's output, or skipped.
OcrStatus = Literal["done", "cached", "error"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


@dataclass
class OcrRecord:
    """One image of an :func:`ocr_folder` run (a row of its table).

    Attributes:
        image: The image's file name.
        status: ``"done"`` (read in this run), ``"cached"`` (its output file was there already) or
            ``"error"`` (skipped: unreadable image).
        output: The text read.
        cer: Character error rate against ``<image stem>.txt`` beside the image, if there is one.
        wer: Word error rate against the same file.
        seconds: Time per image (the batch's time shared out), for images read in this run.
        error: Why the image was skipped.

    Example:
        >>> OcrRecord("receipt.png", "cached", "TOTAL 12.50").status
        'cached'
    """

    image: str
    status: OcrStatus
    output: str | None = None
    cer: float | None = None
    wer: float | None = None
    seconds: float | None = None  # per image, the batch's time shared out
    error: str | None = None


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files of a folder (by suffix: png, jpg, webp, bmp, tiff, gif), sorted by name.

    Args:
        folder: The folder.

    Returns:
        The image paths.

    Raises:
        InputError: ``folder`` is not a folder.

    Example:
        >>> import helpers
        >>> [p.name for p in list_images(helpers.INPUT_DIR / "receipts")][:2]
        ['01_clean.png', '02_small_print.png']
    """
    path = Path(folder)
    if not path.is_dir():
        raise InputError(
            f"{os.fspath(folder)!r} is not a folder: pass the folder that holds the images."
        )
    return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def output_file(out_dir: str | os.PathLike, image: str | os.PathLike) -> Path:
    """Where :func:`ocr_folder` writes an image's text: ``out_dir/<image file name>.txt``.

    The whole file name is kept, so ``page.png`` and ``page.jpg`` never share an output, and an
    output never takes the name of a ground-truth file ``page.txt``, even when ``out_dir`` is the
    image folder itself.

    Args:
        out_dir: The output folder.
        image: The image file.

    Returns:
        The text file's path.

    Example:
        >>> output_file("out", "scans/page.png").as_posix()
        'out/page.png.txt'
    """
    return Path(out_dir) / f"{Path(image).name}.txt"


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} {os.fspath(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}): "
            "re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or move it away."
        ) from None
    except OSError as exc:
        raise InputError(f"{what} {os.fspath(path)!r} cannot be read ({exc}).") from None


def _ground_truths(images: list[Path], out: Path) -> dict[Path, str]:
    """Each image's ``<stem>.txt`` beside it, read before any work (a bad one stops the run).

    A file this run writes (another image's output, when ``out`` is the image folder) is never
    taken as a ground truth."""
    outputs = {output_file(out, image).resolve(): image for image in images}
    truths = {}
    for image in images:
        truth = image.with_suffix(".txt")
        if truth.resolve() in outputs:
            warnings.warn(
                f"{truth.name} is where the text of {outputs[truth.resolve()].name} is written, "
                f"so it is not used as the ground truth of {image.name}: keep ground truths apart "
                "from out_dir, or rename one of the images.",
                stacklevel=3,
            )
            continue
        if truth.is_dir():
            raise InputError(
                f"ground truth {os.fspath(truth)!r} is a folder: rename it, or move it away."
            )
        if truth.exists():
            truths[image] = _read_text(truth, "ground truth")
    return truths


def _check_writable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir {os.fspath(out)!r} is a file: pass a folder for the texts.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise InputError(
            f"out_dir {os.fspath(out)!r} is not writable ({exc.strerror or exc}): pass a folder "
            "you can write to."
        ) from None


def _score(record: OcrRecord, truth: str | None, markdown: bool) -> None:
    if record.output is not None and truth is not None:
        output = markdown_to_text(record.output) if markdown else record.output
        record.cer, record.wer = (
            round(cer(output, truth), 4),
            round(wer(output, truth), 4),
        )


def ocr_folder(
    model: Any,
    processor: Any,
    folder: str | os.PathLike,
    *,
    out_dir: str | os.PathLike,
    prompt: str = OCR_PROMPT,
    pixels: dict[str, int] | None = None,
    markdown: bool = False,
    batch_size: int = 4,
    max_new_tokens: int = 1024,
    progress: bool = True,
    **generation: Any,
) -> pd.DataFrame:
    """OCR every image of a folder, writing ``out_dir/<image file name>.txt`` as each batch finishes.

    Outputs keep the whole file name (``page.png`` -> ``page.png.txt``, see :func:`output_file`),
    so ``page.png`` and ``page.jpg`` never share a text and an output never takes the place of a
    ground truth. It resumes: images whose output file exists are not run again, so an interrupted
    run loses only the batch in flight and a re-run costs nothing. An image that cannot be used
    (unreadable, a decompression bomb, a shape the model refuses) is skipped with a warning and an
    ``"error"`` row. Where ``<image stem>.txt`` sits beside an image it is the ground truth: CER and
    WER are computed against it; with ``markdown=True`` the answer is scored as the text it renders
    to (:func:`markdown_to_text`), so markdown symbols are not counted as errors. Ground truths and
    ``out_dir`` are checked before any work.

    Args:
        model: From :func:`helpers.load_model`.
        processor: Its processor.
        folder: The folder of images (see :func:`list_images`).
        out_dir: Where the texts are written.
        prompt: The OCR instruction (see :mod:`helpers.prompts`: :data:`OCR_PROMPT`,
            :data:`MARKDOWN_PROMPT`, ...).
        pixels: A per-image budget, ``min_pixels`` / ``max_pixels`` (e.g.
            :data:`helpers.OCR_PIXELS`).
        markdown: Score the answers as the text their markdown renders to.
        batch_size: Images per ``generate`` call.
        max_new_tokens: The most tokens per text.
        progress: Show a progress bar.
        **generation: More ``model.generate`` settings.

    Returns:
        A ``pandas.DataFrame``, one row per image, with the columns of :class:`OcrRecord`.

    Raises:
        InputError: ``folder`` is not a folder, a ground truth is not UTF-8 text (or is a folder),
            or ``out_dir`` cannot be written; all before any image is read.
        ValueError: ``batch_size`` is below 1.

    Example:
        >>> import tempfile, helpers
        >>> model, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> out = tempfile.mkdtemp()
        >>> table = ocr_folder(model, processor, helpers.INPUT_DIR / "text", out_dir=out,
        ...                    max_new_tokens=4, progress=False)
        >>> table[["image", "status"]].values.tolist()
        [['imageTextN.png', 'done']]
        >>> ocr_folder(model, processor, helpers.INPUT_DIR / "text", out_dir=out, progress=False).status[0]
        'cached'
    """
    import pandas as pd

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    _check_pixels(pixels)
    out = Path(out_dir)
    images = list_images(folder)
    truths = _ground_truths(images, out)
    _check_writable(out)
    records, todo = _resume(images, out, prompt, pixels)
    with tqdm(total=len(todo), desc="OCR", unit="image", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            began = time.perf_counter()
            answers = chat_batch(
                model, processor, [m for _, m in batch], max_new_tokens=max_new_tokens, **generation
            )
            each = (time.perf_counter() - began) / len(batch)
            for (image, _), answer in zip(batch, answers, strict=True):
                write_atomic(output_file(out, image), str(answer))
                records[image] = OcrRecord(image.name, "done", str(answer), seconds=round(each, 3))
            bar.update(len(batch))
    rows = []
    for image in images:
        record = records[image]
        _score(record, truths.get(image), markdown)
        rows.append(asdict(record))
    return pd.DataFrame(rows, columns=list(OcrRecord.__dataclass_fields__))


def _check_pixels(pixels: dict[str, int] | None) -> None:
    """One budget for every image: a wrong one is refused before any work."""
    if not pixels:
        return
    unknown = sorted(set(pixels) - {"min_pixels", "max_pixels"})
    if unknown:
        raise InputError(f"pixels: unknown keys {unknown}; give min_pixels and/or max_pixels.")
    check_budget(dict(pixels), "pixels")
    image_pixel_bounds(pixels.get("min_pixels"), pixels.get("max_pixels"), where="pixels")


def _resume(
    images: list[Path], out: Path, prompt: str, pixels: dict[str, int] | None
) -> tuple[dict[Path, OcrRecord], list[tuple[Path, list[dict[str, Any]]]]]:
    """Records of the images already done (or unusable, with a warning) and the checked messages
    of the rest."""
    records: dict[Path, OcrRecord] = {}
    todo: list[tuple[Path, list[dict[str, Any]]]] = []
    for image in images:
        target = output_file(out, image)
        try:
            if target.exists() or target.is_symlink():
                if not target.is_file():
                    raise InputError(
                        f"output {os.fspath(target)!r} is not a file: remove it to OCR {image.name}."
                    )
                records[image] = OcrRecord(image.name, "cached", _read_text(target, "output"))
                continue
            todo.append((image, check_messages(image_message(image, prompt, **(pixels or {})))))
        except InputError as exc:
            records[image] = OcrRecord(image.name, "error", error=str(exc))
            warnings.warn(f"skipped {image.name}: {exc}", stacklevel=3)
    return records, todo


def cer_table(
    scores: dict[str, pd.DataFrame], images: list[str], conditions: list[str]
) -> pd.DataFrame:
    """One CER column per prompt, one row per image (in ``images``' order) plus a ``mean`` row.

    Args:
        scores: Prompt name -> :func:`ocr_folder`'s table (``image`` and ``cer`` columns).
        images: The image file names, in the order the rows should take.
        conditions: One label per image (e.g. the receipt's reading condition).

    Returns:
        A table with a ``condition`` column and a ``<name> CER`` column per prompt.

    Raises:
        ValueError: ``images`` and ``conditions`` differ in length.

    Example:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"image": ["b.png", "a.png"], "cer": [0.5, 0.0]})
        >>> cer_table({"plain": table}, ["a.png", "b.png"], ["clean", "blur"])["plain CER"].tolist()
        [0.0, 0.5, 0.25]
    """
    import pandas as pd

    if len(images) != len(conditions):
        raise ValueError(
            f"cer_table: {len(images)} images but {len(conditions)} conditions; give one each."
        )
    order = pd.DataFrame({"image": images})
    comparison = pd.DataFrame({"condition": [*conditions, "mean"]})
    for name, table in scores.items():
        cer_values = order.merge(table[["image", "cer"]], on="image", how="left")["cer"]
        comparison[f"{name} CER"] = [*cer_values, cer_values.mean()]
    return comparison


def compare_prompts(
    model: Any,
    processor: Any,
    folder: str | os.PathLike,
    prompts: dict[str, tuple[str, bool]],
    *,
    out_dir: str | os.PathLike,
    done: dict[str, pd.DataFrame] | None = None,
    **options: Any,
) -> dict[str, pd.DataFrame]:
    """OCR a folder once per prompt with :func:`ocr_folder`, one output folder per prompt.

    Every prompt gets the same images and settings; a markdown answer is scored as the text it
    renders to (:func:`markdown_to_text`), so all are scored against the same plain-text truth.
    Finished files are reused, so a re-run only does what is missing.

    Args:
        model: From :func:`helpers.load_model`.
        processor: From :func:`helpers.load_model`.
        folder: The images (with ``.txt`` ground truths beside them).
        prompts: Name -> ``(prompt, answer is markdown)``.
        out_dir: The parent folder; each prompt writes to ``out_dir/<name>``.
        done: Tables already computed, by name (not run again).
        **options: More :func:`ocr_folder` settings (``pixels``, ``batch_size``,
            ``max_new_tokens``...).

    Returns:
        Name -> :func:`ocr_folder`'s table, in ``prompts``' order.

    Example:
        >>> import helpers, tempfile, warnings
        >>> model, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     tables = compare_prompts(model, processor, helpers.INPUT_DIR / "text",
        ...         {"plain": (helpers.OCR_PROMPT, False)}, out_dir=tempfile.mkdtemp(),
        ...         max_new_tokens=4, progress=False)
        >>> list(tables), list(tables["plain"]["image"])
        (['plain'], ['imageTextN.png'])
    """
    scores: dict[str, pd.DataFrame] = {}
    for name, (prompt, is_markdown) in prompts.items():
        if done and name in done:
            scores[name] = done[name]
            continue
        scores[name] = ocr_folder(
            model,
            processor,
            folder,
            out_dir=Path(out_dir) / name,
            prompt=prompt,
            markdown=is_markdown,
            **options,
        )
    return scores


def ask_receipt_facts(
    model: Any,
    processor: Any,
    truths: Sequence[ReceiptTruth],
    *,
    pixels: dict[str, int] | None = None,
    batch_size: int = 4,
    max_new_tokens: int = 512,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Ask every receipt for its key facts, ``batch_size`` per ``generate`` call, and score them.

    Args:
        model: From :func:`helpers.load_model`.
        processor: From :func:`helpers.load_model`.
        truths: From :func:`helpers.load_receipt_truth`.
        pixels: The image's ``min_pixels`` / ``max_pixels`` (e.g. ``helpers.OCR_PIXELS``).
        batch_size: Receipts per ``generate`` call.
        max_new_tokens: Each answer's token cap.
        progress: Show a progress bar.

    Returns:
        :func:`helpers.facts.facts_rows` of the answers.

    Example:
        >>> import helpers, warnings
        >>> model, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> truths = helpers.load_receipt_truth(helpers.INPUT_DIR / "receipts" / "manifest.json")[:2]
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     rows = ask_receipt_facts(model, processor, truths, max_new_tokens=4, progress=False)
        >>> [row["image"] for row in rows] == [t.image.name for t in truths]
        True
    """
    if batch_size < 1:
        raise ValueError(f"ask_receipt_facts: batch_size must be at least 1, got {batch_size}.")
    answers: list[str] = []
    with tqdm(total=len(truths), desc="key facts", unit="receipt", disable=not progress) as bar:
        for start in range(0, len(truths), batch_size):
            batch = truths[start : start + batch_size]
            conversations = [
                image_message(t.image, KEY_FACTS_PROMPT, **(pixels or {})) for t in batch
            ]
            answers += chat_batch(model, processor, conversations, max_new_tokens=max_new_tokens)
            bar.update(len(batch))
    return facts_rows(truths, answers)
