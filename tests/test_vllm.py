"""The server path against a real vLLM (CPU build) serving the tiny checkpoint.

Run by ``bash scripts/test_vllm.sh``, which starts the server and sets ``QWEN_VL_VLLM_URL`` (and
``QWEN_VL_VLLM_TRUSTED=1`` for the server started with ``--trust-request-mm-kwargs``); skipped
when no server is given. The token-count tests compare the server's ``usage.prompt_tokens`` with
the local processor's count for the same conversation.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
import warnings

import numpy as np
import openai
import pytest
import transformers
from packaging.version import Version
from PIL import Image

import helpers
from helpers.chat import Answer, _generation_kwargs, prepare_inputs
from helpers.common.errors import RemoteError
from helpers.ocr import output_file
from helpers.serving import connect, request_body
from helpers.serving.media import SERVER_IMAGE_MIN_PIXELS

URL = os.environ.get("QWEN_VL_VLLM_URL")
TRUSTED = os.environ.get("QWEN_VL_VLLM_TRUSTED") == "1"
#: The server's own transformers (.venv-vllm, set by scripts/test_vllm.sh); the local count runs
#: with this environment's.
SERVER_TRANSFORMERS = Version(os.environ.get("QWEN_VL_VLLM_TRANSFORMERS", "0"))
LOCAL_TRANSFORMERS = Version(transformers.__version__)
#: transformers 5.25.0 stopped wrapping a video's timestamped frames (each already between
#: <|vision_start|> and <|vision_end|>) in one more such pair from the chat template
#: (models/qwen3_vl/processing_qwen3_vl.py, get_text_with_replacements): from then on a video
#: costs 2 prompt tokens fewer than with earlier releases, on whichever side runs it.
OUTER_PAIR_DROPPED_IN = Version("5.25.0")
pytestmark = pytest.mark.skipif(
    not URL, reason="needs a running vLLM server: bash scripts/test_vllm.sh"
)
default_server_only = pytest.mark.skipif(TRUSTED, reason="checks a server with default flags")

IMAGE = helpers.INPUT_DIR / "fruits.jpg"
SECOND_IMAGE = helpers.INPUT_DIR / "stuff.jpg"
VIDEO = helpers.INPUT_DIR / "events.mp4"  # 8 s, 10 fps, 320x240


@pytest.fixture(scope="module")
def remote():
    model, processor = connect(URL, "tiny", trust_mm_kwargs=TRUSTED, max_retries=0)
    return model, processor


@pytest.fixture(scope="module")
def local_processor():
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(
        helpers.testing.tiny.ensure_tiny_checkpoint(variant="vllm")
    )


def local_tokens(processor, messages) -> int:
    """Prompt tokens of ``messages`` on the local path (qwen-vl-utils + the processor), as the
    server's transformers release counts them: with the outer pair around each video where only
    one of the two sides drops it (:data:`OUTER_PAIR_DROPPED_IN`)."""
    checked = helpers.check_messages(messages)
    count = prepare_inputs(processor, [checked])["input_ids"].shape[1]
    videos = sum(
        item.get("type") == "video"
        for message in checked
        if isinstance(message["content"], list)
        for item in message["content"]
    )
    local_drops = LOCAL_TRANSFORMERS >= OUTER_PAIR_DROPPED_IN
    server_drops = SERVER_TRANSFORMERS >= OUTER_PAIR_DROPPED_IN
    return count + 2 * videos * (local_drops - server_drops)


def versions() -> str:
    return f"transformers {LOCAL_TRANSFORMERS} here, {SERVER_TRANSFORMERS} on the server"


def server_tokens(model, messages) -> int:
    """Prompt tokens the server counts for ``messages``, sent as the helpers send them."""
    settings = _generation_kwargs("greedy", 1, {})
    body = request_body(
        model,
        helpers.check_messages(messages, fetch_urls=False),
        max_new_tokens=1,
        settings=settings,
    )
    return model.client.chat.completions.create(**body).usage.prompt_tokens


def frames(count):
    return list(helpers.sample_frames(VIDEO, count)[0])


# One row per request shape: (item budget, messages). Each must cost the server the tokens it
# costs locally.
TOKEN_CASES = [
    ("text only", lambda: [{"role": "user", "content": "Hello there."}]),
    ("image, no budget", lambda: helpers.image_message(IMAGE, "Describe.")),
    ("image max_pixels", lambda: helpers.image_message(IMAGE, "x", max_pixels=128 * 32 * 32)),
    ("image min_pixels", lambda: helpers.image_message(IMAGE, "x", min_pixels=512 * 32 * 32)),
    (
        "two images, two budgets",
        lambda: [
            {
                "role": "user",
                "content": [
                    {"type": "image", "image": IMAGE, "max_pixels": 80 * 32 * 32},
                    {"type": "image", "image": SECOND_IMAGE, "max_pixels": 256 * 32 * 32},
                    {"type": "text", "text": "Compare."},
                ],
            }
        ],
    ),
    ("video, no budget", lambda: helpers.video_message(VIDEO, "When?")),  # 2 fps, 128-token floor
    ("video fps", lambda: helpers.video_message(VIDEO, "When?", fps=1.0)),
    ("video max_frames", lambda: helpers.video_message(VIDEO, "When?", fps=2.0, max_frames=8)),
    ("video min_frames", lambda: helpers.video_message(VIDEO, "When?", fps=0.25, min_frames=6)),
    ("video nframes", lambda: helpers.video_message(VIDEO, "When?", nframes=6)),
    ("video max_pixels", lambda: helpers.video_message(VIDEO, "x", max_pixels=64 * 32 * 32)),
    ("video min_pixels", lambda: helpers.video_message(VIDEO, "x", min_pixels=256 * 32 * 32)),
    (
        "video total_pixels",
        lambda: helpers.video_message(
            VIDEO, "x", fps=2.0, min_pixels=32 * 32 * 32, total_pixels=512 * 32 * 32
        ),
    ),
    (
        "64 frames at 1 fps (an earlier notebook 05 budget)",
        lambda: helpers.video_message(
            VIDEO, "x", fps=1.0, max_frames=64, total_pixels=8192 * 32 * 32
        ),
    ),
    (
        "video as a frame list",
        lambda: helpers.video_message(frames(8), "When?", sample_fps=1.0),
    ),
    (
        "image and video together",
        lambda: [
            {
                "role": "user",
                "content": [
                    {"type": "image", "image": IMAGE, "max_pixels": 128 * 32 * 32},
                    {"type": "video", "video": str(VIDEO), "nframes": 4},
                    {"type": "text", "text": "x"},
                ],
            }
        ],
    ),
]


@pytest.mark.parametrize(("case", "build"), TOKEN_CASES, ids=[c for c, _ in TOKEN_CASES])
def test_server_sees_the_local_token_count(remote, local_processor, case, build):
    model, _ = remote
    messages = build()
    expected = local_tokens(local_processor, messages)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these needs a warning
        counted = server_tokens(model, messages)
    print(f"{case}: local {expected}, server {counted}")
    assert counted == expected, versions()


def test_video_above_two_fps(remote, local_processor):
    model, _ = remote
    messages = helpers.video_message(VIDEO, "When?", fps=4.0)  # 32 frames of 8 s
    if TRUSTED:  # the server is told to keep all 32
        assert server_tokens(model, messages) == local_tokens(local_processor, messages), versions()
        return
    with pytest.warns(UserWarning, match=r"sending 16 of 32 frames.*--trust-request-mm-kwargs"):
        counted = server_tokens(model, messages)
    at_two_fps = local_tokens(local_processor, helpers.video_message(VIDEO, "When?", fps=2.0))
    assert counted == at_two_fps, versions()


def test_image_below_the_server_floor(remote, local_processor):
    model, _ = remote
    small = Image.new("RGB", (64, 64), (200, 30, 30))  # 4 visual tokens locally
    messages = helpers.image_message(small, "x")
    if TRUSTED:  # the server is told to keep it small
        assert server_tokens(model, messages) == local_tokens(local_processor, messages)
        return
    with pytest.warns(UserWarning, match=r"smaller than 65,536 pixels.*enlarges it"):
        counted = server_tokens(model, messages)
    enlarged = helpers.image_message(small, "x", min_pixels=SERVER_IMAGE_MIN_PIXELS)
    assert counted == local_tokens(local_processor, enlarged)


@default_server_only
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mm_processor_kwargs", {"fps": 1.0}),  # what older helpers sent for a budget
        ("media_io_kwargs", {"video": {"fps": 30}}),  # what the trusted mode sends
    ],
)
def test_default_server_refuses_request_media_settings(remote, field, value):
    model, _ = remote
    with pytest.raises(openai.BadRequestError, match=r"--trust-request-mm-kwargs"):
        model.client.chat.completions.create(
            model=model.name,
            messages=[{"role": "user", "content": "Hi"}],
            max_tokens=1,
            extra_body={field: value},
        )


def test_default_mode_sends_no_media_settings(remote):
    model, _ = remote
    if TRUSTED:
        pytest.skip("the trusted mode sends them")
    for case, build in TOKEN_CASES:
        body = request_body(
            model,
            helpers.check_messages(build(), fetch_urls=False),
            max_new_tokens=1,
            settings=_generation_kwargs("greedy", 1, {}),
        )
        extra = body.get("extra_body", {})
        assert "mm_processor_kwargs" not in extra and "media_io_kwargs" not in extra, case


def test_image_by_path_and_pil(remote):
    model, processor = remote
    by_path = helpers.chat(
        model, processor, helpers.image_message(IMAGE, "Describe."), max_new_tokens=6
    )
    pil = helpers.chat(
        model,
        processor,
        helpers.image_message(helpers.load_image(IMAGE), "Describe."),
        max_new_tokens=6,
    )
    assert isinstance(by_path, Answer) and by_path.strip()
    assert isinstance(pil, Answer) and pil.strip()


class _Files(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def file_server():
    """The input folder over HTTP on 127.0.0.1; records the paths asked for."""
    handler = functools.partial(_Files, directory=str(helpers.INPUT_DIR))
    _Files.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Files.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_image_url_is_fetched_by_the_server(remote, local_processor, file_server):
    model, _ = remote
    base, requests = file_server
    messages = helpers.image_message(f"{base}/fruits.jpg", "Describe.")
    body = request_body(
        model,
        helpers.check_messages(messages, fetch_urls=False),  # as chat does for a server
        max_new_tokens=1,
        settings=_generation_kwargs("greedy", 1, {}),
    )
    assert body["messages"][0]["content"][0]["image_url"]["url"] == f"{base}/fruits.jpg"
    assert requests == []  # nothing fetched here
    counted = model.client.chat.completions.create(**body).usage.prompt_tokens
    assert requests == ["/fruits.jpg"]  # the server fetched it
    assert counted == local_tokens(local_processor, helpers.image_message(IMAGE, "Describe."))


def test_image_url_with_budget_is_fetched_here(remote, local_processor, file_server):
    model, _ = remote
    base, requests = file_server
    budget = {"max_pixels": 100 * 32 * 32}
    messages = helpers.image_message(f"{base}/fruits.jpg", "x", **budget)
    counted = server_tokens(model, messages)
    assert requests == ["/fruits.jpg"]  # fetched once, by the client, to resize it
    assert counted == local_tokens(local_processor, helpers.image_message(IMAGE, "x", **budget))


def test_missing_image_url_is_explained(remote, file_server):
    model, processor = remote
    base, _ = file_server
    with pytest.raises(RemoteError, match=r"refused the request"):
        helpers.chat(model, processor, helpers.image_message(f"{base}/nope.jpg", "x"))


def test_streaming_matches_the_plain_answer(remote, capsys):
    model, processor = remote
    messages = helpers.image_message(IMAGE, "Describe.")
    plain = helpers.chat(model, processor, messages, max_new_tokens=12)
    capsys.readouterr()
    streamed = helpers.chat(model, processor, messages, max_new_tokens=12, stream=True)
    assert streamed == plain and streamed.strip()
    assert plain.strip() in capsys.readouterr().out


def test_batch_keeps_order(remote):
    model, processor = remote
    conversations = [
        helpers.image_message(IMAGE, "Describe."),
        helpers.video_message(VIDEO, "When?", nframes=4),
        [{"role": "user", "content": "Say something."}],
    ]
    batch = helpers.chat_batch(model, processor, conversations, max_new_tokens=8)
    singles = [helpers.chat(model, processor, c, max_new_tokens=8) for c in conversations]
    assert batch == singles and all(a.strip() for a in batch)


def test_sampling_preset_is_accepted(remote):
    model, processor = remote
    messages = helpers.image_message(IMAGE, "Describe.")
    first = helpers.chat(model, processor, messages, preset="sampling", seed=7, max_new_tokens=16)
    again = helpers.chat(model, processor, messages, preset="sampling", seed=7, max_new_tokens=16)
    greedy = helpers.chat(model, processor, messages, max_new_tokens=16)
    assert first == again and first.strip()  # a seed makes sampling repeatable
    assert first != greedy  # temperature 0.7, top-p 0.8, top-k 20 took effect


def test_context_overflow_is_explained(remote):
    model, processor = remote
    long_text = "apple banana " * 20_000  # well past the server's 16,384 tokens
    with pytest.raises(RemoteError, match=r"too large for 'tiny'.*max_pixels.*--max-model-len"):
        helpers.chat(model, processor, [{"role": "user", "content": long_text}], max_new_tokens=4)


def test_ocr_folder(remote, tmp_path):
    model, processor = remote
    folder = helpers.INPUT_DIR / "receipts"
    table = helpers.ocr_folder(
        model, processor, folder, out_dir=tmp_path, max_new_tokens=16, progress=False
    )
    images = helpers.ocr.list_images(folder)
    assert list(table["status"]) == ["done"] * len(images) and len(images) >= 3
    assert np.isfinite(table["cer"]).all()  # scored against the truth beside each receipt
    # each file holds the server's greedy answer for that receipt (the random model's answer
    # may decode to an empty string: compare with a direct request instead of asserting text)
    for image in images[:3]:
        direct = helpers.chat(
            model, processor, helpers.image_message(image, helpers.OCR_PROMPT), max_new_tokens=16
        )
        assert output_file(tmp_path, image).read_text(encoding="utf-8") == direct
    again = helpers.ocr_folder(
        model, processor, folder, out_dir=tmp_path, max_new_tokens=16, progress=False
    )
    assert list(again["status"]) == ["cached"] * len(images)  # resumes: nothing sent again
