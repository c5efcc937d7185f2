"""Talking to an OpenAI-compatible server (vLLM, SGLang, a hosted API) instead of local weights.

Set ``QWEN_VL_BASE_URL`` (e.g. ``http://localhost:8000/v1``) and, if the server needs one,
``QWEN_VL_API_KEY``; :func:`helpers.load_model` then returns a :class:`RemoteModel` and
:func:`helpers.chat` sends requests instead of running ``generate``. Images travel as base64
data URLs, videos as ``video_url`` data URLs. Pixel budgets and frame rates are applied here,
before sending (:mod:`helpers.remote_media`), so a server with default settings honours them.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

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
DEFAULT_TIMEOUT_S = 600.0
#: A secret in a header, query or JSON text: ``Authorization: Bearer x``, ``"api_key": "x"``, ...
#: (also URL-encoded: ``authorization%3A%20Bearer%20x``)
_SECRET_FIELD = re.compile(
    r"(?i)((?:authorization|proxy-authorization|api[-_]?key|access[-_]?token|refresh[-_]?token|"
    r"(?<![a-z])token|password|passwd|secret|signature|(?<![a-z])sig)"
    r"[\"']?\s*(?:[:=]|%3a|%3d)\s*(?:%20)*[\"']?)(?:(?:bearer|basic|token)(?:\s+|%20)+)?"
    r"[^\s\"',;}&%]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)(?:\s+|%20)+[A-Za-z0-9._~+/=-]{4,}")


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


def redact_url(url: str) -> str:
    """A URL safe to print: any user name and password, and every query value, replaced by ``***``.

    Args:
        url: A server URL, e.g. ``$QWEN_VL_BASE_URL``.

    Returns:
        The URL without its credentials (unchanged when it has none). Query values are hidden
        whatever their name: a server URL's query is where keys and signatures travel.

    Example:
        >>> redact_url("http://user:KEY@host:8000/v1")
        'http://***@host:8000/v1'
        >>> redact_url("https://host/v1?api_key=KEY&api-version=1")
        'https://host/v1?api_key=***&api-version=***'
    """
    parts = urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2])
    if parts.query:
        names = [pair.partition("=")[0] for pair in parts.query.split("&")]
        parts = parts._replace(query="&".join(f"{name}=***" for name in names))
    return urlunsplit(parts)


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials a URL carries (user name, password, query values), to hide in any text.

    Args:
        url: A server URL.

    Returns:
        Each credential as written in the URL and decoded, four characters or longer.

    Example:
        >>> url_secrets("http://me:pa%2Fss@host/v1?key=abcd1234")
        ('pa%2Fss', 'pa/ss', 'abcd1234')
    """
    parts = urlsplit(url)
    found = [parts.username, parts.password]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    values = []
    for value in found:
        for form in (value, unquote(value or "")):
            if form and len(form) >= 4 and form not in values:
                values.append(form)
    return tuple(values)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Hide credentials in a text a server sent back (it may echo headers in an error).

    Args:
        text: The text, e.g. an error body.
        secrets: Known secrets (the API key, URL passwords) to hide wherever they appear.

    Returns:
        ``text`` with each secret, URL credentials, ``Authorization`` headers, bearer tokens and
        ``api_key``/``password``/``token`` fields replaced by ``***``.

    Example:
        >>> redact("bad header: Authorization: Bearer sk-123456", ("sk-123456",))
        'bad header: Authorization: ***'
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@", r"\1***@", text)
    text = _SECRET_FIELD.sub(r"\1***", text)
    return _BEARER.sub(r"\1 ***", text)


@dataclass
class RemoteModel:
    """A model served behind an OpenAI-compatible API; stands in for the local model object.

    Attributes:
        client: The ``openai.OpenAI`` client (it does the retries).
        name: The served model's name.
        base_url: The server's URL with any credentials hidden (:func:`redact_url`).
        timeout_s: Seconds a request may take in all: retries and a slowly streamed answer
            included.
        secrets: The key and URL credentials, hidden wherever a message could show them.
        device: Always ``"remote"``.
        trust_mm_kwargs: The server takes per-request media settings (see :func:`connect`).

    Example:
        >>> model = RemoteModel(None, "Qwen/Qwen3-VL-4B-Instruct", redact_url("http://me:KEY@host/v1"),
        ...                     secrets=("KEY",))
        >>> model
        RemoteModel(name='Qwen/Qwen3-VL-4B-Instruct', base_url='http://***@host/v1', timeout_s=600.0, device='remote', trust_mm_kwargs=False)
        >>> is_remote(model)
        True
    """

    client: Any = field(repr=False)
    name: str
    base_url: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    secrets: tuple[str, ...] = field(default=(), repr=False)
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


