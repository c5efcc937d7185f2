#!/usr/bin/env bash
# Set up (if needed), then execute every notebook; results and executed copies land in outputs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/run_notebooks.py "$@"
