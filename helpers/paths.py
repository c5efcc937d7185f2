"""Project folders, resolved from the package location (never from the working directory)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parent.parent
INPUT_DIR: Path = REPO_ROOT / "input"
OUTPUT_DIR: Path = REPO_ROOT / "outputs"


def cache_dir() -> Path:
    """Folder for caches (tiny checkpoint, video frames): ``QWEN_VL_CACHE`` or ``~/.cache/qwen3-vl-cookbook``."""
    env = os.environ.get("QWEN_VL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "qwen3-vl-cookbook"


def output_path(*parts: str) -> Path:
    """A path under ``outputs/``, its parent folder created."""
    path = OUTPUT_DIR.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
