import base64
import io
import json
import socket
import time
import traceback

import numpy as np
import pytest
from openai_stub import MODEL, REPLY, StubServer
from PIL import Image

import helpers
from helpers.common.errors import RemoteError
from helpers.serving import RemoteModel, connect


@pytest.fixture
def server():
    with StubServer() as stub:
        yield stub


@pytest.fixture
def remote(server, monkeypatch):
    monkeypatch.setenv("QWEN_VL_BASE_URL", server.url)
    monkeypatch.delenv("QWEN_VL_MODEL", raising=False)
    return helpers.load_model()


def _decode_data_url(url):
    header, data = url.split(",", 1)
    assert header.endswith(";base64")
    return header[5:].split(";")[0], base64.b64decode(data)


def test_load_model_switches_to_server(remote, server):
    model, _ = remote
    assert isinstance(model, RemoteModel) and model.name == MODEL and model.base_url == server.url


def test_image_path_travels_as_data_url(remote, server, rgb_image):
    model, processor = remote
    answer = helpers.chat(
        model, processor, helpers.image_message(rgb_image, "Describe."), max_new_tokens=77
    )
    assert answer == REPLY
    [body] = server.requests
    assert (
        body["model"] == MODEL and body["max_tokens"] == 77 and body["temperature"] == 0.0
    )  # greedy
    [message] = body["messages"]
    image_part, text_part = message["content"]
    assert text_part == {"type": "text", "text": "Describe."}
    mime, data = _decode_data_url(image_part["image_url"]["url"])
    assert mime == "image/png" and data == rgb_image.read_bytes()  # the original bytes


def _decode_video(url, tmp_path):
    """Frames (N x H x W x 3) and frame rate of a video data URL, read back with OpenCV."""
    import cv2

    mime, data = _decode_data_url(url)
    path = tmp_path / "sent.avi"
    path.write_bytes(data)
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return mime, np.stack(frames), fps


def test_image_budget_is_applied_before_sending(remote, server):
    model, processor = remote
    image = Image.new("RGB", (400, 300), (10, 200, 30))
    helpers.chat(
        model,
        processor,
        helpers.image_message(image, "x", max_pixels=100 * 32 * 32),
        max_new_tokens=5,
    )
    body = server.requests[-1]
    _, data = _decode_data_url(body["messages"][0]["content"][0]["image_url"]["url"])
    sent = Image.open(io.BytesIO(data))
    assert sent.size == (352, 256)  # qwen-vl-utils' resize: multiples of 32, <= 102,400 pixels
    assert np.asarray(sent.convert("RGB"))[100, 100].tolist() == [10, 200, 30]
    assert "mm_processor_kwargs" not in body  # a default vLLM refuses them (HTTP 400)


def test_each_item_keeps_its_budget(remote, server):
    model, processor = remote
    image = Image.new("RGB", (640, 480), (90, 90, 90))
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": image, "max_pixels": 80 * 32 * 32},
                {"type": "image", "image": image, "max_pixels": 300 * 32 * 32},
                {"type": "text", "text": "x"},
            ],
        }
    ]
    helpers.chat(model, processor, messages, max_new_tokens=5)
    parts = server.requests[-1]["messages"][0]["content"]
    sizes = [
        Image.open(io.BytesIO(_decode_data_url(p["image_url"]["url"])[1])).size for p in parts[:2]
    ]
    assert sizes == [(320, 224), (640, 480)]  # qwen-vl-utils: <= 81,920 and <= 307,200 pixels


def test_video_frames_are_chosen_here(remote, server, tmp_path):
    model, processor = remote
    video = helpers.INPUT_DIR / "events.mp4"  # 8 s at 10 fps, 320x240
    helpers.chat(
        model,
        processor,
        helpers.video_message(video, "When?", fps=2.0, max_frames=12),
        max_new_tokens=5,
    )
    body = server.requests[-1]
    part = body["messages"][0]["content"][0]
    assert part["type"] == "video_url"
    mime, frames, fps = _decode_video(part["video_url"]["url"], tmp_path)
    # qwen-vl-utils' choice: 12 frames spread over 0-7.9 s, each enlarged to 448x320 (128 tokens)
    assert mime == "video/x-msvideo" and frames.shape == (12, 320, 448, 3)
    assert fps == pytest.approx(11 / 7.9, abs=1e-3)  # frame k shown at its original time
    assert "mm_processor_kwargs" not in body and "media_io_kwargs" not in body


