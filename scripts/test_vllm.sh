#!/usr/bin/env bash
# The serving path against a real vLLM on the CPU, serving the tiny checkpoint (the last part of
# scripts/test.sh): set up .venv-vllm/ (locks/vllm.txt), start two servers side by side, then
#   1. the server with vLLM's default flags: tests/test_vllm.py, notebooks 01 and 05 through it;
#   2. the server started with --trust-request-mm-kwargs: the tests whose requests change with it.
# Servers listen on 127.0.0.1 only, start with a bounded wait and are stopped by process group.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export $(python3 scripts/test_env.py)  # the tiny offline model, greedy, short answers
PY=.venv/bin/python
[ -x "$PY" ] || bash scripts/setup.sh
began=$(date +%s)
elapsed() { echo "test_vllm: $1 at $(($(date +%s) - began)) s"; }

bash scripts/vllm_setup.sh
elapsed "vLLM venv ready"
trap '"$PY" scripts/vllm_server.py stop --all' EXIT
# The tests compare token counts with the server's own transformers release in mind.
QWEN_VL_VLLM_TRANSFORMERS=$(.venv-vllm/bin/python -c \
  'from importlib.metadata import version; print(version("transformers"))')
export QWEN_VL_VLLM_TRANSFORMERS

urls=$(mktemp -d)
"$PY" scripts/vllm_server.py start --name default >"$urls/default" &
default_pid=$!
"$PY" scripts/vllm_server.py start --name trusted --trust-request-mm-kwargs >"$urls/trusted" &
trusted_pid=$!
wait "$default_pid"
wait "$trusted_pid"
elapsed "both servers up"

QWEN_VL_VLLM_URL=$(cat "$urls/default") "$PY" -m pytest tests/test_vllm.py -q "$@"
elapsed "server tests done"
QWEN_VL_BASE_URL=$(cat "$urls/default") "$PY" -m pytest -q "$@" \
  notebooks/01_describe_image.ipynb notebooks/05_video_understanding.ipynb
elapsed "notebooks 01 and 05 done"
QWEN_VL_VLLM_URL=$(cat "$urls/trusted") QWEN_VL_VLLM_TRUSTED=1 "$PY" -m pytest tests/test_vllm.py \
  -q -k "token_count or above_two_fps or below_the_server_floor" "$@"
elapsed "trusted-server tests done"
