#!/usr/bin/env bash
# Set up a fresh machine: system packages (ffmpeg, Chromium, fonts) and the .venv with everything
# the notebooks and tests need. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg chromium fonts-noto-core fonts-noto-cjk fonts-dejavu-core)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install ${missing[*]} with your system's package manager (video decoding needs ffmpeg, HTML rendering needs Chromium)." >&2
  fi
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# The torch/torchvision pair verified with this cookbook; any recent pair works for users.
# (Some machines' pip configuration names local indexes that may be absent: drop that noise.)
.venv/bin/python -m pip install -q --disable-pip-version-check \
  torch==2.14.1 torchvision==0.29.1 -r requirements.txt -r requirements-dev.txt 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
echo "setup: ready ($(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
