"""Parser cost on hostile answers: seconds for parse_detections, extract_code_block,
parse_document and markdown_to_text as the answer grows tenfold. Linear parsers grow about tenfold per row; quadratic ones a hundredfold.

Usage: python bench/parsers.py [--sizes 10000 100000 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import warnings

from _common import report, timed

import helpers

# Each shape is repeated until the answer has the asked number of characters.
SHAPES = {
    "bare fences ```": "```",
    "fences with a tag ```html": "```html",
    "empty blocks ```\\n": "```\n",
    "doctype without >": "<!DOCTYPE html",
    "open brackets [": "[",
    "boxes in blocks": '```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "a"}]\n```\n',
    "unclosed tags <a ": "<a ",
    "unclosed comments <!--": "<!--",
    "nested <div>": "<div>",
}
PARSERS = (
    helpers.parse_detections,
    helpers.extract_code_block,
    helpers.parse_document,
    helpers.markdown_to_text,
)


def _run(fn, text):
    # extract_code_block raises ValueError when no code is found: that is a result too
    with warnings.catch_warnings(), contextlib.suppress(ValueError):
        warnings.simplefilter("ignore")
        fn(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for name, piece in SHAPES.items():
        for size in args.sizes:
            text = piece * (size // len(piece) + 1)
            row = {"answer": name, "chars": len(text)}
            for fn in PARSERS:
                seconds, _ = timed(lambda fn=fn, text=text: _run(fn, text), args.repeats)
                row[f"{fn.__name__}_s"] = round(seconds, 4)
            rows.append(row)
    report("parsers", rows)


if __name__ == "__main__":
    main()
