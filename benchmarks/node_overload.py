"""Latency when the camera outruns the node: the newest frame wins, so latency stays flat instead of growing.

    python benchmarks/node_overload.py [--inference-ms 40] [--seconds 4] [--factors 0.5 1 2 5]

The node runs in its own process (the real ``DepthNode`` wiring: subscriptions, sync, the one-frame slot,
the worker, ``DepthPipeline``, publishing) around a "network" that takes ``--inference-ms`` per frame
(a sleep, so the cost is the same on every machine). A probe here first sends frames one at a time to
measure what the node sustains, then sends 24x32 bgr8 image + camera_info at ``factor`` x that rate for
``--seconds`` and takes the publish-to-receive latency of depth/image (RELIABLE reader, stamp = send
time). A node that queued frames would show the last quarter's latency growing with the run; a node
that drops them shows it flat, near one inference, and the frames it had no time for as "superseded".
The behaviour itself (dropped, not queued; all counted) is tested in test/node/test_node_process.py;
this script only measures. Needs the ``ros`` extra; runs on a private ROS_DOMAIN_ID, discovery on localhost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
HW = (24, 32)


def run_node(inference_s: float) -> None:
    """Child process: the depth node around a network of fixed cost; prints its counters (JSON) at exit."""
    import rclpy
    from rclpy.parameter import Parameter

    sys.path.insert(0, str(HERE))
    from depth_anything_ros.node import ros_node as node_module

    from bench_common import ConstantBackend

    class FixedCostBackend(ConstantBackend):
        def _run(self, image, head, focal):
            time.sleep(inference_s)
            return self.output

    made: list = []

    class BenchNode(node_module.DepthNode):
        def __init__(self) -> None:
            node_module.Node.__init__(self, "depth_anything_ros", parameter_overrides=[
                Parameter("image_width", value=HW[1]), Parameter("image_height", value=HW[0]),
                Parameter("max_age", value=0.0)])
            depth = np.full(HW, 2.0, np.float32)
            self.core = node_module.DepthNodeCore(self, open_backend=lambda config, hw: FixedCostBackend(depth))
            self.core.open_pipeline()
            self.core.create_endpoints(self.create_publisher)
            self.core.start()
            made.append(self)

    try:
        node_module._spin(BenchNode, None)
    finally:
        stats = made[0].core.stats if made else None
        print(json.dumps({"received": stats.received if stats else 0, "published": stats.published if stats else 0,
                          "drops": dict(stats.drops) if stats else {}}), flush=True)
    rclpy.try_shutdown()


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.1f}" if values else "-"


def measure(inference_ms: float, seconds: float, factors: list[float]) -> list[dict]:
    """One node process; the sustained rate, then one row per factor (counters are per row)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    sys.path.insert(0, str(HERE))
    from ros_graph_latency import Probe

    child = subprocess.Popen([sys.executable, __file__, "--node", str(inference_ms / 1e3)], stdout=subprocess.PIPE,
                             text=True, cwd=HERE.parent)
    rclpy.init()
    probe = Probe(*HW, reliable=True)
    executor = SingleThreadedExecutor()
    executor.add_node(probe.node)
    got = probe.latency["image"]
    rows = []
    try:
        deadline = time.monotonic() + 60
        while probe.node.count_publishers("depth/image") == 0 and time.monotonic() < deadline:
            probe.spin(executor, 0.1)
        probe.spin(executor, 1.0)  # matching settles
        started, count = time.monotonic(), 0
        while count < 20 and time.monotonic() - started < 60:  # one at a time: what the node sustains
            before = len(got)
            probe.send()
            while len(got) == before and time.monotonic() - started < 60:
                executor.spin_once(timeout_sec=0.01)
            count += 1
        sustained = count / (time.monotonic() - started)
        for factor in factors:
            probe.spin(executor, 1.0)  # the node drains
            got.clear()
            period, sent = 1 / (sustained * factor), 0
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                probe.send()
                sent += 1
                probe.spin(executor, period)
            probe.spin(executor, 1.0)
            quarter = max(1, len(got) // 4)
            rows.append({"factor": factor, "rate": sustained * factor, "sent": sent, "published": len(got),
                         "first": median_ms(got[:quarter]), "last": median_ms(got[-quarter:]),
                         "max": f"{max(got) * 1e3:.1f}" if got else "-"})
    finally:
        child.send_signal(2)
        out, _ = child.communicate(timeout=30)
        executor.shutdown()
        probe.node.destroy_node()
        rclpy.try_shutdown()
    counters = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    return [{**row, "sustained": sustained, "node": counters} for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--inference-ms", type=float, default=40.0, help="the network's cost per frame")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long each camera rate runs")
    parser.add_argument("--factors", type=float, nargs="+", default=[0.5, 1.0, 2.0, 5.0],
                        help="camera rates as multiples of what the node sustains")
    args = parser.parse_args()
    if args.node is not None:
        run_node(args.node)
        return
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randrange(1, 200)))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    rows = measure(args.inference_ms, args.seconds, args.factors)
    print(f"inference {args.inference_ms:g} ms; the node sustains {rows[0]['sustained']:.1f} frames/s one at a time; "
          f"{args.seconds:g} s per rate")
    print("| camera / sustained | camera (Hz) | frames sent | depth images received | latency first quarter (ms) "
          "| latency last quarter (ms) | latency max (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['factor']:g}x | {row['rate']:.1f} | {row['sent']} | {row['published']} | {row['first']} | "
              f"{row['last']} | {row['max']} |")
    node = rows[0]["node"]
    print(f"\nnode counters over the whole run: received {node.get('received', 0)}, published "
          f"{node.get('published', 0)}, dropped {node.get('drops', {})}")


if __name__ == "__main__":
    main()
