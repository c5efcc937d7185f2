import time
import warnings

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.detection import (
    Detection,
    Point,
    draw_detections,
    parse_detections,
    parse_points,
)
from helpers.scoring import load_coco_ground_truth, score_detections

# A plain transformers tutorial's raw answer (first three rows of it).
ARTICLE = """```json
[
\t{"bbox_2d": [623, 748, 850, 860], "label": "car"},
\t{"bbox_2d": [644, 701, 700, 762], "label": "car"},
\t{"bbox_2d": [0, 731, 217, 874], "label": "car"}
]
```"""


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # the article's fenced answer
        (
            ARTICLE,
            [
                ("car", (623, 748, 850, 860)),
                ("car", (644, 701, 700, 762)),
                ("car", (0, 731, 217, 874)),
            ],
        ),
        # bare JSON list, no fence
        ('[{"bbox_2d": [10, 20, 30, 40], "label": "dog"}]', [("dog", (10, 20, 30, 40))]),
        # prose around a fenced block
        (
            'Here are the boxes:\n```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "cat"}]\n```\nDone!',
            [("cat", (1, 2, 3, 4))],
        ),
        # prose around bare JSON
        (
            'Sure! [{"bbox_2d": [1, 2, 3, 4], "label": "cat"}] Hope that helps.',
            [("cat", (1, 2, 3, 4))],
        ),
        # a single object instead of a list
        ('{"bbox_2d": [5, 6, 7, 8], "label": "cup"}', [("cup", (5, 6, 7, 8))]),
        # Python-style quotes
        ("[{'bbox_2d': [5, 6, 7, 8], 'label': 'cup'}]", [("cup", (5, 6, 7, 8))]),
        # a thinking block before the answer (with a decoy list inside it)
        (
            '<think>maybe [1, 2]?</think>\n```json\n[{"bbox_2d": [5, 6, 7, 8], "label": "cup"}]\n```',
            [("cup", (5, 6, 7, 8))],
        ),
        # cut off by max_new_tokens in the middle of the third object: first two kept
        (
            '```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6, 7, 8], "label": "b"}, {"bbox_2d": [9, 10, 1',
            [("a", (1, 2, 3, 4)), ("b", (5, 6, 7, 8))],
        ),
        # cut off inside the label of the last object: dropped, not guessed
        (
            '[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6, 7, 8], "label": "bic',
            [("a", (1, 2, 3, 4))],
        ),
        # cut off right after a complete object
        ('```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "a"},\n', [("a", (1, 2, 3, 4))]),
        # corners in the wrong order are normalised
        ('[{"bbox_2d": [300, 400, 100, 200], "label": "x"}]', [("x", (100, 200, 300, 400))]),
        # coordinates outside 0-1000 are clipped
        ('[{"bbox_2d": [-20, 950, 400, 1080], "label": "x"}]', [("x", (0, 950, 400, 1000))]),
        # malformed entries skipped, the rest kept
        (
            '[{"bbox_2d": [1, 2, 3], "label": "short"}, {"label": "nobox"}, "junk", {"bbox_2d": ["a", 2, 3, 4]},'
            ' {"bbox_2d": [1, 2, 3, 4], "label": "ok"}]',
            [("ok", (1, 2, 3, 4))],
        ),
        # non-ASCII labels kept
        (
            '[{"bbox_2d": [1, 2, 3, 4], "label": "自行车"}, {"bbox_2d": [5, 6, 7, 8], "label": "собака"}]',
            [("自行车", (1, 2, 3, 4)), ("собака", (5, 6, 7, 8))],
        ),
        # numbers as strings and a nested box list
        ('[{"bbox_2d": [["10", "20", "30", "40"]], "label": "n"}]', [("n", (10, 20, 30, 40))]),
        # upper-case fence tag, trailing comma
        ('```JSON\n[{"bbox_2d": [1, 2, 3, 4], "label": "t",},]\n```', [("t", (1, 2, 3, 4))]),
        # an empty list: the model found nothing
        ("```json\n[]\n```", []),
    ],
)
def test_parse_detections(answer, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = parse_detections(answer)
    assert [(d.label, d.box) for d in found] == [
        (label, tuple(map(float, box))) for label, box in expected
    ]


@pytest.mark.parametrize("answer", ["I cannot see any cars.", "", "```\nnothing\n```"])
def test_no_json_warns_and_returns_empty(answer):
    with pytest.warns(UserWarning, match="no JSON"):
        assert parse_detections(answer) == []


def test_text_spotting_label_key():
    answer = '[{"bbox_2d": [1, 2, 3, 4], "text_content": "TOTAL 12.50"}]'
    assert parse_detections(answer, label_key="text_content")[0].label == "TOTAL 12.50"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            '```json\n[{"point_2d": [100, 200], "label": "ball"}]\n```',
            [("ball", (100, 200))],
        ),  # fenced
        ("{'point_2d': [5, 6], 'label': 'x'}", [("x", (5, 6))]),  # one object, Python quotes
        (
            '[{"point_2d": [1200, -5], "label": "o"}, {"point_2d": [1], "label": "bad"}]',
            [("o", (1000, 0))],
        ),  # clip, skip
        (
            '[{"point_2d": [1, 2], "label": "a"}, {"point_2d": [3, 4], "lab',
            [("a", (1, 2))],
        ),  # cut off
    ],
)
def test_parse_points(answer, expected):
    assert [(p.label, p.point) for p in parse_points(answer)] == [
        (label, tuple(map(float, xy))) for label, xy in expected
    ]


