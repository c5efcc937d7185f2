"""helpers.doctor: each situation a row, with the verdict and the fix it must name."""

import subprocess
import sys

import pytest

import helpers
from helpers.doctor import Situation, diagnose, known_bad, locked_versions
from helpers.runtime import DeviceCaps

GOOD = {
    "torch": "2.15.0",
    "torchvision": "0.29.2",
    "transformers": "5.25.0",
    "kernels": "0.19.1",
    "qwen-vl-utils": "0.0.14",
    "torchcodec": "0.17.0",
}
ALL_DECODE = {"torchcodec": None, "decord": None, "opencv": None}
T4 = DeviceCaps(cuda_available=True, cuda_name="Tesla T4", cuda_capability=(7, 5))
A100_FA = DeviceCaps(True, "NVIDIA A100", (8, 0), flash_attn_installed=True)
MAC = DeviceCaps(mps_available=True)


def _check(checks, topic):
    [found] = [c for c in checks if c.topic == topic]
    return found


@pytest.mark.parametrize(
    ("situation", "topic", "status", "found", "fix"),
    [
        # the verified set, installed by scripts/setup.sh
        (Situation(GOOD, verified=GOOD), "versions", "ok", "all 6 at the verified", ""),
        # Colab: its own torch, the rest from requirements.txt
        (
            Situation({**GOOD, "torch": "2.9.0"}, verified=GOOD),
            "versions",
            "warn",
            "torch 2.9.0 (verified 2.15.0)",
            "scripts/setup.sh",
        ),
        # a package of the verified set missing
        (
            Situation({k: v for k, v in GOOD.items() if k != "torchcodec"}, verified=GOOD),
            "versions",
            "warn",
            "torchcodec missing (verified 0.17.0)",
            "",
        ),
        # installed elsewhere, no lock file beside the helpers
        (Situation(GOOD), "versions", "ok", "no verified set", ""),
        # every decoder decodes a frame
        (
            Situation(GOOD, decoders=ALL_DECODE, qwen_vl_utils_reader="torchcodec"),
            "video decoders",
            "ok",
            "works with torchcodec, decord, opencv; qwen-vl-utils reads videos with torchcodec",
            "",
        ),
        # torchcodec built for another torch: the helpers fall back, the fix names the torch
        (
            Situation(
                GOOD,
                decoders={**ALL_DECODE, "torchcodec": "RuntimeError: Could not load libtorchcodec"},
            ),
            "video decoders",
            "warn",
            "fails with torchcodec (RuntimeError: Could not load libtorchcodec)",
            "torchcodec release built for torch 2.15.0",
        ),
        # no decoder decodes anything
        (
            Situation(GOOD, decoders={"opencv": "InputError: no frames"}),
            "video decoders",
            "fail",
            "works with none",
            "",
        ),
        # no decoder installed at all
        (Situation(GOOD), "video decoders", "fail", "none installed", "pip install torchcodec"),
        # Colab T4: fp16, no bf16, SDPA
        (
            Situation(GOOD, caps=T4),
            "device",
            "ok",
            "Tesla T4 (compute capability 7.5): fp16 yes, bf16 no",
            "",
        ),
        (
            Situation(GOOD, caps=T4),
            "load_model would use",
            "ok",
            "dtype=float16, attention=sdpa",
            "",
        ),
        # Ampere with flash-attn
        (
            Situation(GOOD, caps=A100_FA, bf16=True),
            "load_model would use",
            "ok",
            "dtype=bfloat16, attention=flash_attention_2",
            "",
        ),
        # Apple silicon
        (Situation(GOOD, caps=MAC, bf16=True), "device", "ok", "Apple MPS: fp16 yes, bf16 yes", ""),
        # a CPU
        (Situation(GOOD), "device", "warn", "no GPU", "QWEN_VL_MODEL=tiny"),
        (Situation(GOOD), "load_model would use", "ok", "device=cpu, dtype=float32", ""),
        # qwen-vl-utils defaults to Qwen2.5-VL's 14-pixel patches; the helpers pass 16
        (Situation(GOOD), "qwen-vl-utils", "ok", "defaults to 14; Qwen3-VL needs 16", ""),
        # an old qwen-vl-utils has no patch-size argument at all
        (
            Situation({**GOOD, "qwen-vl-utils": "0.0.10"}, patch_size_default=None),
            "qwen-vl-utils",
            "fail",
            "no image_patch_size argument",
            "qwen-vl-utils>=0.0.14",
        ),
        # Chromium found, and not
        (
            Situation(GOOD, chromium="/usr/bin/chromium, Chromium 156"),
            "chromium",
            "ok",
            "/usr/bin/chromium",
            "",
        ),
        (Situation(GOOD), "chromium", "warn", "cannot screenshot", "playwright install"),
    ],
)
def test_situations(situation, topic, status, found, fix):
    check = _check(diagnose(situation), topic)
    assert (check.status, found in check.found, fix in check.fix) == (status, True, True), check


