"""Document parsing: read Qwen3-VL's ``qwenvl html`` and ``qwenvl markdown`` answers as blocks.

Asked for ``qwenvl html``, the model writes the page as HTML whose elements carry
``data-bbox="x1 y1 x2 y2"`` (relative 0-1000, x first): headings, paragraphs, tables, list items,
``<div class="image">`` for pictures. Asked for ``qwenvl markdown``, it writes Markdown in which
each table is preceded by ``<!-- Table (x1, y1, x2, y2) -->`` and each picture is replaced by
``<!-- Image (x1, y1, x2, y2) -->``; text blocks carry no box in that format. The answers are read into :class:`Block` s, drawn over
the page, and scored against a page whose text and layout are known (``input/document/``).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from .detection import SCALE, Detection, draw_detections
from .errors import InputError
from .scoring import cer, score_detections
from .text import defuse_markup, fenced_blocks, visible_answer

Category = Literal[
    "title", "heading", "paragraph", "table", "figure", "caption", "list_item", "formula", "other"
]
#: Blocks whose text is not printed on the page (a picture's description), left out of page_text.
NON_TEXT_CATEGORIES = frozenset({"figure"})

_HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
_BLOCK_TAGS = {
    "h1", *_HEADINGS, "p", "li", "table", "figure", "figcaption", "caption", "pre",
    "blockquote", "img", "address", "dt", "dd",
}  # fmt: skip
_VOID_TAGS = {"br", "img", "hr", "meta", "input", "link", "col", "wbr", "source", "area"}
_LINE_BREAKING = _BLOCK_TAGS | {"div", "tr", "ul", "ol", "section", "article", "br", "body"}
_CLOSES_P = (_BLOCK_TAGS | {"div", "ul", "ol", "section", "article", "tr"}) - {"img", "caption"}
_CAPTION_START = re.compile(r"^(?:figure|fig\.|table|chart|image)\s*\d+\b", re.IGNORECASE)
_SELF_CLOSING_SIBLINGS = {"li", "tr", "dt", "dd", "option"}
_MD_COMMENT = re.compile(
    r"<!--\s*(Image|Table|Figure|Chart)\s*\(([^)]*)\)\s*-->", re.IGNORECASE
)  # the placeholders of the qwenvl markdown format
_LATEX_TABLE = re.compile(r"\\begin\{(?:tabular|array|table)\}")


@dataclass(frozen=True)
class Block:
    """One block of a parsed page.

    Attributes:
        category: One of :data:`Category` (``"title"``, ``"paragraph"``, ``"table"``...).
        text: Its visible text; a table's rows on lines, cells separated by spaces.
        box: ``(x1, y1, x2, y2)`` in the 0-1000 space, or ``None`` (Markdown text has no box).
        tag: The element it came from (``"h1"``, ``"p"``, ``"md:table"``...).
        complete: ``False`` for the block a cut-off answer stopped in.

    Example:
        >>> Block("title", "Review", (80, 70, 730, 100)).to_detection()
        Detection(label='title', box=(80, 70, 730, 100))
    """

    category: str
    text: str
    box: tuple[float, float, float, float] | None = None
    tag: str = ""
    complete: bool = True

    def to_detection(self) -> Detection | None:
        """The block as a :class:`~helpers.detection.Detection` labelled with its category, or
        ``None`` without a box."""
        return Detection(self.category, self.box) if self.box is not None else None


@dataclass(frozen=True)
class DocumentScore:
    """Text and layout scores of one parsed page against its known blocks.

    Attributes:
        cer: Character error rate of the page text (reading order) against the known text.
        blocks_found: Blocks parsed from the answer.
        blocks_expected: Blocks the page has (0 when only its text is known).
        layout: Precision, recall and mean IoU of the boxed blocks (same category needed).

    Example:
        >>> DocumentScore(0.25, 5, 6, {"precision": 1.0}).as_row()
        {'cer': 0.25, 'blocks_found': 5, 'blocks_expected': 6, 'layout_precision': 1.0}
    """

    cer: float  # page text (reading order) against the known text
    blocks_found: int
    blocks_expected: int
    layout: dict[str, float | int] = field(default_factory=dict)  # precision/recall/mean IoU

    def as_row(self) -> dict[str, Any]:
        """One table row: CER, block counts and ``layout_*`` scores."""
        return {
            "cer": round(self.cer, 4),
            "blocks_found": self.blocks_found,
            "blocks_expected": self.blocks_expected,
            **{f"layout_{k}": v for k, v in self.layout.items()},
        }


# --- boxes --------------------------------------------------------------------------------


def _box(value: str) -> tuple[float, float, float, float] | None:
    """``"x1 y1 x2 y2"`` (spaces or commas) as a sorted, clipped box; ``None`` if malformed."""
    parts = [p for p in re.split(r"[\s,]+", value.strip().strip("[]()")) if p]
    if len(parts) != 4:
        return None
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if not all(np.isfinite(numbers)):
        return None
    clip = [min(max(v, 0.0), SCALE) for v in numbers]
    x1, x2 = sorted((clip[0], clip[2]))
    y1, y2 = sorted((clip[1], clip[3]))
    return (x1, y1, x2, y2) if x1 < x2 and y1 < y2 else None


# --- HTML ---------------------------------------------------------------------------------


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    parent: _Node | None = None
    children: list[_Node | str] = field(default_factory=list)
    closed: bool = False


#: Elements nested deeper than this are read as their parent's text (pages from the model nest a
#: few levels; thousands would exhaust the tree walks' recursion).
MAX_HTML_DEPTH = 128


class _TreeBuilder(HTMLParser):
    """A forgiving element tree. The standard library's parser never raises on bad or cut-off
    markup, which is what model answers need; a full HTML library would add a dependency for
    the few lines below (stack of open elements, stray end tags ignored)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.stack = [self.root]
        self.flattened = 0  # elements not opened: deeper than MAX_HTML_DEPTH

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # End tags HTML lets writers omit: </p> before a block, </li>, </tr>, </td> before the next.
        top = self.stack[-1].tag
        closes_top = (
            (top == "p" and tag in _CLOSES_P)
            or (tag == top and tag in _SELF_CLOSING_SIBLINGS)
            or (tag in ("td", "th") and top in ("td", "th"))
        )
        if closes_top:
            self.handle_endtag(top)
        if (
            len(self.stack) > MAX_HTML_DEPTH
        ):  # keeps the tree walks below far from the recursion limit
            self.flattened += 1
            return
        node = _Node(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(node)
        if tag in _VOID_TAGS:
            node.closed = True
        else:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                for node in self.stack[depth:]:
                    node.closed = True
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _classes(node: _Node) -> str:
    return node.attrs.get("class", "").lower()


def _category(node: _Node) -> str:
    classes = _classes(node)
    if "image" in classes or "chart" in classes or node.tag in ("img", "figure"):
        return "figure"
    if "caption" in classes or node.tag in ("figcaption", "caption"):
        return "caption"
    if "formula" in classes:
        return "formula"
    if node.tag == "h1":
        return "title"
    if node.tag in _HEADINGS:
        return "heading"
    if node.tag == "table":
        return "table"
    if node.tag in ("li", "dt", "dd"):
        return "list_item"
    if node.tag in ("p", "div", "span", "address", "blockquote", "pre", "section"):
        return _paragraph_or_caption(_text(node))
    return "other"


def _paragraph_or_caption(text: str) -> str:
    """A paragraph that starts like "Figure 1." or "Table 2" is a caption."""
    return "caption" if _CAPTION_START.match(text) else "paragraph"


def _is_candidate(node: _Node) -> bool:
    return "data-bbox" in node.attrs or node.tag in _BLOCK_TAGS or "image" in _classes(node)


def _has_candidate_below(node: _Node) -> bool:
    return any(
        isinstance(child, _Node) and (_is_candidate(child) or _has_candidate_below(child))
        for child in node.children
    )


def _text(node: _Node) -> str:
    """Visible text: table rows on lines with cells separated by spaces, blocks on lines."""
    if node.tag == "table":
        rows = []
        for row in _descendants(node, "tr"):
            cells = [_text(cell) for cell in row.children if isinstance(cell, _Node)]
            rows.append(" ".join(c for c in cells if c))
        if rows:
            return "\n".join(r for r in rows if r)
    pieces: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            pieces.append(child)
        elif child.tag in ("script", "style"):
            continue
        elif child.tag in _LINE_BREAKING:
            pieces.extend(["\n", _text(child), "\n"])
        else:
            pieces.append(_text(child))
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


def _descendants(node: _Node, tag: str) -> list[_Node]:
    found = []
    for child in node.children:
        if isinstance(child, _Node):
            if child.tag == tag:
                found.append(child)
            else:
                found.extend(_descendants(child, tag))
    return found


def _blocks_from_tree(root: _Node) -> tuple[list[Block], int]:
    """Leaf candidates (elements with a data-bbox or block tags, none inside them) in document
    order; a table is one block with its cells. Returns the blocks and the malformed-box count."""
    blocks: list[Block] = []
    bad_boxes = 0

    def visit(node: _Node) -> None:
        nonlocal bad_boxes
        if node.tag in ("head", "script", "style"):
            return
        atomic = node.tag in ("table", "img") or "image" in _classes(node)
        below = _has_candidate_below(node)
        # A block: a candidate with no candidate inside (a table or picture is one block), or an
        # element holding text outside any candidate (e.g. a plain <div>).
        is_block = (_is_candidate(node) and (atomic or not below)) or (not below and _text(node))
        if node is not root and node.tag not in ("html", "body", "head") and is_block:
            box = None
            if "data-bbox" in node.attrs:
                box = _box(node.attrs["data-bbox"])
                bad_boxes += box is None
            category = _category(node)
            text = _text(node)
            if text or box is not None or category == "figure":
                blocks.append(Block(category, text, box, node.tag, node.closed))
            return
        for child in node.children:
            if isinstance(child, _Node):
                visit(child)

    visit(root)
    return blocks, bad_boxes


def _answer_body(text: str, tags: Sequence[str]) -> str:
    """The answer without thinking; the body of its last fenced block tagged one of ``tags``
    (or of its only fenced block), else the whole answer."""
    answer = visible_answer(text)
    fenced = fenced_blocks(answer)
    tagged = [block.body for block in fenced if block.tag in tags]
    if tagged:
        return tagged[-1]
    if len(fenced) == 1 and not fenced[0].tag:
        return fenced[0].body
    return answer


def parse_document_html(text: str) -> list[Block]:
    r"""Blocks of a ``qwenvl html`` answer, in reading (document) order.

    Tolerant of a fence (```html) or none, prose around the HTML, a ``<think>`` block, an answer
    cut off mid-element (the last block is kept with ``complete=False`` and a warning), end tags
    left out or not matching, and malformed ``data-bbox`` values (the block keeps its text,
    without a box, and a warning says how many). Plain HTML without ``data-bbox`` gives blocks
    without boxes. A list's items are blocks, a table is one block, ``<div class="image">`` a
    figure; a paragraph starting "Figure 1" / "Table 2" is a caption.

    Args:
        text: The model's answer to :data:`helpers.prompts.HTML_DOCUMENT_PROMPT`.

    Returns:
        The blocks; ``[]`` (with a warning) when the answer holds no HTML blocks.

    Example:
        >>> answer = '```html\n<html><body><h1 data-bbox="80 70 730 100">Review</h1>\n'
        >>> answer += '<p data-bbox="80 130 910 200">Output rose by 5 percent.</p></body></html>\n```'
        >>> for block in parse_document_html(answer):
        ...     print(block.category, block.box, block.text)
        title (80.0, 70.0, 730.0, 100.0) Review
        paragraph (80.0, 130.0, 910.0, 200.0) Output rose by 5 percent.
    """
    blocks, bad_boxes = _blocks_from_tree(_html_tree(_answer_body(text, ("html", "xml"))))
    if not blocks:
        warnings.warn(f"no HTML blocks found in the answer: {text[:80]!r}", stacklevel=2)
        return []
    if bad_boxes:
        warnings.warn(
            f"{bad_boxes} block(s) had a malformed data-bbox (expected 4 numbers): kept without a box",
            stacklevel=2,
        )
    if not blocks[-1].complete:
        warnings.warn(
            "the answer stopped inside the last block (cut off): raise max_new_tokens for the "
            "whole page",
            stacklevel=2,
        )
    return blocks


# --- Markdown -----------------------------------------------------------------------------


def _latex_table_text(text: str) -> str:
    """Cell text of a LaTeX tabular: rows on lines, cells separated by spaces."""
    body = re.sub(r"\\(?:begin|end)\{[^}]*\}(?:\{[^}]*\})?", "", text)
    body = re.sub(r"\\(?:hline|toprule|midrule|bottomrule|cline\{[^}]*\})", "", body)
    body = re.sub(r"\\(?:textbf|textit|emph|text|mathrm)\{([^}]*)\}", r"\1", body)
    body = re.sub(r"\\multicolumn\{[^}]*\}\{[^}]*\}\{([^}]*)\}", r"\1", body)
    rows = []
    for row in re.split(r"\\\\", body):
        cells = [" ".join(cell.split()) for cell in row.replace("$", "").split("&")]
        line = " ".join(c for c in cells if c)
        if line:
            rows.append(line)
    return "\n".join(rows)


_LATEX_SPANS = (("\\begin{tabular", "\\end{tabular}"), ("\\begin{array", "\\end{array}"))


def latex_tables_as_text(text: str) -> str:
    r"""``text`` with each LaTeX ``tabular`` (or ``array``) replaced by its cell text, a row per line.

    The model family's ``qwenvl markdown`` format writes tables in LaTeX (the document_parsing
    cookbook), which a Markdown renderer shows as raw commands. One pass of ``str.find``: linear
    in the answer's length, also for an answer cut off inside a table.

    Example:
        >>> latex_tables_as_text("Prices\n\\begin{tabular}{lr} tea & 2.50 \\\\ cake & 3 \\\\ \\end{tabular}")
        'Prices\n\ntea 2.50\ncake 3\n'
    """
    parts, position = [], 0
    while True:
        found = [(text.find(opener, position), closer) for opener, closer in _LATEX_SPANS]
        found = [(start, closer) for start, closer in found if start != -1]
        if not found:
            break
        start, closer = min(found)
        end = text.find(closer, start)
        stop = len(text) if end == -1 else end + len(closer)
        parts += [text[position:start], "\n", _latex_table_text(text[start:stop]), "\n"]
        position = stop
    parts.append(text[position:])
    return "".join(parts)


def _inline_text(token: Any) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content if child.type != "html_inline" else "")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts).strip()


