"""Store the outputs a notebook keeps: those of its cells tagged ``nbval-check-output``.

Those cells need no model weights (inputs, grids, frames as the model sees them, truth drawn,
token tables, prompts), so GitHub and Colab show them without running anything, and nbval
compares them on every test run (text exactly, pictures by their content: tests/conftest.py), so
a stored output that no longer matches its cell fails. This script executes each notebook as the
tests do (``scripts/test_env.py``: the tiny offline model) and writes back the outputs and
execution counts of the tagged cells only; every other cell is left without outputs. It refuses
to store an output holding a machine path, and a notebook over 3 MB.

Usage: python scripts/record_outputs.py [NOTEBOOK ...]   (default: every notebook)
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
TAG = "nbval-check-output"
MAX_BYTES = 3 * 1024 * 1024
#: Text that must never be stored: it names this machine.
MACHINE_PATHS = (str(ROOT), "/tmp/", "/root/", "/home/", "ipykernel_")


def is_kept(cell: nbformat.NotebookNode) -> bool:
    """Whether the notebook keeps this cell's outputs (and nbval compares them)."""
    return cell.cell_type == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def machine_paths(outputs: list) -> list[str]:
    """The machine paths ``outputs`` hold (pictures' data is not searched)."""
    found = []
    for output in outputs:
        texts = [output.get("text", "")]
        texts += [v for k, v in output.get("data", {}).items() if not k.startswith("image/")]
        texts += output.get("traceback", [])
        for text in texts:
            text = "".join(text) if isinstance(text, list) else str(text)
            found += [path for path in MACHINE_PATHS if path in text]
    return found


def record(path: Path) -> int:
    """Execute ``path`` and store its kept cells' outputs in it; return how many were stored."""
    original = nbformat.read(path, as_version=4)
    executed = copy.deepcopy(original)
    with tempfile.TemporaryDirectory() as results:
        os.environ.update({**TEST_ENV, "QWEN_VL_RESULTS_DIR": results})
        NotebookClient(
            executed, timeout=1800, resources={"metadata": {"path": str(path.parent)}}
        ).execute()
    stored = 0
    for cell, ran in zip(original.cells, executed.cells, strict=True):
        if cell.cell_type != "code":
            continue
        if is_kept(cell):
            if leaks := machine_paths(ran.outputs):
                raise SystemExit(f"{path.name}, cell {cell.get('id')}: output names {leaks}")
            cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
            stored += 1
        else:
            cell.outputs, cell.execution_count = [], None
    nbformat.write(original, path)
    if (size := path.stat().st_size) > MAX_BYTES:
        raise SystemExit(f"{path.name} is {size / 2**20:.1f} MB with its outputs, over 3 MB")
    return stored


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: all in notebooks/")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in notebooks:
        print(f"{path.name}: {record(path.resolve())} cells' outputs stored", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
