"""Talking to an OpenAI-compatible server (vLLM, SGLang, a hosted API) instead of local weights.

Set ``QWEN_VL_BASE_URL`` (e.g. ``http://localhost:8000/v1``) and, if the server needs one,
``QWEN_VL_API_KEY``; :func:`helpers.load_model` then returns a :class:`RemoteModel` and
:func:`helpers.chat` sends requests instead of running ``generate``. Images travel as base64
data URLs, videos as ``video_url`` data URLs. Pixel budgets and frame rates are applied here,
before sending (:mod:`helpers.remote_media`), so a server with default settings honours them.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import RemoteError as RemoteError  # re-exported: raised by this module
from .remote_media import (
    SERVER_MAX_FPS,
    VIDEO_BUDGET_KEYS,
    prepare_image,
    prepare_video,
    trusted_request_kwargs,
    warn_small_images,
)
from .sizes import MERGE_SIZE, PATCH_SIZE, TEMPORAL_PATCH_SIZE
from .text import is_url

BASE_URL_ENV = "QWEN_VL_BASE_URL"
API_KEY_ENV = "QWEN_VL_API_KEY"
TIMEOUT_ENV = "QWEN_VL_TIMEOUT"
#: Set to 1 when the server was started with ``--trust-request-mm-kwargs`` (vLLM).
TRUST_ENV = "QWEN_VL_TRUST_MM_KWARGS"
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
    trust_mm_kwargs: bool = False  # the server takes per-request media settings


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
    trust_mm_kwargs: bool | None = None,
) -> tuple[RemoteModel, RemoteProcessor]:
    """Connect to an OpenAI-compatible server and check that it serves the model.

    Args:
        base_url: The server's URL, usually ending in ``/v1``.
        model: The served model's name; by default the first model the server lists.
        api_key: The key; default ``$QWEN_VL_API_KEY``, else ``"EMPTY"`` (local servers).
        timeout_s: Seconds a request may take; default ``$QWEN_VL_TIMEOUT``, else 600.
        max_retries: Retries of a request that failed for a passing reason.
        trust_mm_kwargs: The server was started with ``--trust-request-mm-kwargs`` (vLLM): videos
            may then keep more than 2 frames per second and images stay below 64 visual tokens
            (see :mod:`helpers.remote_media`). Default: ``$QWEN_VL_TRUST_MM_KWARGS`` is ``1``.

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
    if trust_mm_kwargs is None:
        trust_mm_kwargs = os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")
    remote = RemoteModel(
        client, name, base_url, max_retries=max_retries, trust_mm_kwargs=trust_mm_kwargs
    )
    return remote, RemoteProcessor()


def to_openai_messages(
    conversation: list[dict[str, Any]], *, trust_mm_kwargs: bool = False
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A checked conversation as OpenAI chat messages, and the extra request fields it needs.

    Images become ``image_url`` parts, videos (files or frame lists) ``video_url`` parts, their
    budgets applied here (:mod:`helpers.remote_media`), so each item keeps its own budget.

    Args:
        conversation: A checked conversation (:func:`helpers.check_messages`).
        trust_mm_kwargs: The server takes per-request media settings: add those that keep what
            was prepared here exactly (:func:`helpers.remote_media.trusted_request_kwargs`).

    Returns:
        ``(messages, extra)``: ``extra`` holds request fields, empty unless ``trust_mm_kwargs``
        and an item needs them.

    Raises:
        ValueError: A video URL carries a budget (it can only be applied to a local file).

    Example:
        >>> conversation = [{"role": "user", "content": [
        ...     {"type": "image", "image": "http://127.0.0.1:8080/cat.jpg"},
        ...     {"type": "text", "text": "What is this?"}]}]
        >>> messages, extra = to_openai_messages(conversation)
        >>> messages[0]["content"][0], extra
        ({'type': 'image_url', 'image_url': {'url': 'http://127.0.0.1:8080/cat.jpg'}}, {})
    """
    messages: list[dict[str, Any]] = []
    images, videos = [], []
    for m, message in enumerate(conversation):
        parts = []
        for i, item in enumerate(message["content"]):
            where = f"messages[{m}]['content'][{i}]"
            if "text" in item and item.get("type", "text") == "text":
                parts.append({"type": "text", "text": item["text"]})
            elif "image" in item or "image_url" in item:
                image = prepare_image(item)
                images.append(image)
                parts.append({"type": "image_url", "image_url": {"url": image.url}})
            elif "video" in item:
                value = item["video"]
                if isinstance(value, str) and is_url(value):
                    asked = [k for k in VIDEO_BUDGET_KEYS if k in item]
                    if asked:
                        raise ValueError(
                            f"{where}: a budget ({', '.join(asked)}) on a video URL is applied on "
                            "this machine, which needs the file: download it and pass its path."
                        )
                    parts.append({"type": "video_url", "video_url": {"url": value}})
                    continue
                video = prepare_video(
                    item, max_fps=None if trust_mm_kwargs else SERVER_MAX_FPS, where=where
                )
                videos.append(video)
                parts.append({"type": "video_url", "video_url": {"url": video.url}})
        if message["role"] == "assistant" and all(p["type"] == "text" for p in parts):
            messages.append({"role": "assistant", "content": "".join(p["text"] for p in parts)})
        else:
            messages.append({"role": message["role"], "content": parts})
    if not trust_mm_kwargs:
        warn_small_images(images)
        return messages, {}
    return messages, trusted_request_kwargs(images, videos)


def request_body(
    model: RemoteModel,
    conversation: list[dict[str, Any]],
    *,
    max_new_tokens: int,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Keyword arguments for ``client.chat.completions.create`` for one conversation.

    Greedy settings become ``temperature=0``; sampling settings keep ``temperature`` and ``top_p``;
    settings the OpenAI API lacks (``top_k``, ``repetition_penalty``, ``min_new_tokens``) go in
    ``extra_body`` as vLLM reads them, with the media settings a trusting server gets.

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
    messages, media = to_openai_messages(conversation, trust_mm_kwargs=model.trust_mm_kwargs)
    extra: dict[str, Any] = dict(media)
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
