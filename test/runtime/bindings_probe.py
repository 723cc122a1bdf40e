"""Run in a subprocess: import real ``tensorrt_bindings`` and report which declared names it lacks (JSON)."""

import json
import sys

import tensorrt_bindings as trt

api, optional = json.loads(sys.argv[1])
missing, optional_missing = [], []
for owner, names in api.items():
    target = trt if not owner else getattr(trt, owner, None)
    for name in names:
        if target is None or not hasattr(target, name):
            missing.append(f"{owner}.{name}" if owner else name)
for owner, names in optional.items():
    for name in names:
        if not hasattr(getattr(trt, owner, None), name):
            optional_missing.append(f"{owner}.{name}")
weak = {"Builder.platform_has_fast_fp16": hasattr(trt.Builder, "platform_has_fast_fp16"),
        "BuilderFlag.FP16": hasattr(trt.BuilderFlag, "FP16"),
        "ILayer.set_output_type": hasattr(getattr(trt, "ILayer", None), "set_output_type")}
print(json.dumps({"version": trt.__version__, "missing": missing, "optional_missing": optional_missing,
                  "weak": weak}))
