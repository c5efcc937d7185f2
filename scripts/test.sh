#!/usr/bin/env bash
# The README's test command: set up (if needed), then lint, and the tests in three environments,
# each holding exactly its lock file:
#   1. .venv (locks/main.txt, the newest transformers verified): unit tests, doctests and every
#      notebook on the tiny offline model;
#   2. .venv-floor (locks/floor.txt, resolved with transformers at requirements.txt's lower
#      bound): the tests that reach transformers (tests/conftest.py picks them);
#   3. .venv-vllm (locks/vllm.txt): the serving path against a real vLLM (scripts/test_vllm.sh;
#      QWEN_VL_SKIP_VLLM=1 leaves it out).
# Extra arguments go to pytest (all passes).
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)
elapsed() { echo "test: $1 at $(($(date +%s) - began)) s"; }
bash scripts/setup.sh
bash scripts/venv.sh .venv-floor locks/floor.txt --editable
elapsed "environments ready"
# The tiny offline model, greedy decoding, short answers: every run gives the same outputs.
export $(python3 scripts/test_env.py)
.venv/bin/ruff check .
.venv/bin/ruff format --check .

version() { "$1/bin/python" -c 'import transformers; print(transformers.__version__)'; }
echo "== tests with transformers $(version .venv) (locks/main.txt)"
.venv/bin/python -m pytest --durations=15 "$@"
elapsed "first pass done"

echo "== tests with transformers $(version .venv-floor), the lowest allowed (locks/floor.txt)"
QWEN_VL_TEST_PASS=floor .venv-floor/bin/python -m pytest --durations=10 "$@"
elapsed "floor pass done"

if [ "${QWEN_VL_SKIP_VLLM:-0}" != "1" ]; then
  echo "== the serving path against a real vLLM (scripts/test_vllm.sh)"
  bash scripts/test_vllm.sh "$@"
  elapsed "vLLM pass done"
fi
