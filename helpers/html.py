"""Model-written HTML: extract it, save it, preview it sandboxed, render it to a PNG."""

from __future__ import annotations

import html as html_lib
import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .common.browser import (
    CHROMIUM_ENV_VAR,
    PLAYWRIGHT_INSTALL,
    find_chromium,
    sealed_chromium_args,
)
from .common.files import check_output_path, write_atomic
from .common.text import fenced_blocks, visible_answer

_HTML_START = re.compile(r"<!DOCTYPE\s+html\b|<html[\s>]", re.IGNORECASE)  # no [^>]*: linear
_HTML_END = re.compile(r"</html\s*>", re.IGNORECASE)
#: The caption of a hand-written sample page shown in place of a model's answer.
SAMPLE_CAPTION = "SAMPLE: hand-written, not a model's page"


class BrowserMissingError(RuntimeError):
    """No Chromium to render with: neither a system one nor Playwright's own is installed."""


@dataclass(frozen=True)
class ShownPage:
    """A page to show and what it is: the HTML, its caption, and whether it is the sample.

    Example:
        >>> ShownPage("<p>Hi</p>", "rendered from the answer", is_sample=False).is_sample
        False
    """

    html: str
    caption: str
    is_sample: bool


def sample_page(html: str) -> ShownPage:
    """A hand-written sample page, captioned as such (:data:`SAMPLE_CAPTION`).

    Example:
        >>> sample_page("<p>Hi</p>").caption
        "SAMPLE: hand-written, not a model's page"
    """
    return ShownPage(html, SAMPLE_CAPTION, is_sample=True)


def page_from_answer(
    answer: str, fallback: ShownPage, *, caption: str = "rendered from the answer"
) -> ShownPage:
    """The page in a model's answer, or ``fallback`` (labelled so) when the answer holds no HTML.

    The one place the notebooks decide what to show: the answer's page when
    :func:`extract_code_block` finds one, else the fallback page (the hand-written sample, or the
    previous page) with a caption that says the answer had none and what is shown instead.

    Args:
        answer: The model's answer.
        fallback: What to show when the answer holds no HTML (e.g. :func:`sample_page`).
        caption: The caption of a page taken from the answer.

    Returns:
        The page to show; ``is_sample`` is the fallback's when it was used.

    Warns:
        UserWarning: The answer held no HTML (the warning says what is shown instead); a page cut
            off before its end (from :func:`extract_code_block`).

    Example:
        >>> import warnings
        >>> sample = sample_page("<p>sample</p>")
        >>> page_from_answer("```html\\n<p>Hi</p>\\n```", sample)
        ShownPage(html='<p>Hi</p>', caption='rendered from the answer', is_sample=False)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     page_from_answer("no code here", sample).caption
        "no HTML in the answer: SAMPLE: hand-written, not a model's page"
    """
    try:
        html = extract_code_block(answer)
    except ValueError as error:
        shown = replace(fallback, caption=f"no HTML in the answer: {fallback.caption}")
        warnings.warn(f"{error} Showing instead: {fallback.caption}.", stacklevel=2)
        return shown
    return ShownPage(html, caption, is_sample=False)


def extract_code_block(text: str, language: str = "html") -> str:
    r"""The code of the last fenced block tagged ``language`` in a model answer.

    Without such a block, for HTML: the ``<!DOCTYPE html>``/``<html>`` ... ``</html>`` span. An
    answer cut off before its closing fence (or ``</html>``) gives what was written, with a warning
    that it is incomplete. The thinking part of the answer is skipped.

    Args:
        text: The model's answer.
        language: The fence tag to look for (case-insensitive), e.g. ``"html"``, ``"css"``.

    Returns:
        The code, stripped.

    Raises:
        ValueError: No code at all; the message shows the answer's start.

    Example:
        >>> answer = "Here you go:\n```css\np {}\n```\n```HTML\n<p>Hi</p>\n```\nEnjoy!"
        >>> extract_code_block(answer)
        '<p>Hi</p>'
        >>> extract_code_block(answer, "css")
        'p {}'
        >>> extract_code_block("Sure! <!DOCTYPE html><html><body>Hi</body></html> Done.")
        '<!DOCTYPE html><html><body>Hi</body></html>'
    """
    answer = visible_answer(text)
    wanted = language.lower()
    matching = [block for block in fenced_blocks(answer) if block.tag == wanted]
    if matching:
        block = matching[-1]
        if wanted == "html" and (page := _page_cut_by_a_fence(answer, block.body)):
            return page
        if not block.closed:
            warnings.warn(
                f"the {language} block is incomplete (the answer stopped before its closing fence): "
                "raise max_new_tokens for the whole page.",
                stacklevel=2,
            )
        return block.body.strip()
    if wanted == "html" and (start := _HTML_START.search(answer)):
        if page := _html_document(answer, start.start()):
            return page
        warnings.warn(
            "the HTML is incomplete (no closing </html>): raise max_new_tokens for the whole page.",
            stacklevel=2,
        )
        return answer[start.start() :].strip()
    preview = answer.strip()[:120].replace("\n", " ")
    raise ValueError(f"no {language} code found in the answer; it starts: {preview!r}")


