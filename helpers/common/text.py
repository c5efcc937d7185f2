"""Text utilities shared by the parsers: thinking blocks, fenced code blocks, URLs and paths.

Every module may import this one: it imports nothing from the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Prefixes of image/video sources that are passed on as they are (not read as local files).
URL_PREFIXES: tuple[str, ...] = ("http://", "https://", "data:")
FILE_SCHEME = "file://"

#: The language tag after an opening fence, up to the end of its line.
_FENCE_TAG = re.compile(r"[ \t]*([A-Za-z0-9_+-]*)")


def split_thinking(text: str) -> tuple[str, str]:
    """Split a Thinking checkpoint's answer into its ``<think>`` part and the visible answer.

    Thinking checkpoints open the ``<think>`` block in the prompt, so the answer may hold only the
    closing tag; an answer cut off inside the block has no visible part yet.

    Args:
        text: The model's answer.

    Returns:
        ``(thinking, answer)``, both stripped; ``("", text)`` (stripped) when there is no block.

    Example:
        >>> split_thinking("<think>Two cats.</think> There are two cats.")
        ('Two cats.', 'There are two cats.')
        >>> split_thinking("Only closing tag here.</think>Yes.")
        ('Only closing tag here.', 'Yes.')
        >>> split_thinking("No thinking at all.")
        ('', 'No thinking at all.')
    """
    if "</think>" in text:
        thinking, _, answer = text.partition("</think>")
        return thinking.replace("<think>", "", 1).strip(), answer.strip()
    if text.lstrip().startswith("<think>"):
        return text.lstrip()[len("<think>") :].strip(), ""
    return "", text.strip()


def visible_answer(text: str) -> str:
    """The part of an answer to parse: the text after any ``<think>`` block, or all of it if empty.

    Args:
        text: The model's answer.

    Returns:
        The visible answer (see :func:`split_thinking`), or ``text`` when nothing follows the block.

    Example:
        >>> visible_answer("<think>hmm</think>[1, 2]")
        '[1, 2]'
        >>> visible_answer("<think>cut off mid-thought")
        '<think>cut off mid-thought'
    """
    _thinking, answer = split_thinking(text)
    return answer or text


#: A looping tail is split off when one unit of at most LOOP_MAX_PERIOD characters repeats at
#: least LOOP_MIN_REPEATS times over at least LOOP_MIN_CHARS characters at the end of an answer.
LOOP_MAX_PERIOD = 64
LOOP_MIN_REPEATS = 8
LOOP_MIN_CHARS = 2000


def split_loop(text: str) -> tuple[str, str, str]:
    """Split off the loop a model stuck repeating itself writes until its token limit.

    A loop carries no structure worth parsing, and some parsers (markdown-it's link and list
    rules) pay a large constant per repeated character; callers read the head with their parser
    and keep the loop as plain text, so nothing the model wrote is dropped (a score still counts
    it). Only the end of the answer is checked, where a loop runs to the token limit; each
    candidate period costs a few C-speed string comparisons, so this is linear.

    Args:
        text: The answer.

    Returns:
        ``(head, loop, unit)``: ``head + loop == text``; ``loop`` and ``unit`` are ``""`` when the
        answer does not end in a loop (see :data:`LOOP_MIN_CHARS`).

    Example:
        >>> head, loop, unit = split_loop("Total: 12" + "[" * 5000)
        >>> head, len(loop), unit
        ('Total: 12', 5000, '[')
        >>> split_loop("An ordinary answer.")
        ('An ordinary answer.', '', '')
    """
    best, best_unit = 0, ""
    for period in range(1, min(LOOP_MAX_PERIOD, len(text) // LOOP_MIN_REPEATS) + 1):
        unit = text[-period:]
        repeats = _repeats_at_end(text, unit)
        if repeats >= LOOP_MIN_REPEATS and repeats * period > best:
            best, best_unit = repeats * period, unit
    if best < LOOP_MIN_CHARS:
        return text, "", ""
    return text[: len(text) - best], text[len(text) - best :], best_unit


def _repeats_at_end(text: str, unit: str) -> int:
    """How many times ``unit`` repeats at the end of ``text`` (doubling, then halving)."""
    low, high = 1, 2
    while len(unit) * high <= len(text) and text.endswith(unit * high):
        low, high = high, high * 2
    while high - low > 1:  # text ends in unit * low, not in unit * high
        middle = (low + high) // 2
        if text.endswith(unit * middle):
            low = middle
        else:
            high = middle
    return low


@dataclass(frozen=True)
class FencedBlock:
    r"""One fenced code block of a model answer.

    Attributes:
        tag: The language tag after the opening fence, lower case (``""`` when none).
        body: The text between the fences, as written (an unclosed block: to the end).
        closed: ``False`` for a last block whose closing fence never came (a cut-off answer).

    Example:
        >>> FencedBlock("json", "[]\n", True).tag
        'json'
    """

    tag: str
    body: str
    closed: bool


def fenced_blocks(text: str) -> list[FencedBlock]:
    r"""Every fenced (```) code block of ``text``, in order; an unclosed last one included.

    This is the one fence parser of the package: :func:`helpers.parse_detections` reads JSON from
    the blocks and :func:`helpers.extract_code_block` picks the last block of a language. A block
    opens at three backticks followed, on the same line, by an optional language tag and a line
    break, and closes at the next three backticks. One pass: every search starts where the last
    one ended, so a hostile answer (a hundred thousand backticks) costs linear time.

    Args:
        text: A model answer.

    Returns:
        The blocks, first to last (empty when there is no opening fence).

    Example:
        >>> answer = "Boxes:\n```JSON\n[1]\n```\nand a page:\n```html\n<p>cut"
        >>> [(b.tag, b.body, b.closed) for b in fenced_blocks(answer)]
        [('json', '[1]\n', True), ('html', '<p>cut', False)]
    """
    blocks, position = [], 0
    while (start := text.find("```", position)) >= 0:
        newline = text.find("\n", start + 3)
        if newline < 0:
            break  # no line break after it, so no later fence can open a block either
        tag = _FENCE_TAG.match(text, start + 3, newline)
        end = text.find("```", newline + 1)
        if end < 0:
            blocks.append(FencedBlock(tag.group(1).lower(), text[newline + 1 :], False))
            break
        blocks.append(FencedBlock(tag.group(1).lower(), text[newline + 1 : end], True))
        position = end + 3
    return blocks


def is_url(source: str) -> bool:
    """Whether an image or video source is a URL or data URL, passed on as it is (not a local file).

    Args:
        source: The source as written in a message (a path, ``http(s)://`` URL or ``data:`` URL).

    Returns:
        ``True`` when ``source`` starts with one of :data:`URL_PREFIXES`.

    Example:
        >>> is_url("https://example.com/cat.jpg"), is_url("data:image/png;base64,AAAA")
        (True, True)
        >>> is_url("photos/cat.jpg"), is_url("file:///tmp/cat.jpg")
        (False, False)
    """
    return source.startswith(URL_PREFIXES)


def strip_file_scheme(source: str) -> str:
    """A local path written as a ``file://`` URL, as a plain path.

    Args:
        source: A path, with or without a leading ``file://``.

    Returns:
        ``source`` without the ``file://`` prefix (unchanged otherwise).

    Example:
        >>> strip_file_scheme("file:///tmp/cat.jpg")
        '/tmp/cat.jpg'
        >>> strip_file_scheme("cat.jpg")
        'cat.jpg'
    """
    return source[len(FILE_SCHEME) :] if source.startswith(FILE_SCHEME) else source


def defuse_markup(html: str) -> str:
    """Escape every ``<`` that opens no complete tag or comment, so HTML parses in linear time.

    The standard library's ``HTMLParser`` rescans from each ``<`` whose tag or comment never ends
    (``"<a " * 20_000`` takes about a minute); model answers are often cut off or mangled. A ``<``
    whose ``>`` comes after the next ``<`` (or never), or a ``<!--`` with no ``-->`` after it,
    becomes ``&lt;`` and is read as text, as a browser would show it. One pass over the text.

    Args:
        html: Markup from a model answer.

    Returns:
        The markup with the unterminated openers escaped; complete tags and comments unchanged.

    Example:
        >>> defuse_markup("<p>1 < 2</p><a href")
        '<p>1 &lt; 2</p>&lt;a href'
        >>> defuse_markup("<!-- note --><b>x</b><!-- cut")
        '<!-- note --><b>x</b>&lt;!-- cut'
    """
    parts: list[str] = []
    start = 0
    next_close = next_comment_end = 0  # cached: each search runs past a position once
    at = html.find("<")
    while at != -1:
        if html.startswith("<!--", at):
            if next_comment_end != -1 and next_comment_end < at + 4:
                next_comment_end = html.find("-->", at + 4)
            complete, resume = next_comment_end != -1, next_comment_end + 3
        else:
            if next_close != -1 and next_close <= at:
                next_close = html.find(">", at + 1)
            reopen = html.find("<", at + 1, next_close if next_close != -1 else len(html))
            complete, resume = next_close != -1 and reopen == -1, next_close + 1
        if complete:
            parts.append(html[start:resume])
        else:
            parts.append(html[start:at] + "&lt;")
            resume = at + 1
        start = resume
        at = html.find("<", start)
    parts.append(html[start:])
    return "".join(parts)
