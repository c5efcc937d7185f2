"""Qwen3-VL's vision geometry: the sizes every pixel and token count is built from.

Every module may import this one: it imports nothing from the package.
"""

from __future__ import annotations

#: Side of one vision patch in pixels (Qwen3-VL; Qwen2.5-VL used 14). qwen-vl-utils needs it
#: passed as ``image_patch_size``.
PATCH_SIZE = 16
#: Patches merged (per side) into one language-model token: a token covers 32x32 pixels.
MERGE_SIZE = 2
#: Video frames merged into one temporal patch.
TEMPORAL_PATCH_SIZE = 2
