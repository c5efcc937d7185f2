"""One generation wrapper for every notebook: messages in, answer text out."""

from __future__ import annotations

import os
from typing import Any, Literal

from .common.sizes import PATCH_SIZE
from .common.text import split_thinking
from .messages import check_messages
from .prompts import GENERATION_PRESETS, GREEDY_ENV_VAR, MAX_NEW_TOKENS_ENV_VAR
from .serving import is_remote, remote_chat, remote_chat_batch

#: The name of a generation preset (see :data:`helpers.prompts.GENERATION_PRESETS`).
Preset = Literal["greedy", "sampling", "mmcode"]


class PresencePenalty:
    """Subtract ``penalty`` once from the score of every token already generated.

    The model card's settings include ``presence_penalty=1.5`` (OpenAI's definition, which vLLM and
    SGLang follow); ``transformers`` has ``repetition_penalty`` (a factor) but no presence penalty,
    so this small logits processor supplies it for local generation. Prompt tokens are not counted.

    Args:
        penalty: subtracted from the logit of each token present in the generated text.
        prompt_length: number of prompt tokens at the start of ``input_ids``.
    """

    def __init__(self, penalty: float, prompt_length: int) -> None:
        self.penalty = float(penalty)
        self.prompt_length = int(prompt_length)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        generated = input_ids[:, self.prompt_length :]
        if generated.shape[1] == 0 or self.penalty == 0:
            return scores
        present = torch.zeros_like(scores, dtype=torch.bool)
        present.scatter_(1, generated.clamp(max=scores.shape[1] - 1), True)
        return scores - present.to(scores.dtype) * self.penalty


class Answer(str):
    """A model's answer: the visible text (it is a ``str``), with the thinking part kept aside.

    Attributes:
        thinking: The ``<think>`` part of a Thinking checkpoint's answer (``""`` for Instruct ones).
        raw: The whole answer as the model wrote it.

    Example:
        >>> answer = Answer("<think>Count: 2.</think>Two cats.")
        >>> answer, answer.thinking, answer.raw
        ('Two cats.', 'Count: 2.', '<think>Count: 2.</think>Two cats.')
    """

    thinking: str
    raw: str

    def __new__(cls, raw: str) -> Answer:
        thinking, answer = split_thinking(raw)
        obj = super().__new__(cls, answer)
        obj.thinking, obj.raw = thinking, raw
        return obj


def _patch_size(processor: Any) -> int:
    return int(getattr(processor.image_processor, "patch_size", PATCH_SIZE))


def prepare_inputs(processor: Any, conversations: list[list[dict[str, Any]]]) -> Any:
    """Tokenise conversations and read their images and videos into one padded batch.

    Images and videos are read and resized by ``qwen_vl_utils.process_vision_info`` with the
    processor's patch size (16 for Qwen3-VL), honouring per-item budgets (``min_pixels``,
    ``max_pixels``, ``total_pixels``, ``fps``, ``nframes``, ``max_frames``).

    Args:
        processor: The model's processor (from :func:`helpers.load_model`).
        conversations: Checked conversations (:func:`helpers.check_messages`).

    Returns:
        The processor's ``BatchFeature`` (``input_ids``, ``attention_mask``, ``pixel_values``,
        ``image_grid_thw``, ...), on the CPU.

    Example:
        >>> import helpers
        >>> _, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> messages = helpers.image_message(helpers.INPUT_DIR / "fruits.jpg", "Describe it.")
        >>> inputs = prepare_inputs(processor, [helpers.check_messages(messages)])
        >>> inputs["image_grid_thw"].tolist()  # 480 x 512 pixels: 30 x 32 patches of 16 pixels
        [[1, 30, 32]]
    """
    from qwen_vl_utils import process_vision_info

    texts = processor.apply_chat_template(conversations, tokenize=False, add_generation_prompt=True)
    images, videos, video_kwargs = process_vision_info(
        conversations,
        return_video_kwargs=True,
        return_video_metadata=True,
        image_patch_size=_patch_size(processor),
    )
    metadata = None
    if videos:
        videos, metadata = (list(x) for x in zip(*videos, strict=True))
        # The frames arrive sized by qwen-vl-utils (do_resize=False below). transformers 5.25
        # warns on every video unless told which per-frame pixel cap to use: the reference one,
        # qwen-vl-utils', which changes nothing here. Older releases have no such setting.
        if hasattr(processor.video_processor, "cap_pixels_per_frame"):
            video_kwargs = {**video_kwargs, "cap_pixels_per_frame": True}
    return processor(
        text=texts,
        images=images,
        videos=videos,
        video_metadata=metadata,
        do_resize=False,
        padding=True,
        return_tensors="pt",
        **video_kwargs,
    )