def test_dense_video_is_thinned_for_a_default_server(remote, server, tmp_path):
    model, processor = remote
    messages = helpers.video_message(helpers.INPUT_DIR / "events.mp4", "When?", fps=5.0)
    with pytest.warns(UserWarning, match=r"sending 16 of 40 frames \(2 per second"):
        helpers.chat(model, processor, messages, max_new_tokens=5)
    url = server.requests[-1]["messages"][0]["content"][0]["video_url"]["url"]
    _, frames, fps = _decode_video(url, tmp_path)
    assert len(frames) == 16 and fps <= 2.0


def test_trusting_server_gets_every_frame_and_the_settings_to_keep_them(server, tmp_path):
    model, processor = connect(server.url, trust_mm_kwargs=True)
    messages = helpers.video_message(helpers.INPUT_DIR / "events.mp4", "When?", fps=5.0)
    helpers.chat(model, processor, messages, max_new_tokens=5)
    body = server.requests[-1]
    _, frames, fps = _decode_video(body["messages"][0]["content"][0]["video_url"]["url"], tmp_path)
    assert len(frames) == 40 and fps == pytest.approx(39 / 7.9, abs=1e-3)
    assert body["media_io_kwargs"] == {"video": {"fps": 30.0}}
    assert body["mm_processor_kwargs"] == {"do_sample_frames": False}


def test_trust_comes_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("QWEN_VL_TRUST_MM_KWARGS", "1")
    assert connect(server.url)[0].trust_mm_kwargs is True
    monkeypatch.setenv("QWEN_VL_TRUST_MM_KWARGS", "0")
    assert connect(server.url)[0].trust_mm_kwargs is False


def test_frame_list_travels_as_one_video(remote, server, tmp_path):
    model, processor = remote
    frames = [np.full((240, 320, 3), 40 * i, np.uint8) for i in range(4)]
    helpers.chat(
        model, processor, helpers.video_message(frames, "x", sample_fps=1.0), max_new_tokens=5
    )
    [part, _] = server.requests[-1]["messages"][0]["content"]
    _, sent, fps = _decode_video(part["video_url"]["url"], tmp_path)
    assert sent.shape[0] == 4 and fps == pytest.approx(1.0)  # one frame per second, as taken
    assert abs(int(sent[2].mean()) - 80) <= 2  # order kept (JPEG is near-lossless on flat colour)


def test_image_url_is_left_for_the_server_to_fetch(remote, server):
    model, processor = remote
    url = "http://127.0.0.1:9/cat.jpg"  # nothing listens here: fetching it here would fail
    helpers.chat(model, processor, helpers.image_message(url, "x"), max_new_tokens=5)
    part = server.requests[-1]["messages"][0]["content"][0]
    assert part == {"type": "image_url", "image_url": {"url": url}}


def test_image_url_with_a_budget_is_downloaded_within_the_deadline(remote, server, monkeypatch):
    model, processor = remote
    monkeypatch.setattr(helpers.common.files, "URL_TIMEOUT_S", 1.0)
    with socket.socket() as silent:  # connections are taken (backlog), never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/cat.png"
        messages = helpers.image_message(url, "x", max_pixels=64 * 32 * 32)
        start = time.monotonic()
        with pytest.raises(helpers.InputError, match=r"cat\.png.*could not be downloaded"):
            helpers.chat(model, processor, messages, max_new_tokens=5)
        assert time.monotonic() - start < 3
    assert server.requests == []  # nothing sent


