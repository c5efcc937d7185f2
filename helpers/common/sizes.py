"""Qwen3-VL's vision geometry: the sizes every pixel and token count is built from.

Every module may import this one: it imports only :mod:`helpers.common.errors`.
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
#: qwen-vl-utils' default bounds for one image, in tokens (its ``IMAGE_MIN_TOKEN_NUM`` and
#: ``IMAGE_MAX_TOKEN_NUM``; the same test checks them).
IMAGE_MIN_TOKENS = 4
IMAGE_MAX_TOKENS = 16384
#: Qwen3-VL's native context, in tokens (model card: 256K).
MAX_CONTEXT_TOKENS = 262_144


def check_pixel_order(min_pixels: float | None, max_pixels: float | None, where: str) -> None:
    """Refuse a ``min_pixels`` above ``max_pixels`` (when both are given).

    Args:
        min_pixels: The floor asked for, or ``None``.
        max_pixels: The ceiling asked for, or ``None``.
        where: What to name in the error.

    Raises:
        InputError: ``min_pixels`` is larger than ``max_pixels``.

    Example:
        >>> check_pixel_order(2048, 1024, "pixels")
        Traceback (most recent call last):
        ...
        helpers.common.errors.InputError: pixels: min_pixels (2048) is larger than max_pixels (1024); lower min_pixels or raise max_pixels.
    """
    if min_pixels is not None and max_pixels is not None and min_pixels > max_pixels:
        raise InputError(
            f"{where}: min_pixels ({min_pixels}) is larger than max_pixels ({max_pixels}); "
            "lower min_pixels or raise max_pixels."
        )


def _check_one_token(max_pixels: float | None, where: str) -> None:
    if max_pixels is not None and max_pixels < TOKEN_PIXELS:
        raise InputError(
            f"{where}: max_pixels ({max_pixels}) is below one visual token ({TOKEN_PIXELS} pixels, "
            f"32x32); raise it, e.g. max_pixels=64 * 32 * 32 for 64 tokens."
        )


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
    applies instead (in :func:`helpers.check_messages` and :func:`helpers.budget.estimate_visual_tokens`):
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
    _check_one_token(max_pixels, where)
    check_pixel_order(min_pixels, max_pixels, where)
    if min_pixels is None:
        return default if max_pixels is None else min(default, int(max_pixels))
    return min_pixels


def image_pixel_bounds(
    min_pixels: float | None, max_pixels: float | None, *, where: str = "image"
) -> tuple[float | None, float | None]:
    """An image's ``min_pixels``/``max_pixels`` made consistent with qwen-vl-utils' defaults.

    qwen-vl-utils fills the side not given with its default (4 to 16,384 tokens) and stops at a
    bare ``AssertionError`` when the two cross. As for video frames
    (:func:`video_frame_floor`), a ``max_pixels`` below the default floor lowers the floor; a
    ``min_pixels`` above the default ceiling is refused, since it asks for more tokens than the
    released checkpoints take by default.

    Args:
        min_pixels: The floor asked for, or ``None``.
        max_pixels: The ceiling asked for, or ``None``.
        where: What to name in an error, e.g. ``"messages[0]['content'][0]"``.

    Returns:
        ``(min_pixels, max_pixels)`` to pass on (``None`` where the default stands).

    Raises:
        InputError: ``min_pixels`` is larger than ``max_pixels`` (given or default), or
            ``max_pixels`` is below one visual token (32x32 pixels).

    Example:
        >>> image_pixel_bounds(None, 2048)  # below the default floor of 4 tokens: floor lowered
        (2048, 2048)
        >>> image_pixel_bounds(None, 256 * 32 * 32)
        (None, 262144)
    """
    _check_one_token(max_pixels, where)
    check_pixel_order(min_pixels, max_pixels, where)
    ceiling = IMAGE_MAX_TOKENS * TOKEN_PIXELS
    if min_pixels is not None and max_pixels is None and min_pixels > ceiling:
        raise InputError(
            f"{where}: min_pixels ({min_pixels}) is above the default max_pixels ({ceiling}, "
            f"{IMAGE_MAX_TOKENS} visual tokens); lower min_pixels or give max_pixels as well."
        )
    if (
        max_pixels is not None
        and min_pixels is None
        and max_pixels < IMAGE_MIN_TOKENS * TOKEN_PIXELS
    ):
        return max_pixels, max_pixels
    return min_pixels, max_pixels


def video_frame_size(
    size_wh: tuple[int, int],
    num_frames: int,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    total_pixels: float | None = None,
    patch_size: int = PATCH_SIZE,
    merge_size: int = MERGE_SIZE,
    where: str = "video",
) -> tuple[int, int]:
    """The size qwen-vl-utils resizes every frame of a ``num_frames``-frame video to.

    Its own arithmetic, defaults included: at least ``min_pixels`` (128 tokens) per frame, at most
    768 tokens per frame, and ``total_pixels`` shared by the frames (two frames make one temporal
    patch). The server path resizes frames with it before sending them.

    Args:
        size_wh: The video's frame size.
        num_frames: Frames sampled (an even number, as qwen-vl-utils samples).
        min_pixels: The item's floor per frame, if set (see :func:`helpers.common.sizes.video_frame_floor`).
        max_pixels: The item's ceiling per frame, if set.
        total_pixels: The item's budget for all frames together, if set.
        patch_size: Side of a vision patch in pixels.
        merge_size: Patches merged per token side.
        where: What to name in an error.

    Returns:
        ``(width, height)``, both multiples of ``patch_size * merge_size``.

    Raises:
        InputError: ``min_pixels`` is larger than ``max_pixels``.

    Example:
        >>> video_frame_size((320, 240), 16)  # enlarged to the 128-token floor
        (448, 320)
        >>> video_frame_size((1920, 1080), 64, total_pixels=8192 * 32 * 32)
        (672, 384)
    """
    from qwen_vl_utils import vision_process as vp

    factor = patch_size * merge_size
    width, height = size_wh
    low = video_frame_floor(
        min_pixels, max_pixels, default=vp.VIDEO_MIN_TOKEN_NUM * factor**2, where=where
    )
    total = total_pixels if total_pixels is not None else vp.MODEL_SEQ_LEN * factor**2 * 0.9
    cap = max(
        min(vp.VIDEO_MAX_TOKEN_NUM * factor**2, total / num_frames * vp.FRAME_FACTOR),
        int(low * 1.05),
    )
    high = min(max_pixels, cap) if max_pixels is not None else cap
    h, w = vp.smart_resize(height, width, factor=factor, min_pixels=low, max_pixels=high)
    return w, h
