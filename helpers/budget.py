"""How many visual tokens an image or video makes under a pixel budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .chat import prepare_inputs
from .messages import check_messages


@dataclass(frozen=True)
class VisualTokens:
    """Visual tokens of one image or video as the processor really makes them."""

    kind: str  # "image" or "video"
    index: int  # order of this kind in the conversation
    grid_thw: tuple[int, int, int]  # patches along time, height, width
    resized_wh: tuple[int, int]  # frame size fed to the vision encoder
    tokens: int  # tokens the language model sees (patches / merge_size**2)


def count_visual_tokens(processor: Any, messages: list[dict[str, Any]]) -> list[VisualTokens]:
    """Visual tokens per image and video of ``messages``, from the processor's own output.

    Budgets set on the items (``min_pixels``, ``max_pixels``, ``total_pixels``, ``fps``,
    ``nframes``, ``max_frames``) are honoured, so this sizes inputs before a GPU runs out of memory.
    """
    inputs = prepare_inputs(processor, [check_messages(messages)])
    merge = int(getattr(processor.image_processor, "merge_size", 2))
    patch = int(getattr(processor.image_processor, "patch_size", 16))
    result = []
    for kind in ("image", "video"):
        grids = inputs.get(f"{kind}_grid_thw")
        for index, (t, h, w) in enumerate(grids.tolist() if grids is not None else []):
            result.append(
                VisualTokens(kind, index, (t, h, w), (w * patch, h * patch), t * h * w // merge**2)
            )
    return result