def _html_tree(html: str) -> _Node:
    last_open = html.rfind("<")
    if last_open > html.rfind(">"):
        html = html[:last_open]  # cut off inside a tag: drop the half-written tag
    builder = _TreeBuilder()
    builder.feed(defuse_markup(html))
    builder.close()
    if builder.flattened:
        warnings.warn(
            f"{builder.flattened} HTML elements nested more than {MAX_HTML_DEPTH} levels deep "
            "were read as text of their parent: no document is laid out that deep",
            stacklevel=3,
        )
    for node in builder.stack[1:]:
        node.closed = False
    return builder.root


def _html_fragment_blocks(html: str) -> list[Block]:
    return _blocks_from_tree(_html_tree(html))[0]


def parse_document_markdown(text: str) -> list[Block]:
    r"""Blocks of a ``qwenvl markdown`` answer, in reading order.

    Headings, paragraphs, list items and tables (Markdown pipe tables, HTML tables or LaTeX
    ``tabular``) become blocks; ``<!-- Table (x1, y1, x2, y2) -->`` gives the next table its box
    and ``<!-- Image (...) -->`` is a figure block with that box. A placeholder with malformed
    coordinates is skipped with a warning. Parsed with markdown-it-py (CommonMark with tables).

    Args:
        text: The model's answer to :data:`helpers.prompts.MARKDOWN_PROMPT`.

    Returns:
        The blocks; ``[]`` (with a warning) when the answer has no text and no placeholder.

    Example:
        >>> answer = "# Review\n\n<!-- Table (80, 230, 920, 410) -->\n| Roof | April |\n|---|---|\n| School | 34 |"
        >>> for block in parse_document_markdown(answer):
        ...     print(block.category, block.box, repr(block.text))
        title None 'Review'
        table (80.0, 230.0, 920.0, 410.0) 'Roof April\nSchool 34'
    """
    from markdown_it import MarkdownIt

    body = _answer_body(text, ("markdown", "md"))
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    blocks: list[Block] = []
    pending_box: tuple[float, float, float, float] | None = None
    bad = 0
    index, list_depth = 0, 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif kind == "heading_open":
            category = "title" if token.tag == "h1" else "heading"
            blocks.append(Block(category, _inline_text(tokens[index + 1]), None, f"md:{token.tag}"))
            index += 2
        elif kind == "paragraph_open":
            content = tokens[index + 1].content
            if _LATEX_TABLE.search(content):
                blocks.append(Block("table", _latex_table_text(content), pending_box, "md:latex"))
                pending_box = None
            else:
                words = _inline_text(tokens[index + 1])
                if list_depth:
                    blocks.append(Block("list_item", words, None, "md:li"))
                else:
                    blocks.append(Block(_paragraph_or_caption(words), words, None, "md:p"))
            index += 2
        elif kind == "table_open":
            rows, cells = [], []
            while tokens[index].type != "table_close" and index + 1 < len(tokens):
                index += 1
                if tokens[index].type == "inline":
                    cells.append(_inline_text(tokens[index]))
                elif tokens[index].type == "tr_close":
                    rows.append(" ".join(c for c in cells if c))
                    cells = []
            blocks.append(Block("table", "\n".join(r for r in rows if r), pending_box, "md:table"))
            pending_box = None
        elif kind in ("html_block", "fence", "code_block", "math_block"):
            content = token.content
            for match in _MD_COMMENT.finditer(content):
                box = _box(match.group(2))
                if box is None:
                    bad += 1
                elif match.group(1).lower() == "table":
                    pending_box = box
                else:
                    blocks.append(Block("figure", "", box, "md:image"))
            rest = _MD_COMMENT.sub("", content).strip()
            if _LATEX_TABLE.search(rest):
                blocks.append(Block("table", _latex_table_text(rest), pending_box, "md:latex"))
                pending_box = None
            elif rest and kind == "html_block":
                for block in _html_fragment_blocks(rest):
                    if block.category == "table" and pending_box is not None:
                        block = Block("table", block.text, pending_box, block.tag, block.complete)
                        pending_box = None
                    blocks.append(block)
            elif rest:
                blocks.append(Block("paragraph", rest, None, f"md:{kind}"))
        index += 1
    blocks = [b for b in blocks if b.text or b.box is not None]
    if bad:
        warnings.warn(f"skipped {bad} placeholder(s) with malformed coordinates", stacklevel=2)
    if not blocks:
        warnings.warn(f"no Markdown blocks found in the answer: {text[:80]!r}", stacklevel=2)
    return blocks


