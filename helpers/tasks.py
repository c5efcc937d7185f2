"""Task steps that call the model: ask, then parse and score with the standalone modules.

The parsers and scores (:mod:`helpers.facts`, :mod:`helpers.referring`) and page handling
(:mod:`helpers.sketch`) stand without any model code; the one-call steps the notebooks use to run
the model over many inputs live here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .chat import chat, chat_batch
from .facts import KEY_FACTS_PROMPT, ReceiptTruth, facts_rows
from .html import ShownPage, page_from_answer
from .messages import image_message
from .referring import ReferringResult, ReferringTruth, referring_prompt, referring_result
from .sketch import SketchPage, save_page


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
        :func:`helpers.facts_rows` of the answers.

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
    from tqdm.auto import tqdm

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


def ask_referring(
    model: Any,
    processor: Any,
    expressions: Sequence[ReferringTruth],
    *,
    pixels: dict[str, int] | None = None,
    max_new_tokens: int = 128,
    progress: bool = True,
) -> list[ReferringResult]:
    """Ask for each expression's box (greedy), parse the answer and score its first box.

    Args:
        model: From :func:`helpers.load_model`.
        processor: From :func:`helpers.load_model`.
        expressions: From :func:`helpers.load_referring_truth`.
        pixels: The image's ``min_pixels`` / ``max_pixels`` (e.g. ``helpers.GROUNDING_PIXELS``).
        max_new_tokens: Each answer's token cap.
        progress: Show a progress bar.

    Returns:
        One result per expression, in order.

    Example:
        >>> import helpers, warnings
        >>> model, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> expressions, _ = helpers.load_referring_truth(helpers.INPUT_DIR / "referring_ground_truth.json")
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     results = ask_referring(model, processor, expressions[:1], max_new_tokens=4, progress=False)
        >>> results[0].truth == expressions[0]
        True
    """
    from tqdm.auto import tqdm

    results = []
    for truth in tqdm(expressions, desc="referring", unit="expression", disable=not progress):
        prompt = referring_prompt(truth.expression)
        answer = chat(
            model,
            processor,
            image_message(truth.image, prompt, **(pixels or {})),
            max_new_tokens=max_new_tokens,
        )
        results.append(referring_result(truth, answer))
    return results


def sketch_to_page(
    model: Any,
    processor: Any,
    sketch: str | os.PathLike,
    *,
    prompt: str,
    fallback: ShownPage,
    out_dir: str | os.PathLike,
    max_new_tokens: int,
    preset: str = "greedy",
    screen_wh: tuple[int, int] = (1280, 800),
) -> SketchPage:
    """Ask for a page for one sketch, take the page out (or the fallback), save and screenshot it.

    Args:
        model: From :func:`helpers.load_model`.
        processor: From :func:`helpers.load_model`.
        sketch: The sketch image.
        prompt: The request, e.g. :data:`helpers.SKETCH_TO_HTML_PROMPT`.
        fallback: The page shown when the answer holds no HTML (e.g.
            :func:`helpers.html.sample_page`); it keeps its label.
        out_dir: The folder for the ``.html`` and ``.png`` files.
        max_new_tokens: The answer's token cap.
        preset: A generation preset of :func:`helpers.chat`.
        screen_wh: The screenshot size.

    Returns:
        The result (see :class:`SketchPage`).

    Example:
        >>> import tempfile, helpers
        >>> model, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> result = sketch_to_page(model, processor, helpers.INPUT_DIR / "sketch_chat.png",
        ...     prompt="x", fallback=helpers.sample_page("<p/>"), out_dir=tempfile.mkdtemp(),
        ...     max_new_tokens=4, screen_wh=(64, 64))  # the tiny model writes no HTML
        >>> result.page.is_sample, result.html_path.name
        (True, '04_sketch_chat.html')
    """
    answer = chat(
        model,
        processor,
        image_message(sketch, prompt),
        max_new_tokens=max_new_tokens,
        preset=preset,
    )
    page = page_from_answer(answer, fallback)
    return save_page(sketch, page, out_dir, screen_wh=screen_wh)
