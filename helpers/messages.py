"""Chat messages: one-turn conversations, and checking them before they reach the processor."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from .common.errors import InputError
from .common.files import check_file, fetch_url, write_atomic
from .common.paths import cache_dir
from .common.sizes import (
    IMAGE_MAX_TOKENS,
    MAX_CONTEXT_TOKENS,
    MERGE_SIZE,
    PATCH_SIZE,
    TEMPORAL_PATCH_SIZE,
    TOKEN_PIXELS,
    check_pixel_order,
    image_pixel_bounds,
    video_frame_floor,
)
from .common.text import is_url
from .images import load_image, to_image
from .video import probe_video

#: Side in pixels of the square one visual token covers (32).
TOKEN_SIDE = PATCH_SIZE * MERGE_SIZE
VISION_KEYS = ("image", "image_url", "video")
#: Chat roles the Qwen chat template knows.
ROLES = ("system", "user", "assistant", "tool")


def _where(m: int, i: int) -> str:
    return f"messages[{m}]['content'][{i}]"


def _from_url(text: str, kind: str, where: str) -> str | Image.Image:
    """A URL's image as a checked PIL image, or its video as a downloaded file's path."""
    if text.startswith("data:"):
        if kind != "image":
            return text
        header, _, payload = text.partition(",")
        try:
            data = base64.b64decode(payload, validate=True) if ";base64" in header else b""
        except ValueError as exc:
            raise InputError(f"{where}: the image data URL is not valid base64 ({exc}).") from None
    else:
        data = fetch_url(text, where=where)
    if kind == "image":
        return load_image(io.BytesIO(data), where=where, name=text[:80])
    suffix = Path(urlsplit(text).path).suffix[:8] or ".mp4"
    target = cache_dir() / "downloads" / f"{hashlib.sha256(data).hexdigest()}{suffix}"
    if not target.is_file():
        write_atomic(target, data)
    return _check_path(target, kind, where)


def _check_path(
    value: str | os.PathLike, kind: str, where: str, fetch_urls: bool = True
) -> str | Image.Image:
    text = os.fspath(value)
    if is_url(text):
        return _from_url(text, kind, where) if fetch_urls else text
    path = check_file(text, kind, where)
    if kind == "image":
        image = load_image(path, where=where)
        if image.info.get("converted"):
            return image  # rotated, transparent or 16-bit: pass the very pixels load_image shows
    return str(path)


#: The largest budgets taken: an image or frame up to 16384 tokens (qwen-vl-utils' own image
#: ceiling), a video up to Qwen3-VL's 256K-token context (two frames share a token).
_BUDGET_LIMITS = {
    "min_pixels": (
        IMAGE_MAX_TOKENS * TOKEN_PIXELS,
        "the default max_pixels, the most an image takes",
    ),
    "max_pixels": (
        IMAGE_MAX_TOKENS * TOKEN_PIXELS,
        "the default max_pixels, the most an image takes",
    ),
    "total_pixels": (
        MAX_CONTEXT_TOKENS * TOKEN_PIXELS * TEMPORAL_PATCH_SIZE,
        "what fits Qwen3-VL's 256K-token context",
    ),
}


def check_budget(item: dict[str, Any], where: str) -> None:
    """Pixel budgets must be positive numbers, ``min_pixels <= max_pixels``.

    Args:
        item: A content item (or a dict of ``min_pixels``/``max_pixels``/``total_pixels``).
        where: What to name in an error.

    Raises:
        InputError: A budget is not a positive number, is above what the model takes (16384 tokens
            per image or frame, 256K for a video), or ``min_pixels > max_pixels``.

    Example:
        >>> check_budget({"min_pixels": 4096, "max_pixels": 1024}, "pixels")
        Traceback (most recent call last):
        ...
        helpers.common.errors.InputError: pixels: min_pixels (4096) is larger than max_pixels (1024); lower min_pixels or raise max_pixels.
    """
    for key in ("min_pixels", "max_pixels", "total_pixels"):
        value = item.get(key)
        if value is None:
            continue
        if not _is_positive_number(value):
            raise InputError(
                f"{where}: {key} must be a positive number of pixels, got {value!r}; e.g. "
                f"{key}=256 * 32 * 32 (256 visual tokens), or leave it out."
            )
        limit, what = _BUDGET_LIMITS[key]
        if value > limit:
            raise InputError(
                f"{where}: {key} ({value}) is above {what} ({limit}, {limit // TOKEN_PIXELS} visual "
                f"tokens); lower {key} (the pixels are resized to before any other check)."
            )
    check_pixel_order(item.get("min_pixels"), item.get("max_pixels"), where)


def _check_image_fits(item: dict[str, Any], key: str, where: str) -> None:
    """A ``max_pixels`` so small that qwen-vl-utils would shrink a side of this image to nothing."""
    from qwen_vl_utils import smart_resize

    value = item[key]
    if isinstance(value, Image.Image):
        width, height = value.size
    elif isinstance(value, str) and not is_url(value):
        with Image.open(value) as image:  # the header only
            width, height = image.size
    else:
        return  # a URL the server fetches: its size is not known here

    def fits(max_pixels: float) -> bool:
        low = min(item.get("min_pixels") or max_pixels, max_pixels)
        h, w = smart_resize(height, width, factor=TOKEN_SIDE, min_pixels=low, max_pixels=max_pixels)
        return h > 0 and w > 0

    if fits(item["max_pixels"]):
        return
    tokens = -(-max(width, height) // min(width, height))  # a row of tokens along the long side
    while not fits(tokens * TOKEN_SIDE**2):
        tokens += 1
    raise InputError(
        f"{where}: a {width}x{height} image keeps no whole 32x32 token within max_pixels="
        f"{item['max_pixels']}; raise max_pixels to at least {tokens * TOKEN_SIDE**2} "
        f"({tokens} tokens) or crop the image."
    )


def _check_video_budget(item: dict[str, Any], where: str) -> None:
    """Check a video's budget and sampling settings; keep ``min_pixels <= max_pixels``.

    A ``max_pixels`` below the default floor lowers the floor
    (:func:`helpers.common.sizes.video_frame_floor`).
    """
    check_budget(item, where)
    if item.get("max_pixels") is not None:
        item["min_pixels"] = video_frame_floor(
            item.get("min_pixels"), item["max_pixels"], where=where
        )
    if "fps" in item and "nframes" in item:
        raise InputError(f"{where}: give either 'fps' or 'nframes' for a video, not both.")
    for key in ("fps", "sample_fps", "raw_fps"):  # a frame list's rates: a time is frames / rate
        rate = item.get(key)
        if rate is not None and not _is_positive_number(rate):
            raise InputError(
                f"{where}: {key} must be a positive number of frames per second, got {rate!r}."
            )
    for key in ("nframes", "max_frames", "min_frames"):
        value = item.get(key)
        if value is not None and (not _is_number(value) or int(value) != value or value < 2):
            raise InputError(
                f"{where}: {key} must be a whole number of at least 2 (the model takes frames in "
                f"pairs), got {value!r}."
            )
    low, high = item.get("min_frames"), item.get("max_frames")
    if low is not None and high is not None and low > high:
        raise InputError(f"{where}: min_frames ({low}) is larger than max_frames ({high}).")


def _check_one_frame_size(frames: list[Image.Image], where: str) -> None:
    """A video's frames share one size (qwen-vl-utils stacks them into one tensor)."""
    first = frames[0].size
    for index, frame in enumerate(frames):
        if frame.size != first:
            raise InputError(
                f"{where}['video'][{index}] is {frame.width}x{frame.height} but frame 0 is "
                f"{first[0]}x{first[1]}; a video's frames must share one size: resize them first "
                f"(e.g. frame.resize(({first[0]}, {first[1]})))."
            )


