"""Execute every notebook headless; executed copies go to outputs/notebooks/.

The model comes from $QWEN_VL_MODEL (default: the real Qwen/Qwen3-VL-4B-Instruct; ``tiny`` runs
offline). Usage: python scripts/run_notebooks.py [NOTEBOOK ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm.auto import tqdm

import helpers

NOTEBOOK_DIR = helpers.REPO_ROOT / "notebooks"
TIMEOUT_S = 3600  # per cell: the sketch-to-HTML answer can take minutes on a small GPU


def _failed_loading(nb: nbformat.NotebookNode) -> bool:
    """Whether the cell that failed is the one loading the model (offline, wrong id, no access)."""
    for cell in nb.cells:
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return "load_model(" in cell.source
    return False


def main(argv: list[str]) -> int:
    notebooks = [Path(a) for a in argv] or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    out_dir = helpers.OUTPUT_DIR / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    model_id = helpers.resolve_model_id()
    print(f"Model: {model_id}")
    caps = helpers.detect_caps()
    if (
        model_id != "tiny"
        and not (caps.cuda_available or caps.mps_available)
        and not helpers.remote_url()
    ):
        print(
            f"No GPU found: {model_id} will run on the CPU, which takes hours for these notebooks. "
            "QWEN_VL_MODEL=tiny runs them all offline in minutes (random answers)."
        )
    failures = []
    for index, path in enumerate(tqdm(notebooks, desc="notebooks")):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            NotebookClient(
                nb, timeout=TIMEOUT_S, resources={"metadata": {"path": str(path.parent)}}
            ).execute()
            status = "ok"
        except CellExecutionError as exc:
            status = "FAILED"
            failures.append((path.name, str(exc).splitlines()[-1] if str(exc) else repr(exc)))
            if _failed_loading(nb):
                # Every notebook loads the same model: the rest would fail the same way.
                nbformat.write(nb, out_dir / path.name)
                skipped = [p.name for p in notebooks[index + 1 :]]
                print(
                    f"\nStopped: the model {model_id!r} could not be loaded, so "
                    f"{', '.join(skipped) or 'no other notebook'} would fail the same way.\n"
                    f"{exc.ename}: {exc.evalue}",
                    file=sys.stderr,
                )
                return 1
        nbformat.write(nb, out_dir / path.name)
        tqdm.write(
            f"{status:6} {path.name} in {time.perf_counter() - start:.1f} s -> {out_dir / path.name}"
        )
    for name, reason in failures:
        print(f"FAILED {name}: {reason}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
