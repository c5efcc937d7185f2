"""Official prompts, budgets and settings; answers in the shapes the official cookbooks and Gemini write."""

from __future__ import annotations

import warnings

import pytest
import torch

import helpers
from helpers import prompts
from helpers.chat import PresencePenalty, _generation_kwargs
from helpers.detection import parse_detections, parse_points
from helpers.serving import RemoteModel, request_body

# --- prompts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("categories", "kind", "expected"),
    [
        # one category, boxes (2d_grounding cookbook wording)
        (
            "car",
            "box",
            'Locate every instance that belongs to the following categories: "car". Report bbox coordinates in JSON format.',
        ),
        # several categories: one quoted, comma-separated list, as the cookbook writes it
        (
            ["head", "hand", "glasses"],
            "box",
            'Locate every instance that belongs to the following categories: "head, hand, glasses". Report bbox coordinates in JSON format.',
        ),
        # points: the cookbook's pointing example, with its JSON shape
        (
            ["person", "ball"],
            "point",
            'Locate every instance that belongs to the following categories with points: "person, ball". '
            'Report their point coordinates in JSON format like this: {"point_2d": [x, y], "label": "person"}',
        ),
    ],
)
def test_grounding_prompt(categories, kind, expected):
    assert helpers.grounding_prompt(categories, kind) == expected


@pytest.mark.parametrize("categories", [[], "", ["ok", " "]])
def test_grounding_prompt_needs_names(categories):
    with pytest.raises(ValueError, match="category names"):
        helpers.grounding_prompt(categories)


def test_grounding_prompt_bad_kind():
    with pytest.raises(ValueError, match="'box' or 'point'"):
        helpers.grounding_prompt("car", "mask")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("OCR_PROMPT", "Read all the text in the image."),  # ocr cookbook, README
        ("MARKDOWN_PROMPT", "qwenvl markdown"),  # document_parsing cookbook keyword
        ("HTML_DOCUMENT_PROMPT", "qwenvl html"),  # document_parsing cookbook keyword
        (
            "SPOTTING_PROMPT",
            "Spotting all the text in the image with line-level, and output in JSON format.",
        ),  # ocr cookbook
        (
            "SKETCH_TO_HTML_PROMPT",
            "Analyze this screenshot and convert it to clean, functional and modern HTML code.",
        ),  # mmcode cookbook
    ],
)
def test_official_prompts(name, text):
    assert getattr(helpers, name) == text


# --- settings --------------------------------------------------------------------------------


def test_sampling_preset_is_the_model_cards_full_set():
    assert helpers.GENERATION_PRESETS["sampling"] == {
        "do_sample": True,
        "temperature": 0.7,
        "top_p": 0.8,
        "top_k": 20,
        "repetition_penalty": 1.0,
        "presence_penalty": 1.5,
    }


def test_mmcode_preset_is_the_cookbooks_settings_and_nothing_else():
    # the mmcode cookbook's image-to-HTML call sets temperature=0.8 and max_tokens=16384 only
    assert helpers.GENERATION_PRESETS["mmcode"] == {"do_sample": True, "temperature": 0.8}
    assert helpers.HTML_MAX_NEW_TOKENS == 16384


@pytest.mark.parametrize("preset", ["sampling", "mmcode"])
def test_forcing_greedy_turns_any_preset_greedy(monkeypatch, preset):
    monkeypatch.setenv(prompts.GREEDY_ENV_VAR, "1")
    settings = _generation_kwargs(preset, 8, {})
    assert settings["do_sample"] is False
    assert "presence_penalty" not in settings
    monkeypatch.delenv(prompts.GREEDY_ENV_VAR)
    assert _generation_kwargs(preset, 8, {})["do_sample"] is True


@pytest.mark.parametrize(
    ("cap", "asked", "expected"),
    [
        ("256", 16384, 256),  # capped
        ("256", 64, 64),  # below the cap: unchanged
        ("", 64, 64),  # empty: no cap
    ],
)
def test_max_new_tokens_cap(monkeypatch, cap, asked, expected):
    monkeypatch.setenv(prompts.MAX_NEW_TOKENS_ENV_VAR, cap)
    assert _generation_kwargs("greedy", asked, {})["max_new_tokens"] == expected


