"""Sampling video frames (torchcodec, decord or OpenCV) with a content-keyed, atomic cache."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from .common.errors import InputError
from .common.files import check_file, write_atomic
from .common.paths import cache_dir as default_cache_dir

#: Bump when the sampling recipe or the cache layout changes.
FRAME_CACHE_VERSION = 1
#: A frame decoder: torchcodec (the maintained one, which transformers uses and the model family's
#: README recommends), decord (unmaintained, and it can hang on some files) or OpenCV.
Backend = Literal["torchcodec", "decord", "opencv"]
#: Backends in the order they are tried: torchcodec first, then decord and OpenCV as fallbacks.
#: bench/frames.py measures each (docs/benchmarks.md).
BACKENDS: tuple[Backend, ...] = get_args(Backend)
_MODULES = {"decord": "decord", "torchcodec": "torchcodec", "opencv": "cv2"}
_HASH_CHUNK = 1 << 20

# A decoder takes (path, num_frames) and returns (frames uint8 NxHxWx3 RGB, timestamps in s).
Decoder = Callable[[str, int], tuple[np.ndarray, np.ndarray]]


def even_indices(total_frames: int, num_frames: int) -> np.ndarray:
    """``num_frames`` frame indices spread evenly over a video, first and last frame included.

    Args:
        total_frames: Frames in the video.
        num_frames: Indices wanted.

    Returns:
        The indices as an ``int64`` array, ascending.

    Example:
        >>> even_indices(100, 5).tolist()
        [0, 25, 50, 74, 99]
    """
    return np.linspace(0, total_frames - 1, num=num_frames).round().astype(np.int64)


def _clamp(num_frames: int, total: int, path: str) -> int:
    if total <= 0:
        raise InputError(f"video {path!r} has no frames: re-encode or replace the file.")
    if num_frames > total:
        warnings.warn(
            f"{path!r} has only {total} frames; returning all {total} instead of {num_frames}.",
            stacklevel=4,
        )
    return min(num_frames, total)


def _decode_decord(path: str, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    import decord

    reader = decord.VideoReader(path, ctx=decord.cpu(0))
    indices = even_indices(len(reader), _clamp(num_frames, len(reader), path))
    frames = reader.get_batch(indices.tolist()).asnumpy()
    timestamps = np.array(
        [reader.get_frame_timestamp(int(i))[0] for i in indices], dtype=np.float64
    )
    return frames, timestamps


def _decode_torchcodec(path: str, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(path, dimension_order="NHWC", seek_mode="exact")
    total = decoder.metadata.num_frames
    indices = even_indices(total, _clamp(num_frames, total, path))
    batch = decoder.get_frames_at(indices=indices.tolist())
    return batch.data.numpy(), batch.pts_seconds.numpy().astype(np.float64)


def _decode_opencv(path: str, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise RuntimeError("OpenCV could not open the file")
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        indices = even_indices(total, _clamp(num_frames, total, path))
        wanted, frames, position = set(indices.tolist()), {}, 0
        # Read sequentially: seeking is not frame-exact in OpenCV for many codecs.
        while position <= indices[-1]:
            ok, frame = capture.read()
            if not ok:
                break
            if position in wanted:
                frames[position] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            position += 1
    finally:
        capture.release()
    if len(frames) != len(wanted):
        raise RuntimeError(f"OpenCV read {len(frames)} of {len(wanted)} frames")
    stamps = indices / fps if fps > 0 else np.full(len(indices), np.nan)
    return np.stack([frames[i] for i in indices.tolist()]), stamps.astype(np.float64)


DECODERS: dict[Backend, Decoder] = {
    "torchcodec": _decode_torchcodec,
    "decord": _decode_decord,
    "opencv": _decode_opencv,
}


def available_backends() -> list[Backend]:
    """The frame decoders whose library is installed, in the order :func:`sample_frames` tries them.

    Returns:
        A subset of :data:`BACKENDS` (``"decord"``, ``"torchcodec"``, ``"opencv"``).

    Example:
        >>> set(available_backends()) <= set(BACKENDS)
        True
    """
    return [b for b in BACKENDS if importlib.util.find_spec(_MODULES[b]) is not None]


def _count_torchcodec(path: str) -> int:
    from torchcodec.decoders import VideoDecoder

    metadata = VideoDecoder(path, seek_mode="approximate").metadata
    return int(metadata.num_frames or 0)


def _count_decord(path: str) -> int:
    import decord

    return len(decord.VideoReader(path, ctx=decord.cpu(0)))


def _count_opencv(path: str) -> int:
    import cv2

    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise RuntimeError("OpenCV could not open the file")
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


_COUNTERS: dict[str, Callable[[str], int]] = {
    "torchcodec": _count_torchcodec,  # qwen-vl-utils' first choice
    "decord": _count_decord,
    "opencv": _count_opencv,
}
#: The model's video path needs at least this many frames (one temporal patch).
MIN_VIDEO_FRAMES = 2


def probe_video(path: str | os.PathLike, *, where: str = "") -> int:
    """Check that a file opens as a video with enough frames, before anything decodes it.

    The frame count is read from the container by the first installed reader (torchcodec,
    decord, OpenCV) that opens the file; no frame is decoded.

    Args:
        path: The video file.
        where: Where it was given, for the message.

    Returns:
        The frame count.

    Raises:
        MissingInputError: The file does not exist.
        InputError: No reader can open it (not a video, sound only, damaged) or it has fewer than
            :data:`MIN_VIDEO_FRAMES` frames; the fix is named.

    Example:
        >>> import helpers
        >>> probe_video(helpers.INPUT_DIR / "events.mp4") > 2
        True
    """
    place = f" ({where})" if where else ""
    text = str(check_file(path, "video", where))
    errors = []
    for name in [b for b in _COUNTERS if b in available_backends()]:
        try:
            frames = _COUNTERS[name](text)
        except Exception as exc:  # any reader error: try the next reader
            errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            continue
        if frames >= MIN_VIDEO_FRAMES:
            return frames
        raise InputError(
            f"video {text!r}{place} has {frames} frame{'s' * (frames != 1)}; the model needs at "
            f"least {MIN_VIDEO_FRAMES}. Pass a single picture as an image (helpers.image_message), "
            "or the frames as a list (helpers.video_message([frame, ...]))."
        )
    raise InputError(
        f"video {text!r}{place} cannot be opened as a video ({'; '.join(errors) or 'no video reader installed'}). "
        "It may be damaged, not a video, or sound only (no pictures): check the file, or re-encode "
        "it, e.g. `ffmpeg -i in.mov -c:v libx264 -pix_fmt yuv420p out.mp4`."
    )


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's content: the part of a cache key that notices a file changed in place.

    Args:
        path: The file.

    Returns:
        The hex digest.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as handle:
        ...     _ = handle.write(b"abc")
        >>> file_digest(handle.name)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cache_entry(digest: str, num_frames: int, backend: str, cache_dir: Path) -> Path:
    """The cache file for sampled frames.

    Args:
        digest: The video's content digest (:func:`file_digest`).
        num_frames: Frames asked for.
        backend: The decoder that produced them.
        cache_dir: The cache folder.

    Returns:
        ``cache_dir/<digest>-n<frames>-<backend>-v<version>.npz``.

    Example:
        >>> from pathlib import Path
        >>> cache_entry("ab12", 16, "opencv", Path("cache")).as_posix()
        'cache/ab12-n16-opencv-v1.npz'
    """
    return cache_dir / f"{digest}-n{num_frames}-{backend}-v{FRAME_CACHE_VERSION}.npz"


def _load_entry(entry: Path, num_frames: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached frames, or ``None`` (and the file removed) if the entry is missing or corrupt."""
    if entry.is_dir():
        raise InputError(
            f"frame cache entry {str(entry)!r} is a folder, not a file: remove it "
            f"(`rm -r '{entry}'`) or pass another cache_dir."
        )
    if not entry.exists():
        return None
    try:
        with np.load(entry, allow_pickle=False) as data:
            frames, timestamps = data["frames"], data["timestamps"]
        valid = (
            frames.dtype == np.uint8
            and frames.ndim == 4
            and frames.shape[-1] == 3
            and 0 < len(frames) <= num_frames
            and timestamps.shape == (len(frames),)
        )
        if valid:
            return frames, timestamps
        reason = f"unexpected contents {frames.dtype} {frames.shape}"
    except Exception as exc:  # a truncated or garbled file: any reader error means rebuild
        reason = f"{type(exc).__name__}: {exc}"
    warnings.warn(
        f"frame cache entry {entry.name} is corrupt ({reason}); rebuilding it.", stacklevel=3
    )
    with contextlib.suppress(OSError):  # a read-only cache: the entry is replaced if it can be
        entry.unlink(missing_ok=True)
    return None


