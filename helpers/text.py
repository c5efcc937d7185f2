"""Text utilities shared by the parsers: thinking blocks, fenced code blocks, URLs and paths.

Every module may import this one: it imports nothing from the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Prefixes of image/video sources that are passed on as they are (not read as local files).
URL_PREFIXES: tuple[str, ...] = ("http://", "https://", "data:")
FILE_SCHEME = "file://"

_FENCE_OPEN = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n")


def split_thinking(text: str) -> tuple[str, str]:
    """Split ``"<think>...</think>answer"`` into ``(thinking, answer)``; no block gives ``("", text)``.

    Thinking checkpoints open the ``<think>`` block in the prompt, so the answer may hold only the
    closing tag; an answer cut off inside the block has no visible part yet.
    """
    if "</think>" in text:
        thinking, _, answer = text.partition("</think>")
        return thinking.replace("<think>", "", 1).strip(), answer.strip()
    if text.lstrip().startswith("<think>"):
        return text.lstrip()[len("<think>") :].strip(), ""
    return "", text.strip()


def visible_answer(text: str) -> str:
    """The answer part of ``text`` (see :func:`split_thinking`), or all of it if that is empty."""
    _thinking, answer = split_thinking(text)
    return answer or text


@dataclass(frozen=True)
class FencedBlock:
    """One fenced code block: its language ``tag`` (lower case, may be empty) and ``body``.

    ``closed`` is ``False`` for a last block whose closing fence never came (a cut-off answer).
    """

    tag: str
    body: str
    closed: bool


def fenced_blocks(text: str) -> list[FencedBlock]:
    """Every fenced (```) block of ``text``, in order; an unclosed last one included."""
    blocks, position = [], 0
    while match := _FENCE_OPEN.search(text, position):
        end = text.find("```", match.end())
        if end < 0:
            blocks.append(FencedBlock(match.group(1).lower(), text[match.end() :], False))
            break
        blocks.append(FencedBlock(match.group(1).lower(), text[match.end() : end], True))
        position = end + 3
    return blocks


def is_url(source: str) -> bool:
    """Whether an image/video source is a URL or data URL (:data:`URL_PREFIXES`), not a file."""
    return source.startswith(URL_PREFIXES)


def strip_file_scheme(source: str) -> str:
    """``source`` without a leading ``file://``."""
    return source[len(FILE_SCHEME) :] if source.startswith(FILE_SCHEME) else source
