"""ament_python package setup: installs as a ROS 2 package with colcon, or with pip."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "depth_anything_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),  # params, FastDDS profile
    ],
    python_requires=">=3.10",
    install_requires=["numpy", "opencv-python-headless", "pyyaml", "setuptools"],
    extras_require={
        "cpu": ["onnxruntime>=1.16"],
        "train": ["torch>=2.1", "onnx>=1.14", "safetensors>=0.4"],
        # TensorRT for desktops (its libraries come from NVIDIA's package index); Jetson: JetPack's python3-libnvinfer
        "trt": ["tensorrt-cu12>=10.3,<12", "pycuda"],
        "hub": ["huggingface_hub>=0.20"],
        "bag": ["rosbags>=0.9.20"],
        "plots": ["matplotlib>=3.5"],  # evaluate / calibrate / selftrain reports; never the node
        # real ROS 2 Jazzy rclpy, FastDDS and the node's messages from PyPI (no ROS install needed)
        "ros": ["ros-jazzy-rclpy[fastrtps]", "ros-jazzy-sensor-msgs", "ros-jazzy-diagnostic-msgs",
                "ros-jazzy-lifecycle-msgs"],
        "test": ["pytest>=7", "ruff", "onnx>=1.14", "onnxruntime>=1.16", "rosbags>=0.9.20", "matplotlib>=3.5",
                 "colcon-core", "colcon-ros"],
    },
    zip_safe=True,
    maintainer="depth_anything_ros developers",
    maintainer_email="depth-anything-ros@users.noreply.github.com",
    description="Metric depth from a single camera for ROS 2 with Depth Anything and TensorRT",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "depth-anything-ros = depth_anything_ros.cli.main:main",
            "depth_node = depth_anything_ros.node.ros_node:main",
            "depth_lifecycle_node = depth_anything_ros.node.ros_node:lifecycle_main",
        ],
    },
)
