"""JSON entries of a model answer: fenced or bare, Python-quoted, cut off, or looping.

Every parser that reads JSON from the model (boxes, points, receipt facts, events) reads it here.
The standard library reads valid JSON (and a list cut off after a complete entry) at C speed;
json-repair reads the rest (Python quotes, trailing commas, an entry cut off), within bounds.
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from typing import Any

from .text import fenced_blocks, visible_answer


def _json_candidates(text: str) -> list[str]:
    """Fenced blocks (an unclosed last fence included), else the text from the first [ or {."""
    blocks = [block.body for block in fenced_blocks(text) if block.body.strip()]
    if blocks:
        return blocks
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    return [text[start:]] if start >= 0 else []


#: Nesting deeper than this is not a list of boxes (Qwen3-VL writes depth 2 or 3): such text is
#: not parsed, so it cannot exhaust the parser's recursion.
MAX_JSON_DEPTH = 32
#: json-repair builds strings and numbers a character at a time, so its cost grows with the square
#: of the text. Only this much of an answer that is not valid JSON is repaired: 4096 new tokens
#: (the dense detection cap) of boxes are about 10 000 characters, so only a looping answer is cut.
MAX_REPAIR_CHARS = 32_768


def _depth(text: str) -> int:
    """How deeply brackets nest in ``text`` (strings not excluded: an upper bound), in one pass."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return deepest


def _load_entries(candidate: str, keep_cut_off: bool = False) -> list[Any]:
    """JSON entries of one candidate; a cut-off last entry is dropped (kept as json-repair reads
    it with ``keep_cut_off``), complete ones kept."""
    import json_repair

    body = candidate.strip()
    if _depth(body) > MAX_JSON_DEPTH:
        warnings.warn(
            f"skipped JSON nested more than {MAX_JSON_DEPTH} levels deep: not a list of boxes or points",
            stacklevel=4,
        )
        return []
    last = max(body.rfind("]"), body.rfind("}"))
    if last >= 0 and not re.search(r'[\[\]{}:"]', body[last + 1 :]):
        body = body[: last + 1]  # prose (or a lone comma) after the JSON
        complete = True
    else:
        complete = last >= 0 and last == len(body) - 1  # no closing bracket at all: cut off
    try:
        data, _end = json.JSONDecoder().raw_decode(body)
        complete = True
    except (ValueError, RecursionError):  # ValueError: also integers of over 4300 digits
        data = _cut_off_list(body, keep_cut_off)
        if data is not None:
            return data
        # Python quotes, trailing commas or a cut-off answer: let json-repair read it. If the text
        # stopped mid-entry, the repaired last entry is a guess: drop it.
        if len(body) > MAX_REPAIR_CHARS:
            warnings.warn(
                f"the JSON is not valid and over {MAX_REPAIR_CHARS} characters (a looping answer?): "
                f"only its first {MAX_REPAIR_CHARS} characters were repaired",
                stacklevel=4,
            )
            body, complete = body[:MAX_REPAIR_CHARS], False
        try:
            data = json_repair.loads(body)
        except (ValueError, RecursionError, OverflowError) as exc:
            warnings.warn(f"unreadable JSON skipped ({type(exc).__name__})", stacklevel=4)
            return []
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return []
    entries = list(data)
    if not complete and entries and not keep_cut_off:
        entries = entries[:-1]
    return entries


def _cut_off_list(body: str, keep_cut_off: bool) -> list[Any] | None:
    """The entries of a JSON list cut off after a complete one (the usual end of an answer stopped
    by its token limit), read by the standard library at C speed, and with ``keep_cut_off`` the
    half-written entry after them as json-repair reads it; ``None`` when that is not the shape."""
    import json_repair

    cut = body.rfind("}")
    if not body.startswith("[") or cut < 0:
        return None
    try:
        data = json.loads(body[: cut + 1] + "]")
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list):
        return None
    tail = body[cut + 1 :].lstrip(" \t\r\n,")
    if keep_cut_off and tail:
        with contextlib.suppress(ValueError, RecursionError, OverflowError):
            partial = json_repair.loads("[" + tail[:MAX_REPAIR_CHARS])
            data += partial[:1] if isinstance(partial, list) else []
    return data


def parse_entries(text: str, *, keep_cut_off: bool = False) -> list[Any]:
    r"""Every JSON entry of a model answer, wherever it stands in the answer.

    The thinking part is removed; JSON is read from fenced blocks (an unclosed last one included),
    else from the first ``[`` or ``{``; Python-style quotes and trailing commas are repaired
    (json-repair); an answer cut off mid-entry keeps its complete entries.

    Args:
        text: The model's answer.
        keep_cut_off: Keep the entry the answer was cut off in, as json-repair reads it (e.g. one
            object whose last field is incomplete: its complete fields are still useful).

    Returns:
        The entries (usually dicts), in order; ``[]`` when there is no JSON.

    Example:
        >>> parse_entries('Found:\n```json\n[{"label": "cat"}, {"label": "dog"}]\n```')
        [{'label': 'cat'}, {'label': 'dog'}]
        >>> parse_entries("[{'a': 1}, {'a': 2}, {'a':")  # cut off: the partial entry is dropped
        [{'a': 1}, {'a': 2}]
    """
    entries: list[Any] = []
    for candidate in _json_candidates(visible_answer(text)):
        entries.extend(_load_entries(candidate, keep_cut_off))
    return entries
