"""Write the cells every notebook shares (Colab badge, setup) from this one file.

The repository URL lives here, once: set ``REPOSITORY_URL`` to where the cookbook is published,
run ``python scripts/sync_notebooks.py``, and every notebook's badge and setup cell follow.
``--check`` changes nothing and exits 1 if a notebook differs (the tests run the same check).

Usage: python scripts/sync_notebooks.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: Where the cookbook is published. The placeholder is detected by the setup cell, which then
#: explains what to do instead of failing.
REPOSITORY_URL = "https://github.com/YOUR-ACCOUNT/qwen3-vl-cookbook"
PLACEHOLDER_ACCOUNT = "YOUR-ACCOUNT"
BRANCH = "main"
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
BADGE_ID = "colab-badge"  # the cell ids the shared cells carry in every notebook
SETUP_ID = "setup"

SETUP_CELL = """\
# Setup: the same cell in every notebook (written by scripts/sync_notebooks.py).
# Locally, `bash scripts/setup.sh` has installed everything and this cell only checks it.
# In Colab, it fetches the cookbook from COOKBOOK_REPO and installs its requirements around
# Colab's own PyTorch.
import os
import sys

COOKBOOK_REPO = "{url}"  # @param {{type:"string"}}
COOKBOOK_DIR = "/content/qwen3-vl-cookbook"

if "google.colab" in sys.modules:
    if "{placeholder}" in COOKBOOK_REPO and not os.path.isdir(COOKBOOK_DIR):
        print(
            "This notebook needs the cookbook's files (the `helpers` package and `input/`).\\n"
            "Set COOKBOOK_REPO above to the repository's URL (the GitHub page you opened this "
            "notebook from) and run this cell again, or upload the repository to " + COOKBOOK_DIR
        )
    else:
        if not os.path.isdir(COOKBOOK_DIR):
            !git clone --depth 1 {{COOKBOOK_REPO}} {{COOKBOOK_DIR}}
        %cd {{COOKBOOK_DIR}}
        import torch

        # Keep Colab's torch, and take the torchcodec built for it (torchcodec's README table;
        # from torch 2.11 on, its newest release fits).
        codec_for_torch = {codec_table}
        codec = codec_for_torch.get(".".join(torch.__version__.split(".")[:2]), "")
        codec_pin = f"torchcodec=={{codec}}.*" if codec else "torchcodec"
        %pip install -q -r requirements.txt "torch=={{torch.__version__}}" "{{codec_pin}}"

try:
    import helpers
except ImportError as exc:
    raise ImportError(
        "The cookbook's `helpers` package is not installed: run `bash scripts/setup.sh` from the "
        "repository root (or, in Colab, follow the message above), then restart the kernel."
    ) from exc
# One line per check (versions, video decoders, device, attention, Chromium), each problem with its fix.
helpers.doctor()"""
#: torch minor version -> the torchcodec minor built for it (torchcodec's README compatibility
#: table); torch 2.11 and newer take torchcodec's newest release.
TORCHCODEC_FOR_TORCH = {"2.6": "0.2", "2.7": "0.5", "2.8": "0.7", "2.9": "0.9", "2.10": "0.10"}


def colab_url(notebook: str, url: str = REPOSITORY_URL) -> str:
    """The Colab address that opens ``notebooks/<notebook>`` from the GitHub repository ``url``."""
    slug = url.removeprefix("https://github.com/").strip("/").removesuffix(".git")
    return f"https://colab.research.google.com/github/{slug}/blob/{BRANCH}/notebooks/{notebook}"


def badge_source(notebook: str, url: str = REPOSITORY_URL) -> str:
    """The markdown of the badge cell for ``notebook`` (a file name such as ``01_x.ipynb``)."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(notebook, url)}) "
        f"· [source on GitHub]({url}/blob/{BRANCH}/notebooks/{notebook})"
    )


def setup_source(url: str = REPOSITORY_URL) -> str:
    """The source of the setup cell shared by every notebook."""
    return SETUP_CELL.format(
        url=url, placeholder=PLACEHOLDER_ACCOUNT, codec_table=json.dumps(TORCHCODEC_FOR_TORCH)
    )


def _cell(kind: str, source: str, cell_id: str) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source.splitlines(True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _find(cells: list[dict], cell_id: str) -> int | None:
    return next((i for i, c in enumerate(cells) if c.get("id") == cell_id), None)


def synced(notebook: dict, name: str) -> dict:
    """``notebook`` (nbformat JSON) with its badge cell and setup cell up to date.

    Cells are found by id (``colab-badge``, ``setup``); a missing badge cell is added after the
    title cell, a missing setup cell right after the ``## Setup`` heading.
    """
    cells = list(notebook["cells"])
    for cell_id, kind, source in (
        (BADGE_ID, "markdown", badge_source(name)),
        (SETUP_ID, "code", setup_source()),
    ):
        index = _find(cells, cell_id)
        fresh = _cell(kind, source, cell_id)
        if index is not None:
            cells[index] = {**cells[index], "source": fresh["source"]}
        elif cell_id == BADGE_ID:
            cells.insert(1, fresh)
        else:
            heading = next(
                i
                for i, c in enumerate(cells)
                if c["cell_type"] == "markdown" and "".join(c["source"]).strip() == "## Setup"
            )
            cells.insert(heading + 1, fresh)
    return {**notebook, "cells": cells}


def _dump(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        new = _dump(synced(json.loads(text), path.name))
        if new != text:
            stale.append(path.name)
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print(f"out of date: {', '.join(stale)}; run: python scripts/sync_notebooks.py")
        return 1
    print(
        ("checked" if check else "synced")
        + f": {len(list(NOTEBOOK_DIR.glob('*.ipynb')))} notebooks"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
