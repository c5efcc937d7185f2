#!/usr/bin/env bash
# The GPU measurement for docs/benchmarks.md, as one prepared run (a few minutes on an H100/H200):
# the Qwen3-VL-4B architecture with random bf16 weights, default generate vs the fast path, with
# the greedy token-equality check on the full-size model. Writes outputs/bench/generate.json.
# Usage (on a CUDA machine, from the repository root, after scripts/setup.sh):
#   bash bench/gpu_run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export QWEN_VL_MODEL=tiny HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" bench/generate.py --tokens 128
