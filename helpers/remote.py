"""Talking to an OpenAI-compatible server (vLLM, SGLang, a hosted API) instead of local weights.

Set ``QWEN_VL_BASE_URL`` (e.g. ``http://localhost:8000/v1``) and, if the server needs one,
``QWEN_VL_API_KEY``; :func:`helpers.load_model` then returns a :class:`RemoteModel` and
:func:`helpers.chat` sends requests instead of running ``generate``. Images travel as base64
data URLs, videos as ``video_url`` data URLs, pixel budgets and fps as vLLM's
``mm_processor_kwargs``.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from .errors import RemoteError as RemoteError  # re-exported: raised by this module
from .sizes import MERGE_SIZE, PATCH_SIZE, TEMPORAL_PATCH_SIZE
from .text import is_url, strip_file_scheme

BASE_URL_ENV = "QWEN_VL_BASE_URL"
API_KEY_ENV = "QWEN_VL_API_KEY"
TIMEOUT_ENV = "QWEN_VL_TIMEOUT"
#: Item keys that are per-request processor settings on vLLM (``mm_processor_kwargs``).
BUDGET_KEYS = (
    "min_pixels",
    "max_pixels",
    "total_pixels",
    "fps",
    "nframes",
    "max_frames",
    "min_frames",
)
_TRANSIENT_STATUS = {408, 409, 429, 500, 502, 503, 504}


def remote_url() -> str | None:
    """The server URL from ``$QWEN_VL_BASE_URL``, if one is set.

    Returns:
        The URL, or ``None`` (then :func:`helpers.load_model` loads weights locally).

    Example:
        >>> import os
        >>> os.environ[BASE_URL_ENV] = "http://localhost:8000/v1"
        >>> remote_url()
        'http://localhost:8000/v1'
        >>> del os.environ[BASE_URL_ENV]
        >>> remote_url() is None
        True
    """
    return os.environ.get(BASE_URL_ENV) or None


@dataclass
class RemoteModel:
    """A model served behind an OpenAI-compatible API; stands in for the local model object.

    Attributes:
        client: The ``openai.OpenAI`` client.
        name: The served model's name.
        base_url: The server's URL.
        max_retries: Retries of a request that failed for a passing reason (timeouts, 429, 5xx).
        retry_wait_s: The first wait before a retry; it doubles each time.
        device: Always ``"remote"``.

    Example:
        >>> from types import SimpleNamespace as Stub
        >>> reply = Stub(choices=[Stub(message=Stub(content="Two cats."))])
        >>> client = Stub(chat=Stub(completions=Stub(create=lambda **request: reply)))
        >>> model = RemoteModel(client, "Qwen/Qwen3-VL-4B-Instruct", "http://localhost:8000/v1")
        >>> is_remote(model), model.device
        (True, 'remote')
    """

    client: Any
    name: str
    base_url: str
    max_retries: int = 3
    retry_wait_s: float = 1.0
    device: str = "remote"


@dataclass(frozen=True)
class RemoteProcessor:
    """Stands in for the local processor: the sizes that visual-token arithmetic needs.

    Attributes:
        patch_size: Pixels per patch side.
        merge_size: Patches merged per token side.
        temporal_patch_size: Frames merged per temporal patch.

    Example:
        >>> RemoteProcessor().patch_size
        16
    """

    patch_size: int = PATCH_SIZE
    merge_size: int = MERGE_SIZE
    temporal_patch_size: int = TEMPORAL_PATCH_SIZE


def is_remote(model_or_processor: Any) -> bool:
    """Whether a model or processor stands for a server connection (made by :func:`connect`).

    Args:
        model_or_processor: What :func:`helpers.load_model` returned, either half.

    Returns:
        ``True`` for a :class:`RemoteModel` or :class:`RemoteProcessor`.

    Example:
        >>> is_remote(RemoteProcessor()), is_remote(object())
        (True, False)
    """
    return isinstance(model_or_processor, (RemoteModel, RemoteProcessor))


def connect(
    base_url: str,
    model: str | None = None,
    *,
    api_key: str | None = None,
    timeout_s: float | None = None,
    max_retries: int = 3,
) -> tuple[RemoteModel, RemoteProcessor]:
    """Connect to an OpenAI-compatible server and check that it serves the model.

    Args:
        base_url: The server's URL, usually ending in ``/v1``.
        model: The served model's name; by default the first model the server lists.
        api_key: The key; default ``$QWEN_VL_API_KEY``, else ``"EMPTY"`` (local servers).
        timeout_s: Seconds a request may take; default ``$QWEN_VL_TIMEOUT``, else 600.
        max_retries: Retries of a request that failed for a passing reason.

    Returns:
        ``(model, processor)`` to use as :func:`helpers.load_model`'s.

    Raises:
        RemoteError: The server cannot be reached, refuses the key, lists no models or does not
            serve ``model`` (the served ones are named).

    Example:
        >>> connect("http://127.0.0.1:9/v1", timeout_s=2)
        Traceback (most recent call last):
        ...
        helpers.errors.RemoteError: cannot reach the server at http://127.0.0.1:9/v1 (...). Start it (README, 'Serving'), ...
    """
    import openai

    timeout = timeout_s if timeout_s is not None else float(os.environ.get(TIMEOUT_ENV, "600"))
    client = openai.OpenAI(
        base_url=base_url,
        api_key=api_key or os.environ.get(API_KEY_ENV) or "EMPTY",
        timeout=timeout,
        max_retries=0,  # retries are ours: bounded, and they never resend a streamed answer
    )
    try:
        served = [m.id for m in client.models.list()]
    except openai.APIConnectionError as exc:
        raise RemoteError(
            f"cannot reach the server at {base_url} ({exc}). Start it (README, 'Serving'), or fix "
            f"{BASE_URL_ENV} (it usually ends in /v1), or unset it to load the model locally."
        ) from exc
    except openai.AuthenticationError as exc:
        raise RemoteError(
            f"the server at {base_url} refused the API key: set {API_KEY_ENV}."
        ) from exc
    if not served:
        raise RemoteError(f"the server at {base_url} lists no models; is it still loading?")
    name = model or served[0]
    if name not in served:
        raise RemoteError(
            f"the server at {base_url} does not serve {name!r}; it serves {served}. "
            "Set QWEN_VL_MODEL to one of them (or unset it to use the first)."
        )
    return RemoteModel(client, name, base_url, max_retries=max_retries), RemoteProcessor()


def _data_url(path: Path, default_mime: str) -> str:
    mime = mimetypes.guess_type(path.name)[0] or default_mime
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _image_url(value: Any) -> str:
    if isinstance(value, Image.Image):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"
    text = str(value)
    if is_url(text):
        return text
    return _data_url(Path(strip_file_scheme(text)), "image/png")


def to_openai_messages(
    conversation: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A checked conversation as OpenAI chat messages, and the ``mm_processor_kwargs`` its items ask for.

    Images become ``image_url`` parts (local files and PIL images as base64 data URLs), videos
    ``video_url`` parts (a list of frames becomes one ``image_url`` part per frame). Budgets set on
    items (``max_pixels``, ``fps``, ...) are request-wide on vLLM, so they must agree across items.

    Args:
        conversation: A checked conversation (:func:`helpers.check_messages`).

    Returns:
        ``(messages, budget)``.

    Raises:
        ValueError: Two items ask for different values of one budget key.

    Example:
        >>> conversation = [{"role": "user", "content": [
        ...     {"type": "image", "image": "https://example.com/cat.jpg", "max_pixels": 262144},
        ...     {"type": "text", "text": "What is this?"}]}]
        >>> messages, budget = to_openai_messages(conversation)
        >>> messages[0]["content"][0], budget
        ({'type': 'image_url', 'image_url': {'url': 'https://example.com/cat.jpg'}}, {'max_pixels': 262144})
    """
    messages, budget = [], {}
    for message in conversation:
        parts = []
        for item in message["content"]:
            for key in BUDGET_KEYS:
                if key in item:
                    if key in budget and budget[key] != item[key]:
                        raise ValueError(
                            f"items ask for different {key} ({budget[key]} and {item[key]}); an "
                            "OpenAI-compatible server takes one value per request: send them separately."
                        )
                    budget[key] = item[key]
            if "text" in item and item.get("type", "text") == "text":
                parts.append({"type": "text", "text": item["text"]})
            elif "image" in item or "image_url" in item:
                parts.append(
                    {
                        "type": "image_url",
                        "image_url": {"url": _image_url(item.get("image", item.get("image_url")))},
                    }
                )
            elif "video" in item:
                video = item["video"]
                if isinstance(video, list):
                    parts.extend(
                        {"type": "image_url", "image_url": {"url": _image_url(frame)}}
                        for frame in video
                    )
                else:
                    url = (
                        video
                        if is_url(str(video))
                        else _data_url(Path(strip_file_scheme(str(video))), "video/mp4")
                    )
                    parts.append({"type": "video_url", "video_url": {"url": url}})
        if message["role"] == "assistant" and all(p["type"] == "text" for p in parts):
            messages.append({"role": "assistant", "content": "".join(p["text"] for p in parts)})
        else:
            messages.append({"role": message["role"], "content": parts})
    return messages, budget


