"""The notebooks' shared parts come from one source, and each reads well without being run."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

import helpers

NOTEBOOKS = sorted((helpers.REPO_ROOT / "notebooks").glob("*.ipynb"))


def _sync_module():
    path = helpers.REPO_ROOT / "scripts" / "sync_notebooks.py"
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
        p.relative_to(helpers.REPO_ROOT).as_posix()
        for p in [*helpers.REPO_ROOT.glob("*.md"), *helpers.REPO_ROOT.glob("helpers/*.py")]
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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_without_running(path):
    text = _markdown(path)
    assert len(re.findall(r"^# ", text, flags=re.M)) == 1, "one H1 title"
    for heading in ("## Setup", "## What you learned", "## Where next"):
        assert heading in text, f"missing section {heading!r}"
    links = re.findall(r"\]\((\.\./input/[^)\s]+)\)", text)
    assert links, "the markdown shows the notebook's inputs"
    for link in links:
        assert (path.parent / link).exists(), f"broken link {link}"
    for link in re.findall(r"\]\(([0-9]{2}_[a-z_]+\.ipynb)\)", text):
        assert (path.parent / link).exists(), f"broken link {link}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_checked_cells_keep_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code" and cell["outputs"]:
            assert "".join(cell["source"]).startswith("# NBVAL_CHECK_OUTPUT")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_cells_store_what_nbval_compares(path):
    # nbval skips a checked cell stored unrun (no execution count), comparing nothing.
    checked = [
        c
        for c in _cells(path)
        if c["cell_type"] == "code" and "".join(c["source"]).startswith("# NBVAL_CHECK_OUTPUT")
    ]
    assert checked, "every notebook checks some deterministic output"
    for cell in checked:
        assert cell["execution_count"] is not None and cell["outputs"], (
            f"checked cell {cell.get('id')} has no stored output: "
            "run python scripts/record_checked_outputs.py"
        )
