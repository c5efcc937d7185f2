#!/usr/bin/env bash
# Make a virtual environment hold exactly one lock file's packages, with uv (the version locked
# in locks/main.txt, bootstrapped into .venv by pip the first time).
#   bash scripts/venv.sh VENV LOCK [--editable]
# LOCK is a uv-compiled requirements file (locks/*.txt: every version exact, every file hashed,
# which is then required);
# anything in VENV that it does not list is removed. --editable then adds the helpers package
# (no dependencies, built with the locked setuptools, no network).
# The locks are resolved for Linux x86_64; elsewhere, locks/main.txt's place is taken by the
# ranges of requirements.txt and requirements-dev.txt, with a warning, and the others refuse.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:?usage: bash scripts/venv.sh VENV LOCK [--editable]}
lock=${2:?usage: bash scripts/venv.sh VENV LOCK [--editable]}
editable=${3:-}
PYTHON=${PYTHON:-python3}
UV=.venv/bin/uv

# uv itself, pinned and hash-checked from the main lock (its block: the `uv==` line and its hashes).
uv_pin=$(awk '/^uv==/{on=1} on{print} on && !/\\$/{exit}' locks/main.txt)
if ! { [ -x "$UV" ] && [ "$("$UV" --version | cut -d' ' -f2)" = "$(echo "$uv_pin" | sed -nE 's/^uv==([^ ]+).*/\1/p')" ]; }; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --require-hashes \
    -r /dev/stdin <<<"$uv_pin" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
fi

[ -x "$venv/bin/python" ] || "$UV" venv -q --python "$(command -v "$PYTHON")" "$venv"
target=(--python "$venv/bin/python")
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  hashes=()  # a lock file has every file's hash: then nothing unhashed may come in
  if grep -q -- "--hash=" "$lock"; then hashes=(--require-hashes); fi
  if ! "$UV" pip sync -q "${target[@]}" "${hashes[@]}" "$lock"; then
    echo "venv: could not install $lock into $venv with $("$venv/bin/python" -V). The lock is" \
      "resolved for CPython 3.11 on Linux x86_64: install Python 3.11 and run again with" \
      "PYTHON=python3.11, or install the ranges: pip install -r requirements.txt" >&2
    exit 1
  fi
elif [ "$lock" = locks/main.txt ]; then
  echo "venv: $lock is resolved for Linux x86_64, not $(uname -s) $(uname -m): installing the" \
    "ranges of requirements.txt instead (newest releases allowed, not the verified set)." >&2
  "$UV" pip install -q "${target[@]}" -r requirements.txt -r requirements-dev.txt
else
  echo "venv: $lock is resolved for Linux x86_64 only, not $(uname -s) $(uname -m)." >&2
  exit 1
fi
if [ "$editable" = "--editable" ]; then
  "$UV" pip install -q "${target[@]}" --no-deps --no-build-isolation -e .
fi
