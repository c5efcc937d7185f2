"""Stand-in for the bare GPU machine, loaded through ``PYTHONPATH`` by ``tests/test_gpu_machine.py``.

That machine's python3 has torch, torchvision, transformers, accelerate, opencv, pandas, pillow,
numpy and tqdm, and nothing else of the cookbook's requirements; it reaches no network. Here:
- the packages it lacks cannot be imported (``sys.modules[name] = None``: imports raise
  ImportError and ``importlib.util.find_spec`` answers None, as when absent);
- the packages carried to it as wheels (bench/gpu-wheels.txt) import only from the folder the
  wheels were installed into (``GPU_SITE``), never from this environment.
"""

import importlib.machinery
import os
import sys

ABSENT = ("torchcodec", "supervision", "json_repair", "rapidfuzz", "openai", "playwright")
CARRIED = ("qwen_vl_utils", "decord")

for _name in ABSENT:
    sys.modules[_name] = None


class _CarriedOnly:
    """Finds the carried packages in ``GPU_SITE`` alone."""

    def find_spec(self, name, path=None, target=None):
        if name not in CARRIED:
            return None
        site = os.environ.get("GPU_SITE", "")
        spec = importlib.machinery.PathFinder.find_spec(name, [site]) if site else None
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r} (not carried)", name=name)
        return spec


sys.meta_path.insert(0, _CarriedOnly())
