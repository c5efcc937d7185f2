"""Image and video budgets applied on this machine, so a server with default settings honours them.

A vLLM server started with its default flags refuses per-request ``mm_processor_kwargs`` (HTTP
400), and applies its own frame sampling and sizes to what it receives: a video sent as it is
gets the server's choice of frames and pixels, whatever the item asked for. So the helpers do here
what the local path does: an image with a budget is resized with qwen-vl-utils' ``fetch_image``;
a video's frames are counted with qwen-vl-utils' ``smart_nframes``, read with
:func:`helpers.sample_frames` and resized with qwen-vl-utils' arithmetic
(:func:`helpers.common.sizes.video_frame_size`), then sent as a short Motion-JPEG video whose frame rate
puts every frame at its original time. The server keeps such frames and sizes as they are and
writes the same timestamps before them, so it sees the visual tokens the local path would.

Limits of a server with default settings (measured with vLLM 0.32.0, Qwen3-VL's processors), and
what happens here:

- it keeps at most :data:`SERVER_MAX_FPS` frames per second of video: a video sampled more densely
  is sent with fewer frames (evenly chosen, times kept) and a warning;
- it enlarges images below :data:`SERVER_IMAGE_MIN_PIXELS`: a warning says so.

A server started with ``--trust-request-mm-kwargs`` takes both as they are: tell the helpers with
``QWEN_VL_TRUST_MM_KWARGS=1`` (or ``connect(..., trust_mm_kwargs=True)``), and they send the
request settings that keep them (:func:`trusted_request_kwargs`).
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..common.files import fetch_url
from ..common.sizes import PATCH_SIZE, video_frame_size
from ..common.text import is_url, strip_file_scheme
from ..images import load_image
from ..video import describe_video, even_indices, sample_frames

#: Frames per second a default server keeps at most (the Qwen3-VL video processor's ``fps``).
SERVER_MAX_FPS = 2.0
#: Frames per second vLLM's Qwen3-VL video loader takes at most, even when asked for more.
TRUSTED_MAX_FPS = 30.0
#: The released checkpoints' image lower bound (``shortest_edge``): 64 visual tokens.
SERVER_IMAGE_MIN_PIXELS = 64 * 32 * 32
#: The released checkpoints' video upper bound, over frames x height x width (``longest_edge``).
SERVER_VIDEO_MAX_PIXELS = 25_165_824
#: Item keys that set a budget.
IMAGE_BUDGET_KEYS = ("min_pixels", "max_pixels")
VIDEO_BUDGET_KEYS = (
    "fps",
    "nframes",
    "min_frames",
    "max_frames",
    "min_pixels",
    "max_pixels",
    "total_pixels",
)
#: JPEG quality of the frames sent.
JPEG_QUALITY = 95


@dataclass(frozen=True)
class PreparedImage:
    """An image as it will be sent: a URL (data URL or the user's http(s) URL) and its size."""

    url: str
    size_wh: tuple[int, int] | None  # None for an http(s) URL the server fetches itself


@dataclass(frozen=True)
class PreparedVideo:
    """A video as it will be sent: frames chosen and resized here, as a Motion-JPEG data URL."""

    url: str
    frames: int  # frames sent
    size_wh: tuple[int, int]  # frame size sent
    fps: float  # the container's frame rate: frame k is shown at k / fps seconds
    timestamps: tuple[float, ...]  # the original time of each frame sent, in seconds


def png_data_url(image: Image.Image) -> str:
    """A PIL image as a lossless PNG data URL."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def file_data_url(path: str | os.PathLike, mime: str) -> str:
    """A file's bytes, unchanged, as a data URL."""
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def prepare_image(item: dict[str, Any], *, patch_size: int = PATCH_SIZE) -> PreparedImage:
    """The image of a checked image item, resized to its budget here if it has one.

    Without ``min_pixels``/``max_pixels`` the original file travels unchanged (the server resizes
    it with the same arithmetic); with them, qwen-vl-utils' ``fetch_image`` resizes it (an http(s)
    URL is downloaded first, within :data:`helpers.common.files.URL_TIMEOUT_S`) and a PNG travels.

    Args:
        item: a content item from :func:`helpers.check_messages` (``image`` or ``image_url``).
        patch_size: the vision encoder's patch size (16 for Qwen3-VL).

    Returns:
        A :class:`PreparedImage`.
    """
    import mimetypes

    value = item.get("image", item.get("image_url"))
    if any(key in item for key in IMAGE_BUDGET_KEYS):
        if isinstance(value, str) and is_url(value) and not value.startswith("data:"):
            # within a deadline and a size limit: qwen-vl-utils' own download has neither
            value = load_image(io.BytesIO(fetch_url(value)), name=value[:80])
        from qwen_vl_utils import fetch_image

        resized = fetch_image({**item, "image": value}, image_patch_size=patch_size)
        return PreparedImage(png_data_url(resized), resized.size)
    if isinstance(value, Image.Image):
        return PreparedImage(png_data_url(value.convert("RGB")), value.size)
    text = str(value)
    if is_url(text):
        return PreparedImage(text, None)
    path = Path(strip_file_scheme(text))
    with Image.open(path) as image:  # reads the header only
        size = image.size
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return PreparedImage(file_data_url(path, mime), size)


def _frames_from_file(path: str, item: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Frames and their times, as qwen-vl-utils would choose them, read by :func:`sample_frames`."""
    from qwen_vl_utils import vision_process as vp

    info = describe_video(path)
    fps = info.fps if info.fps and info.fps > 0 else vp.FPS
    count = vp.smart_nframes(item, total_frames=info.frames, video_fps=fps)
    frames, timestamps = sample_frames(path, count)
    if not np.all(np.isfinite(timestamps)):  # a container without a frame rate
        timestamps = np.arange(len(frames)) / vp.FPS
    return frames, timestamps


def _frames_from_list(item: dict[str, Any], patch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A frame list resized by qwen-vl-utils' ``fetch_video``, at its ``sample_fps``/``raw_fps``."""
    import torch
    from qwen_vl_utils import fetch_video

    video, metadata = fetch_video(item, image_patch_size=patch_size, return_video_metadata=True)
    frames = video.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
    timestamps = np.asarray(metadata["frames_indices"], dtype=np.float64) / float(metadata["fps"])
    return frames, timestamps


def _resize(frames: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    if frames.shape[2] == size_wh[0] and frames.shape[1] == size_wh[1]:
        return frames
    return np.stack(
        [np.asarray(Image.fromarray(f).resize(size_wh, Image.Resampling.BICUBIC)) for f in frames]
    )


def _fit_rate(
    frames: np.ndarray, timestamps: np.ndarray, max_fps: float | None, where: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Drop frames (evenly) until they span their time at no more than ``max_fps``."""
    span = float(timestamps[-1] - timestamps[0]) if len(timestamps) > 1 else 0.0
    if span <= 0:
        return frames, timestamps, max_fps or SERVER_MAX_FPS
    rate = (len(frames) - 1) / span
    if max_fps is None or rate <= max_fps:
        return frames, timestamps, rate

    keep = max(2, int(max_fps * span + 1) // 2 * 2)
    chosen = even_indices(len(frames), keep)
    if max_fps <= SERVER_MAX_FPS:
        why = (
            "a server with default settings keeps no more. To send all, start it with "
            "--trust-request-mm-kwargs and set QWEN_VL_TRUST_MM_KWARGS=1, or lower fps/nframes."
        )
    else:
        why = "vLLM's Qwen3-VL video loader reads no more. Lower fps or nframes."
    warnings.warn(
        f"{where}: sending {keep} of {len(frames)} frames ({max_fps:g} per second of video): {why}",
        stacklevel=4,
    )
    frames, timestamps = frames[chosen], timestamps[chosen]
    return frames, timestamps, (keep - 1) / span


def video_data_url(frames: np.ndarray, fps: float) -> str:
    """uint8 RGB frames (N×H×W×3) as a Motion-JPEG AVI data URL at ``fps`` frames per second.

    Motion-JPEG needs no codec library (OpenCV writes it itself) and every frame decodes on its
    own, so a server reads exactly these frames back.
    """
    import cv2

    height, width = frames.shape[1:3]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "frames.avi")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), float(fps), (width, height))
        try:
            if not writer.isOpened():
                raise RuntimeError("OpenCV cannot write Motion-JPEG AVI files here")
            writer.set(cv2.VIDEOWRITER_PROP_QUALITY, JPEG_QUALITY)
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
        return file_data_url(path, "video/x-msvideo")


def prepare_video(
    item: dict[str, Any],
    *,
    patch_size: int = PATCH_SIZE,
    max_fps: float | None = SERVER_MAX_FPS,
    where: str = "video",
) -> PreparedVideo:
    """The frames of a checked video item chosen and resized here, as the local path would.

    Args:
        item: a content item from :func:`helpers.check_messages` (a file path or a frame list,
            with its budget keys).
        patch_size: the vision encoder's patch size (16 for Qwen3-VL).
        max_fps: frames per second of video the server keeps (:data:`SERVER_MAX_FPS` with
            default settings); denser frames are thinned, with a warning.
        where: how to name the item in warnings.

    Returns:
        A :class:`PreparedVideo`.

    Example:
        >>> import helpers
        >>> item = {"video": str(helpers.INPUT_DIR / "events.mp4"), "fps": 1.0, "max_frames": 8}
        >>> video = prepare_video(item)
        >>> video.frames, video.size_wh, round(video.fps, 3)
        (8, (448, 320), 0.886)
    """

    value = item["video"]
    if isinstance(value, list):
        frames, timestamps = _frames_from_list(item, patch_size)
    else:
        frames, timestamps = _frames_from_file(str(value), item)
        height, width = frames.shape[1:3]
        size = video_frame_size(
            (width, height),
            len(frames),
            min_pixels=item.get("min_pixels"),
            max_pixels=item.get("max_pixels"),
            total_pixels=item.get("total_pixels"),
            patch_size=patch_size,
        )
        frames = _resize(frames, size)
    limit = None if max_fps is None else min(max_fps, TRUSTED_MAX_FPS)
    frames, timestamps, fps = _fit_rate(frames, timestamps, limit, where)
    count, height, width = frames.shape[:3]
    if count * height * width > SERVER_VIDEO_MAX_PIXELS:
        warnings.warn(
            f"{where}: {count} frames of {width}x{height} exceed the {SERVER_VIDEO_MAX_PIXELS:,} "
            "pixels a server keeps per video (released Qwen3-VL checkpoints): it will shrink the "
            "frames. Lower fps, max_frames or total_pixels to keep the count exact.",
            stacklevel=3,
        )
    return PreparedVideo(
        video_data_url(frames, fps),
        count,
        (width, height),
        fps,
        tuple(float(t) for t in timestamps),
    )


def trusted_request_kwargs(
    images: list[PreparedImage], videos: list[PreparedVideo]
) -> dict[str, Any]:
    """Request settings that make a trusting server keep what was prepared here exactly.

    For videos: read every frame sent (``media_io_kwargs.video.fps``) and sample none again
    (``do_sample_frames``); for images below :data:`SERVER_IMAGE_MIN_PIXELS`: lower the image
    floor for this request. Only for a server started with ``--trust-request-mm-kwargs``; a
    default server answers HTTP 400 to either.
    """
    extra: dict[str, Any] = {}
    if videos:
        extra["media_io_kwargs"] = {"video": {"fps": TRUSTED_MAX_FPS}}
        extra["mm_processor_kwargs"] = {"do_sample_frames": False}
    small = [
        w * h
        for w, h in (i.size_wh for i in images if i.size_wh)
        if w * h < SERVER_IMAGE_MIN_PIXELS
    ]
    if small:
        extra.setdefault("mm_processor_kwargs", {})["images_kwargs"] = {"min_pixels": min(small)}
    return extra


def warn_small_images(images: list[PreparedImage]) -> None:
    """Warn when a server with default settings will enlarge an image (more tokens than counted)."""
    if any(i.size_wh and i.size_wh[0] * i.size_wh[1] < SERVER_IMAGE_MIN_PIXELS for i in images):
        warnings.warn(
            f"an image is smaller than {SERVER_IMAGE_MIN_PIXELS:,} pixels (64 visual tokens): a "
            "server with default settings enlarges it to that size, so it costs more tokens than "
            "count_visual_tokens says. Start the server with --trust-request-mm-kwargs and set "
            "QWEN_VL_TRUST_MM_KWARGS=1 to keep it small.",
            stacklevel=4,
        )
