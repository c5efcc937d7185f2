"""Shared fixtures: the tiny offline Qwen3-VL model, built once per session."""

from __future__ import annotations

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
