"""Shared fixtures: the tiny offline Qwen3-VL model, built once per session."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Not test modules: the stand-in GPU machine's sitecustomize (loaded through PYTHONPATH by
# test_gpu_machine.py) must never be imported here, e.g. by --doctest-modules.
collect_ignore = ["gpu_machine"]


@pytest.fixture(autouse=True)
def _no_test_mode_overrides(monkeypatch):
    """Unit tests see the presets as they are: scripts/test.sh forces greedy decoding and short
    answers for the notebooks, not for the tests that check the settings themselves."""
    from helpers.prompts import GREEDY_ENV_VAR, MAX_NEW_TOKENS_ENV_VAR

    monkeypatch.delenv(GREEDY_ENV_VAR, raising=False)
    monkeypatch.delenv(MAX_NEW_TOKENS_ENV_VAR, raising=False)


@pytest.fixture(scope="session")
def tiny():
    """``(model, processor)`` of the tiny random checkpoint on CPU."""
    import helpers

    return helpers.load_model("tiny", device="cpu", verbose=False)


@pytest.fixture
def rgb_image(tmp_path):
    """A 96x64 PNG with known colours: left half red, right half blue."""
    array = np.zeros((64, 96, 3), np.uint8)
    array[:, :48] = (255, 0, 0)
    array[:, 48:] = (0, 0, 255)
    path = tmp_path / "red_blue.png"
    Image.fromarray(array).save(path)
    return path


#: Set by scripts/test.sh for its second pass (the lowest transformers allowed): only the tests
#: that can reach transformers run there, since the rest cannot change with its version.
FLOOR_PASS_ENV = "QWEN_VL_TRANSFORMERS_FLOOR_PASS"
#: Words in a test file (or a doctested module) that mean it may reach transformers.
_REACHES_TRANSFORMERS = ("transformers", "load_model(")


@functools.cache
def _file_reaches_transformers(path: Path) -> bool:
    if path.suffix == ".ipynb":  # every notebook runs the model
        return True
    text = path.read_text(encoding="utf-8", errors="replace")
    return any(word in text for word in _REACHES_TRANSFORMERS)


def _reaches_transformers(item: pytest.Item) -> bool:
    return "tiny" in getattr(item, "fixturenames", ()) or _file_reaches_transformers(item.path)


def pytest_collection_modifyitems(config, items):
    if os.environ.get(FLOOR_PASS_ENV) != "1":
        return
    kept, skipped = [], []
    for item in items:
        (kept if _reaches_transformers(item) else skipped).append(item)
    config.hook.pytest_deselected(items=skipped)
    items[:] = kept
