"""Check this machine for the cookbook, one line per topic, each problem with its fix.

What it reads: the installed versions against the verified set (``locks/main.txt``), the
combinations of versions known to break, which video decoders actually decode a frame, the
device and its bf16/fp16 support, the attention implementation :func:`helpers.load_model` would
choose and why, qwen-vl-utils' patch size for Qwen3-VL, and whether Chromium is found.

From a notebook: ``helpers.doctor()``; from a shell: ``python -m helpers.doctor`` (exit status 1
when a check fails). The verdicts are a pure function of a :class:`Situation`, so every case is
testable on any machine (``tests/test_doctor.py``).
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version

from .common.browser import PLAYWRIGHT_INSTALL, find_chromium
from .common.paths import INPUT_DIR, REPO_ROOT
from .runtime import DeviceCaps, choose_runtime, detect_caps
from .video import available_backends, sample_frames

Status = Literal["ok", "warn", "fail"]
LOCK_FILE = REPO_ROOT / "locks" / "main.txt"
#: The lowest transformers the cookbook supports (requirements.txt).
TRANSFORMERS_FLOOR = "5.13"
#: Qwen3-VL's vision patch: 16 pixels (qwen-vl-utils' default, 14, is Qwen2.5-VL's).
QWEN3_VL_PATCH = 16
#: Libraries whose versions the summary line names.
KEY_LIBRARIES = ("torch", "torchvision", "transformers", "qwen-vl-utils", "torchcodec")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


@dataclass(frozen=True)
class Check:
    """One line of the report.

    Attributes:
        topic: What was checked, e.g. ``"video decoders"``.
        status: ``"ok"``, ``"warn"`` (works, with a caveat) or ``"fail"`` (a notebook will fail).
        found: What was found.
        fix: What to do about it (empty when nothing is needed).
    """

    topic: str
    status: Status
    found: str
    fix: str = ""

    def line(self) -> str:
        """The check as one line of text.

        Example:
            >>> Check("chromium", "warn", "not found", "apt-get install chromium").line()
            'WARN chromium: not found -> apt-get install chromium'
        """
        fix = f" -> {self.fix}" if self.fix else ""
        return f"{self.status.upper():4} {self.topic}: {self.found}{fix}"


@dataclass(frozen=True)
class Situation:
    """What :func:`doctor` reads off a machine; made up in tests.

    Attributes:
        versions: Installed distributions, lower-case name -> version.
        verified: The verified set (``locks/main.txt``), name -> version; empty when not found.
        caps: The device (:func:`helpers.runtime.detect_caps`).
        bf16: Whether the chosen device computes in bfloat16.
        decoders: Each frame decoder of :func:`helpers.sample_frames` that is installed -> ``None``
            when it decoded a frame, else its error.
        qwen_vl_utils_reader: The video reader qwen-vl-utils picks (``None``: not importable).
        patch_size_default: qwen-vl-utils' default ``image_patch_size`` (``None``: it has no such
            argument).
        import_errors: Library -> the error its import raised (transformers, torchvision).
        chromium: The browser :func:`helpers.render_html` would launch, with its version, or
            ``None``.
    """

    versions: Mapping[str, str]
    verified: Mapping[str, str] = field(default_factory=dict)
    caps: DeviceCaps = field(default_factory=DeviceCaps)
    bf16: bool = False
    decoders: Mapping[str, str | None] = field(default_factory=dict)
    qwen_vl_utils_reader: str | None = None
    patch_size_default: int | None = 14
    import_errors: Mapping[str, str] = field(default_factory=dict)
    chromium: str | None = None


def locked_versions(text: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a compiled requirements file.

    Example:
        >>> locked_versions("torch==2.15.0 \\\\\\n    --hash=sha256:ab\\nNumPy==2.4.6\\n    # via x\\n")
        {'torch': '2.15.0', 'numpy': '2.4.6'}
    """
    return {_name(name): version for name, version in _PIN.findall(text)}


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _at_least(version: str | None, floor: str) -> bool:
    try:
        return version is not None and Version(version) >= Version(floor)
    except InvalidVersion:
        return False


