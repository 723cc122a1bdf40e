"""Run in a subprocess: the package's TensorRT code against real ``tensorrt_bindings``, as far as it goes.

The bindings load against stand-in ``libnv*.so`` whose functions all return null, which is what the real
libnvinfer's factories return when CUDA cannot start. So everything the bindings do themselves runs for
real (enums, ``nptype``, ``Logger``, the ``IProgressMonitor`` trampoline, pybind's constructor checks);
the first call that needs libnvinfer to do work, ``trt.Builder(logger)`` / ``trt.Runtime(logger)``, gets
the bindings' own nullptr error. pycuda comes from test/fakes (a "Fake Orin"), so the path past the GPU
probe is reached. Prints one JSON report.

    python bindings_drive.py GRAPH.onnx FAKES_DIR WORK_DIR
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import tensorrt_bindings

sys.modules["tensorrt"] = tensorrt_bindings  # `import tensorrt` gives the bindings' module (tensorrt-cu12)

graph, fakes, work = (Path(arg) for arg in sys.argv[1:4])


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def failure(call) -> dict:
    try:
        call()
    except BaseException as error:  # the report names whatever came
        return {"type": type(error).__name__, "message": str(error),
                "cause": type(error.__cause__).__name__ if error.__cause__ else None,
                "cause_message": str(error.__cause__) if error.__cause__ else None}
    return {"type": None}


from depth_anything_ros.export.graph_info import read_graph_info  # noqa: E402
from depth_anything_ros.runtime.engine_build import _progress_monitor, build_engine, network_flags  # noqa: E402
from depth_anything_ros.runtime.nvidia import import_tensorrt, reach_gpu  # noqa: E402
from depth_anything_ros.runtime.tensorrt_backend import (  # noqa: E402
    check_engine_tensors,
    engine_tensors,
    expected_tensors,
)

report: dict = {}
trt = import_tensorrt()  # the real version string through the package's version rule
report["version"] = trt.__version__
report["same_module"] = trt is tensorrt_bindings
report["network_flags"] = network_flags(trt)
report["strongly_typed"] = int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)

lines: list[str] = []
monitor = _progress_monitor(trt, lines.append, every_s=0.0)
report["monitor_is_trt"] = isinstance(monitor, trt.IProgressMonitor)
monitor.phase_start("Building engine", None, 2)
monitor.phase_start("Tactic selection", "Building engine", 3)
report["step_complete"] = monitor.step_complete("Tactic selection", 0)
monitor.phase_finish("Tactic selection")
monitor.phase_finish("Building engine")
report["monitor_lines"] = [line.split(" done in ")[0] for line in lines]


class Engine:
    """An engine as the bindings describe one: their own TensorIOMode and DataType values per tensor."""

    def __init__(self, tensors: dict) -> None:
        self.tensors = tensors
        self.num_io_tensors = len(tensors)

    def get_tensor_name(self, index: int) -> str:
        return list(self.tensors)[index]

    def get_tensor_mode(self, name: str):
        return self.tensors[name][0]

    def get_tensor_shape(self, name: str):
        return self.tensors[name][1]

    def get_tensor_dtype(self, name: str):
        return self.tensors[name][2]


info = read_graph_info(graph)
height, width = info.image_hw
io_in, io_out = trt.TensorIOMode.INPUT, trt.TensorIOMode.OUTPUT
real = Engine({"image": (io_in, (height, width, 3), trt.DataType.UINT8), "head": (io_in, (4,), trt.DataType.FLOAT),
               "raw": (io_out, (height, width), trt.DataType.FLOAT),
               "depth": (io_out, (height, width), trt.DataType.FLOAT)})
found = engine_tensors(real, trt)
report["tensors"] = {name: [spec.is_input, list(spec.shape), str(spec.dtype)] for name, spec in found.items()}
report["tensors_match_graph"] = failure(lambda: check_engine_tensors(found, info, "engine"))
half = Engine({**real.tensors, "raw": (io_out, (height, width), trt.DataType.HALF)})
report["half_output"] = failure(lambda: check_engine_tensors(engine_tensors(half, trt), info, "engine"))
report["expected_dtypes"] = sorted({str(spec.dtype) for spec in expected_tensors(info).values()})

logger = trt.Logger(trt.Logger.WARNING)
report["raw_builder"] = failure(lambda: trt.Builder(logger))
report["builder"] = failure(lambda: reach_gpu(trt.Builder, logger))
report["runtime"] = failure(lambda: reach_gpu(trt.Runtime, logger))
report["build_engine"] = failure(lambda: build_engine(graph, info.precision, report=lambda _: None))

package = load("pycuda", fakes / "pycuda" / "__init__.py")
driver = load("pycuda.driver", fakes / "pycuda" / "driver.py")
package.driver = driver

from depth_anything_ros.runtime.engine_cache import engine_key, save_engine  # noqa: E402
from depth_anything_ros.runtime.nvidia import probe_gpu  # noqa: E402
from depth_anything_ros.runtime.selection import choose_backend, probe_platform  # noqa: E402
from depth_anything_ros.runtime.tensorrt_backend import TensorRTBackend  # noqa: E402

platform = probe_platform()
report["platform"] = {"tensorrt_version": platform.tensorrt_version, "gpu": str(platform.gpu),
                      "tensorrt_problem": platform.tensorrt_problem}
choice = choose_backend("auto", platform, has_checkpoint=False)
report["auto"] = {"name": choice.name, "reason": choice.reason}
report["tensorrt_requested"] = failure(lambda: choose_backend("tensorrt", platform, has_checkpoint=False))
engine = work / "tiny.engine"
save_engine(engine, b"an engine this machine could not have built", graph,
            engine_key(graph, info.precision, probe_gpu(), trt.__version__), 0.0)
report["backend"] = failure(lambda: TensorRTBackend(engine))
report["contexts_left_pushed"] = len(driver._stack())
report["device_memory_left"] = len(driver.memory)
print(json.dumps(report, default=lambda value: np.asarray(value).tolist()))
