"""Read an ONNX file's ``metadata_props`` without onnx or onnxruntime (a Jetson may have neither).

ModelProto is a protobuf message; ``metadata_props`` is its repeated field 14 of
StringStringEntryProto (key = field 1, value = field 2). Other fields are skipped by
seeking, so multi-gigabyte graphs are never read into memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

METADATA_PROPS_FIELD = 14
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


class OnnxFormatError(ValueError):
    """The file is not a well-formed ONNX protobuf."""


def _varint(stream: BinaryIO) -> int | None:
    value, shift = 0, 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift:
                raise OnnxFormatError("truncated varint")
            return None
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
        if shift > 63:
            raise OnnxFormatError("varint longer than 64 bits")


def _fields(data: bytes) -> dict[int, bytes]:
    """Length-delimited fields of a small embedded message (last one wins)."""
    from io import BytesIO

    stream, fields = BytesIO(data), {}
    while (tag := _varint(stream)) is not None:
        number, wire = tag >> 3, tag & 7
        if wire == LENGTH_DELIMITED:
            length = _varint(stream) or 0
            fields[number] = stream.read(length)
        elif wire == VARINT:
            _varint(stream)
        else:
            stream.seek({FIXED64: 8, FIXED32: 4}.get(wire, 0), 1)
    return fields


def read_onnx_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX model file as a dict; a clear error for non-ONNX files."""
    path = Path(path)
    size = path.stat().st_size
    metadata: dict[str, str] = {}
    with open(path, "rb") as stream:
        while (tag := _varint(stream)) is not None:
            number, wire = tag >> 3, tag & 7
            if number == 0 or wire not in (VARINT, FIXED64, LENGTH_DELIMITED, FIXED32):
                raise OnnxFormatError(f"{path} is not an ONNX model (bad protobuf tag {tag})")
            if wire == VARINT:
                _varint(stream)
            elif wire in (FIXED64, FIXED32):
                stream.seek(8 if wire == FIXED64 else 4, 1)
            else:
                length = _varint(stream)
                if length is None or stream.tell() + length > size:
                    raise OnnxFormatError(f"{path} is truncated or not an ONNX model")
                if number == METADATA_PROPS_FIELD:
                    entry = _fields(stream.read(length))
                    metadata[entry.get(1, b"").decode()] = entry.get(2, b"").decode()
                else:
                    stream.seek(length, 1)
    return metadata
