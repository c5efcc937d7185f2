import itertools
import json
import warnings

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.document import (
    Block,
    draw_blocks,
    page_text,
    parse_document,
    parse_document_html,
    parse_document_markdown,
)
from helpers.scoring import load_document_truth, score_document

DOCUMENT = helpers.INPUT_DIR / "document"

# An answer in the qwenvl html shape: data-bbox on every block, a picture as <div class="image">.
HTML_ANSWER = """```html
<html><body>
<h1 data-bbox="82 69 734 99">Rooftop Solar Output Review</h1>
<p data-bbox="82 130 913 197">Output rose by 5 percent once the inverter firmware was updated.</p>
<table data-bbox="82 230 918 412"><tr><th>Roof</th><th>April</th></tr><tr><td>School</td><td>34</td></tr></table>
<div class="image" data-bbox="230 552 771 780"></div>
<p data-bbox="256 790 744 805">Figure 1. Totals per roof.</p>
</body></html>
```"""

HTML_BLOCKS = [
    ("title", "Rooftop Solar Output Review", (82, 69, 734, 99)),
    ("paragraph", "Output rose by 5 percent once the inverter firmware was updated.", (82, 130, 913, 197)),
    ("table", "Roof April\nSchool 34", (82, 230, 918, 412)),
    ("figure", "", (230, 552, 771, 780)),
    ("caption", "Figure 1. Totals per roof.", (256, 790, 744, 805)),
]  # fmt: skip


def rows(blocks):
    return [
        (b.category, b.text, None if b.box is None else tuple(int(v) for v in b.box))
        for b in blocks
    ]


def quiet(parse, answer):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse(answer)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # the qwenvl html shape, fenced
        (HTML_ANSWER, HTML_BLOCKS),
        # bare, with prose before and after
        (
            'Here is the page:\n<h1 data-bbox="1 2 300 40">Title</h1>\n<p data-bbox="1 50 900 90">Text.</p>\nDone.',
            [("title", "Title", (1, 2, 300, 40)), ("paragraph", "Text.", (1, 50, 900, 90))],
        ),
        # cut off inside the last paragraph: what was written is kept
        (
            '<html><body><h1 data-bbox="1 2 300 40">Title</h1><p data-bbox="1 50 900 90">Half a sent',
            [("title", "Title", (1, 2, 300, 40)), ("paragraph", "Half a sent", (1, 50, 900, 90))],
        ),
        # cut off inside a tag: the half-written tag is dropped
        (
            '<p data-bbox="10 10 20 20">Whole.</p><p data-bbox="10 2',
            [("paragraph", "Whole.", (10, 10, 20, 20))],
        ),
        # malformed boxes: the text is kept without a box
        (
            '<p data-bbox="1 2 3">three numbers</p><p data-bbox="a b c d">words</p><p data-bbox="5 5 5 9">flat</p>',
            [
                ("paragraph", "three numbers", None),
                ("paragraph", "words", None),
                ("paragraph", "flat", None),
            ],
        ),
        # corners swapped, outside 0-1000, commas: sorted and clipped
        ('<p data-bbox="900, 50, -20, 1200">x</p>', [("paragraph", "x", (0, 50, 900, 1000))]),
        # an ordered list: the items are the blocks, not the list
        (
            '<ol data-bbox="0 0 500 300"><li data-bbox="0 0 500 100">one</li><li data-bbox="0 100 500 200">two</ol>',
            [("list_item", "one", (0, 0, 500, 100)), ("list_item", "two", (0, 100, 500, 200))],
        ),
        # omitted </p>, an entity and <br>: HTML rules, not a strict parser
        (
            '<p data-bbox="0 0 10 10">a &amp; b<br>c<p data-bbox="0 20 10 30">d',
            [("paragraph", "a & b\nc", (0, 0, 10, 10)), ("paragraph", "d", (0, 20, 10, 30))],
        ),
        # headings below h1, a formula and a plain div
        (
            '<h2 data-bbox="0 0 9 9">Sub</h2><div class="formula" data-bbox="0 10 9 19">E = mc^2</div><div>loose</div>',
            [
                ("heading", "Sub", (0, 0, 9, 9)),
                ("formula", "E = mc^2", (0, 10, 9, 19)),
                ("paragraph", "loose", None),
            ],
        ),
        # plain HTML without boxes: blocks without boxes
        (
            "<h1>Title</h1><p>Body text.</p>",
            [("title", "Title", None), ("paragraph", "Body text.", None)],
        ),
        # a thinking block with a decoy element before the answer
        (
            '<think>maybe <p data-bbox="0 0 1 1">no</p></think><p data-bbox="2 2 8 8">yes</p>',
            [("paragraph", "yes", (2, 2, 8, 8))],
        ),
    ],
)
def test_parse_document_html(answer, expected):
    assert rows(quiet(parse_document_html, answer)) == expected


