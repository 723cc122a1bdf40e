#!/usr/bin/env bash
# Fresh machine -> the main job on the embedded sample scene (no data, no checkpoint needed).
# Pass --checkpoint PATH --version 2 [--metric --max-depth 20] to use real weights.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q torch==2.13.0
pip install -q -e ".[cpu,train,hub]"
depth-anything-ros demo --output demo_out "$@"