@pytest.mark.parametrize("cap", ["0", "-3", "lots"])
def test_bad_max_new_tokens_cap_says_what_to_set(monkeypatch, cap):
    monkeypatch.setenv(prompts.MAX_NEW_TOKENS_ENV_VAR, cap)
    with pytest.raises(ValueError, match="positive whole number"):
        _generation_kwargs("greedy", 8, {})


def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match="greedy"):
        _generation_kwargs("creative", 8, {})


@pytest.mark.parametrize(
    ("generated", "penalty", "expected"),
    [
        # nothing generated yet: scores unchanged
        ([], 1.5, [1.0, 2.0, 3.0, 4.0]),
        # token 2 already generated (twice): minus 1.5 once, whatever the count
        ([2, 2], 1.5, [1.0, 2.0, 1.5, 4.0]),
        # two different tokens: each penalised once
        ([0, 3], 2.0, [-1.0, 2.0, 3.0, 2.0]),
    ],
)
def test_presence_penalty(generated, penalty, expected):
    prompt = [1, 1, 1]  # prompt tokens are not penalised
    processor = PresencePenalty(penalty, prompt_length=len(prompt))
    ids = torch.tensor([prompt + generated])
    scores = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    assert processor(ids, scores).tolist() == [expected]


def test_presence_penalty_reaches_the_server_request():
    body = request_body(
        RemoteModel(client=None, name="m", base_url="http://localhost:8000/v1"),
        [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        max_new_tokens=8,
        settings=_generation_kwargs("sampling", 8, {}),
    )
    assert body["presence_penalty"] == 1.5
    assert body["temperature"] == 0.7 and body["top_p"] == 0.8
    assert body["extra_body"]["top_k"] == 20


def test_sampling_preset_runs_locally(tiny):
    model, processor = tiny
    torch.manual_seed(0)
    answer = helpers.chat(
        model,
        processor,
        [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        max_new_tokens=4,
        min_new_tokens=4,
        preset="sampling",
    )
    assert isinstance(answer, str)


# --- pixel budgets ---------------------------------------------------------------------------


def test_budgets_in_tokens():
    assert helpers.prompts.pixel_budget_tokens(helpers.OCR_PIXELS) == {
        "min_pixels": 512,
        "max_pixels": 2048,
    }
    assert helpers.prompts.pixel_budget_tokens(helpers.GROUNDING_PIXELS) == {
        "min_pixels": 64,
        "max_pixels": 9800,
    }


def test_ocr_floor_enlarges_a_small_image(tiny):
    _model, processor = tiny
    small = helpers.INPUT_DIR / "receipts" / "02_small_print.png"
    [native] = helpers.count_visual_tokens(processor, helpers.image_message(small, "x"))
    [floored] = helpers.count_visual_tokens(
        processor, helpers.image_message(small, "x", **helpers.OCR_PIXELS)
    )
    assert native.tokens < 512 <= floored.tokens <= 2048


# --- answers in the shapes the official cookbooks and Gemini write ----------------------------

# 2d_grounding cookbook: a fenced, tab-indented list (first rows of its dining-table answer).
GROUNDING_ANSWER = """```json
[
\t{"bbox_2d": [74, 361, 324, 808], "label": "plate/dish"},
\t{"bbox_2d": [691, 235, 775, 328], "label": "scallop"},
\t{"bbox_2d": [162, 0, 303, 354], "label": "wine bottle"}
]
```"""


@pytest.mark.parametrize(
    ("answer", "label_key", "expected"),
    [
        # the 2d_grounding cookbook's shape
        (
            GROUNDING_ANSWER,
            "label",
            [
                ("plate/dish", (74, 361, 324, 808)),
                ("scallop", (691, 235, 775, 328)),
                ("wine bottle", (162, 0, 303, 354)),
            ],
        ),
        # 2d_grounding cookbook, boxes with extra keys (type, color): extra keys ignored
        (
            '[{"bbox_2d": [10, 20, 30, 40], "label": "vehicle", "type": "car", "color": "red"}]',
            "label",
            [("vehicle", (10, 20, 30, 40))],
        ),
        # ocr cookbook text spotting: text_content instead of label
        (
            '```json\n[{"bbox_2d": [12, 30, 400, 52], "text_content": "TOTAL 12.50"}]\n```',
            "text_content",
            [("TOTAL 12.50", (12, 30, 400, 52))],
        ),
        # Gemini: box_2d is [ymin, xmin, ymax, xmax] -> read y first
        (
            '```json\n[{"box_2d": [100, 200, 300, 400], "label": "cat"}]\n```',
            "label",
            [("cat", (200, 100, 400, 300))],
        ),
        # Gemini, a tall thin box: transposing it would give a wide flat one
        (
            '[{"box_2d": [0, 450, 1000, 550], "label": "pole"}]',
            "label",
            [("pole", (450, 0, 550, 1000))],
        ),
    ],
)
def test_official_and_gemini_box_answers(answer, label_key, expected):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        found = parse_detections(answer, label_key=label_key)
    assert [(d.label, d.box) for d in found] == [
        (label, tuple(map(float, box))) for label, box in expected
    ]


def test_gemini_box_order_is_announced():
    with pytest.warns(UserWarning, match="y first"):
        parse_detections('[{"box_2d": [100, 200, 300, 400], "label": "cat"}]')


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # 2d_grounding cookbook pointing example: extra keys (role, shirt_color)
        (
            '```json\n[{"point_2d": [512, 300], "label": "person", "role": "player", "shirt_color": "red"}]\n```',
            [("person", (512, 300))],
        ),
        # Gemini pointing: "point" is [y, x] -> read y first
        ('[{"point": [300, 512], "label": "person"}]', [("person", (512, 300))]),
    ],
)
def test_official_and_gemini_point_answers(answer, expected):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        found = parse_points(answer)
    assert [(p.label, p.point) for p in found] == [
        (label, tuple(map(float, xy))) for label, xy in expected
    ]


