"""Document parsing: read Qwen3-VL's ``qwenvl html`` and ``qwenvl markdown`` answers as blocks.

Asked for ``qwenvl html``, the model writes the page as HTML whose elements carry
``data-bbox="x1 y1 x2 y2"`` (relative 0-1000, x first): headings, paragraphs, tables, list items,
``<div class="image">`` for pictures. Asked for ``qwenvl markdown``, it writes Markdown in which
each table is preceded by ``<!-- Table (x1, y1, x2, y2) -->`` and each picture is replaced by
``<!-- Image (x1, y1, x2, y2) -->``; text blocks carry no box in that format. The answers are read into :class:`Block` s, drawn over
the page, and scored against a page whose text and layout are known (``input/document/``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from PIL import Image

from .common.markup import Node, html_tree, latex_table_text, loop_as_text, node_text
from .common.text import fenced_blocks, visible_answer
from .detection import SCALE, Detection, draw_detections

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
_CAPTION_START = re.compile(r"^(?:figure|fig\.|table|chart|image)\s*\d+\b", re.IGNORECASE)
#: The placeholders of the qwenvl markdown format. Four coordinates never take 200 characters;
#: the bound keeps a placeholder opened again and again (a looping answer) linear to scan.
_MD_COMMENT = re.compile(
    r"<!--\s*(Image|Table|Figure|Chart)\s*\(([^)]{0,200})\)\s*-->", re.IGNORECASE
)
#: An element with a box: the mark of a ``qwenvl html`` answer.
_HAS_BBOX = re.compile(r"data-bbox\s*=", re.IGNORECASE)
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


def _classes(node: Node) -> str:
    return node.attrs.get("class", "").lower()


def _category(node: Node) -> str:
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
        return _paragraph_or_caption(node_text(node))
    return "other"


def _paragraph_or_caption(text: str) -> str:
    """A paragraph that starts like "Figure 1." or "Table 2" is a caption."""
    return "caption" if _CAPTION_START.match(text) else "paragraph"


def _is_candidate(node: Node) -> bool:
    return "data-bbox" in node.attrs or node.tag in _BLOCK_TAGS or "image" in _classes(node)


def _has_candidate_below(node: Node) -> bool:
    return any(
        isinstance(child, Node) and (_is_candidate(child) or _has_candidate_below(child))
        for child in node.children
    )


def _blocks_from_tree(root: Node) -> tuple[list[Block], int]:
    """Leaf candidates (elements with a data-bbox or block tags, none inside them) in document
    order; a table is one block with its cells. Returns the blocks and the malformed-box count."""
    blocks: list[Block] = []
    bad_boxes = 0

    def visit(node: Node) -> None:
        nonlocal bad_boxes
        if node.tag in ("head", "script", "style"):
            return
        atomic = node.tag in ("table", "img") or "image" in _classes(node)
        below = _has_candidate_below(node)
        # A block: a candidate with no candidate inside (a table or picture is one block), or an
        # element holding text outside any candidate (e.g. a plain <div>).
        is_block = (_is_candidate(node) and (atomic or not below)) or (
            not below and node_text(node)
        )
        if node is not root and node.tag not in ("html", "body", "head") and is_block:
            box = None
            if "data-bbox" in node.attrs:
                box = _box(node.attrs["data-bbox"])
                bad_boxes += box is None
            category = _category(node)
            text = node_text(node)
            if text or box is not None or category == "figure":
                blocks.append(Block(category, text, box, node.tag, node.closed))
            return
        for child in node.children:
            if isinstance(child, Node):
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
    blocks, bad_boxes = _blocks_from_tree(html_tree(_answer_body(text, ("html", "xml"))))
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


def _html_fragment_blocks(html: str) -> list[Block]:
    return _blocks_from_tree(html_tree(html))[0]


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

    body, loop = loop_as_text(_answer_body(text, ("markdown", "md")))
    reader = _MarkdownReader(MarkdownIt("commonmark").enable("table").parse(body))
    blocks = [b for b in reader.read() if b.text or b.box is not None]
    if loop:  # what the model looped on, kept as text (it counts in a score)
        blocks.append(Block("paragraph", loop, None, "md:loop"))
    if reader.bad:
        warnings.warn(
            f"skipped {reader.bad} placeholder(s) with malformed coordinates", stacklevel=2
        )
    if not blocks:
        warnings.warn(f"no Markdown blocks found in the answer: {text[:80]!r}", stacklevel=2)
    return blocks


@dataclass
class _MarkdownReader:
    """One pass over markdown-it's tokens; a table placeholder's box waits for the next table."""

    tokens: list[Any]
    blocks: list[Block] = field(default_factory=list)
    pending_box: tuple[float, float, float, float] | None = None
    bad: int = 0  # placeholders with malformed coordinates
    list_depth: int = 0

    def read(self) -> list[Block]:
        index = 0
        while index < len(self.tokens):
            token = self.tokens[index]
            kind = token.type
            if kind in ("bullet_list_open", "ordered_list_open"):
                self.list_depth += 1
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.list_depth -= 1
            elif kind == "heading_open":
                category = "title" if token.tag == "h1" else "heading"
                words = _inline_text(self.tokens[index + 1])
                self.blocks.append(Block(category, words, None, f"md:{token.tag}"))
                index += 1
            elif kind == "paragraph_open":
                self.paragraph(self.tokens[index + 1])
                index += 1
            elif kind == "table_open":
                index = self.table(index)
            elif kind in ("html_block", "fence", "code_block", "math_block"):
                self.raw(token)
            index += 1
        return self.blocks

    def add_table(self, text: str, tag: str) -> None:
        self.blocks.append(Block("table", text, self.pending_box, tag))
        self.pending_box = None

    def paragraph(self, inline: Any) -> None:
        if _LATEX_TABLE.search(inline.content):
            self.add_table(latex_table_text(inline.content), "md:latex")
            return
        words = _inline_text(inline)
        if self.list_depth:
            self.blocks.append(Block("list_item", words, None, "md:li"))
        else:
            self.blocks.append(Block(_paragraph_or_caption(words), words, None, "md:p"))

    def table(self, index: int) -> int:
        """Read the pipe table opening at ``index``; return the index of its end."""
        rows, cells = [], []
        while self.tokens[index].type != "table_close" and index + 1 < len(self.tokens):
            index += 1
            if self.tokens[index].type == "inline":
                cells.append(_inline_text(self.tokens[index]))
            elif self.tokens[index].type == "tr_close":
                rows.append(" ".join(c for c in cells if c))
                cells = []
        self.add_table("\n".join(r for r in rows if r), "md:table")
        return index

    def raw(self, token: Any) -> None:
        """An HTML block, fence or math: placeholders, then a LaTeX table, HTML or plain text."""
        for match in _MD_COMMENT.finditer(token.content):
            box = _box(match.group(2))
            if box is None:
                self.bad += 1
            elif match.group(1).lower() == "table":
                self.pending_box = box
            else:
                self.blocks.append(Block("figure", "", box, "md:image"))
        rest = _MD_COMMENT.sub("", token.content).strip()
        if _LATEX_TABLE.search(rest):
            self.add_table(latex_table_text(rest), "md:latex")
        elif rest and token.type == "html_block":
            for block in _html_fragment_blocks(rest):
                if block.category == "table" and self.pending_box is not None:
                    block = Block("table", block.text, self.pending_box, block.tag, block.complete)
                    self.pending_box = None
                self.blocks.append(block)
        elif rest:
            self.blocks.append(Block("paragraph", rest, None, f"md:{token.type}"))


def parse_document(text: str, fmt: Literal["auto", "html", "markdown"] = "auto") -> list[Block]:
    r"""Blocks of a document-parsing answer in either format.

    Args:
        text: The model's answer.
        fmt: ``"html"``, ``"markdown"``, or ``"auto"``: HTML when the answer holds a
            ``data-bbox`` attribute, a fenced ``html`` block, or is markup from its first character
            (a placeholder comment aside), else Markdown; prose that mentions ``<body>`` stays
            Markdown.

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
        fmt = "html" if _looks_html(text) else "markdown"
    if fmt == "html":
        return parse_document_html(text)
    if fmt == "markdown":
        return parse_document_markdown(text)
    raise ValueError(f"fmt must be 'auto', 'html' or 'markdown', got {fmt!r}.")


def _looks_html(text: str) -> bool:
    """A ``data-bbox``, a fenced html block, or markup from the first character (not a comment)."""
    if _HAS_BBOX.search(text):
        return True
    answer = visible_answer(text)
    if any(block.tag in ("html", "xml") for block in fenced_blocks(answer)):
        return True
    start = answer.lstrip()
    return start.startswith("<") and not start.startswith("<!--")


# --- text and drawing ---------------------------------------------------------------


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