@pytest.mark.parametrize(
    ("box", "size", "pixels"),
    [
        ((0, 0, 1000, 1000), (641, 479), (0, 0, 641, 479)),  # full image, odd sizes
        ((500, 500, 500, 500), (3, 3), (2, 2, 2, 2)),  # 1.5 rounds to even
        ((100, 250, 333, 999), (1001, 7), (100, 2, 333, 7)),  # odd width and tiny height
    ],
)
def test_to_pixels(box, size, pixels):
    assert Detection("x", box).to_pixels(*size) == pixels


@pytest.mark.parametrize(
    ("box", "pattern"),
    [
        ((500, 100, 400, 200), "x1 <= x2"),  # corners swapped in x
        ((100, 500, 200, 400), "y1 <= y2"),  # corners swapped in y
        ((0, 0, 10), "4 finite numbers"),  # three numbers
        ((0, 0, float("nan"), 10), "4 finite numbers"),  # not a number
    ],
)
def test_detection_checks_its_box(box, pattern):
    with pytest.raises(ValueError, match=pattern):
        Detection("x", box)


def test_point_to_pixels():
    assert Point("p", (250, 750)).to_pixels(400, 200) == (100, 150)


def test_draw_leaves_input_unchanged_and_colours_boxes():
    image = Image.new("RGB", (200, 100), "white")
    before = np.asarray(image).copy()
    out = draw_detections(image, [Detection("car", (100, 200, 500, 800))])
    np.testing.assert_array_equal(np.asarray(image), before)
    x1, y1, _, y2 = Detection("car", (100, 200, 500, 800)).to_pixels(200, 100)
    edge = np.asarray(out)[(y1 + y2) // 2, x1]  # left edge, halfway down
    assert tuple(edge) != (255, 255, 255)
    colors = helpers.label_colors(["car"])
    assert tuple(edge) == colors["car"]


def test_two_labels_get_two_colours():
    image = Image.new("RGB", (300, 300), "white")
    out = np.asarray(
        draw_detections(
            image, [Detection("a", (100, 100, 400, 400)), Detection("b", (600, 600, 900, 900))]
        )
    )
    assert tuple(out[60, 30]) != tuple(out[240, 180])


def test_non_latin_label_is_rendered():
    image = Image.new("RGB", (300, 200), "white")
    plain = np.asarray(draw_detections(image, [Detection("", (300, 300, 700, 900))]))
    labelled = np.asarray(draw_detections(image, [Detection("自行车", (300, 300, 700, 900))]))
    assert (plain != labelled).any(axis=-1).sum() > 50  # a label box with glyphs was drawn
    assert helpers.common.fonts.font_path() is not None, (
        "install fonts-noto-cjk or fonts-dejavu-core"
    )


def test_points_drawn_as_markers():
    image = Image.new("RGB", (200, 200), "white")
    out = np.asarray(draw_detections(image, points=[Point("ball", (500, 500))]))
    assert tuple(out[100, 100]) == helpers.label_colors(["ball"])["ball"]


TRUTH = [
    Detection("car", (0, 0, 100, 100)),
    Detection("car", (200, 200, 300, 300)),
    Detection("dog", (500, 500, 600, 600)),
]


@pytest.mark.parametrize(
    ("predictions", "tp", "fp", "fn", "mean_iou"),
    [
        (TRUTH, 3, 0, 0, 1.0),  # perfect
        ([], 0, 0, 3, 0.0),  # nothing predicted
        ([Detection("car", (0, 0, 100, 50))], 1, 0, 2, 0.5),  # IoU exactly 0.5 counts
        ([Detection("car", (0, 0, 100, 49))], 0, 1, 3, 0.0),  # IoU 0.49 does not
        ([Detection("dog", (0, 0, 100, 100))], 0, 1, 3, 0.0),  # right place, wrong label
        (
            [Detection("car", (0, 0, 100, 100)), Detection("car", (0, 0, 100, 100))],
            1,
            1,
            2,
            1.0,
        ),  # duplicate
        ([Detection("Car ", (200, 200, 300, 300))], 1, 0, 2, 1.0),  # label case and spaces ignored
    ],
)
def test_score_detections(predictions, tp, fp, fn, mean_iou):
    score = score_detections(predictions, TRUTH)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (tp, fp, fn)
    assert score.mean_iou == pytest.approx(mean_iou)


def test_score_without_labels_and_ratios():
    score = score_detections(
        [Detection("dog", (0, 0, 100, 100)), Detection("x", (900, 900, 950, 950))],
        TRUTH,
        match_labels=False,
    )
    assert (score.precision, score.recall) == (0.5, pytest.approx(1 / 3))


def test_coco_ground_truth_is_in_model_space():
    truth = load_coco_ground_truth(
        helpers.INPUT_DIR / "detection_ground_truth.json", "basketball1.png"
    )
    assert sorted(d.label for d in truth) == ["ball", "person", "person"]
    assert all(0 <= v <= 1000 for d in truth for v in d.box)
    person = next(d for d in truth if d.label == "person")
    assert person.to_pixels(640, 480) == (38, 82, 160, 478)


def test_coco_unknown_image():
    with pytest.raises(helpers.InputError, match=r"not in .*has"):
        load_coco_ground_truth(helpers.INPUT_DIR / "detection_ground_truth.json", "nope.png")


@pytest.mark.parametrize(
    ("answer", "boxes"),
    [
        # brackets nested 100 000 deep: no RecursionError, nothing found
        ("[" * 100_000, 0),
        # objects nested 50 000 deep
        ('{"a":' * 50_000, 0),
        # a 400-digit coordinate: that entry skipped (no OverflowError), the next one kept
        ('[{"bbox_2d": [' + "9" * 400 + ', 1, 2, 3]}, {"bbox_2d": [1, 2, 3, 4]}]', 1),
        # a 5000-digit coordinate (beyond Python's integer-string limit)
        ('[{"bbox_2d": [' + "9" * 5000 + ', 1, 2, 3]}, {"bbox_2d": [1, 2, 3, 4]}]', 1),
        # 1e400 is infinite: skipped
        ('[{"bbox_2d": [1e400, 1, 2, 3]}, {"bbox_2d": [1, 2, 3, 4]}]', 1),
        # Python-style quotes followed by deep garbage: the text is skipped (with a warning)
        ("[{'bbox_2d': [1, 2, 3, 4]}] " + "[" * 5000, 0),
    ],
)
def test_hostile_answers_do_not_crash(answer, boxes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(parse_detections(answer)) == boxes
        assert parse_points(answer.replace("bbox_2d", "point_2d").replace(", 3]", "]")) is not None


@pytest.mark.parametrize(
    "answer",
    [
        "```" * 100_000,  # bare fences: 20 s in a quadratic fence search at a third of this size
        "```json" * 50_000,  # fences with a tag, no line break
        "```\n" * 100_000,  # 50 000 empty blocks
        "[" * 300_000,  # an endless open list
    ],
)
def test_hostile_answers_do_not_hang(answer):
    # A guard against hangs, not a speed test (bench/parsers.py measures speed): each of these
    # took minutes before; a linear parser takes well under a second.
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert parse_detections(answer) == []
    assert time.monotonic() - start < 10
