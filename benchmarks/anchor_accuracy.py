"""How well the live anchor recovers metres from part of a LiDAR, scored on the LiDAR beams it never saw.

    python benchmarks/anchor_accuracy.py [--frames 30]

Data: the KITTI object sample (3 HDL-64E scans with their calibration), the nuScenes sample (32-beam LIDAR_TOP,
its ``ring`` field, CAM_FRONT) from ../shared/data when present, and the synthetic rig (48 beams). Every 4th beam
is held out for scoring; the anchor is fitted on: one near-horizontal beam (a simulated 2D laser), 4 beams, 16
beams, or all the other beams. KITTI's .bin has no ring field: rings are the scan-order runs between azimuth
wraps (65 runs for 64 lasers; the first and last are partial).

THE "NETWORK" IS SIMULATED: there are no trained weights here (no model hub), and a tiny random model says
nothing. Its output is the scene's LiDAR-densified depth (nearest-neighbour fill of the non-held-out beams, the
rig too) with a smooth multiplicative error field (std 5 %, one per scene: what a network gets wrong
at low frequency) and 2 % pixel noise, distorted per frame in the model's space: relative (V1/V2 inverse depth)
raw = a / depth + b, relative-depth (DA3) raw = a * depth + b, metric raw = a * depth, with a and b drifting slowly
and jittering per frame
(synthetic.distorted.frame_distortions). So the numbers measure the anchor (geometry, beam coverage, fit, filter)
on real LiDAR geometry, not a network.

Heads compared on the held-out beams (official metrics of calibration.metrics, pooled over all frames): none
(raw read with the identity head), one offline calibration (the project's ``fit_head`` over every frame's anchor
points: one head for the whole run), the live anchor (``AnchorEstimator`` per frame: its head applied to the frame
it was fitted on, a host re-head; and applied to the next frame, as the graph's head input would; the first frame
then has none and is left out of that column), and the floor: per frame
the head fitted on the held-out pixels themselves (what the simulated network's own errors leave, whatever the
anchor does).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from depth_anything_ros.calibration import depth_metrics
from depth_anything_ros.core.anchor import AnchorEstimator
from depth_anything_ros.core.anchor_config import AnchorConfig
from depth_anything_ros.core.camera import CameraModel
from depth_anything_ros.core.depth_points import sparse_depth
from depth_anything_ros.core.head import depth_from_raw
from depth_anything_ros.core.head_fit import fit_head
from depth_anything_ros.core.transforms import Transform
from depth_anything_ros.synthetic import Distortion, SyntheticRig, frame_distortions

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FRAME_NS = 100_000_000  # one LiDAR frame at 10 Hz
ERROR_FIELD_STD = 0.05
PIXEL_NOISE = 0.02


@dataclass
class Scene:
    camera: CameraModel
    points: np.ndarray  # (N, 3) in the camera frame CameraModel.project expects
    beams: np.ndarray  # (N,) beam id
    elevation: np.ndarray  # (N,) degrees in the sensor frame


@dataclass
class Recording:
    name: str
    scenes: list[Scene]  # frames cycle through them
    beam_count: int


def kitti(data: Path = DATA) -> Recording | None:
    root = data / "kitti_object"
    if not root.exists():
        return None
    scenes = []
    for frame in ("000000", "000001", "000002"):
        rows = {}
        for line in (root / "calib" / f"{frame}.txt").read_text().splitlines():
            if ":" in line:
                key, values = line.split(":", 1)
                rows[key] = np.array(values.split(), np.float64)
        height, width = cv2.imread(str(root / "image_2" / f"{frame}.png")).shape[:2]
        scan = np.fromfile(root / "velodyne" / f"{frame}.bin", np.float32).reshape(-1, 4)[:, :3].astype(np.float64)
        azimuth = np.arctan2(scan[:, 1], scan[:, 0])
        beams = np.r_[0, np.cumsum(np.abs(np.diff(azimuth)) > np.pi)]  # scan order: one run per laser
        velo_to_cam, p2 = rows["Tr_velo_to_cam"].reshape(3, 4), rows["P2"].reshape(3, 4)
        camera = CameraModel(width, height, p2[:, :3], p2, np.zeros(5), "plumb_bob", rows["R0_rect"].reshape(3, 3))
        points = Transform(velo_to_cam[:, :3], velo_to_cam[:, 3]).apply(scan)
        scenes.append(Scene(camera, points, beams, elevation_of(scan)))
    return Recording("KITTI 000000-000002, HDL-64E", scenes, 64)


def nuscenes(data: Path = DATA) -> Recording | None:
    root = data / "nuscenes_mini_sample"
    if not root.exists():
        return None
    calib = json.loads((root / "calib.json").read_text())
    front = calib["cameras"]["CAM_FRONT"]
    scan = np.fromfile(root / calib["lidar_file"], np.float32).reshape(-1, 5).astype(np.float64)
    k, lidar2cam = np.array(front["K"]), np.array(front["lidar2cam"])
    camera = CameraModel(front["width"], front["height"], k, np.c_[k, np.zeros(3)], np.zeros(5), "plumb_bob")
    points = Transform(lidar2cam[:3, :3], lidar2cam[:3, 3]).apply(scan[:, :3])
    return Recording("nuScenes CAM_FRONT, 32-beam", [Scene(camera, points, scan[:, 4].astype(int),
                                                           elevation_of(scan[:, :3]))], 32)


def rig() -> Recording:
    rig = SyntheticRig()
    scan = rig.lidar_scan()
    elevation = elevation_of(scan)
    beams = np.rint((elevation - rig.elevations_deg[0]) / (rig.elevations_deg[1] - rig.elevations_deg[0]) *
                    (rig.elevations_deg[2] - 1)).astype(int)
    return Recording("synthetic rig, 48 beams", [Scene(rig.camera(), rig.lidar_in_camera.apply(scan), beams,
                                                       elevation)], 48)


def elevation_of(points: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(points[:, 2], np.hypot(points[:, 0], points[:, 1])))


def densified(sparse: np.ndarray) -> np.ndarray:
    """Nearest-neighbour fill of a sparse depth map (every pixel takes its nearest LiDAR pixel's depth)."""
    valid = np.isfinite(sparse)
    _, labels = cv2.distanceTransformWithLabels((~valid).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    lookup = np.zeros(labels.max() + 1, np.float64)
    lookup[labels[valid]] = sparse[valid]
    return lookup[labels]


def error_field(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A smooth multiplicative error exp(e), e of std ERROR_FIELD_STD varying over about a tenth of the image."""
    coarse = rng.standard_normal((max(2, shape[0] // 40), max(2, shape[1] // 40)))
    smooth = cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.exp(ERROR_FIELD_STD * smooth / max(smooth.std(), 1e-9))


@dataclass
class Prepared:
    """One scene split into held-out truth, the network's depth, and anchor points per case."""

    camera: CameraModel
    held_out: np.ndarray  # (H, W) truth from the held-out beams, NaN elsewhere
    network_depth: np.ndarray  # (H, W) what the simulated network sees as depth
    cases: dict[str, np.ndarray]  # case -> anchor points (camera frame)
    beams: dict[str, int]


def prepare(scene: Scene, seed: int) -> Prepared:
    ids = np.unique(scene.beams)
    held = ids[np.arange(ids.size) % 4 == 3]
    train = ids[np.arange(ids.size) % 4 != 3]
    is_held = np.isin(scene.beams, held)
    truth = sparse_depth(scene.points[is_held], scene.camera)
    dense = densified(sparse_depth(scene.points[~is_held], scene.camera))
    network = dense * error_field(dense.shape, np.random.default_rng(seed))
    median_elevation = np.array([np.median(scene.elevation[scene.beams == b]) for b in train])
    horizontal = train[[int(np.argmin(np.abs(median_elevation)))]]
    picks = {"2D laser (1 beam)": horizontal,
             "4 beams": train[np.linspace(0, train.size - 1, 4).astype(int)],
             "16 beams": train[np.linspace(0, train.size - 1, min(16, train.size)).astype(int)],
             f"all {train.size} other beams": train}
    cases = {name: scene.points[np.isin(scene.beams, chosen)] for name, chosen in picks.items()}
    return Prepared(scene.camera, truth, network, cases, {name: len(chosen) for name, chosen in picks.items()})


def anchor_pixels(prepared: Prepared, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(flat pixel index, depth) of the anchor points, as the calibration's ground truth sees them."""
    sparse = sparse_depth(points, prepared.camera)
    index = np.flatnonzero(np.isfinite(sparse))
    return index, sparse.ravel()[index].astype(np.float64)


def run(recording: Recording, kind: str, frames: int) -> list[dict]:
    prepared = [prepare(scene, seed) for seed, scene in enumerate(recording.scenes)]
    scale = float(np.nanmedian(prepared[0].network_depth))
    distortions = frame_distortions(frames, seed=11, a=scale)
    if kind == "metric":  # a metric network: its scale off by the same drift and jitter, no offset
        distortions = [Distortion(d.a / scale) for d in distortions]
    elif kind == "relative-depth":  # DA3 relative: depth up to scale and shift, raw about 1 at the median depth
        distortions = [Distortion(d.a / scale ** 2, d.b) for d in distortions]
    raws = [distortions[k].raw(kind, prepared[k % len(prepared)].network_depth, PIXEL_NOISE, seed=k)
            for k in range(frames)]
    method = "scale" if kind == "metric" else "affine"
    values, truth, floor = [], [], []  # per frame: raw and truth at the held-out pixels, the best head's depth
    for k, raw in enumerate(raws):
        scene = prepared[k % len(prepared)]
        valid = np.isfinite(scene.held_out)
        values.append(raw[valid])
        truth.append(scene.held_out[valid].astype(np.float64))
        best = fit_head(values[-1], truth[-1], kind, method)  # fitted on the held-out pixels themselves
        floor.append(depth_from_raw(values[-1], best.scale, best.shift, kind))
    truth_all, values_all = np.concatenate(truth), np.concatenate(values)
    fixed = {"none": depth_metrics(depth_from_raw(values_all, 1.0, 0.0, kind), truth_all),
             "floor": depth_metrics(np.concatenate(floor), truth_all)}
    rows = []
    for case in prepared[0].cases:
        estimator = AnchorEstimator(AnchorConfig(), kind)
        pooled_raw, pooled_depth, live, previous, states, used = [], [], [], [], Counter(), []
        last = None  # the head of the frame before: what the graph would apply without a host re-head
        for k, raw in enumerate(raws):
            scene = prepared[k % len(prepared)]
            points = scene.cases[case]
            index, depth = anchor_pixels(scene, points)
            pooled_raw.append(raw.ravel()[index])
            pooled_depth.append(depth)
            result = estimator.update(raw, scene.camera, points, k * FRAME_NS)
            states[result.state.value] += 1
            used.append(result.stats.points_used)
            head = result.head
            for out, used_head in ((live, head), (previous, last)):
                out.append(depth_from_raw(values[k], used_head.scale, used_head.shift, kind) if used_head is not None
                           else np.full(values[k].size, np.nan))
            last = head
        try:
            offline = fit_head(np.concatenate(pooled_raw), np.concatenate(pooled_depth), kind, method)
            offline_prediction = depth_from_raw(values_all, offline.scale, offline.shift, kind)
        except ValueError:
            offline_prediction = np.full(values_all.size, np.nan)
        metrics = {**fixed, "offline": depth_metrics(offline_prediction, truth_all),
                   "live": depth_metrics(np.concatenate(live), truth_all),
                   "previous": depth_metrics(np.concatenate(previous), truth_all)}
        rows.append({"case": case, "beams": prepared[0].beams[case], "fitted": int(np.median(used)),
                     "held_out": int(truth_all.size / frames), "metrics": metrics, "states": dict(states)})
    return rows


def cell(metrics: dict) -> str:
    if not metrics["points"]:
        return "-"
    return f"{metrics['abs_rel']:.3f} / {metrics['d1']:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--data", type=Path, default=DATA,
                        help=f"the shared data folder (default {DATA}, beside the checkout)")
    parser.add_argument("--kinds", nargs="+", default=["relative", "relative-depth", "metric"],
                        choices=["relative", "relative-depth", "metric"], help="graph kinds (default: all three)")
    args = parser.parse_args()
    recordings = [r for r in (kitti(args.data), nuscenes(args.data), rig()) if r is not None]
    print(f"\nSIMULATED NETWORK (no trained weights): LiDAR-densified depth x smooth error field "
          f"({ERROR_FIELD_STD:.0%}) x pixel noise ({PIXEL_NOISE:.0%}), distorted per frame in the model's space "
          f"(drift + jitter). {args.frames} frames per recording, every 4th beam held out.\n")
    for kind in args.kinds:
        print(f"kind {kind}: held-out AbsRel / d1 (pooled over frames)\n")
        print("| data | anchor | beams | pixels fitted / frame | held-out pixels / frame | no head | "
              "one offline calibration | live anchor | live, previous frame's head | live frames | "
              "floor: best head per frame |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for recording in recordings:
            for row in run(recording, kind, args.frames):
                live = row["states"].get("live", 0)
                print(f"| {recording.name} | {row['case']} | {row['beams']} | {row['fitted']} | {row['held_out']} | "
                      f"{cell(row['metrics']['none'])} | {cell(row['metrics']['offline'])} | "
                      f"{cell(row['metrics']['live'])} | {cell(row['metrics']['previous'])} | {live}/{args.frames} | "
                      f"{cell(row['metrics']['floor'])} |")
        print()


if __name__ == "__main__":
    main()
