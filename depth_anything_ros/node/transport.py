"""Does FastDDS's shared memory hold the node's largest output? The node's startup check, ROS-free.

Between processes on one host FastDDS writes every sample, in fragments of at most 64 kB, into the
sending participant's shared-memory segment (512 KiB unless a profile says otherwise). A sample much
larger than the segment recycles its own fragments before the readers take them: best-effort readers
lose it, reliable ones get it late. ``config/fastdds_shm.xml`` gives each participant that loads it a
64 MiB segment. ``check_transport`` reads the profile the environment names, finds its SHM transport
and compares the segment with two of the largest sample the node may publish. README: "Transport".
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from depth_anything_ros.export import read_graph_info
from depth_anything_ros.msgs.cloud import CloudOptions, organized_cloud_bytes
from depth_anything_ros.node.config import PipelineConfig

FASTRTPS_VAR = "FASTRTPS_DEFAULT_PROFILES_FILE"  # read by Fast DDS 2.x (Humble, Jazzy, the PyPI wheels)
FASTDDS_VAR = "FASTDDS_DEFAULT_PROFILES_FILE"  # read by Fast DDS 3.x (Kilted, Rolling)
PROFILE_FILE = "fastdds_shm.xml"  # in config/, installed to share/depth_anything_ros/config
DEFAULT_SEGMENT = 512 * 1024  # FastDDS's SHM segment without a profile
SAMPLES_PER_SEGMENT = 2  # the sample being read and the next one being written
SEGMENT_OVERHEAD = 16  # the segment file is ~1/16 larger than segment_size (allocator tables; 64 MiB: 70.3 MB)
SEGMENT_STEP = 16 << 20  # suggested sizes are multiples of 16 MiB
SHIPPED_SEGMENT = 64 << 20  # segment_size of config/fastdds_shm.xml (a test reads the file)
REFERENCE_HW = (720, 1280)  # the camera the check sizes for while the resolution is unknown
FASTDDS_RMWS = ("", "rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")
FASTDDS_2_DISTROS = ("foxy", "galactic", "humble", "iron", "jazzy")
FASTDDS_WHEELS = ("ros-fastrtps", "ros-fastdds")  # the PyPI wheels of Fast DDS 2 and 3
SHM_DIR = "/dev/shm"


@dataclass(frozen=True)
class TransportCheck:
    """The verdict: ``warn`` true when frames will be lost or late; ``text`` says why and what to set."""

    warn: bool
    text: str


@dataclass(frozen=True)
class ShmProfile:
    """What a FastDDS XML profile gives the default participant: its SHM segment, if any."""

    segment_size: int | None  # None: no SHM transport among the default participant's user transports
    builtin_transports: bool  # useBuiltinTransports (true keeps FastDDS's own 512 KiB SHM transport too)
    has_default_participant: bool


def mib(size: int) -> str:
    """Bytes as FastDDS sizes are usually written: '64 MiB', '512 KiB'."""
    return f"{size / (1 << 20):.4g} MiB" if size >= 1 << 20 else f"{size / 1024:.4g} KiB"


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def largest_output_bytes(image_hw: tuple[int, int]) -> int:
    """The largest sample the node may publish for this camera: the organized cloud with colour.

    cloud_colour, cloud_stride and output_downscale change at run time, so the check takes the worst case;
    the depth image (4 bytes a pixel) and the preview (3) are smaller than any cloud (16 or 32).
    """
    return organized_cloud_bytes(*image_hw, CloudOptions(colour=True))


def segment_needed(sample_bytes: int) -> int:
    """The segment size for samples of this size: two of them, rounded up to a multiple of 16 MiB."""
    return -(-SAMPLES_PER_SEGMENT * sample_bytes // SEGMENT_STEP) * SEGMENT_STEP


def fastdds_major(env: Mapping[str, str]) -> int | None:
    """Fast DDS's major version: from ROS_DISTRO (a sourced ROS install), else the PyPI wheel; None: unknown."""
    distro = env.get("ROS_DISTRO", "").strip().lower()
    if distro:
        return 2 if distro in FASTDDS_2_DISTROS else 3
    for wheel in FASTDDS_WHEELS:
        try:
            return int(importlib.metadata.version(wheel).split(".")[0])
        except (importlib.metadata.PackageNotFoundError, ValueError):
            continue
    return None