def _save_entry(entry: Path, frames: np.ndarray, timestamps: np.ndarray) -> None:
    """Write atomically (temporary file, then rename): readers never see a half-written entry.

    A cache that cannot be written (read-only, full, not a folder) costs only the caching: the
    frames are still returned, with a warning.
    """
    try:
        write_atomic(entry, lambda handle: np.savez(handle, frames=frames, timestamps=timestamps))
    except (OSError, InputError) as exc:  # a full disk, a read-only or unusable folder
        warnings.warn(
            f"could not cache the frames in {str(entry.parent)!r} ({type(exc).__name__}: "
            f"{getattr(exc, 'strerror', None) or exc}); they are returned but will be decoded again next time. Pass "
            "a writable cache_dir (or set QWEN_VL_CACHE).",
            stacklevel=3,
        )


def _decode(
    path: str, num_frames: int, backends: list[Backend]
) -> tuple[np.ndarray, np.ndarray, Backend]:
    errors = []
    for name in backends:
        try:
            frames, timestamps = DECODERS[name](path, num_frames)
        except InputError:
            raise
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        return np.ascontiguousarray(frames, dtype=np.uint8), timestamps, name
    raise InputError(
        f"video {path!r} could not be decoded ({'; '.join(errors) or 'no backend installed'}). "
        "The file may be corrupt or use an unusual codec: re-encode it, e.g. "
        "`ffmpeg -i in.avi -c:v libx264 -pix_fmt yuv420p out.mp4`, or `pip install torchcodec`."
    )


