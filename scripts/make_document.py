"""Generate input/document/: a printed page with known layout and text, for document parsing.

The page has a title, two paragraphs, a table, a figure (a bar chart without text) and the
figure's caption, drawn from a seeded choice of topic, sentences and numbers. Written beside it:
``page.txt`` (the text in reading order, one block per line, table cells separated by spaces)
and ``page.json`` (every block's category, box in pixels and in Qwen3-VL's 0-1000 space, text).
Re-running with the same seed writes identical files. Fonts: DejaVu (fonts-dejavu-core).
Usage: python scripts/make_document.py [--seed 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import helpers

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
SIZE_WH = (850, 1100)
MARGIN = 70
INK = (20, 20, 25)

# (title, table header, row names, unit, sentences); {a} {b} {c} are filled with seeded numbers.
TOPICS = [
    (
        "Harbour Water Quality Survey",
        ["Site", "Spring", "Summer", "Autumn"],
        ["North pier", "Fish market", "Old dock", "Lighthouse"],
        "mg/l",
        [
            "Samples were taken at {a} points along the harbour wall every second week.",
            "Oxygen levels fell by {b} percent during the warmest month of the year.",
            "The old dock showed the widest spread between morning and evening readings.",
            "Two sensors were replaced in week {c} after a storm damaged their mounts.",
            "Readings near the fish market stayed stable for most of the season.",
            "Volunteers from {a} local schools helped to label and store the bottles.",
        ],
    ),
    (
        "City Library Lending Report",
        ["Branch", "January", "February", "March"],
        ["Central", "Riverside", "Hill Road", "Station"],
        "loans",
        [
            "Lending grew by {b} percent after the branches opened on Sunday mornings.",
            "The Riverside branch added {a} new shelves for graphic novels.",
            "Audio books were borrowed more often than printed travel guides.",
            "A new self-service desk handled {c} hundred loans in its first week.",
            "Children's reading clubs met every Thursday in the Central branch.",
            "Late returns dropped once reminders were sent by text message.",
        ],
    ),
    (
        "Rooftop Solar Output Review",
        ["Roof", "April", "May", "June"],
        ["School", "Depot", "Clinic", "Town hall"],
        "kWh",
        [
            "The panels on the depot roof were cleaned {a} times during the review.",
            "Output rose by {b} percent once the inverter firmware was updated.",
            "Cloudy weeks in May reduced the total yield of every roof.",
            "The clinic now covers {c} percent of its daytime demand from its own roof.",
            "Bird guards were fitted under the school panels in early spring.",
            "Peak output was measured just after noon on clear days.",
        ],
    ),
]


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(f"{FONT_DIR}/{name}.ttf", size)


def fill(template: str, rng: np.random.Generator) -> str:
    return template.format(
        a=int(rng.integers(3, 13)), b=int(rng.integers(4, 31)), c=int(rng.integers(2, 12))
    )


def wrap(
    draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    """Greedy word wrap to ``width`` pixels."""
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=face) <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    xs1, ys1, xs2, ys2 = zip(*boxes, strict=True)
    return min(xs1), min(ys1), max(xs2), max(ys2)


def draw_text_block(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    face: ImageFont.FreeTypeFont,
    top: int,
    spacing: float,
) -> tuple[tuple[int, int, int, int], int]:
    """Draw lines from ``top``; return the union of the inked boxes and the next free y."""
    step = round(face.size * spacing)
    boxes = []
    for row, line in enumerate(lines):
        y = top + row * step
        draw.text((MARGIN, y), line, font=face, fill=INK)
        boxes.append(draw.textbbox((MARGIN, y), line, font=face))
    return union(boxes), top + len(lines) * step


def make_page(seed: int) -> tuple[Image.Image, list[dict]]:
    rng = np.random.default_rng(seed)
    title, header, rows, unit, sentences = TOPICS[int(rng.integers(len(TOPICS)))]
    order = rng.permutation(len(sentences))
    para1 = " ".join(fill(sentences[i], rng) for i in order[:3])
    para2 = " ".join(fill(sentences[i], rng) for i in order[3:])
    values = rng.integers(12, 99, size=(len(rows), len(header) - 1))

    width = SIZE_WH[0]
    page = Image.new("RGB", SIZE_WH, (255, 255, 255))
    draw = ImageDraw.Draw(page)
    text_w = width - 2 * MARGIN
    body = font("DejaVuSerif", 19)
    blocks: list[dict] = []

    box, y = draw_text_block(draw, [title], font("DejaVuSerif-Bold", 34), MARGIN, 1.2)
    blocks.append({"category": "title", "box_px": box, "text": title})
    y += 28
    box, y = draw_text_block(draw, wrap(draw, para1, body, text_w), body, y, 1.45)
    blocks.append({"category": "paragraph", "box_px": box, "text": para1})

    # Table: header row in bold, ruled grid, numbers right-aligned.
    y += 30
    cell_h, first_w = 40, 230
    col_w = (text_w - first_w) // (len(header) - 1)
    cells = [header] + [
        [name, *(str(v) for v in row)] for name, row in zip(rows, values, strict=True)
    ]
    right = MARGIN + first_w + col_w * (len(header) - 1)
    bold, plain = font("DejaVuSans-Bold", 17), font("DejaVuSans", 17)
    for r, cells_row in enumerate(cells):
        top = y + r * cell_h
        for c, text in enumerate(cells_row):
            face = bold if r == 0 else plain
            if c == 0:
                draw.text((MARGIN + 10, top + cell_h // 2), text, font=face, fill=INK, anchor="lm")
            else:
                x = MARGIN + first_w + col_w * c - 10
                draw.text((x, top + cell_h // 2), text, font=face, fill=INK, anchor="rm")
    bottom = y + cell_h * len(cells)
    for r in range(len(cells) + 1):
        draw.line(
            (MARGIN, y + r * cell_h, right, y + r * cell_h), fill=INK, width=2 if r < 2 else 1
        )
    for x in [
        MARGIN,
        MARGIN + first_w,
        *(MARGIN + first_w + col_w * c for c in range(1, len(header))),
    ]:
        draw.line((x, y, x, bottom), fill=INK, width=1)
    table_text = "\n".join(" ".join(row) for row in cells)
    blocks.append(
        {"category": "table", "box_px": (MARGIN, y, right + 1, bottom + 1), "text": table_text}
    )

    y = bottom + 34
    box, y = draw_text_block(draw, wrap(draw, para2, body, text_w), body, y, 1.45)
    blocks.append({"category": "paragraph", "box_px": box, "text": para2})

    # Figure: a bar chart of the table's totals, no text inside it.
    y += 36
    fig_w, fig_h = 460, 250
    left = (width - fig_w) // 2
    draw.rectangle((left, y, left + fig_w, y + fig_h), outline=INK, width=2)
    totals = values.sum(axis=1)
    bar_w = fig_w // (2 * len(totals) + 1)
    palette = [(70, 110, 170), (220, 130, 60), (90, 160, 90), (170, 80, 120)]
    for i, total in enumerate(totals):
        bar_h = int((fig_h - 30) * total / totals.max())
        x = left + bar_w * (2 * i + 1)
        draw.rectangle((x, y + fig_h - 2 - bar_h, x + bar_w, y + fig_h - 2), fill=palette[i % 4])
    blocks.append(
        {"category": "figure", "box_px": (left, y, left + fig_w + 1, y + fig_h + 1), "text": ""}
    )

    caption = f"Figure 1. Totals per {header[0].lower()} over three periods, in {unit}."
    face = font("DejaVuSans-Oblique", 16)
    y += fig_h + 14
    x = (width - round(draw.textlength(caption, font=face))) // 2
    draw.text((x, y), caption, font=face, fill=INK)
    blocks.append(
        {
            "category": "caption",
            "box_px": draw.textbbox((x, y), caption, font=face),
            "text": caption,
        }
    )

    truth = []
    for block in blocks:
        x1, y1, x2, y2 = (int(v) for v in block["box_px"])
        box_2d = [
            round(v / size * 1000, 1) for v, size in zip((x1, y1, x2, y2), SIZE_WH * 2, strict=True)
        ]
        truth.append(
            {
                "category": block["category"],
                "box_2d": box_2d,
                "box_px": [x1, y1, x2, y2],
                "text": block["text"],
            }
        )
    return page, truth


def main(seed: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    page, blocks = make_page(seed)
    page.save(out / "page.png", optimize=True)
    (out / "page.txt").write_text(
        "\n".join(b["text"] for b in blocks if b["text"]) + "\n", encoding="utf-8"
    )
    truth = {"seed": seed, "image": "page.png", "size_wh": list(SIZE_WH), "blocks": blocks}
    (out / "page.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"wrote page.png, page.txt and page.json ({len(blocks)} blocks) to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=helpers.INPUT_DIR / "document")
    args = parser.parse_args()
    main(args.seed, args.out)