def _generation_kwargs(
    preset: str, max_new_tokens: int, overrides: dict[str, Any]
) -> dict[str, Any]:
    """The settings of ``preset`` with ``max_new_tokens`` and ``overrides`` on top.

    With ``$QWEN_VL_GREEDY=1`` every preset decodes greedily (tests and CI: same input, same
    answer); ``$QWEN_VL_MAX_NEW_TOKENS`` caps ``max_new_tokens`` (tests and CI: short answers).
    """
    if preset not in GENERATION_PRESETS:
        raise ValueError(
            f"unknown preset {preset!r}; expected one of {sorted(GENERATION_PRESETS)}."
        )
    if (
        isinstance(max_new_tokens, bool)
        or not isinstance(max_new_tokens, int)
        or max_new_tokens < 1
    ):
        raise ValueError(
            f"max_new_tokens must be a whole number of at least 1, got {max_new_tokens!r}."
        )
    if os.environ.get(GREEDY_ENV_VAR) == "1":
        preset = "greedy"
        overrides = {k: v for k, v in overrides.items() if k not in _SAMPLING_KEYS}
    cap = os.environ.get(MAX_NEW_TOKENS_ENV_VAR, "").strip()
    if cap:
        if not cap.isdigit() or int(cap) < 1:
            raise ValueError(
                f"${MAX_NEW_TOKENS_ENV_VAR} must be a positive whole number, got {cap!r}: "
                "set it like 256, or unset it."
            )
        max_new_tokens = min(max_new_tokens, int(cap))
        if overrides.get("min_new_tokens"):
            overrides = {**overrides, "min_new_tokens": min(overrides["min_new_tokens"], int(cap))}
    return {**GENERATION_PRESETS[preset], "max_new_tokens": max_new_tokens, **overrides}


_SAMPLING_KEYS = ("do_sample", "temperature", "top_p", "top_k", "presence_penalty")


def _local_settings(settings: dict[str, Any], prompt_length: int) -> dict[str, Any]:
    """``settings`` for ``model.generate``: a presence penalty becomes a logits processor."""
    local = dict(settings)
    penalty = local.pop("presence_penalty", None)
    if penalty:
        from transformers import LogitsProcessorList

        processors = LogitsProcessorList(local.pop("logits_processor", None) or [])
        processors.append(PresencePenalty(penalty, prompt_length))
        local["logits_processor"] = processors
    return local


def generate(
    model: Any,
    processor: Any,
    conversations: list[list[dict[str, Any]]],
    *,
    max_new_tokens: int,
    preset: Preset = "greedy",
    streamer: Any = None,
    fast: bool = False,
    **generation: Any,
) -> list[str]:
    """Run ``model.generate`` on checked conversations and decode the new text of each.

    Args:
        model: A local model (from :func:`helpers.load_model`).
        processor: Its processor.
        conversations: Checked conversations (:func:`helpers.check_messages`), answered in one
            left-padded batch.
        max_new_tokens: The most tokens each answer may have.
        preset: ``"greedy"`` or ``"sampling"`` (:data:`GENERATION_PRESETS`).
        streamer: A ``transformers`` streamer that receives tokens as they come.
        fast: Decode a single conversation with :func:`helpers.fast.fast_generate`.
        **generation: More ``model.generate`` settings; they override the preset's.

    Returns:
        The decoded answers, in order, special tokens removed.

    Raises:
        ValueError: ``preset`` is unknown.

    Example:
        >>> import helpers
        >>> model, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> checked = helpers.check_messages([{"role": "user", "content": "Hello"}])
        >>> [text] = generate(model, processor, [checked], max_new_tokens=4)
        >>> isinstance(text, str)
        True
    """
    import torch

    processor.tokenizer.padding_side = "left"  # not saved with the tokenizer; batches need it
    inputs = prepare_inputs(processor, conversations).to(model.device)
    kwargs = _generation_kwargs(preset, max_new_tokens, generation)
    if fast and len(conversations) == 1:
        from .fast import fast_generate  # here, so that importing helpers does not import torch

        max_new = kwargs.pop("max_new_tokens")
        new_tokens = fast_generate(
            model, inputs, max_new_tokens=max_new, settings=kwargs, streamer=streamer
        )
    else:
        local = _local_settings(kwargs, inputs["input_ids"].shape[1])
        with torch.inference_mode():
            output = model.generate(**inputs, streamer=streamer, **local)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
    return processor.batch_decode(
        new_tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False
    )