def sample_frames(
    path: str | os.PathLike,
    num_frames: int,
    *,
    cache_dir: str | os.PathLike | None = None,
    backend: Backend | None = None,
    use_cache: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``num_frames`` frames spread evenly over the whole video, and their timestamps.

    Results are cached under ``cache_dir``, keyed by the file's content (a file changed in place is
    decoded again), written atomically; a corrupt cache entry is rebuilt with a warning.

    Args:
        path: The video file.
        num_frames: Frames wanted; a video with fewer returns all of them (with a warning).
        cache_dir: The cache folder; default: ``frames/`` under :func:`helpers.common.paths.cache_dir`.
        backend: ``"torchcodec"``, ``"decord"`` or ``"opencv"``; by default the first installed
            one that decodes the file.
        use_cache: Read and write the cache.

    Returns:
        ``(frames, timestamps)``: ``uint8`` RGB frames N x H x W x 3, and N times in seconds.

    Raises:
        MissingInputError: The file does not exist.
        InputError: The file is empty, a folder, has no frames, no backend can decode it (the
            message gives an ``ffmpeg`` command to re-encode it), or no backend is installed.
        ValueError: ``num_frames`` is not a positive integer, or ``backend`` is unknown.

    Example:
        >>> import helpers
        >>> frames, times = sample_frames(helpers.INPUT_DIR / "vtest.mp4", 4)
        >>> frames.shape, frames.dtype, times.round(1).tolist()
        ((4, 288, 384, 3), dtype('uint8'), [0.0, 26.5, 52.9, 79.4])
    """
    if not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}.")
    video = check_file(path, "video")
    if backend is not None and backend not in DECODERS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {list(DECODERS)}.")
    candidates = [backend] if backend else available_backends()
    if not candidates:
        raise InputError(
            "no video backend is installed: `pip install torchcodec` (or decord, opencv-python)."
        )
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "frames"
    if not use_cache:
        return _decode(str(video), int(num_frames), candidates)[:2]
    for _attempt in range(3):
        before = _identity(video)
        digest = file_digest(video)
        for name in candidates:
            entry = cache_entry(digest, int(num_frames), name, folder)
            if (hit := _load_entry(entry, int(num_frames))) is not None:
                return hit
        frames, timestamps, used = _decode(str(video), int(num_frames), candidates)
        if _identity(video) == before:  # the frames come from the content that was hashed
            _save_entry(cache_entry(digest, int(num_frames), used, folder), frames, timestamps)
            return frames, timestamps
    raise InputError(
        f"video {str(video)!r} kept changing while it was read (is it still being written or "
        "copied?): wait until it is complete, then try again."
    )


def _identity(path: Path) -> tuple[int, int, int, int]:
    """What changes when a file is replaced or rewritten: device, inode, size, modification time."""
    info = path.stat()
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


@dataclass(frozen=True)
class VideoInfo:
    """What a video's container says about it (see :func:`describe_video`).

    Attributes:
        frames: Frame count.
        fps: Frames per second.
        seconds: Duration, ``frames / fps``; NaN when the container gives no frame rate.
        size_wh: Frame size ``(width, height)`` in pixels.

    Example:
        >>> VideoInfo(frames=250, fps=25.0, seconds=10.0, size_wh=(640, 360)).size_wh
        (640, 360)
    """

    frames: int
    fps: float
    seconds: float  # frames / fps; NaN when the container gives no frame rate
    size_wh: tuple[int, int]


def describe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame count, frame rate, duration and size of a video, from its container (read with OpenCV).

    Args:
        path: The video file.

    Returns:
        The video's :class:`VideoInfo`.

    Raises:
        MissingInputError: The file does not exist.
        InputError: The file is empty, a folder, or cannot be opened (re-encode it as H.264 mp4).

    Example:
        >>> import helpers
        >>> info = describe_video(helpers.INPUT_DIR / "vtest.mp4")
        >>> info.frames, info.fps, info.size_wh
        (795, 10.0, (384, 288))
    """
    video = str(check_file(path, "video"))
    import cv2

    capture = cv2.VideoCapture(video)
    try:
        if not capture.isOpened():
            raise InputError(f"video {video!r} cannot be opened: re-encode it as H.264 mp4.")
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        size = (
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
    finally:
        capture.release()
    return VideoInfo(frames, fps, frames / fps if fps else float("nan"), size)
