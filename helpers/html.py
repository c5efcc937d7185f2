"""Model-written HTML: extract it, save it, preview it sandboxed, render it to a PNG."""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .files import write_atomic
from .text import fenced_blocks, visible_answer

_HTML_START = re.compile(r"<!DOCTYPE\s+html[^>]*>|<html[\s>]", re.IGNORECASE)
_HTML_END = re.compile(r"</html\s*>", re.IGNORECASE)
CHROMIUM_ENV_VAR = "CHROMIUM_PATH"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_ARGS = [
    "--no-sandbox",  # needed as root (containers, CI); pages are still isolated from the network
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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
        if not block.closed:
            warnings.warn(
                f"the {language} block is incomplete (the answer stopped before its closing fence): "
                "raise max_new_tokens for the whole page.",
                stacklevel=2,
            )
        return block.body.strip()
    if wanted == "html" and (start := _HTML_START.search(answer)):
        ends = list(_HTML_END.finditer(answer, start.start()))
        if ends:
            return answer[start.start() : ends[-1].end()].strip()
        warnings.warn(
            "the HTML is incomplete (no closing </html>): raise max_new_tokens for the whole page.",
            stacklevel=2,
        )
        return answer[start.start() :].strip()
    preview = answer.strip()[:120].replace("\n", " ")
    raise ValueError(f"no {language} code found in the answer; it starts: {preview!r}")


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
        IsADirectoryError: ``path`` is a folder.

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
    target = Path(path)
    if target.exists():
        if target.is_dir():
            raise IsADirectoryError(
                f"{os.fspath(path)!r} is a folder: give a file name such as page.html."
            )
        if target.read_text(encoding="utf-8", errors="replace") == html:
            return target
        if not overwrite:
            raise FileExistsError(
                f"{os.fspath(path)!r} exists with other content: pass overwrite=True to replace it, "
                "or choose another name."
            )
    return write_atomic(target, html)


def sandboxed_iframe(html: str, *, height: int = 500, allow_scripts: bool = True) -> str:
    """An ``<iframe sandbox srcdoc=...>`` tag holding ``html``, escaped.

    The sandbox never grants ``allow-same-origin``: the page (and its scripts, if allowed) runs in
    an opaque origin and cannot touch the notebook's page, cookies or storage.

    Args:
        html: The page.
        height: The frame's height in pixels.
        allow_scripts: Let the page run its scripts (still in the opaque origin).

    Returns:
        The tag.

    Example:
        >>> sandboxed_iframe('<p class="x">Hi</p>', allow_scripts=False)[:64]
        '<iframe sandbox="" srcdoc="&lt;p class=&quot;x&quot;&gt;Hi&lt;/p'
    """
    sandbox = "allow-scripts" if allow_scripts else ""
    return (
        f'<iframe sandbox="{sandbox}" srcdoc="{html_lib.escape(html, quote=True)}" '
        f'style="width: 100%; height: {int(height)}px; border: 1px solid #ccc;"></iframe>'
    )


def preview_html(html: str, *, height: int = 500, allow_scripts: bool = True) -> Any:
    """Show model-written HTML inside the notebook, in a sandboxed iframe (:func:`sandboxed_iframe`).

    Args:
        html: The page.
        height: The frame's height in pixels.
        allow_scripts: Let the page run its scripts.

    Returns:
        An ``IPython.display.HTML`` object: the last line of a cell shows it.

    Example:
        >>> preview_html("<p>Hi</p>").data.startswith("<iframe sandbox=")
        True
    """
    from IPython.display import HTML

    with warnings.catch_warnings():  # IPython suggests IFrame, which cannot carry srcdoc
        warnings.filterwarnings("ignore", message="Consider using IPython.display.IFrame")
        return HTML(sandboxed_iframe(html, height=height, allow_scripts=allow_scripts))


def find_chromium() -> str | None:
    """The Chromium (or Chrome) that :func:`render_html` uses.

    Returns:
        ``$CHROMIUM_PATH``, else the first of :data:`CHROMIUM_NAMES` on the PATH, else ``None``
        (then Playwright's own browser is tried).

    Example:
        >>> import os
        >>> os.environ["CHROMIUM_PATH"] = "/opt/chrome/chrome"
        >>> find_chromium()
        '/opt/chrome/chrome'
        >>> del os.environ["CHROMIUM_PATH"]
    """
    configured = os.environ.get(CHROMIUM_ENV_VAR)
    if configured:
        return configured
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def _screenshot(
    html: str, png_path: Path, width: int, height: int, timeout_s: float, executable: str | None
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(timeout_s * 1000)

            def block_network(route: Any) -> None:
                url = route.request.url
                if url.startswith(("data:", "blob:", "about:")):
                    route.continue_()
                else:
                    route.abort()

            page.route("**/*", block_network)
            page.set_content(html, wait_until="load")
            page.screenshot(path=str(png_path))
        finally:
            browser.close()


def render_html(
    html_or_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    width: int = 1280,
    height: int = 800,
    timeout_s: float = 30.0,
) -> Path:
    """Screenshot a page with headless Chromium (Playwright) into a PNG.

    Uses the system Chromium (:func:`find_chromium`; no browser download). Every network request
    from the page is blocked, so a page that fetches fonts or scripts from the web renders at once,
    offline.

    Args:
        html_or_path: HTML text, or a ``.html`` file.
        png_path: Where the PNG goes (folders created).
        width: The viewport (and PNG) width in pixels.
        height: The viewport (and PNG) height in pixels.
        timeout_s: Seconds the page may take to load.

    Returns:
        ``png_path`` as a ``Path``.

    Raises:
        FileNotFoundError: A path that is not a file.
        RuntimeError: Playwright is not installed, or no Chromium was found (the message says how
            to install one).

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> png = render_html("<body style='background:red'></body>", pathlib.Path(tempfile.mkdtemp()) / "page.png", width=320, height=200)
        >>> Image.open(png).convert("RGB").getpixel((10, 10)), Image.open(png).size
        ((255, 0, 0), (320, 200))
    """
    source = html_or_path
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "<" not in source):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"HTML file not found: {os.fspath(source)!r}; pass HTML text or a .html file."
            )
        source = path.read_text(encoding="utf-8")
    executable = find_chromium()
    try:
        import playwright  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("render_html needs Playwright: `pip install playwright`.") from exc
    png = Path(png_path)
    png.parent.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API cannot run inside Jupyter's event loop: use a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_screenshot, str(source), png, width, height, timeout_s, executable)
        try:
            future.result()
        except Exception as exc:
            if executable is None and "Executable doesn't exist" in str(exc):
                raise RuntimeError(
                    "no Chromium found: install it (Debian/Ubuntu: `apt-get install chromium`), or "
                    f"set {CHROMIUM_ENV_VAR} to a Chrome/Chromium binary, or run "
                    "`python -m playwright install chromium` (e.g. in Colab)."
                ) from exc
            raise
    return png
