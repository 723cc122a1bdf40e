#!/usr/bin/env bash
# Fresh machine -> the main job on the embedded sample scene (no data, no checkpoint needed).
# Pass --checkpoint PATH --version 2 [--metric --max-depth 20] to use real weights.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q torch==2.13.0
pip install -q -e ".[cpu,train,hub,bag]"
depth-anything-ros demo --output demo_out "$@"
# A sample recording -> the node's pipeline -> an MCAP bag of depth images, camera info and clouds.
rm -rf demo_out/sample_bag demo_out/depth_bag demo_out/replay_previews
depth-anything-ros sample-bag demo_out/sample_bag --frames 8 --size 240x320
if [[ "$*" == *--checkpoint* ]]; then model=("$@"); else model=(--metric --max-depth 20); fi
depth-anything-ros replay demo_out/sample_bag demo_out/depth_bag --image-topic /camera/image_rect \
    --previews demo_out/replay_previews "${model[@]}"
