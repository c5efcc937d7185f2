import json
import warnings

import cv2
import pytest

import helpers
from helpers.events import (
    Event,
    load_event_truth,
    load_timing_questions,
    match_events,
    parse_events,
    parse_time_answer,
    parse_timestamp,
    summarize_matches,
    temporal_iou,
)
from helpers.prompts import EVENTS_PROMPT

# The answer shape of the official video cookbook's event-localisation example.
OFFICIAL = """{
    "00:23.00 - 00:48.00": "trim the fat off a piece of beef.",
    "00:56.00 - 01:28.00": "season the beef with salt and pepper."
}"""


def test_prompt_is_the_official_one():
    assert "'mm:ss.ff' format" in EVENTS_PROMPT and "start and end timestamp" in EVENTS_PROMPT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00:23.00", 23.0),  # mm:ss.ff
        ("01:02.50", 62.5),  # a minute and a fraction
        ("1:02:03", 3723.0),  # hh:mm:ss
        ("00:00:06.5", 6.5),  # hh:mm:ss.ff
        ("0:07", 7.0),  # m:ss
        ("00:23,5", 23.5),  # a decimal comma
        (2.5, 2.5),  # plain seconds
        ("2.5s", 2.5),  # with a unit
        ("<2.5 seconds>", 2.5),  # Qwen3-VL's own timestamp text
        ("8", 8.0),  # a number as text
        ("abc", None),  # words
        ("-1", None),  # negative
        ("1:2:3:4", None),  # too many parts
        ("1.5:20", None),  # a fraction before a colon
        (None, None),  # missing
        (True, None),  # not a time
    ],
)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # the official example's shape: time ranges as keys
        (OFFICIAL, [(23, 48, "trim the fat off a piece of beef."), (56, 88, "season the beef with salt and pepper.")]),
        # a fenced list with start/end keys, seconds with units
        (
            '```json\n[{"start_time": "00:02.00", "end_time": "00:08.00", "event": "red ball"}, {"start": 0, "end": "6.5s", "description": "blue square"}]\n```',
            [(2, 8, "red ball"), (0, 6.5, "blue square")],
        ),
        # an "events" list in prose, a range string and a single time (an instant)
        (
            'Here you go: {"events": [{"timestamp": "00:00:00 - 00:00:06.5", "event": "square"}, {"time": "00:02.00", "event": "ball enters"}]} Enjoy.',
            [(0, 6.5, "square"), (2, 2, "ball enters")],
        ),
        # end before start: swapped
        ('[{"start_time": "00:08.00", "end_time": "00:02.00", "event": "x"}]', [(2, 8, "x")]),
        # cut off in the official shape: the last range dropped
        ('{"00:02.00 - 00:08.00": "red ball", "00:00.00 - 00:0', [(2, 8, "red ball")]),
        # cut off in a list; a malformed entry skipped
        (
            '[{"start_time": "00:02.00", "end_time": "00:08.00", "event": "a"}, {"start_time": "xx", "event": "b"}, {"start_time": "00:0',
            [(2, 8, "a")],
        ),
        # no JSON: lines of "start - end: description"
        ("00:02.00 - 00:08.00: a red ball rolls in\n0:00 to 0:06.5 - the square", [(2, 8, "a red ball rolls in"), (0, 6.5, "the square")]),
        # a thinking block first
        ('<think>maybe 1 - 2?</think>{"00:01.5 - 00:03": "x"}', [(1.5, 3, "x")]),
        # an empty list: no events
        ("[]", []),
    ],
)  # fmt: skip
def test_parse_events(answer, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = parse_events(answer)
    assert [(e.start, e.end, e.description) for e in found] == [
        (float(s), float(e), d) for s, e, d in expected
    ]


@pytest.mark.parametrize("answer", ["I do not know.", "", '{"foo": "bar"}', "```json\n```"])
def test_events_garbage_warns_and_returns_empty(answer):
    with pytest.warns(UserWarning, match="no events"):
        assert parse_events(answer) == []


def test_events_warnings_name_the_problem():
    with pytest.warns(UserWarning, match="malformed event"):
        parse_events('[{"start": "soon", "event": "x"}, {"start": 1, "end": 2, "event": "y"}]')
    with pytest.warns(UserWarning, match="cut off"):
        parse_events('{"00:02.00 - 00:08.00": "red ball", "00:00.00 - 00:0')


def test_temporal_iou():
    assert temporal_iou(Event(0, 4), Event(2, 6)) == pytest.approx(2 / 6)  # half overlap
    assert temporal_iou(Event(0, 2), Event(2, 4)) == 0.0  # touching
    assert temporal_iou(Event(1, 1), Event(1, 1)) == 0.0  # two instants: no length
    assert temporal_iou(Event(0, 8), Event(2, 8)) == pytest.approx(0.75)  # one inside the other


def test_match_and_summary():
    truth = {"square": Event(0.0, 6.5), "ball": Event(2.0, 8.0)}
    predicted = [Event(7.0, 8.0, "x"), Event(2.0, 7.0, "ball"), Event(0.0, 6.0, "square")]
    matches = match_events(predicted, truth)
    assert [m.name for m in matches] == ["square", "ball"]  # the truth's order
    assert [m.predicted.description for m in matches] == ["square", "ball"]  # best overlap wins
    rows = [m.as_row() for m in matches]
    assert rows[0]["start_error_s"] == 0.0 and rows[0]["end_error_s"] == 0.5
    assert rows[1]["tiou"] == pytest.approx(5 / 6, abs=1e-3)
    summary = summarize_matches(matches)
    assert summary["matched"] == 2 and summary["mean_end_error_s"] == 0.75
    assert summary["mean_tiou"] == pytest.approx((6 / 6.5 + 5 / 6) / 2, abs=1e-3)
    # Nothing predicted, or nothing overlapping: every known event scores 0 and has no error.
    for predicted in ([], [Event(9.0, 10.0)]):
        none = summarize_matches(match_events(predicted, truth))
        assert none == {
            "mean_tiou": 0.0,
            "mean_start_error_s": None,
            "mean_end_error_s": None,
            "matched": 0,
            "expected": 2,
        }
    # One prediction cannot serve two known events.
    both = match_events([Event(0.0, 8.0)], truth)
    assert sum(m.predicted is not None for m in both) == 1


def test_event_truth_matches_the_video():
    """Every interval in events.json is checked against the committed clip's decoded frames."""
    path = helpers.INPUT_DIR / "events.json"
    truth = load_event_truth(path)
    meta = json.loads(path.read_text())
    assert set(truth) == {"blue_square_visible", "red_ball_visible"}
    capture = cv2.VideoCapture(str(helpers.INPUT_DIR / "events.mp4"))
    seen = {"red_ball_visible": [], "blue_square_visible": []}
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        b, g, r = (frame[..., c].astype(int) for c in range(3))
        t = index / meta["fps"]
        if ((r > 150) & (g < 90) & (b < 90)).sum() > 100:
            seen["red_ball_visible"].append(t)
        if ((b > 150) & (g < 90) & (r < 90)).sum() > 100:
            seen["blue_square_visible"].append(t)
        index += 1
    capture.release()
    assert index == round(meta["seconds"] * meta["fps"])
    step = 1 / meta["fps"]
    for name, times in seen.items():
        event = truth[name]
        # On screen from the first frame at or after start to the last frame before end.
        assert times[0] == pytest.approx(event.start), name
        assert times[-1] == pytest.approx(event.end - step), name
        assert len(times) == round((event.end - event.start) * meta["fps"]), name
    # The instants of the questions agree with the intervals.
    assert meta["events"]["red_ball_enters"] == truth["red_ball_visible"].start
    assert meta["events"]["blue_square_leaves"] == truth["blue_square_visible"].end


def test_load_event_truth_errors_name_the_file(tmp_path):
    old = tmp_path / "events.json"
    old.write_text(json.dumps({"events": {"a": 1.0}}))
    with pytest.raises(helpers.InputError, match=r"events\.json.*make_events_video"):
        load_event_truth(old)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("00:02.00", 2.0),  # mm:ss.ff, the family's format: 2 s, not the 0 of its first digits
        ("At 00:06.50.", 6.5),  # mm:ss.ff in a sentence
        ("The red ball first appears at 2.5 seconds.", 2.5),  # plain seconds in prose
        ("2", 2.0),  # a bare number
        ("6.5s", 6.5),  # seconds with a unit glued on
        ("<6.5 seconds>", 6.5),  # Qwen3-VL's own timestamp text
        ("0:00:07", 7.0),  # hh:mm:ss
        ("1:02:03", 3723.0),  # hh:mm:ss over an hour
        ("From 00:02.00 to 00:08.00", 2.0),  # a range: the first time counts
        ("<think>maybe 9 s</think>It is 00:03.00.", 3.0),  # the thinking part is skipped
        ("At 4s.", 4.0),  # a unit glued on, then a full stop
        ("4.", 4.0),  # a bare number ending a sentence is a time, not a list's number
        ("4. The ball appears then.", 4.0),  # a list's number is the last resort, still read
    ],
)
def test_parse_time_answer(answer, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a readable answer gives no warning
        assert parse_time_answer(answer) == expected


@pytest.mark.parametrize(
    "answer",
    [
        "soon",  # prose without a time
        "",  # empty
        "The ball never appears.",  # a refusal
        "ÿ<|im_end|>",  # garbage
    ],
)
def test_parse_time_answer_garbage_warns(answer):
    with pytest.warns(UserWarning, match="no time found"):
        assert parse_time_answer(answer) is None


def test_load_timing_questions_matches_the_file():
    questions = load_timing_questions(helpers.INPUT_DIR / "events.json")
    data = json.loads((helpers.INPUT_DIR / "events.json").read_text(encoding="utf-8"))
    assert {q.name: q.seconds for q in questions} == data["events"]
    assert [q.question for q in questions] == list(data["questions"].values())


def test_load_timing_questions_errors_name_the_file(tmp_path):
    broken = tmp_path / "events.json"
    broken.write_text('{"questions": {"x": "When?"}, "events": {}}', encoding="utf-8")
    with pytest.raises(helpers.InputError, match=r"events\.json.*make_events_video"):
        load_timing_questions(broken)
    with pytest.raises(helpers.InputError, match="make_events_video"):
        load_timing_questions(tmp_path / "missing.json")


# --- hostile answers: loops, overflows and lies (each row failed, hung or crashed before) --------

#: Characters of a looping answer. A linear parser reads it in milliseconds; the quadratic scans
#: these rows caught took over 40 s each. The suite has no timeout, so a regression shows as a
#: slow run; bench/parsers.py measures the parsers' timings.
HOSTILE = 200_000


def short_id(value):
    """A test id: a function's name, or a long value's start and length."""
    text = getattr(value, "__name__", None) or str(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


@pytest.mark.parametrize(
    ("parse", "head", "loop", "tail", "expected"),
    [
        (parse_events, '{"00:02.', "0", '": "x"}', []),  # a looping fraction in a range key
        (parse_events, '{"', "1", '": "x"}', []),  # a key of digits (8 000 took 3 s)
        (parse_events, '[{"start": "1', " ", 'x", "end": 3}]', []),  # spaces inside a start time
        (parse_time_answer, "x", " ", "at 00:04", 4.0),  # spaces before the time
        (parse_timestamp, "1", " ", "x", None),  # spaces before a word that is no unit
        (parse_timestamp, "1", " ", "s x", None),  # spaces, then a unit and more
    ],
)
def test_looping_answers_are_read_in_linear_time(parse, head, loop, tail, expected):
    text = head + loop * (HOSTILE // len(loop)) + tail
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (parse_timestamp, 10**400, None),  # a 400-digit JSON integer: OverflowError before
        (parse_events, '[{"start": ' + "1" * 400 + ', "end": 2, "event": "x"}]', []),  # the same in an answer
        (parse_timestamp, "00:02." + "0" * 40, None),  # longer than any real time: a loop (was 2.0)
        (parse_events, '[{"start": "00:02.' + "0" * 40 + '", "end": 3}]', []),  # the same in an answer
    ],
    ids=short_id,
)  # fmt: skip
def test_numbers_are_bounded(parse, value, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert parse(value) == expected


@pytest.mark.parametrize(
    "interval",
    [
        {"start": 10**400, "end": 2.0},  # a 400-digit time: OverflowError before
        {"start": float("nan"), "end": 2.0},  # NaN (JSON allows it): was loaded as a time
        {"start": 0.0, "end": float("inf")},  # Infinity: the same
    ],
)
def test_event_truth_times_must_be_finite_numbers(tmp_path, interval):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"intervals": {"ball": interval}}), encoding="utf-8")
    with pytest.raises(helpers.InputError, match=r"events\.json.*make_events_video"):
        load_event_truth(path)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("1. The ball appears at 00:04.00.", 4.0),  # a list's number is no time (was 1.0)
        ("1. The ball appears at 4.0 seconds.", 4.0),  # the same before seconds with a unit
        ("1) At 4s.", 4.0),  # the same with a parenthesis
        ("1. 4", 4.0),  # the same before a bare number
        ("Step 1: 00:04", 4.0),  # a marked time counts before a bare number (was 1.0)
        ("There are 2 balls; the red one appears at 00:04.", 4.0),  # a count is no time (was 2.0)
        ("In frame 12, at <4.0 seconds>.", 4.0),  # a frame number is no time (was 12.0)
        ("2,5 seconds", 2.5),  # a decimal comma, as parse_timestamp reads it (was 2.0)
        ("Answer:\n1. 00:04\n2. 00:06", 4.0),  # a numbered list of times: the first time
    ],
)
def test_parse_time_answer_prefers_a_marked_time(answer, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a readable answer gives no warning
        assert parse_time_answer(answer) == expected


@pytest.mark.parametrize(
    ("truth", "predicted", "tiou"),
    [
        ({"start": 8.0, "end": 2.0}, Event(2.0, 8.0), 1.0),  # reversed in the file: was 0.0
        ({"start": 8.0, "end": 2.0}, Event(3.0, 8.0), 5 / 6),  # and a near miss scores as one
    ],
)
def test_a_reversed_truth_interval_is_swapped_with_a_warning(tmp_path, truth, predicted, tiou):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"intervals": {"ball": truth}}), encoding="utf-8")
    with pytest.warns(UserWarning, match=r"events\.json.*'ball' ends before it starts"):
        known = load_event_truth(path)
    assert known["ball"] == Event(2.0, 8.0)
    assert match_events([predicted], known)[0].tiou == pytest.approx(tiou)
    with pytest.warns(UserWarning, match=r"event 'ball' ends before it starts"):  # built by hand
        assert match_events([predicted], {"ball": Event(8.0, 2.0)})[0].tiou == pytest.approx(tiou)
