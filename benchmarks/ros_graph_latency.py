"""End-to-end latency and loss of the node in a real ROS 2 graph, per DDS transport, with a network that costs nothing.

    python benchmarks/ros_graph_latency.py [--frames 40] [--rates 5 15 30] [--sizes 480x640 720x1280]
        [--readers reliable best_effort] [--transports default profile] [--profile config/fastdds_shm.xml]
        [--cameras 1] [--memory-frames 3000]

Each case runs in fresh processes: ``--cameras`` depth nodes (the real ``DepthNode`` wiring: subscriptions,
sync, the worker, ``DepthPipeline``, message building, rclpy publishing, the startup transport check)
around a constant "network" whose inference time is ~0, and a probe process that publishes bgr8 image +
camera_info per camera at each rate (stamp = send time; the node's best-effort sensor input QoS) and
receives depth/image, depth/camera_info and the organized depth/points (no colour) with RELIABLE or
BEST_EFFORT readers. So publish-to-receive latency is the host cost: Python, rclpy serialisation and DDS.
Transports: ``default`` is FastDDS as the wheels ship it (no profile variable); ``profile`` loads
``--profile`` through FASTRTPS_DEFAULT_PROFILES_FILE and FASTDDS_DEFAULT_PROFILES_FILE in every process.
Columns: "node got" is how many of the measured camera frames reached the nodes' image subscriptions,
"published" how many depth images they published; latencies are median and 90th percentile over the
frames received; "/dev/shm" is the FastDDS segments the case's processes mapped, per process; "lo MB" the
loopback interface's received bytes during the frames (host-wide: other jobs add to it); "check" what the
nodes' startup transport check said. ``--memory-frames`` tiny frames measure a node's RSS before and
after (a leak shows as growth). Needs the ``ros`` extra; each case gets a private ROS_DOMAIN_ID,
discovery on localhost. "Hz (sent)" is the asked rate and the one the probe achieved; ``--input-depth``
overrides the node's image subscription depth (keep-last 1: a frame that arrives while the node's executor
is busy replaces the one waiting), to tell frames lost in transport from frames the node was too busy for.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROFILE = ROOT / "config" / "fastdds_shm.xml"
PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
OUTPUT_NAMES = ("image", "camera_info", "points")
SETTLE_S, TAIL_S, WARM_UP_FRAMES, START_TIMEOUT_S = 1.0, 1.5, 3, 180.0


def parse_size(text: str) -> tuple[int, int]:
    """'720x1280' (height x width) -> (720, 1280)."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"size must be HEIGHTxWIDTH like 720x1280, got {text!r}") from error
    if height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return height, width


# ---- the node process --------------------------------------------------------------------------------
def run_node(height: int, width: int, namespace: str, input_depth: int) -> None:
    """Child process: one depth node with a zero-cost backend; prints what it received and published at exit."""
    import rclpy
    from rclpy.parameter import Parameter

    from depth_anything_ros.core import stamp_ns
    from depth_anything_ros.node import ros_node as node_module
    from depth_anything_ros.node.transport import check_transport

    sys.path.insert(0, str(HERE))
    from bench_common import ConstantBackend

    depth = np.full((height, width), 2.0, np.float32)
    publish_s: dict[str, list[float]] = {}
    received: list[int] = []
    published: list[int] = []
    made: list = []

    class BenchNode(node_module.DepthNode):
        def __init__(self) -> None:
            overrides = [Parameter("image_width", value=width), Parameter("image_height", value=height),
                         Parameter("max_age", value=0.0)]
            if input_depth:
                overrides.append(Parameter(f"qos_overrides.{namespace}/image.subscription.depth", value=input_depth))
            node_module.Node.__init__(self, "depth_anything_ros", namespace=namespace or None,
                                      parameter_overrides=overrides)
            self.core = node_module.DepthNodeCore(self, open_backend=lambda config, hw: ConstantBackend(depth))
            self.check = check_transport(self.core.config)  # what the core logged at start
            self.core.open_pipeline()
            on_image = self.core.on_image
            self.core.on_image = lambda msg: (received.append(stamp_ns(msg.header)), on_image(msg))
            self.core.create_endpoints(self.create_publisher)
            for name, publisher in self.core.publishers.items():
                publisher.publish = timed(name, publisher.publish)
            self.core.start()
            made.append(self)

    def timed(name, publish):
        def wrapper(msg):
            started = time.perf_counter()
            publish(msg)
            publish_s.setdefault(name, []).append(time.perf_counter() - started)
            if name == "image":
                published.append(stamp_ns(msg.header))
        return wrapper

    try:
        node_module._spin(BenchNode, None)
    finally:
        print(json.dumps({"publish": {name: statistics.median(v) for name, v in publish_s.items()},
                          "received": received, "published": published,
                          "check": ("warn" if made[0].check.warn else "ok") if made else "-"}), flush=True)
    rclpy.try_shutdown()


