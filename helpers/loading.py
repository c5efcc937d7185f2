"""Loading a Qwen3-VL checkpoint (hub id, local folder or the offline tiny model)."""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING

from .common.errors import ModelLoadError
from .common.status import ensure_status_shown
from .runtime import RuntimeChoice, choose_runtime, detect_caps, device_problem
from .serving import BASE_URL_ENV, RemoteModel, RemoteProcessor, connect, remote_url
from .testing import TINY_MODEL_NAME, ensure_tiny_checkpoint

if TYPE_CHECKING:
    from transformers import PreTrainedModel, ProcessorMixin

logger = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "Qwen/Qwen3-VL-4B-Instruct"
MODEL_ENV_VAR = "QWEN_VL_MODEL"


def resolve_model_id(model_id: str | os.PathLike | None = None) -> str:
    """The checkpoint to load: ``model_id``, else ``$QWEN_VL_MODEL``, else the default 4B Instruct.

    Args:
        model_id: A hub id, a local folder or ``"tiny"``; ``None`` reads the environment.

    Returns:
        The id (a path as a string).

    Example:
        >>> import os
        >>> saved = os.environ.pop(MODEL_ENV_VAR, None)
        >>> resolve_model_id()
        'Qwen/Qwen3-VL-4B-Instruct'
        >>> resolve_model_id("Qwen/Qwen3-VL-8B-Instruct")
        'Qwen/Qwen3-VL-8B-Instruct'
        >>> if saved is not None:  # leave the environment as it was
        ...     os.environ[MODEL_ENV_VAR] = saved
    """
    if model_id is None:
        model_id = os.environ.get(MODEL_ENV_VAR) or DEFAULT_MODEL_ID
    return os.fspath(model_id)


def is_tiny(model_id: str) -> bool:
    """Whether ``model_id`` names the offline tiny random test model.

    Example:
        >>> is_tiny("tiny"), is_tiny("Qwen/Qwen3-VL-4B-Instruct")
        (True, False)
    """
    return model_id == TINY_MODEL_NAME


