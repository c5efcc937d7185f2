"""HTML rendering cost: seconds per page for helpers.render_html (headless Chromium via Playwright).

Usage: python bench/render.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import report, timed

import helpers

PAGES = {
    "plain text": "<html><body><h1>Hello</h1><p>One paragraph.</p></body></html>",
    "grid layout + CSS": "<html><head><style>body{display:grid;grid-template-columns:260px 1fr;height:100vh;margin:0}"
    "aside{background:#222;color:#eee}main{padding:24px}</style></head><body><aside>Chats</aside>"
    "<main>" + "<p>Message</p>" * 200 + "</main></body></html>",
    "external font + CDN script (blocked)": "<html><head><link rel='stylesheet' href='https://fonts.example.com/a.css'>"
    "<script src='https://cdn.example.com/lib.js'></script></head><body><p>Offline</p></body></html>",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for name, html in PAGES.items():
            seconds, _ = timed(
                lambda html=html: helpers.render_html(html, Path(out) / "page.png"), args.repeats
            )
            rows.append({"page": name, "render_s": round(seconds, 3)})
    report("render", rows, chromium=helpers.common.browser.find_chromium(), size_wh="1280x800")


if __name__ == "__main__":
    main()