@pytest.mark.parametrize("answer", ["I cannot read this page.", "", "```html\n```", "<br><hr>"])
def test_html_garbage_warns_and_returns_empty(answer):
    with pytest.warns(UserWarning, match="no HTML blocks"):
        assert parse_document_html(answer) == []


def test_html_warnings_name_the_problem():
    with pytest.warns(UserWarning, match="malformed data-bbox"):
        parse_document_html('<p data-bbox="1 2 3">x</p>')
    with pytest.warns(UserWarning, match="cut off"):
        blocks = parse_document_html('<p data-bbox="0 0 9 9">whole</p><p data-bbox="0 9 9 19">ha')
    assert [b.complete for b in blocks] == [True, False]


MARKDOWN_ANSWER = r"""```markdown
# Rooftop Solar Output Review

Output rose by 5 percent
once the inverter firmware was **updated**.

<!-- Table (82, 230, 918, 412) -->
| Roof | April |
|---|---|
| School | 34 |

<!-- Image (230, 552, 771, 780) -->

Figure 1. Totals per roof.
```"""


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # the qwenvl markdown shape: table box from the comment before it, image placeholder
        (
            MARKDOWN_ANSWER,
            [
                ("title", "Rooftop Solar Output Review", None),
                ("paragraph", "Output rose by 5 percent once the inverter firmware was updated.", None),
                ("table", "Roof April\nSchool 34", (82, 230, 918, 412)),
                ("figure", "", (230, 552, 771, 780)),
                ("caption", "Figure 1. Totals per roof.", None),
            ],
        ),
        # a LaTeX table after its placeholder
        (
            "<!-- Table (1, 2, 300, 400) -->\n\\begin{tabular}{|l|r|}\n\\hline\nRoof & April \\\\\nSchool & 34 \\\\\n\\end{tabular}",
            [("table", "Roof April\nSchool 34", (1, 2, 300, 400))],
        ),
        # an HTML table after its placeholder
        (
            "<!-- Table (1, 2, 300, 400) -->\n<table><tr><td>Roof</td><td>April</td></tr></table>",
            [("table", "Roof April", (1, 2, 300, 400))],
        ),
        # list items and a heading
        ("## Notes\n\n- one\n- two", [("heading", "Notes", None), ("list_item", "one", None), ("list_item", "two", None)]),
        # a malformed placeholder is skipped, the text kept
        ("<!-- Image (1, 2, x, 4) -->\n\nText.", [("paragraph", "Text.", None)]),
        # cut off mid-table: the rows written are kept
        ("<!-- Table (1, 2, 300, 400) -->\n| a | b |\n|---|---|\n| 1 |", [("table", "a b\n1", (1, 2, 300, 400))]),
        # prose around a fenced answer
        ("Sure:\n```markdown\n# T\n\nBody.\n```\nAnything else?", [("title", "T", None), ("paragraph", "Body.", None)]),
    ],
)  # fmt: skip
def test_parse_document_markdown(answer, expected):
    assert rows(quiet(parse_document_markdown, answer)) == expected


@pytest.mark.parametrize(
    "answer", ["", "   \n\n", "```markdown\n```", "<!-- Image (1, 2, x, 4) -->"]
)
def test_markdown_garbage_warns_and_returns_empty(answer):
    with pytest.warns(UserWarning, match="no Markdown blocks"):
        assert parse_document_markdown(answer) == []


def test_parse_document_picks_the_format():
    assert parse_document(HTML_ANSWER)[0].tag == "h1"
    assert parse_document(MARKDOWN_ANSWER)[0].tag == "md:h1"
    with pytest.raises(ValueError, match="fmt"):
        parse_document("x", fmt="latex")


def test_page_text_leaves_out_pictures():
    blocks = [
        Block("title", "T"),
        Block("figure", "a chart of totals", (1, 1, 9, 9)),
        Block("caption", "C"),
    ]
    assert page_text(blocks) == "T\nC"


def test_draw_blocks_changes_only_boxed_regions():
    page = Image.new("RGB", (200, 100), "white")
    drawn = draw_blocks(
        page, [Block("title", "T", (100, 100, 500, 500)), Block("paragraph", "no box")]
    )
    pixels = np.asarray(drawn)
    assert drawn.size == page.size and np.asarray(page).min() == 255  # input untouched
    assert (pixels[10:50, 20:100] != 255).any()  # the box was drawn
    assert (pixels[70:, 150:] == 255).all()  # nothing far from it