def parse_document(text: str, fmt: Literal["auto", "html", "markdown"] = "auto") -> list[Block]:
    r"""Blocks of a document-parsing answer in either format.

    Args:
        text: The model's answer.
        fmt: ``"html"``, ``"markdown"``, or ``"auto"``: HTML when the answer holds ``data-bbox``
            or an ``<html>``/``<body>`` element, else Markdown.

    Returns:
        The blocks (see :func:`parse_document_html` and :func:`parse_document_markdown`).

    Raises:
        ValueError: ``fmt`` is none of the three.

    Example:
        >>> [b.category for b in parse_document('<p data-bbox="1 2 3 4">Hi</p>')]
        ['paragraph']
        >>> [b.category for b in parse_document("## Notes\n\n- one")]
        ['heading', 'list_item']
    """
    if fmt == "auto":
        looks_html = re.search(r"data-bbox|<html[\s>]|<body[\s>]", text, re.IGNORECASE)
        fmt = "html" if looks_html else "markdown"
    if fmt == "html":
        return parse_document_html(text)
    if fmt == "markdown":
        return parse_document_markdown(text)
    raise ValueError(f"fmt must be 'auto', 'html' or 'markdown', got {fmt!r}.")


# --- text, drawing, scoring ---------------------------------------------------------------