def chat(
    model: Any,
    processor: Any,
    messages: list[dict[str, Any]],
    *,
    max_new_tokens: int = 1024,
    stream: bool = False,
    preset: Preset = "greedy",
    fast: bool = False,
    **generation: Any,
) -> Answer:
    """Answer one conversation: Qwen chat messages in, answer text out.

    With a server connection (``QWEN_VL_BASE_URL``, see :mod:`helpers.serving`) the same call becomes
    a chat-completions request.

    Args:
        model: From :func:`helpers.load_model` (local weights or a server connection).
        processor: Its processor.
        messages: One conversation (text, image paths/URLs/PIL images, videos), e.g. from
            :func:`helpers.image_message`; checked by :func:`helpers.check_messages` first.
        max_new_tokens: The most tokens the answer may have.
        stream: Print the answer as it is written.
        preset: ``"greedy"`` (deterministic: boxes, OCR, code), ``"sampling"`` (the model card's
            full settings for open-ended text, presence penalty included) or ``"mmcode"`` (the
            mmcode cookbook's, for web pages); see :data:`helpers.GENERATION_PRESETS`. With
            ``$QWEN_VL_GREEDY=1`` every preset decodes greedily, and ``$QWEN_VL_MAX_NEW_TOKENS``
            caps ``max_new_tokens`` (tests).
        fast: Use the static-cache decode loop of :mod:`helpers.fast` (CUDA graphs on NVIDIA GPUs);
            greedy answers are the same tokens as the default path.
        **generation: More ``model.generate`` settings, e.g. ``repetition_penalty=1.05``.

    Returns:
        The answer, an :class:`Answer` (a ``str``, with ``thinking`` and ``raw``).

    Raises:
        InputError: The messages cannot be used (the message says which item and why).
        RemoteError: A server connection could not answer.
        ValueError: ``preset`` is unknown.

    Example:
        >>> import helpers
        >>> model, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> messages = helpers.image_message(helpers.INPUT_DIR / "fruits.jpg", "Describe it.")
        >>> answer = chat(model, processor, messages, max_new_tokens=8)
        >>> type(answer).__name__, answer.thinking
        ('Answer', '')
    """
    # a server fetches http(s) URLs itself; here they are downloaded and checked first
    conversation = check_messages(messages, fetch_urls=not is_remote(model))
    if is_remote(model):
        settings = _generation_kwargs(preset, max_new_tokens, generation)
        return Answer(
            remote_chat(
                model,
                conversation,
                max_new_tokens=settings["max_new_tokens"],
                stream=stream,
                settings=settings,
            )
        )
    streamer = None
    if stream:
        from transformers import TextStreamer

        streamer = TextStreamer(processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
    [text] = generate(
        model,
        processor,
        [conversation],
        max_new_tokens=max_new_tokens,
        preset=preset,
        streamer=streamer,
        fast=fast,
        **generation,
    )
    return Answer(text)


def chat_batch(
    model: Any,
    processor: Any,
    conversations: list[list[dict[str, Any]]],
    *,
    max_new_tokens: int = 1024,
    preset: Preset = "greedy",
    **generation: Any,
) -> list[Answer]:
    """Answer several conversations in one left-padded ``generate`` call (concurrent requests on a server).

    Args:
        model: From :func:`helpers.load_model`.
        processor: Its processor.
        conversations: The conversations, each as for :func:`chat`.
        max_new_tokens: The most tokens each answer may have.
        preset: ``"greedy"`` or ``"sampling"``.
        **generation: More ``model.generate`` settings.

    Returns:
        One :class:`Answer` per conversation, in order (``[]`` for none).

    Raises:
        InputError: A conversation cannot be used.
        RemoteError: A server connection could not answer.

    Example:
        >>> import helpers
        >>> model, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> questions = [[{"role": "user", "content": q}] for q in ("Hi", "What is OCR?")]
        >>> len(chat_batch(model, processor, questions, max_new_tokens=4))
        2
    """
    if not conversations:
        return []
    checked = [check_messages(c, fetch_urls=not is_remote(model)) for c in conversations]
    if is_remote(model):
        settings = _generation_kwargs(preset, max_new_tokens, generation)
        return [
            Answer(t)
            for t in remote_chat_batch(
                model, checked, max_new_tokens=settings["max_new_tokens"], settings=settings
            )
        ]
    texts = generate(
        model, processor, checked, max_new_tokens=max_new_tokens, preset=preset, **generation
    )
    return [Answer(t) for t in texts]


def count_answer_tokens(processor: Any, answer: str) -> int | None:
    """How many tokens an answer holds, counted with the processor's tokenizer.

    Counts the whole answer as written (:attr:`Answer.raw`, a thinking part included), without
    special tokens, so a cell can print how long the model's answer really was.

    Args:
        processor: From :func:`helpers.load_model`.
        answer: The answer (an :class:`Answer` or plain text).

    Returns:
        The token count, or ``None`` on a server connection (no tokenizer here).

    Example:
        >>> import helpers
        >>> _, processor = helpers.load_model("tiny", device="cpu", verbose=False)
        >>> count_answer_tokens(processor, "Hello world") > 0
        True
        >>> count_answer_tokens(helpers.serving.RemoteProcessor(), "Hello world") is None
        True
    """
    tokenizer = getattr(processor, "tokenizer", None)
    if tokenizer is None:
        return None
    return len(tokenizer(getattr(answer, "raw", answer), add_special_tokens=False)["input_ids"])
