"""Pictures as the model sees them: decoded, upright, 8-bit RGB, transparency on white.

Every display helper (:func:`helpers.image_grid`, :func:`helpers.draw_detections`) and the
message check use these functions, so what a notebook shows is what the model gets.
"""

from __future__ import annotations

import os
import warnings
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .common.errors import InputError
from .common.files import check_file

#: Transparent parts of an image are put on this colour, for display and for the model alike.
BACKGROUND_RGB = (255, 255, 255)
#: The longest side may be at most this many times the shortest (qwen-vl-utils' MAX_RATIO).
MAX_ASPECT_RATIO = 200


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def to_rgb(image: Image.Image, where: str = "image") -> Image.Image:
    """An image as 8-bit RGB: the one picture both shown and given to the model.

    Transparent parts are composited on white (:data:`BACKGROUND_RGB`; qwen-vl-utils does the
    same for RGBA, but drops the transparency of grey and palette images), 16-bit grey
    (``I;16``, 16-bit PNG/TIFF) is scaled to 0-255 instead of saturating, and float images
    (``F``) in 0-1 are scaled by 255; values outside those ranges are refused, not clipped.

    Args:
        image: Any PIL image.
        where: The image, named in an error.

    Returns:
        ``image`` itself when it is RGB already, else a converted copy.

    Raises:
        InputError: A 32-bit integer or float image with values outside 0-65535 or 0-255.

    Example:
        >>> from PIL import Image
        >>> to_rgb(Image.new("RGBA", (2, 2), (255, 0, 0, 0))).getpixel((0, 0))  # transparent red
        (255, 255, 255)
        >>> to_rgb(Image.new("I;16", (2, 2), 32896)).getpixel((0, 0))  # 16-bit mid grey
        (128, 128, 128)
    """
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, peak = values.min(initial=0), values.max(initial=0)
        high = 1.0 if image.mode == "F" and peak <= 1.0 else 255.0
        if image.mode.startswith("I;16") or (image.mode == "I" and peak > 255):
            high = 65535.0
        if not np.isfinite(values).all() or low < 0 or peak > high:
            raise InputError(
                f"{where}: a {image.mode} image with values from {low:g} to {peak:g}: expected 0-1 "
                "(float), 0-255 or 0-65535 (16-bit), so its grey levels are not known; save it "
                "scaled to 8 or 16 bits."
            )
        grey = np.clip(np.round(values / high * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND_RGB)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def check_image_size(size_wh: tuple[int, int], what: str) -> None:
    """Refuse an empty image, a decompression bomb or a shape the model's resizing refuses.

    Args:
        size_wh: The image's ``(width, height)``, e.g. from its header.
        what: The image, named for the message.

    Raises:
        InputError: A side below 1 pixel, more pixels than ``PIL.Image.MAX_IMAGE_PIXELS``, or a
            long side over :data:`MAX_ASPECT_RATIO` times the short one (the fix is named).

    Example:
        >>> check_image_size((640, 480), "photo.jpg")
        >>> check_image_size((1, 4000), "strip.png")
        Traceback (most recent call last):
        ...
        helpers.common.errors.InputError: strip.png is 1x4000 pixels: its long side is more than 200 times its short side, ...
    """
    width, height = size_wh
    if width < 1 or height < 1:
        raise InputError(f"{what} is {width}x{height} pixels: it has no pixels to look at.")
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        raise InputError(
            f"{what} is {width}x{height} = {width * height:,} pixels, more than Pillow's safety "
            f"limit of {limit:,} (a decompression bomb, or a huge scan): downscale it first, or "
            "raise PIL.Image.MAX_IMAGE_PIXELS if you trust the file."
        )
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise InputError(
            f"{what} is {width}x{height} pixels: its long side is more than {MAX_ASPECT_RATIO} "
            "times its short side, which the model's resizing refuses. Crop it into pieces, or "
            "pad it (PIL.ImageOps.pad) to a less extreme shape."
        )


def load_image(
    path: str | os.PathLike | IO[bytes], *, where: str = "", name: str | None = None
) -> Image.Image:
    """An image file as an upright 8-bit RGB PIL image, fully decoded: exactly what the model sees.

    EXIF orientation is applied (a phone photo stored sideways comes out upright), transparent
    parts are put on white and 16-bit images scaled to 8 bits (:func:`to_rgb`);
    ``image.info["converted"]`` says whether any of that happened (``"exif_rotated"`` whether it
    was turned). Size problems are found from the header, before any pixels are decoded.

    Args:
        path: The image file (a ``file://`` prefix and ``~`` are accepted), or an open binary
            handle (downloaded bytes).
        where: Where it was given, for error messages.
        name: The name to show for a handle (e.g. its URL).

    Returns:
        The image, mode ``RGB``.

    Raises:
        MissingInputError: The file does not exist.
        InputError: The file is empty, a folder, not an image, truncated, a decompression bomb,
            or of a shape the model refuses (:func:`check_image_size`).

    Example:
        >>> import helpers
        >>> image = load_image(helpers.INPUT_DIR / "fruits.jpg")
        >>> image.mode, image.size, image.info["converted"]
        ('RGB', (512, 480), False)
    """
    place = f" ({where})" if where else ""
    if hasattr(path, "read"):  # downloaded bytes
        text, file = name or "<bytes>", path
    else:
        text, file = os.fspath(path), check_file(path, "image", where)
    try:
        with warnings.catch_warnings():  # a size over Pillow's limit is refused below, by name
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(file)
    except Image.DecompressionBombError as exc:  # over twice the limit: refused by Pillow itself
        raise InputError(
            f"image {text!r}{place} is too large to open safely ({exc}): a decompression bomb, or a "
            "huge scan. Downscale it first, or raise PIL.Image.MAX_IMAGE_PIXELS if you trust it."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(
            f"image {text!r}{place} cannot be read as an image ({exc}). The file is corrupt "
            f"or not an image: re-download it or re-save it as PNG or JPEG."
        ) from exc
    try:
        with img:
            check_image_size(img.size, f"image {text!r}{place}")
            img.load()  # decodes fully: catches truncated files that a header check passes
            rotated = img.getexif().get(0x0112, 1) != 1  # EXIF orientation tag
            upright = ImageOps.exif_transpose(img) if rotated else img
            image = to_rgb(upright, f"image {text!r}{place}")
            converted = rotated or upright.mode != "RGB"
            if image is img:
                image = img.copy()  # outlive the closed file
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            f"image {text!r}{place} cannot be read as an image ({exc}). The file is corrupt "
            f"or not an image: re-download it or re-save it as PNG or JPEG."
        ) from exc
    image.info["converted"] = converted
    if rotated:
        image.info["exif_rotated"] = True
    return image


def to_image(value: Any, where: str = "image") -> Image.Image:
    """A PIL image or an array as an 8-bit RGB PIL image (see :func:`to_rgb`).

    Args:
        value: A PIL image, or an HxW (grey), HxWx1, HxWx3 (RGB) or HxWx4 (RGBA, put on white)
            array of ``uint8``, ``uint16`` (scaled from 0-65535), ``bool``, or numbers in 0-255;
            float arrays whose values all lie in 0-1 are scaled by 255.
        where: The input, named for the message.

    Returns:
        The image, mode ``RGB``.

    Raises:
        InputError: Any other shape or type, NaN, values outside those ranges, no pixels, or a
            shape the model refuses (what was received is named).

    Example:
        >>> import numpy as np
        >>> to_image(np.full((2, 2, 3), 0.5)).getpixel((0, 0))  # floats in 0-1
        (128, 128, 128)
        >>> to_image(np.zeros((0, 0, 3), np.uint8))
        Traceback (most recent call last):
        ...
        helpers.common.errors.InputError: image (an array of shape (0, 0, 3)) is 0x0 pixels: it has no pixels to look at.
    """
    if isinstance(value, Image.Image):
        check_image_size(value.size, where)
        return to_rgb(value, where)
    array = np.asarray(value)
    shape, dtype = array.shape, array.dtype
    if array.ndim == 3 and shape[-1] == 1:
        array = array[..., 0]
    if dtype.kind == "O" or not (array.ndim == 2 or (array.ndim == 3 and shape[-1] in (3, 4))):
        raise InputError(
            f"{where}: expected a PIL image or an HxW, HxWx3 or HxWx4 array, got "
            f"{type(value).__name__} with shape {shape} and dtype {dtype}."
        )
    check_image_size((shape[1], shape[0]), f"{where} (an array of shape {shape})")
    # uint8 HxW, HxWx3, HxWx4 become L, RGB, RGBA images
    return to_rgb(Image.fromarray(np.ascontiguousarray(_as_uint8(array, where))), where)


def _as_uint8(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return np.round(array / 257.0).astype(np.uint8)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InputError(f"{where}: cannot read pixels of dtype {array.dtype}; use uint8.")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise InputError(f"{where}: the array holds NaN or infinite values.")
    low, high = float(values.min()), float(values.max())
    if np.issubdtype(array.dtype, np.floating) and low >= 0 and high <= 1:
        values = values * 255.0
    elif low < 0 or high > 255:
        raise InputError(
            f"{where}: {array.dtype} pixel values run from {low:g} to {high:g}; expected 0-1 "
            "(floats) or 0-255. Scale them first, e.g. (a - a.min()) / (a.max() - a.min())."
        )
    return np.round(values).astype(np.uint8)
