"""Chat messages: one-turn conversations, and checking them before they reach the processor."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError
from .errors import MissingInputError as MissingInputError  # re-exported for older imports
from .files import check_file
from .sizes import video_frame_floor
from .text import is_url

VISION_KEYS = ("image", "image_url", "video")


def _where(m: int, i: int) -> str:
    return f"messages[{m}]['content'][{i}]"


def _check_path(value: str | os.PathLike, kind: str, where: str) -> str | Image.Image:
    text = os.fspath(value)
    if is_url(text):
        return text
    path = check_file(text, kind, where)
    if kind == "image":
        image = load_image(path, where=where)
        if image.info.get("exif_rotated"):
            return image  # a phone photo stored sideways: pass the upright pixels
    return str(path)


def load_image(path: str | os.PathLike, *, where: str = "") -> Image.Image:
    """An image file as an upright RGB PIL image, fully decoded.

    EXIF orientation is applied, so a phone photo stored sideways comes out upright; the
    ``exif_rotated`` entry of ``image.info`` says when that happened.

    Args:
        path: The image file (a ``file://`` prefix and ``~`` are accepted).
        where: Where it was given, for error messages.

    Returns:
        The image, mode ``RGB``.

    Raises:
        MissingInputError: The file does not exist.
        InputError: The file is empty, a folder, not an image, or truncated.

    Example:
        >>> import helpers
        >>> image = load_image(helpers.INPUT_DIR / "fruits.jpg")
        >>> image.mode, image.size
        ('RGB', (512, 480))
    """
    text = os.fspath(path)
    place = f" ({where})" if where else ""
    file = check_file(path, "image", where)
    try:
        with Image.open(file) as img:
            img.load()  # decodes fully: catches truncated files that a header check passes
            rotated = img.getexif().get(0x0112, 1) != 1  # EXIF orientation tag
            image = (ImageOps.exif_transpose(img) if rotated else img).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            f"image {text!r}{place} cannot be read as an image ({exc}). The file is corrupt "
            f"or not an image: re-download it or re-save it as PNG or JPEG."
        ) from exc
    if rotated:
        image.info["exif_rotated"] = True
    return image


def _as_pil(value: Any, where: str) -> Image.Image:
    if isinstance(value, Image.Image):
        return value
    array = np.asarray(value)
    if array.ndim == 3 and array.shape[-1] in (3, 4) and array.dtype == np.uint8:
        return Image.fromarray(array)
    raise InputError(
        f"{where}: expected a PIL image or an HxWx3 uint8 array, got {type(value).__name__} "
        f"with shape {getattr(array, 'shape', None)}."
    )


def _check_video_budget(item: dict[str, Any], where: str) -> None:
    """Keep ``min_pixels <= max_pixels`` (see :func:`helpers.sizes.video_frame_floor`)."""
    if item.get("max_pixels") is not None:
        item["min_pixels"] = video_frame_floor(
            item.get("min_pixels"), item["max_pixels"], where=where
        )
    if "fps" in item and "nframes" in item:
        raise InputError(f"{where}: give either 'fps' or 'nframes' for a video, not both.")


def _check_item(item: Any, m: int, i: int) -> dict[str, Any]:
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
        key = "image" if "image" in item else "image_url"
        value = item.get(key)
        if isinstance(value, dict) and "url" in value:  # OpenAI style {'image_url': {'url': ...}}
            value = value["url"]
        if isinstance(value, (str, os.PathLike)):
            item[key] = _check_path(value, "image", where)
        elif value is None:
            raise InputError(f"{where}: an image item needs the image under 'image'.")
        else:
            item[key] = _as_pil(value, where)
        return item
    if kind == "video":
        _check_video_budget(item, where)
        value = item.get("video")
        if isinstance(value, (str, os.PathLike)):
            item["video"] = _check_path(value, "video", where)
        elif isinstance(value, (list, tuple)) or (
            isinstance(value, np.ndarray) and value.ndim == 4
        ):
            if len(value) == 0:
                raise InputError(f"{where}: the video frame list is empty.")
            item["video"] = [
                _as_pil(frame, f"{where}['video'][{k}]") for k, frame in enumerate(value)
            ]
        else:
            raise InputError(
                f"{where}: a video item needs a file path or a list of frames under 'video', "
                f"got {type(value).__name__}."
            )
        return item
    raise InputError(
        f"{where}: unsupported content item {sorted(item)!r} (type={item.get('type')!r}). "
        f"Use type 'text', 'image' (path, URL or PIL image) or 'video' (path or list of frames)."
    )


class CheckedConversation(list):
    """A conversation that :func:`check_messages` has validated; checking it again returns it as is.

    Example:
        >>> checked = check_messages([{"role": "user", "content": "Hi"}])
        >>> isinstance(checked, CheckedConversation), check_messages(checked) is checked
        (True, True)
    """


def check_messages(messages: Any) -> list[dict[str, Any]]:
    """Validate one conversation before it reaches the processor (or a server).

    Every item is checked: text is a string; an image is a path, URL, PIL image or HxWx3 array (files
    are checked and decoded once, so a corrupt one fails here and not inside ``generate``); a video is
    a path or a list of frames with a consistent budget (see
    :func:`helpers.sizes.video_frame_floor`).

    Args:
        messages: Qwen chat messages: a list of ``{"role": ..., "content": ...}`` dicts (one dict is
            accepted), where ``content`` is a string or a list of items such as
            ``{"type": "image", "image": path}`` and ``{"type": "text", "text": ...}``.

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
        helpers.errors.InputError: messages[0]['content'][0]: an image item needs the image under 'image'.
    """
    if isinstance(messages, CheckedConversation):
        return messages  # already checked (its images already decoded once): no second pass
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InputError(
            f"messages must be a non-empty list of {{'role': ..., 'content': ...}} dicts, "
            f"got {type(messages).__name__}."
        )
    checked = CheckedConversation()
    for m, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise InputError(
                f"messages[{m}] must be a dict with 'role' and 'content', got {message!r:.80}."
            )
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        elif not isinstance(content, (list, tuple)):
            raise InputError(
                f"messages[{m}]['content'] must be a string or a list of items, got {type(content).__name__}."
            )
        checked.append(
            {**message, "content": [_check_item(it, m, i) for i, it in enumerate(content)]}
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
