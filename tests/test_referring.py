import colorsys
import json
import warnings

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.detection import Detection
from helpers.prompts import attribute_prompt, referring_prompt
from helpers.referring import (
    AttributedBox,
    load_referring_truth,
    normalize_attribute,
    parse_attributed_boxes,
    score_attributes,
    score_referring,
)

TRUTH = helpers.INPUT_DIR / "referring_ground_truth.json"


def test_prompts_follow_the_official_shapes():
    assert referring_prompt(" the leftmost red sweet ") == (
        "Locate the leftmost red sweet, output its bbox coordinates using JSON format."
    )
    prompt = attribute_prompt("vehicle", {"type": "car, bus, truck", "color": "vehicle_color"})
    assert prompt.startswith(
        'Locate every instance that belongs to the following categories: "vehicle". '
        "For each vehicle, report bbox coordinates and type and color in JSON format like this: "
    )
    assert prompt.endswith(
        '{"bbox_2d": [x1, y1, x2, y2], "label": "vehicle", "type": "car, bus, truck", "color": "vehicle_color"}'
    )
    with pytest.raises(ValueError, match="expression"):
        referring_prompt("  ")
    with pytest.raises(ValueError, match="attribute"):
        attribute_prompt("sweet", {})


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # fenced, one colour per box
        (
            '```json\n[{"bbox_2d": [1, 2, 30, 40], "label": "sweet", "color": "red"}, {"bbox_2d": [5, 6, 70, 80], "label": "sweet", "color": "Dark Brown"}]\n```',
            [((1, 2, 30, 40), {"color": "red"}), ((5, 6, 70, 80), {"color": "Dark Brown"})],
        ),
        # two attributes, a single object in prose
        (
            'Found: {"bbox_2d": [10, 20, 30, 40], "label": "vehicle", "type": "bus", "color": "white"} ok',
            [((10, 20, 30, 40), {"type": "bus", "color": "white"})],
        ),
        # a malformed box skipped, the others keep their own attributes
        (
            '[{"bbox_2d": [1, 2, 3], "color": "x"}, {"bbox_2d": [5, 6, 70, 80], "label": "s", "color": "blue"}]',
            [((5, 6, 70, 80), {"color": "blue"})],
        ),
        # cut off in the last entry: dropped
        (
            '[{"bbox_2d": [1, 2, 30, 40], "label": "s", "color": "green"}, {"bbox_2d": [5, 6, 70, 80], "label": "s", "col',
            [((1, 2, 30, 40), {"color": "green"})],
        ),
        # a non-text attribute is kept as JSON text
        ('[{"bbox_2d": [1, 2, 30, 40], "color": ["red", "white"]}]', [((1, 2, 30, 40), {"color": '["red", "white"]'})]),
    ],
)  # fmt: skip
def test_parse_attributed_boxes(answer, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = parse_attributed_boxes(answer)
    assert [(b.detection.box, b.attributes) for b in found] == [
        (tuple(map(float, box)), attrs) for box, attrs in expected
    ]


@pytest.mark.parametrize("answer", ["No sweets here.", "", "```json\nnope\n```"])
def test_attributed_garbage_warns_and_returns_empty(answer):
    with pytest.warns(UserWarning, match="no JSON"):
        assert parse_attributed_boxes(answer) == []


@pytest.mark.parametrize(
    ("truth", "value", "named"),
    [
        ("brown", "dark brown", True),  # a shade names the colour
        ("red", "Red", True),  # case
        ("gray", "grey", True),  # spelling
        ("red", "reddish orange", False),  # "reddish" is not "red"
        ("green", "", False),  # nothing written
    ],
)
def test_normalize_attribute(truth, value, named):
    assert (normalize_attribute(truth) <= normalize_attribute(value)) is named


def test_score_referring_uses_the_first_box():
    expressions, _ = load_referring_truth(TRUTH)
    target = expressions[0]
    right, wrong = Detection("x", target.box), Detection("x", (900, 900, 1000, 1000))
    assert score_referring([right], target).iou == pytest.approx(1.0)
    first_wrong = score_referring([wrong, right], target)
    assert (first_wrong.iou, first_wrong.hit, first_wrong.boxes) == (0.0, False, 2)
    assert score_referring([], target).iou == 0.0
    x1, y1, x2, y2 = target.box
    half = Detection("x", (x1, y1, (x1 + x2) / 2, y2))
    assert score_referring([half], target).iou == pytest.approx(0.5)
    assert score_referring([half], target, iou_threshold=0.5).hit


def test_score_attributes():
    _, attributes = load_referring_truth(TRUTH)
    truth = attributes[0]
    perfect = [AttributedBox(d, {"color": v}) for d, v in truth.objects]
    assert score_attributes(perfect, truth).as_row() == {
        "precision": 1.0, "recall": 1.0, "attribute_accuracy": 1.0, "correct_of_expected": "14/14",
    }  # fmt: skip
    swapped = [AttributedBox(d, {"color": "purple"}) for d, _ in truth.objects[:7]]
    score = score_attributes(swapped, truth)
    assert (score.matched, score.correct, score.as_row()["recall"]) == (7, 0, 0.5)
    assert score_attributes([], truth).as_row()["attribute_accuracy"] == 0.0


def _colour(rgb):
    hue, _saturation, value = colorsys.rgb_to_hsv(*(np.asarray(rgb) / 255))
    hue *= 360
    if value < 0.35:
        return "brown"
    if hue < 8 or hue > 345:
        return "red"
    if hue < 40:
        return "orange"
    if 90 < hue < 160:
        return "green"
    if 190 < hue < 250:
        return "blue"
    return f"unknown hue {hue:.0f}"


def test_referring_truth_agrees_with_the_coco_boxes_and_the_pixels():
    data = json.loads(TRUTH.read_text())
    coco = json.loads((helpers.INPUT_DIR / "detection_ground_truth.json").read_text())
    boxes = {a["id"]: a["bbox"] for a in coco["annotations"]}
    for entry in data["expressions"] + [o for a in data["attributes"] for o in a["objects"]]:
        x, y, w, h = boxes[entry["annotation_id"]]
        assert entry["box_px"] == [x, y, x + w, y + h], entry
    # Every colour, read by eye, agrees with the pixels at the sweet's centre.
    [sweets] = data["attributes"]
    image = np.asarray(Image.open(helpers.INPUT_DIR / sweets["image"]).convert("RGB")).astype(float)
    colours = {}
    for sweet in sweets["objects"]:
        x1, y1, x2, y2 = sweet["box_px"]
        cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 6, (y2 - y1) / 6
        centre = image[int(cy - ry) : int(cy + ry), int(cx - rx) : int(cx + rx)].reshape(-1, 3)
        assert _colour(centre.mean(axis=0)) == sweet["color"], sweet
        colours[sweet["annotation_id"]] = (sweet["color"], (x1, y1, x2, y2))
    assert len(colours) == len(coco["annotations"]) - 3  # every sweet (the rest are basketball1)
    # The expressions on the sweets pick what they say, given those colours and boxes.
    by_expression = {e["expression"]: e["annotation_id"] for e in data["expressions"]}

    def pick(colour, key):
        return min(
            (i for i, (c, _) in colours.items() if c == colour), key=lambda i: key(colours[i][1])
        )

    assert by_expression["the leftmost red sweet"] == pick("red", lambda b: b[0])
    assert by_expression["the highest green sweet"] == pick("green", lambda b: b[1])
    assert by_expression["the lower of the two orange sweets"] == pick("orange", lambda b: -b[3])
    assert sum(c == "orange" for c, _ in colours.values()) == 2
    assert by_expression["the blue sweet in the top right corner"] == pick(
        "blue", lambda b: b[1] - b[2]
    )
    # On basketball1: the ball's box overlaps one person's (the holder), not the other's.
    ball = boxes[by_expression["the basketball"]]
    holder = boxes[by_expression["the man holding the ball"]]
    other = boxes[by_expression["the man in the patterned shirt"]]
    assert holder[0] < ball[0] < holder[0] + holder[2] and ball[0] + ball[2] < other[0]


def test_load_referring_truth_scales_to_0_1000():
    expressions, attributes = load_referring_truth(TRUTH)
    first = expressions[0]
    with Image.open(first.image) as img:
        w, h = img.size
    assert first.box == pytest.approx(
        (
            first.box_px[0] / w * 1000,
            first.box_px[1] / h * 1000,
            first.box_px[2] / w * 1000,
            first.box_px[3] / h * 1000,
        )
    )
    assert len(attributes[0].objects) == 14


def test_load_referring_truth_errors_name_the_file(tmp_path):
    bad = tmp_path / "truth.json"
    bad.write_text('{"expressions": [{"image": "missing.png"}]}')
    with pytest.raises(helpers.InputError, match=r"truth\.json"):
        load_referring_truth(bad)


BALL = helpers.referring.ReferringTruth(
    helpers.INPUT_DIR / "basketball1.png", "the ball", (100, 100, 300, 300), (10, 10, 30, 30)
)


@pytest.mark.parametrize(
    ("answer", "iou", "hit", "boxes"),
    [
        ('[{"bbox_2d": [100, 100, 300, 300], "label": "ball"}]', 1.0, True, 1),  # exact box
        ('```json\n[{"bbox_2d": [100, 100, 200, 300]}]\n```', 0.5, True, 1),  # fenced, half
        ('{"bbox_2d": [600, 600, 700, 700]}', 0.0, False, 1),  # a bare object, elsewhere
        ('[{"bbox_2d": [600, 600, 700, 700]}, {"bbox_2d": [100, 100, 300, 300]}]', 0.0, False, 2),
        # only the first box counts, even when the second is right
        ("There is no ball.", 0.0, False, 0),  # prose: no box
    ],
)
def test_referring_result(answer, iou, hit, boxes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = helpers.referring_result(BALL, answer)
    assert (round(result.score.iou, 3), result.score.hit, result.score.boxes) == (iou, hit, boxes)
    assert len(result.first) == min(boxes, 1)
    assert all(d.label == "the ball" for d in result.first)
    assert result.as_row()["expression"] == "the ball"


def test_draw_referring_one_picture_per_image():
    expressions, _ = load_referring_truth(TRUTH)
    results = [
        helpers.referring_result(e, json.dumps({"bbox_2d": list(e.box)})) for e in expressions
    ]
    images = list(dict.fromkeys(e.image for e in expressions))
    grid = helpers.draw_referring(results, columns=len(images))
    plain = helpers.image_grid([helpers.load_image(i) for i in images], columns=len(images))
    assert grid.size == plain.size  # one tile per image
    changed = (np.asarray(grid) != np.asarray(plain)).any(axis=2).mean()
    assert 0 < changed < 0.5  # boxes were drawn over the pictures
    with pytest.raises(ValueError, match="no results"):
        helpers.draw_referring([])
