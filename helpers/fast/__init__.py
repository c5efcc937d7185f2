"""A faster decoder for one conversation: static KV cache, a lean loop, CUDA-graph decode steps.

No notebook imports this: :func:`helpers.chat` uses it with ``fast=True``. It imports ``torch``.
"""

from .decode import FastPathUnsupported, check_settings, fast_generate, reset_fast_state

__all__ = ["FastPathUnsupported", "check_settings", "fast_generate", "reset_fast_state"]
