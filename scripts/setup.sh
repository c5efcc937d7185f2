#!/usr/bin/env bash
# Set up a fresh machine: system packages (ffmpeg, Chromium, fonts) and the .venv with everything
# the notebooks and tests need, at the versions locks/main.txt holds. Safe to run again: it
# installs only what is missing and puts back what differs from the lock.
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

# The .venv holds exactly the verified set, locks/main.txt (scripts/lock.sh writes it; uv
# installs it, hash-checked), plus the helpers package itself, editable.
bash scripts/venv.sh .venv locks/main.txt --editable
echo "setup: ready ($(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
