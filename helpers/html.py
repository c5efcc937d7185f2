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
    """The code of the last fenced block tagged ``language`` (tag case-insensitive).

    Without such a block, for HTML: the ``<!DOCTYPE html>``/``<html>`` ... ``</html>`` span. An
    answer cut off before its closing fence (or ``</html>``) gives what was written, with a
    warning that it is incomplete. No code at all raises ``ValueError`` showing the answer's start.
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
    """Write ``html`` to ``path`` as UTF-8 (folders created, written atomically).

    An existing file with other content is only replaced with ``overwrite=True``; otherwise
    ``FileExistsError`` says so. Rewriting identical content is a no-op.
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
    """
    sandbox = "allow-scripts" if allow_scripts else ""
    return (
        f'<iframe sandbox="{sandbox}" srcdoc="{html_lib.escape(html, quote=True)}" '
        f'style="width: 100%; height: {int(height)}px; border: 1px solid #ccc;"></iframe>'
    )


def preview_html(html: str, *, height: int = 500, allow_scripts: bool = True) -> Any:
    """Show model-written HTML inside the notebook, in a sandboxed iframe (see :func:`sandboxed_iframe`)."""
    from IPython.display import HTML

    with warnings.catch_warnings():  # IPython suggests IFrame, which cannot carry srcdoc
        warnings.filterwarnings("ignore", message="Consider using IPython.display.IFrame")
        return HTML(sandboxed_iframe(html, height=height, allow_scripts=allow_scripts))


def find_chromium() -> str | None:
    """``$CHROMIUM_PATH``, else a Chromium/Chrome on the PATH, else ``None``."""
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
    """Screenshot a page (HTML text or a ``.html`` file) with headless Chromium into ``png_path``.

    Uses Playwright with the system Chromium (``$CHROMIUM_PATH`` or ``chromium`` on the PATH; no
    browser download). Every network request from the page is blocked, so a page that fetches
    fonts or scripts from the web renders at once, offline. The PNG is ``width`` x ``height``.
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
