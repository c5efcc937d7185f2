"""Memory for Qwen3-VL-4B in bf16: visual tokens per input and the KV cache they fill.

Pure arithmetic from the checkpoint's published text config (36 layers, 8 key-value heads of 128),
so it needs no weights and no device. Usage: python bench/memory.py
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from _common import report

import helpers

#: The text config of Qwen/Qwen3-VL-4B-Instruct (its config.json), the fields the cache depends on.
QWEN3_VL_4B_TEXT = SimpleNamespace(num_hidden_layers=36, num_key_value_heads=8, head_dim=128)

#: (input, size, frames, budget): qwen-vl-utils' default budgets unless one is given.
INPUTS = (
    ("one 1024x1024 image", (1024, 1024), 1, {}),
    ("a 1920x1080 photo, default budget", (1920, 1080), 1, {}),
    ("a 4032x3024 phone photo, default budget", (4032, 3024), 1, {}),
    ("64 frames of 768x576, default budget", (768, 576), 64, {}),
    ("4032x3024 with max_pixels=1024*32*32", (4032, 3024), 1, {"max_pixels": 1024 * 32 * 32}),
    ("2 min of 1080p at 2 fps (240 frames), default budget", (1920, 1080), 240, {}),
)


def kv_cache_bytes(
    text_config: Any, tokens: int, *, batch: int = 1, bytes_per_value: int = 2
) -> int:
    """Bytes the KV cache holds for ``tokens`` positions (keys and values, every layer).

    Args:
        text_config: The language model's config (``model.config.text_config``): layers, key-value
            heads and head size.
        tokens: Positions cached (prompt and answer).
        batch: Sequences cached side by side.
        bytes_per_value: 2 for bf16/fp16, 4 for fp32.

    Returns:
        The cache size in bytes.

    Example:
        >>> kv_cache_bytes(QWEN3_VL_4B_TEXT, 1)  # per token in bf16
        147456
        >>> kv_cache_bytes(QWEN3_VL_4B_TEXT, 8192) / 2**30  # an 8k-token conversation, GiB
        1.125
    """
    head_dim = (
        getattr(text_config, "head_dim", None)
        or text_config.hidden_size // text_config.num_attention_heads
    )
    per_token = (
        2
        * text_config.num_hidden_layers
        * text_config.num_key_value_heads
        * head_dim
        * bytes_per_value
    )
    return per_token * tokens * batch


def main() -> None:
    rows = []
    for name, size_wh, frames, budget in INPUTS:
        tokens = helpers.budget.estimate_visual_tokens(size_wh, num_frames=frames, **budget)
        megabytes = kv_cache_bytes(QWEN3_VL_4B_TEXT, tokens) / 1e6
        rows.append({"input": name, "visual_tokens": tokens, "kv_cache_mb": round(megabytes)})
    report("memory", rows, bytes_per_token=kv_cache_bytes(QWEN3_VL_4B_TEXT, 1))


if __name__ == "__main__":
    main()
