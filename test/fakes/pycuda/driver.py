"""A CPU stand-in for the parts of ``pycuda.driver`` the TensorRT backend uses, with the same names.

Device memory is host memory keyed by a fake address. Every memory or stream call checks that a
context is pushed on the calling thread, as CUDA requires, so missing push/pop is caught.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np

_addresses = itertools.count(0x10000, 0x10000)
memory: dict[int, bytearray] = {}
freed: list[int] = []
_stacks = threading.local()
DEVICES = [("Fake Orin", (8, 7))]


class LogicError(RuntimeError):
    pass


def _stack() -> list:
    if not hasattr(_stacks, "contexts"):
        _stacks.contexts = []
    return _stacks.contexts


def _require_context() -> None:
    if not _stack():
        raise LogicError("cuFunction: no current context (push a context on this thread first)")


def init() -> None:
    return None


class Context:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.detached = False
        self.thread = threading.get_ident()

    def push(self) -> None:
        _stack().append(self)

    @staticmethod
    def pop() -> None:
        if not _stack():
            raise LogicError("context stack is empty")
        _stack().pop()

    def detach(self) -> None:
        if threading.get_ident() != self.thread:  # pycuda leaks (and warns about) a context freed elsewhere
            raise LogicError("cannot detach a context from a thread other than the one that made it")
        self.detached = True


class Device:
    def __init__(self, index: int) -> None:
        if index >= len(DEVICES):
            raise LogicError(f"invalid device ordinal {index}")
        self.index = index

    @staticmethod
    def count() -> int:
        return len(DEVICES)

    def name(self) -> str:
        return DEVICES[self.index][0]

    def compute_capability(self) -> tuple[int, int]:
        return DEVICES[self.index][1]

    def retain_primary_context(self) -> Context:
        return Context(self)


class DeviceAllocation:
    def __init__(self, nbytes: int) -> None:
        _require_context()
        self.address = next(_addresses)
        memory[self.address] = bytearray(nbytes)

    def __int__(self) -> int:
        return self.address

    def free(self) -> None:
        _require_context()
        memory.pop(self.address)
        freed.append(self.address)


def mem_alloc(nbytes: int) -> DeviceAllocation:
    return DeviceAllocation(nbytes)


def pagelocked_empty(shape, dtype) -> np.ndarray:
    return np.empty(shape, dtype)


class Stream:
    def __init__(self) -> None:
        _require_context()
        self.handle = next(_addresses)

    def synchronize(self) -> None:
        _require_context()


def memcpy_htod_async(dest: DeviceAllocation, src: np.ndarray, stream: Stream | None = None) -> None:
    _require_context()
    data = np.ascontiguousarray(src).tobytes()  # a batch fills the allocation's first bytes
    memory[int(dest)][:len(data)] = data


def memcpy_dtoh_async(dest: np.ndarray, src: DeviceAllocation, stream: Stream | None = None) -> None:
    _require_context()
    dest[...] = np.frombuffer(memory[int(src)][:dest.nbytes], dest.dtype).reshape(dest.shape)
