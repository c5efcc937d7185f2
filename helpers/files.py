"""Files: checking an input path before it is read, and writing so that no reader sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .errors import InputError, MissingInputError
from .text import strip_file_scheme


def check_file(path: str | os.PathLike, kind: str, where: str = "") -> Path:
    """Check that ``path`` names a non-empty file before anything reads it.

    Args:
        path: The file (a ``file://`` prefix and ``~`` are accepted).
        kind: What the file should be, for the message (``"image"``, ``"video"``).
        where: Where it was given, for the message (e.g. ``"messages[0]['content'][1]"``).

    Returns:
        The file as a ``Path``.

    Raises:
        MissingInputError: Nothing exists at ``path``.
        InputError: ``path`` is a folder (an example file inside it is named) or an empty file.

    Example:
        >>> import helpers
        >>> check_file(helpers.INPUT_DIR / "fruits.jpg", "image").name
        'fruits.jpg'
        >>> check_file(helpers.INPUT_DIR, "image")
        Traceback (most recent call last):
        ...
        helpers.errors.InputError: image path ... is a folder, not a file: pass one file inside it (e.g. ...).
    """
    text = os.fspath(path)
    place = f" ({where})" if where else ""
    file = Path(strip_file_scheme(text)).expanduser()
    if not file.exists():
        raise MissingInputError(
            f"{kind} not found: {text!r}{place}. Check the path; relative paths are resolved "
            f"from the current folder ({Path.cwd()}), so prefer absolute ones such as "
            f"helpers.INPUT_DIR / 'name'."
        )
    if file.is_dir():
        example = next((str(p) for p in sorted(file.iterdir()) if p.is_file()), "folder/file")
        raise InputError(
            f"{kind} path {text!r}{place} is a folder, not a file: pass one file inside it (e.g. {example!r})."
        )
    if file.stat().st_size == 0:
        raise InputError(f"{kind} {text!r}{place} is an empty file: re-download or re-create it.")
    return file


def write_atomic(path: str | os.PathLike, data: str | bytes | Callable[[IO[bytes]], None]) -> Path:
    r"""Write ``data`` to ``path`` so that no reader ever sees a half-written file.

    It goes to a unique temporary file in the same folder first, flushed to disk, then renamed over
    ``path``: an interrupted write leaves the old file (or none), and concurrent writers each leave a
    complete file. Parent folders are created.

    Args:
        path: The file to write.
        data: Text (written as UTF-8), bytes, or a function that writes to a binary handle.

    Returns:
        ``path`` as a ``Path``.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> write_atomic(folder / "sub" / "note.txt", "héllo").read_text(encoding="utf-8")
        'héllo'
        >>> write_atomic(folder / "raw.bin", lambda handle: handle.write(b"\x00\x01")).read_bytes()
        b'\x00\x01'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
