#!/usr/bin/env bash
# Download, on a machine with network, the wheels listed in bench/gpu-wheels.txt into .whl/ (git-ignored)
# for an offline GPU machine (x86-64 Linux, CPython 3.10-3.13). bench/gpu_run.sh installs them there.
# Usage: bash bench/gpu_wheels.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-.whl}
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=${PYTHON:-.venv/bin/python}
mkdir -p "$DEST"
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --implementation cp --python-version 3.12 --platform manylinux_2_28_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 \
  --platform manylinux1_x86_64 -d "$DEST" -r bench/gpu-wheels.txt 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
ls -l "$DEST"/*.whl
total=$(du -cb "$DEST"/*.whl | tail -1 | cut -f1)
echo "gpu wheels: $((total / 1024)) KiB in $DEST"
if [ "$total" -gt $((40 * 1024 * 1024)) ]; then
  echo "gpu wheels: over the 40 MiB the GPU machine's working tree allows for them" >&2
  exit 1
fi
