"""Generate input/receipts/: receipt images with their exact text, one per reading condition.

Each receipt is drawn from a seeded random shop, items and prices, then degraded (small print,
tilt, blur, poor lighting, crumpled paper with perspective) and written as ``NN_condition.png``
with the ground truth beside it as ``NN_condition.txt``; ``manifest.json`` lists the conditions
and, under ``facts``, each receipt's key facts (store, date, time, total, items) as printed.
Re-running with the same seed writes identical files. Fonts: DejaVu (Latin, Cyrillic, Greek) and
Noto CJK from Debian (fonts-dejavu-core, fonts-noto-cjk).
Usage: python scripts/make_receipts.py [--seed 7] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

import helpers

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
MONO_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

SHOPS = {
    "en": (["CORNER CAFE", "GREEN GROCER", "CITY BAKERY"], ["Coffee", "Tea", "Croissant", "Bagel", "Orange juice", "Muffin", "Apples 1kg", "Bread"], "TOTAL", "CASH", "CHANGE", "Thank you!"),
    "de": (["BÄCKEREI MÜLLER"], ["Brötchen", "Käsekuchen", "Kaffee", "Apfelsaft", "Brezel"], "SUMME", "BAR", "RÜCKGELD", "Vielen Dank!"),
    "ru": (["КАФЕ УЮТ", "МАГАЗИН ПРОДУКТЫ"], ["Хлеб", "Молоко", "Сыр", "Чай", "Яблоки", "Кофе"], "ИТОГО", "НАЛИЧНЫЕ", "СДАЧА", "Спасибо!"),
    "el": (["ΚΑΦΕΝΕΙΟ ΑΘΗΝΑ"], ["Καφές", "Τυρόπιτα", "Νερό", "Ψωμί", "Γάλα"], "ΣΥΝΟΛΟ", "ΜΕΤΡΗΤΑ", "ΡΕΣΤΑ", "Ευχαριστούμε!"),
    "zh": (["便利店", "北京咖啡馆"], ["咖啡", "绿茶", "面包", "牛奶", "苹果", "米饭"], "合计", "现金", "找零", "谢谢惠顾"),
}  # fmt: skip

# (file stem, language, condition, font size, degradations)
RECEIPTS = [
    ("01_clean", "en", "clean", 26, []),
    ("02_small_print", "en", "small print", 13, []),
    ("03_tilt", "en", "tilt", 24, ["tilt"]),
    ("04_blur", "de", "blur", 24, ["blur"]),
    ("05_low_light", "en", "poor lighting", 24, ["dark"]),
    ("06_crumpled", "en", "crumpled + perspective", 24, ["crumple", "perspective"]),
    ("07_russian", "ru", "Cyrillic", 24, []),
    ("08_greek_tilt", "el", "Greek + tilt", 24, ["tilt"]),
    ("09_chinese", "zh", "Chinese", 26, []),
    ("10_chinese_blur", "zh", "Chinese + blur", 26, ["blur"]),
]


def receipt_lines(rng: np.random.Generator, language: str) -> tuple[list[str], dict]:
    """The text of one receipt (shop, date, items with prices, total, cash, change, thanks) and
    its key facts: store, date (ISO), time, total and items, exactly as printed."""
    shops, items, total_word, cash_word, change_word, thanks = SHOPS[language]
    shop = shops[rng.integers(len(shops))]
    chosen = rng.choice(len(items), size=min(len(items), int(rng.integers(3, 6))), replace=False)
    prices = [round(float(rng.integers(80, 1500)) / 100, 2) for _ in chosen]
    total = round(sum(prices), 2)
    cash = float(np.ceil(total / 5) * 5 + (5 if rng.random() < 0.3 else 0))
    day, hour, minute = int(rng.integers(1, 29)), int(rng.integers(7, 21)), int(rng.integers(0, 60))
    lines = [shop, f"2026-11-{day:02d} {hour:02d}:{minute:02d}", ""]
    lines += [f"{items[i]} {price:.2f}" for i, price in zip(chosen, prices, strict=True)]
    lines += [
        "",
        f"{total_word} {total:.2f}",
        f"{cash_word} {cash:.2f}",
        f"{change_word} {cash - total:.2f}",
        "",
        thanks,
    ]
    facts = {
        "store": shop,
        "date": f"2026-11-{day:02d}",
        "time": f"{hour:02d}:{minute:02d}",
        "total": f"{total:.2f}",
        "items": [
            {"name": items[i], "price": f"{price:.2f}"}
            for i, price in zip(chosen, prices, strict=True)
        ],
    }
    return lines, facts


def draw_receipt(lines: list[str], language: str, size: int) -> Image.Image:
    """Dark text on off-white paper; item names left, prices right-aligned."""
    regular = ImageFont.truetype(CJK if language == "zh" else MONO, size)
    bold = ImageFont.truetype(CJK if language == "zh" else MONO_BOLD, size)
    width = size * 22
    line_h = int(size * 1.5)
    paper = Image.new("RGB", (width, line_h * (len(lines) + 2)), (246, 243, 235))
    draw = ImageDraw.Draw(paper)
    for row, line in enumerate(lines):
        y = line_h * (row + 1)
        font = bold if row == 0 else regular
        head, _, price = line.rpartition(" ")
        if row >= 3 and head and price.replace(".", "").isdigit():
            draw.text((size, y), head, fill=(25, 25, 30), font=font)
            draw.text((width - size, y), price, fill=(25, 25, 30), font=font, anchor="ra")
        else:
            draw.text((width // 2, y), line, fill=(25, 25, 30), font=font, anchor="ma")
    return paper


def degrade(image: Image.Image, steps: list[str], rng: np.random.Generator) -> Image.Image:
    array = np.asarray(image).astype(np.float32)
    h, w = array.shape[:2]
    background = (90, 100, 110)
    for step in steps:
        if step == "tilt":
            angle = float(rng.uniform(6, 10) * rng.choice([-1, 1]))
            matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
            cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
            new_w, new_h = int(h * sin + w * cos), int(h * cos + w * sin)
            matrix[0, 2] += new_w / 2 - w / 2
            matrix[1, 2] += new_h / 2 - h / 2
            array = cv2.warpAffine(
                array, matrix, (new_w, new_h), borderValue=background, flags=cv2.INTER_CUBIC
            )
            h, w = array.shape[:2]
        elif step == "blur":
            array = cv2.GaussianBlur(array, (0, 0), sigmaX=1.6)
        elif step == "dark":
            ramp = np.linspace(0.25, 0.7, w, dtype=np.float32)[None, :, None]
            array = array * ramp + rng.normal(0, 6, array.shape).astype(np.float32)
        elif step == "crumple":
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            phase = float(rng.uniform(0, 2 * np.pi))
            map_x = xs + 3.0 * np.sin(ys / 37.0 + phase)
            map_y = ys + 2.5 * np.sin(xs / 53.0 + phase)
            array = cv2.remap(array, map_x, map_y, cv2.INTER_CUBIC, borderValue=background)
            shade = 1.0 - 0.12 * (np.sin(xs / 41.0 + ys / 67.0 + phase) > 0.6)[..., None]
            array = array * shade
        elif step == "perspective":
            pad = int(0.12 * w)
            src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
            dst = np.float32(
                [[pad, pad // 2], [w + pad // 2, 0], [w + pad, h + pad], [0, h + pad // 3]]
            )
            matrix = cv2.getPerspectiveTransform(src, dst)
            array = cv2.warpPerspective(
                array, matrix, (w + 2 * pad, h + 2 * pad), borderValue=background
            )
            h, w = array.shape[:2]
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def main(seed: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    manifest, key_facts = [], {}
    for stem, language, condition, size, steps in RECEIPTS:
        lines, facts = receipt_lines(rng, language)
        image = degrade(draw_receipt(lines, language, size), steps, rng)
        image.save(out / f"{stem}.png", optimize=True)
        (out / f"{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        manifest.append({"image": f"{stem}.png", "language": language, "condition": condition})
        key_facts[f"{stem}.png"] = facts
    (out / "manifest.json").write_text(
        json.dumps(
            {"seed": seed, "receipts": manifest, "facts": key_facts}, ensure_ascii=False, indent=1
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {len(manifest)} receipts to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=helpers.INPUT_DIR / "receipts")
    args = parser.parse_args()
    main(args.seed, args.out)
