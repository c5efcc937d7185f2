"""Execute every notebook headless, then write the report card.

Executed copies go to outputs/notebooks/; each notebook records its scores in outputs/results/;
outputs/report.md and outputs/report.json gather them with the model, device, dtype, library
versions, date and time per notebook. A failed notebook is reported as failed. When the model
cannot be loaded the remaining notebooks are skipped (they would fail the same way); with
--fail-fast any failure stops the run. The report is written either way.

The model comes from $QWEN_VL_MODEL (default: the real Qwen/Qwen3-VL-4B-Instruct; ``tiny`` runs
offline). Usage: python scripts/run_notebooks.py [--fail-fast] [--report-only] [--out DIR] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
import report_card as report
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm.auto import tqdm

import helpers
from helpers.loading import check_model_available

NOTEBOOK_DIR = helpers.common.paths.REPO_ROOT / "notebooks"
SCRIPTS = Path(__file__).resolve().parent
TIMEOUT_S = 3600  # per cell: the longest answers (a whole page, up to 16384 tokens) need room
#: Errors that mean the model itself cannot be had (offline, wrong id, no access, no server):
#: every notebook loads the same model, so the rest would fail the same way.
MODEL_ERRORS = ("ModelLoadError", "RemoteError")


def _reason(exc: Exception) -> str:
    """The error's last line (``ModelLoadError: ...``), not the whole traceback."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", None)
    if evalue is not None:
        return f"{ename}: {evalue}".strip()
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else repr(exc)


def _failed_loading(nb: nbformat.NotebookNode) -> bool:
    """Whether the cell that failed is the one loading the model (offline, wrong id, no access)."""
    for cell in nb.cells:
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return "load_model(" in cell.source
    return False


def run_one(path: Path, out_dir: Path) -> tuple[report.NotebookRun, bool]:
    """Execute one notebook, take its scores from its kernel, save the executed copy, and record
    how it went; also return whether it failed because the model could not be loaded.

    The scores are collected after the last cell, or after the cell that failed (so a notebook
    that stops half-way keeps what it measured), by one more cell run in the same kernel
    (``scripts/report_card.py``'s ``collect_results``), which the saved copy leaves out.
    """
    report.clear_results(path.stem)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=TIMEOUT_S, resources={"metadata": {"path": str(path.parent)}}
    )
    collect = nbformat.v4.new_code_cell(
        f"import sys\nsys.path.insert(0, {str(SCRIPTS)!r})\n"
        f"from report_card import collect_results\ncollect_results({path.stem!r}, globals())"
    )
    status, error, model_failed = "ok", None, False
    start = time.perf_counter()
    try:
        client.reset_execution_trackers()
        with client.setup_kernel():
            try:
                for index, cell in enumerate(list(nb.cells)):
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except (CellExecutionError, TimeoutError) as exc:
                status, error = "failed", _reason(exc)
                model_failed = _failed_loading(nb) or getattr(exc, "ename", "") in MODEL_ERRORS
            nb.cells.append(collect)
            try:
                client.execute_cell(collect, len(nb.cells) - 1)
            finally:
                nb.cells.pop()
    except (CellExecutionError, RuntimeError, TimeoutError) as exc:  # the kernel itself failed
        status, error = "failed", error or _reason(exc)
    finally:
        nbformat.write(nb, out_dir / path.name)
    run = report.NotebookRun(path.stem, status, round(time.perf_counter() - start, 1), error)
    report.write_run(run)
    return run, model_failed


