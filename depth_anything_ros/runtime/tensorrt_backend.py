"""The fused graph as a TensorRT 10 engine: tensor-name I/O, buffers allocated once, one CUDA stream.

The node calls ``infer`` from executor threads; every CUDA call runs on one thread this backend owns
(pycuda releases a context only from the thread that made it), with the context pushed and popped
again, one frame at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_anything_ros.export import GraphInfo
from depth_anything_ros.export.graph_info import DEPTH_OUTPUT, FOCAL_INPUT, HEAD_INPUT, IMAGE_INPUT, RAW_OUTPUT
from depth_anything_ros.runtime.backend import DepthBackend, DepthOutput
from depth_anything_ros.runtime.engine_cache import read_record
from depth_anything_ros.runtime.nvidia import import_cuda_driver, import_tensorrt, reach_gpu


class EngineLoadError(RuntimeError):
    """The engine file cannot serve this graph: corrupt, foreign, or of other shapes."""


@dataclass(frozen=True)
class TensorSpec:
    """One I/O tensor of an engine, read through the tensor-name API."""

    name: str
    is_input: bool
    shape: tuple[int, ...]
    dtype: np.dtype


def engine_tensors(engine, trt) -> dict[str, TensorSpec]:
    """Every I/O tensor of a deserialized engine by name."""
    specs = {}
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        specs[name] = TensorSpec(name=name, is_input=engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT,
                                 shape=tuple(engine.get_tensor_shape(name)),
                                 dtype=np.dtype(trt.nptype(engine.get_tensor_dtype(name))))
    return specs


DYNAMIC = -1  # how TensorRT reports a dimension an optimization profile decides (a batched graph's batch)


def expected_tensors(info: GraphInfo) -> dict[str, TensorSpec]:
    """The I/O every fused graph of this resolution has (DA3 graphs: plus ``focal``); a batched graph's lead with
    a dynamic batch dimension."""
    height, width = info.image_hw
    lead = (DYNAMIC,) if info.batched else ()
    tensors = {
        IMAGE_INPUT: TensorSpec(IMAGE_INPUT, True, (*lead, height, width, 3), np.dtype(np.uint8)),
        HEAD_INPUT: TensorSpec(HEAD_INPUT, True, (*lead, 4), np.dtype(np.float32)),
        RAW_OUTPUT: TensorSpec(RAW_OUTPUT, False, (*lead, height, width), np.dtype(np.float32)),
        DEPTH_OUTPUT: TensorSpec(DEPTH_OUTPUT, False, (*lead, height, width), np.dtype(np.float32)),
    }
    if FOCAL_INPUT in info.input_names:
        tensors[FOCAL_INPUT] = TensorSpec(FOCAL_INPUT, True, (*lead, 1), np.dtype(np.float32))
    return tensors


def with_batch(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    """``shape`` with its dynamic batch dimension set to ``batch`` (unchanged for a one-image engine)."""
    return tuple(batch if dim == DYNAMIC else dim for dim in shape)


def check_engine_tensors(found: dict[str, TensorSpec], info: GraphInfo, source: str | Path) -> None:
    """EngineLoadError naming every tensor that differs from the fused graph's I/O."""
    expected = expected_tensors(info)
    problems = [f"missing {name}" for name in expected if name not in found]
    problems += [f"unexpected tensor {name}" for name in found if name not in expected]
    for name, want in expected.items():
        have = found.get(name)
        if have is not None and have != want:
            problems.append(f"{name}: expected {'input' if want.is_input else 'output'} {want.shape} {want.dtype}, "
                            f"found {'input' if have.is_input else 'output'} {have.shape} {have.dtype}")
    if problems:
        raise EngineLoadError(f"{source} does not match its fused graph: " + "; ".join(problems))


