#!/usr/bin/env bash
# Set up (if needed), then open the notebooks in JupyterLab with the cookbook's environment.
# Extra arguments go to `jupyter lab` (e.g. --no-browser --port 8890).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/jupyter lab notebooks "$@"