# --- the combinations known to break: (what breaks, when, the fix) -----------------------------
@dataclass(frozen=True)
class KnownBad:
    """A combination of versions known to break, with its fix."""

    name: str
    applies: Callable[[Mapping[str, str]], bool]
    what: str
    fix: str


KNOWN_BAD: tuple[KnownBad, ...] = (
    KnownBad(
        f"transformers below {TRANSFORMERS_FLOOR} with kernels 0.15.1 or newer",
        lambda v: (
            "transformers" in v
            and not _at_least(v["transformers"], TRANSFORMERS_FLOOR)
            and _at_least(v.get("kernels"), "0.15.1")
        ),
        "transformers cannot be imported (ValueError: Either a revision or a version must be "
        "specified, from transformers/integrations/hub_kernels.py)",
        f"pip install -U 'transformers>={TRANSFORMERS_FLOOR},<6' (or pip uninstall kernels)",
    ),
    KnownBad(
        "transformers below the supported range",
        lambda v: "transformers" in v and not _at_least(v["transformers"], TRANSFORMERS_FLOOR),
        f"the cookbook needs transformers {TRANSFORMERS_FLOOR} or newer (5.x)",
        f"pip install -U 'transformers>={TRANSFORMERS_FLOOR},<6'",
    ),
    KnownBad(
        "transformers 6 or newer",
        lambda v: _at_least(v.get("transformers"), "6"),
        "the cookbook is tested with transformers 5.x only",
        f"pip install 'transformers>={TRANSFORMERS_FLOOR},<6'",
    ),
)


def known_bad(versions: Mapping[str, str]) -> list[KnownBad]:
    """The known-bad combinations that ``versions`` contains.

    Example:
        >>> [bad.name for bad in known_bad({"transformers": "5.5.0", "kernels": "0.19.1"})]
        ['transformers below 5.13 with kernels 0.15.1 or newer', 'transformers below the supported range']
        >>> known_bad({"transformers": "5.25.0", "kernels": "0.19.1"})
        []
    """
    return [bad for bad in KNOWN_BAD if bad.applies(versions)]


# --- the verdicts: pure functions of a Situation ---------------------------------------------
def _versions(s: Situation) -> Check:
    key = ", ".join(f"{n} {s.versions[n]}" for n in KEY_LIBRARIES if n in s.versions)
    if not s.verified:
        return Check("versions", "ok", f"{key}; no verified set to compare with (locks/main.txt)")
    differ = sorted(n for n, v in s.verified.items() if s.versions.get(n) != v)
    if not differ:
        return Check("versions", "ok", f"{key}; all {len(s.verified)} at the verified versions")
    shown = ", ".join(
        f"{n} {s.versions.get(n, 'missing')} (verified {s.verified[n]})" for n in differ[:6]
    )
    more = f" and {len(differ) - 6} more" if len(differ) > 6 else ""
    return Check(
        "versions",
        "warn",
        f"{key}; {len(differ)} of {len(s.verified)} differ from the verified set: {shown}{more}",
        "fine if the notebooks run; `bash scripts/setup.sh` installs exactly the verified set",
    )


def _combinations(s: Situation) -> list[Check]:
    checks = [
        Check("known-bad combination", "fail", f"{bad.name}: {bad.what}", bad.fix)
        for bad in known_bad(s.versions)
    ]
    for library, error in s.import_errors.items():
        checks.append(
            Check(
                f"import {library}",
                "fail",
                error,
                "reinstall a matching set: pip install -r requirements.txt (or `bash scripts/setup.sh`)",
            )
        )
    return checks


