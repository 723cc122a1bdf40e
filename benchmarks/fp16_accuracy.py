"""FP16 graph vs FP32 graph on real images, on CPU: how far ``raw`` moves in the strongly typed FP16 variant.

    python benchmarks/fp16_accuracy.py [--input-size 196] [--images 1] [--target-activation 300]
        [--encoders vits vitb] [--da3 da3-small da3metric-large]

Runs the fused model in torch with exactly the casts the ``fp16`` ONNX graph carries (FP16 network,
FP32 pre/post-processing, LayerNorm, attention scores and softmax; ``FusedDepthModel.half_network``)
against FP32, for vits/vitb, V1/V2, relative/metric, and the DA3 variants named by ``--da3``
(``Da3FusedModel.half_network``; DA3's own 504 resize, ``--input-size`` unused; pixels that are sky (+Inf)
in either run are left out and counted), on images from ../shared/data. Prints max and median
|raw_fp16 - raw_fp32| as a fraction of raw_fp32's range, the largest error relative to the value itself,
and range / median of raw_fp32 (random DA3 heads give nearly constant depth, a small range that inflates
the first two columns).

Random weights lack trained DINOv2's large activations, so each model also runs "scaled": every
LayerScale gamma is set to one value g, chosen by bisection so that the largest |activation| of the
residual stream after the last block reaches ``--target-activation`` (default 300, the order of the
"massive activations" trained DINOv2 ViT-S/B show in a few channels; Sun et al. 2024, Darcet et al. 2024).
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from depth_anything_ros.model import model_spec
from depth_anything_ros.model.da3.fused import Da3FusedModel
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import da3_spec
from depth_anything_ros.model.v2.build import untrained_model
from depth_anything_ros.model.v2.fused import FusedDepthModel

HEAD = torch.tensor([1.0, 0.0, 0.0, 1e9])
FOCAL = torch.tensor([300.0])

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IMAGES = ("kitti_object/image_2/000000.png", "nuscenes_mini_sample/*CAM_FRONT__*.jpg", "nyu_sample/*")


def load_images(count: int) -> list[np.ndarray]:
    found = []
    for pattern in IMAGES:
        matches = sorted(p for p in DATA.glob(pattern) if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        if matches:
            found.append(cv2.imread(str(matches[0]), cv2.IMREAD_COLOR))
    if not found:
        raise SystemExit(f"no images under {DATA}")
    return [image for image in found if image is not None][:count]


def blocks(model) -> torch.nn.ModuleList:
    """The ViT blocks of a V1/V2 ``DepthAnything`` or a ``Da3Model``."""
    return model.backbone.pretrained.blocks if isinstance(model, Da3Model) else model.pretrained.blocks


def raw_of(fused, image: torch.Tensor) -> torch.Tensor:
    """The fused model's ``raw`` output (DA3 graphs take a focal input too)."""
    return (fused(image, HEAD, FOCAL) if isinstance(fused, Da3FusedModel) else fused(image, HEAD))[0]


def last_block_peak(fused, image: torch.Tensor) -> float:
    peak = []
    handle = blocks(fused.model)[-1].register_forward_hook(
        lambda module, args, out: peak.append(float(out.abs().max())))
    with torch.inference_mode():
        raw_of(fused, image)
    handle.remove()
    return peak[0]


def set_layerscale(model, gamma: float) -> None:
    with torch.no_grad():
        for block in blocks(model):
            block.ls1.gamma.fill_(gamma)
            block.ls2.gamma.fill_(gamma)


def scale_to(fused, image: torch.Tensor, target: float) -> tuple[float, float]:
    """Bisect the LayerScale value (log scale) until the last block's peak |activation| ~ target."""
    low, high = 1e-3, 1e2
    for _ in range(9):
        middle = (low * high) ** 0.5
        set_layerscale(fused.model, middle)
        if last_block_peak(fused, image) < target:
            low = middle
        else:
            high = middle
    set_layerscale(fused.model, low)
    return low, last_block_peak(fused, image)


