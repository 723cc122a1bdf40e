"""Generate test/data/golden_tiny_da3 from the OFFICIAL Depth Anything 3 code (run once, by hand).

Usage (from the repository root; the official repository is fetched separately and never copied here):
    PYTHONPATH=. python scripts/make_golden_tiny_da3.py --official-src <Depth-Anything-3>/src \
        --data ../shared/data --out test/data/golden_tiny_da3
    PYTHONPATH=. python scripts/make_golden_tiny_da3.py --official-src ... --data ../shared/data --measure

Needs einops, omegaconf, addict, huggingface_hub, safetensors, opencv, pillow beside torch.
Builds two tiny networks from the official classes (DinoVisionTransformer, DualDPT, DPT, CameraEnc,
CameraDec, DepthAnything3Net), fills them with the seeded weights of our rule
(depth_anything_ros/model/da3/tiny.py; no weight file is written), runs the official InputProcessor and
backbone + head in FP32 without autocast, and stores strided samples of the outputs in golden.json + .npy.
``--measure`` prints the rule's LOGIT_AFFINE (measured on weights drawn without it). See the folder README.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import torch

from depth_anything_ros.model.da3.tiny import (
    DEPTH_CONV,
    LOGIT_AFFINE,
    SKY_CONV,
    TINY_SEEDS,
    state_digest,
    tiny_da3_state,
)

STRIDE = 3  # outputs are stored as out[::3, ::3] to keep the files small
IMAGES = {
    "nyu_224x224": ("nyu_sample/rgb.png", [[200.0, 0.0, 111.5], [0.0, 210.0, 112.5], [0.0, 0.0, 1.0]]),
    "kitti_375x1242": ("kitti_object/image_2/000001.png",
                       [[721.5377, 0.0, 609.5593], [0.0, 721.5377, 172.854], [0.0, 0.0, 1.0]]),
    "nuscenes_900x1600": ("nuscenes_mini_sample/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg",
                          [[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]]),
}


def install_transforms_if_missing() -> None:
    """The official InputProcessor imports torchvision only for ToTensor and Normalize.

    Where no torchvision matches the installed torch, provide those two with torchvision's
    documented arithmetic (uint8 HWC -> float CHW / 255; (x - mean) / std).
    """
    try:
        import torchvision.transforms  # noqa: F401
        return
    except Exception:  # a torchvision built for another torch raises RuntimeError on import
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]

    class ToTensor:
        def __call__(self, pic):
            return torch.from_numpy(np.array(pic, dtype=np.uint8)).permute(2, 0, 1).contiguous().float().div(255)

    class Normalize:
        def __init__(self, mean, std):
            self.mean, self.std = torch.tensor(mean), torch.tensor(std)

        def __call__(self, t):
            return (t - self.mean[:, None, None]) / self.std[:, None, None]

    transforms = types.ModuleType("torchvision.transforms")
    transforms.ToTensor, transforms.Normalize = ToTensor, Normalize
    package = types.ModuleType("torchvision")
    package.transforms = transforms
    sys.modules["torchvision"], sys.modules["torchvision.transforms"] = package, transforms


def build_official(kind: str):
    from depth_anything_3.model.cam_dec import CameraDec
    from depth_anything_3.model.cam_enc import CameraEnc
    from depth_anything_3.model.da3 import DepthAnything3Net
    from depth_anything_3.model.dinov2.dinov2 import DinoV2
    from depth_anything_3.model.dinov2.vision_transformer import DinoVisionTransformer
    from depth_anything_3.model.dpt import DPT
    from depth_anything_3.model.dualdpt import DualDPT

    if kind == "any-view":
        arch = dict(embed_dim=32, depth=6, num_heads=2, alt_start=2, qknorm_start=2, rope_start=2, cat_token=True)
        taps = [1, 3, 4, 5]
    else:
        arch = dict(embed_dim=32, depth=4, num_heads=2, alt_start=-1, qknorm_start=-1, rope_start=-1, cat_token=False)
        taps = [0, 1, 2, 3]
    # DinoV2 only names the official sizes: build one, then swap in the tiny ViT (same class and arguments
    # as its factories pass: img_size 518, patch 14, mlp_ratio 4, MLP FFN).
    backbone = DinoV2("vits", taps, arch["alt_start"], arch["qknorm_start"], arch["rope_start"], arch["cat_token"])
    backbone.pretrained = DinoVisionTransformer(img_size=518, patch_size=14, mlp_ratio=4, ffn_layer="mlp", **arch)
    if kind == "any-view":
        head = DualDPT(dim_in=64, output_dim=2, features=16, out_channels=[8, 16, 32, 32])
        return DepthAnything3Net(backbone, head, cam_dec=CameraDec(dim_in=64),
                                 cam_enc=CameraEnc(dim_out=32, trunk_depth=1, num_heads=2))
    head = DPT(dim_in=32, output_dim=1, features=16, out_channels=[8, 16, 32, 32])
    return DepthAnything3Net(backbone, head)


def last_convs(net: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """The last 1x1 conv of each head branch whose channel 0 the weight rule rescales, by our key name."""
    scratch = net.head.scratch
    convs = {DEPTH_CONV: scratch.output_conv2[-1]}
    if hasattr(scratch, "sky_output_conv2"):
        convs[SKY_CONV] = scratch.sky_output_conv2[-1]
    return convs


@torch.no_grad()
def measure_affine(net: torch.nn.Module, x: torch.Tensor) -> dict[str, tuple[float, float]]:
    """(scale, shift) making channel 0 of each last conv's logits mean 0, std 0.5 on ``x`` (4 significant digits).

    Run on weights drawn without the affine; the result is pasted into LOGIT_AFFINE of model/da3_tiny.py.
    """
    seen: dict[str, torch.Tensor] = {}
    convs = last_convs(net)
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o)) for n, m in convs.items()]
    with torch.autocast("cpu", enabled=False):
        feats, _ = net.backbone(x)
        net.head(feats, x.shape[-2], x.shape[-1], patch_start_idx=0)
    for hook in hooks:
        hook.remove()
    affine = {}
    for name in convs:
        logits = seen[name][0, 0].double()
        scale = float(f"{0.5 / float(logits.std()):.4g}")
        affine[name] = (scale, float(f"{-scale * float(logits.mean()):.4g}"))
    return affine


def load_rule_weights(net: torch.nn.Module, kind: str, affine: dict | None = None) -> str:
    """Fill the official network with our seeded rule (same key names, without ``model.``); its digest."""
    state = tiny_da3_state(kind, affine=affine)
    net.load_state_dict(state, strict=True)  # every official tensor is covered, none is extra
    return state_digest(state)


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official-src", type=Path, required=True, help="the official repository's src/ folder")
    parser.add_argument("--data", type=Path, required=True, help="../shared/data")
    parser.add_argument("--out", type=Path, help="output folder (golden.json + .npy)")
    parser.add_argument("--measure", action="store_true",
                        help="print the LOGIT_AFFINE of model/da3_tiny.py (weights drawn without it) and stop")
    args = parser.parse_args()
    if not args.measure and args.out is None:
        parser.error("--out is required unless --measure is given")
    install_transforms_if_missing()
    sys.path.insert(0, str(args.official_src))
    from depth_anything_3.utils.io.input_processor import InputProcessor

    if args.measure:
        for kind in ("any-view", "mono"):
            net = build_official(kind).eval()
            load_rule_weights(net, kind, affine={})
            x = InputProcessor()([read_rgb(args.data / IMAGES["nyu_224x224"][0])], process_res=504,
                                 sequential=True)[0][None].float()
            print(f"{kind!r}: {measure_affine(net, x)}")
        return

    args.out.mkdir(parents=True, exist_ok=True)
    cases, digests = [], {}
    for kind in ("any-view", "mono"):
        net = build_official(kind).eval()
        digests[kind] = load_rule_weights(net, kind)
        for image_id, (rel, k) in IMAGES.items():
            imgs, _, ixts = InputProcessor()([read_rgb(args.data / rel)], intrinsics=np.array([k], dtype=np.float32),
                                             process_res=504, process_res_method="upper_bound_resize",
                                             sequential=True, num_workers=1, print_progress=False)
            x = imgs[None].float()  # (B=1, S=1, 3, H, W), as api.py feeds the network
            h, w = x.shape[-2:]
            with torch.no_grad(), torch.autocast("cpu", enabled=False):  # FP32 reference: no autocast
                feats, _ = net.backbone(x)
                out = net.head(feats, h, w, patch_start_idx=0)  # == DepthAnything3Net._process_depth_head
            stem = f"{kind}_{image_id}"
            files = {}
            for key in ("depth", "sky"):
                if key in out:
                    files[key] = f"{stem}_{key}.npy"
                    np.save(args.out / files[key], out[key][0, 0].float().numpy()[::STRIDE, ::STRIDE].copy())
            d = out["depth"][0, 0]
            print(f"{stem}: input {tuple(x.shape[-2:])} depth min {d.min():.4g} max {d.max():.4g} std {d.std():.4g}"
                  + (f" sky>0 {float((out['sky'] > 0).float().mean()):.2f} max {float(out['sky'].max()):.3g}"
                     if "sky" in out else ""))
            cases.append({"kind": kind, "image": image_id, "network_input_hw": [h, w],
                          "intrinsics": k, "processed_intrinsics": ixts[0].tolist(), "outputs": files})
    meta = {"official_commit": "2c21ea8", "stride": STRIDE, "process_res": 504,
            "process_res_method": "upper_bound_resize",
            "weights": {"rule": "depth_anything_ros.model.da3.tiny.tiny_da3_state", "seeds": {
                k: TINY_SEEDS[k] for k in digests}, "logit_affine": {k: LOGIT_AFFINE[k] for k in digests},
                "sha256_float16": digests},
            "architectures": {
                "any-view": "DinoVisionTransformer(embed 32, depth 6, heads 2, alt/qknorm/rope start 2, cat_token) "
                            "taps [1,3,4,5]; DualDPT(dim_in 64, features 16, out [8,16,32,32]); "
                            "CameraEnc(dim_out 32, trunk_depth 1, heads 2); CameraDec(dim_in 64)",
                "mono": "DinoVisionTransformer(embed 32, depth 4, heads 2, plain) taps [0,1,2,3]; "
                        "DPT(dim_in 32, features 16, out [8,16,32,32], sky head)"},
            "cases": cases}
    (args.out / "golden.json").write_text(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
