import json
import os
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest

import helpers

SCRIPTS = helpers.common.paths.REPO_ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))
import report_card as report  # noqa: E402  (scripts/ is not a package)


def test_record_results_merges_sections_atomically(tmp_path):
    import pandas as pd

    path = report.record_results(
        "02_x", "detection", {"precision": np.float64(0.5)}, directory=tmp_path
    )
    report.record_results(
        "02_x",
        "per_image",
        pd.DataFrame([{"image": "a.png", "cer": float("nan")}]),
        directory=tmp_path,
    )
    report.record_results("02_x", "detection", {"precision": 0.75}, directory=tmp_path)  # replaced
    data = json.loads(path.read_text())
    assert data["sections"] == {
        "detection": {"precision": 0.75},
        "per_image": [{"image": "a.png", "cer": None}],  # NaN is not JSON: null
    }
    assert [p.name for p in tmp_path.iterdir()] == ["02_x.json"]  # no temporary files left


def test_record_results_survives_a_corrupt_file(tmp_path):
    (tmp_path / "01_x.json").write_text('{"sections": {"a"')  # a half-written file from a crash
    with pytest.warns(UserWarning, match="unreadable"):
        path = report.record_results("01_x", "b", 1, directory=tmp_path)
    assert json.loads(path.read_text())["sections"] == {"b": 1}


def test_describe_model(tiny):
    model, _ = tiny
    described = report.describe_model(model, "tiny")
    assert described == {
        "model_id": "tiny",
        "device": "cpu",
        "dtype": "float32",
        "attention": "sdpa",
    }


