"""Shared bits of the benchmark scripts: timing, tables, JSON reports.

Every script starts with ``from _common import ...``: Python puts the script's folder (``bench/``)
first on the module path, and importing this module puts the repository root after it, so the
scripts' ``import helpers`` finds this checkout's package whether or not it is installed.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(1, str(REPO_ROOT))

import helpers  # noqa: E402  (after the path line above)


def timed(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, Any]:
    """Median wall time in seconds of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def environment() -> dict[str, str]:
    import torch
    import transformers

    device = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else platform.processor() or platform.machine()
    )
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "device": device,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


def report(name: str, rows: list[dict[str, Any]], **extra: Any) -> None:
    """Print ``rows`` as a table and write them with the environment to outputs/bench/NAME.json."""
    import pandas as pd

    env = environment()
    print(f"\n{name}  ({', '.join(f'{k} {v}' for k, v in env.items())})")
    print(pd.DataFrame(rows).to_string(index=False))
    for key, value in extra.items():
        print(f"{key}: {value}")
    path = helpers.common.paths.output_path("bench", f"{name}.json")
    path.write_text(json.dumps({"environment": env, "rows": rows, **extra}, indent=1) + "\n")
    print(f"wrote {path}")
