#!/usr/bin/env bash
# The GPU measurement for docs/benchmarks.md, as one prepared run (a few minutes on an H100/H200):
# the Qwen3-VL-4B architecture with random bf16 weights; default generate, generate with SDPA
# limited to flash/memory-efficient kernels, the fast path and static-cache generate; batch 1
# (image, video, text) and batch 8; TTFT, decode rate, peak memory, % of the bandwidth roofline,
# and every row's greedy tokens checked against default generate. Writes outputs/bench/generate.json.
#
# Works on a bare GPU machine with no network: its own python3 (torch, torchvision, transformers,
# accelerate, opencv, pandas) plus the wheels of bench/gpu-wheels.txt, carried in .whl/ (download
# them beforehand with `bash bench/gpu_wheels.sh`), installed offline into .cache/gpu-site.
# Usage (repository root): bash bench/gpu_run.sh [generate.py options, e.g. --small --tokens 12]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && PY=.venv/bin/python
SITE=${GPU_SITE:-.cache/gpu-site}
WHEELS=${GPU_WHEELS:-.whl}
export QWEN_VL_MODEL=tiny HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false

if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile \
    --find-links "$WHEELS" --target "$SITE" --upgrade -r bench/gpu-wheels.txt 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
fi
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import qwen_vl_utils" 2>/dev/null; then
  echo "gpu_run: qwen-vl-utils is not importable; on a machine with network run" \
    "'bash bench/gpu_wheels.sh' and bring .whl/ along (or run scripts/setup.sh)." >&2
  exit 2
fi

if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
else
  echo "gpu_run: no nvidia-smi (not an NVIDIA machine)"
fi
"$PY" - <<'PY'
import importlib
for name in ("torch", "torchvision", "transformers", "accelerate", "qwen_vl_utils", "decord"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')} ({module.__file__})")
    except ImportError as exc:
        print(f"{name}: not importable ({exc})")
PY
# Static-cache generate compiles once per shape on a GPU: two cases (batch 1 and 8) keep it in budget.
"$PY" bench/generate.py --static-cases image "text only x8" "$@"
