#!/usr/bin/env bash
# Set up (if needed), then run lint, the unit tests and every notebook on the tiny offline model,
# twice: with the newest transformers (the .venv) and with the lowest that requirements.txt allows
# (installed beside it by scripts/transformers_floor.py), so the whole supported range is proven;
# the second pass runs only the tests that can reach transformers. Then the server tests against
# a real vLLM (scripts/test_vllm.sh).
# Extra arguments go to pytest (both passes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Notebooks decode greedily with short answers here, so every run gives the same outputs.
export QWEN_VL_MODEL=tiny HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false QWEN_VL_GREEDY=1 QWEN_VL_MAX_NEW_TOKENS=256
.venv/bin/ruff check .
.venv/bin/ruff format --check .
PYTEST=(.venv/bin/python -m pytest tests helpers --doctest-modules notebooks --nbval-lax --nbval-current-env
  --nbval-sanitize-with notebooks/nbval_sanitize.cfg -p no:cacheprovider)

newest=$(.venv/bin/python -c 'import transformers; print(transformers.__version__)')
echo "== tests with transformers $newest (newest allowed)"
"${PYTEST[@]}" "$@"

floor_site=$(.venv/bin/python scripts/transformers_floor.py | tail -n 1)
floor=$(cat "$floor_site/.complete")
echo "== tests with transformers $floor (lowest allowed, from $floor_site)"
# Only what can reach transformers runs again (tests/conftest.py picks it: every notebook, every
# test on the tiny model); tests/test_gpu_machine.py puts the floor on its stand-in's path itself,
# and tests/test_bench.py checks the benchmark scripts' tables: both ran in the first pass.
QWEN_VL_TRANSFORMERS_FLOOR_PASS=1 PYTHONPATH="$floor_site${PYTHONPATH:+:$PYTHONPATH}" "${PYTEST[@]}" \
  --ignore=tests/test_gpu_machine.py --ignore=tests/test_bench.py "$@"

# The serving path against a real vLLM on the CPU (a separate .venv-vllm/, about 6 GB):
# QWEN_VL_SKIP_VLLM=1 leaves it out.
if [ "${QWEN_VL_SKIP_VLLM:-0}" != "1" ]; then
  echo "== the serving path against a real vLLM (scripts/test_vllm.sh)"
  bash scripts/test_vllm.sh
fi
