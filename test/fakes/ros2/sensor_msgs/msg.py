"""sensor_msgs/msg: the real ROS 2 Humble definitions, as rosbags builds them."""

from rosbags.typesys import Stores, get_typestore

_types = get_typestore(Stores.ROS2_HUMBLE).types
Image = _types["sensor_msgs/msg/Image"]
CompressedImage = _types["sensor_msgs/msg/CompressedImage"]
CameraInfo = _types["sensor_msgs/msg/CameraInfo"]
PointCloud2 = _types["sensor_msgs/msg/PointCloud2"]
PointField = _types["sensor_msgs/msg/PointField"]
RegionOfInterest = _types["sensor_msgs/msg/RegionOfInterest"]
