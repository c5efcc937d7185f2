"""Store the expected outputs of the notebooks' checked cells (``# NBVAL_CHECK_OUTPUT``).

nbval compares a checked cell's output with the one stored in the notebook, and skips a cell
stored without one. This script executes each notebook on the tiny offline model (greedy, short
answers, as ``scripts/test.sh`` runs them) and writes back the outputs and execution counts of
the checked cells only; every other cell stays without outputs. Run it after changing a checked
cell; ``tests/test_notebooks.py`` fails while a checked cell has no stored output.

Usage: python scripts/record_checked_outputs.py [NOTEBOOK ...]   (default: every notebook)
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from test_env import TEST_ENV

ROOT = Path(__file__).resolve().parent.parent
MARKER = "# NBVAL_CHECK_OUTPUT"


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """Whether nbval compares this cell's output."""
    return cell.cell_type == "code" and cell.source.startswith(MARKER)


def record(path: Path) -> int:
    """Execute ``path`` and store its checked cells' outputs in it; return how many were stored."""
    original = nbformat.read(path, as_version=4)
    executed = copy.deepcopy(original)
    with tempfile.TemporaryDirectory() as results:
        os.environ.update({**TEST_ENV, "QWEN_VL_RESULTS_DIR": results})
        NotebookClient(
            executed, timeout=1800, resources={"metadata": {"path": str(path.parent)}}
        ).execute()
    stored = 0
    for cell, ran in zip(original.cells, executed.cells, strict=True):
        if is_checked(cell):
            cell.outputs = ran.outputs
            cell.execution_count = ran.execution_count
            stored += 1
    nbformat.write(original, path)
    return stored


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: all in notebooks/")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in notebooks:
        print(f"{path.name}: {record(path.resolve())} checked cells stored", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