def _timeout_from_env() -> float:
    text = os.environ.get(TIMEOUT_ENV, "")
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise RemoteError(
            f"{TIMEOUT_ENV}={text!r} is not a positive number of seconds: fix or unset it."
        )
    return value


def _check_json(raw: Any, server: str, what: str, secrets: tuple[str, ...]) -> None:
    """Refuse a reply that is not JSON (a login page, a proxy's HTML error, a web UI)."""
    kind = raw.headers.get("content-type", "")
    if "json" not in kind:
        body = raw.http_response.read()[:120].decode("utf-8", "replace").replace("\n", " ")
        raise RemoteError(
            f"the server at {server} answered {what} with {kind or 'no content type'}, not the "
            f"OpenAI API's JSON (it starts: {redact(body, secrets)!r}). {BASE_URL_ENV} must be the "
            "API's root, usually http://host:port/v1, not a web page or a login page."
        )


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
        base_url: The server's URL, usually ending in ``/v1``; credentials in it are never shown.
        model: The served model's name; by default the first model the server lists.
        api_key: The key; default ``$QWEN_VL_API_KEY``, else ``"EMPTY"`` (local servers).
        timeout_s: Seconds a request may take in all, retries and streaming included; default
            ``$QWEN_VL_TIMEOUT``, else 600.
        max_retries: Retries of a failed request (connection errors, 408/409/429/5xx), done by the
            ``openai`` client: it backs off, honours ``Retry-After`` and never resends a request
            whose answer has started streaming.
        trust_mm_kwargs: The server was started with ``--trust-request-mm-kwargs`` (vLLM): videos
            may then keep more than 2 frames per second and images stay below 64 visual tokens
            (see :mod:`helpers.remote_media`). Default: ``$QWEN_VL_TRUST_MM_KWARGS`` is ``1``.

    Returns:
        ``(model, processor)`` to use as :func:`helpers.load_model`'s.

    Raises:
        RemoteError: The server cannot be reached, answers with something other than the OpenAI
            API's JSON (a web page), refuses the key, lists no models or does not serve
            ``model`` (the served ones are named); ``$QWEN_VL_TIMEOUT`` is not a positive number.

    Example:
        >>> connect("http://127.0.0.1:9/v1", timeout_s=2)
        Traceback (most recent call last):
        ...
        helpers.errors.RemoteError: cannot reach the server at http://127.0.0.1:9/v1 (...). Start it (README, 'Serving'), ...
    """
    import openai

    timeout = timeout_s if timeout_s is not None else _timeout_from_env()
    key = api_key or os.environ.get(API_KEY_ENV) or "EMPTY"
    parts = urlsplit(base_url)
    secrets = tuple(s for s in (key, *url_secrets(base_url)) if s and s != "EMPTY")
    server = redact_url(base_url)
    client_url, http_client = base_url, None
    if "@" in parts.netloc:
        # The user name and password travel as a Basic auth header (as the URL's would), not in
        # the URL the HTTP library logs with every request.
        client_url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        http_client = openai.DefaultHttpxClient(
            auth=(unquote(parts.username or ""), unquote(parts.password or ""))
        )
    client = openai.OpenAI(
        base_url=client_url,
        api_key=key,
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
    )
    if trust_mm_kwargs is None:
        trust_mm_kwargs = os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")
    remote = RemoteModel(
        client,
        model or "",
        server,
        timeout_s=timeout,
        secrets=secrets,
        trust_mm_kwargs=trust_mm_kwargs,
    )
    try:
        raw = _within_deadline(
            remote,
            lambda _call: client.models.with_raw_response.list(),
            late=f"cannot reach the server at {server} (no usable answer within {timeout:g} s: "
            "none, or errors that were retried). Start it "
            f"(README, 'Serving'), or fix {BASE_URL_ENV} (it usually ends in /v1), or raise "
            f"{TIMEOUT_ENV} if it is slow to answer.",
        )
        _check_json(raw, server, "the model list", secrets)
        served = [m.id for m in raw.parse()]
    except RemoteError:
        raise
    except openai.AuthenticationError:
        raise RemoteError(
            f"the server at {server} refused the API key: set {API_KEY_ENV}.", status_code=401
        ) from None
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        raise RemoteError(
            f"cannot reach the server at {server} ({type(exc).__name__}: {redact(str(exc), secrets)}). "
            f"Start it (README, 'Serving'), or fix {BASE_URL_ENV} (it usually ends in /v1), or unset "
            "it to load the model locally."
        ) from None
    except Exception as exc:  # a reply the client cannot read as a model list
        raise RemoteError(
            f"the server at {server} did not answer the model list as the OpenAI API does "
            f"({type(exc).__name__}: {redact(str(exc), secrets)}). {BASE_URL_ENV} must be the API's "
            "root, usually http://host:port/v1."
        ) from None
    if not served:
        raise RemoteError(f"the server at {server} lists no models; is it still loading?")
    remote.name = model or served[0]
    if remote.name not in served:
        raise RemoteError(
            f"the server at {server} does not serve {remote.name!r}; it serves {served}. "
            "Set QWEN_VL_MODEL to one of them (or unset it to use the first)."
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
    text = redact(str(exc), model.secrets)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, openai.APITimeoutError):
        return RemoteError(
            f"the server at {server} did not answer in time: raise {TIMEOUT_ENV} (seconds) or ask for fewer tokens."
        )
    if isinstance(exc, openai.APIConnectionError):
        return RemoteError(
            f"lost the connection to {server} ({text}); check that the server is up."
        )
    if isinstance(exc, openai.AuthenticationError):
        return RemoteError(
            f"the server at {server} refused the API key: set {API_KEY_ENV}.", status_code=status
        )
    if isinstance(exc, openai.NotFoundError):
        return RemoteError(
            f"the server at {server} does not serve {model.name!r} ({text}); set QWEN_VL_MODEL to a served model.",
            status_code=status,
        )
    if isinstance(exc, openai.BadRequestError) and any(
        k in text.lower()
        for k in ("context length", "maximum context", "too long", "max_model_len")
    ):
        return RemoteError(
            f"the request is too large for {model.name!r} at {server}: {text}. Lower max_pixels, fps or "
            "max_frames on the images/videos, or max_new_tokens, or start the server with a larger --max-model-len.",
            status_code=status,
        )
    if isinstance(exc, openai.APIStatusError):
        return RemoteError(
            f"the server at {server} refused the request: {text}", status_code=status
        )
    if type(exc) is openai.APIError:  # an error event in the stream: the server failed mid-answer
        return RemoteError(
            f"the server at {server} failed while answering: {text}. Its own log says why; "
            "try again, or with fewer tokens or smaller images."
        )
    return RemoteError(
        f"the answer from {server} could not be read ({type(exc).__name__}: {text}); is "
        f"{BASE_URL_ENV} an OpenAI-compatible API?"
    )


class _Stop(Exception):
    """Raised in the request thread when the caller has given up (deadline passed)."""


class _Call:
    """What a request thread shares with its caller: stop flag, streamed items, clean-up."""

    def __init__(self) -> None:
        self.items: queue.SimpleQueue = queue.SimpleQueue()
        self.stop = threading.Event()
        self.closers: list[Callable[[], Any]] = []

    def put(self, item: Any) -> None:
        if self.stop.is_set():
            raise _Stop
        self.items.put(item)

    def close(self) -> None:
        self.stop.set()
        for close in self.closers:
            with contextlib.suppress(Exception):  # best effort: it may be gone already
                close()


def _within_deadline(
    model: RemoteModel,
    work: Callable[[_Call], Any],
    on_item: Callable[[Any], None] | None = None,
    *,
    late: str | None = None,
) -> Any:
    """Run ``work(call)`` in a thread and return its result within ``model.timeout_s``.

    ``work`` may ``call.put`` items (streamed pieces) that ``on_item`` handles here, in the
    caller's thread. ``httpx`` only bounds each read, so a server that sends a byte now and then
    would keep a request alive for ever: this deadline covers the whole request, retries
    included. On time-out the request's connection is closed and :class:`RemoteError` raised
    (with the message ``late``, if given).
    """
    call, done = _Call(), object()

    def run() -> None:
        try:
            call.items.put((done, work(call), None))
        except BaseException as exc:  # handed to the caller's thread
            call.items.put((done, None, exc))

    threading.Thread(target=run, daemon=True, name="qwen-vl-request").start()
    deadline = time.monotonic() + model.timeout_s
    while True:
        try:
            item = call.items.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            call.close()
            raise RemoteError(
                late
                or f"the server at {model.base_url} did not finish answering within "
                f"{model.timeout_s:g} s: raise {TIMEOUT_ENV} (seconds for the whole request) or ask "
                "for fewer tokens."
            ) from None
        if isinstance(item, tuple) and len(item) == 3 and item[0] is done:
            if item[2] is not None:
                raise item[2]
            return item[1]
        if on_item is not None:
            on_item(item)


def _stream_pieces(model: RemoteModel, kwargs: dict[str, Any], call: _Call) -> str | None:
    """Send a streamed request; ``put`` each text piece; return the finish reason (``None``: cut off)."""
    raw = model.client.chat.completions.with_raw_response.create(**kwargs, stream=True)
    call.closers.append(raw.http_response.close)
    kind = raw.headers.get("content-type", "")
    if "json" in kind:  # a server that ignores stream=True answers the whole completion at once
        from openai.types.chat import ChatCompletion

        raw.http_response.read()
        whole = ChatCompletion.model_validate(raw.http_response.json())
        call.put(_content(whole, model.base_url))
        return whole.choices[0].finish_reason or "stop"  # a whole JSON answer cannot be cut off
    if "text/event-stream" not in kind:
        _check_json(raw, model.base_url, "the chat request", model.secrets)
    finish = None
    with raw.parse() as stream:
        for chunk in stream:
            for choice in chunk.choices or []:
                if choice.delta and choice.delta.content:
                    call.put(choice.delta.content)
                finish = choice.finish_reason or finish
    return finish


def _whole(model: RemoteModel, kwargs: dict[str, Any], call: _Call) -> str:
    raw = model.client.chat.completions.with_raw_response.create(**kwargs)
    call.closers.append(raw.http_response.close)
    _check_json(raw, model.base_url, "the chat request", model.secrets)
    return _content(raw.parse(), model.base_url)


def _content(completion: Any, server: str) -> str:
    """The answer's text; an answer with none is returned as ``""`` with a warning."""
    choice = completion.choices[0]
    if not choice.message.content:
        warnings.warn(
            f"the server at {server} answered with no text (finish_reason={choice.finish_reason!r})",
            stacklevel=4,
        )
    return choice.message.content or ""


