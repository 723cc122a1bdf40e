#!/usr/bin/env bash
# Fresh machine -> lint + full test suite. Creates .venv, installs the package with its test extras
# (ros: the real rclpy Jazzy with FastDDS from PyPI, so the node is tested in a real ROS 2 graph).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q torch==2.13.0            # CPU build first, so nothing pulls the CUDA wheels
pip install -q -e ".[cpu,train,hub,bag,ros,test]"
ruff check .
python -m pytest -q -ra "$@"
