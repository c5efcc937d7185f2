"""A local TCP and UDP listener on 127.0.0.1 that records every connection and byte it gets.

Used to prove that rendered or previewed HTML reaches no server: a test points a page at it and
fails if anything arrives.
"""

from __future__ import annotations

import socket
import threading
import time


class Listener:
    """TCP (answers HTTP 200 to whatever it reads) and UDP on 127.0.0.1, random ports."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._closed = False
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(64)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._receive, daemon=True),
        ]

    def _record(self, kind: str, data: bytes) -> None:
        with self._lock:
            self.events.append((kind, data))

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                continue
            self._record("tcp-connect", b"")
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(1.0)
        try:
            data = conn.recv(65536)
            if data:
                self._record("tcp-data", data)
                body = b"ok"
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nAccess-Control-Allow-Origin: *"
                    b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n" + body
                )
        except OSError:
            pass
        finally:
            conn.close()

    def _receive(self) -> None:
        while not self._closed:
            try:
                data, _ = self.udp.recvfrom(65536)
            except OSError:
                continue
            self._record("udp", data)

    def wait_for_any(self, seconds: float) -> bool:
        """Whether something arrived within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.events:
                return True
            time.sleep(0.05)
        return bool(self.events)

    def __enter__(self) -> Listener:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        close_all([self])


def close_all(listeners: list[Listener]) -> None:
    """Stop listeners together: each one's threads notice within their 0.2 s socket timeout, so
    many close in about that time instead of 0.2 s each."""
    for listener in listeners:
        listener._closed = True
    for listener in listeners:
        for thread in listener._threads:
            thread.join(timeout=1)
        listener.tcp.close()
        listener.udp.close()
