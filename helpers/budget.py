"""How many visual tokens an image or video makes under a pixel budget."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .chat import prepare_inputs
from .common.sizes import (
    MERGE_SIZE,
    PATCH_SIZE,
    TEMPORAL_PATCH_SIZE,
    image_pixel_bounds,
    video_frame_size,
)
from .messages import check_messages
from .serving import is_remote


@dataclass(frozen=True)
class VisualTokens:
    """Visual tokens of one image or video, as the processor really makes them.

    Attributes:
        kind: ``"image"`` or ``"video"``.
        index: Its order among the items of that kind in the conversation.
        grid_thw: Patches along time, height and width.
        resized_wh: The frame size fed to the vision encoder ``(width, height)``.
        tokens: Tokens the language model sees (patches / merge size squared).

    Example:
        >>> VisualTokens("image", 0, (1, 30, 32), (512, 480), 240).tokens
        240
    """

    kind: Literal["image", "video"]
    index: int  # order of this kind in the conversation
    grid_thw: tuple[int, int, int]  # patches along time, height, width
    resized_wh: tuple[int, int]  # frame size fed to the vision encoder
    tokens: int  # tokens the language model sees (patches / merge_size**2)


def count_visual_tokens(processor: Any, messages: list[dict[str, Any]]) -> list[VisualTokens]:
    """Visual tokens per image and video of ``messages``, from the processor's own output.

    Budgets set on the items (``min_pixels``, ``max_pixels``, ``total_pixels``, ``fps``,
    ``nframes``, ``max_frames``) are honoured, so this sizes inputs before a GPU runs out of memory.
    With a server connection the sizes come from qwen-vl-utils' resize arithmetic, which the
    server's processor also follows.

    Args:
        processor: From :func:`helpers.load_model` (local or a server connection).
        messages: One conversation, as for :func:`helpers.chat`.

    Returns:
        One :class:`VisualTokens` per image, then per video.

    Raises:
        InputError: The messages cannot be used.

    Example:
        >>> import helpers
        >>> _, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> photo = helpers.INPUT_DIR / "fruits.jpg"  # 512 x 480 pixels
        >>> [count] = count_visual_tokens(processor, helpers.image_message(photo, "Describe it."))
        >>> count.kind, count.resized_wh, count.tokens
        ('image', (512, 480), 240)
    """
    if is_remote(processor):  # no local processor: the sizes qwen-vl-utils resizes to
        return _count_from_resized(processor, check_messages(messages))
    inputs = prepare_inputs(processor, [check_messages(messages)])
    merge = int(getattr(processor.image_processor, "merge_size", MERGE_SIZE))
    patch = int(getattr(processor.image_processor, "patch_size", PATCH_SIZE))
    result = []
    for kind in ("image", "video"):
        grids = inputs.get(f"{kind}_grid_thw")
        for index, (t, h, w) in enumerate(grids.tolist() if grids is not None else []):
            result.append(
                VisualTokens(kind, index, (t, h, w), (w * patch, h * patch), t * h * w // merge**2)
            )
    return result


_TIMESTAMP = re.compile(r"<(\d+(?:\.\d+)?) seconds>")


def video_timestamps(processor: Any, messages: list[dict[str, Any]]) -> list[str]:
    """The time markers the processor writes into the prompt, one per group of frames.

    Qwen3-VL does not see a frame's time in its pixels: the processor writes ``<2.3 seconds>``
    before each temporal patch (two frames merged into one group of visual tokens), and the model
    reads those markers. This returns them, in order, as they appear in the prompt. With a server
    connection (no local processor) they are computed the same way from the sampled frames.

    Args:
        processor: the model's processor (from :func:`helpers.load_model`).
        messages: a conversation holding a video (e.g. from :func:`helpers.video_message`).

    Returns:
        The markers, e.g. ``["<0.3 seconds>", "<0.8 seconds>", ...]``.

    Example:
        >>> video_timestamps(processor, video_message("clip.mp4", "x", fps=2.0))  # doctest: +SKIP
        ['<0.3 seconds>', '<1.3 seconds>', ...]
    """
    if is_remote(processor):  # a server: the same arithmetic, done here
        return _timestamps_from_metadata(processor, check_messages(messages))
    inputs = prepare_inputs(processor, [check_messages(messages)])
    prompt = processor.tokenizer.decode(inputs["input_ids"][0], skip_special_tokens=False)
    return [match.group(0) for match in _TIMESTAMP.finditer(prompt)]


def _timestamps_from_metadata(processor: Any, conversation: list[dict[str, Any]]) -> list[str]:
    """The markers the server's processor writes, from qwen-vl-utils' sampled frame indices.

    Mirrors transformers' Qwen3-VL processor: a frame's time is its index / fps, and each
    temporal patch is marked with the mean time of its first and last frame.
    """
    from qwen_vl_utils import process_vision_info

    _images, videos, _kwargs = process_vision_info(
        [conversation],
        return_video_kwargs=True,
        return_video_metadata=True,
        image_patch_size=processor.patch_size,
    )
    group = processor.temporal_patch_size
    markers = []
    for _video, metadata in videos or []:
        indices = [int(i) for i in metadata["frames_indices"]]
        indices += [indices[-1]] * (-len(indices) % group)
        times = [index / metadata["fps"] for index in indices]
        markers += [
            f"<{(times[i] + times[i + group - 1]) / 2:.1f} seconds>"
            for i in range(0, len(times), group)
        ]
    return markers


def _count_from_resized(processor: Any, conversation: list[dict[str, Any]]) -> list[VisualTokens]:
    """Visual tokens from the sizes qwen-vl-utils resizes to (what the server's processor also does)."""
    from qwen_vl_utils import process_vision_info

    patch, merge, temporal = (
        processor.patch_size,
        processor.merge_size,
        processor.temporal_patch_size,
    )
    images, videos, _ = process_vision_info(
        [conversation], return_video_kwargs=True, return_video_metadata=True, image_patch_size=patch
    )
    result = []
    for index, image in enumerate(images or []):
        width, height = image.size
        grid = (1, height // patch, width // patch)
        result.append(
            VisualTokens("image", index, grid, (width, height), grid[1] * grid[2] // merge**2)
        )
    for index, (video, _meta) in enumerate(videos or []):
        frames, _, height, width = video.shape
        grid = (frames // temporal, height // patch, width // patch)
        result.append(
            VisualTokens(
                "video", index, grid, (width, height), grid[0] * grid[1] * grid[2] // merge**2
            )
        )
    return result


def estimate_visual_tokens(
    size_wh: tuple[int, int],
    *,
    num_frames: int = 1,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    total_pixels: int | None = None,
    patch_size: int = PATCH_SIZE,
    merge_size: int = MERGE_SIZE,
    temporal_patch_size: int = TEMPORAL_PATCH_SIZE,
) -> int:
    """Visual tokens for an image or video of a given size, without reading any pixels.

    It follows qwen-vl-utils' resize arithmetic, its defaults included, and the package's video
    frame floor (:func:`helpers.common.sizes.video_frame_floor`). Use it to size inputs before they reach
    the GPU; :func:`count_visual_tokens` gives the exact count for real messages.

    Args:
        size_wh: The image's or frames' size ``(width, height)`` in pixels.
        num_frames: 1 for an image, else the frames sampled from a video.
        min_pixels: The per-image (per-frame) floor, as in a message item.
        max_pixels: The per-image (per-frame) ceiling.
        total_pixels: A video's budget shared by all its frames.
        patch_size: Pixels per patch side (16 for Qwen3-VL).
        merge_size: Patches merged per token side.
        temporal_patch_size: Frames merged per temporal patch.

    Returns:
        The number of visual tokens.

    Raises:
        InputError: A video's ``min_pixels`` is larger than its ``max_pixels``.

    Example:
        >>> estimate_visual_tokens((512, 480))
        240
        >>> estimate_visual_tokens((1920, 1080), max_pixels=256 * 32 * 32)  # at most 256 tokens
        252
        >>> estimate_visual_tokens((384, 288), num_frames=16, max_pixels=64 * 32 * 32)
        432
    """
    from qwen_vl_utils import vision_process as vp

    factor = patch_size * merge_size
    width, height = size_wh
    if num_frames <= 1:
        min_pixels, max_pixels = image_pixel_bounds(min_pixels, max_pixels)
        low = min_pixels if min_pixels is not None else vp.IMAGE_MIN_TOKEN_NUM * factor**2
        high = max_pixels if max_pixels is not None else vp.IMAGE_MAX_TOKEN_NUM * factor**2
        h, w = vp.smart_resize(height, width, factor=factor, min_pixels=low, max_pixels=high)
        return (h // patch_size) * (w // patch_size) // merge_size**2
    frames = vp.ceil_by_factor(num_frames, temporal_patch_size)
    w, h = video_frame_size(
        size_wh,
        frames,
        min_pixels=min_pixels,
        max_pixels=max_pixels,
        total_pixels=total_pixels,
        patch_size=patch_size,
        merge_size=merge_size,
        where="estimate_visual_tokens",
    )
    return (frames // temporal_patch_size) * (h // patch_size) * (w // patch_size) // merge_size**2
