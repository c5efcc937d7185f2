"""The benchmark scripts run (short settings) and report what they claim; no timing is asserted.

bench/generate.py runs once, in tests/test_gpu_machine.py (through bench/gpu_run.sh).
"""

import json
import os
import subprocess
import sys

import helpers

BENCH = helpers.REPO_ROOT / "bench"


def _run(script, *args):
    env = {**os.environ, "QWEN_VL_MODEL": "tiny"}
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _report(name):
    return json.loads((helpers.OUTPUT_DIR / "bench" / f"{name}.json").read_text())


def test_frames_bench():
    out = _run("frames.py", "--frames", "4", "8", "--repeats", "1")
    rows = _report("frames")["rows"]
    assert "warm/cold" in out
    assert {r["backend"] for r in rows} == set(helpers.available_backends())
    assert all(r["returned"] == r["frames"] for r in rows)


def test_overhead_bench_same_tokens():
    out = _run("overhead.py", "--tokens", "8", "--repeats", "1")
    rows = _report("overhead")["rows"]
    assert "helpers/plain" in out
    assert [r["same_text"] for r in rows] == [True, True]


def test_ocr_bench_batches_agree():
    out = _run("ocr.py", "--batch-sizes", "1", "3", "--tokens", "4")
    rows = _report("ocr")["rows"]
    assert "s_per_image" in out
    assert [r["batch_size"] for r in rows] == [1, 3]
    assert all(r["same_text_as_batch_1"] and r["images"] == 10 for r in rows)


def test_render_bench():
    if helpers.html.find_chromium() is None:
        import pytest

        pytest.skip("no Chromium: `apt-get install chromium` (scripts/setup.sh does)")
    out = _run("render.py", "--repeats", "1")
    assert "render_s" in out
    assert len(_report("render")["rows"]) == 3


def test_parsers_bench():
    out = _run("parsers.py", "--sizes", "1000", "10000", "--repeats", "1")
    for column in ("parse_detections_s", "extract_code_block_s", "parse_document_s"):
        assert column in out
    rows = _report("parsers")["rows"]
    assert len(rows) == 9 * 2 and all(row["chars"] >= 1000 for row in rows)  # 9 shapes, 2 sizes
