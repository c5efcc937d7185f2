"""Rendered and previewed HTML reaches no server: every vector is aimed at a live local listener
(TCP and UDP on 127.0.0.1) that fails the test on any byte.

Each vector is first loaded in a plain, unsealed Chromium to prove it does reach the listener
there; so a row fails if the seal breaks, and a row whose vector is dead fails too.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from listener import Listener, close_all

from helpers.html import find_chromium, render_html, sandboxed_iframe

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no Chromium: `apt-get install chromium` (scripts/setup.sh does)",
)

# Page bodies; {http} is http://127.0.0.1:<tcp port>, {tcp}/{udp} the listener's ports.
VECTORS = {
    # a plain image
    "img": '<img src="{http}/img.png">',
    # an image under a host name instead of an IP address
    "img via localhost": '<img src="http://localhost:{tcp}/img.png">',
    # the page's own stylesheet, a CSS background and a web font
    "css": '<link rel="stylesheet" href="{http}/a.css"><div style="background:url({http}/bg.png);'
    'width:9px;height:9px"></div>',
    # a script file
    "script src": '<script src="{http}/a.js"></script>',
    # link prefetch and preconnect
    "prefetch": '<link rel="prefetch" href="{http}/prefetch"><link rel="preconnect" href="{http}">',
    # fetch and XMLHttpRequest from the page
    "fetch": '<script>fetch("{http}/fetch").catch(() => 0); const x = new XMLHttpRequest();'
    'x.open("GET", "{http}/xhr"); x.send();</script>',
    # a beacon
    "sendBeacon": '<script>navigator.sendBeacon("{http}/beacon", "x")</script>',
    # a WebSocket
    "websocket": '<script>new WebSocket("ws://127.0.0.1:{tcp}/ws")</script>',
    # a popup, and fetch called inside a popup
    "window.open + fetch": '<script>const w = window.open("{http}/popup");'
    'const b = window.open("about:blank"); if (b) b.fetch("{http}/popup-fetch").catch(() => 0);'
    "</script>",
    # a Worker made from a blob, opening a WebSocket and fetching
    "blob worker websocket": '<script>const src = \'new WebSocket("ws://127.0.0.1:{tcp}/w");'
    'fetch("{http}/worker").catch(() => 0);\';'
    "new Worker(URL.createObjectURL(new Blob([src], {{type: 'text/javascript'}})));</script>",
    # WebRTC: a STUN binding request over UDP, and TURN over TCP
    "rtcpeerconnection stun": "<script>const pc = new RTCPeerConnection({{iceServers: ["
    '{{urls: "stun:127.0.0.1:{udp}"}}, {{urls: "turn:127.0.0.1:{tcp}?transport=tcp", '
    'username: "u", credential: "c"}}]}}); pc.createDataChannel("d");'
    "pc.createOffer().then(o => pc.setLocalDescription(o));</script>",
    # an iframe
    "iframe": '<iframe src="{http}/frame"></iframe>',
    # meta refresh
    "meta refresh": '<meta http-equiv="refresh" content="0;url={http}/refresh">',
    # location = ...
    "location=": '<script>location = "{http}/location"</script>',
    # a form submitted by a script
    "form submit": '<form action="{http}/form" method="post"><input name="a" value="b"></form>'
    "<script>document.forms[0].submit()</script>",
    # a link with ping, clicked by a script
    "a ping click": '<a id="a" href="#x" ping="{http}/ping">x</a><script>document.getElementById("a").click()</script>',
    # media and plugins
    "video object": '<video src="{http}/v.mp4" autoplay muted></video><object data="{http}/o"></object>',
    # an SVG image and a base URL
    "svg base": '<base href="{http}/"><svg><image href="rel.png" width="9" height="9"/></svg>',
    # server-sent events and a module imported at run time
    "eventsource import": '<script>new EventSource("{http}/events");'
    'import("{http}/module.js").catch(() => 0);</script>',
}
# Vectors that need the page's scripts; a preview without scripts stops them by not running them.
SCRIPTED = {name for name, body in VECTORS.items() if "<script" in body}
# With scripts allowed, a preview cannot stop a script navigating its own frame or opening a
# WebRTC connection (no CSP covers them): preview_html says so, and runs no scripts by default.
PREVIEW_CANNOT_STOP = {"location=", "rtcpeerconnection stun"}


# Chromium opens (and drops, sending nothing) a speculative connection for a frame's address
# before the preview's CSP refuses to load it; only the page's own browser settings can stop that.
EMPTY_CONNECTION_ONLY = {"iframe"}


def _page(body: str, listener: Listener) -> str:
    text = body.format(
        http=f"http://127.0.0.1:{listener.tcp_port}", tcp=listener.tcp_port, udp=listener.udp_port
    )
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{text}</body></html>"


def _previews(allow_scripts: bool, listeners: dict[str, Listener]) -> str:
    """One page holding every vector's preview, as a notebook with many previews would: each
    vector in its own ``preview_html`` iframe, aimed at its own listener."""
    frames = (
        sandboxed_iframe(_page(VECTORS[vector], listener), allow_scripts=allow_scripts)
        for vector, listener in listeners.items()
    )
    return f"<html><body>{''.join(frames)}</body></html>"


@pytest.fixture(scope="module")
def plain_chromium_events():
    """What the listener got for each vector loaded in an ordinary Chromium (no seal): directly
    (``"plain"``, a page per vector, which must reach it) and inside ``preview_html``'s iframes
    (``"preview"``, scripts off, and ``"preview+scripts"``: a page each, every vector's iframe on
    it).

    All pages load at once (Playwright's async API), each vector aimed at its own listener, then
    wait together.
    """
    from playwright.async_api import async_playwright

    ways = ("plain", "preview", "preview+scripts")
    listeners = {(way, v): Listener().__enter__() for way in ways for v in VECTORS}
    pages = [_page(VECTORS[v], listeners["plain", v]) for v in VECTORS]
    for way, allow_scripts in (("preview", False), ("preview+scripts", True)):
        pages.append(_previews(allow_scripts, {v: listeners[way, v] for v in VECTORS}))

    async def load(browser, html):
        page = await browser.new_page()
        # a vector that navigates away may interrupt set_content: the listener is what counts
        with contextlib.suppress(Exception):
            await page.set_content(html, wait_until="commit")

    async def load_all():
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=find_chromium(), args=["--no-sandbox"]
            )
            await asyncio.gather(*(load(browser, html) for html in pages))
            await asyncio.sleep(4.0)
            await browser.close()

    try:
        asyncio.run(load_all())
        return {key: list(listener.events) for key, listener in listeners.items()}
    finally:
        close_all(list(listeners.values()))


@pytest.fixture(scope="module")
def sealed_render_events(tmp_path_factory):
    """What the listener got while ``render_html`` rendered each vector, one listener and one
    browser per vector, three renders at a time."""
    folder = tmp_path_factory.mktemp("sealed")

    def render(index_vector):
        index, vector = index_vector
        with Listener() as listener:
            page = _page(VECTORS[vector], listener)
            # a page that navigates away may break the render: it must still reach nothing
            with contextlib.suppress(Exception):
                render_html(page, folder / f"{index}.png", width=200, height=120, settle_s=1.0)
            listener.wait_for_any(0.3)
            return list(listener.events)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(VECTORS, pool.map(render, enumerate(VECTORS)), strict=True))


@pytest.mark.parametrize("vector", list(VECTORS))
def test_render_html_reaches_no_server(vector, plain_chromium_events, sealed_render_events):
    assert plain_chromium_events["plain", vector], (
        f"{vector}: does not reach the listener even unsealed; the row proves nothing"
    )
    events = sealed_render_events[vector]
    assert not events, f"{vector}: the render reached the listener: {events}"


@pytest.mark.parametrize(
    ("vector", "allow_scripts"),
    [(v, False) for v in VECTORS]
    + [(v, True) for v in VECTORS if v in SCRIPTED and v not in PREVIEW_CANNOT_STOP],
)
def test_preview_reaches_no_server(vector, allow_scripts, plain_chromium_events):
    assert plain_chromium_events["plain", vector], (
        f"{vector}: does not reach the listener even unsealed; the row proves nothing"
    )
    events = plain_chromium_events["preview+scripts" if allow_scripts else "preview", vector]
    if vector in EMPTY_CONNECTION_ONLY:
        events = [event for event in events if event != ("tcp-connect", b"")]
    assert not events, f"{vector}: the preview reached the listener: {events[:3]}"