# --- scoring markdown answers fairly ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        # plain text stays as it is
        ("TOTAL 12.50", "TOTAL 12.50"),
        # heading and emphasis markers dropped
        ("# Cafe Nord\n\n**TOTAL** 12.50", "Cafe Nord\nTOTAL 12.50"),
        # a table: rule row dropped, cells kept in reading order
        (
            "| item | price |\n|---|---|\n| tea | 2.50 |\n| cake | 3.10 |",
            "item price\ntea 2.50\ncake 3.10",
        ),
        # list markers dropped
        ("- tea 2.50\n- cake 3.10", "tea 2.50\ncake 3.10"),
        # an HTML table inside markdown (document parsing answers hold them)
        (
            "<table><tr><td>tea</td><td>2.50</td></tr><tr><td>cake</td><td>3.10</td></tr></table>",
            "tea 2.50\ncake 3.10",
        ),
        # the whole answer in a markdown fence: the markdown inside is read
        ("```markdown\n# TOTAL\n\n*12.50*\n```", "TOTAL\n12.50"),
        # a code fence of another language stays verbatim
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        # qwenvl markdown writes tables in LaTeX (document_parsing cookbook): cells, not commands
        (
            "<!-- Table (10, 20, 900, 300) -->\n\\begin{tabular}{|l|r|}\n\\hline\n"
            "item & price \\\\\n\\hline\ntea & 2.50 \\\\\ncake & \\textbf{3.10} \\\\\n"
            "\\hline\n\\end{tabular}",
            "item price\ntea 2.50\ncake 3.10",
        ),
        # a LaTeX table cut off by max_new_tokens keeps its complete rows
        ("Prices\n\\begin{tabular}{lr} tea & 2.50 \\\\ cake & 3", "Prices\ntea 2.50\ncake 3"),
    ],
)
def test_markdown_to_text(answer, text):
    assert helpers.markdown_to_text(answer) == text


def test_markdown_scored_against_plain_reference_counts_no_markup():
    reference = "item price\ntea 2.50"
    answer = "| item | price |\n|---|---|\n| tea | 2.50 |"
    assert helpers.cer(answer, reference) > 0.3
    assert helpers.cer(helpers.markdown_to_text(answer), reference) == 0.0
