"""Run the tests against the newest releases of everything allowed, and record the result.

The locks (``locks/*.txt``) hold the verified set, so new releases never reach set-up unseen.
This is where they are seen on purpose, before users meet them:

1. uv resolves ``requirements.txt`` and ``requirements-dev.txt`` anew, taking the newest release
   of every package their ranges allow (``.cache/drift/newest.txt``; nothing locked is changed);
2. ``.venv-drift`` gets exactly that set (``scripts/venv.sh``);
3. the first pass of ``scripts/test.sh`` runs there: unit tests, doctests and every notebook on
   the tiny offline model;
4. ``docs/drift.md`` records the date, every version that differs from ``locks/main.txt`` and
   the result, failing tests named.

When it passes, ``bash scripts/lock.sh --upgrade`` takes the new set into the locks; when it
fails, the failure is a release to exclude in ``requirements.txt`` or a test to fix.

Usage: .venv/bin/python scripts/drift.py [pytest arguments]. Exits with pytest's status.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from test_env import TEST_ENV

from helpers.doctor import locked_versions

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "drift"
VENV = ROOT / ".venv-drift"
LOCK = ROOT / "locks" / "main.txt"
REPORT = ROOT / "docs" / "drift.md"
UV = ROOT / ".venv" / "bin" / "uv"


def changes(locked: dict[str, str], newest: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(package, locked, newest)`` for every package whose version differs; ``-`` where absent.

    Example:
        >>> changes({"a": "1", "b": "2", "c": "1"}, {"a": "1", "b": "3", "d": "1"})
        [('b', '2', '3'), ('c', '1', '-'), ('d', '-', '1')]
    """
    names = sorted(set(locked) | set(newest))
    rows = [(n, locked.get(n, "-"), newest.get(n, "-")) for n in names]
    return [row for row in rows if row[1] != row[2]]


def failures(junit: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Counts (tests, failures, errors, skipped) and ``(test id, first line of the message)`` of
    each failing test, from pytest's JUnit XML."""
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failed = []
    for case in suite.iter("testcase"):
        for problem in (*case.findall("failure"), *case.findall("error")):
            message = (problem.get("message") or problem.text or "").strip().splitlines()
            name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
            failed.append((name, message[0][:200] if message else ""))
    return counts, failed


def write_report(
    when: dt.datetime,
    seconds: float,
    versions: dict[str, str],
    diff: list[tuple[str, str, str]],
    status: int,
    counts: dict[str, int],
    failed: list[tuple[str, str]],
) -> str:
    """The markdown of docs/drift.md."""
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    verdict = "passed" if status == 0 else "FAILED"
    lines = [
        "# Drift: the tests against the newest releases allowed",
        "",
        "Written by `.venv/bin/python scripts/drift.py`, which resolves `requirements.txt` and",
        "`requirements-dev.txt` anew (newest release of everything allowed, nothing locked),",
        "installs that set into `.venv-drift` and runs the first pass of `scripts/test.sh` there.",
        "",
        f"**Last run: {when:%Y-%m-%d %H:%M} UTC, {verdict}** ({passed} passed, "
        f"{counts['failures']} failed, {counts['errors']} errors, {counts['skipped']} skipped "
        f"in {seconds / 60:.1f} min; Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}; torch {versions.get('torch', '?')}, "
        f"transformers {versions.get('transformers', '?')}).",
        "",
    ]
    if failed:
        lines += ["## Failing tests", "", "| test | first line of the error |", "| --- | --- |"]
        lines += [f"| `{name}` | {message.replace('|', '/')} |" for name, message in failed]
        lines.append("")
    lines += [
        "## Versions that differ from `locks/main.txt`",
        "",
        "| package | locked | newest allowed |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {old} | {new} |" for name, old, new in diff] or ["| (none) | | |"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    newest = WORK / "newest.txt"
    start = time.monotonic()
    when = dt.datetime.now(dt.timezone.utc)
    subprocess.run(
        [
            str(UV), "pip", "compile", "--quiet", "--upgrade", "--python-version", "3.11",
            "--python-platform", "x86_64-manylinux_2_28",
            "--no-emit-package", "qwen3-vl-cookbook-helpers",
            "requirements.txt", "requirements-dev.txt", "-o", str(newest),
        ],
        check=True,
        cwd=ROOT,
    )  # fmt: skip
    subprocess.run(
        ["bash", "scripts/venv.sh", str(VENV), str(newest), "--editable"], check=True, cwd=ROOT
    )
    junit = WORK / "junit.xml"
    status = subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pytest", "-q", f"--junitxml={junit}", *argv],
        cwd=ROOT,
        env={**os.environ, **TEST_ENV},
    ).returncode
    counts, failed = failures(junit)
    versions = locked_versions(newest.read_text())
    diff = changes(locked_versions(LOCK.read_text()), versions)
    REPORT.write_text(
        write_report(when, time.monotonic() - start, versions, diff, status, counts, failed),
        encoding="utf-8",
    )
    print(f"drift: {'passed' if status == 0 else 'FAILED'}; {len(diff)} versions differ; {REPORT}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
