"""Tolerant readers for the markup models write: an HTML element tree and LaTeX tables as text.

The standard library's HTML parser never raises on bad or cut-off markup, which is what model
answers need; a full HTML library would add a dependency for the few lines here (a stack of open
elements, end tags HTML lets writers leave out, stray end tags ignored). Every reader is linear in
the text's length: unterminated openers are escaped first (:func:`helpers.common.text.defuse_markup`)
and nesting is bounded (:data:`MAX_HTML_DEPTH`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .text import defuse_markup, split_loop

#: Elements with no content and no end tag.
VOID_TAGS = {"br", "img", "hr", "meta", "input", "link", "col", "wbr", "source", "area"}
#: Elements whose start closes an open ``<p>`` (HTML lets writers leave its ``</p>`` out).
_CLOSES_P = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "figure", "figcaption", "pre",
    "blockquote", "address", "dt", "dd", "div", "ul", "ol", "section", "article", "tr",
}  # fmt: skip
#: Elements whose start closes an open sibling of the same tag (``<li>`` before the next ``<li>``).
_SELF_CLOSING_SIBLINGS = {"li", "tr", "dt", "dd", "option"}
#: Elements whose text starts and ends a line.
LINE_BREAKING = _CLOSES_P | {"img", "caption", "br", "body"}


@dataclass
class Node:
    """An element: its tag, attributes, parent, children (elements and text) and whether it was closed."""

    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)
    closed: bool = False


#: Elements nested deeper than this are read as their parent's text (pages from the model nest a
#: few levels; thousands would exhaust the tree walks' recursion).
MAX_HTML_DEPTH = 128


class TreeBuilder(HTMLParser):
    """A forgiving element tree: the elements' start and end tags on a stack, text as strings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
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
        node = Node(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(node)
        if tag in VOID_TAGS:
            node.closed = True
        else:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
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


def html_tree(html: str) -> Node:
    """The element tree of ``html``; a tag cut off at the end is dropped, unclosed elements marked."""
    last_open = html.rfind("<")
    if last_open > html.rfind(">"):
        html = html[:last_open]  # cut off inside a tag: drop the half-written tag
    builder = TreeBuilder()
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


def node_text(node: Node) -> str:
    """Visible text: table rows on lines with cells separated by spaces, blocks on lines."""
    if node.tag == "table":
        rows = []
        for row in descendants(node, "tr"):
            cells = [node_text(cell) for cell in row.children if isinstance(cell, Node)]
            rows.append(" ".join(c for c in cells if c))
        if rows:
            return "\n".join(r for r in rows if r)
    pieces: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            pieces.append(child)
        elif child.tag in ("script", "style"):
            continue
        elif child.tag in LINE_BREAKING:
            pieces.extend(["\n", node_text(child), "\n"])
        else:
            pieces.append(node_text(child))
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


def descendants(node: Node, tag: str) -> list[Node]:
    found = []
    for child in node.children:
        if isinstance(child, Node):
            if child.tag == tag:
                found.append(child)
            else:
                found.extend(descendants(child, tag))
    return found


_ARG = r"\{([^{}\\]*)\}"  # one LaTeX argument without nested braces or commands
_LATEX_ENVIRONMENT = re.compile(rf"\\(?:begin|end){_ARG}(?:{_ARG})?")
_LATEX_RULE = re.compile(rf"\\(?:hline|toprule|midrule|bottomrule|cline{_ARG})")
_LATEX_STYLE = re.compile(rf"\\(?:textbf|textit|emph|text|mathrm){_ARG}")
_LATEX_MULTICOLUMN = re.compile(rf"\\multicolumn{_ARG}{_ARG}{_ARG}")


def latex_table_text(text: str) -> str:
    """Cell text of a LaTeX tabular: rows on lines, cells separated by spaces."""
    # Each argument stops at the next brace or backslash ([^{}\\]*), so an argument that never
    # closes (a looping answer) is given up at once: every pattern is linear in the text.
    body = _LATEX_ENVIRONMENT.sub("", text)
    body = _LATEX_RULE.sub("", body)
    body = _LATEX_STYLE.sub(r"\1", body)
    body = _LATEX_MULTICOLUMN.sub(r"\3", body)
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
        parts += [text[position:start], "\n", latex_table_text(text[start:stop]), "\n"]
        position = stop
    parts.append(text[position:])
    return "".join(parts)


def markdown_to_text(text: str) -> str:
    """The text a reader sees in ``text`` rendered as markdown: no ``#``, ``*``, ``|`` or tags.

    Headings, emphasis, list markers, table rules and HTML tags are dropped; table cells (pipe
    tables, HTML tables and the LaTeX ``tabular`` of ``qwenvl markdown``) are kept in reading
    order, separated by spaces. Used to score a markdown answer against a plain-text
    reference fairly (the markup is not counted as errors). Parsing is markdown-it-py's
    (CommonMark with tables); HTML inside the markdown is read with the standard library's parser.

    Args:
        text: a markdown answer (e.g. to ``"qwenvl markdown"``).

    Returns:
        Plain text, one line per block.

    Example:
        >>> markdown_to_text("# Total\\n\\n| item | price |\\n|---|---|\\n| tea | **2.50** |")
        'Total\\nitem price\\ntea 2.50'
    """
    from markdown_it import MarkdownIt

    fenced = re.fullmatch(r"\s*```(?:markdown|md)?[ \t]*\n(.*?)\n?```\s*", text, flags=re.DOTALL)
    if fenced:  # the whole answer wrapped in a markdown fence: read what is inside
        text = fenced.group(1)
    text, loop = loop_as_text(text)  # a looping tail is kept as plain text, not parsed
    text = latex_tables_as_text(text)  # qwenvl markdown writes its tables in LaTeX
    parts: list[str] = []
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type == "inline":
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append("\n")
                elif child.type == "html_inline":
                    parts.append(_html_text(child.content))
        elif token.type in ("fence", "code_block"):
            parts.append(token.content)
        elif token.type == "html_block":
            parts.append(_html_text(token.content) + "\n")
        elif token.type in ("th_close", "td_close"):
            parts.append(" ")
        elif token.type in ("paragraph_close", "heading_close", "tr_close"):
            parts.append("\n")
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in "".join(parts).splitlines())
    return "\n".join(line for line in (*lines, loop) if line)


