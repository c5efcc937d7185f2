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
    """The visible answer text; ``thinking`` holds a ``<think>`` part (Thinking checkpoints), ``raw`` all of it."""

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
    """Tokenise conversations and their images/videos into one padded batch (a ``BatchFeature``).

    Images and videos are read and resized by ``qwen_vl_utils.process_vision_info`` with the
    processor's patch size (16 for Qwen3-VL), honouring per-item budgets (``min_pixels``,
    ``max_pixels``, ``total_pixels``, ``fps``, ``nframes``, ``max_frames``).
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
    """Run ``model.generate`` on checked conversations; return the decoded new text of each.

    ``fast=True`` decodes a single conversation with :func:`helpers.fast.fast_generate`.
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
    """Answer one conversation (Qwen chat ``messages``: text, image paths/URLs/PIL images, videos).

    ``preset`` picks the generation settings (``"greedy"`` or ``"sampling"``); extra keyword
    arguments go to ``model.generate``. With a server connection (``QWEN_VL_BASE_URL``) the same
    call becomes a chat-completions request. With ``stream=True`` the answer is printed as it is
    written; the full text is returned either way, as an :class:`Answer` (a ``str``).
    ``fast=True`` uses the static-cache decode loop of :mod:`helpers.fast` (CUDA graphs on NVIDIA
    GPUs); greedy answers are the same tokens as the default path.
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
    """Answer several conversations in one left-padded ``generate`` call, in order."""
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