def test_video_url_with_a_budget_is_refused(remote):
    model, processor = remote
    messages = helpers.video_message("http://127.0.0.1:9/clip.mp4", "x", max_frames=8)
    with pytest.raises(ValueError, match=r"budget \(max_frames\) on a video URL.*pass its path"):
        helpers.chat(model, processor, messages)


def test_small_image_warns(remote, server):
    model, processor = remote
    with pytest.warns(UserWarning, match=r"smaller than 65,536 pixels.*--trust-request-mm-kwargs"):
        helpers.chat(model, processor, helpers.image_message(Image.new("RGB", (64, 64)), "x"))


def test_sampling_preset_and_extra_settings(remote, server):
    model, processor = remote
    helpers.chat(
        model,
        processor,
        [{"role": "user", "content": "Hi"}],
        preset="sampling",
        presence_penalty=1.5,
        max_new_tokens=9,
    )
    body = server.requests[-1]
    assert (body["temperature"], body["top_p"], body["top_k"], body["presence_penalty"]) == (
        0.7,
        0.8,
        20,
        1.5,
    )
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


def test_multi_turn_history(remote, server):
    model, processor = remote
    conversation = [
        {"role": "user", "content": "Make a page."},
        {"role": "assistant", "content": "<html></html>"},
        {"role": "user", "content": "Add a sidebar."},
    ]
    helpers.chat(model, processor, conversation, max_new_tokens=5)
    assert server.requests[-1]["messages"][1] == {"role": "assistant", "content": "<html></html>"}


def test_streaming_reassembles_the_text(remote, server, capsys):
    model, processor = remote
    answer = helpers.chat(
        model, processor, [{"role": "user", "content": "Hi"}], stream=True, max_new_tokens=5
    )
    assert answer == REPLY
    assert server.requests[-1]["stream"] is True
    assert REPLY in capsys.readouterr().out


def test_batch_keeps_order(server, monkeypatch):
    server.reply = lambda body: body["messages"][0]["content"][0]["text"].upper()
    monkeypatch.setenv("QWEN_VL_BASE_URL", server.url)
    monkeypatch.delenv("QWEN_VL_MODEL", raising=False)
    model, processor = helpers.load_model()
    conversations = [[{"role": "user", "content": f"question {i}"}] for i in range(6)]
    assert helpers.chat_batch(model, processor, conversations) == [
        f"QUESTION {i}" for i in range(6)
    ]


@pytest.mark.parametrize(
    ("script", "stream", "requests", "outcome"),
    [
        # two transient failures, then the answer: retried by the openai client
        ([("error", 503, "overloaded"), ("error", 502, "bad gateway")], False, 3, REPLY),
        # rate limited, then the answer (streamed)
        ([("error", 429, "slow down")], True, 2, REPLY),
        # always failing: three retries, then a clear error
        ([("error", 503, "overloaded")] * 10, False, 4, "refused the request.*overloaded"),
        # a client error is not retried
        ([("error", 422, "bad field")], False, 1, "refused the request.*bad field"),
        # a stream that broke off after it started is never sent again
        ([("cut", 2)], True, 1, "stopped before the server said it was finished"),
    ],
)
def test_retries(remote, server, script, stream, requests, outcome):
    model, processor = remote
    server.script.extend(script)
    messages = [{"role": "user", "content": "Hi"}]
    if outcome == REPLY:
        assert helpers.chat(model, processor, messages, stream=stream) == REPLY
    else:
        with pytest.raises(RemoteError, match=outcome):
            helpers.chat(model, processor, messages, stream=stream)
    assert len(server.requests) == requests


def test_retry_after_is_honoured(remote, server):
    model, processor = remote
    server.retry_after = "1"
    server.script.append(("error", 503, "come back in a second"))
    start = time.monotonic()
    assert helpers.chat(model, processor, [{"role": "user", "content": "Hi"}]) == REPLY
    assert time.monotonic() - start >= 1.0  # the openai client's own back-off would be ~0.5 s


