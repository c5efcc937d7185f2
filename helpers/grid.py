"""Image grids with captions (video frames, image pairs)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw

from .common.fonts import load_font
from .images import to_image

if TYPE_CHECKING:
    from IPython.display import Image as DisplayedImage


def image_grid(
    images: Sequence[Any],
    columns: int = 8,
    captions: Sequence[str] | None = None,
    *,
    tile_wh: tuple[int, int] | None = None,
    max_tile_side: int = 640,
    gap: int = 2,
) -> Image.Image:
    """Lay images out in a grid, with an optional caption on each tile.

    Images are PIL images or arrays, read as :func:`helpers.images.to_image` reads them (uint8,
    uint16, floats in 0-1, grey or RGBA put on white), so a tile shows what the model would see.

    Tiles share the size of the first image, its longer side capped at ``max_tile_side`` (or
    ``tile_wh``); other images are letterboxed into that size.

    Args:
        images: PIL images or arrays (HxW, HxWx3 or HxWx4; uint8, uint16, bool or floats).
        columns: Tiles per row (fewer when there are fewer images).
        captions: One caption per image (``""`` for none), drawn white on black.
        tile_wh: The tile size ``(width, height)``; by default the first image's.
        max_tile_side: Cap on the default tile's longer side, in pixels.
        gap: White pixels between tiles.

    Returns:
        The grid as an RGB image.

    Raises:
        ValueError: No images, a caption count that differs or ``columns < 1``.
        InputError: An image that is not a picture (its shape, type or values named).

    Example:
        >>> import numpy as np
        >>> frames = [np.full((60, 80, 3), v, np.uint8) for v in (0, 100, 200)]
        >>> image_grid(frames, columns=2, captions=["0 s", "1 s", "2 s"]).size
        (162, 122)
    """
    if len(images) == 0:
        raise ValueError("image_grid: got no images.")
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"image_grid: {len(images)} images but {len(captions)} captions.")
    if columns < 1:
        raise ValueError(f"image_grid: columns must be >= 1, got {columns}.")
    tiles = [to_image(img, f"image_grid: images[{i}]") for i, img in enumerate(images)]
    if tile_wh is None:
        width, height = tiles[0].size
        scale = min(1.0, max_tile_side / max(width, height))
        tile_wh = (max(1, round(width * scale)), max(1, round(height * scale)))
    tile_w, tile_h = tile_wh
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    grid = Image.new(
        "RGB", (columns * tile_w + (columns - 1) * gap, rows * tile_h + (rows - 1) * gap), "white"
    )
    font = load_font(max(10, min(28, tile_h // 10)))
    draw = ImageDraw.Draw(grid)
    for i, tile in enumerate(tiles):
        fitted = tile.copy()
        fitted.thumbnail((tile_w, tile_h))
        x = (i % columns) * (tile_w + gap)
        y = (i // columns) * (tile_h + gap)
        grid.paste(fitted, (x + (tile_w - fitted.width) // 2, y + (tile_h - fitted.height) // 2))
        if captions is not None and captions[i]:
            box = draw.textbbox((x + 3, y + 2), captions[i], font=font)
            draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill="black")
            draw.text((x + 3, y + 2), captions[i], fill="white", font=font)
    return grid


def show(image: Any, *, max_width: int = 1024, quality: int = 85) -> DisplayedImage:
    """A picture for the notebook, as a JPEG at most ``max_width`` pixels wide.

    A notebook that keeps its pictures (so GitHub shows them) stays small this way: a photo or a
    grid stored as a PNG takes several times the bytes. Returned as the cell's last value, or
    passed to ``display``, it is drawn below the cell.

    Args:
        image: A PIL image or an array, read as :func:`helpers.images.to_image` reads it.
        max_width: Wider pictures are scaled down to this width (aspect ratio kept).
        quality: JPEG quality, 1-95.

    Returns:
        An ``IPython.display.Image`` holding the JPEG.

    Example:
        >>> import numpy as np
        >>> shown = show(np.zeros((600, 2048, 3), np.uint8))
        >>> shown.format, shown.data[:2] == b"\\xff\\xd8"  # a JPEG
        ('jpeg', True)
    """
    from IPython.display import Image as DisplayedImage
    from PIL import Image as PILImage

    picture = to_image(image, "show: image")
    if picture.width > max_width:
        height = max(1, round(picture.height * max_width / picture.width))
        picture = picture.resize((max_width, height), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return DisplayedImage(data=buffer.getvalue(), format="jpeg")