def page_text(blocks: Sequence[Block]) -> str:
    r"""The page's text in block order, one block per line.

    Args:
        blocks: Parsed (or known) blocks.

    Returns:
        Their text joined by newlines; figures are left out (their text describes a picture, it
        is not printed on the page).

    Example:
        >>> page_text([Block("title", "T"), Block("figure", "a bar chart"), Block("caption", "C")])
        'T\nC'
    """
    return "\n".join(b.text for b in blocks if b.text and b.category not in NON_TEXT_CATEGORIES)


def draw_blocks(image: Image.Image | np.ndarray, blocks: Sequence[Block]) -> Image.Image:
    """A new image with every boxed block drawn and labelled with its category.

    Args:
        image: The page (not changed).
        blocks: Blocks; those without a box are not drawn.

    Returns:
        A copy of the page with the boxes, one colour per category.

    Example:
        >>> page = Image.new("RGB", (200, 100), "white")
        >>> draw_blocks(page, [Block("title", "T", (100, 100, 500, 500))]).size
        (200, 100)
    """
    detections = [d for d in (b.to_detection() for b in blocks) if d is not None]
    return draw_detections(image, detections)


@dataclass(frozen=True)
class DocumentTruth:
    """A page with known blocks (``input/document/page.json``).

    Attributes:
        image: The page image's path.
        size_wh: Its size in pixels.
        blocks: The known blocks, boxes in the 0-1000 space.
        text: The known text in reading order (``page.txt``).
    """

    image: Path
    size_wh: tuple[int, int]
    blocks: list[Block]
    text: str


