"""Fonts that can draw labels in any script (Latin, Cyrillic, Greek, CJK, ...)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

# Debian/Ubuntu (fonts-noto-cjk, fonts-noto-core, fonts-dejavu-core), macOS, Windows.
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/arial.ttf",
)


def bundled_font() -> str | None:
    """DejaVu Sans as shipped inside matplotlib: Latin, Greek, Cyrillic and more.

    Returns:
        Its path, or ``None`` when matplotlib is not installed.

    Example:
        >>> bundled_font() is None or bundled_font().endswith("DejaVuSans.ttf")
        True
    """
    try:
        import matplotlib
    except ImportError:
        return None
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return str(path) if path.exists() else None


@lru_cache(maxsize=1)
def font_path() -> str | None:
    """The first installed font with wide script coverage, else matplotlib's DejaVu Sans.

    Pillow's own default font has no Cyrillic or Greek, so it is never used for labels.

    Returns:
        The first of :data:`FONT_CANDIDATES` that is installed, else :func:`bundled_font`, else
        ``None``.

    Example:
        >>> path = font_path()
        >>> path is None or path in FONT_CANDIDATES or path == bundled_font()
        True
    """
    return next((p for p in FONT_CANDIDATES if Path(p).exists()), None) or bundled_font()


@lru_cache(maxsize=32)
def load_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A TrueType font of ``size`` pixels that can draw labels in any script.

    Args:
        size: The font size in pixels.

    Returns:
        The font of :func:`font_path`; Pillow's built-in font only when neither a system
        font nor matplotlib is installed (labels outside Latin then show as boxes).

    Example:
        >>> font = load_font(20)
        >>> font.getbbox("自行车 bicycle")[2] > 0
        True
    """
    path = font_path()
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size=size)
