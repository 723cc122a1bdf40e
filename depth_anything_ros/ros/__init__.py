"""ROS 2 message conversions, camera models and clouds: no rclpy here, only message attributes."""