class TensorRTBackend(DepthBackend):
    """One deserialized engine and execution context on one GPU."""

    name = "tensorrt"

    def __init__(self, engine_path: str | Path, device_index: int = 0) -> None:
        engine_path = Path(engine_path)
        record = read_record(engine_path)
        super().__init__(record.graph)
        self.engine_path = engine_path
        self._owner = ThreadPoolExecutor(1, thread_name_prefix="tensorrt-cuda")
        self._device_buffers: dict[str, object] = {}
        try:
            self._on_owner(lambda: self._open(engine_path, device_index))
        except BaseException:
            self.close()
            raise

    def _on_owner(self, work: Callable[[], object]):
        """Run ``work`` on the thread that owns the CUDA context; its exception is raised here."""
        return self._owner.submit(work).result()

    def _open(self, engine_path: Path, device_index: int) -> None:
        trt = import_tensorrt()
        cuda = import_cuda_driver()
        self._cuda = cuda
        self._context = cuda.Device(device_index).retain_primary_context()
        with self._pushed():
            logger = trt.Logger(trt.Logger.WARNING)
            self._runtime = reach_gpu(trt.Runtime, logger)
            self._engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
            if self._engine is None:
                raise EngineLoadError(f"TensorRT {trt.__version__} cannot deserialize {engine_path}: corrupt, or "
                                      "built by another TensorRT version or for another GPU")
            self.tensors = engine_tensors(self._engine, trt)
            check_engine_tensors(self.tensors, self.info, engine_path)
            self._execution = self._engine.create_execution_context()
            self._stream = cuda.Stream()
            most = max(self.info.max_batch, 1)  # buffers hold the largest batch once; runs set their own shapes
            self._host = {n: cuda.pagelocked_empty(with_batch(s.shape, most), s.dtype) for n, s in self.tensors.items()}
            for name, spec in self.tensors.items():
                self._device_buffers[name] = cuda.mem_alloc(self._host[name].nbytes)
                if spec.is_input:
                    self._set_shape(name, with_batch(spec.shape, most))
                if not self._execution.set_tensor_address(name, int(self._device_buffers[name])):
                    raise EngineLoadError(f"{engine_path}: TensorRT refused the device address of {name}")

    def _set_shape(self, name: str, shape: tuple[int, ...]) -> None:
        if not self._execution.set_input_shape(name, shape):
            raise EngineLoadError(f"{self.engine_path}: TensorRT refused input shape {shape} for {name}")

    @contextlib.contextmanager
    def _pushed(self) -> Iterator[None]:
        self._context.push()
        try:
            yield
        finally:
            self._cuda.Context.pop()

    def _run(self, image: np.ndarray, head: np.ndarray, focal: np.ndarray | None) -> DepthOutput:
        return self._on_owner(lambda: self._run_owned(image, head, focal))

    def _run_owned(self, image: np.ndarray, head: np.ndarray, focal: np.ndarray | None) -> DepthOutput:
        cuda = self._cuda
        feeds = {IMAGE_INPUT: image, HEAD_INPUT: head, **({FOCAL_INPUT: focal} if focal is not None else {})}
        batch = image.shape[0] if self.info.batched else None
        used = slice(None) if batch is None else slice(0, batch)  # a batch fills the buffers' first rows
        with self._pushed():
            for name, value in feeds.items():
                host = self._host[name][used]
                np.copyto(host, value)
                cuda.memcpy_htod_async(self._device_buffers[name], host, self._stream)
                if batch is not None:
                    self._set_shape(name, value.shape)
            if not self._execution.execute_async_v3(self._stream.handle):
                raise RuntimeError(f"TensorRT execution failed for {self.engine_path}")
            for name in (RAW_OUTPUT, DEPTH_OUTPUT):
                cuda.memcpy_dtoh_async(self._host[name][used], self._device_buffers[name], self._stream)
            self._stream.synchronize()
            return DepthOutput(raw=self._host[RAW_OUTPUT][used].copy(), depth=self._host[DEPTH_OUTPUT][used].copy())

    def close(self) -> None:
        """Free device memory and TensorRT objects inside the context, then release the context,
        all on the thread that made it."""
        owner = self.__dict__.get("_owner")
        if owner is None:
            return
        try:
            owner.submit(self._close_owned).result()
        finally:
            owner.shutdown(wait=True)
            del self._owner

    def _close_owned(self) -> None:
        if not hasattr(self, "_context"):
            return
        with self._pushed():
            for buffer in self._device_buffers.values():
                buffer.free()
            self._device_buffers.clear()
            for name in ("_execution", "_engine", "_runtime", "_stream"):
                self.__dict__.pop(name, None)
        self._context.detach()
        del self._context