def test_request_too_large(remote, server):
    model, processor = remote
    server.script.append(
        (
            "error",
            400,
            "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.",
        )
    )
    with pytest.raises(RemoteError, match=r"too large.*max_pixels"):
        helpers.chat(model, processor, [{"role": "user", "content": "Hi"}])
    assert len(server.requests) == 1  # not retried


def test_wrong_model_name(server, monkeypatch):
    monkeypatch.setenv("QWEN_VL_BASE_URL", server.url)
    with pytest.raises(
        RemoteError, match=r"does not serve 'Qwen/Qwen3-VL-8B-Instruct'.*Qwen3-VL-4B-Instruct"
    ):
        helpers.load_model("Qwen/Qwen3-VL-8B-Instruct")


def test_model_removed_after_connect(remote, server):
    model, processor = remote
    server.models = ["other"]
    with pytest.raises(RemoteError, match="does not serve"):
        helpers.chat(model, processor, [{"role": "user", "content": "Hi"}])


def test_unreachable_server(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("QWEN_VL_BASE_URL", f"http://127.0.0.1:{port}/v1")
    with pytest.raises(
        RemoteError,
        match=rf"cannot reach the server at http://127.0.0.1:{port}/v1.*QWEN_VL_BASE_URL",
    ):
        helpers.load_model()


@pytest.mark.parametrize(
    ("action", "stream"),
    [
        # a server that accepts the request and never answers
        (("hang", 30.0), False),
        # the same, for a streamed request
        (("hang", 30.0), True),
        # a streamed answer arriving one byte every 3 ms (each read is quick, the whole ~6 s)
        (("drip", 0.003), True),
        # a whole answer sent one byte every 10 ms (~3 s)
        (("drip", 0.01), False),
    ],
)
def test_timeout_bounds_the_whole_request(server, action, stream):
    model, processor = connect(server.url, timeout_s=1.0)
    server.script.append(action)
    start = time.monotonic()
    with pytest.raises(RemoteError, match=r"within 1 s.*QWEN_VL_TIMEOUT") as error:
        helpers.chat(model, processor, [{"role": "user", "content": "Hi"}], stream=stream)
    assert time.monotonic() - start < 2.5
    if action[0] == "drip" and stream:
        assert 0 < len(error.value.partial) < len(REPLY)  # what arrived is kept


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf"])
def test_bad_timeout_setting(server, monkeypatch, value):
    monkeypatch.setenv("QWEN_VL_BASE_URL", server.url)
    monkeypatch.setenv("QWEN_VL_TIMEOUT", value)
    with pytest.raises(RemoteError, match=rf"QWEN_VL_TIMEOUT='{value}' is not a positive number"):
        helpers.load_model()


@pytest.mark.parametrize(
    ("action", "stream", "expected"),
    [
        # a complete stream: finish_reason, then [DONE]
        (None, True, REPLY),
        # a server that ignores stream=True and answers the whole completion as JSON
        (("json",), True, REPLY),
        # the connection drops after 3 chunks: an error holding the 21 characters that came
        (("cut", 3), True, RemoteError),
        # the connection drops before any chunk
        (("cut", 0), True, RemoteError),
        # an HTML page instead of the answer
        (("raw", 200, "text/html", b"<html>Sign in</html>"), True, "text/html"),
        # the same without streaming
        (("raw", 200, "text/html", b"<html>Sign in</html>"), False, "text/html"),
    ],
)
def test_incomplete_or_foreign_answers(remote, server, capsys, action, stream, expected):
    model, processor = remote
    if action:
        server.script.append(action)
    messages = [{"role": "user", "content": "Hi"}]
    if expected == REPLY:
        assert helpers.chat(model, processor, messages, stream=stream) == REPLY
        assert REPLY in capsys.readouterr().out
    elif expected is RemoteError:
        with pytest.raises(RemoteError, match="partial") as error:
            helpers.chat(model, processor, messages, stream=stream)
        assert error.value.partial == REPLY[: 7 * action[1]]
    else:
        with pytest.raises(RemoteError, match=rf"answered the chat request with {expected}.*/v1"):
            helpers.chat(model, processor, messages, stream=stream)


def _completion(content) -> bytes:
    return json.dumps(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
    ).encode()


@pytest.mark.parametrize(
    ("action", "stream", "pattern"),
    [
        # the server's engine fails after the stream started: an error event, not a wrong URL
        (
            ("raw", 200, "text/event-stream", b'data: {"error": {"message": "engine dead"}}\n\n'),
            True,
            r"failed while answering: engine dead.*own log",
        ),
    ],
)
def test_server_failures_are_named(remote, server, action, stream, pattern):
    model, processor = remote
    server.script.append(action)
    with pytest.raises(RemoteError, match=pattern) as error:
        helpers.chat(model, processor, [{"role": "user", "content": "Hi"}], stream=stream)
    assert "OpenAI-compatible" not in str(error.value)


@pytest.mark.parametrize(
    "stream",
    [
        False,  # a whole answer whose content is null
        True,  # the same, from a server that ignores stream=True
    ],
)
def test_an_answer_without_text_warns(remote, server, stream):
    model, processor = remote
    server.script.append(("raw", 200, "application/json", _completion(None)))
    with pytest.warns(UserWarning, match=r"answered with no text \(finish_reason='stop'\)"):
        assert (
            helpers.chat(model, processor, [{"role": "user", "content": "Hi"}], stream=stream) == ""
        )


@pytest.mark.parametrize(
    "body",
    [
        # a login page
        b"<html><body>Sign in</body></html>",
        # a web UI served at the root instead of the API
        b"<!DOCTYPE html><title>Open WebUI</title>",
    ],
)
def test_server_answering_html_at_connect(server, monkeypatch, body):
    server.models_action = ("raw", 200, "text/html; charset=utf-8", body)
    monkeypatch.setenv("QWEN_VL_BASE_URL", server.url)
    with pytest.raises(RemoteError, match=r"answered the model list with text/html.*usually http"):
        helpers.load_model()


SECRET = "sk-TOPSECRET-123456"


@pytest.mark.parametrize(
    ("where", "url_has_secret", "key_env"),
    [
        # password in the URL: the load line and repr
        ("load", True, False),
        # password in the URL, server unreachable
        ("unreachable", True, False),
        # password in the URL, a server error
        ("error", True, False),
        # API key from the environment echoed by the server in its error body
        ("echo", False, True),
        # the same while streaming
        ("echo-stream", False, True),
    ],
)
def test_credentials_are_redacted(
    server, monkeypatch, capsys, caplog, where, url_has_secret, key_env
):
    url = server.url.replace("http://", f"http://user:{SECRET}@") if url_has_secret else server.url
    if where == "unreachable":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"http://user:{SECRET}@127.0.0.1:{port}/v1"
    monkeypatch.setenv("QWEN_VL_BASE_URL", url)
    monkeypatch.delenv("QWEN_VL_MODEL", raising=False)
    if key_env:
        monkeypatch.setenv("QWEN_VL_API_KEY", SECRET)
    shown = []
    caplog.set_level("DEBUG")  # every library's log, the HTTP client's request lines included
    try:
        model, processor = helpers.load_model()
        shown.append(repr(model))
        if where == "error":
            server.script.append(("error", 400, f"bad request to {url}"))
        elif where.startswith("echo"):
            server.script.append(("echo-auth", 401 if where == "echo" else 403))
        if where != "load":
            helpers.chat(
                model, processor, [{"role": "user", "content": "Hi"}], stream="stream" in where
            )
    except RemoteError as exc:
        shown.append("".join(traceback.format_exception(exc)))
    if where == "echo-stream":  # the server did see the key (so the echo is real)
        assert any(SECRET in str(h) for h in server.headers)
    out = capsys.readouterr()
    shown += [out.out, out.err, caplog.text]  # printed, and logged (the load line)
    assert where == "load" or any("Traceback" in text for text in shown)  # an error was shown
    if url_has_secret:  # the server's address is shown, with its credentials hidden
        assert "http://***@127.0.0.1" in "".join(shown)
    assert not [text for text in shown if SECRET in text]


def test_ocr_folder_survives_a_transient_error(remote, server, tmp_path):
    model, processor = remote
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(5):
        Image.new("RGB", (32, 32), (i * 40, 0, 0)).save(folder / f"{i}.png")
    server.script.extend([None, None, ("error", 500, "boom")])  # the third request fails once
    table = helpers.ocr_folder(
        model, processor, folder, out_dir=tmp_path / "out", batch_size=2, progress=False
    )
    assert list(table["status"]) == ["done"] * 5
    assert all((tmp_path / "out" / f"{i}.png.txt").read_text() == REPLY for i in range(5))


def test_visual_tokens_without_a_local_processor(remote, tiny, rgb_image):
    _, remote_processor = remote
    _, local_processor = tiny
    messages = helpers.image_message(
        helpers.INPUT_DIR / "fruits.jpg", "x", max_pixels=128 * 32 * 32
    )
    assert helpers.count_visual_tokens(remote_processor, messages) == helpers.count_visual_tokens(
        local_processor, messages
    )


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        # a header echoed in an error body
        ("invalid header Authorization: Bearer sk-abc123def", "sk-abc123def"),
        # basic auth
        ("authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        # a JSON field
        ('{"api_key": "k-998877", "model": "m"}', "k-998877"),
        # a query parameter
        ("GET /v1/models?api-key=abcd1234&x=1", "abcd1234"),
        # a URL with credentials inside a message
        ("connecting to https://me:pa55word@example.com/v1 failed", "pa55word"),
        # a known secret anywhere
        ("token sk-TOPSECRET-123456 was rejected", "sk-TOPSECRET-123456"),
        # a bare token field
        ("rejected token=abcdef123 for this model", "abcdef123"),
        # an echoed header, URL-encoded
        ("bad request: authorization%3A%20Bearer%20sk-enc0ded99", "sk-enc0ded99"),
        # a signature in a query
        ("GET /v1/models?sig=s1gnature55&x=1", "s1gnature55"),
    ],
)
def test_redact(text, hidden):
    from helpers.serving import redact

    shown = redact(text, (SECRET,))
    assert hidden not in shown and "***" in shown