# --- the generated page and its truth --------------------------------------------------------


def test_page_truth_matches_the_pixels():
    truth = load_document_truth(DOCUMENT / "page.json")
    page = np.asarray(Image.open(truth.image).convert("L"))
    height, width = page.shape
    assert truth.size_wh == (width, height)
    assert [b.category for b in truth.blocks] == [
        "title",
        "paragraph",
        "table",
        "paragraph",
        "figure",
        "caption",
    ]
    ink = page < 128
    covered = np.zeros_like(ink)
    for block in truth.blocks:
        x1, y1, x2, y2 = (
            round(v / 1000 * s) for v, s in zip(block.box, (width, height) * 2, strict=True)
        )
        inside = ink[max(y1 - 1, 0) : y2 + 1, max(x1 - 1, 0) : x2 + 1]
        assert inside.any(), block.category  # every box holds ink
        covered[max(y1 - 2, 0) : y2 + 2, max(x1 - 2, 0) : x2 + 2] = True
    assert not (ink & ~covered).any()  # and no ink lies outside the boxes
    boxes = [b.box for b in truth.blocks]
    assert all(a[3] <= b[1] for a, b in itertools.pairwise(boxes))  # top to bottom, no overlap
    # The text file is the blocks' text in reading order; the table's cells are in its text.
    assert truth.text == page_text(truth.blocks) + "\n"
    data = json.loads((DOCUMENT / "page.json").read_text())
    assert all(b["text"] in truth.text for b in data["blocks"])


def test_score_document_against_the_truth():
    truth = load_document_truth(DOCUMENT / "page.json")
    perfect = [Block(b.category, b.text, b.box) for b in truth.blocks]
    score = score_document(perfect, truth)
    assert score.cer == 0.0
    assert score.layout["precision"] == score.layout["recall"] == score.layout["mean_iou"] == 1.0
    shifted = [Block(b.category, b.text.upper(), None) for b in truth.blocks]
    worse = score_document(shifted, truth)
    assert worse.cer > 0.3 and worse.layout["recall"] == 0.0
    assert score_document([], truth).cer == 1.0
    assert score_document(perfect, "other text").blocks_expected == 0  # text-only truth


def test_load_document_truth_errors_name_the_file(tmp_path):
    bad = tmp_path / "page.json"
    bad.write_text("{not json")
    with pytest.raises(helpers.InputError, match=r"page\.json.*make_document"):
        load_document_truth(bad)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>1 < 2</p>", "<p>1 &lt; 2</p>"),  # a bare < in text
        ("<p>whole</p><p data-bbox", "<p>whole</p>&lt;p data-bbox"),  # cut off inside a tag
        ("<a <a <a>", "&lt;a &lt;a <a>"),  # only the last opener is complete
        ("<!-- a <b> --><i>x</i>", "<!-- a <b> --><i>x</i>"),  # a tag inside a comment is kept
        ("<!-- a --><!-- cut", "<!-- a -->&lt;!-- cut"),  # a comment that never ends
        ("<!---->x", "<!---->x"),  # the empty comment
        ("x > y", "x > y"),  # a bare > needs nothing
        ("", ""),
    ],
)
def test_defuse_markup(markup, expected):
    assert helpers.common.text.defuse_markup(markup) == expected


@pytest.mark.parametrize(
    "answer",
    [
        "<a " * 5000,  # unclosed tags: the standard library's parser rescans from each one
        "<!--" * 5000,  # unclosed comments
        "<a" * 5000,
    ],
)
def test_unterminated_markup_is_text_not_blocks(answer):
    with pytest.warns(UserWarning, match="no HTML blocks"):
        assert parse_document(answer, "html") == []
    assert helpers.markdown_to_text(answer).strip().startswith(answer[:3])


@pytest.mark.parametrize("tag", ["div", "span", "b", "ul><li"])
def test_deep_nesting_is_flattened_with_a_warning(tag):
    answer = f"<{tag}>" * 2000 + "deep text"
    with pytest.warns(UserWarning, match="nested more than 128 levels"):
        blocks = parse_document(answer, "html")
    assert "deep text" in page_text(blocks)


def test_deeply_nested_tables_do_not_crash():
    # (text left in a row outside any cell is not a table cell: no block, as for a shallow table)
    with pytest.warns(UserWarning, match="nested more than 128 levels"):
        parse_document("```html\n" + "<table><tr><td>" * 2000 + "x\n```", "html")