def _check_video_file(item: dict[str, Any], where: str) -> None:
    """The file opens as a video with enough frames for what the item asks (before any decoding)."""
    if isinstance(item["video"], str) and is_url(item["video"]):
        return  # a data URL, or a URL left for a server to fetch: sent as it is
    frames = probe_video(item["video"], where=where)  # damaged, sound-only, 1-frame files fail
    wanted = item.get("nframes")
    if wanted is not None and wanted > frames:
        raise InputError(
            f"{where}: nframes={wanted} but the video has only {frames} frames: ask for at most "
            f"{frames}, or give fps instead."
        )


def _is_positive_number(value: Any) -> bool:
    """A positive, finite number (not a bool, not NaN)."""
    return _is_number(value) and 0 < value < float("inf")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_item(item: Any, m: int, i: int, fetch_urls: bool = True) -> dict[str, Any]:
    where = _where(m, i)
    if not isinstance(item, dict):
        raise InputError(
            f"{where} is a {type(item).__name__}; each content item must be a dict such as "
            f"{{'type': 'text', 'text': '...'}} or {{'type': 'image', 'image': path}}."
        )
    item = dict(item)
    kind = item.get("type") or next((k for k in (*VISION_KEYS, "text") if k in item), None)
    if kind == "text":
        if not isinstance(item.get("text"), str):
            raise InputError(
                f"{where}: a text item needs a string under 'text', got {item.get('text')!r}."
            )
        return item
    if kind in ("image", "image_url"):
        return _check_image_item(item, where, fetch_urls)
    if kind == "video":
        return _check_video_item(item, where, fetch_urls)
    raise InputError(
        f"{where}: unsupported content item {sorted(item)!r} (type={item.get('type')!r}). "
        f"Use type 'text', 'image' (path, URL or PIL image) or 'video' (path or list of frames)."
    )