def checkpoint_source(model_id: str | os.PathLike | None = None) -> str:
    """What to give ``from_pretrained`` for ``model_id`` (resolved as in :func:`resolve_model_id`).

    A hub id or a folder is returned as is; ``"tiny"`` becomes the folder of the offline tiny
    checkpoint, built there first if needed.

    Example:
        >>> checkpoint_source("Qwen/Qwen3-VL-4B-Instruct")
        'Qwen/Qwen3-VL-4B-Instruct'
    """
    name = resolve_model_id(model_id)
    return str(ensure_tiny_checkpoint()) if is_tiny(name) else name


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (transformers wraps the hub's errors)."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _load_error_text(model_id: str, exc: BaseException, *, tiny_path: str | None = None) -> str:
    """The error line and the one fix that matches it (checked by exception type where one exists)."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain)
    lowered = text.lower()
    status = re.search(r"\b(401|403)\b", text)
    damaged = names & {"SafetensorError", "HeaderTooLarge"} or any(
        k in lowered
        for k in (
            "deserializing header",
            "incomplete metadata",
            "unexpected end",
            "invalid load key",
        )
    )
    if isinstance(exc, ImportError) and "flash" in lowered:
        fix = "install flash-attn, or pass attn_implementation='sdpa'"
    elif "out of memory" in lowered or "OutOfMemoryError" in names:
        fix = (
            "free GPU memory (restart the kernel), or pick a smaller checkpoint, e.g. "
            f"{MODEL_ENV_VAR}=Qwen/Qwen3-VL-2B-Instruct"
        )
    elif "attn_implementation" in lowered or "attention implementation" in lowered:
        fix = "pass attn_implementation='sdpa' or 'eager', or leave it unset to pick one"
    elif re.search(
        r"compiled with cuda|cuda (error|driver|gpus? (is|are) available)|nvidia driver|cuda-capable",
        lowered,
    ):
        fix = "this machine has no usable CUDA GPU: leave device unset (or pass device='cpu')"
    elif tiny_path is not None:  # built here: any other failure means its files are damaged
        fix = f"delete {tiny_path} and load again: the tiny checkpoint is rebuilt in seconds"
    elif damaged:
        fix = (
            "the checkpoint's files are damaged (an interrupted download?): delete the model's "
            "folder (or its entry under ~/.cache/huggingface/hub) and load again"
        )
    elif "GatedRepoError" in names or status or "gated repo" in lowered:
        fix = (
            "log in with `hf auth login` (or set HF_TOKEN) and check you have access to the "
            "repository (accept its licence on its Hub page)"
        )
    elif "RepositoryNotFoundError" in names or "not a valid model identifier" in lowered:
        fix = (
            "check the id (hub ids look like Qwen/Qwen3-VL-4B-Instruct) or the folder path; "
            f"`{MODEL_ENV_VAR}=tiny` runs a tiny random model offline for testing"
        )
    else:
        fix = (
            "check the id or folder, that you are online (the first run downloads several GB), or "
            f"set {MODEL_ENV_VAR} to a local checkpoint folder; "
            f"`{MODEL_ENV_VAR}=tiny` runs a tiny random model offline for testing"
        )
    message = str(exc)
    first = message.splitlines()[0] if message else ""
    return f"Could not load model {model_id!r}: {type(exc).__name__}: {first}\nFix: {fix}."


def _hub_offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    return flag or bool(constants.HF_HUB_OFFLINE)


def check_model_available(
    model_id: str | os.PathLike | None = None, *, timeout_s: float = 15.0
) -> str:
    """Check, in seconds and before any weights load, that the checkpoint can be had.

    A hub id must be in the local cache or the Hub must answer for it within ``timeout_s``; a
    folder must hold a ``config.json``; ``"tiny"`` is built offline; with ``$QWEN_VL_BASE_URL``
    set the server must answer. ``scripts/run_notebooks.py`` calls this before the first
    notebook, so an offline machine stops at once instead of after the hub's retries.

    Args:
        model_id: As for :func:`load_model` (default ``$QWEN_VL_MODEL``, else the 4B Instruct).
        timeout_s: Seconds the Hub (or the server) may take to answer.

    Returns:
        Where the checkpoint comes from, in words (e.g. ``"the Hugging Face cache"``).

    Raises:
        ModelLoadError: It cannot be had; the message says why and the fix.
        RemoteError: ``$QWEN_VL_BASE_URL`` is set and the server cannot be used.

    Example:
        >>> check_model_available("tiny")
        'the tiny offline checkpoint (built here)'
    """
    name = resolve_model_id(model_id)
    if remote_url():
        model, _ = connect(
            remote_url(), os.environ.get(MODEL_ENV_VAR) if model_id is None else name
        )
        return f"the server at {model.base_url}"
    if is_tiny(name):
        return "the tiny offline checkpoint (built here)"
    tiny_hint = f"`{MODEL_ENV_VAR}=tiny` runs every notebook offline with a tiny random model"
    folder = os.path.expanduser(name)
    if os.path.isdir(folder):
        if not os.path.isfile(os.path.join(folder, "config.json")):
            raise ModelLoadError(
                f"Could not load model {name!r}: the folder has no config.json.\nFix: point "
                f"{MODEL_ENV_VAR} at the folder a checkpoint was saved or downloaded to."
            )
        return f"the folder {folder}"
    if name.count("/") != 1 or name.startswith((".", "/", "~")):
        raise ModelLoadError(
            f"Could not load model {name!r}: no such folder, and not a hub id.\nFix: give a hub "
            f"id such as {DEFAULT_MODEL_ID} or an existing folder; {tiny_hint}."
        )
    from huggingface_hub import HfApi, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return "the Hugging Face cache"
    if _hub_offline():
        raise ModelLoadError(
            f"Could not load model {name!r}: it is not in the Hugging Face cache and "
            "HF_HUB_OFFLINE is set.\nFix: download it once online (unset HF_HUB_OFFLINE), or "
            f"set {MODEL_ENV_VAR} to a local checkpoint folder; {tiny_hint}."
        )
    try:
        HfApi().model_info(name, timeout=timeout_s)
    except Exception as exc:  # every way the Hub can fail is explained by _load_error_text
        raise ModelLoadError(_load_error_text(name, exc)) from exc
    return "the Hugging Face Hub (downloaded on first load)"


def load_model(
    model_id: str | os.PathLike | None = None,
    *,
    device: str | None = None,
    dtype: str | None = None,
    attn_implementation: str | None = None,
    verbose: bool = True,
) -> tuple[PreTrainedModel, ProcessorMixin] | tuple[RemoteModel, RemoteProcessor]:
    """Load a Qwen3-VL checkpoint and its processor, or connect to a server that serves one.

    Device, dtype and attention are picked from the hardware unless given (see
    :func:`helpers.runtime.choose_runtime`). What was loaded and why is logged as a status line
    (:mod:`helpers.common.status`); the tiny model is labelled as such.

    With ``$QWEN_VL_BASE_URL`` set nothing is loaded: the pair returned talks to that
    OpenAI-compatible server (model: ``model_id``, ``$QWEN_VL_MODEL``, or the server's first).

    Args:
        model_id: A hub id, a local folder or ``"tiny"`` (the offline random test model); default
            ``$QWEN_VL_MODEL``, else ``Qwen/Qwen3-VL-4B-Instruct``.
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` (or e.g. ``"cuda:1"``) instead of the choice.
        dtype: A ``torch`` dtype name, e.g. ``"float16"``, instead of the choice.
        attn_implementation: ``"sdpa"``, ``"flash_attention_2"`` or ``"eager"`` instead of the choice.
        verbose: Log the status line at info level and show it even where ``logging`` is not
            configured (see :func:`helpers.common.status.show_status`); ``False`` logs it at debug level.

    Returns:
        ``(model, processor)``: a ``transformers`` model in inference mode and its processor (its
        tokenizer pads on the left), or a :class:`~helpers.serving.RemoteModel` and
        :class:`~helpers.serving.RemoteProcessor`.

    Raises:
        ModelLoadError: The checkpoint could not be loaded; the message says why and the fix
            (log in, free memory, install flash-attn, ``QWEN_VL_MODEL=tiny`` offline...).
        RemoteError: ``$QWEN_VL_BASE_URL`` is set and the server cannot be used.

    Example:
        >>> model, processor = load_model("tiny", device="cpu", verbose=False)
        >>> type(model).__name__, str(model.device), processor.tokenizer.padding_side
        ('Qwen3VLForConditionalGeneration', 'cpu', 'left')
    """
    if verbose:
        ensure_status_shown()
    level = logging.INFO if verbose else logging.DEBUG  # quiet unless debug lines are wanted
    base_url = remote_url()
    if base_url:
        served = (
            os.fspath(model_id) if model_id is not None else os.environ.get(MODEL_ENV_VAR) or None
        )
        model, processor = connect(base_url, served)
        logger.log(
            level,
            "Using %s served at %s (unset %s to load weights locally)",
            model.name,
            model.base_url,  # credentials hidden
            BASE_URL_ENV,
        )
        return model, processor

    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    name = resolve_model_id(model_id)
    caps = detect_caps()
    if device is not None and (problem := device_problem(caps, device)):
        raise ModelLoadError(f"Could not load model {name!r}: {problem}")
    choice: RuntimeChoice = choose_runtime(
        caps, device=device, dtype=dtype, attn_implementation=attn_implementation
    )
    if not isinstance(getattr(torch, choice.dtype, None), torch.dtype):
        raise ModelLoadError(
            f"Could not load model {name!r}: dtype={choice.dtype!r} is not a torch dtype: use "
            "'bfloat16', 'float16' or 'float32', or leave it unset."
        )
    source = checkpoint_source(name)
    try:
        processor = AutoProcessor.from_pretrained(source)
        model = AutoModelForImageTextToText.from_pretrained(
            source,
            dtype=getattr(torch, choice.dtype),
            attn_implementation=choice.attn_implementation,
            device_map=choice.device,
        ).train(False)
    except (OSError, ValueError, ImportError, RuntimeError) as exc:
        tiny_path = source if is_tiny(name) else None
        raise ModelLoadError(_load_error_text(name, exc, tiny_path=tiny_path)) from exc
    processor.tokenizer.padding_side = "left"
    label = f"{name} (TINY RANDOM TEST MODEL: answers are gibberish)" if is_tiny(name) else name
    logger.log(level, "Loaded %s: %s", label, choice.describe())
    return model, processor