def _decoders(s: Situation) -> Check:
    if not s.decoders:
        return Check(
            "video decoders",
            "fail",
            "none installed",
            "pip install torchcodec (or decord, opencv-python-headless)",
        )
    working = [name for name, error in s.decoders.items() if error is None]
    broken = {name: error for name, error in s.decoders.items() if error is not None}
    found = f"decoding a frame works with {', '.join(working) or 'none'}"
    if broken:
        found += "; fails with " + "; ".join(f"{n} ({e})" for n, e in broken.items())
    reader = s.qwen_vl_utils_reader
    found += f"; qwen-vl-utils reads videos with {reader}" if reader else ""
    fix = ""
    if "torchcodec" in broken:
        torch_version = s.versions.get("torch", "?")
        fix = (
            f"install the torchcodec release built for torch {torch_version} (the table in "
            "torchcodec's README) and FFmpeg (apt-get install ffmpeg)"
        )
    status: Status = "fail" if not working else ("warn" if broken else "ok")
    return Check("video decoders", status, found, fix if broken else "")


def _device(s: Situation) -> Check:
    caps = s.caps
    if caps.cuda_available:
        major, minor = caps.cuda_capability or (0, 0)
        found = f"CUDA GPU {caps.cuda_name} (compute capability {major}.{minor}): fp16 yes, bf16 {'yes' if s.bf16 else 'no'}"
        return Check("device", "ok", found)
    if caps.mps_available:
        return Check("device", "ok", f"Apple MPS: fp16 yes, bf16 {'yes' if s.bf16 else 'no'}")
    return Check(
        "device",
        "warn",
        "no GPU: the real model runs on the CPU in float32, slowly",
        "use a GPU runtime for Qwen/Qwen3-VL-4B-Instruct, or QWEN_VL_MODEL=tiny to run every cell offline (random answers)",
    )


def _attention(s: Situation) -> Check:
    choice = choose_runtime(s.caps)
    if s.caps.cuda_available and choice.dtype == "bfloat16" and not s.bf16:
        choice = choose_runtime(s.caps, dtype="float16")
    return Check("load_model would use", "ok", choice.describe())


def _patch_size(s: Situation) -> Check:
    if "qwen-vl-utils" not in s.versions:
        return Check(
            "qwen-vl-utils", "fail", "not installed", "pip install 'qwen-vl-utils>=0.0.14'"
        )
    if s.patch_size_default is None:
        return Check(
            "qwen-vl-utils",
            "fail",
            f"{s.versions['qwen-vl-utils']} has no image_patch_size argument (sizes for 14-pixel patches)",
            "pip install -U 'qwen-vl-utils>=0.0.14'",
        )
    note = "the helpers pass it" if s.patch_size_default != QWEN3_VL_PATCH else "the same"
    return Check(
        "qwen-vl-utils",
        "ok",
        f"{s.versions['qwen-vl-utils']}: image_patch_size defaults to {s.patch_size_default}; "
        f"Qwen3-VL needs {QWEN3_VL_PATCH} ({note}, read from the processor)",
    )


def _chromium(s: Situation) -> Check:
    if s.chromium:
        return Check("chromium", "ok", f"{s.chromium} (notebook 04 renders pages with it)")
    return Check(
        "chromium",
        "warn",
        "not found: notebook 04 shows pages in the notebook but cannot screenshot them",
        f"apt-get install chromium (Debian/Ubuntu), or {PLAYWRIGHT_INSTALL}",
    )


def diagnose(situation: Situation) -> list[Check]:
    """Every check's verdict for ``situation``: versions, known-bad combinations, video decoders,
    device, attention, qwen-vl-utils' patch size, Chromium.

    Example:
        >>> s = Situation({"transformers": "5.25.0", "qwen-vl-utils": "0.0.14"}, decoders={"opencv": None})
        >>> [c.status for c in diagnose(s)]
        ['ok', 'ok', 'warn', 'ok', 'ok', 'warn']
    """
    return [
        _versions(situation),
        *_combinations(situation),
        _decoders(situation),
        _device(situation),
        _attention(situation),
        _patch_size(situation),
        _chromium(situation),
    ]


