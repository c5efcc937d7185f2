"""Qwen3-VL's vision geometry: the sizes every pixel and token count is built from.

Every module may import this one: it imports only :mod:`helpers.errors`.
"""

from __future__ import annotations

from .errors import InputError

#: Side of one vision patch in pixels (Qwen3-VL; Qwen2.5-VL used 14). qwen-vl-utils needs it
#: passed as ``image_patch_size``.
PATCH_SIZE = 16
#: Patches merged (per side) into one language-model token: a token covers 32x32 pixels.
MERGE_SIZE = 2
#: Video frames merged into one temporal patch.
TEMPORAL_PATCH_SIZE = 2
#: Pixels one language-model token covers: (PATCH_SIZE * MERGE_SIZE) ** 2 = 32 x 32.
TOKEN_PIXELS = (PATCH_SIZE * MERGE_SIZE) ** 2
#: qwen-vl-utils' default floor for one video frame, in tokens (its ``VIDEO_MIN_TOKEN_NUM``; a
#: test checks the two agree: its module imports torch, so it is not read here).
VIDEO_MIN_TOKENS = 128


def video_frame_floor(
    min_pixels: float | None,
    max_pixels: float | None,
    *,
    default: float = VIDEO_MIN_TOKENS * TOKEN_PIXELS,
    where: str = "video",
) -> float:
    """The fewest pixels a video frame is resized to, for a budget of ``min_pixels``/``max_pixels``.

    qwen-vl-utils raises every frame to at least ``min_pixels`` (``default`` when not given) and stops
    at a bare ``AssertionError`` when ``max_pixels`` is below it. This is the one rule the package
    applies instead (in :func:`helpers.check_messages` and :func:`helpers.estimate_visual_tokens`):
    a ``max_pixels`` below the default floor lowers the floor to ``max_pixels``.

    Args:
        min_pixels: The floor asked for, or ``None`` for the default.
        max_pixels: The ceiling asked for, or ``None``.
        default: The floor when none is asked for: qwen-vl-utils' ``VIDEO_MIN_TOKEN_NUM`` tokens.
        where: What to name in an error, e.g. ``"messages[0]['content'][0]"``.

    Returns:
        The floor to give qwen-vl-utils as ``min_pixels``.

    Raises:
        InputError: ``min_pixels`` is larger than ``max_pixels``.

    Example:
        >>> video_frame_floor(None, None) == VIDEO_MIN_TOKENS * TOKEN_PIXELS  # 128 tokens of 32x32
        True
        >>> video_frame_floor(None, 64 * 32 * 32)  # a small ceiling lowers the floor
        65536
        >>> video_frame_floor(2048, 4096)
        2048
    """
    if min_pixels is None:
        return default if max_pixels is None else min(default, int(max_pixels))
    if max_pixels is not None and min_pixels > max_pixels:
        raise InputError(
            f"{where}: min_pixels ({min_pixels}) is larger than max_pixels ({max_pixels}); "
            "lower min_pixels or raise max_pixels."
        )
    return min_pixels