# ---- the probe process -------------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def shm_segments(pids: list[int]) -> dict[str, int]:
    """FastDDS segment files (not ports) that these processes map -> bytes they hold in /dev/shm."""
    segments = {}
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            path = line.split()[-1]
            name = Path(path).name
            if path.startswith("/dev/shm/fastrtps_") and "port" not in name and not name.endswith("_el"):
                with contextlib.suppress(OSError):  # its process just exited
                    segments[path] = os.stat(path).st_blocks * 512
    return segments


def loopback_rx_bytes() -> int:
    """Bytes received on the loopback interface so far (Linux; the whole host's traffic)."""
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, values = line.partition(":")
        if name.strip() == "lo":
            return int(values.split()[0])
    return 0


class Probe:
    """The cameras and the readers: image + camera_info out per camera, the node's outputs back."""

    def __init__(self, height: int, width: int, reliable: bool, namespaces: list[str], outputs: list[str]) -> None:
        from rclpy.node import Node
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2

        from depth_anything_ros.core import stamp_ns
        from depth_anything_ros.node.ros_node import INPUT_QOS

        self.node = Node("bench_probe")
        self.stamp_ns = stamp_ns
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliable else
                         ReliabilityPolicy.BEST_EFFORT)
        self.cameras = []
        self.arrivals: dict[str, list[tuple[int, int]]] = {name: [] for name in OUTPUT_NAMES}  # (stamp, now)
        for ns in namespaces:
            prefix = f"{ns}/" if ns else "/"
            self.cameras.append((self.node.create_publisher(Image, f"{prefix}image", INPUT_QOS),
                                 self.node.create_publisher(CameraInfo, f"{prefix}camera_info", INPUT_QOS), prefix))
            for name, msg_type in zip(OUTPUT_NAMES, (Image, CameraInfo, PointCloud2), strict=True):
                if name in outputs:
                    self.node.create_subscription(msg_type, f"{prefix}depth/{name}", self._receiver(name), qos)
        bgr = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
        self.image = Image(height=height, width=width, encoding="bgr8", step=width * 3, data=bgr.tobytes())
        focal = 0.8 * width
        self.info = CameraInfo(height=height, width=width, distortion_model="plumb_bob", d=[0.0] * 5,
                               k=[focal, 0.0, width / 2, 0.0, focal, height / 2, 0.0, 0.0, 1.0],
                               r=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
                               p=[focal, 0.0, width / 2, 0.0, 0.0, focal, height / 2, 0.0, 0.0, 0.0, 1.0, 0.0])

    def _receiver(self, name: str):
        def receive(msg) -> None:
            self.arrivals[name].append((self.stamp_ns(msg.header), self.node.get_clock().now().nanoseconds))
        return receive

    def ready(self) -> bool:
        return all(image.get_subscription_count() and self.node.count_publishers(f"{prefix}depth/points")
                   for image, _, prefix in self.cameras)

    def send(self) -> int:
        """One frame from every camera, all with the same stamp; returns it in ns."""
        stamp = self.node.get_clock().now().to_msg()
        for msg in (self.info, self.image):
            msg.header.stamp, msg.header.frame_id = stamp, "camera_optical_frame"
        for image_pub, info_pub, _ in self.cameras:
            info_pub.publish(self.info)
            image_pub.publish(self.image)
        return self.stamp_ns(self.info.header)

    def spin_until(self, executor, deadline: float) -> None:
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=max(0.0, deadline - time.monotonic()))


