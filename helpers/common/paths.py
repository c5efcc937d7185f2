"""Project folders, resolved from the package location (never from the working directory)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[2]  # helpers/common/paths.py -> the repository
INPUT_DIR: Path = REPO_ROOT / "input"
OUTPUT_DIR: Path = REPO_ROOT / "outputs"


def cache_dir() -> Path:
    """The folder for caches (the tiny checkpoint, video frames).

    Returns:
        ``$QWEN_VL_CACHE`` if set, else ``~/.cache/qwen3-vl-cookbook`` (not created here).

    Example:
        >>> import os
        >>> os.environ["QWEN_VL_CACHE"] = "/tmp/qwen-cache"
        >>> str(cache_dir())
        '/tmp/qwen-cache'
        >>> del os.environ["QWEN_VL_CACHE"]
        >>> cache_dir().name
        'qwen3-vl-cookbook'
    """
    env = os.environ.get("QWEN_VL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "qwen3-vl-cookbook"


def output_path(*parts: str) -> Path:
    """A path under the repository's ``outputs/`` folder, its parent folder created.

    Args:
        *parts: Path parts below ``outputs/``, e.g. ``("detection", "boxes.png")``.

    Returns:
        The path (the file itself is not created).

    Example:
        >>> path = output_path("examples", "boxes.png")
        >>> path.relative_to(OUTPUT_DIR).as_posix(), path.parent.is_dir()
        ('examples/boxes.png', True)
    """
    path = OUTPUT_DIR.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
