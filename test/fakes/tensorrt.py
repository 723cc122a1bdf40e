"""A CPU stand-in for the TensorRT 10 Python API surface this package uses, with the same names.

The "engine" it serializes is the ONNX graph itself (behind a magic header); executing it runs
onnxruntime on the buffers at the tensor addresses set through the tensor-name API, reading and
writing the fake pycuda device memory. An fp16 engine rounds its outputs through float16, so the
self-check sees realistic drift. Class attributes let tests switch on failures.
"""

from __future__ import annotations

import enum
import json

import numpy as np
import onnx

__version__ = "10.3.0"
MAGIC = b"FAKETRT1"


class Logger:
    WARNING = 2
    INFO = 3

    def __init__(self, severity: int = WARNING) -> None:
        self.severity = severity


class DataType(enum.Enum):
    FLOAT = np.float32
    HALF = np.float16
    UINT8 = np.uint8
    INT64 = np.int64
    INT32 = np.int32
    BOOL = np.bool_


float32, float16, uint8, int64, int32 = DataType.FLOAT, DataType.HALF, DataType.UINT8, DataType.INT64, DataType.INT32
_FROM_ONNX = {onnx.TensorProto.FLOAT: float32, onnx.TensorProto.UINT8: uint8, onnx.TensorProto.INT64: int64,
              onnx.TensorProto.INT32: int32, onnx.TensorProto.BOOL: DataType.BOOL}


def nptype(dtype: DataType) -> type:
    return dtype.value


class LayerType(enum.Enum):
    NORMALIZATION = "normalization"
    ELEMENTWISE = "elementwise"
    SHAPE = "shape"
    OTHER = "other"


class TensorIOMode(enum.Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class MemoryPoolType(enum.Enum):
    WORKSPACE = 0


class BuilderFlag(enum.IntEnum):
    TF32 = 7  # the only flag the package touches; the weakly typed ones are absent, as in TensorRT 11


class NetworkDefinitionCreationFlag(enum.IntEnum):
    STRONGLY_TYPED = 1


class IProgressMonitor:
    def __init__(self) -> None:
        pass


class ITensor:
    def __init__(self, dtype: DataType, name: str = "", shape: tuple[int, ...] = ()) -> None:
        self.dtype, self.name, self.shape = dtype, name, shape


def _dims(value: onnx.ValueInfoProto) -> tuple[int, ...]:
    """A graph input's or output's shape, -1 where it is symbolic (as TensorRT reports a dynamic dimension)."""
    return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim)


class IOptimizationProfile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {}

    def set_shape(self, name: str, min, opt, max) -> None:  # TensorRT names them so
        self.shapes[name] = (tuple(min), tuple(opt), tuple(max))


class ILayer:
    def __init__(self, name: str, layer_type: LayerType, outputs: list[ITensor]) -> None:
        self.name, self.type, self._outputs = name, layer_type, outputs

    @property
    def num_outputs(self) -> int:
        return len(self._outputs)

    def get_output(self, index: int) -> ITensor:
        return self._outputs[index]


class INetworkDefinition:
    def __init__(self, flags: int = 0) -> None:
        self.flags = flags
        self.layers: list[ILayer] = []
        self.inputs: list[ITensor] = []
        self.onnx_bytes = b""

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    def get_input(self, index: int) -> ITensor:
        return self.inputs[index]

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def get_layer(self, index: int) -> ILayer:
        return self.layers[index]


class ErrorCode(enum.Enum):
    SUCCESS = 0
    UNSUPPORTED_NODE = 8


class ParserError:
    def __init__(self, node: int, name: str, operator: str, desc: str) -> None:
        self._node, self._name, self._operator, self._desc = node, name, operator, desc

    def code(self) -> ErrorCode:
        return ErrorCode.UNSUPPORTED_NODE

    def desc(self) -> str:
        return self._desc

    def node(self) -> int:
        return self._node

    def node_name(self) -> str:
        return self._name

    def node_operator(self) -> str:
        return self._operator