def _page_cut_by_a_fence(answer: str, body: str) -> str | None:
    """The whole ``<html>`` ... ``</html>`` span when a fence line inside the page (in a ``<pre>``)
    closed the block early: the block opens the page but does not close it, the answer does."""
    start = _HTML_START.search(body)
    if start is None or _HTML_END.search(body):
        return None
    return _html_document(answer, answer.rfind(body) + start.start())


def _html_document(text: str, start: int) -> str | None:
    """``text`` from ``start`` (a doctype or ``<html>``) to its last ``</html>``; ``None`` if none."""
    ends = list(_HTML_END.finditer(text, start))
    return text[start : ends[-1].end()].strip() if ends else None


def save_html(html: str, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``html`` to ``path`` as UTF-8, atomically (folders created).

    Args:
        html: The page.
        path: The file to write.
        overwrite: Replace an existing file with other content.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        FileExistsError: ``path`` exists with other content and ``overwrite`` is false (rewriting
            identical content is a no-op).
        InputError: ``path`` is a folder, its name is too long, or a file stands where a folder
            of it should be (see :func:`helpers.common.files.check_output_path`).

    Example:
        >>> import tempfile, pathlib
        >>> page = pathlib.Path(tempfile.mkdtemp()) / "page.html"
        >>> save_html("<p>Hi</p>", page).read_text()
        '<p>Hi</p>'
        >>> save_html("<p>Bye</p>", page)
        Traceback (most recent call last):
        ...
        FileExistsError: '...page.html' exists with other content: pass overwrite=True to replace it, or choose another name.
    """
    target = check_output_path(path, "page")
    if target.exists():
        if target.read_text(encoding="utf-8", errors="replace") == html:
            return target
        if not overwrite:
            raise FileExistsError(
                f"{os.fspath(path)!r} exists with other content: pass overwrite=True to replace it, "
                "or choose another name."
            )
    return write_atomic(target, html)


#: The Content-Security-Policy put first in every preview: inline styles and (when allowed) inline
#: scripts run, images, fonts and media may be data:/blob: URLs, and nothing is fetched from any
#: server (no images, styles, scripts, fonts, frames, workers, connections, prefetches or forms).
PREVIEW_CSP = (
    "default-src 'none'; img-src data: blob:; media-src data: blob:; font-src data:; "
    "style-src 'unsafe-inline' data:; script-src 'unsafe-inline'; connect-src 'none'; "
    "frame-src 'none'; child-src 'none'; worker-src 'none'; object-src 'none'; "
    "manifest-src 'none'; form-action 'none'; base-uri 'none'"
)
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.IGNORECASE)


def with_csp(html: str, csp: str = PREVIEW_CSP) -> str:
    """Put a ``<meta http-equiv="Content-Security-Policy">`` first in a page.

    A policy in a ``<meta>`` only covers what comes after it, so it goes before everything but a
    ``<!DOCTYPE>``. A page's own policy cannot loosen it (the browser enforces every policy).

    Args:
        html: The page.
        csp: The policy (default :data:`PREVIEW_CSP`: nothing is fetched from any server).

    Returns:
        The page with the policy in front.

    Example:
        >>> with_csp("<!DOCTYPE html><p>Hi</p>", "default-src 'none'")
        '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src &#x27;none&#x27;"><p>Hi</p>'
    """
    meta = (
        f'<meta http-equiv="Content-Security-Policy" content="{html_lib.escape(csp, quote=True)}">'
    )
    doctype = _DOCTYPE.match(html)
    cut = doctype.end() if doctype else 0
    return f"{html[:cut]}{meta}{html[cut:]}"


def sandboxed_iframe(html: str, *, height: int = 500, allow_scripts: bool = False) -> str:
    """An ``<iframe sandbox srcdoc=...>`` tag holding ``html`` (escaped), cut off from the network.

    The sandbox never grants ``allow-same-origin``: the page runs in an opaque origin and cannot
    touch the notebook's page, cookies or storage; forms, popups, top-level navigation and
    ``<meta http-equiv="refresh">`` are off. :data:`PREVIEW_CSP`, put first in the page
    (:func:`with_csp`), stops it from loading anything from a server, images included. With
    ``allow_scripts=True`` its inline scripts run, and a script can still navigate its own frame
    (``location = ...``) or open a WebRTC connection, which no CSP stops: allow scripts only for
    pages you trust. (A browser may also open, and drop unused, a connection to the address of an
    ``<iframe src>`` before the policy refuses it; it sends nothing.)

    Args:
        html: The page.
        height: The frame's height in pixels.
        allow_scripts: Let the page run its inline scripts (still in the opaque origin).

    Returns:
        The tag.

    Example:
        >>> sandboxed_iframe('<p class="x">Hi</p>')[:70]
        '<iframe sandbox="" srcdoc="&lt;meta http-equiv=&quot;Content-Security-'
    """
    sandbox = "allow-scripts" if allow_scripts else ""
    return (
        f'<iframe sandbox="{sandbox}" srcdoc="{html_lib.escape(with_csp(html), quote=True)}" '
        f'style="width: 100%; height: {int(height)}px; border: 1px solid #ccc;"></iframe>'
    )


def preview_html(
    html: str, *, height: int = 500, allow_scripts: bool = False, caption: str | None = None
) -> Any:
    """Show model-written HTML inside the notebook, sandboxed and offline (:func:`sandboxed_iframe`).

    Args:
        html: The page.
        height: The frame's height in pixels.
        allow_scripts: Let the page run its inline scripts (off by default; see
            :func:`sandboxed_iframe` for what a script could still do).
        caption: A visible title above the frame (escaped), e.g. :data:`SAMPLE_CAPTION` when the
            page is the hand-written sample rather than the model's.

    Returns:
        An ``IPython.display.HTML`` object: the last line of a cell shows it.

    Example:
        >>> preview_html("<p>Hi</p>").data.startswith('<iframe sandbox="" srcdoc=')
        True
        >>> preview_html("<p>Hi</p>", caption="SAMPLE <page>").data[:61]
        '<div style="font-weight: bold; margin: 4px 0;">SAMPLE &lt;pag'
    """
    from IPython.display import HTML

    frame = sandboxed_iframe(html, height=height, allow_scripts=allow_scripts)
    if caption is not None:
        title = html_lib.escape(caption, quote=True)
        frame = f'<div style="font-weight: bold; margin: 4px 0;">{title}</div>{frame}'
    with warnings.catch_warnings():  # IPython suggests IFrame, which cannot carry srcdoc
        warnings.filterwarnings("ignore", message="Consider using IPython.display.IFrame")
        return HTML(frame)


def _screenshot(
    html: str,
    png_path: Path,
    width: int,
    height: int,
    timeout_s: float,
    settle_s: float,
    executable: str | None,
) -> None:
    import socket

    from playwright.sync_api import sync_playwright

    # Bound, never listening: the kernel refuses every connection to it, and no other program can
    # take the port while the browser runs.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hole, sync_playwright() as playwright:
        hole.bind(("127.0.0.1", 0))
        browser = playwright.chromium.launch(
            executable_path=executable, args=sealed_chromium_args(hole.getsockname()[1])
        )
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height},
                offline=True,
                service_workers="block",
                accept_downloads=False,
            )
            context.set_default_timeout(timeout_s * 1000)
            page = context.new_page()
            context.on("page", lambda popup: popup.close())  # a second line of defence
            page.set_content(html, wait_until="load")
            if settle_s > 0:
                page.wait_for_timeout(settle_s * 1000)
            page.screenshot(path=str(png_path))
        finally:
            browser.close()


def render_html(
    html: str,
    png_path: str | os.PathLike,
    *,
    width: int = 1280,
    height: int = 800,
    timeout_s: float = 30.0,
    settle_s: float = 0.0,
) -> Path:
    """Screenshot HTML text with headless Chromium (Playwright) into a PNG, with no network at all.

    Uses the system Chromium (:func:`helpers.common.browser.find_chromium`; no browser download). The browser is sealed
    off every network (:func:`helpers.common.browser.sealed_chromium_args`, an offline context, service workers
    blocked), so a page that links fonts or scripts from the web renders at once and reaches no
    server, local ones included. The text is never read as a path: for a saved file use
    :func:`render_html_file`.

    Args:
        html: The page's HTML text.
        png_path: Where the PNG goes (folders created).
        width: The viewport (and PNG) width in pixels.
        height: The viewport (and PNG) height in pixels.
        timeout_s: Seconds the page may take to load and to be captured (a script that never
            ends hits it).
        settle_s: Seconds to wait after the page has loaded, for pages that draw with scripts.

    Returns:
        ``png_path`` as a ``Path``.

    Raises:
        TypeError: ``html`` is not text (a path, bytes): the message points to
            :func:`render_html_file`.
        RuntimeError: Playwright is not installed.
        BrowserMissingError: Neither a system Chromium nor Playwright's own was found (the
            message says how to install one).

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> png = render_html("<body style='background:red'></body>", pathlib.Path(tempfile.mkdtemp()) / "page.png", width=320, height=200)
        >>> Image.open(png).convert("RGB").getpixel((10, 10)), Image.open(png).size
        ((255, 0, 0), (320, 200))
    """
    if not isinstance(html, str):
        raise TypeError(
            f"render_html takes HTML text, got {type(html).__name__}: for a file use "
            "helpers.html.render_html_file(path, png_path)."
        )
    executable = find_chromium()
    try:
        import playwright  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("render_html needs Playwright: `pip install playwright`.") from exc
    png = check_output_path(png_path, "screenshot")  # before a browser starts
    # Playwright's sync API cannot run inside Jupyter's event loop: use a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_screenshot, html, png, width, height, timeout_s, settle_s, executable)
        try:
            future.result()
        except Exception as exc:
            if executable is None and "Executable doesn't exist" in str(exc):
                raise BrowserMissingError(
                    "no Chromium found: install it (Debian/Ubuntu: `apt-get install chromium`), or "
                    f"set {CHROMIUM_ENV_VAR} to a Chrome/Chromium binary, or run "
                    f"`{PLAYWRIGHT_INSTALL}` (e.g. in Colab)."
                ) from exc
            raise
    return png


def render_html_file(
    path: str | os.PathLike,
    png_path: str | os.PathLike,
    **options: Any,
) -> Path:
    """Screenshot a saved ``.html`` file like :func:`render_html`.

    The file's text is rendered as an offline page: it is not opened as a ``file://`` URL, so it
    cannot read other local files.

    Args:
        path: The ``.html`` file (UTF-8).
        png_path: Where the PNG goes (folders created).
        **options: :func:`render_html`'s keyword arguments (``width``, ``height``, ...).

    Returns:
        ``png_path`` as a ``Path``.

    Raises:
        FileNotFoundError: ``path`` is missing or a folder.
        ValueError: The file is not UTF-8 text.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "page.html").write_text("<body style='background:blue'></body>")
        >>> render_html_file(folder / "page.html", folder / "page.png", width=64, height=64).name
        'page.png'
    """
    source = Path(path)
    if not source.is_file():
        what = "a folder" if source.is_dir() else "not found"
        raise FileNotFoundError(
            f"HTML file {os.fspath(path)!r} is {what}: pass a .html file "
            "(or HTML text to helpers.render_html)."
        )
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"HTML file {os.fspath(path)!r} is not UTF-8 text ({exc}): re-save it as UTF-8."
        ) from exc
    return render_html(text, png_path, **options)
