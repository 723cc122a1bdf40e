"""Generate test/data/golden_tiny_da3 from the OFFICIAL Depth Anything 3 code (run once, by hand).

Usage (the official repository is fetched separately and never copied here):
    python scripts/make_golden_tiny_da3.py --official-src <Depth-Anything-3>/src \
        --data ../shared/data --out test/data/golden_tiny_da3

Needs einops, omegaconf, addict, huggingface_hub, safetensors, opencv, pillow beside torch.
Builds two tiny networks from the official classes (DinoVisionTransformer, DualDPT, DPT, CameraEnc,
CameraDec, DepthAnything3Net), draws random weights that make the output vary, rounds them to float16
so the stored float16 file holds them exactly, runs the official InputProcessor and backbone + head in
FP32 without autocast, and stores strided samples of the outputs. See the README it writes.
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
from safetensors.torch import save_file

SEED = 16
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


@torch.no_grad()
def randomise(net: torch.nn.Module, seed: int) -> None:
    """Tokens, position embedding, norms, LayerScale and biases redrawn so every part matters."""
    torch.manual_seed(seed)
    for name, p in net.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in ("pos_embed", "cls_token", "camera_token"):
            p.normal_(0.0, 1.0)
        elif leaf == "gamma":
            p.uniform_(0.5, 1.5)
        elif p.ndim == 1 and leaf == "weight":  # LayerNorm scales
            p.normal_(1.0, 0.2)
        elif p.ndim == 1:  # biases
            p.uniform_(-0.1, 0.1)
        # other weights keep PyTorch's default (seeded) initialisation


@torch.no_grad()
def standardise_logits(net: torch.nn.Module, x: torch.Tensor) -> None:
    """Rescale each head's last 1x1 conv so its logits have mean 0 and std 0.5 on one image.

    Default-initialised heads give logits near 0 everywhere (depth ~1, no sky), which would hide
    errors; standardised logits give depth over about exp(+-2) and sky on about half the pixels.
    """
    scratch = net.head.scratch
    layers = [scratch.output_conv2[-1]]
    if hasattr(scratch, "sky_output_conv2"):
        layers.append(scratch.sky_output_conv2[-1])
    seen = {}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o)) for n, m in enumerate(layers)]
    feats, _ = net.backbone(x)
    net.head(feats, x.shape[-2], x.shape[-1], patch_start_idx=0)
    for hook in hooks:
        hook.remove()
    for n, conv in enumerate(layers):
        logits = seen[n][0, 0]  # channel 0: depth (or sky)
        a = 0.5 / float(logits.std())
        conv.weight[0].mul_(a)
        conv.bias[0] = a * (conv.bias[0] - logits.mean())


def round_to_half(net: torch.nn.Module) -> None:
    """Weights exactly representable in float16, so the stored float16 file loses nothing."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.half().float())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official-src", type=Path, required=True, help="the official repository's src/ folder")
    parser.add_argument("--data", type=Path, required=True, help="../shared/data")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    install_transforms_if_missing()
    sys.path.insert(0, str(args.official_src))
    from depth_anything_3.utils.io.input_processor import InputProcessor

    args.out.mkdir(parents=True, exist_ok=True)
    cases = []
    for index, kind in enumerate(("any-view", "mono")):
        torch.manual_seed(SEED + index)  # seeds the default initialisation of every conv/linear weight
        net = build_official(kind)
        net.eval()
        randomise(net, SEED + index)
        first = cv2.cvtColor(cv2.imread(str(args.data / IMAGES["nyu_224x224"][0])), cv2.COLOR_BGR2RGB)
        standardise_logits(net, InputProcessor()([first], process_res=504, sequential=True)[0][None].float())
        round_to_half(net)
        state = {f"model.{k}": v.half().contiguous() for k, v in net.state_dict().items()}
        weights = f"tiny_da3_{kind}/model.safetensors"  # the official hub layout: model.safetensors + config.json
        (args.out / weights).parent.mkdir(exist_ok=True)
        save_file(state, str(args.out / weights))
        (args.out / weights).with_name("config.json").write_text(json.dumps({"model_name": f"tiny-da3-{kind}"}))
        for image_id, (rel, k) in IMAGES.items():
            bgr = cv2.imread(str(args.data / rel), cv2.IMREAD_COLOR)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            imgs, _, ixts = InputProcessor()([rgb], intrinsics=np.array([k], dtype=np.float32), process_res=504,
                                             process_res_method="upper_bound_resize", sequential=True,
                                             num_workers=1, print_progress=False)
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
            cases.append({"kind": kind, "image": image_id, "weights": weights, "network_input_hw": [h, w],
                          "intrinsics": k, "processed_intrinsics": ixts[0].tolist(), "outputs": files})
    meta = {"official_commit": "2c21ea8", "seed": SEED, "stride": STRIDE, "process_res": 504,
            "process_res_method": "upper_bound_resize", "architectures": {
                "any-view": "DinoVisionTransformer(embed 32, depth 6, heads 2, alt/qknorm/rope start 2, cat_token) "
                            "taps [1,3,4,5]; DualDPT(dim_in 64, features 16, out [8,16,32,32]); "
                            "CameraEnc(dim_out 32, trunk_depth 1, heads 2); CameraDec(dim_in 64)",
                "mono": "DinoVisionTransformer(embed 32, depth 4, heads 2, plain) taps [0,1,2,3]; "
                        "DPT(dim_in 32, features 16, out [8,16,32,32], sky head)"},
            "cases": cases}
    (args.out / "golden.json").write_text(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