def loop_as_text(text: str) -> tuple[str, str]:
    r"""``text`` without the loop it ends in, and that loop as one line of plain text.

    markdown-it-py pays a large constant per character for some looping shapes (thousands of
    ``[`` or list items: about a second per 100 000 characters), so the parsers read only the
    head as Markdown; the loop is kept, whitespace joined, so a score still counts it.

    Args:
        text: A Markdown answer.

    Returns:
        ``(head, loop_text)``; ``loop_text`` is ``""`` when the answer does not end in a loop
        (:func:`helpers.common.text.split_loop`).

    Warns:
        UserWarning: The answer ends in a loop (its unit and length named).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     head, loop = loop_as_text("# Total\n" + "- a\n" * 1000)
        >>> head, loop[:11]
        ('# Total\n', '- a - a - a')
    """
    head, loop, unit = split_loop(text)
    if not loop:
        return text, ""
    warnings.warn(
        f"the answer ends in a loop ({unit[:20]!r} repeated {len(loop) // len(unit)} times): kept "
        "as plain text, not read as Markdown",
        stacklevel=3,
    )
    return head, " ".join(loop.split())


class _TextOnly(HTMLParser):
    """The text of HTML: a line break before rows, paragraphs and items, a space before others."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append("\n" if tag in ("tr", "p", "div", "br", "li") else " ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(html: str) -> str:
    """The text inside HTML, cells and blocks separated by spaces and lines."""
    parser = _TextOnly()
    parser.feed(defuse_markup(html))
    parser.close()
    return "".join(parser.parts)