def test_build_and_render_report(tmp_path):
    report.write_run(report.NotebookRun("01_a", "ok", 12.5), tmp_path)
    report.record_results("01_a", "budget", [{"max_pixels": 1024, "tokens": 4}], directory=tmp_path)
    report.write_run(report.NotebookRun("02_b", "failed", 3.0, "ValueError: boom"), tmp_path)
    report.record_results(
        "02_b", "detection", {"precision": 0.0, "recall": 0.0}, directory=tmp_path
    )
    report.record_results("03_c", "stale", {"x": 1}, directory=tmp_path)  # results but no run
    card = report.build_report(
        ["01_a", "02_b", "03_c"],
        model_id="tiny",
        expected_runtime={"device": "cpu", "dtype": "float32", "attention": "sdpa"},
        directory=tmp_path,
    )
    assert [(n["notebook"], n["status"]) for n in card["notebooks"]] == [
        ("01_a", "ok"), ("02_b", "failed"), ("03_c", "not run"),
    ]  # fmt: skip
    assert card["notebooks"][1]["sections"]["detection"] == {"precision": 0.0, "recall": 0.0}
    assert card["notebooks"][2]["sections"] == {}  # an earlier run's results are not reported
    assert card["runtime"]["observed"] is False and card["tiny_model"]
    assert "python" in card["libraries"] and "torch" in card["libraries"]
    md = report.render_markdown(card)
    assert "Tiny random test model" in md
    assert "| 02_b | failed | 3 |" in md and "ValueError: boom" in md
    assert "| max_pixels | tokens |" in md and "| 1024 | 4 |" in md
    assert "(expected; no notebook reported it)" in md
    md_path, json_path = report.write_report(card, tmp_path)
    assert json.loads(json_path.read_text())["notebooks"][0]["seconds"] == 12.5
    assert md_path.read_text() == md


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _run(tmp_path, *args, model="tiny"):
    env = {
        **os.environ,
        "PYTHONPATH": str(helpers.common.paths.REPO_ROOT),
        "QWEN_VL_MODEL": model,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(tmp_path / "empty-hub-cache"),  # the real model is never cached here
    }
    env.pop("QWEN_VL_BASE_URL", None)
    return subprocess.run(
        [
            sys.executable,
            str(helpers.common.paths.REPO_ROOT / "scripts" / "run_notebooks.py"),
            "--out",
            str(tmp_path / "out"),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_runner_reports_ok_failed_and_skipped_notebooks(tmp_path):
    ok = _notebook(
        tmp_path / "10_ok.ipynb",
        f"import sys\nsys.path.insert(0, {str(SCRIPTS)!r})\nimport report_card\nreport_card.record_results('10_ok', 'score', {{'cer': 0.25}})",
    )
    bad = _notebook(
        tmp_path / "11_bad.ipynb",
        f"import sys\nsys.path.insert(0, {str(SCRIPTS)!r})\nimport report_card\nreport_card.record_results('11_bad', 'partial', {{'n': 1}})",
        "raise ValueError('boom')",
    )
    no_model = _notebook(  # a real failed load: a checkpoint folder that does not exist
        tmp_path / "12_no_model.ipynb",
        f"import helpers\nhelpers.load_model({str(tmp_path / 'no-such-checkpoint')!r}, verbose=False)",
    )
    later = _notebook(tmp_path / "13_later.ipynb", "print('never runs')")
    result = _run(tmp_path, str(ok), str(bad), str(no_model), str(later))
    assert result.returncode == 1, result.stderr
    assert "FAILED 11_bad: ValueError: boom" in result.stderr
    assert "Stopped: the model 'tiny' could not be loaded, so 13_later.ipynb" in result.stderr
    card = json.loads((tmp_path / "out" / "report.json").read_text())
    runs = {n["notebook"]: n for n in card["notebooks"]}
    assert runs["10_ok"]["status"] == "ok" and runs["10_ok"]["sections"] == {"score": {"cer": 0.25}}
    assert runs["11_bad"]["status"] == "failed" and runs["11_bad"]["sections"] == {
        "partial": {"n": 1}
    }
    assert (
        runs["12_no_model"]["status"] == "failed"
        and "ModelLoadError" in runs["12_no_model"]["error"]
    )
    assert runs["13_later"] == {
        **runs["13_later"],
        "status": "skipped",
        "error": "the model could not be loaded",
    }
    assert runs["01_describe_image"]["status"] == "not run"  # the cookbook's own, not run here
    assert all(isinstance(runs[n]["seconds"], float) for n in ("10_ok", "11_bad", "12_no_model"))
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| 13_later | skipped |" in md and "| 11_bad | failed |" in md
    assert (tmp_path / "out" / "notebooks" / "11_bad.ipynb").exists()  # executed copy kept

    # --fail-fast stops after any failure; the report still lists what did not run.
    result = _run(tmp_path, "--fail-fast", str(bad), str(ok))
    runs = {
        n["notebook"]: n
        for n in json.loads((tmp_path / "out" / "report.json").read_text())["notebooks"]
    }
    assert result.returncode == 1 and runs["10_ok"]["status"] == "skipped"
    assert runs["10_ok"]["sections"] == {}  # its results from the first run are gone


def test_main_job_offline_stops_before_the_first_notebook(tmp_path):
    later = _notebook(tmp_path / "10_never.ipynb", "print('never runs')")
    start = time.monotonic()
    result = _run(tmp_path, str(later), model=helpers.loading.DEFAULT_MODEL_ID)
    assert time.monotonic() - start < 30  # not the hub's minutes of retries
    assert result.returncode == 1
    assert "Stopped before the first notebook" in result.stderr
    assert "not in the Hugging Face cache and HF_HUB_OFFLINE is set" in result.stderr
    assert "QWEN_VL_MODEL=tiny" in result.stderr  # the fix
    runs = {
        n["notebook"]: n
        for n in json.loads((tmp_path / "out" / "report.json").read_text())["notebooks"]
    }
    assert runs["10_never"]["status"] == "skipped"
    assert not (tmp_path / "out" / "notebooks" / "10_never.ipynb").exists()  # never executed


def _assigned_names(notebook) -> set[str]:
    """Names a notebook's code cells assign (``x = ...``, ``x: T = ...``, ``for x in ...``)."""
    import ast

    names = set()
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(  # shell and magic lines become `pass`, keeping the indentation
            line[: len(line) - len(line.lstrip())] + "pass"
            if line.lstrip().startswith(("!", "%"))
            else line
            for line in cell.source.splitlines()
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


@pytest.mark.parametrize("stem", sorted(report.REPORT_SECTIONS))
def test_report_sections_name_variables_the_notebook_assigns(stem):
    notebook = helpers.common.paths.REPO_ROOT / "notebooks" / f"{stem}.ipynb"
    missing = set(report.REPORT_SECTIONS[stem].values()) - _assigned_names(notebook)
    assert not missing, f"{stem} never assigns {sorted(missing)}"


def test_every_notebook_has_report_sections():
    stems = {p.stem for p in (helpers.common.paths.REPO_ROOT / "notebooks").glob("*.ipynb")}
    assert stems == set(report.REPORT_SECTIONS)


@pytest.mark.parametrize(
    "path", sorted((helpers.common.paths.REPO_ROOT / "notebooks").glob("*.ipynb"))
)
def test_lessons_hold_no_recording_calls(path):
    assert "record_results" not in path.read_text(encoding="utf-8")


def test_runner_takes_scores_from_the_notebook_even_when_it_fails(tmp_path):
    # a notebook named as one of the cookbook's: its scores are its variables, no call records them
    notebook = _notebook(
        tmp_path / "02_object_detection.ipynb",
        "detection_scores = [{'image': 'a.png', 'recall': 0.5}]\nMODEL_ID = 'tiny'",
        "raise ValueError('stops half-way')",
        "color_score = {'accuracy': 1.0}",  # never reached
    )
    result = _run(tmp_path, str(notebook))
    assert result.returncode == 1
    card = json.loads((tmp_path / "out" / "report.json").read_text())
    [run] = [n for n in card["notebooks"] if n["notebook"] == "02_object_detection"]
    assert run["status"] == "failed"
    assert run["sections"] == {"detection": [{"image": "a.png", "recall": 0.5}]}
    assert run["missing"] == ["referring", "attributes"]
    executed = nbformat.read(tmp_path / "out" / "notebooks" / notebook.name, as_version=4)
    assert len(executed.cells) == 3  # the collecting cell is not part of the saved copy


def test_report_names_sections_a_run_did_not_record(tmp_path):
    report.write_run(report.NotebookRun("02_object_detection", "ok", 5.0), tmp_path)
    report.record_results("02_object_detection", "detection", {"recall": 0.5}, directory=tmp_path)
    report.record_results("03_ocr", "document", {"cer": 0.1}, directory=tmp_path)  # never ran
    card = report.build_report(["02_object_detection", "03_ocr"], directory=tmp_path)
    assert card["notebooks"][0]["missing"] == ["referring", "attributes"]
    assert card["notebooks"][1]["missing"] == []  # not run: its status says so
    assert "**Not recorded in this run:** referring, attributes" in report.render_markdown(card)


def test_report_markdown_stays_text_whatever_the_answers_hold(tmp_path):
    report.write_run(report.NotebookRun("01_a", "ok", 1.0), tmp_path)
    answer = "8/|x T!\x0flab\x04/\x00 end\nnext"  # a random model's bytes, a pipe, a newline
    report.record_results("01_a", "answers", [{"answer": answer}], directory=tmp_path)
    text = report.render_markdown(report.build_report(["01_a"], directory=tmp_path))
    assert "| 8/\\|x T!\\x0flab\\x04/\\x00 end next |" in text
    assert not [c for c in text if ord(c) < 32 and c != "\n"]


def test_report_card_examples_run():
    import doctest

    assert doctest.testmod(report, optionflags=doctest.ELLIPSIS).failed == 0
