"""bench/gpu_run.sh on a stand-in for the bare GPU machine: wheels carried, installed offline.

The stand-in (tests/gpu_machine/sitecustomize.py) hides what that machine lacks and puts the
lowest transformers requirements.txt allows first on the path; the script must install the
carried wheels with no index, import them from there, and finish the --small benchmark with the
fast path's greedy tokens equal to generate's.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import helpers

ROOT = helpers.REPO_ROOT


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


@pytest.fixture(scope="module")
def floor_site():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "transformers_floor.py")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def _run(wheels, floor_site, site, *args):
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "PYTHON": sys.executable,
        "GPU_WHEELS": str(wheels),
        "GPU_SITE": str(site),
        "PYTHONPATH": f"{ROOT / 'tests' / 'gpu_machine'}:{floor_site}",
    }
    return subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu_run.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_gpu_run_installs_carried_wheels_offline_and_completes(wheels, floor_site, tmp_path):
    site = tmp_path / "site"
    result = _run(
        wheels, floor_site, site, "--small", "--tokens", "12", "--cases", "image", "text only"
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    floor = Path(floor_site, ".complete").read_text().strip()
    assert f"transformers {floor} ({floor_site}" in out  # the floor, not the environment's
    for carried in ("qwen_vl_utils", "decord"):
        assert f"{carried} " in out and f"({site}" in out.split(f"{carried} ", 1)[1].splitlines()[0]
    report = json.loads((helpers.OUTPUT_DIR / "bench" / "generate_small.json").read_text())
    paths = {(r["case"], r["path"]) for r in report["rows"]}
    assert {("image", "fast"), ("text only", "fast"), ("image", "static")} <= paths
    assert all(r.get("same_tokens") for r in report["rows"]), report["rows"]


def test_gpu_run_without_wheels_says_how_to_get_them(floor_site, tmp_path):
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    result = _run(empty, floor_site, tmp_path / "site", "--small")
    assert result.returncode == 2
    assert "bash bench/gpu_wheels.sh" in result.stderr
