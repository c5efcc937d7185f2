"""The benchmark scripts run (short settings) and report what they claim; no timing is asserted.

bench/generate.py runs once, in tests/test_gpu_machine.py (through bench/gpu_run.sh).
"""

import importlib
import json
import os
import subprocess
import sys

import helpers

BENCH = helpers.common.paths.REPO_ROOT / "bench"


def _run(script, *args):
    env = {**os.environ, "QWEN_VL_MODEL": "tiny"}
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _bench_module(name):
    """A bench script imported as a module (bench/ is put on the path, as running it would)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


def _report(name):
    return json.loads((helpers.OUTPUT_DIR / "bench" / f"{name}.json").read_text())


def test_frames_bench():
    out = _run("frames.py", "--frames", "4", "8", "--repeats", "1")
    rows = _report("frames")["rows"]
    assert "warm/cold" in out
    assert {r["backend"] for r in rows} == set(helpers.video.available_backends())
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
    if helpers.common.browser.find_chromium() is None:
        import pytest

        pytest.skip("no Chromium: `apt-get install chromium` (scripts/setup.sh does)")
    out = _run("render.py", "--repeats", "1")
    assert "render_s" in out
    assert len(_report("render")["rows"]) == 3


def test_parsers_bench():
    out = _run("parsers.py", "--sizes", "1000", "2000")
    rows = _report("parsers")["rows"]
    assert "worst_answer" in out
    names = {row["parser"] for row in rows}
    assert {"parse_detections", "extract_code_block", "parse_document", "normalize_amount"} <= names
    assert len(rows) == 2 * len(names)  # one row per parser and size
    assert all(row["worst_answer"] and row["worst_s"] >= 0 for row in rows)


def test_kv_cache_bytes_for_4b():
    memory = _bench_module("memory")
    from transformers import Qwen3VLTextConfig

    config = Qwen3VLTextConfig(
        num_hidden_layers=36,
        num_key_value_heads=8,
        head_dim=128,
        hidden_size=2560,
        num_attention_heads=32,
    )
    assert (
        memory.kv_cache_bytes(config, 1) == 2 * 36 * 8 * 128 * 2
    )  # 147,456 bytes per token in bf16
    assert memory.kv_cache_bytes(config, 1024, batch=8) == 147_456 * 1024 * 8


def test_memory_bench():
    out = _run("memory.py")
    rows = {r["input"]: r for r in _report("memory")["rows"]}
    assert "kv_cache_mb" in out
    photo = rows["one 1024x1024 image"]
    assert photo["visual_tokens"] == 1024  # 32x32 pixels per token
    assert photo["kv_cache_mb"] == round(1024 * 147_456 / 1e6)
