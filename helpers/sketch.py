"""Sketch to web page: one sketch through the model to a saved page, a screenshot and a report row.

Notebook 04 does the first sketch step by step; :func:`sketch_to_page` does the same steps for the
others in one call, with the same fallback (:func:`helpers.html.page_from_answer`) and labels.
"""

from __future__ import annotations

import os
import textwrap
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from .chat import chat
from .common.browser import PLAYWRIGHT_INSTALL
from .common.fonts import load_font
from .grid import image_grid
from .html import (
    BrowserMissingError,
    ShownPage,
    page_from_answer,
    render_html,
    save_html,
)
from .images import load_image
from .messages import image_message


@dataclass(frozen=True)
class SketchPage:
    """A sketch, the page shown for it, where the page was saved and its screenshot.

    ``screenshot`` is ``None`` when no browser was installed (see :func:`screenshot_or_none`).

    Example:
        >>> from helpers.html import sample_page
        >>> result = SketchPage(Path("s.png"), sample_page("<p/>"), Path("s.html"), None)
        >>> result.as_row()
        {'sketch': 's.png', 'html_from_answer': False, 'screenshot': False}
    """

    sketch: Path
    page: ShownPage
    html_path: Path
    screenshot: Path | None

    def as_row(self) -> dict[str, Any]:
        """One report row: the sketch, whether its page came from the answer, and whether a
        screenshot was written."""
        return {
            "sketch": self.sketch.name,
            "html_from_answer": not self.page.is_sample,
            "screenshot": self.screenshot is not None and self.screenshot.is_file(),
        }


def screenshot_or_none(
    html: str, png_path: str | os.PathLike, *, screen_wh: tuple[int, int] = (1280, 800)
) -> Path | None:
    """:func:`helpers.render_html`, or ``None`` with a warning naming the fix when no browser exists.

    Args:
        html: The page's HTML text.
        png_path: Where the PNG goes.
        screen_wh: The viewport (and PNG) size.

    Returns:
        The PNG's path, or ``None`` when neither a system Chromium nor Playwright's own is
        installed (other rendering errors are raised).

    Example:
        >>> import tempfile
        >>> png = screenshot_or_none("<p>Hi</p>", Path(tempfile.mkdtemp()) / "p.png", screen_wh=(64, 64))
        >>> png is None or png.is_file()
        True
    """
    try:
        return render_html(html, png_path, width=screen_wh[0], height=screen_wh[1])
    except BrowserMissingError as error:
        warnings.warn(f"no screenshot: {error}", stacklevel=2)
        return None


def save_page(
    sketch: str | os.PathLike,
    page: ShownPage,
    out_dir: str | os.PathLike,
    *,
    screen_wh: tuple[int, int] = (1280, 800),
) -> SketchPage:
    """Save ``page`` as ``<out_dir>/04_<sketch stem>.html`` and screenshot it beside it (``.png``).

    Args:
        sketch: The sketch the page was written for.
        page: The page to save (from the answer, or the labelled fallback).
        out_dir: The folder for both files (created).
        screen_wh: The screenshot size.

    Returns:
        The result; its ``screenshot`` is ``None`` when no browser is installed.

    Example:
        >>> import tempfile
        >>> from helpers.html import sample_page
        >>> result = save_page("sketch.png", sample_page("<p/>"), tempfile.mkdtemp(), screen_wh=(64, 64))
        >>> result.html_path.name, result.page.is_sample
        ('04_sketch.html', True)
    """
    sketch, folder = Path(sketch), Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    html_path = save_html(page.html, folder / f"04_{sketch.stem}.html", overwrite=True)
    png = screenshot_or_none(page.html, folder / f"04_{sketch.stem}.png", screen_wh=screen_wh)
    return SketchPage(sketch, page, html_path, png)


def note_tile(text: str, size_wh: tuple[int, int]) -> Image.Image:
    """A light grey tile with ``text`` written on it, wrapped: what a grid shows in place of a
    picture that could not be made.

    Example:
        >>> note_tile("no screenshot", (200, 100)).size
        (200, 100)
    """
    tile = Image.new("RGB", size_wh, (235, 235, 235))
    font_px = max(12, min(28, size_wh[1] // 16))
    chars = max(10, (size_wh[0] - 24) * 16 // (font_px * 9))  # a character is about 0.56 em wide
    ImageDraw.Draw(tile).multiline_text(
        (12, 12), "\n".join(textwrap.wrap(text, chars)), fill=(90, 0, 0), font=load_font(font_px)
    )
    return tile


def side_by_side(
    results: Sequence[SketchPage],
    *,
    sketch_captions: Sequence[str] | None = None,
    tile_wh: tuple[int, int] = (640, 400),
) -> Image.Image:
    """A grid with each sketch beside its page's screenshot, captioned with what the page is.

    A page without a screenshot (no browser) gets a note tile naming the fix instead.

    Args:
        results: From :func:`sketch_to_page` or :func:`save_page`.
        sketch_captions: One caption per sketch (default: its file name).
        tile_wh: The size of every tile.

    Returns:
        The grid, two columns.

    Example:
        >>> import helpers
        >>> result = SketchPage(helpers.INPUT_DIR / "sketch_chat.png", helpers.sample_page("<p/>"), Path("x.html"), None)
        >>> side_by_side([result], tile_wh=(160, 100)).size
        (322, 100)
    """
    names = list(sketch_captions) if sketch_captions else [r.sketch.name for r in results]
    if len(names) != len(results):
        raise ValueError(
            f"side_by_side: {len(results)} results but {len(names)} sketch captions; give one per "
            "result."
        )
    images: list[Image.Image] = []
    captions: list[str] = []
    for result, name in zip(results, names, strict=True):
        images.append(load_image(result.sketch))
        captions.append(name)
        if result.screenshot is None:
            note = f"No screenshot: no Chromium installed. Run `{PLAYWRIGHT_INSTALL}`."
            images.append(note_tile(note, tile_wh))
        else:
            images.append(load_image(result.screenshot))
        captions.append(result.page.caption)
    return image_grid(images, columns=2, captions=captions, tile_wh=tile_wh)


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