def run_case(spec: dict) -> dict:
    """Probe process: start the nodes, send the frames, collect what came back (JSON-able)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    height, width, cameras, rate = spec["height"], spec["width"], spec["cameras"], spec["rate"]
    namespaces = [f"/cam{i}" for i in range(cameras)] if cameras > 1 else [""]
    logs = [tempfile.TemporaryFile(mode="w+") for _ in namespaces]  # noqa: SIM115 (closed at the end)
    children = [subprocess.Popen([sys.executable, __file__, "--node", str(height), str(width), ns,
                                  str(spec.get("input_depth", 0))],
                                 stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
                for ns, log in zip(namespaces, logs, strict=True)]
    rclpy.init()
    outputs = spec.get("outputs", OUTPUT_NAMES)
    probe = Probe(height, width, spec["reliable"], namespaces, outputs)
    executor = SingleThreadedExecutor()
    executor.add_node(probe.node)
    sent: list[int] = []
    result: dict = {}
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not probe.ready():
            if time.monotonic() > deadline or any(child.poll() is not None for child in children):
                raise RuntimeError("the depth node(s) did not start or match in time")
            probe.spin_until(executor, time.monotonic() + 0.1)
        probe.spin_until(executor, time.monotonic() + SETTLE_S)  # matching settles
        period = 1.0 / rate
        start = time.monotonic()
        for i in range(WARM_UP_FRAMES):
            probe.send()
            probe.spin_until(executor, start + (i + 1) * period)
        rss_before = [rss_mb(child.pid) for child in children]
        lo_before = loopback_rx_bytes()
        start = time.monotonic()
        for i in range(spec["frames"]):
            sent.append(probe.send())
            probe.spin_until(executor, start + (i + 1) * period)
        result["sent_hz"] = (len(sent) - 1) / ((sent[-1] - sent[0]) / 1e9) if len(sent) > 1 else 0.0
        segments = shm_segments([os.getpid()] + [child.pid for child in children])
        probe.spin_until(executor, time.monotonic() + TAIL_S)
        result["lo_mb"] = (loopback_rx_bytes() - lo_before) / 1e6
        for _ in range(spec.get("memory_frames", 0)):
            probe.send()
            probe.spin_until(executor, time.monotonic() + 0.002)
        result["rss"] = [rss_before, [rss_mb(child.pid) for child in children]]
        result["shm_mb_per_process"] = sum(segments.values()) / 1e6 / (1 + cameras)
        result["shm_segments"] = len(segments)
    finally:
        for child in children:
            child.send_signal(2)
        reports = []
        for child, log in zip(children, logs, strict=True):
            try:
                out, _ = child.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                out, _ = child.communicate()
            reports.append(json.loads(out.strip().splitlines()[-1]) if out.strip() else None)
            if reports[-1] is None:
                log.seek(0)
                print(f"a depth node printed no result; its log ends:\n{log.read()[-2000:]}", file=sys.stderr)
        for log in logs:
            log.close()
        executor.shutdown()
        probe.node.destroy_node()
        rclpy.try_shutdown()
    measured = set(sent)
    latency = {name: [(now - stamp) / 1e9 for stamp, now in arrivals if stamp in measured]
               for name, arrivals in probe.arrivals.items() if name in outputs}
    nodes = [out for out in reports if out]
    result.update(
        expected=len(sent) * cameras, latency=latency,
        node_got=sum(len(measured.intersection(out["received"])) for out in nodes),
        node_published=sum(len(measured.intersection(out["published"])) for out in nodes),
        publish={name: statistics.median(out["publish"][name] for out in nodes if name in out["publish"])
                 for name in OUTPUT_NAMES if any(name in out["publish"] for out in nodes)},
        check="/".join(sorted({out["check"] for out in nodes})) or "-")
    return result


# ---- the table ---------------------------------------------------------------------------------------
def case_env(transport: str, profile: Path) -> dict[str, str]:
    unset = (*PROFILE_VARS, "FASTDDS_BUILTIN_TRANSPORTS")
    env = {name: value for name, value in os.environ.items() if name not in unset}
    if transport == "profile":
        env.update(dict.fromkeys(PROFILE_VARS, str(profile)))
    env["ROS_DOMAIN_ID"] = str(random.SystemRandom().randrange(1, 200))
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    return env


def measure(spec: dict, transport: str, profile: Path) -> dict:
    """One case in a fresh probe process (FastDDS reads its profile once per process)."""
    done = subprocess.run([sys.executable, __file__, "--case", json.dumps(spec)], env=case_env(transport, profile),
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        raise RuntimeError(f"case {spec} over {transport} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def spread_ms(values: list[float]) -> str:
    """'median (p90)' in milliseconds; '-' when nothing arrived."""
    if not values:
        return "-"
    p90 = float(np.percentile(values, 90))
    return f"{statistics.median(values) * 1e3:.1f} ({p90 * 1e3:.0f})"


def table_row(spec: dict, transport: str, r: dict) -> str:
    lat, pub = r["latency"], r["publish"]
    cells = [f"{spec['height']}x{spec['width']}", str(spec["cameras"]), f"{spec['rate']:g} ({r['sent_hz']:.0f})",
             transport, "RELIABLE" if spec["reliable"] else "BEST_EFFORT", str(r["node_got"]),
             str(r["node_published"]),
             "/".join(str(len(lat[name])) if name in lat else "-" for name in OUTPUT_NAMES) + f" of {r['expected']}",
             *(spread_ms(lat.get(name, [])) for name in OUTPUT_NAMES),
             *(f"{pub[name] * 1e3:.2f}" if name in pub else "-" for name in ("image", "points")),
             f"{r['shm_mb_per_process']:.1f}", f"{r['lo_mb']:.1f}", r["check"]]
    return "| " + " | ".join(cells) + " |"


def transport_label(transport: str, profile: Path) -> str:
    if transport == "default":
        return "default"
    from depth_anything_ros.node.transport import mib, read_profile

    segment = read_profile(profile).segment_size
    return f"{profile.name} ({mib(segment)})" if segment else profile.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=40, help="camera frames per case (after 3 warm-up frames)")
    parser.add_argument("--rates", "--rate", type=float, nargs="+", default=[5.0], help="camera rates in Hz")
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(480, 640), (720, 1280)],
                        help="camera sizes HEIGHTxWIDTH")
    parser.add_argument("--readers", nargs="+", choices=("reliable", "best_effort"),
                        default=["reliable", "best_effort"])
    parser.add_argument("--transports", nargs="+", choices=("default", "profile"), default=["default", "profile"])
    parser.add_argument("--profile", type=Path, default=PROFILE, help="FastDDS XML profile of the 'profile' rows")
    parser.add_argument("--cameras", type=int, default=1, help="cameras, each with its own depth node process")
    parser.add_argument("--outputs", nargs="+", choices=OUTPUT_NAMES, default=list(OUTPUT_NAMES),
                        help="depth/<output> topics the probe subscribes (the node builds clouds only for subscribers)")
    parser.add_argument("--input-depth", type=int, default=0,
                        help="override the node's image subscription depth (0: its own keep-last 1)")
    parser.add_argument("--memory-frames", type=int, default=3000, help="0: skip the RSS check")
    args = parser.parse_args()
    if args.node:
        run_node(int(args.node[0]), int(args.node[1]), args.node[2], int(args.node[3]))
        return
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))), flush=True)
        return
    if "profile" in args.transports and not args.profile.is_file():
        parser.error(f"--profile {args.profile} does not exist")
    profile = args.profile.resolve()
    print("| camera | cameras | Hz (sent) | transport | reader | node got | published | received image/info/points "
          "| image ms (p90) | camera_info ms (p90) | points ms (p90) | publish image ms | publish points ms "
          "| /dev/shm MB per process | lo MB | check |")
    print("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for height, width in args.sizes:
        for rate in args.rates:
            for reader in args.readers:
                for transport in args.transports:
                    spec = dict(height=height, width=width, cameras=args.cameras, rate=rate, frames=args.frames,
                                reliable=reader == "reliable", input_depth=args.input_depth, outputs=args.outputs)
                    print(table_row(spec, transport_label(transport, profile), measure(spec, transport, profile)),
                          flush=True)
    if args.memory_frames:
        spec = dict(height=24, width=32, cameras=1, rate=5.0, frames=10, reliable=True,
                    memory_frames=args.memory_frames)
        r = measure(spec, args.transports[0], profile)
        (before,), (after,) = r["rss"]
        print(f"\nnode RSS over {args.memory_frames} 24x32 frames ({args.transports[0]} transport): {before:.1f} MB -> "
              f"{after:.1f} MB ({len(r['latency']['image'])} of the first {spec['frames']} depth images received)")


if __name__ == "__main__":
    main()