def remote_chat(
    model: RemoteModel,
    conversation: list[dict[str, Any]],
    *,
    max_new_tokens: int,
    stream: bool,
    settings: dict[str, Any],
) -> str:
    """One answer from the server, within ``model.timeout_s``; a streamed answer printed as it comes.

    Failed requests are retried by the ``openai`` client (connection errors, 408/409/429/5xx;
    ``Retry-After`` honoured; a started stream never resent). A server that ignores
    ``stream=True`` and answers the whole completion still gives the answer.

    Args:
        model: The connection.
        conversation: A checked conversation.
        max_new_tokens: The most tokens the answer may have.
        stream: Print the answer as it arrives.
        settings: Generation settings, as for ``model.generate``.

    Returns:
        The answer text.

    Raises:
        RemoteError: The server could not answer within ``model.timeout_s``, refused, answered
            something that is not the OpenAI API's, or stopped a streamed answer before saying it
            was finished (no ``finish_reason``); ``partial`` holds the text that had arrived.

    Example:
        >>> import openai
        >>> client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="EMPTY", max_retries=0)
        >>> model = RemoteModel(client, "Qwen/Qwen3-VL-4B-Instruct", "http://127.0.0.1:9/v1", timeout_s=5)
        >>> remote_chat(model, [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        ...             max_new_tokens=8, stream=False, settings={})
        Traceback (most recent call last):
        ...
        helpers.errors.RemoteError: lost the connection to http://127.0.0.1:9/v1 (...); check that the server is up.
    """
    kwargs = request_body(model, conversation, max_new_tokens=max_new_tokens, settings=settings)
    pieces: list[str] = []

    def show(piece: str) -> None:
        pieces.append(piece)
        if stream:
            print(piece, end="", flush=True)

    try:
        if stream:
            finish = _within_deadline(model, lambda call: _stream_pieces(model, kwargs, call), show)
            print(flush=True)
        else:
            return _within_deadline(model, lambda call: _whole(model, kwargs, call))
    except RemoteError as exc:
        exc.partial = "".join(pieces)
        raise
    except Exception as exc:  # the client's errors, or an answer it could not read
        error = _request_error(model, exc)
        error.partial = "".join(pieces)
        raise error from None
    text = "".join(pieces)
    if finish is None:
        raise RemoteError(
            f"the answer from {model.base_url} stopped before the server said it was finished (no "
            f"finish_reason: the connection dropped or the server failed) after {len(text)} "
            "characters; what arrived is in this error's .partial. Ask again.",
            partial=text,
        )
    return text


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
        >>> from types import SimpleNamespace as Stub  # stands in for the openai client
        >>> reply = Stub(choices=[Stub(message=Stub(content="Two cats."))])
        >>> raw = Stub(headers={"content-type": "application/json"}, parse=lambda: reply,
        ...            http_response=Stub(close=lambda: None))
        >>> client = Stub(chat=Stub(completions=Stub(with_raw_response=Stub(create=lambda **r: raw))))
        >>> model = RemoteModel(client, "Qwen/Qwen3-VL-4B-Instruct", "http://localhost:8000/v1")
        >>> question = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
        >>> remote_chat_batch(model, [question, question], max_new_tokens=8, settings={})
        ['Two cats.', 'Two cats.']
    """
    if not conversations:
        return []
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
