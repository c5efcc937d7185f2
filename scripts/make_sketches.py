"""Generate input/sketch_*.png: hand-drawn-style wireframes for the sketch-to-HTML notebook.

- sketch_chat.png: a chat app (sidebar of conversations, header, message area, input box);
- sketch_landing.png: a landing page (navigation, hero, button, three feature cards, footer);
- sketch_chat_photo.png: the chat sketch as a photo of paper (texture, perspective, shadow).
Lines wobble and labels are hand-lettered in an oblique font; seeded, so re-runs are identical.
Usage: python scripts/make_sketches.py [--seed 11] [--out input/]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import helpers

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf"
INK = (40, 45, 60)
SIZE_WH = (1200, 800)


class Pen:
    """Wobbly pen strokes on a PIL canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
        self.draw, self.rng = draw, rng

    def line(self, x1: float, y1: float, x2: float, y2: float, width: int = 3) -> None:
        steps = max(2, int(np.hypot(x2 - x1, y2 - y1) / 25))
        t = np.linspace(0, 1, steps + 1)
        wobble = self.rng.normal(0, 1.6, (steps + 1, 2)).cumsum(axis=0) * 0.5
        wobble -= np.linspace(0, 1, steps + 1)[:, None] * wobble[-1]  # end where it should
        xs, ys = x1 + (x2 - x1) * t + wobble[:, 0], y1 + (y2 - y1) * t + wobble[:, 1]
        self.draw.line(
            list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=INK, width=width, joint="curve"
        )

    def box(self, x1: float, y1: float, x2: float, y2: float, width: int = 3) -> None:
        over = lambda: float(self.rng.uniform(2, 9))  # noqa: E731 - strokes overshoot corners
        self.line(x1 - over(), y1, x2 + over(), y1, width)
        self.line(x2, y1 - over(), x2, y2 + over(), width)
        self.line(x2 + over(), y2, x1 - over(), y2, width)
        self.line(x1, y2 + over(), x1, y1 - over(), width)

    def text(self, x: float, y: float, words: str, size: int = 30) -> None:
        font = ImageFont.truetype(FONT, size)
        offset = 0.0
        for char in words:
            jitter = self.rng.normal(0, 1.2, 2)
            self.draw.text((x + offset + jitter[0], y + jitter[1]), char, fill=INK, font=font)
            offset += font.getlength(char) * float(self.rng.uniform(0.95, 1.08))

    def scribble(self, x1: float, y: float, x2: float) -> None:
        """A wavy line standing for text."""
        xs = np.linspace(x1, x2, 30)
        ys = y + 4 * np.sin(xs / 9) + self.rng.normal(0, 0.8, 30)
        self.draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=INK, width=2)


def paper(rng: np.random.Generator) -> tuple[Image.Image, Pen]:
    image = Image.new("RGB", SIZE_WH, (250, 250, 246))
    return image, Pen(ImageDraw.Draw(image), rng)


def chat_sketch(rng: np.random.Generator) -> Image.Image:
    image, pen = paper(rng)
    pen.box(40, 40, 1160, 760)
    pen.box(40, 40, 330, 760)  # sidebar
    pen.text(70, 60, "Chats", 38)
    pen.box(65, 120, 305, 165, 2)
    pen.text(80, 127, "+ New chat", 26)
    for i, name in enumerate(["Trip ideas", "Recipe help", "Code review", "Poems"]):
        pen.text(80, 200 + 60 * i, name, 26)
    pen.box(330, 40, 1160, 120)  # header
    pen.text(360, 62, "Model: qwen3-vl  v", 32)
    pen.box(1040, 58, 1135, 102, 2)
    pen.text(1052, 64, "Dark", 26)
    pen.box(380, 160, 820, 250, 2)  # assistant message
    pen.scribble(400, 190, 790)
    pen.scribble(400, 225, 700)
    pen.box(700, 290, 1120, 350, 2)  # user message
    pen.scribble(720, 320, 1090)
    pen.box(380, 390, 900, 480, 2)
    pen.scribble(400, 420, 870)
    pen.scribble(400, 455, 760)
    pen.box(360, 660, 1010, 730)  # input
    pen.text(380, 678, "Send a message...", 28)
    pen.box(1030, 660, 1130, 730)
    pen.text(1045, 678, "Send", 28)
    return image


def landing_sketch(rng: np.random.Generator) -> Image.Image:
    image, pen = paper(rng)
    pen.box(40, 30, 1160, 110)  # navigation
    pen.text(70, 52, "LOGO", 36)
    for i, item in enumerate(["Features", "Pricing", "About"]):
        pen.text(660 + 165 * i, 56, item, 28)
    pen.text(300, 170, "Build faster with us", 56)  # hero
    pen.scribble(330, 270, 870)
    pen.scribble(400, 305, 800)
    pen.box(480, 350, 720, 420)
    pen.text(505, 366, "Get started", 32)
    for i, title in enumerate(["Fast", "Secure", "Simple"]):  # feature cards
        x = 70 + 370 * i
        pen.box(x, 480, x + 320, 670)
        pen.box(x + 125, 500, x + 195, 560, 2)
        pen.text(x + 110, 575, title, 30)
        pen.scribble(x + 30, 635, x + 290)
    pen.line(40, 710, 1160, 710)  # footer
    pen.text(470, 725, "(c) 2026 Company", 26)
    return image


def photo_of(sketch: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The sketch on textured paper, photographed at an angle, with a soft shadow."""
    w, h = sketch.size
    array = np.asarray(sketch).astype(np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 6, (h, w)).astype(np.float32), (0, 0), 1.2)[..., None]
    array = array * np.array([1.0, 0.985, 0.95]) + grain
    table = np.full((h + 160, w + 200, 3), (120, 96, 72), np.float32)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[130, 70], [w + 150, 110], [w + 90, h + 140], [40, h + 90]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    size = (table.shape[1], table.shape[0])
    warped = cv2.warpPerspective(array, matrix, size, flags=cv2.INTER_CUBIC)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, size)[..., None]
    shadow = cv2.GaussianBlur(
        cv2.warpPerspective(np.ones((h, w), np.float32), matrix, size), (0, 0), 18
    )
    shadow = np.roll(shadow, (18, 14), axis=(0, 1))[..., None]
    table = table * (1 - 0.45 * shadow)
    light = np.linspace(1.05, 0.8, size[0], dtype=np.float32)[None, :, None]
    out = (table * (1 - mask) + warped * mask) * light
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(0.6)
    )


def main(seed: int, out: Path) -> None:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    chat = chat_sketch(rng)
    chat.save(out / "sketch_chat.png", optimize=True)
    landing_sketch(rng).save(out / "sketch_landing.png", optimize=True)
    photo_of(chat, rng).save(out / "sketch_chat_photo.jpg", quality=88)
    print(f"wrote sketch_chat.png, sketch_landing.png, sketch_chat_photo.jpg to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=helpers.INPUT_DIR)
    args = parser.parse_args()
    main(args.seed, args.out)