def profile_variables(major: int | None) -> tuple[str, ...]:
    """The variables naming the profile file that this Fast DDS reads (both when its version is unknown)."""
    return {2: (FASTRTPS_VAR,), 3: (FASTDDS_VAR,)}.get(major, (FASTRTPS_VAR, FASTDDS_VAR))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # without an XML namespace


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _child_text(element: ET.Element, name: str) -> str | None:
    found = _children(element, name)
    return (found[0].text or "").strip() if found else None


def read_profile(path: str | Path) -> ShmProfile:
    """The default participant's SHM segment in a FastDDS XML profile file; ValueError when unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        raise ValueError(f"cannot read FastDDS profile {path}: {error}") from error
    profiles = [root] if _local(root.tag) == "profiles" else _children(root, "profiles")
    if _local(root.tag) not in ("dds", "profiles") or not profiles:
        raise ValueError(f"{path} is not a FastDDS profile file (<dds><profiles>...)")
    segments: dict[str, int] = {}
    participant = None
    for element in profiles:
        for descriptors in _children(element, "transport_descriptors"):
            for descriptor in _children(descriptors, "transport_descriptor"):
                if (_child_text(descriptor, "type") or "").upper() == "SHM":
                    size = _child_text(descriptor, "segment_size")
                    try:
                        segments[_child_text(descriptor, "transport_id") or ""] = int(size) if size else DEFAULT_SEGMENT
                    except ValueError as error:
                        raise ValueError(f"{path}: segment_size must be a number of bytes, got {size!r}") from error
        for candidate in _children(element, "participant"):
            if candidate.get("is_default_profile", "").strip().lower() == "true":
                participant = candidate
    if participant is None:
        return ShmProfile(None, True, False)
    rtps = (_children(participant, "rtps") or [ET.Element("rtps")])[0]
    used = [text for transports in _children(rtps, "userTransports") for t in _children(transports, "transport_id")
            if (text := (t.text or "").strip()) in segments]
    builtin = (_child_text(rtps, "useBuiltinTransports") or "true").lower() != "false"
    return ShmProfile(max((segments[t] for t in used), default=None), builtin, True)


def shipped_profile() -> str:
    """Where this package's profile lies: the installed share folder, else the source checkout's config/."""
    try:
        from ament_index_python.packages import get_package_share_directory  # only in a ROS environment

        return str(Path(get_package_share_directory("depth_anything_ros")) / "config" / PROFILE_FILE)
    except (ImportError, LookupError, OSError, ValueError):
        source = Path(__file__).resolve().parents[2] / "config" / PROFILE_FILE
        return str(source) if source.is_file() else f"share/depth_anything_ros/config/{PROFILE_FILE}"


def startup_image_hw(config: PipelineConfig) -> tuple[int, int] | None:
    """The camera resolution known at start (image_width x image_height, or the onnx graph's); None: unknown."""
    if config.expected_image_hw():
        return config.expected_image_hw()
    if config.onnx:
        try:
            return read_graph_info(config.onnx).image_hw
        except Exception:  # a missing or foreign graph: reported when the backend loads
            return None
    return None


def check_transport(config: PipelineConfig, env: Mapping[str, str] | None = None,
                    image_hw: tuple[int, int] | None = None, shm_total: int | None = None) -> TransportCheck:
    """Whether the FastDDS profile in the environment holds two of the node's largest output.

    ``image_hw`` defaults to the resolution known at start; ``shm_total`` to the size of /dev/shm.
    """
    env = os.environ if env is None else env
    rmw = env.get("RMW_IMPLEMENTATION", "").strip()
    if rmw not in FASTDDS_RMWS:
        return TransportCheck(False, f"FastDDS shared-memory check does not apply: RMW_IMPLEMENTATION={rmw}; large "
                                     f"outputs need that middleware's own shared memory (README: Transport)")
    image_hw = image_hw or startup_image_hw(config)
    sample = largest_output_bytes(image_hw) if image_hw else largest_output_bytes(REFERENCE_HW)
    what = (f"{image_hw[1]}x{image_hw[0]}" if image_hw else
            f"{REFERENCE_HW[1]}x{REFERENCE_HW[0]} (assumed: the resolution is unknown until the first frame; "
            f"set image_width and image_height)")
    what = f"the node's largest output at {what}, an organized cloud with colour ({megabytes(sample)})"
    need = segment_needed(sample)
    major = fastdds_major(env)
    variables = profile_variables(major)
    variable = next((name for name in variables if env.get(name, "").strip()), None)
    names = " (Fast DDS 2) or ".join(variables) + (" (Fast DDS 3)" if len(variables) > 1 else "")
    fix = f"set {names} to a profile with an SHM segment_size >= {need} ({mib(need)}): " + (
        f"{shipped_profile()} ({mib(SHIPPED_SEGMENT)}; the launch files set it)" if need <= SHIPPED_SEGMENT else
        f"a copy of {shipped_profile()} with that segment_size")
    fix += " in the environment of every ROS process on this host; README: Transport"
    if variable is None:
        other = [name for name in (FASTRTPS_VAR, FASTDDS_VAR) if name not in variables and env.get(name, "").strip()]
        ignored = f"; {other[0]} is set, but Fast DDS {major} reads {variables[0]}" if other else ""
        segment = DEFAULT_SEGMENT
        source = f"FastDDS's default shared-memory segment of {mib(DEFAULT_SEGMENT)} (no profile{ignored})"
    else:
        path = env[variable].strip()
        try:
            profile = read_profile(path)
        except ValueError as error:
            return TransportCheck(True, f"{variable}={path}: {error}; FastDDS runs on its defaults (a "
                                        f"{mib(DEFAULT_SEGMENT)} shared-memory segment): {fix}")
        if not profile.has_default_participant or profile.segment_size is None:
            why = 'no participant profile with is_default_profile="true"' if not profile.has_default_participant \
                else "no SHM transport_descriptor among the default participant's userTransports"
            return TransportCheck(True, f"{variable}={path} has {why}, so large samples keep FastDDS's "
                                        f"{mib(DEFAULT_SEGMENT)} segment: {fix}")
        if profile.builtin_transports:
            return TransportCheck(True, f"{variable}={path} leaves useBuiltinTransports true: FastDDS's own "
                                        f"{mib(DEFAULT_SEGMENT)} SHM transport stays beside the profile's; set "
                                        f"<useBuiltinTransports>false</useBuiltinTransports> as {PROFILE_FILE} does")
        segment = profile.segment_size
        source = f"segment_size {mib(segment)} in {path} ({variable})"
    total = shm_total if shm_total is not None else _shm_total()
    if total is not None and total < segment + segment // SEGMENT_OVERHEAD:
        return TransportCheck(True, f"{SHM_DIR} holds {mib(total)}, less than one {source}: FastDDS cannot create "
                                    f"the segment and sends over UDP. In a container, give {SHM_DIR} room for one "
                                    f"segment per ROS process (docker run --shm-size, compose shm_size, or ipc: host)")
    if segment < SAMPLES_PER_SEGMENT * sample:
        return TransportCheck(True, f"{source} holds less than {SAMPLES_PER_SEGMENT} of {what}: samples that large "
                                    f"are lost or late between processes on this host; {fix}")
    return TransportCheck(False, f"shared memory: {source} holds {SAMPLES_PER_SEGMENT} of {what}")


def _shm_total() -> int | None:
    try:
        return shutil.disk_usage(SHM_DIR).total
    except OSError:
        return None