def request_body(
    model: RemoteModel,
    conversation: list[dict[str, Any]],
    *,
    max_new_tokens: int,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Keyword arguments for ``client.chat.completions.create`` for one conversation.

    Greedy settings become ``temperature=0``; sampling settings keep ``temperature`` and ``top_p``;
    settings the OpenAI API lacks (``top_k``, ``repetition_penalty``, ``min_new_tokens``) and the
    items' budgets go in ``extra_body`` as vLLM reads them.

    Args:
        model: The connection.
        conversation: A checked conversation.
        max_new_tokens: The most tokens the answer may have.
        settings: Generation settings, as for ``model.generate``.

    Returns:
        The request's keyword arguments.

    Example:
        >>> from types import SimpleNamespace as Stub
        >>> reply = Stub(choices=[Stub(message=Stub(content="Two cats."))])
        >>> client = Stub(chat=Stub(completions=Stub(create=lambda **request: reply)))
        >>> model = RemoteModel(client, "Qwen/Qwen3-VL-4B-Instruct", "http://localhost:8000/v1")
        >>> body = request_body(model, [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        ...                     max_new_tokens=8, settings={"do_sample": True, "temperature": 0.7, "top_k": 20})
        >>> body["max_tokens"], body["temperature"], body["extra_body"]
        (8, 0.7, {'top_k': 20})
    """
    messages, budget = to_openai_messages(conversation)
    extra: dict[str, Any] = {}
    if budget:
        extra["mm_processor_kwargs"] = budget
    kwargs: dict[str, Any] = {
        "model": model.name,
        "messages": messages,
        "max_tokens": max_new_tokens,
    }
    if not settings.get("do_sample", False):
        kwargs["temperature"] = 0.0
    else:
        for key in ("temperature", "top_p"):
            if settings.get(key) is not None:
                kwargs[key] = settings[key]
    for key in ("presence_penalty", "frequency_penalty", "seed", "stop"):
        if settings.get(key) is not None:
            kwargs[key] = settings[key]
    for key in ("top_k", "repetition_penalty"):
        if settings.get(key) is not None and (key != "top_k" or settings.get("do_sample")):
            extra[key] = settings[key]
    if settings.get("min_new_tokens") is not None:
        extra["min_tokens"] = settings["min_new_tokens"]
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _request_error(model: RemoteModel, exc: Exception) -> RemoteError:
    import openai

    server = model.base_url
    if isinstance(exc, openai.APITimeoutError):
        return RemoteError(
            f"the server at {server} did not answer in time: raise {TIMEOUT_ENV} (seconds) or ask for fewer tokens."
        )
    if isinstance(exc, openai.APIConnectionError):
        return RemoteError(f"lost the connection to {server} ({exc}); check that the server is up.")
    if isinstance(exc, openai.NotFoundError):
        return RemoteError(
            f"the server at {server} does not serve {model.name!r} ({exc}); set QWEN_VL_MODEL to a served model."
        )
    text = str(exc)
    if isinstance(exc, openai.BadRequestError) and any(
        k in text.lower()
        for k in ("context length", "maximum context", "too long", "max_model_len")
    ):
        return RemoteError(
            f"the request is too large for {model.name!r} at {server}: {text}. Lower max_pixels, fps or "
            "max_frames on the images/videos, or max_new_tokens, or start the server with a larger --max-model-len."
        )
    return RemoteError(f"the server at {server} refused the request: {text}")


def _transient(exc: Exception) -> bool:
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code in _TRANSIENT_STATUS


def remote_chat(
    model: RemoteModel,
    conversation: list[dict[str, Any]],
    *,
    max_new_tokens: int,
    stream: bool,
    settings: dict[str, Any],
) -> str:
    """One answer from the server; passing failures retried (bounded), a streamed answer printed as it comes.

    A streamed answer that already printed text is never re-sent.

    Args:
        model: The connection.
        conversation: A checked conversation.
        max_new_tokens: The most tokens the answer may have.
        stream: Print the answer as it arrives.
        settings: Generation settings, as for ``model.generate``.

    Returns:
        The answer text.

    Raises:
        RemoteError: The server could not answer; the message says what to do.

    Example:
        >>> from types import SimpleNamespace as Stub
        >>> reply = Stub(choices=[Stub(message=Stub(content="Two cats."))])
        >>> client = Stub(chat=Stub(completions=Stub(create=lambda **request: reply)))
        >>> model = RemoteModel(client, "Qwen/Qwen3-VL-4B-Instruct", "http://localhost:8000/v1")
        >>> remote_chat(model, [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        ...             max_new_tokens=8, stream=False, settings={})
        'Two cats.'
    """
    kwargs = request_body(model, conversation, max_new_tokens=max_new_tokens, settings=settings)
    for attempt in range(model.max_retries + 1):
        pieces: list[str] = []
        try:
            if not stream:
                response = model.client.chat.completions.create(**kwargs)
                return response.choices[0].message.content or ""
            for chunk in model.client.chat.completions.create(**kwargs, stream=True):
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    pieces.append(delta)
                    print(delta, end="", flush=True)
            print(flush=True)
            return "".join(pieces)
        except Exception as exc:
            if pieces or not _transient(exc) or attempt == model.max_retries:
                raise _request_error(model, exc) from exc
            wait = model.retry_wait_s * 2**attempt
            print(
                f"[{model.base_url}: {type(exc).__name__}, retry {attempt + 1}/{model.max_retries} in {wait:.0f} s]",
                file=sys.stderr,
            )
            time.sleep(wait)
    raise AssertionError("unreachable")


def remote_chat_batch(
    model: RemoteModel,
    conversations: list[list[dict[str, Any]]],
    *,
    max_new_tokens: int,
    settings: dict[str, Any],
    max_workers: int = 8,
) -> list[str]:
    """Answers for several conversations, sent concurrently (the server batches them), in order.

    Args:
        model: The connection.
        conversations: Checked conversations.
        max_new_tokens: The most tokens per answer.
        settings: Generation settings, as for ``model.generate``.
        max_workers: Requests in flight at once.

    Returns:
        The answers, in the conversations' order.

    Raises:
        RemoteError: A request failed.

    Example:
        >>> from types import SimpleNamespace as Stub
        >>> reply = Stub(choices=[Stub(message=Stub(content="Two cats."))])
        >>> client = Stub(chat=Stub(completions=Stub(create=lambda **request: reply)))
        >>> model = RemoteModel(client, "Qwen/Qwen3-VL-4B-Instruct", "http://localhost:8000/v1")
        >>> question = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
        >>> remote_chat_batch(model, [question, question], max_new_tokens=8, settings={})
        ['Two cats.', 'Two cats.']
    """
    with ThreadPoolExecutor(max_workers=min(max_workers, len(conversations))) as pool:
        futures = [
            pool.submit(
                remote_chat,
                model,
                c,
                max_new_tokens=max_new_tokens,
                stream=False,
                settings=settings,
            )
            for c in conversations
        ]
        return [f.result() for f in futures]
