"""Finding Chromium, and the switches that cut a page it renders off from every network."""

from __future__ import annotations

import os
import shutil

#: Set to a Chromium or Chrome executable to use it rather than the first one on the PATH.
CHROMIUM_ENV_VAR = "CHROMIUM_PATH"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: The command that installs Playwright's own Chromium (what the Colab setup runs).
PLAYWRIGHT_INSTALL = "python -m playwright install --with-deps chromium"


def find_chromium() -> str | None:
    """The Chromium (or Chrome) that :func:`helpers.html.render_html` uses.

    Returns:
        ``$CHROMIUM_PATH``, else the first of :data:`CHROMIUM_NAMES` on the PATH, else ``None``:
        then :func:`helpers.html.render_html` launches Playwright's own Chromium (installed by
        :data:`PLAYWRIGHT_INSTALL`, as the Colab setup does), sealed the same way.

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


def sealed_chromium_args(refusing_port: int) -> list[str]:
    """Chromium switches that cut a page off from every network, at the browser level.

    All traffic (HTTP, WebSocket, prefetch, workers, popups; loopback included, ``<-loopback>``)
    must go through a proxy at ``127.0.0.1:refusing_port``, a port held but never listened on, so
    every connection is refused at once; DNS answers nothing; WebRTC may not send UDP outside the
    proxy (so no STUN); QUIC is off; popups cannot open. ``tests/test_html_network.py`` proves it
    with a live listener.

    Args:
        refusing_port: A loopback TCP port that is bound but never listens.

    Returns:
        The switches, for ``playwright.chromium.launch(args=...)``.

    Example:
        >>> "--proxy-bypass-list=<-loopback>" in sealed_chromium_args(9)
        True
    """
    return [
        "--no-sandbox",  # needed as root (containers, CI); the page is still cut off from networks
        "--disable-gpu",
        "--no-first-run",
        f"--proxy-server=http://127.0.0.1:{refusing_port}",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-quic",
        "--dns-prefetch-disable",
        "--block-new-web-contents",
        "--no-pings",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-domain-reliability",
        "--disable-sync",
    ]