@pytest.mark.parametrize(
    ("versions", "names"),
    [
        # the fresh-clone failure: transformers 5.0 beside the kernels that 5.25 pulls in
        (
            {"transformers": "5.0.0", "kernels": "0.19.1"},
            [
                "transformers below 5.13 with kernels 0.15.1 or newer",
                "transformers below the supported range",
            ],
        ),
        # the last release before the fix, with the oldest kernels that breaks it
        (
            {"transformers": "5.12.1", "kernels": "0.15.1"},
            [
                "transformers below 5.13 with kernels 0.15.1 or newer",
                "transformers below the supported range",
            ],
        ),
        # old transformers with an old kernels imports, but is below the range
        (
            {"transformers": "5.12.1", "kernels": "0.14.1"},
            ["transformers below the supported range"],
        ),
        # the first release that works with every kernels
        ({"transformers": "5.13.0", "kernels": "0.19.1"}, []),
        ({"transformers": "5.25.0", "kernels": "0.19.1"}, []),
        ({"transformers": "6.0.0"}, ["transformers 6 or newer"]),
    ],
)
def test_known_bad_combinations(versions, names):
    assert [bad.name for bad in known_bad(versions)] == names


def test_known_bad_combination_is_a_failing_check_with_its_fix():
    checks = diagnose(Situation({**GOOD, "transformers": "5.0.0"}))
    [kernels] = [c for c in checks if "kernels" in c.found]
    assert kernels.status == "fail" and "transformers>=5.13,<6" in kernels.fix


def test_import_errors_fail_with_a_fix():
    checks = diagnose(
        Situation(
            GOOD,
            import_errors={"torchvision": "RuntimeError: operator torchvision::nms does not exist"},
        )
    )
    check = _check(checks, "import torchvision")
    assert check.status == "fail" and "nms" in check.found and "requirements.txt" in check.fix


def test_the_lock_is_read_as_the_verified_set():
    verified = locked_versions((helpers.common.paths.REPO_ROOT / "locks" / "main.txt").read_text())
    assert verified["transformers"] and verified["torch"] and "qwen-vl-utils" in verified


def test_this_machine_from_a_shell():
    # the real reading of the environment running the tests, which set-up made: nothing fails
    result = subprocess.run(
        [sys.executable, "-m", "helpers.doctor"], capture_output=True, text=True, timeout=300
    )
    topics = [line.split(":", 1)[0][5:] for line in result.stdout.splitlines()]
    assert topics[0] == "versions" and "video decoders" in topics and "chromium" in topics
    assert result.returncode == 0 and "FAIL" not in result.stdout, result.stdout


def test_the_supported_floor_is_the_one_requirements_txt_sets():
    from packaging.requirements import Requirement

    from helpers.doctor import TRANSFORMERS_FLOOR

    line = next(
        line
        for line in (helpers.common.paths.REPO_ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("transformers")
    )
    floors = [s.version for s in Requirement(line).specifier if s.operator == ">="]
    assert floors == [TRANSFORMERS_FLOOR]
