"""Prompts, pixel budgets and generation settings as the model's makers use them, each sourced.

Every constant names where it comes from:

- *model card*: the Qwen3-VL-4B-Instruct model card, section "Generation Hyperparameters" (VL);
- *README*: the model family's README (repository ``QwenLM/Qwen3-VL``);
- *<name> cookbook*: ``cookbooks/<name>.ipynb`` in that repository;
- *ours*: this cookbook's own wording, kept where a notebook compares it with the official one.

Budgets are in pixels, as the official notebooks write them: ``N * 32 * 32`` is N visual tokens
(16-pixel patches, merged 2×2 into one token).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

#: Pixels per visual token for Qwen3-VL: a 2×2 block of 16-pixel patches.
PIXELS_PER_TOKEN = 32 * 32

# --- Prompts ---------------------------------------------------------------------------------

#: Plain OCR. Source: ocr cookbook and README (the vLLM/SGLang OCR examples).
OCR_PROMPT = "Read all the text in the image."
#: Ours (from the tutorial this cookbook grew from); notebook 03 measures it against OCR_PROMPT.
OCR_PROMPT_OURS = "Give the OCR of this image without any additional context."
#: Whole document as markdown. Source: document_parsing cookbook (a two-word keyword, not a
#: sentence).
MARKDOWN_PROMPT = "qwenvl markdown"
#: Whole document as HTML with element boxes. Source: document_parsing cookbook (keyword).
HTML_DOCUMENT_PROMPT = "qwenvl html"
#: Ours: a sentence asking for markdown; notebook 03 measures it against MARKDOWN_PROMPT.
MARKDOWN_PROMPT_OURS = (
    "Read all the text in this image. Keep the layout, and output it as markdown."
)
#: Text spotting, one box per line. Source: ocr cookbook.
SPOTTING_PROMPT = "Spotting all the text in the image with line-level, and output in JSON format."
#: Event localisation in a video. Source: video_understanding cookbook.
EVENTS_PROMPT = (
    "Localize a series of activity events in the video, output the start and end timestamp for "
    "each event, and describe each event with sentences. Provide the result in json format with "
    "'mm:ss.ff' format for time depiction."
)
#: When each object is on screen. Source: ours, the wording of :data:`EVENTS_PROMPT` asked about
#: what ``input/events.json`` records (the interval each object is visible), so the question and
#: its truth agree.
ON_SCREEN_PROMPT = (
    "Localize when each object is visible in the video, output the start and end timestamp for "
    "each object, and describe each object with a sentence. Provide the result in json format "
    "with 'mm:ss.ff' format for time depiction."
)
#: The JSON shape asked for by :data:`KEY_FACTS_PROMPT`. Source: ours (the fields these receipts
#: carry, see ``input/receipts/manifest.json``).
KEY_FACTS_FORMAT: dict[str, Any] = {
    "store": "",
    "date": "",
    "total": "",
    "items": [{"name": "", "price": ""}],
}
#: Key facts from a receipt. Source: the instruction is the key-information example of the model
#: family's OCR cookbook (``Extract the key-value information in the format:{"company": "", "date":
#: "", "address": "", "total": ""}``, as that cookbook was published for Qwen2.5-VL); the fields
#: (:data:`KEY_FACTS_FORMAT`) are ours.
KEY_FACTS_PROMPT = "Extract the key-value information in the format:" + json.dumps(
    KEY_FACTS_FORMAT, ensure_ascii=False
)
#: Sketch or screenshot to a web page. Source: mmcode cookbook ("Image to HTML").
SKETCH_TO_HTML_PROMPT = (
    "Analyze this screenshot and convert it to clean, functional and modern HTML code."
)

# --- Pixel budgets (per image item: min_pixels / max_pixels) ----------------------------------

#: OCR: a floor so small print is enlarged before it is cut into patches. Source: ocr cookbook
#: (its API call: min_pixels=512*32*32, max_pixels=2048*32*32).
OCR_PIXELS = {"min_pixels": 512 * PIXELS_PER_TOKEN, "max_pixels": 2048 * PIXELS_PER_TOKEN}
#: Grounding (boxes and points). Source: 2d_grounding cookbook (min_pixels=64*32*32,
#: max_pixels=9800*32*32).
GROUNDING_PIXELS = {"min_pixels": 64 * PIXELS_PER_TOKEN, "max_pixels": 9800 * PIXELS_PER_TOKEN}
#: Video. Source: video_understanding cookbook (total_pixels=20480*32*32, min_pixels=64*32*32,
#: max_frames=2048, sample fps 2).
VIDEO_BUDGET = {
    "total_pixels": 20480 * PIXELS_PER_TOKEN,
    "min_pixels": 64 * PIXELS_PER_TOKEN,
    "max_frames": 2048,
    "fps": 2.0,
}

# --- Generation settings ---------------------------------------------------------------------

#: Set to ``1`` to make every preset decode greedily (tests and CI run the notebooks this way: the
#: likeliest token at each step, so reruns match unless bf16 kernels or batch padding flip a
#: near-tie); the cookbook's scripts/test.sh sets it.
GREEDY_ENV_VAR = "QWEN_VL_GREEDY"
#: Set to a number to cap every answer at that many new tokens (tests and CI: the tiny random model
#: rarely stops on its own, and the official budgets run to 16384 tokens).
MAX_NEW_TOKENS_ENV_VAR = "QWEN_VL_MAX_NEW_TOKENS"

#: Named generation settings for :func:`helpers.chat` (``preset=...``).
GENERATION_PRESETS: dict[str, dict[str, Any]] = {
    # Greedy: the likeliest token at each step (tests, scoring, extraction); bf16 kernels and batch
    # padding can still flip a near-tie.
    "greedy": {"do_sample": False, "temperature": None, "top_p": None, "top_k": None},
    # Source: model card, "Generation Hyperparameters", VL (greedy=false, top_p=0.8, top_k=20,
    # temperature=0.7, repetition_penalty=1.0, presence_penalty=1.5; out_seq_length=16384).
    "sampling": {
        "do_sample": True,
        "temperature": 0.7,
        "top_p": 0.8,
        "top_k": 20,
        "repetition_penalty": 1.0,
        "presence_penalty": 1.5,
    },
    # Source: mmcode cookbook ("Image to HTML"): temperature=0.8 and max_tokens=16384 (see
    # HTML_MAX_NEW_TOKENS), and nothing else. As there, nothing else is set here: top-p and top-k
    # are the checkpoint's own (generation_config.json), on the local path and on a server alike,
    # and there is no presence penalty.
    "mmcode": {"do_sample": True, "temperature": 0.8},
}

#: Token budgets for long answers, chosen by us from these sources: 16384 for a page is the mmcode
#: cookbook's max_tokens (the model card's VL setting lists out_seq_length=16384 as well, as read
#: when this was written); 4096 for spotting is the ocr cookbook's local inference default.
HTML_MAX_NEW_TOKENS = 16384
SPOTTING_MAX_NEW_TOKENS = 4096
#: Dense box lists. Our choice: greedy, so a scored answer does not change from run to run, and a
#: cap on the new tokens, so an answer that keeps repeating boxes (QwenLM/Qwen3-VL issue #1611,
#: "Infinite repetition bug still exists") still stops and keeps its complete boxes. The model
#: card's sampling settings (``preset="sampling"``) are the alternative; their presence penalty
#: lowers every token already written by 1.5, the digits and keys each box repeats included, so it
#: is no targeted remedy for a loop.
DENSE_DETECTION_PRESET = "greedy"
DENSE_DETECTION_MAX_NEW_TOKENS = 4096


def grounding_prompt(categories: str | Sequence[str], kind: Literal["box", "point"] = "box") -> str:
    """The grounding prompt of the 2d_grounding cookbook, for boxes (``"box"``) or points.

    Boxes follow its multi-target examples (one quoted, comma-separated list of categories); points
    follow its pointing example (``with points ... in JSON format like this: {"point_2d": ...}``).

    Args:
        categories: one category name, or several.
        kind: ``"box"`` for ``bbox_2d`` answers, ``"point"`` for ``point_2d`` answers.

    Returns:
        The prompt text.

    Raises:
        ValueError: No category names, or an unknown ``kind``.

    Example:
        >>> grounding_prompt(["person", "ball"])
        'Locate every instance that belongs to the following categories: "person, ball". Report bbox coordinates in JSON format.'
    """
    names = [categories] if isinstance(categories, str) else list(categories)
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError(
            f"grounding_prompt: expected one or more non-empty category names, got {categories!r}."
        )
    listed = ", ".join(n.strip() for n in names)
    if kind == "box":
        return (
            f'Locate every instance that belongs to the following categories: "{listed}". '
            "Report bbox coordinates in JSON format."
        )
    if kind == "point":
        label = json.dumps(names[0].strip(), ensure_ascii=False)
        example = '{"point_2d": [x, y], "label": ' + label + "}"
        return (
            f'Locate every instance that belongs to the following categories with points: "{listed}". '
            f"Report their point coordinates in JSON format like this: {example}"
        )
    raise ValueError(f"grounding_prompt: kind must be 'box' or 'point', got {kind!r}.")


def pixel_budget_tokens(budget: dict[str, int]) -> dict[str, int]:
    """The visual-token counts a ``min_pixels`` / ``max_pixels`` budget stands for.

    Args:
        budget: e.g. :data:`OCR_PIXELS`.

    Returns:
        The same keys, in tokens (pixels / 1024).

    Example:
        >>> pixel_budget_tokens(OCR_PIXELS)
        {'min_pixels': 512, 'max_pixels': 2048}
    """
    return {key: value // PIXELS_PER_TOKEN for key, value in budget.items()}


def referring_prompt(expression: str) -> str:
    """The one-object grounding prompt for a referring expression.

    Source: the wording of the grounding examples in the model family's cookbooks
    (``Locate the top right brown cake, output its bbox coordinates using JSON format.``, an
    example prompt of the Qwen2.5-VL ``spatial_understanding`` cookbook, whose grounding the
    Qwen3-VL ``2d_grounding`` cookbook continues), with the description put in.

    Args:
        expression: What to find, e.g. ``"the leftmost red sweet"``.

    Returns:
        The prompt.

    Raises:
        ValueError: The expression is empty.

    Example:
        >>> referring_prompt("the leftmost red sweet")
        'Locate the leftmost red sweet, output its bbox coordinates using JSON format.'
    """
    if not expression.strip():
        raise ValueError("referring_prompt: give an expression, e.g. 'the leftmost red sweet'.")
    return f"Locate {expression.strip()}, output its bbox coordinates using JSON format."


def attribute_prompt(category: str, attributes: dict[str, str]) -> str:
    """The category grounding prompt with extra fields per box.

    Source: the ``2d_grounding`` cookbook's multi-target prompt (:func:`grounding_prompt`) and its
    way of asking for extra fields by showing the JSON each box should take (its vehicle example
    with ``type`` and ``color``); the joining sentence "For each ..., report bbox coordinates and
    ..." is ours.

    Args:
        category: what to find, e.g. ``"sweet"``.
        attributes: field name -> what to write there, e.g. ``{"color": "the sweet's color"}``.

    Returns:
        The prompt, ending with the JSON shape each box should take.

    Raises:
        ValueError: No attribute was named.

    Example:
        >>> print(attribute_prompt("sweet", {"color": "the sweet's color"}))  # doctest: +NORMALIZE_WHITESPACE
        Locate every instance that belongs to the following categories: "sweet". For each sweet,
        report bbox coordinates and color in JSON format like this: {"bbox_2d": [x1, y1, x2, y2],
        "label": "sweet", "color": "the sweet's color"}
    """
    if not attributes:
        raise ValueError("attribute_prompt: name at least one attribute, e.g. {'color': '...'}.")
    example = {"bbox_2d": ["x1", "y1", "x2", "y2"], "label": category, **attributes}
    shape = json.dumps(example, ensure_ascii=False).replace(
        '"x1", "y1", "x2", "y2"', "x1, y1, x2, y2"
    )
    names = " and ".join(", ".join(attributes).rsplit(", ", 1))
    return (
        f'Locate every instance that belongs to the following categories: "{category}". '
        f"For each {category}, report bbox coordinates and {names} in JSON format like this: {shape}"
    )
