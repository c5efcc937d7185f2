"""Files: checking an input path before it is read, and writing so that no reader sees a half-written file."""

from __future__ import annotations

import os
import queue
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .errors import InputError, MissingInputError
from .text import strip_file_scheme

#: Seconds a URL may take to download, in all, and the largest download.
URL_TIMEOUT_S = 30.0
URL_MAX_BYTES = 512 * 1024 * 1024


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
        helpers.common.errors.InputError: image path ... is a folder, not a file: pass one file inside it (e.g. ...).
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


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)  # elsewhere: read it by setting it, and put it straight back
    os.umask(current)
    return current


#: The longest file name (in bytes) the common file systems (ext4, APFS, NTFS) take.
NAME_MAX = 255


def check_output_path(path: str | os.PathLike, what: str = "output") -> Path:
    """Make the folders above ``path``, or say why a file cannot be written there.

    Args:
        path: The file about to be written.
        what: What to name in an error (``"screenshot"``, ``"page"``, ...).

    Returns:
        ``path`` as a ``Path``, its folder existing.

    Raises:
        InputError: The name is too long, a file stands where a folder is needed, the path is a
            folder, or the folder cannot be made; the message names the path and the fix.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> check_output_path(folder / "a" / "b.txt").parent.is_dir()
        True
        >>> check_output_path(folder / ("x" * 300 + ".png"), "screenshot")
        Traceback (most recent call last):
        ...
        helpers.common.errors.InputError: screenshot '...': the file name is too long (304 bytes; at most 255): choose a shorter name.
    """
    target = Path(path)
    for part in target.parts:  # the file's name, or a folder's on the way to it
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            kind = "file" if part == target.name else "folder"
            raise InputError(
                f"{what} {str(target)!r}: the {kind} name is too long ({size} bytes; at most "
                f"{NAME_MAX}): choose a shorter name."
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # Only now look for the cause: a file where a folder is needed (written before, or a
        # folder name given as a file's), checked from the top down.
        for folder in reversed((target.parent, *target.parent.parents)):
            if folder.is_file():
                raise InputError(
                    f"{what} {str(target)!r}: {str(folder)!r} is a file, not a folder: remove it "
                    "or choose another folder."
                ) from exc
        raise InputError(
            f"{what} {str(target)!r}: its folder cannot be made ({exc.strerror or exc}): choose "
            "another folder."
        ) from exc
    if target.is_dir():
        raise InputError(f"{what} {str(target)!r} is a folder: give a file name.")
    return target


def write_atomic(path: str | os.PathLike, data: str | bytes | Callable[[IO[bytes]], None]) -> Path:
    r"""Write ``data`` to ``path`` so that no reader ever sees a half-written file.

    It goes to a unique temporary file in the same folder first, flushed to disk, then renamed over
    ``path``: an interrupted write leaves the old file (or none), and concurrent writers each leave a
    complete file. Parent folders are created. The file gets the permissions a plain
    ``open(path, "w")`` would give: an existing file's mode is kept, a new one follows the umask
    (the temporary file's private 0600 is not left behind).

    Args:
        path: The file to write.
        data: Text (written as UTF-8), bytes, or a function that writes to a binary handle.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        InputError: ``path`` cannot be written (see :func:`check_output_path`).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> write_atomic(folder / "sub" / "note.txt", "héllo").read_text(encoding="utf-8")
        'héllo'
        >>> write_atomic(folder / "raw.bin", lambda handle: handle.write(b"\x00\x01")).read_bytes()
        b'\x00\x01'
    """
    target = check_output_path(path)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    # A short prefix: the temporary name must fit where a name of NAME_MAX bytes fits.
    fd, tmp = tempfile.mkstemp(prefix=target.name[:32] + ".", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, mode)
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


def fetch_url(
    url: str, *, where: str = "", timeout_s: float | None = None, max_bytes: int | None = None
) -> bytes:
    """Download an ``http(s)://`` URL within a deadline for the whole download.

    ``requests`` bounds each read, not the download: a server that never answers, or answers a
    byte at a time, cannot hold the caller longer than ``timeout_s``.

    Args:
        url: The address.
        where: Where it was given, for the message.
        timeout_s: Seconds for the whole download (default :data:`URL_TIMEOUT_S`).
        max_bytes: The largest download (default :data:`URL_MAX_BYTES`).

    Returns:
        The bytes.

    Raises:
        InputError: It could not be downloaded in time, was too large, or the server refused
            (the URL and the reason are named).

    Example:
        >>> fetch_url("http://127.0.0.1:9/cat.png", timeout_s=2)
        Traceback (most recent call last):
        ...
        helpers.common.errors.InputError: 'http://127.0.0.1:9/cat.png' could not be downloaded (...). Check the address, ...
    """
    import requests

    seconds = URL_TIMEOUT_S if timeout_s is None else timeout_s
    limit = URL_MAX_BYTES if max_bytes is None else max_bytes
    place = f" ({where})" if where else ""
    outcome: queue.SimpleQueue = queue.SimpleQueue()

    def download() -> None:
        try:
            per_read = min(10.0, seconds)
            with requests.get(url, stream=True, timeout=(per_read, per_read)) as response:
                response.raise_for_status()
                data = bytearray()
                for chunk in response.iter_content(1 << 16):
                    data += chunk
                    if len(data) > limit:
                        raise ValueError(f"larger than {limit:,} bytes")
                outcome.put(bytes(data))
        except Exception as exc:  # handed to the caller's thread
            outcome.put(exc)

    # requests bounds each read, not the download: the deadline is kept here.
    threading.Thread(target=download, daemon=True, name="qwen-vl-download").start()
    try:
        result = outcome.get(timeout=seconds)
    except queue.Empty:
        result = TimeoutError(f"no complete answer within {seconds:g} s")
    if isinstance(result, Exception):
        raise InputError(
            f"{url!r}{place} could not be downloaded ({type(result).__name__}: {result}). Check the "
            "address, or download the file yourself and pass its path."
        ) from None
    return result
