"""Parser and scorer cost on looping answers: for each, the slowest of many looping shapes.

A model stuck in a loop writes the same few characters thousands of times: dots, digits, fences,
unclosed tags, time stamps, JSON keys. Each parser and scorer that reads model text runs on every
shape, repeated to each size; the table shows its slowest shape. Linear parsers grow about tenfold
from one size to the next, quadratic ones a hundredfold.

Usage: python bench/parsers.py [--sizes 10000 100000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from pathlib import Path

from _common import report, timed

import helpers
from helpers.common.markup import latex_tables_as_text, markdown_to_text
from helpers.common.text import split_thinking
from helpers.document import parse_document_html, parse_document_markdown
from helpers.events import Event, parse_timestamp
from helpers.facts import ReceiptFacts, normalize_amount, normalize_date
from helpers.referring import AttributeTruth, parse_attributed_boxes, score_attributes
from helpers.scoring import DocumentTruth

# Each shape is repeated until the answer has the asked number of characters.
SHAPES = {
    "dots": ".",
    "digits": "1234567890",
    "spaces": " ",
    "time stamps 00:02.": "00:02.",
    "time ranges 1 to ": "1 to ",
    "prices $1,": "$1,",
    "minus signs": "-",
    'JSON keys {"a": ': '{"a": ',
    "open brackets [": "[",
    "boxes in blocks": '```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "a"}]\n```\n',
    "bare fences ```": "```",
    "fences with a tag ```html": "```html",
    "doctype without >": "<!DOCTYPE html",
    "unclosed tags <a ": "<a ",
    "unclosed comments <!--": "<!--",
    "nested <div>": "<div>",
    "placeholders <!-- Image (": "<!-- Image (",
    "LaTeX \\begin{tabular}{": "\\begin{tabular}{",
    "LaTeX \\textbf{": "\\textbf{",
    "thinking <think>": "<think>",
    "colours red, ": "red, ",
    "images ![": "![",
    "list items \\n- a": "\n- a",
    "quotes \\n> a": "\n> a",
    "nested lists": "  - a\n",
}


def _numbered_items(size: int) -> str:
    """A list whose items differ (a count): no repeated tail, the whole answer is parsed."""
    items, total, i = [], 0, 0
    while total < size:
        items.append(f"- item {i}\n")
        total += len(items[-1])
        i += 1
    return "".join(items)


def _answers(size: int):
    for shape, piece in SHAPES.items():
        yield shape, piece * (size // len(piece) + 1)
    yield "numbered list items (no loop)", _numbered_items(size)
    yield 'a string cut off {"store": "aaa', '{"store": "' + "a" * size
    box = '{"bbox_2d": [1, 2, 3, 4], "label": "a"}, '
    yield "a list of boxes cut off", "[" + box * (size // len(box))


_EVENT_TRUTH = {"ball": Event(1.0, 2.0, "ball")}
_RECEIPT_TRUTH = ReceiptFacts("Shop", "2026-11-01", "36.85")
_DOCUMENT_TRUTH = DocumentTruth(Path("page.png"), (850, 1100), [], "Review\nOutput rose.")
_ATTRIBUTE_TRUTH = AttributeTruth(
    Path("x.png"), "sweet", "color", [(helpers.Detection("sweet", (0, 0, 100, 100)), "brown")]
)

#: name -> a function of the answer text (parsers, then parse-and-score pipelines).
PARSERS = {
    "parse_detections": helpers.parse_detections,
    "parse_points": helpers.parse_points,
    "extract_code_block": helpers.extract_code_block,
    "parse_document": helpers.parse_document,
    "parse_document_html": parse_document_html,
    "parse_document_markdown": parse_document_markdown,
    "markdown_to_text": markdown_to_text,
    "latex_tables_as_text": latex_tables_as_text,
    "split_thinking": split_thinking,
    "parse_receipt_facts": helpers.parse_receipt_facts,
    "normalize_amount": normalize_amount,
    "normalize_date": normalize_date,
    "parse_events": helpers.parse_events,
    "parse_time_answer": helpers.parse_time_answer,
    "parse_timestamp": parse_timestamp,
    "parse_attributed_boxes": parse_attributed_boxes,
    "score_receipt_facts": lambda text: helpers.score_receipt_facts(
        helpers.parse_receipt_facts(text), _RECEIPT_TRUTH
    ),
    "match_events": lambda text: helpers.match_events(helpers.parse_events(text), _EVENT_TRUTH),
    "score_document": lambda text: helpers.score_document(
        helpers.parse_document(text), _DOCUMENT_TRUTH
    ),
    "score_attributes": lambda text: score_attributes(
        parse_attributed_boxes(text), _ATTRIBUTE_TRUTH
    ),
    "cer": lambda text: helpers.cer(text, "Review\nOutput rose."),
}


def _run(fn, text):
    # A parser may refuse a looping answer with a clear error (ValueError, InputError): a result.
    with warnings.catch_warnings(), contextlib.suppress(ValueError):
        warnings.simplefilter("ignore")
        fn(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for name, fn in PARSERS.items():
        _run(fn, "warm-up: imports and caches are not timed")
        for size in args.sizes:
            worst, worst_shape = 0.0, ""
            for shape, text in _answers(size):
                seconds, _ = timed(lambda fn=fn, text=text: _run(fn, text), args.repeats)
                if seconds >= worst:
                    worst, worst_shape = seconds, shape
            rows.append(
                {
                    "parser": name,
                    "chars": size,
                    "worst_s": round(worst, 4),
                    "worst_answer": worst_shape,
                }
            )
    report("parsers", rows, slowest_s=max(r["worst_s"] for r in rows))


if __name__ == "__main__":
    main()