def compare(fused, images: list[torch.Tensor]) -> tuple[float, float, float, float, float]:
    """(max, median |d| / range, max |d| / |raw_fp32|, range / median |raw_fp32|, fraction of pixels finite
    in one run and +Inf (sky) in the other)."""
    half = copy.deepcopy(fused).half_network()
    worst, medians, flips, relative, spread = 0.0, [], [], 0.0, []
    with torch.inference_mode():
        for image in images:
            ref = raw_of(fused, image).double()
            got = raw_of(half, image).double()
            both = torch.isfinite(ref) & torch.isfinite(got)
            flips.append(float((torch.isfinite(ref) != torch.isfinite(got)).float().mean()))
            ref, got = ref[both], got[both]
            span = float(ref.max() - ref.min()) or 1.0
            diff = (got - ref).abs() / span
            worst = max(worst, float(diff.max()))
            medians.append(float(diff.median()))
            relative = max(relative, float(((got - ref).abs() / ref.abs().clamp_min(1e-12)).max()))
            spread.append(span / (float(ref.abs().median()) or 1.0))
    return worst, float(np.median(medians)), relative, min(spread), max(flips)


def report(name: str, make_fused, images: list[np.ndarray], scaled: bool, target: float) -> None:
    """One row: the model on every image, random or LayerScale-scaled."""
    started = time.monotonic()
    per_image = []
    note = "random (init LayerScale)"
    for raw_image in images:
        fused = make_fused(raw_image.shape[:2])
        tensor = torch.from_numpy(raw_image)
        if scaled:
            gamma, peak = scale_to(fused, tensor, target)
            note = f"scaled g={gamma:.3g} peak={peak:.0f}"
        per_image.append(compare(fused, [tensor]))
    worst = max(row[0] for row in per_image)
    median = float(np.median([row[1] for row in per_image]))
    relative = max(row[2] for row in per_image)
    spread = min(row[3] for row in per_image)
    flips = max(row[4] for row in per_image)
    print(f"{name:<22} {note:<28} {worst:>14.2e} {median:>10.2e} {relative:>10.2e} {spread:>8.3f} {flips:>8.1e} "
          f"{time.monotonic() - started:>6.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-size", type=int, default=196)
    parser.add_argument("--images", type=int, default=1)
    parser.add_argument("--target-activation", type=float, default=300.0)
    parser.add_argument("--encoders", nargs="*", default=["vits", "vitb"])
    parser.add_argument("--da3", nargs="*", default=[], help="DA3 variants to add, e.g. da3-small da3metric-large")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    images = load_images(args.images)
    print(f"{len(images)} images ({', '.join(f'{i.shape[0]}x{i.shape[1]}' for i in images)}), network short side "
          f"{args.input_size}, CPU torch {torch.__version__}")
    print(f"{'model':<22} {'weights':<28} {'max |d|/range':>14} {'median':>10} {'max |d|/|r|':>10} "
          f"{'range/med':>8} {'sky flip':>8} {'s':>6}")
    for encoder in args.encoders:
        for version in (1, 2):
            for metric in (False, True):
                spec = model_spec(encoder, version, metric, 20.0 if metric else None)
                base = untrained_model(spec, seed=0).eval()
                for scaled in (False, True):
                    model = copy.deepcopy(base) if scaled else base
                    report(f"{encoder} V{version} {'metric' if metric else 'relative'}",
                           lambda hw, m=model: FusedDepthModel(m, hw, "bgr", args.input_size).eval(), images, scaled,
                           args.target_activation)
    for name in args.da3:
        torch.manual_seed(0)
        base = Da3Model(da3_spec(name)).eval()
        for scaled in (False, True):
            model = copy.deepcopy(base) if scaled else base
            report(name, lambda hw, m=model: Da3FusedModel(m, hw, "bgr").eval(), images, scaled,
                   args.target_activation)


if __name__ == "__main__":
    main()
