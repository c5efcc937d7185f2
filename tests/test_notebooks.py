"""The notebooks' shared parts come from one source, and each reads well without being run."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

import helpers

NOTEBOOKS = sorted((helpers.common.paths.REPO_ROOT / "notebooks").glob("*.ipynb"))


def _sync_module():
    path = helpers.common.paths.REPO_ROOT / "scripts" / "sync_notebooks.py"
    spec = importlib.util.spec_from_file_location("sync_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SYNC = _sync_module()


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _markdown(path):
    return "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_shared_cells_match_their_single_source(path):
    cells = {c.get("id"): "".join(c["source"]) for c in _cells(path)}
    assert cells.get(SYNC.SETUP_ID) == SYNC.setup_source(), (
        "setup cell differs: run python scripts/sync_notebooks.py"
    )
    assert cells.get(SYNC.BADGE_ID) == SYNC.badge_source(path.name)


def test_setup_cell_is_identical_everywhere():
    setups = {
        "".join(c["source"]) for path in NOTEBOOKS for c in _cells(path) if c.get("id") == "setup"
    }
    assert len(setups) == 1


def test_repository_url_is_written_in_one_place():
    # Only the sync script names the repository; notebooks get it from there.
    url = SYNC.REPOSITORY_URL
    holders = [
        p.relative_to(helpers.common.paths.REPO_ROOT).as_posix()
        for p in [
            *helpers.common.paths.REPO_ROOT.glob("*.md"),
            *helpers.common.paths.REPO_ROOT.glob("helpers/*.py"),
        ]
        if url in p.read_text(encoding="utf-8")
    ]
    assert holders == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # a plain GitHub URL
        (
            "https://github.com/acme/qwen3-vl-cookbook",
            "https://colab.research.google.com/github/acme/qwen3-vl-cookbook/blob/main/notebooks/01_x.ipynb",
        ),
        # a clone URL with .git and a trailing slash
        (
            "https://github.com/acme/cookbook.git/",
            "https://colab.research.google.com/github/acme/cookbook/blob/main/notebooks/01_x.ipynb",
        ),
    ],
)
def test_colab_url(url, expected):
    assert SYNC.colab_url("01_x.ipynb", url) == expected


CHECK_TAG = "nbval-check-output"  # the cells whose outputs a notebook keeps and nbval compares


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _pictures(cell):
    return sum(
        kind in output.get("data", {})
        for output in cell.get("outputs", [])
        for kind in ("image/png", "image/jpeg")
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_without_running(path):
    text = _markdown(path)
    assert len(re.findall(r"^# ", text, flags=re.M)) == 1, "one H1 title"
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert "Setup" in headings and "What you learned" in headings
    assert headings[-2:] == ["Known limitations", "Try it yourself"], "ends with these two"
    for link in re.findall(r"\]\((\.\./[^)\s]+)\)", text):
        assert (path.parent / link).exists(), f"broken link {link}"
    for link in re.findall(r"\]\(([0-9]{2}_[a-z_]+\.ipynb)\)", text):
        assert (path.parent / link).exists(), f"broken link {link}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_reader_sees_pictures_without_running(path):
    assert sum(_pictures(c) for c in _cells(path)) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_test_plumbing_in_the_lesson(path):
    sources = "\n".join("".join(c["source"]) for c in _cells(path))
    assert "NBVAL" not in sources, "nbval markers belong in cell tags"
    assert "record_results" not in sources, "the runner collects the scores"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_checked_cells_keep_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code" and (cell["outputs"] or cell["execution_count"]):
            assert CHECK_TAG in _tags(cell), f"cell {cell.get('id')} keeps an unchecked output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_cells_store_what_nbval_compares(path):
    # nbval skips a checked cell stored unrun (no execution count), comparing nothing.
    checked = [c for c in _cells(path) if c["cell_type"] == "code" and CHECK_TAG in _tags(c)]
    assert checked, "every notebook checks some deterministic output"
    for cell in checked:
        assert cell["execution_count"] is not None, (
            f"checked cell {cell.get('id')} is stored unrun: python scripts/record_outputs.py"
        )


def _recorder():
    """scripts/record_outputs.py, whose checks a stored output must pass."""
    import sys

    scripts = str(helpers.common.paths.REPO_ROOT / "scripts")
    sys.path.insert(0, scripts)  # it imports scripts/test_env.py
    try:
        spec = importlib.util.spec_from_file_location(
            "record_outputs", f"{scripts}/record_outputs.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(scripts)
    return module


RECORDER = _recorder()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_name_no_machine_and_stay_small(path):
    assert path.stat().st_size <= RECORDER.MAX_BYTES
    for cell in _cells(path):
        leaks = RECORDER.machine_paths(cell.get("outputs", []))
        assert not leaks, f"cell {cell.get('id')} stores {leaks}"


def _stored_picture_check():
    """The comparison the repository's conftest.py adds to nbval's, around a check that passes."""
    path = helpers.common.paths.REPO_ROOT / "conftest.py"
    spec = importlib.util.spec_from_file_location("root_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._compare_pictures_too(lambda self, test, ref, skip_compare=None: True)


def _jpeg_output(array, quality):
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=quality)
    return {
        "output_type": "display_data",
        "data": {"image/jpeg": base64.b64encode(buffer.getvalue()).decode()},
    }


@pytest.mark.parametrize(
    ("fresh", "matches"),
    [
        ("same", True),  # the same picture, encoded again at another quality
        ("shifted", False),  # the drawing moved: the stored output is stale
        ("none", False),  # the cell no longer draws a picture
    ],
)
def test_a_stale_stored_picture_fails(fresh, matches):
    import numpy as np

    picture = np.full((240, 320, 3), 255, np.uint8)
    picture[60:180, 80:160] = (200, 30, 30)
    stored = [_jpeg_output(picture, 85)]
    test = {
        "same": [_jpeg_output(picture, 60)],
        "shifted": [_jpeg_output(np.roll(picture, 120, axis=1), 85)],
        "none": [],
    }[fresh]
    item = type("Cell", (), {"comparison_traceback": []})()
    assert _stored_picture_check()(item, test, stored) is matches
    assert bool(item.comparison_traceback) is not matches  # a failure says why
