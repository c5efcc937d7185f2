"""Test support: the tiny, randomly initialised Qwen3-VL checkpoint that runs everything offline.

No notebook imports this: ``helpers.load_model("tiny")`` builds and loads it (``QWEN_VL_MODEL=tiny``).
"""

from .tiny import TINY_MODEL_NAME, build_tiny_checkpoint, ensure_tiny_checkpoint

__all__ = ["TINY_MODEL_NAME", "build_tiny_checkpoint", "ensure_tiny_checkpoint"]
