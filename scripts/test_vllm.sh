#!/usr/bin/env bash
# The serving path against a real vLLM on the CPU, serving the tiny checkpoint (run after
# scripts/test.sh): set up .venv-vllm/ (reused when present), then
#   1. a server with vLLM's default flags: tests/test_vllm.py, notebooks 01 and 05 through it;
#   2. a server started with --trust-request-mm-kwargs: the tests whose requests change with it.
# Servers listen on 127.0.0.1 only, start with a bounded wait and are stopped by process group.
set -euo pipefail
cd "$(dirname "$0")/.."
export QWEN_VL_MODEL=tiny HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=.venv/bin/python
[ -x "$PY" ] || bash scripts/setup.sh
began=$(date +%s)
elapsed() { echo "test_vllm: $1 at $(($(date +%s) - began)) s"; }

bash scripts/vllm_setup.sh
elapsed "vLLM venv ready"
trap '"$PY" scripts/vllm_server.py stop' EXIT

url=$("$PY" scripts/vllm_server.py start)
elapsed "server with default flags up"
QWEN_VL_VLLM_URL=$url "$PY" -m pytest tests/test_vllm.py -p no:cacheprovider -q "$@"
elapsed "server tests done"
QWEN_VL_BASE_URL=$url "$PY" -m pytest notebooks/01_describe_image.ipynb \
  notebooks/05_video_understanding.ipynb --nbval-lax --nbval-current-env \
  --nbval-sanitize-with notebooks/nbval_sanitize.cfg -p no:cacheprovider -q "$@"
elapsed "notebooks 01 and 05 done"
"$PY" scripts/vllm_server.py stop

url=$("$PY" scripts/vllm_server.py start --trust-request-mm-kwargs)
elapsed "server with --trust-request-mm-kwargs up"
QWEN_VL_VLLM_URL=$url QWEN_VL_VLLM_TRUSTED=1 "$PY" -m pytest tests/test_vllm.py -p no:cacheprovider \
  -q -k "token_count or above_two_fps or below_the_server_floor" "$@"
elapsed "trusted-server tests done"
