"""Install the lowest transformers that requirements.txt allows into a folder, for CI's floor pass.

The folder goes first on ``PYTHONPATH``; everything else comes from the cookbook's ``.venv``.
Besides transformers it holds only the libraries whose installed version the floor does not
accept (read from the floor wheel's own requirements), so the rest of the environment is shared.
Prints the folder. Safe to run again: a finished folder is reused.

Usage: .venv/bin/python scripts/transformers_floor.py [--version 5.0.0]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
# What huggingface_hub 1.x needs that its 2.x successor (in the newest environment) does not.
HUB_1_EXTRAS = ["httpx<1", "httpcore", "h11", "anyio", "hf-xet", "click>=8.4.2"]


def floor_version() -> str:
    """The ``transformers>=X`` lower bound in requirements.txt."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        req = line.split("#")[0].strip()
        if req.startswith("transformers"):
            for spec in Requirement(req).specifier:
                if spec.operator == ">=":
                    return spec.version
    raise SystemExit("requirements.txt has no 'transformers>=X' line to take the floor from.")


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", *args], check=True
    )


def unmet(wheel: Path) -> list[str]:
    """The floor wheel's requirements that the installed environment does not satisfy."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(name).decode().splitlines()
    needed = []
    for line in lines:
        if not line.startswith("Requires-Dist:") or "extra ==" in line:
            continue
        req = Requirement(line.split(":", 1)[1].strip())
        try:
            have = Version(metadata.version(req.name))
        except metadata.PackageNotFoundError:
            needed.append(str(req))
            continue
        if not req.specifier.contains(have, prereleases=True):
            needed.append(str(req))
            if req.name.replace("_", "-").lower() == "huggingface-hub":
                needed += HUB_1_EXTRAS
    return needed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=None, help="default: the floor in requirements.txt")
    args = parser.parse_args()
    version = args.version or floor_version()
    target = ROOT / ".cache" / f"transformers-{version}"
    if not (target / ".complete").exists():
        with tempfile.TemporaryDirectory() as tmp:
            pip("download", "--no-deps", "-d", tmp, f"transformers=={version}")
            wheel = next(Path(tmp).glob("transformers-*.whl"))
            needed = unmet(wheel)
            pip("install", "--no-deps", "--upgrade", "--target", str(target), str(wheel), *needed)
        exact = wheel.name.split("-")[1]  # e.g. "5.0.0" for a floor written "5.0"
        (target / ".complete").write_text(exact + "\n")
    print(target)


if __name__ == "__main__":
    main()
