#!/usr/bin/env bash
# Write the lock files that set-up installs: the exact version and the hashes of every package,
# resolved by uv for CPython 3.11 on Linux x86_64 (what CI and the README's commands run on).
#   locks/main.txt   requirements.txt + requirements-dev.txt                 -> .venv
#   locks/floor.txt  the same, transformers at requirements.txt's lower bound -> .venv-floor
#   locks/vllm.txt   locks/vllm.in with locks/vllm-overrides.txt              -> .venv-vllm
# A version already locked is kept while the inputs allow it; --upgrade takes the newest release
# of everything allowed (scripts/drift.py tries that without touching the locks), and
# --upgrade-package NAME only that one. Then run `bash scripts/test.sh` and commit locks/.
# Usage: bash scripts/lock.sh [--upgrade | --upgrade-package NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
UV=.venv/bin/uv
[ -x "$UV" ] || UV=uv
floor=$(sed -nE 's/^transformers *>= *([0-9.]+).*/\1/p' requirements.txt)
[ -n "$floor" ] || { echo "lock: requirements.txt has no 'transformers>=X' line" >&2; exit 1; }

compile() {  # OUTPUT INPUT... [uv options]
  local out=$1
  shift
  "$UV" pip compile --quiet --generate-hashes --python-version 3.11 \
    --python-platform x86_64-manylinux_2_28 --no-emit-package qwen3-vl-cookbook-helpers \
    --custom-compile-command "bash scripts/lock.sh" -o "$out" "$@"
  echo "lock: $out ($(grep -cE '^[a-z0-9]' "$out") packages)"
}
compile locks/main.txt requirements.txt requirements-dev.txt "$@"
compile locks/floor.txt requirements.txt requirements-dev.txt \
  --constraint <(echo "transformers==$floor") "$@"
compile locks/vllm.txt locks/vllm.in --override locks/vllm-overrides.txt "$@"
