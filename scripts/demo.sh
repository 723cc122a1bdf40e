#!/usr/bin/env bash
# Fresh machine -> the main job on the embedded sample scene (no data, no checkpoint needed).
# Pass --checkpoint PATH --version 2 [--metric --max-depth 20] to use real weights.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q torch==2.13.0
pip install -q -e ".[cpu,train,hub,bag,plots]"  # plots: the evaluate report (checkpoint branch)
depth-anything-ros demo --output demo_out "$@"
# A sample recording -> the node's pipeline -> an MCAP bag of depth images, camera info and clouds.
rm -rf demo_out/sample_bag demo_out/depth_bag demo_out/replay_previews demo_out/rig_bag demo_out/lidar_depth \
    demo_out/rig_calibration.yaml demo_out/rig_report demo_out/rig_finetuned*
depth-anything-ros sample-bag demo_out/sample_bag --frames 8 --size 240x320
if [[ "$*" == *--checkpoint* ]]; then model=("$@"); else model=(--metric --max-depth 20); fi
depth-anything-ros replay demo_out/sample_bag demo_out/depth_bag --image-topic /camera/image_rect \
    --previews demo_out/replay_previews "${model[@]}"
# A camera + LiDAR recording -> LiDAR ground truth in the camera (overlays to check extrinsics by eye).
depth-anything-ros sample-bag demo_out/rig_bag --lidar --frames 12 --size 192x256 --speed 1
topics=(--image-topic /camera/image_rect --camera-info-topic /camera/camera_info --lidar-topic /lidar/points)
depth-anything-ros lidar-depth demo_out/rig_bag "${topics[@]}" --output demo_out/lidar_depth
if [[ "$*" == *--checkpoint* ]]; then
    # Fit the metric head against the LiDAR and report before/after (needs real weights to mean anything).
    depth-anything-ros calibrate demo_out/rig_bag "${topics[@]}" "$@" --method affine --block 1 \
        --holdout-every 3 --output demo_out/rig_calibration.yaml
    depth-anything-ros evaluate demo_out/rig_bag "${topics[@]}" "$@" --calibration demo_out/rig_calibration.yaml \
        --output demo_out/rig_report
    # Train the DPT head itself on the LiDAR depth (a short CPU-sized run: 4 epochs at 10x the default
    # head rate, network input 266), re-export the graph, measure it on the held-out frames.
    depth-anything-ros calibrate demo_out/rig_bag "${topics[@]}" --max-depth 80 --input-size 266 "$@" \
        --method finetune --epochs 4 --lr 5e-4 --block 1 --holdout-every 3 --output demo_out/rig_finetuned.yaml
fi
