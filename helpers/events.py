"""Event localisation in video: ask for events with start/end times, parse them, score them.

The prompt is the official one: events with start and end as ``mm:ss.ff`` in JSON. Models answer
in several shapes, all read here: ``{"00:02.00 - 00:08.00": "a red ball rolls in"}`` (the
official example's shape), ``[{"start_time": "00:02.00", "end_time": "00:08.00", "event": ...}]``,
plain seconds (``2.0``, ``"2 s"``) and ``hh:mm:ss``. Predictions are matched to the known
intervals of ``input/events.json`` and scored by temporal IoU and start/end error in seconds.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .common.entries import parse_entries
from .common.errors import InputError
from .common.text import visible_answer

T = TypeVar("T")

_START_KEYS = ("start_time", "start", "begin", "from", "start_timestamp", "begin_time")
_END_KEYS = ("end_time", "end", "to", "stop", "end_timestamp", "finish")
_RANGE_KEYS = ("timestamp", "timestamps", "time", "time_range", "timerange", "interval", "span")
_TEXT_KEYS = ("description", "event", "caption", "label", "action", "activity", "text", "sentence")
_LIST_KEYS = ("events", "results", "activities", "segments")
# Linear scans: a repeated part starts with a character the one before cannot take; a run is
# followed only by optional parts or ones it cannot take. A time ("00:02.50", "2,5", "6.5 s")
# starts after no digit, "." or ":"; an enum is a list's number ("1. " at a line's start).
_TOKEN = re.compile(
    r"(?<![\d.:])\d+(?::\d+){0,2}(?:[.,]\d+)?(?P<unit>\s{0,3}(?:seconds?|secs?|s)(?!\w))?", re.I
)
_JOIN = re.compile(r"[\s<>]*(?:-|–|—|~|to)[\s<>]*", re.I)  # between the two times of a range
_ANSWER = re.compile(rf"(?P<enum>(?m:^)[ \t]*(?P<n>\d+)[.)](?=[ \t]+\S))|{_TOKEN.pattern}", re.I)
_TIMESTAMP = re.compile(r"(\d+(?::\d+){0,2}(?:\.\d+)?)\s*(?:seconds?|secs?|s)?")


@dataclass(frozen=True)
class Event:
    """One event: ``start`` and ``end`` in seconds (``end >= start``) and what happens.

    Example:
        >>> Event(2.0, 8.0, "a red ball rolls in").end
        8.0
    """

    start: float
    end: float
    description: str = ""


@dataclass(frozen=True)
class EventMatch:
    """One known event and the predicted event matched to it (``None`` when none overlapped).

    Example:
        >>> match = EventMatch("ball", Event(2.0, 8.0), Event(2.5, 8.0))
        >>> match.start_error, match.end_error, round(match.tiou, 3)
        (0.5, 0.0, 0.917)
    """

    name: str
    truth: Event
    predicted: Event | None

    @property
    def tiou(self) -> float:
        """Temporal IoU with the known interval; 0.0 when nothing was matched."""
        return temporal_iou(self.predicted, self.truth) if self.predicted else 0.0

    @property
    def start_error(self) -> float | None:
        """Seconds between predicted and known start; ``None`` when nothing was matched."""
        return abs(self.predicted.start - self.truth.start) if self.predicted else None

    @property
    def end_error(self) -> float | None:
        """Seconds between predicted and known end; ``None`` when nothing was matched."""
        return abs(self.predicted.end - self.truth.end) if self.predicted else None

    def as_row(self) -> dict[str, Any]:
        """One table row: the event, both intervals, the errors and the temporal IoU."""

        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 2)

        return {
            "event": self.name,
            "truth_s": f"{self.truth.start:g}-{self.truth.end:g}",
            "predicted_s": (
                f"{self.predicted.start:g}-{self.predicted.end:g}" if self.predicted else None
            ),
            "start_error_s": r(self.start_error),
            "end_error_s": r(self.end_error),
            "tiou": round(self.tiou, 3),
        }


def parse_timestamp(value: Any) -> float | None:
    """Seconds from a time as models write it.

    Reads ``mm:ss.ff``, ``hh:mm:ss(.ff)``, ``m:ss``, a number, ``"2.5s"`` and ``"<2.5 seconds>"``
    (Qwen3-VL's own timestamp text). ``ff`` is a decimal fraction of a second (``00:23.50`` is
    23.5 s); a decimal comma is accepted.

    Args:
        value: The time as written, or a JSON number.

    Returns:
        Seconds, or ``None`` when unreadable, negative, not finite or over 32 characters long.

    Example:
        >>> parse_timestamp("00:23.00"), parse_timestamp("01:02.50"), parse_timestamp("1:02:03")
        (23.0, 62.5, 3723.0)
        >>> parse_timestamp("<2.5 seconds>"), parse_timestamp("soon"), parse_timestamp(10**400)
        (2.5, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        seconds = float(value) if abs(value) < 1e300 else math.inf  # no OverflowError on 10**400
    else:
        text = str(value).strip().strip("<>").strip().lower().replace(",", ".")
        match = _TIMESTAMP.fullmatch(text)
        if not match or len(match.group(1)) > 32:  # real: "00:00:06.499999999999999"; more: a loop
            return None
        seconds = 0.0
        for part in match.group(1).split(":"):
            seconds = seconds * 60 + float(part)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def parse_time_answer(text: str) -> float | None:
    """The time in a short answer (``"At 00:02.00."``), in seconds.

    For questions like "at what second does ...?": reads ``mm:ss.ff`` (the model family's time
    format, so ``00:02.00`` is 2 s, not 0), ``hh:mm:ss``, ``m:ss`` and plain seconds (``2.5``,
    ``"2.5 s"``, ``"<2.5 seconds>"``), with prose around it; the thinking part of an answer is
    skipped. The first time with ``:`` or a unit counts, else the first bare number, else a list's
    number (``"1. "`` at a line's start): ``"1. 2 balls, the red at 00:04"`` is 4 s.

    Args:
        text: The model's answer.

    Returns:
        Seconds, or ``None`` (with a warning quoting the answer) when it holds no readable time.

    Example:
        >>> parse_time_answer("The ball appears at 00:02.00."), parse_time_answer("2.5 seconds")
        (2.0, 2.5)
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     parse_time_answer("soon")
    """
    bare = listed = None
    for match in _ANSWER.finditer(visible_answer(text)):
        if ":" in match.group(0) or match.group("unit"):  # a marked time: the first readable one
            if (seconds := parse_timestamp(match.group(0))) is not None:
                return seconds
        elif match.group("enum"):
            listed = parse_timestamp(match.group("n")) if listed is None else listed
        elif bare is None:
            bare = parse_timestamp(match.group(0))
    bare = listed if bare is None else bare
    if bare is None:
        warnings.warn(f"no time found in the answer: {text[:80]!r}", stacklevel=2)
    return bare


@dataclass(frozen=True)
class TimingQuestion:
    """A question about when one event happens, and the known time in seconds.

    Example:
        >>> TimingQuestion("ball", "At what second does the ball appear?", 2.0).seconds
        2.0
    """

    name: str
    question: str
    seconds: float


def _from_events_file(path: str | os.PathLike, what: str, build: Callable[[Any], T]) -> T:
    """``build`` applied to an ``events.json``'s data; any failure names the file, ``what`` it
    lacks and how to regenerate it."""
    try:
        return build(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise InputError(
            f"{os.fspath(path)!r} has no readable {what} ({exc}); regenerate it with "
            "`python scripts/make_events_video.py`."
        ) from exc


def load_timing_questions(path: str | os.PathLike) -> list[TimingQuestion]:
    """The timing questions of an ``events.json`` and their known answers (``questions`` and
    ``events``, written by ``scripts/make_events_video.py``).

    Args:
        path: The ``events.json`` path.

    Returns:
        One question per event that has both a question and a known time, in the file's order.

    Raises:
        InputError: The file is missing or has no questions with known times; the message says
            how to regenerate it.

    Example:
        >>> import helpers
        >>> [(q.name, q.seconds) for q in load_timing_questions(helpers.INPUT_DIR / "events.json")]
        [('red_ball_enters', 2.0), ('blue_square_leaves', 6.5)]
    """
    questions = _from_events_file(
        path,
        "'questions' with known 'events' times",
        lambda data: [
            TimingQuestion(name, str(question), float(data["events"][name]))
            for name, question in data["questions"].items()
        ],
    )
    if not questions:
        raise InputError(
            f"{os.fspath(path)!r} holds no questions; regenerate it with "
            "`python scripts/make_events_video.py`."
        )
    return questions


def _lookup(entry: dict[str, Any], names: Sequence[str]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in entry.items()}
    return next((lowered[n] for n in names if n in lowered), None)


def _find_range(text: str) -> tuple[float | None, float | None, int, int] | None:
    """(start s, end s, start index, end index) of the first two times joined by -, ~ or to."""
    previous = None
    for token in _TOKEN.finditer(text):
        if previous and _JOIN.fullmatch(text, previous.end(), token.start()):
            start, end = parse_timestamp(previous.group(0)), parse_timestamp(token.group(0))
            return start, end, previous.start(), token.end()
        previous = token
    return None


def _range(value: Any) -> tuple[float | None, float | None]:
    """(start, end) of ``"00:02.00 - 00:08.00"``, ``[2, 8]`` or one time (end = start)."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return parse_timestamp(value[0]), parse_timestamp(value[1])
    if isinstance(value, str) and (found := _find_range(value)):
        return found[0], found[1]
    single = parse_timestamp(value)
    return single, single


def _event(start: float | None, end: float | None, description: Any) -> Event | None:
    if start is None or end is None:
        return None
    start, end = sorted((start, end))
    return Event(start, end, "" if description is None else str(description).strip())


def _events_from_entry(entry: Any) -> tuple[list[Event], int]:
    """Events of one JSON entry and the number of malformed ones in it."""
    if not isinstance(entry, dict):
        return [], 1
    nested = _lookup(entry, _LIST_KEYS)
    if isinstance(nested, list):
        events, bad = [], 0
        for item in nested:
            found, wrong = _events_from_entry(item)
            events += found
            bad += wrong
        return events, bad
    start, end = _lookup(entry, _START_KEYS), _lookup(entry, _END_KEYS)
    if start is not None or end is not None:
        event = _event(parse_timestamp(start), parse_timestamp(end if end is not None else start),
                       _lookup(entry, _TEXT_KEYS))  # fmt: skip
        return ([event], 0) if event else ([], 1)
    span = _lookup(entry, _RANGE_KEYS)
    if span is not None:
        event = _event(*_range(span), _lookup(entry, _TEXT_KEYS))
        return ([event], 0) if event else ([], 1)
    # The official example's shape: every key a time range, every value a description.
    ranges = ((_find_range(str(key)), value) for key, value in entry.items())
    events = [e for found, value in ranges if found and (e := _event(found[0], found[1], value))]
    return events, len(entry) - len(events)


def _events_from_lines(text: str) -> list[Event]:
    """Lines like ``00:02.00 - 00:08.00: a red ball rolls in`` (an answer without JSON)."""
    events = []
    for line in text.splitlines():
        found = _find_range(line)
        if found and not re.search(r"\w", line[: found[2]]):  # the range comes first
            rest = re.sub(r"^\W+", "", line[found[3] :]).strip(" :-–—\"'")
            if event := _event(found[0], found[1], rest):
                events.append(event)
    return events


def _drop_last(entries: list[Any]) -> list[Any]:
    """The entries without the innermost last event: the last key of a {range: text} object,
    the last item of an ``events`` list, or the last entry."""
    if not entries:
        return entries
    last = entries[-1]
    if isinstance(last, dict):
        nested_key = next((k for k in last if str(k).strip().lower() in _LIST_KEYS), None)
        if nested_key is not None and isinstance(last[nested_key], list):
            return [*entries[:-1], {**last, nested_key: last[nested_key][:-1]}]
        if last and _find_range(str(next(iter(last)))):  # {range: text, ...}
            keys = list(last)[:-1]
            return [*entries[:-1], {k: last[k] for k in keys}] if keys else entries[:-1]
    return entries[:-1]


def parse_events(text: str) -> list[Event]:
    """Events (start, end in seconds, description) from a model answer, in answer order.

    Reads the shapes models write (see the module docstring): fenced or bare JSON, prose around
    it, a ``<think>`` block, ``{"events": [...]}``, and as a last resort lines of
    ``start - end: description`` without JSON. An answer cut off inside the JSON keeps its
    complete events and drops the one it stopped in. Entries without a readable time are skipped
    with a warning; one time and no end gives an instant (end = start); an end before the start
    is swapped.

    Args:
        text: The model's answer to :data:`EVENTS_PROMPT`.

    Returns:
        The events; ``[]`` (with a warning) when nothing readable was found.

    Example:
        >>> parse_events('{"00:02.00 - 00:08.00": "a red ball rolls in"}')
        [Event(start=2.0, end=8.0, description='a red ball rolls in')]
        >>> parse_events('[{"start_time": "0:00", "end_time": "6.5s", "event": "a blue square"}]')
        [Event(start=0.0, end=6.5, description='a blue square')]
    """
    answer = visible_answer(text)
    entries = parse_entries(answer)
    cut_off = False
    if not entries:
        entries = parse_entries(answer, keep_cut_off=True)
        cut_off = bool(entries)
    any_json = bool(entries)
    if cut_off:
        entries = _drop_last(entries)  # the event the answer stopped in may be incomplete
        warnings.warn("the answer was cut off: its last event was dropped", stacklevel=2)
    events, bad = [], 0
    for entry in entries:
        found, wrong = _events_from_entry(entry)
        events += found
        bad += wrong
    if not any_json:
        events = _events_from_lines(answer)
    if bad:
        warnings.warn(f"skipped {bad} malformed event entries (no readable time)", stacklevel=2)
    if not events:
        warnings.warn(f"no events with times found in the answer: {text[:80]!r}", stacklevel=2)
    return events


def temporal_iou(a: Event, b: Event) -> float:
    """Temporal IoU: overlap / union of two time intervals.

    Args:
        a: One interval.
        b: The other.

    Returns:
        From 0 (no overlap, or no length) to 1 (the same interval).

    Example:
        >>> temporal_iou(Event(0, 4), Event(2, 6)), temporal_iou(Event(0, 2), Event(2, 4))
        (0.3333333333333333, 0.0)
    """
    overlap = max(0.0, min(a.end, b.end) - max(a.start, b.start))
    union = max(a.end, b.end) - min(a.start, b.start)
    return overlap / union if union > 0 else 0.0


def load_event_truth(path: str | os.PathLike) -> dict[str, Event]:
    """The known intervals of an ``events.json`` written by ``scripts/make_events_video.py``.

    Args:
        path: The ``events.json`` path.

    Returns:
        Interval name -> :class:`Event`, in the file's order. An end before the start is
        swapped (as :func:`parse_events` does), with a warning naming the file and interval.

    Raises:
        InputError: The file is missing or has no intervals; the message says how to regenerate.

    Example:
        >>> import helpers
        >>> truth = load_event_truth(helpers.INPUT_DIR / "events.json")
        >>> truth["red_ball_visible"].start, truth["blue_square_visible"].end
        (2.0, 6.5)
    """
    return _from_events_file(
        path,
        "'intervals'",
        lambda data: {
            name: _ordered(name, float(v["start"]), float(v["end"]), v.get("description", ""), path)
            for name, v in data["intervals"].items()
        },
    )


def _ordered(name: str, start: float, end: float, description: str = "", path: Any = None) -> Event:
    """A known event, swapped when it ends before it starts, with a warning naming it (and file)."""
    what = f"{os.fspath(path)!r}: interval {name!r}" if path is not None else f"event {name!r}"
    if not math.isfinite(start + end):
        raise ValueError(f"{what} has a time that is not a finite number")
    if end < start:
        warnings.warn(f"{what} ends before it starts ({start:g} > {end:g}): swapped", stacklevel=4)
        start, end = end, start
    return Event(start, end, description)


def match_events(predicted: Sequence[Event], truth: dict[str, Event]) -> list[EventMatch]:
    """Pair each known event with at most one predicted event, highest temporal IoU first.

    Args:
        predicted: The model's events.
        truth: Known events by name (see :func:`load_event_truth`).

    Returns:
        One match per known event, in the truth's order; pairs must overlap, so a known event
        without an overlapping prediction is matched to ``None``. Known events are swapped
        (with a warning) when they end before they start; a non-finite time raises ValueError.

    Example:
        >>> truth = {"square": Event(0.0, 6.5), "ball": Event(2.0, 8.0)}
        >>> [m.predicted for m in match_events([Event(2.0, 7.0, "ball")], truth)]
        [None, Event(start=2.0, end=7.0, description='ball')]
    """
    truth = {name: _ordered(name, t.start, t.end, t.description) for name, t in truth.items()}
    pairs = sorted(
        (
            (temporal_iou(p, t), i, name)
            for i, p in enumerate(predicted)
            for name, t in truth.items()
        ),
        key=lambda pair: -pair[0],
    )
    chosen: dict[str, int] = {}
    used: set[int] = set()
    for iou, i, name in pairs:
        if iou <= 0:
            break
        if name in chosen or i in used:
            continue
        chosen[name] = i
        used.add(i)
    return [
        EventMatch(name, t, predicted[chosen[name]] if name in chosen else None)
        for name, t in truth.items()
    ]


def summarize_matches(matches: Sequence[EventMatch]) -> dict[str, float | int | None]:
    """Summary scores of :func:`match_events`.

    Args:
        matches: One match per known event.

    Returns:
        ``mean_tiou`` over known events (unmatched ones count 0), ``mean_start_error_s`` and
        ``mean_end_error_s`` over matched ones (``None`` when none matched), ``matched`` and
        ``expected`` counts.

    Example:
        >>> truth = {"square": Event(0.0, 6.5), "ball": Event(2.0, 8.0)}
        >>> summarize_matches(match_events([Event(2.0, 7.0, "ball")], truth))
        {'mean_tiou': 0.417, 'mean_start_error_s': 0.0, 'mean_end_error_s': 1.0, 'matched': 1, 'expected': 2}
    """
    found = [m for m in matches if m.predicted is not None]

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    return {
        "mean_tiou": round(sum(m.tiou for m in matches) / len(matches), 3) if matches else 0.0,
        "mean_start_error_s": mean([m.start_error for m in found if m.start_error is not None]),
        "mean_end_error_s": mean([m.end_error for m in found if m.end_error is not None]),
        "matched": len(found),
        "expected": len(matches),
    }
