"""Shared fixtures: the tiny offline Qwen3-VL model, built once per session."""

from __future__ import annotations

import os

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


#: Set to ``floor`` by scripts/test.sh for its pass in .venv-floor (transformers at the lowest
#: version requirements.txt allows): only what can change with the transformers version runs there.
TEST_PASS_ENV = "QWEN_VL_TEST_PASS"
#: Notebooks run in the floor pass too: 01 calls transformers' own API step by step and 05 goes
#: through its video processor and time markers. 02-04 reach transformers only through the
#: helpers, whose tests on the tiny model run in both passes.
FLOOR_NOTEBOOKS = ("01_describe_image.ipynb", "05_video_understanding.ipynb")


def _reaches_transformers(item: pytest.Item) -> bool:
    """A test on the tiny model, one marked ``transformers``, a doctest whose example loads a
    model, or a cell of a floor notebook."""
    if "tiny" in getattr(item, "fixturenames", ()) or item.get_closest_marker("transformers"):
        return True
    if item.path.suffix == ".ipynb":
        return item.path.name in FLOOR_NOTEBOOKS
    examples = getattr(getattr(item, "dtest", None), "examples", ())
    return any("load_model(" in example.source for example in examples)


def pytest_collection_modifyitems(config, items):
    floor = os.environ.get(TEST_PASS_ENV) == "floor"
    kept, skipped = [], []
    for item in items:
        if floor:
            keep = _reaches_transformers(item) or bool(item.get_closest_marker("floor_only"))
        else:
            keep = not item.get_closest_marker("floor_only")
        (kept if keep else skipped).append(item)
    config.hook.pytest_deselected(items=skipped)
    items[:] = kept
