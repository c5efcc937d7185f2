"""A local OpenAI-compatible test server (127.0.0.1, random port) that records requests and
answers with recorded responses, including streamed (SSE) ones and scripted failures.

Scripted actions for the next chat requests (``stub.script``), each a tuple:
``("hang", s)`` wait s seconds first; ``("error", status, message)`` an OpenAI-style error (with
``retry-after-ms: 10`` unless ``retry_after`` is set); ``("echo-auth", status)`` an error whose
body repeats the request's Authorization header; ``("drip", interval_s)`` send the answer one
byte every interval; ``("cut", n)`` stream n chunks then close without a finish_reason or
``[DONE]``; ``("json",)`` answer a streamed request with a whole JSON completion;
``("raw", status, content_type, body)`` anything else. ``stub.models_action`` does the same
for the model list (``("raw", ...)`` only).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "Qwen/Qwen3-VL-4B-Instruct"
REPLY = "A red apple and a yellow banana on a wooden table."


class StubServer:
    def __init__(self, reply: str = REPLY, models: tuple[str, ...] = (MODEL,)) -> None:
        self.reply, self.models = reply, list(models)
        self.requests: list[dict] = []
        self.script: deque = deque()  # actions for the next chat requests (see above)
        self.models_action: tuple | None = None
        self.retry_after: str | None = None  # Retry-After header of scripted errors
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                self._raw(status, "application/json", json.dumps(payload).encode(), headers)

            def _raw(
                self, status: int, kind: str, body: bytes, headers: dict | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, message: str) -> None:
                retry = (
                    {"Retry-After": stub.retry_after}
                    if stub.retry_after
                    else {"retry-after-ms": "10"}
                )
                self._json(
                    status,
                    {"error": {"message": message, "type": "stub_error", "code": status}},
                    retry,
                )

            def _chunk(self, model: str, delta: dict, finish: str | None) -> bytes:
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
                return f"data: {json.dumps(chunk)}\n\n".encode()

            def _completion(self, model: str, reply: str) -> dict:
                return {
                    "id": "c1", "object": "chat.completion", "created": 0, "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }  # fmt: skip

            def do_GET(self):
                if stub.models_action is not None and stub.models_action[0] == "raw":
                    _, status, kind, body = stub.models_action
                    self._raw(status, kind, body)
                elif self.path.rstrip("/").endswith("/models"):
                    self._json(
                        200,
                        {
                            "object": "list",
                            "data": [
                                {"id": m, "object": "model", "owned_by": "stub"}
                                for m in stub.models
                            ],
                        },
                    )
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests.append(body)
                    stub.headers.append(dict(self.headers))
                    action = stub.script.popleft() if stub.script else None
                kind = action[0] if action else None
                if kind == "hang":
                    time.sleep(action[1])
                elif kind == "error":
                    self._error(action[1], action[2])
                    return
                elif kind == "echo-auth":
                    auth = self.headers.get("Authorization", "")
                    self._error(action[1], f"invalid header Authorization: {auth} for {self.path}")
                    return
                elif kind == "raw":
                    self._raw(action[1], action[2], action[3])
                    return
                if body.get("model") not in stub.models:
                    self._json(
                        404,
                        {
                            "error": {
                                "message": f"The model `{body.get('model')}` does not exist.",
                                "code": 404,
                            }
                        },
                    )
                    return
                reply = stub.reply(body) if callable(stub.reply) else stub.reply
                model = body["model"]
                if kind == "drip":
                    payload = (
                        b"".join(
                            self._chunk(model, {"content": reply[i : i + 7]}, None)
                            for i in range(0, len(reply), 7)
                        )
                        + self._chunk(model, {}, "stop")
                        + b"data: [DONE]\n\n"
                        if body.get("stream")
                        else json.dumps(self._completion(model, reply)).encode()
                    )
                    self.send_response(200)
                    self.send_header(
                        "Content-Type",
                        "text/event-stream" if body.get("stream") else "application/json",
                    )
                    if not body.get("stream"):
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    try:
                        for byte in payload:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(action[1])
                    except OSError:
                        pass  # the client gave up
                    return
                if body.get("stream") and kind != "json":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    pieces = [reply[i : i + 7] for i in range(0, len(reply), 7)]
                    for count, piece in enumerate(pieces):
                        if kind == "cut" and count == action[1]:
                            self.close_connection = True
                            return
                        self.wfile.write(self._chunk(model, {"content": piece}, None))
                        self.wfile.flush()
                    self.wfile.write(self._chunk(model, {}, "stop"))
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                self._json(200, self._completion(model, reply))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        # a short poll interval: shutdown() waits for it, once per test
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