def write_report_card(notebooks: list[Path], model_id: str, out: Path) -> None:
    expected = None
    if not helpers.serving.remote_url():
        choice = helpers.choose_runtime(helpers.detect_caps())
        expected = {
            "model_id": model_id,
            "device": choice.device,
            "dtype": choice.dtype,
            "attention": choice.attn_implementation,
        }
    card = report.build_report(
        [p.stem for p in notebooks], model_id=model_id, expected_runtime=expected
    )
    md, js = report.write_report(card, out)
    print(f"Report card: {md} and {js}")
    for entry in card["notebooks"]:
        if entry["missing"] and entry["status"] in ("ok", "failed"):  # it ran, and left them out
            print(f"{entry['notebook']}: not recorded in this run: {', '.join(entry['missing'])}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: all in notebooks/")
    parser.add_argument("--fail-fast", action="store_true", help="stop after the first failure")
    parser.add_argument(
        "--report-only", action="store_true", help="write the report from earlier runs only"
    )
    parser.add_argument(
        "--out", type=Path, default=helpers.OUTPUT_DIR, help="output folder (default: outputs/)"
    )
    args = parser.parse_args(argv)
    # The notebooks' kernels inherit this: they record their results where the report reads.
    os.environ[report.RESULTS_ENV_VAR] = str((args.out / "results").resolve())
    chosen = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    # Every cookbook notebook is in the report; one not run by this or an earlier call shows so.
    # (one entry per name: a notebook given by path stands in for the cookbook's of that name)
    listed = list({p.stem: p for p in [*sorted(NOTEBOOK_DIR.glob("*.ipynb")), *chosen]}.values())
    model_id = helpers.resolve_model_id()
    if args.report_only:
        write_report_card(listed, model_id, args.out)
        return 0

    out_dir = args.out / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.notebooks:  # a full run: no result of an earlier run may pass for this one's
        for path in listed:
            report.clear_results(path.stem)
    print(f"Model: {model_id}")
    try:  # in seconds: an offline machine stops here, not after the hub's retries in a notebook
        print(f"Model from: {check_model_available(model_id)}")
    except (helpers.ModelLoadError, helpers.RemoteError) as exc:
        why = "the model could not be loaded"
        for path in chosen:
            report.clear_results(path.stem)
            report.write_run(report.NotebookRun(path.stem, "skipped", None, why))
        write_report_card(listed, model_id, args.out)
        print(f"\nStopped before the first notebook: {exc}", file=sys.stderr)
        return 1
    if model_id == "tiny" and not os.environ.get(helpers.prompts.MAX_NEW_TOKENS_ENV_VAR):
        # The tiny model's answers are random and rarely end on their own: keep them short.
        os.environ[helpers.prompts.MAX_NEW_TOKENS_ENV_VAR] = "256"
        print(
            f"tiny model: answers capped at 256 new tokens (${helpers.prompts.MAX_NEW_TOKENS_ENV_VAR})"
        )
    caps = helpers.detect_caps()
    if (
        model_id != "tiny"
        and not (caps.cuda_available or caps.mps_available)
        and not helpers.serving.remote_url()
    ):
        print(
            f"No GPU found: {model_id} will run on the CPU, much slower than on a GPU. "
            "QWEN_VL_MODEL=tiny runs them all offline on the CPU (random answers)."
        )
    failures: list[report.NotebookRun] = []
    try:
        for index, path in enumerate(tqdm(chosen, desc="notebooks")):
            run, model_failed = run_one(path, out_dir)
            tqdm.write(
                f"{run.status:6} {path.name} in {run.seconds:.1f} s -> {out_dir / path.name}"
            )
            if run.status == "ok":
                continue
            failures.append(run)
            if model_failed or args.fail_fast:
                why = (
                    "the model could not be loaded"
                    if model_failed
                    else f"{path.stem} failed (--fail-fast)"
                )
                skipped = chosen[index + 1 :]
                for later in skipped:
                    report.clear_results(later.stem)
                    report.write_run(report.NotebookRun(later.stem, "skipped", None, why))
                if model_failed:
                    print(
                        f"\nStopped: the model {model_id!r} could not be loaded, so "
                        f"{', '.join(p.name for p in skipped) or 'no other notebook'} would fail "
                        f"the same way.\n{run.error}",
                        file=sys.stderr,
                    )
                break
    finally:
        write_report_card(listed, model_id, args.out)
    for run in failures:
        print(f"FAILED {run.notebook}: {run.error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