class OnnxParser:
    unsupported_ops: frozenset[str] = frozenset()

    def __init__(self, network: INetworkDefinition, logger: Logger) -> None:
        self.network = network
        self.errors: list[ParserError] = []

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, index: int) -> ParserError:
        return self.errors[index]

    def parse_from_file(self, path: str) -> bool:
        with open(path, "rb") as stream:
            data = stream.read()
        model = onnx.load_from_string(data)
        types = {v.name: v.type.tensor_type.elem_type for v in
                 [*model.graph.input, *model.graph.output, *onnx.shape_inference.infer_shapes(model).graph.value_info]}
        types.update({t.name: t.data_type for t in model.graph.initializer})
        uint8_inputs = {v.name for v in model.graph.input if v.type.tensor_type.elem_type == onnx.TensorProto.UINT8}
        for index, node in enumerate(model.graph.node):
            if node.op_type != "Cast" and uint8_inputs.intersection(node.input):
                # ModelImporter.cpp: UINT8 tensors exist only as graph I/O feeding a Cast directly.
                self.errors.append(ParserError(index, node.name, node.op_type,
                                               "TensorRT does not support UINT8 types for intermediate tensors"))
                continue
            if node.op_type in self.unsupported_ops:
                self.errors.append(ParserError(index, node.name, node.op_type,
                                               f"No importer registered for op: {node.op_type}"))
                continue
            elementwise = LayerType.ELEMENTWISE if node.op_type in ("Add", "Mul", "Div", "Sub") else LayerType.OTHER
            layer_type = {"LayerNormalization": LayerType.NORMALIZATION, "Shape": LayerType.SHAPE}.get(
                node.op_type, elementwise)
            outputs = [ITensor(_FROM_ONNX.get(types.get(n, onnx.TensorProto.FLOAT), float32)) for n in node.output]
            self.network.layers.append(ILayer(node.name, layer_type, outputs))
        self.network.inputs = [ITensor(_FROM_ONNX[v.type.tensor_type.elem_type], v.name, _dims(v))
                               for v in model.graph.input]
        self.network.onnx_bytes = data
        return not self.errors


class ITimingCache:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def serialize(self) -> bytes:
        return self.data + b"+timing"


class IBuilderConfig:
    def __init__(self) -> None:
        self.flags: set[BuilderFlag] = {BuilderFlag.TF32}  # on by default, as in TensorRT
        self.pool_limits: dict[MemoryPoolType, int] = {}
        self.timing_cache: ITimingCache | None = None
        self.progress_monitor: IProgressMonitor | None = None
        self.profiles: list[IOptimizationProfile] = []

    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def set_memory_pool_limit(self, pool: MemoryPoolType, size: int) -> None:
        self.pool_limits[pool] = size

    def set_flag(self, flag: BuilderFlag) -> None:
        self.flags.add(flag)

    def clear_flag(self, flag: BuilderFlag) -> None:
        self.flags.discard(flag)

    def get_flag(self, flag: BuilderFlag) -> bool:
        return flag in self.flags

    def create_timing_cache(self, data: bytes) -> ITimingCache:
        return ITimingCache(bytes(data))

    accept_timing_cache = True

    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        self.timing_cache = cache
        return self.accept_timing_cache

    def get_timing_cache(self) -> ITimingCache | None:
        return self.timing_cache


class Builder:
    fail_build = False
    cuda_unreachable = False  # the real bindings' failure when the driver and CUDA runtime disagree
    last_network: INetworkDefinition | None = None
    last_config: IBuilderConfig | None = None

    def __init__(self, logger: Logger) -> None:
        if self.cuda_unreachable:
            raise TypeError("pybind11::init(): factory function returned nullptr")
        self.logger = logger

    def create_network(self, flags: int = 0) -> INetworkDefinition:
        return INetworkDefinition(flags)

    def create_builder_config(self) -> IBuilderConfig:
        return IBuilderConfig()

    def create_optimization_profile(self) -> IOptimizationProfile:
        return IOptimizationProfile()

    def build_serialized_network(self, network: INetworkDefinition, config: IBuilderConfig) -> bytes | None:
        Builder.last_network, Builder.last_config = network, config
        monitor = config.progress_monitor
        if monitor is not None:
            monitor.phase_start("Building engine", None, 2)
            monitor.phase_start("Tactic selection", "Building engine", 3)
            for step in range(3):
                monitor.step_complete("Tactic selection", step)
            monitor.phase_finish("Tactic selection")
            monitor.step_complete("Building engine", 0)
            monitor.phase_finish("Building engine")
        if self.fail_build:
            return None
        if not network.flags & (1 << NetworkDefinitionCreationFlag.STRONGLY_TYPED):
            return None  # this stand-in only builds strongly typed networks, as TensorRT 11 does
        model = onnx.load_from_string(network.onnx_bytes)
        meta = {p.key: p.value for p in model.metadata_props}.get("depth_anything_ros", "{}")
        fp16 = json.loads(meta).get("precision") == "fp16"
        dynamic = [t.name for t in network.inputs if -1 in t.shape]
        profile = config.profiles[0].shapes if config.profiles else {}
        if any(name not in profile for name in dynamic):
            return None  # TensorRT: "Network has dynamic or shape inputs, but no optimization profile"
        header = json.dumps({"fp16": fp16, "version": __version__, "profile": profile}).encode()
        return MAGIC + len(header).to_bytes(4, "little") + header + network.onnx_bytes