def _check_image_item(item: dict[str, Any], where: str, fetch_urls: bool) -> dict[str, Any]:
    """An image item: its budget made consistent, the image checked (paths, URLs, arrays)."""
    check_budget(item, where)
    if "min_pixels" in item or "max_pixels" in item:
        low, high = image_pixel_bounds(item.get("min_pixels"), item.get("max_pixels"), where=where)
        item.update({k: v for k, v in (("min_pixels", low), ("max_pixels", high)) if v is not None})
    key = "image" if "image" in item else "image_url"
    value = item.get(key)
    if isinstance(value, dict) and "url" in value:  # OpenAI style {'image_url': {'url': ...}}
        value = value["url"]
    if isinstance(value, (str, os.PathLike)):
        item[key] = _check_path(value, "image", where, fetch_urls)
    elif value is None:
        raise InputError(f"{where}: an image item needs the image under 'image'.")
    else:
        item[key] = to_image(value, where)
    if item.get("max_pixels") is not None:
        _check_image_fits(item, key, where)
    return item


def _check_video_item(item: dict[str, Any], where: str, fetch_urls: bool) -> dict[str, Any]:
    """A video item: its budget checked, the file opened or each frame checked."""
    _check_video_budget(item, where)
    value = item.get("video")
    if isinstance(value, (str, os.PathLike)):
        item["video"] = _check_path(value, "video", where, fetch_urls)
        _check_video_file(item, where)
    elif isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 4):
        if len(value) == 0:
            raise InputError(f"{where}: the video frame list is empty.")
        item["video"] = [to_image(frame, f"{where}['video'][{k}]") for k, frame in enumerate(value)]
        _check_one_frame_size(item["video"], where)
    else:
        raise InputError(
            f"{where}: a video item needs a file path or a list of frames under 'video', "
            f"got {type(value).__name__}."
        )
    return item


class CheckedConversation(list):
    """A conversation that :func:`check_messages` has validated; checking it again returns it as is.

    Attributes:
        urls_fetched: Whether its URLs were downloaded and checked here (``fetch_urls=True``).

    Example:
        >>> checked = check_messages([{"role": "user", "content": "Hi"}])
        >>> isinstance(checked, CheckedConversation), check_messages(checked) is checked
        (True, True)
    """

    urls_fetched: bool = True