def load_document_truth(path: str | os.PathLike) -> DocumentTruth:
    """The known blocks and text of a generated page.

    Args:
        path: Its ``page.json`` (``page.txt`` beside it holds the text).

    Returns:
        The page's truth.

    Raises:
        InputError: The file is missing or not a page truth file; the message says how to
            regenerate it.

    Example:
        >>> import helpers
        >>> truth = load_document_truth(helpers.INPUT_DIR / "document" / "page.json")
        >>> truth.size_wh, [b.category for b in truth.blocks][:3]
        ((850, 1100), ['title', 'paragraph', 'table'])
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        blocks = [
            Block(b["category"], b["text"], tuple(float(v) for v in b["box_2d"]), "truth")
            for b in data["blocks"]
        ]
        size_wh = (int(data["size_wh"][0]), int(data["size_wh"][1]))
        image = path.parent / data["image"]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InputError(
            f"{os.fspath(path)!r} is not a readable page truth file ({exc}); regenerate it with "
            "`python scripts/make_document.py`."
        ) from exc
    text_file = path.with_suffix(".txt")
    text = text_file.read_text(encoding="utf-8") if text_file.exists() else page_text(blocks)
    return DocumentTruth(image, size_wh, blocks, text)


def score_document(
    blocks: Sequence[Block], truth: DocumentTruth | str, *, iou_threshold: float = 0.5
) -> DocumentScore:
    """Score parsed blocks against a page's truth: text by CER, layout by matched boxes.

    Args:
        blocks: The parsed blocks.
        truth: The page's truth, or only its known text (then no layout is scored).
        iou_threshold: The IoU a box needs to match a known block of the same category.

    Returns:
        The CER of :func:`page_text` against the known text, block counts, and layout precision,
        recall and mean IoU.

    Example:
        >>> score = score_document([Block("title", "Reveiw", (0, 0, 500, 100))],
        ...                        "Review")
        >>> round(score.cer, 3), score.layout
        (0.333, {})
    """
    if isinstance(truth, str):
        return DocumentScore(cer(page_text(blocks), truth), len(blocks), 0)
    predicted = [d for d in (b.to_detection() for b in blocks) if d is not None]
    known = [d for d in (b.to_detection() for b in truth.blocks) if d is not None]
    layout = score_detections(predicted, known, iou_threshold=iou_threshold).as_row()
    return DocumentScore(
        cer(page_text(blocks), truth.text), len(blocks), len(truth.blocks), dict(layout)
    )
