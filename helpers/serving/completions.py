"""Chat requests to the server: messages in OpenAI's form, streamed answers within one deadline."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..common.errors import RemoteError
from ..common.text import is_url
from .client import (
    RemoteModel,
    _Call,
    _check_json,
    _request_error,
    _within_deadline,
)
from .media import (
    SERVER_MAX_FPS,
    VIDEO_BUDGET_KEYS,
    prepare_image,
    prepare_video,
    trusted_request_kwargs,
    warn_small_images,
)


def to_openai_messages(
    conversation: list[dict[str, Any]], *, trust_mm_kwargs: bool = False
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A checked conversation as OpenAI chat messages, and the extra request fields it needs.

    Images become ``image_url`` parts, videos (files or frame lists) ``video_url`` parts, their
    budgets applied here (:mod:`helpers.serving.media`), so each item keeps its own budget.

    Args:
        conversation: A checked conversation (:func:`helpers.check_messages`).
        trust_mm_kwargs: The server takes per-request media settings: add those that keep what
            was prepared here exactly (:func:`helpers.serving.media.trusted_request_kwargs`).

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


#: The generation settings a request carries (as the OpenAI API or vLLM's ``extra_body`` names
#: them); any other is refused rather than dropped, as ``model.generate`` refuses it locally.
SERVER_SETTINGS = frozenset(
    {
        "do_sample", "temperature", "top_p", "top_k", "presence_penalty", "frequency_penalty",
        "repetition_penalty", "seed", "stop", "min_new_tokens", "max_new_tokens",
    }
)  # fmt: skip


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

    Raises:
        ValueError: A setting no server takes (see :data:`SERVER_SETTINGS`).

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
    unknown = sorted(set(settings) - SERVER_SETTINGS)
    if unknown:
        raise ValueError(
            f"generation setting(s) {unknown} are not sent to a server: the OpenAI API and vLLM "
            f"have no such setting (a local model may). Sent there: {sorted(SERVER_SETTINGS)}."
        )
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
        helpers.common.errors.RemoteError: lost the connection to http://127.0.0.1:9/v1 (...); check that the server is up.
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
