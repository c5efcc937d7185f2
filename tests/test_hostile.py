"""Hostile, looping and lying model answers, and bad input around them.

Each table holds literal inputs as a model (or a user) really produces them, one case per row.
Parsers finish on 100 000-character looping answers (``bench/parsers.py`` times them); errors name
the input and the fix; the report card shows model text only escaped.
"""

import json
import re
import warnings
from pathlib import Path

import pytest
from PIL import Image

import helpers
from helpers.common.errors import InputError
from helpers.common.markup import latex_tables_as_text, markdown_to_text
from helpers.document import parse_document_markdown
from helpers.referring import AttributedBox, AttributeTruth

SCRIPTS = helpers.common.paths.REPO_ROOT / "scripts"
N = 100_000


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --- looping answers: every parser finishes and keeps what it can read ---------------------------


@pytest.mark.parametrize(
    ("answer", "categories"),
    [
        # a placeholder opened again and again, never closed: kept as text, no figure invented
        ("<!-- Image (" * (N // 12), ["paragraph"]),
        # a thousand coordinates in one placeholder: malformed, the loop kept as text
        ("<!-- Image (" + "1, " * (N // 3), ["paragraph"]),
        # a LaTeX table that keeps opening cells
        ("\\begin{tabular}{" * (N // 16), ["paragraph"]),
        # bold inside a table, never closed
        ("\\begin{tabular}{l} \\textbf{" * (N // 26), ["paragraph"]),
        # thousands of link openers (markdown-it's slowest shape): read as text
        ("Total: 12\n\n" + "[" * N, ["paragraph", "paragraph"]),
        # a list item written again and again: the head is a list, the loop text
        ("# Items\n\n- cake\n" + "- tea\n" * (N // 6), ["title", "list_item", "paragraph"]),
    ],
)
def test_document_markdown_parsers_finish_on_looping_answers(answer, categories):
    blocks = quiet(parse_document_markdown, answer)
    assert [b.category for b in blocks] == categories
    assert blocks[-1].tag == "md:loop" and len(blocks[-1].text) > N // 2  # nothing dropped
    assert len(quiet(markdown_to_text, answer)) > N // 2
    assert isinstance(latex_tables_as_text(answer), str)


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        # a whole answer in a markdown fence, with fences looping after it
        ("```markdown\n# Total\n```" + "```" * (N // 3), None),
        # the ordinary case still reads
        ("```markdown\n# Total\n\nTea 2.50\n```", "Total\nTea 2.50"),
    ],
)
def test_markdown_to_text_reads_fenced_answers(answer, text):
    result = markdown_to_text(answer)
    if text is not None:
        assert result == text


# --- statements the parsers must not misread ---------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "categories"),
    [
        # Markdown that mentions the <body> element in prose is still Markdown
        (
            "# Notes\n\nUse the `<body>` element for content.\n\n- one",
            ["title", "paragraph", "list_item"],
        ),
        # ... and so is one that mentions <html>
        ("## Tags\n\nEvery page starts with <html> and ends with it.", ["heading", "paragraph"]),
        # qwenvl markdown starts with a placeholder comment: Markdown
        ("<!-- Image (10, 10, 200, 200) -->\n\n# Title", ["figure", "title"]),
        # an HTML page without boxes is HTML
        ("<html><body><h1>Title</h1><p>Text</p></body></html>", ["title", "paragraph"]),
        # a fenced html block is HTML
        ("Here:\n```html\n<h1>Title</h1>\n```", ["title"]),
    ],
)
def test_parse_document_tells_markdown_from_html(answer, categories):
    assert [b.category for b in quiet(helpers.parse_document, answer)] == categories


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        # a ``` inside <pre> does not cut the page: the whole document is taken
        (
            "```html\n<html><body><pre>\n```\nprint(1)\n```\n</pre></body></html>\n```",
            "<html><body><pre>\n```\nprint(1)\n```\n</pre></body></html>",
        ),
        # the same with a doctype and text after the page
        (
            "Page:\n```html\n<!DOCTYPE html><html><pre>```</pre></html>\n```\nDone.",
            "<!DOCTYPE html><html><pre>```</pre></html>",
        ),
        # an ordinary block is unchanged
        ("```html\n<p>Hi</p>\n```", "<p>Hi</p>"),
    ],
)
def test_extract_code_block_keeps_fences_inside_the_page(answer, code):
    assert helpers.extract_code_block(answer) == code


# --- scores that listing everything cannot win -----------------------------------------------

TRUTH = AttributeTruth(
    Path("x.png"), "sweet", "color", [(helpers.Detection("sweet", (0, 0, 100, 100)), "brown")]
)


@pytest.mark.parametrize(
    ("value", "correct"),
    [
        ("brown", 1),  # the known colour
        ("dark brown", 1),  # a shade of it
        ("red, green, blue, brown, yellow", 0),  # every colour listed: not an answer
        ("brown or red", 0),  # hedged between two
        ("brown/red", 0),  # the same with a slash
        ("red", 0),  # wrong
        ("", 0),  # none given
    ],
)
def test_attribute_scores_cannot_be_gamed(value, correct):
    found = [AttributedBox(helpers.Detection("sweet", (0, 0, 100, 100)), {"color": value})]
    assert helpers.score_attributes(found, TRUTH).correct == correct


# --- bad input named, with the fix ---------------------------------------------------------------


def _video(frames, **settings):
    return [
        {
            "role": "user",
            "content": [
                {"type": "video", "video": frames, **settings},
                {"type": "text", "text": "?"},
            ],
        }
    ]


FRAME = Image.new("RGB", (64, 48))


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        # frames of two sizes: a video has one frame size
        (
            _video([FRAME, Image.new("RGB", (80, 48))]),
            r"\['video'\]\[1\] is 80x48.*frame 0 is 64x48.*resize",
        ),
        # a frame rate of 0 would divide by zero later
        (_video([FRAME] * 4, sample_fps=0), r"sample_fps must be a positive number"),
        # NaN is no frame rate
        (_video([FRAME] * 4, sample_fps=float("nan")), r"sample_fps must be a positive number"),
        # nor is a string
        (_video([FRAME] * 4, raw_fps="2"), r"raw_fps must be a positive number"),
        # a budget of 1e10 pixels per frame would exhaust memory before any check
        (
            _video([FRAME] * 4, min_pixels=10**10),
            r"min_pixels \(10000000000\) is above the default",
        ),
        # the whole video's budget likewise
        (
            _video([FRAME] * 4, total_pixels=10**12),
            r"total_pixels \(1000000000000\) is above what fits",
        ),
    ],
)
def test_bad_videos_are_named(messages, error):
    with pytest.raises(InputError, match=error):
        helpers.check_messages(messages)


@pytest.mark.parametrize(
    ("budget", "error"),
    [
        (
            {"min_pixels": 10**10, "max_pixels": 2 * 10**10},
            r"min_pixels \(10000000000\) is above the default",
        ),
        ({"max_pixels": 10**10}, r"max_pixels \(10000000000\) is above the default"),
    ],
)
def test_image_budgets_are_bounded(budget, error):
    with pytest.raises(InputError, match=error):
        helpers.check_messages(helpers.image_message(FRAME, "x", **budget))


def _coco(tmp_path, **changes):
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "annotations": [{"id": 7, "image_id": 1, "bbox": [1, 1, 2, 2], "category_id": 1}],
        "categories": [{"id": 1, "name": "ball"}],
    }
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        # an image of width 0 would divide by zero
        (
            {"images": [{"id": 1, "file_name": "a.png", "width": 0, "height": 10}]},
            r"width and height",
        ),
        # no annotations at all: not a ground truth file
        ({"annotations": None}, r"no 'annotations'"),
        # a box of three numbers
        (
            {"annotations": [{"id": 7, "image_id": 1, "bbox": [1, 1, 2], "category_id": 1}]},
            r"annotation 7",
        ),
        # a category the file does not define
        (
            {"annotations": [{"id": 8, "image_id": 1, "bbox": [1, 1, 2, 2], "category_id": 9}]},
            r"annotation 8",
        ),
    ],
)
def test_bad_coco_files_are_named(tmp_path, changes, error):
    path = _coco(tmp_path, **changes)
    with pytest.raises(InputError, match=error):
        helpers.load_coco_ground_truth(path, "a.png")


def test_a_label_missing_from_colors_gets_its_own():
    boxes = [helpers.Detection("a", (0, 0, 500, 500)), helpers.Detection("b", (500, 500, 900, 900))]
    white = Image.new("RGB", (200, 200), "white")
    drawn = helpers.draw_detections(white, boxes, colors={"a": (255, 0, 0)})
    assert drawn.getpixel((100, 150)) != (255, 255, 255)  # b's left edge is drawn, in a colour
    assert drawn.getpixel((100, 150)) != (255, 0, 0)  # of its own


def _save_page(path):
    return helpers.html.save_html("<p>x</p>", path)


def _screenshot(path):
    return helpers.render_html("<p>x</p>", path)


@pytest.mark.parametrize(
    ("write", "name", "error"),
    [
        (_save_page, "a-file/page.html", r"is a file"),  # the page's folder is a file
        (_save_page, "a" * 300 + ".html", r"name is too long"),  # 300 characters
        (_screenshot, "a-file/shot.png", r"is a file"),  # named before a browser starts
        (_screenshot, "a" * 300 + ".png", r"name is too long"),
        (_save_page, "b" * 300 + "/page.html", r"folder name is too long"),  # a folder's name
    ],
)
def test_output_paths_that_cannot_be_written_are_named(tmp_path, write, name, error):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InputError, match=error):
        write(tmp_path / name)


def test_an_unknown_generation_setting_is_refused_on_the_server_path():
    from helpers.serving import RemoteModel, request_body

    model = RemoteModel(None, "m", "http://localhost:8000/v1")
    conversation = helpers.check_messages([{"role": "user", "content": "Hi"}])
    with pytest.raises(ValueError, match=r"num_beams.*not sent to a server"):
        request_body(model, conversation, max_new_tokens=4, settings={"num_beams": 4})


# --- the report card: model text only escaped, malformed files named, nothing lost -------------


def _report_card():
    import importlib
    import sys

    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module("report_card")


HOSTILE = [
    "<img src=x onerror=alert(1)>",  # HTML that runs script when shown
    "<script>alert(1)</script>",  # a script element
    "![x](http://host/pixel.png)",  # a Markdown image fetched whenever the report is viewed
    "[click](javascript:alert(1))",  # a link
    "a | b\n| --- |",  # a pipe table inside a cell
    "# heading",  # a heading inside a cell
]


@pytest.mark.parametrize("text", HOSTILE)
def test_report_card_escapes_model_text_everywhere(tmp_path, text):
    report = _report_card()
    report.write_run(report.NotebookRun("01_a", text, 1.0, text), tmp_path)
    report.record_results("01_a", text, [{text: text, "n": 1}], directory=tmp_path)
    report.record_results("01_a", "nested", {text: {text: text}}, directory=tmp_path)
    card = report.build_report(["01_a"], model_id=text, directory=tmp_path)
    md = report.render_markdown(card)
    for raw in ("<img", "<script", "![", "](", "\n| --- |\n| ---", "\n# heading"):
        assert raw not in md.replace("\n| --- | --- |", ""), raw
    assert "&lt;" in md or "\\[" in md or "\\#" in md or "\\|" in md


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"sections": null}', r"sections"),  # sections not a mapping
        ('{"sections": [1, 2]}', r"sections"),  # a list
        ('{"sections": {}, "runtime": "gpu"}', r"runtime"),  # a string runtime
        ('{"sections": {"a": ' + "[" * 5000 + "]" * 5000 + "}}", r"unreadable|too deep"),  # nesting
        ('{"sections": {"a": ' + "[" * 900 + "]" * 900 + "}}", r"nested over 32"),  # readable, deep
        ("[1, 2, 3]", r"not a results file"),  # not an object
    ],
)
def test_report_card_survives_a_malformed_results_file(tmp_path, content, problem):
    report = _report_card()
    report.write_run(report.NotebookRun("01_a", "ok", 1.0), tmp_path)
    report.write_run(report.NotebookRun("02_b", "ok", 1.0), tmp_path)
    (tmp_path / "01_a.json").write_text(content)
    report.record_results("02_b", "kept", {"score": 1}, directory=tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        md = report.render_markdown(report.build_report(["01_a", "02_b"], directory=tmp_path))
    shown = re.sub(r"\\(.)", r"\1", md)  # as the Markdown renders: backslash escapes resolved
    assert "01_a.json" in shown and re.search(problem, shown)  # the file is named in the report
    assert "| score |" in md  # the other notebook's section is kept
    assert any("01_a.json" in str(w.message) for w in caught)


def test_report_card_keeps_a_section_with_a_lone_surrogate(tmp_path):
    report = _report_card()
    report.write_run(report.NotebookRun("01_a", "ok", 1.0), tmp_path)
    report.record_results("01_a", "answers", [{"answer": "ok \ud800 end"}], directory=tmp_path)
    md = report.render_markdown(report.build_report(["01_a"], directory=tmp_path))
    assert "ok \ufffd end" in md


def test_connect_names_a_server_that_never_lists_its_models(monkeypatch):
    import socket
    import threading

    from helpers.common.errors import RemoteError
    from helpers.serving import client

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []

    def accept_and_stay_silent():  # takes the request, never answers
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)

    threading.Thread(target=accept_and_stay_silent, daemon=True).start()
    monkeypatch.setattr(client, "MODEL_LIST_TIMEOUT_S", 1.0)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    try:
        with pytest.raises(RemoteError, match=r"no usable answer within 1 s"):
            client.connect(url, timeout_s=600, max_retries=0)  # not the request's 600 s
    finally:
        listener.close()
        for connection in held:
            connection.close()
