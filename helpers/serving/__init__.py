"""An OpenAI-compatible server (vLLM, SGLang, a hosted API) in place of local weights.

No notebook imports this: :func:`helpers.load_model` connects when ``$QWEN_VL_BASE_URL`` is set,
and :func:`helpers.chat` then sends requests. ``client`` connects (one deadline per request),
``completions`` sends chat requests, ``media`` applies pixel budgets and frame rates before
sending, ``redaction`` keeps credentials out of every message.
"""

from .client import (
    API_KEY_ENV,
    BASE_URL_ENV,
    TIMEOUT_ENV,
    TRUST_ENV,
    RemoteModel,
    RemoteProcessor,
    connect,
    is_remote,
    remote_url,
)
from .completions import remote_chat, remote_chat_batch, request_body, to_openai_messages
from .redaction import redact, redact_url, url_secrets

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "TIMEOUT_ENV",
    "TRUST_ENV",
    "RemoteModel",
    "RemoteProcessor",
    "connect",
    "is_remote",
    "redact",
    "redact_url",
    "remote_chat",
    "remote_chat_batch",
    "remote_url",
    "request_body",
    "to_openai_messages",
    "url_secrets",
]
