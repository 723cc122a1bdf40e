#!/usr/bin/env bash
# One GPU check (see benchmarks/gpu_check.py): torch FP32/FP16 and TensorRT fp32/fp16 on the fused
# module, vits/vitb at 518x518 and 720x1280; prints the device and a table. Run from the repo root.
# Depth Anything 3 too: bash benchmarks/gpu_check.sh --encoders vits da3metric-large (focal from a pinhole K).
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi not found"
python3 -c "import tensorrt; print('TensorRT', tensorrt.__version__)" 2>/dev/null || echo "TensorRT not installed"
PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD" exec python3 benchmarks/gpu_check.py "$@"
