"""CPU time of Depth Anything 3 against V2 at the same network input, side by side in one run.

    python benchmarks/da3_cpu_time.py [--runs 3] [--size 280x504] [--threads 2]

Eager torch, fp32, random weights of the real architectures (time does not depend on weight values),
network forward only (no pre/post-processing). 280x504 is DA3's own input for a 16:9 camera
(process_res 504, e.g. nuScenes 1600x900 -> 504x280); V2 gets the same tensor.
"""

from __future__ import annotations

import argparse

import torch

from depth_anything_ros.model import model_spec
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import da3_spec
from depth_anything_ros.model.v2.build import untrained_model

from bench_common import median_ms

ROWS = (("V2 vits", "vits"), ("DA3-SMALL", "da3-small"), ("V2 vitb", "vitb"), ("DA3-BASE", "da3-base"),
        ("V2 vitl", "vitl"), ("DA3METRIC-LARGE", "da3metric-large"), ("DA3MONO-LARGE", "da3mono-large"))


def build(key: str) -> torch.nn.Module:
    if key.startswith("da3"):
        return Da3Model(da3_spec(key)).eval()
    return untrained_model(model_spec(key, 2)).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="280x504", help="network input HxW, multiples of 14")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    height, width = (int(v) for v in args.size.split("x"))
    x = torch.randn(1, 3, height, width)
    print(f"network input {height}x{width}, fp32, torch {torch.__version__}, {args.threads} threads, "
          f"median of {args.runs} runs after 1 warm-up")
    print("| model | params (M) | CPU ms |\n|---|---|---|")
    for label, key in ROWS:
        model = build(key)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        with torch.inference_mode():
            ms = median_ms(lambda m=model: m(x), args.runs)
        print(f"| {label} | {params:.1f} | {ms:.0f} |", flush=True)


if __name__ == "__main__":
    main()
