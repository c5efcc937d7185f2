"""Talking to an OpenAI-compatible server (vLLM, SGLang, a hosted API) instead of local weights.

Set ``QWEN_VL_BASE_URL`` (e.g. ``http://localhost:8000/v1``) and, if the server needs one,
``QWEN_VL_API_KEY``; :func:`helpers.load_model` then returns a :class:`RemoteModel` and
:func:`helpers.chat` sends requests instead of running ``generate``. Images travel as base64
data URLs, videos as ``video_url`` data URLs. Pixel budgets and frame rates are applied here,
before sending (:mod:`helpers.serving.media`), so a server with default settings honours them.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ..common.errors import RemoteError
from ..common.sizes import MERGE_SIZE, PATCH_SIZE, TEMPORAL_PATCH_SIZE
from .redaction import redact, redact_url, url_secrets

BASE_URL_ENV = "QWEN_VL_BASE_URL"
API_KEY_ENV = "QWEN_VL_API_KEY"
TIMEOUT_ENV = "QWEN_VL_TIMEOUT"
#: Set to 1 when the server was started with ``--trust-request-mm-kwargs`` (vLLM).
TRUST_ENV = "QWEN_VL_TRUST_MM_KWARGS"
DEFAULT_TIMEOUT_S = 600.0
#: Seconds the model list may take when connecting: a server that is up lists its models at once,
#: so one that accepts and never answers is named in this time, not the whole request timeout.
MODEL_LIST_TIMEOUT_S = 30.0


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
    seconds: float | None = None,
) -> Any:
    """Run ``work(call)`` in a thread and return its result within ``seconds`` (by default
    ``model.timeout_s``).

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
    deadline = time.monotonic() + (model.timeout_s if seconds is None else seconds)
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
            (see :mod:`helpers.serving.media`). Default: ``$QWEN_VL_TRUST_MM_KWARGS`` is ``1``.

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
        helpers.common.errors.RemoteError: cannot reach the server at http://127.0.0.1:9/v1 (...). Start it (README, 'Serving'), ...
    """
    timeout = timeout_s if timeout_s is not None else _timeout_from_env()
    key = api_key or os.environ.get(API_KEY_ENV) or "EMPTY"
    if trust_mm_kwargs is None:
        trust_mm_kwargs = os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")
    remote = RemoteModel(
        _openai_client(base_url, key, timeout, max_retries),
        model or "",
        redact_url(base_url),
        timeout_s=timeout,
        secrets=tuple(s for s in (key, *url_secrets(base_url)) if s and s != "EMPTY"),
        trust_mm_kwargs=trust_mm_kwargs,
    )
    served = _served_models(remote)
    if not served:
        raise RemoteError(f"the server at {remote.base_url} lists no models; is it still loading?")
    remote.name = model or served[0]
    if remote.name not in served:
        raise RemoteError(
            f"the server at {remote.base_url} does not serve {remote.name!r}; it serves {served}. "
            "Set QWEN_VL_MODEL to one of them (or unset it to use the first)."
        )
    return remote, RemoteProcessor()


def _openai_client(base_url: str, key: str, timeout: float, max_retries: int) -> Any:
    """An ``openai.OpenAI`` client; a URL's user name and password travel as a Basic auth header."""
    import openai

    parts = urlsplit(base_url)
    client_url, http_client = base_url, None
    if "@" in parts.netloc:
        # As the URL's would, but not in the URL the HTTP library logs with every request.
        client_url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        http_client = openai.DefaultHttpxClient(
            auth=(unquote(parts.username or ""), unquote(parts.password or ""))
        )
    return openai.OpenAI(
        base_url=client_url,
        api_key=key,
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
    )


def _served_models(remote: RemoteModel) -> list[str]:
    """The model ids the server lists, or :class:`RemoteError` naming why there are none."""
    import openai

    server, secrets = remote.base_url, remote.secrets
    timeout = min(remote.timeout_s, MODEL_LIST_TIMEOUT_S)
    try:
        raw = _within_deadline(
            remote,
            lambda _call: remote.client.models.with_raw_response.list(),
            seconds=timeout,
            late=f"cannot reach the server at {server} (no usable answer within {timeout:g} s: "
            "none, or errors that were retried). Start it "
            f"(README, 'Serving'), or fix {BASE_URL_ENV} (it usually ends in /v1), or raise "
            f"{TIMEOUT_ENV} if it is slow to answer.",
        )
        _check_json(raw, server, "the model list", secrets)
        return [m.id for m in raw.parse()]
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