# --- reading the machine ------------------------------------------------------------------------
def _installed() -> dict[str, str]:
    return {
        _name(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }


def _import_error(module: str) -> str | None:
    try:
        __import__(module)
    except Exception as exc:  # any failure to import is what is reported
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    return None


def _decoder_errors(video: Path) -> dict[str, str | None]:
    errors: dict[str, str | None] = {}
    for backend in available_backends():
        try:
            frames, _ = sample_frames(video, 1, backend=backend, use_cache=False)
            errors[backend] = None if len(frames) == 1 else "no frame returned"
        except Exception as exc:  # the decoder's own error is the finding
            errors[backend] = (
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
            )
    return errors


def _qwen_vl_utils() -> tuple[str | None, int | None]:
    try:
        from qwen_vl_utils import process_vision_info
        from qwen_vl_utils.vision_process import get_video_reader_backend
    except ImportError:
        return None, None
    parameter = inspect.signature(process_vision_info).parameters.get("image_patch_size")
    try:
        reader = get_video_reader_backend()
    except Exception as exc:  # qwen-vl-utils' own choice failing is a finding
        reader = f"none ({type(exc).__name__})"
    return reader, (parameter.default if parameter is not None else None)


def _chromium_version() -> str | None:
    path = find_chromium()
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20)
        version = out.stdout.strip() or out.stderr.strip().splitlines()[-1]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        version = "version unknown"
    return f"{path}, {version}"


def _bf16(caps: DeviceCaps) -> bool:
    import torch

    if caps.cuda_available:
        return bool(torch.cuda.is_bf16_supported())
    if caps.mps_available:
        try:
            torch.ones(1, dtype=torch.bfloat16, device="mps")
            return True
        except (RuntimeError, TypeError):
            return False
    return False


def read_situation(video: Path | None = None) -> Situation:
    """Read this machine (imports torch and transformers; decodes one frame per decoder).

    Args:
        video: The clip to decode a frame of; default ``input/events.mp4``.

    Returns:
        The :class:`Situation` :func:`diagnose` judges.
    """
    verified = locked_versions(LOCK_FILE.read_text()) if LOCK_FILE.exists() else {}
    import_errors = {
        library: error
        for library, module in (
            ("transformers", "transformers.modeling_utils"),
            ("torchvision", "torchvision.ops"),
        )
        if (error := _import_error(module))
    }
    caps = detect_caps()
    reader, patch = _qwen_vl_utils()
    return Situation(
        versions=_installed(),
        verified=verified,
        caps=caps,
        bf16=_bf16(caps),
        decoders=_decoder_errors(video or INPUT_DIR / "events.mp4"),
        qwen_vl_utils_reader=reader,
        patch_size_default=patch,
        import_errors=import_errors,
        chromium=_chromium_version(),
    )


def doctor(situation: Situation | None = None, *, quiet: bool = False) -> list[Check]:
    """Check this machine for the cookbook and print one line per check.

    Args:
        situation: Judge this instead of reading the machine (for planning or tests).
        quiet: Print nothing.

    Returns:
        The checks; a ``"fail"`` means a notebook will fail until its fix is applied.

    Example:
        >>> checks = doctor(Situation({"transformers": "5.5.0", "kernels": "0.19.1"}), quiet=True)
        >>> print(checks[1].line())  # doctest: +NORMALIZE_WHITESPACE
        FAIL known-bad combination: transformers below 5.13 with kernels 0.15.1 or newer:
        transformers cannot be imported (ValueError: Either a revision or a version must be
        specified, from transformers/integrations/hub_kernels.py) -> pip install -U
        'transformers>=5.13,<6' (or pip uninstall kernels)
    """
    checks = diagnose(situation or read_situation())
    if not quiet:
        for check in checks:
            print(check.line())
    return checks


def main() -> int:
    """``python -m helpers.doctor``: print the checks; exit 1 if one failed."""
    checks = doctor()
    return 1 if any(c.status == "fail" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