def check_messages(messages: Any, *, fetch_urls: bool = True) -> list[dict[str, Any]]:
    """Validate one conversation before it reaches the processor (or a server).

    Every item is checked: text is a string; an image is a path, URL, PIL image or HxWx3 array (files
    are checked and decoded once, so a corrupt one fails here and not inside ``generate``); a video is
    a path or a list of frames with a consistent budget (see
    :func:`helpers.common.sizes.video_frame_floor`).

    Args:
        messages: Qwen chat messages: a list of ``{"role": ..., "content": ...}`` dicts (one dict is
            accepted), where ``content`` is a string or a list of items such as
            ``{"type": "image", "image": path}`` and ``{"type": "text", "text": ...}``.
        fetch_urls: Download ``http(s)://`` and ``data:`` images and videos here, within
            :data:`helpers.common.files.URL_TIMEOUT_S` and :data:`helpers.common.files.URL_MAX_BYTES`, and check
            what they hold. ``False`` leaves them as they are, for a server to fetch
            (:func:`helpers.chat` does so on a server connection).

    Returns:
        A copy (a :class:`CheckedConversation`) with string content as a text item, local paths as
        strings, arrays as PIL images and EXIF-rotated photos upright.

    Raises:
        InputError: Anything that cannot be used; the message names the item (e.g.
            ``messages[0]['content'][1]``) and the fix.
        MissingInputError: An image or video path that does not exist.

    Example:
        >>> import helpers
        >>> checked = check_messages(image_message(helpers.INPUT_DIR / "fruits.jpg", "Describe it."))
        >>> [item["type"] for item in checked[0]["content"]]
        ['image', 'text']
        >>> check_messages([{"role": "user", "content": [{"type": "image"}]}])
        Traceback (most recent call last):
        ...
        helpers.common.errors.InputError: messages[0]['content'][0]: an image item needs the image under 'image'.
    """
    if isinstance(messages, CheckedConversation) and (messages.urls_fetched or not fetch_urls):
        return messages  # already checked (its images already decoded once): no second pass
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InputError(
            f"messages must be a non-empty list of {{'role': ..., 'content': ...}} dicts, "
            f"got {type(messages).__name__}."
        )
    checked = CheckedConversation()
    checked.urls_fetched = fetch_urls
    for m, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise InputError(
                f"messages[{m}] must be a dict with 'role' and 'content', got {message!r:.80}."
            )
        if message["role"] not in ROLES:
            raise InputError(
                f"messages[{m}]['role'] is {message['role']!r:.40}; expected one of {list(ROLES)} "
                "(the question goes in a 'user' message)."
            )
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        elif not isinstance(content, (list, tuple)):
            raise InputError(
                f"messages[{m}]['content'] must be a string or a list of items, got {type(content).__name__}."
            )
        checked.append(
            {
                **message,
                "content": [_check_item(it, m, i, fetch_urls) for i, it in enumerate(content)],
            }
        )
    return checked


def one_turn(item: dict[str, Any], prompt: str) -> list[dict[str, Any]]:
    """A one-turn user conversation: one image or video ``item``, then the ``prompt`` text.

    Args:
        item: The content item, e.g. ``{"type": "image", "image": path}``.
        prompt: The question.

    Returns:
        The conversation, ready for :func:`helpers.chat`.

    Example:
        >>> one_turn({"type": "image", "image": "cat.jpg"}, "What is this?")
        [{'role': 'user', 'content': [{'type': 'image', 'image': 'cat.jpg'}, {'type': 'text', 'text': 'What is this?'}]}]
    """
    return [{"role": "user", "content": [item, {"type": "text", "text": prompt}]}]


def image_message(image: Any, prompt: str, **budget: Any) -> list[dict[str, Any]]:
    """A one-turn conversation: an image and a question about it.

    Args:
        image: A path, URL or PIL image.
        prompt: The question.
        **budget: Goes into the image item, e.g. ``max_pixels=512 * 32 * 32`` (fewer visual tokens)
            or ``min_pixels=...``.

    Returns:
        The conversation, ready for :func:`helpers.chat`.

    Example:
        >>> image_message("cat.jpg", "What is this?", max_pixels=256 * 32 * 32)[0]["content"][0]
        {'type': 'image', 'image': 'cat.jpg', 'max_pixels': 262144}
    """
    return one_turn({"type": "image", "image": image, **budget}, prompt)


def video_message(
    video: str | os.PathLike | list[Any],
    prompt: str,
    **budget: Any,
) -> list[dict[str, Any]]:
    """A one-turn conversation: a video and a question about it.

    Args:
        video: A video file, or a list of frames (PIL images or HxWx3 arrays).
        prompt: The question.
        **budget: Goes into the video item, as qwen-vl-utils reads it: ``fps`` or ``nframes``,
            ``max_frames``, ``min_pixels``, ``max_pixels``, ``total_pixels``; for a frame list,
            ``sample_fps`` (frames per second they were taken at) and ``raw_fps``.

    Returns:
        The conversation, ready for :func:`helpers.chat`.

    Example:
        >>> video_message("street.mp4", "What happens?", nframes=16)[0]["content"][0]
        {'type': 'video', 'video': 'street.mp4', 'nframes': 16}
    """
    value = os.fspath(video) if isinstance(video, (str, os.PathLike)) else list(video)
    return one_turn({"type": "video", "video": value, **budget}, prompt)