class IExecutionContext:
    def __init__(self, engine: ICudaEngine) -> None:
        self.engine = engine
        self.addresses: dict[str, int] = {}
        self.input_shapes: dict[str, tuple[int, ...]] = {}

    def set_input_shape(self, name: str, shape) -> bool:
        shape = tuple(shape)
        self.input_shapes[name] = shape
        declared = self.engine.get_tensor_shape(name)
        if name not in self.engine.profile:
            return shape == declared
        low, _, high = self.engine.profile[name]
        return len(shape) == len(declared) and all(lo <= s <= hi for s, lo, hi in zip(shape, low, high, strict=True))

    refuse_tensor_address = False
    fail_execute = False

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = address
        return not self.refuse_tensor_address

    def execute_async_v3(self, stream_handle: int) -> bool:
        from pycuda import driver

        driver._require_context()
        if self.fail_execute:
            return False
        feeds = {}
        for name, (mode, _, dtype) in self.engine.tensors.items():
            if mode == TensorIOMode.INPUT:
                shape = self.input_shapes[name]  # the shape this run set (a batch: its first rows of the buffer)
                size = int(np.prod(shape)) * np.dtype(nptype(dtype)).itemsize
                feeds[name] = np.frombuffer(driver.memory[self.addresses[name]][:size], nptype(dtype)).reshape(shape)
        names = [n for n, (mode, _, _) in self.engine.tensors.items() if mode == TensorIOMode.OUTPUT]
        for name, value in zip(names, self.engine.session.run(names, feeds), strict=True):
            if self.engine.fp16:
                value = value.astype(np.float16).astype(np.float32)
            data = value.tobytes()
            driver.memory[self.addresses[name]][:len(data)] = data
        return True


class ICudaEngine:
    def __init__(self, header: dict, onnx_bytes: bytes) -> None:
        import onnxruntime

        self.fp16 = header["fp16"]
        self.profile = {name: tuple(map(tuple, shapes)) for name, shapes in header.get("profile", {}).items()}
        self.session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        model = onnx.load_from_string(onnx_bytes)
        self.tensors = {}
        for mode, values in ((TensorIOMode.INPUT, model.graph.input), (TensorIOMode.OUTPUT, model.graph.output)):
            for value in values:
                self.tensors[value.name] = (mode, _dims(value), _FROM_ONNX[value.type.tensor_type.elem_type])

    @property
    def num_io_tensors(self) -> int:
        return len(self.tensors)

    def get_tensor_name(self, index: int) -> str:
        return list(self.tensors)[index]

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        return self.tensors[name][0]

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.tensors[name][1]

    def get_tensor_dtype(self, name: str) -> DataType:
        return self.tensors[name][2]

    def create_execution_context(self) -> IExecutionContext:
        return IExecutionContext(self)


class Runtime:
    def __init__(self, logger: Logger) -> None:
        self.logger = logger

    def deserialize_cuda_engine(self, data: bytes) -> ICudaEngine | None:
        from pycuda import driver

        driver._require_context()
        if not data.startswith(MAGIC):
            return None
        size = int.from_bytes(data[8:12], "little")
        header = json.loads(data[12:12 + size])
        if header["version"] != __version__:
            return None
        return ICudaEngine(header, data[12 + size:])