@pytest.mark.parametrize(
    ("url", "shown", "secrets"),
    [
        # user name and password
        ("http://me:pa55word@host:8000/v1", "http://***@host:8000/v1", ("pa55word",)),
        # a key in the query
        ("https://host/v1?api_key=QSECRET99", "https://host/v1?api_key=***", ("QSECRET99",)),
        # both, the password percent-encoded
        (
            "http://me:p%40ssword@host/v1?token=TSECRET88",
            "http://***@host/v1?token=***",
            ("p%40ssword", "p@ssword", "TSECRET88"),
        ),
        # nothing to hide
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1", ()),
    ],
)
def test_server_urls_are_shown_without_credentials(url, shown, secrets):
    from helpers.serving import redact, redact_url, url_secrets

    assert redact_url(url) == shown
    assert set(secrets) <= set(url_secrets(url))
    assert not [s for s in secrets if s in redact(f"error at {url}", url_secrets(url))]


def test_url_credentials_reach_the_server_as_basic_auth(server, monkeypatch):
    monkeypatch.setenv("QWEN_VL_BASE_URL", server.url.replace("http://", f"http://user:{SECRET}@"))
    monkeypatch.delenv("QWEN_VL_MODEL", raising=False)
    model, processor = helpers.load_model()
    assert SECRET not in str(model.client.base_url)  # not in the URL the HTTP library logs
    helpers.chat(model, processor, [{"role": "user", "content": "Hi"}])
    expected = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()
    sent = [{k.lower(): v for k, v in h.items()}.get("authorization") for h in server.headers]
    assert sent == [expected]
