"""One generation wrapper for every notebook: messages in, answer text out."""

from __future__ import annotations

from typing import Any, Literal

from .messages import check_messages
from .remote import is_remote, remote_chat, remote_chat_batch
from .sizes import PATCH_SIZE
from .text import split_thinking

#: The name of a generation preset (see :data:`GENERATION_PRESETS`).
Preset = Literal["greedy", "sampling"]

#: Named generation settings. ``greedy`` is deterministic (boxes, OCR, code); ``sampling`` is the
#: model card's recommendation for open-ended text on the Instruct models.
GENERATION_PRESETS: dict[Preset, dict[str, Any]] = {
    "greedy": {"do_sample": False, "temperature": None, "top_p": None, "top_k": None},
    "sampling": {"do_sample": True, "temperature": 0.7, "top_p": 0.8, "top_k": 20},
}


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
    if preset not in GENERATION_PRESETS:
        raise ValueError(
            f"unknown preset {preset!r}; expected one of {sorted(GENERATION_PRESETS)}."
        )
    return {**GENERATION_PRESETS[preset], "max_new_tokens": max_new_tokens, **overrides}


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
        from .fast import fast_generate

        max_new = kwargs.pop("max_new_tokens")
        new_tokens = fast_generate(
            model, inputs, max_new_tokens=max_new, settings=kwargs, streamer=streamer
        )
    else:
        with torch.inference_mode():
            output = model.generate(**inputs, streamer=streamer, **kwargs)
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

    With a server connection (``QWEN_VL_BASE_URL``, see :mod:`helpers.remote`) the same call becomes
    a chat-completions request.

    Args:
        model: From :func:`helpers.load_model` (local weights or a server connection).
        processor: Its processor.
        messages: One conversation (text, image paths/URLs/PIL images, videos), e.g. from
            :func:`helpers.image_message`; checked by :func:`helpers.check_messages` first.
        max_new_tokens: The most tokens the answer may have.
        stream: Print the answer as it is written.
        preset: ``"greedy"`` (deterministic: boxes, OCR, code) or ``"sampling"`` (the model card's
            settings for open-ended text).
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
    conversation = check_messages(messages)
    if is_remote(model):
        settings = _generation_kwargs(preset, max_new_tokens, generation)
        return Answer(
            remote_chat(
                model, conversation, max_new_tokens=max_new_tokens, stream=stream, settings=settings
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
    checked = [check_messages(c) for c in conversations]
    if is_remote(model):
        settings = _generation_kwargs(preset, max_new_tokens, generation)
        return [
            Answer(t)
            for t in remote_chat_batch(
                model, checked, max_new_tokens=max_new_tokens, settings=settings
            )
        ]
    texts = generate(
        model, processor, checked, max_new_tokens=max_new_tokens, preset=preset, **generation
    )
    return [Answer(t) for t in texts]
