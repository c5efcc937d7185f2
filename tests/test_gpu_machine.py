"""bench/gpu_run.sh on a stand-in for the bare GPU machine: wheels carried, installed offline.

The stand-in is the floor pass's environment (.venv-floor: an older transformers than the
cookbook's own, as that machine has) with tests/gpu_machine/sitecustomize.py hiding what that
machine lacks; the script must install the carried wheels with no index, import them from there,
and finish the --small benchmark with the fast path's greedy tokens equal to generate's. It runs
in the floor pass only.
"""

import json
import os
import subprocess
import sys

import pytest

import helpers

ROOT = helpers.common.paths.REPO_ROOT


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """The carried wheels, downloaded as a user would (bench/gpu_wheels.sh)."""
    folder = tmp_path_factory.mktemp("whl")
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu_wheels.sh"), str(folder)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


pytestmark = pytest.mark.floor_only


def _run(wheels, site, *args):
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "PYTHON": sys.executable,
        "GPU_WHEELS": str(wheels),
        "GPU_SITE": str(site),
        "PYTHONPATH": str(ROOT / "tests" / "gpu_machine"),
    }
    return subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu_run.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_gpu_run_installs_carried_wheels_offline_and_completes(wheels, tmp_path):
    import transformers

    site = tmp_path / "site"
    # batch-1 text-only rows are left out: the fast path's text prompts are tests/test_fast.py's
    cases = ["image", "video (64 frames at 1 fps)", "text only x8"]
    result = _run(wheels, site, "--small", "--tokens", "8", "--cases", *cases)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert f"transformers {transformers.__version__} ({sys.prefix}" in out  # this environment's
    for carried in ("qwen_vl_utils", "decord"):
        assert f"{carried} " in out and f"({site}" in out.split(f"{carried} ", 1)[1].splitlines()[0]
    # the benchmark's table: every case and path, and tokens equal to default generate's
    assert "of_roofline_%" in out
    rows = json.loads((helpers.OUTPUT_DIR / "bench" / "generate_small.json").read_text())["rows"]
    cases = {r["case"]: r for r in rows}
    assert cases["image"]["visual_tokens"] == helpers.budget.estimate_visual_tokens((512, 512))
    assert cases["text only x8"]["batch"] == 8
    assert all(r["decode_tok_s"] > 0 and r["roofline_steps_s"] > 0 for r in rows)
    fast = {r["case"] for r in rows if r["path"] == "fast"}
    assert fast == {"image", "video (64 frames at 1 fps)"}  # batch 8 has no fast path
    assert {r["path"] for r in rows} == {"generate", "generate+sdpa", "static", "fast", "fast+sdpa"}
    assert {(r["case"], r["path"]) for r in rows if r["path"] == "static"} == {
        ("image", "static"),
        ("text only x8", "static"),
    }
    assert all(r["same_tokens"] for r in rows), rows  # token for token


def test_gpu_run_without_wheels_says_how_to_get_them(tmp_path):
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    result = _run(empty, tmp_path / "site", "--small")
    assert result.returncode == 2
    assert "bash bench/gpu_wheels.sh" in result.stderr
