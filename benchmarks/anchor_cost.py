"""What the live anchor costs per frame on the host: projection + fit for LiDAR and 2D laser scans.

    python benchmarks/anchor_cost.py [--runs 200]

A KITTI-sized camera (375x1242, KITTI's focal length) and three scans of a synthetic yard (ground, walls 40 m away,
pillars at 4-30 m), each in its sensor's frame, 360 degrees: a 64-beam LiDAR (HDL-64E elevations, 1875
azimuths: 120k points), a 16-beam one (VLP-16: 16 x 1800) and a 2D laser (720 beams, 0.5 degrees) 1 m under the
camera. Timed per frame: ``AnchorEstimator.update`` with the scan and its extrinsic (decimation, extrinsic,
projection, z-buffer, fit, guards, filter) and, within it, the fit alone (started from the live estimate, as in
steady state); then what the choices around it cost:
the host pass that re-applies a new head to the frame's whole raw output (core.head's ``metres_from_raw``), and
the optional full-image occlusion filter. Wall time, median and 95th percentile, and the median CPU time of the
thread; the machine's load is printed (on a shared VM the wall time includes other processes' turns).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from depth_anything_ros.core.anchor import AnchorEstimator
from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.anchor_fit import fit_pixels
from depth_anything_ros.core.depth_points import nearest_per_pixel
from depth_anything_ros.core.head import metres_from_raw
from depth_anything_ros.core.transforms import Transform
from depth_anything_ros.synthetic import Distortion, SyntheticRig
from depth_anything_ros.synthetic.rig import LIDAR_TO_OPTICAL, BoxScene

HEIGHT, WIDTH = 375, 1242
FOCAL = 721.5377  # KITTI's P2 focal length; the principal point is centred so the rig renders the same camera
YARD = BoxScene((
    ((-80.0, 1.65, -80.0), (80.0, 1.75, 80.0)),  # ground, 1.65 m under the camera (KITTI's camera height)
    ((-80.0, -10.0, 40.0), (80.0, 1.65, 41.0)), ((-80.0, -10.0, -41.0), (80.0, 1.65, -40.0)),  # walls
    ((40.0, -10.0, -80.0), (41.0, 1.65, 80.0)), ((-41.0, -10.0, -80.0), (-40.0, 1.65, 80.0)),
    *(((x, -3.0, z), (x + 0.6, 1.65, z + 0.6)) for x, z in ((-2, 4), (3, 7), (-6, 12), (5, 18), (-1, 24), (8, 30),
                                                             (-12, -6), (10, -15), (0, -25))),  # pillars
))
SCANS = (  # name, elevations (deg), azimuths, sensor origin in the camera optical frame (y down), target ms
    ("64-beam LiDAR", (-24.8, 2.0, 64), 1875, (0.0, -0.08, -0.27), 2.0),
    ("16-beam LiDAR", (-15.0, 15.0, 16), 1800, (0.0, -0.08, -0.27), 0.5),
    ("2D laser, 720 beams", (0.0, 0.0, 1), 720, (0.0, 1.0, 0.0), 0.2),
)


def timed(fn, runs: int) -> tuple[float, float, float]:
    """(median, 95th percentile) wall milliseconds and median CPU milliseconds of ``fn`` over ``runs`` calls
    after two warm-ups. CPU time (this thread's) leaves out the time the scheduler gave to other processes."""
    fn()
    fn()
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.thread_time()
        fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    return float(np.median(wall) * 1e3), float(np.percentile(wall, 95) * 1e3), float(np.median(cpu) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    view = SyntheticRig(HEIGHT, WIDTH, FOCAL, scene=YARD)
    camera = view.camera()
    truth = view.true_depth().astype(np.float64)
    raw = Distortion(10.0, 0.02).raw("relative", truth, noise=0.01)
    config = AnchorConfig()
    print(f"\ncamera {HEIGHT}x{WIDTH}, relative graph, {args.runs} runs; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs\n")
    print("| scan | points | in image | fitted | update: median / p95 ms (CPU median) | fit alone: median / p95 ms "
          "(CPU median) | target ms | met (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, elevations, azimuths, origin, target in SCANS:
        sensor = SyntheticRig(HEIGHT, WIDTH, FOCAL, Transform(LIDAR_TO_OPTICAL, np.array(origin)), YARD,
                              elevations, (-180.0, 180.0 - 360.0 / azimuths, azimuths))
        points = sensor.lidar_scan()  # in the sensor's frame, as the message brings them
        extrinsic = sensor.lidar_in_camera
        estimator = AnchorEstimator(config, "relative")
        stamp = [0]

        def update(e=estimator, p=points, x=extrinsic, s=stamp):
            s[0] += 33_000_000
            return e.update(raw, camera, p, s[0], extrinsic=x)

        result = update()
        assert result.state.value == "live", result.stats.detail
        u, v, z = camera.project(extrinsic.apply(points), min_depth=config.min_depth)
        index, nearest = nearest_per_pixel(u, v, z, HEIGHT, WIDTH)
        values = raw.ravel()[index]
        whole = timed(update, args.runs)
        prior = estimator.filter.mean  # in steady state the fit starts from the live estimate
        fit_only = timed(lambda val=values, d=nearest, m=prior: fit_pixels(val, d, "relative", config, m), args.runs)
        met = "yes" if whole[0] <= target else "no"
        print(f"| {name} | {len(points)} | {len(index)} | {result.stats.points_used} | {whole[0]:.3f} / "
              f"{whole[1]:.3f} ({whole[2]:.3f}) | {fit_only[0]:.3f} / {fit_only[1]:.3f} ({fit_only[2]:.3f}) | "
              f"{target:g} | {met} |")
    head = lambda: metres_from_raw(raw, 0.1, 0.002, 0.1, 80.0, True)  # noqa: E731
    rehead = timed(head, max(10, args.runs // 10))
    occluded = AnchorEstimator(AnchorConfig(occlusion=True), "relative")
    lidar = SyntheticRig(HEIGHT, WIDTH, FOCAL, Transform(LIDAR_TO_OPTICAL, np.array(SCANS[0][3])), YARD,
                         SCANS[0][1], (-180.0, 180.0 - 360.0 / SCANS[0][2], SCANS[0][2]))
    lidar_points = lidar.lidar_scan()
    occlusion = timed(lambda: occluded.update(raw, camera, lidar_points, 0, extrinsic=lidar.lidar_in_camera),
                      max(10, args.runs // 20))
    print("\n| around the anchor | median / p95 ms (CPU median) |\n|---|---:|")
    print(f"| host re-head of the whole frame (metres_from_raw, {HEIGHT}x{WIDTH}) | {rehead[0]:.2f} / {rehead[1]:.2f}"
          f" ({rehead[2]:.2f}) |")
    print(f"| 64-beam update with the occlusion filter (occlusion=True) | {occlusion[0]:.2f} / {occlusion[1]:.2f} "
          f"({occlusion[2]:.2f}) |")


if __name__ == "__main__":
    main()
