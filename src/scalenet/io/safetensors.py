"""safetensors files with 64-byte-aligned tensors, and a reader that copies into aligned memory.

:func:`save_file` writes a standard safetensors file (any safetensors reader, timm's included,
loads it) without building it in memory first: the tensors stream to the file one by one. Its
header is padded with spaces, as the format allows, to end on a 64-byte boundary, and tensors
whose size is a multiple of 64 bytes come first, so each of them starts 64-byte aligned (a
reader that maps the file gets aligned views of them).

:func:`load_file` validates the file with ``safetensors.safe_open`` (header, dtypes, offsets
that cover the data without holes or overlap), then reads each tensor with one ``readinto``
into fresh anonymous memory (one allocation, huge pages where Linux offers them, each tensor
64-byte aligned with a storage of its own), and checks the data's CRC-32 when the file
records one (:data:`CRC_KEY`). The loaded tensors never share memory with the file: rewriting
or truncating the file later cannot change a model or crash the process (a mapped file does
both), and every tensor is 64-byte aligned, so oneDNN picks the same convolution kernels as
for the saved model and a loaded model reproduces its outputs bit for bit.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import mmap
import struct
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from torch import Tensor

__all__ = ["ALIGNMENT", "CRC_KEY", "crc32", "load_file", "read_metadata", "save_file"]

#: Byte alignment of tensor data in files written by :func:`save_file`.
ALIGNMENT = 64
#: The metadata entry holding the CRC-32 of the data section (8 hex digits), which
#: :func:`load_file` checks: a damaged file is refused instead of loading other weights.
CRC_KEY = "scalenet_data_crc32"

# The format's dtype names (safetensors' specification) and torch's dtypes for them; the
# float8 and wide unsigned types where this torch has them. scalenet reads and writes every
# one itself, so each file written gets a CRC-32 of all its data, and each read checks it.
_NAMES = {
    getattr(torch, attr): name
    for attr, name in (
        ("float64", "F64"),
        ("float32", "F32"),
        ("float16", "F16"),
        ("bfloat16", "BF16"),
        ("int64", "I64"),
        ("int32", "I32"),
        ("int16", "I16"),
        ("int8", "I8"),
        ("uint8", "U8"),
        ("bool", "BOOL"),
        ("uint64", "U64"),
        ("uint32", "U32"),
        ("uint16", "U16"),
        ("complex64", "C64"),
        ("float8_e4m3fn", "F8_E4M3"),
        ("float8_e4m3fnuz", "F8_E4M3FNUZ"),
        ("float8_e5m2", "F8_E5M2"),
        ("float8_e5m2fnuz", "F8_E5M2FNUZ"),
    )
    if hasattr(torch, attr)
}
_DTYPES = {name: dtype for dtype, name in _NAMES.items()}
_LITTLE_ENDIAN = sys.byteorder == "little"

try:  # python-isal's SIMD CRC-32 (the `fast` extra): the same checksum, 3-4x faster than zlib
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - exercised by forcing zlib in the tests
    _crc32 = zlib.crc32


def crc32(data: Any, value: int = 0) -> int:
    """CRC-32 (zlib's polynomial) of a buffer, continuing from ``value``; python-isal's SIMD
    implementation when installed, else zlib's."""
    return int(_crc32(data, value))


def _bytes(tensor: Tensor) -> ctypes.Array[ctypes.c_char]:
    """The bytes of a contiguous CPU tensor, without a copy (valid while ``tensor`` lives)."""
    return (ctypes.c_char * tensor.nbytes).from_address(tensor.data_ptr())


def save_file(
    tensors: Mapping[str, Tensor], path: str | Path, metadata: Mapping[str, str] | None = None
) -> None:
    """Write ``tensors`` to ``path`` as safetensors; each of 64k bytes starts 64-byte aligned.

    Examples:
        >>> import tempfile, torch, safetensors.torch
        >>> from scalenet.io.safetensors import save_file
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     save_file({"w": torch.ones(4, 4), "b": torch.zeros(3)}, tmp + "/x.safetensors")
        ...     safetensors.torch.load_file(tmp + "/x.safetensors")["w"].sum().item()
        16.0
    """
    unknown = sorted({str(t.dtype) for t in tensors.values() if t.dtype not in _NAMES})
    if unknown:
        raise ValueError(f"safetensors has no name for dtype {', '.join(unknown)}")
    if not _LITTLE_ENDIAN:  # pragma: no cover - no big-endian machine to test on
        safetensors.torch.save_file(dict(tensors), str(path), metadata=dict(metadata or {}))
        return
    cpu = {k: t.detach().to("cpu").contiguous() for k, t in tensors.items()}
    # Tensors whose size is a multiple of the alignment first (a stable sort keeps their
    # order): as the data starts on a boundary, each of them starts on one too.
    order = sorted(cpu, key=lambda k: cpu[k].nbytes % ALIGNMENT != 0)
    crc = 0
    for name in order:
        if cpu[name].nbytes:
            crc = crc32(_bytes(cpu[name]), crc)
    header: dict[str, Any] = {"__metadata__": {**(metadata or {}), CRC_KEY: f"{crc:08x}"}}
    offset = 0
    for name in order:
        tensor = cpu[name]
        header[name] = {
            "dtype": _NAMES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + tensor.nbytes],
        }
        offset += tensor.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-(8 + len(raw)) % ALIGNMENT)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(raw)))
        file.write(raw)
        for name in order:
            if cpu[name].nbytes:
                file.write(_bytes(cpu[name]))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("the header names a tensor twice")
    return result


def _anonymous(size: int) -> mmap.mmap:
    """Fresh, zeroed, page-aligned memory of ``size`` bytes (at least one page).

    Private anonymous memory, with transparent huge pages asked for where Linux offers them:
    faulting in 2 MB pages instead of 4 KB ones makes filling a resnet50's 98 MB about 5x
    faster (9 against 48 ms on our test machine).
    """
    size = max(size, mmap.PAGESIZE)
    if sys.platform == "win32":  # pragma: no cover
        return mmap.mmap(-1, size)
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        with contextlib.suppress(OSError):
            memory.madvise(mmap.MADV_HUGEPAGE)
    return memory


def load_file(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Tensor]:
    """Read a safetensors file into fresh, 64-byte-aligned tensors (one read each, no file mapping).

    Raises:
        safetensors.SafetensorError, OSError, ValueError: the file is not valid safetensors.

    Examples:
        >>> import tempfile, torch
        >>> from scalenet.io.safetensors import load_file, save_file
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     save_file({"w": torch.arange(16.0)}, tmp + "/x.safetensors")
        ...     w = load_file(tmp + "/x.safetensors")["w"]
        >>> w.data_ptr() % 64, w[-1].item()
        (0, 15.0)
    """
    path = str(path)
    with safetensors.safe_open(path, framework="pt"):  # the library's validation of the file
        pass
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length), object_pairs_hook=_unique_keys)
        metadata = header.pop("__metadata__", None) or {}
        unknown = sorted({info["dtype"] for info in header.values()} - _DTYPES.keys())
        if unknown:
            raise ValueError(f"dtype {', '.join(unknown)} has no torch dtype here")
        if not _LITTLE_ENDIAN:  # pragma: no cover - no big-endian machine to test on
            loaded = safetensors.torch.load_file(path)  # views of its mapping: copy them
            return {k: v.clone().to(device) for k, v in loaded.items()}
        expected_crc = metadata.get(CRC_KEY)
        start = 8 + length
        items = sorted(header.items(), key=lambda item: item[1]["data_offsets"])
        sizes = [end - begin for _, info in items for begin, end in [info["data_offsets"]]]
        buffer = _anonymous(sum(-(-size // ALIGNMENT) * ALIGNMENT for size in sizes))
        state: dict[str, Tensor] = {}
        crc, at = 0, 0
        for (name, info), size in zip(items, sizes, strict=True):
            if size:
                # A storage of its own for each tensor (torch.save and safetensors save them
                # as usual), 64-byte aligned in the buffer.
                raw = torch.frombuffer(buffer, dtype=torch.uint8, count=size, offset=at)
                file.seek(start + info["data_offsets"][0])
                if file.readinto(_bytes(raw)) != size:
                    raise ValueError(f"{path} ends inside tensor {name!r}")
                crc = crc32(_bytes(raw), crc)
                at += -(-size // ALIGNMENT) * ALIGNMENT
            else:
                raw = torch.empty(0, dtype=torch.uint8)
            tensor = raw.view(_DTYPES[info["dtype"]]).reshape(info["shape"])
            state[name] = tensor if str(device) == "cpu" else tensor.to(device)
    if expected_crc is not None and expected_crc != f"{crc:08x}":
        raise ValueError(
            f"the data does not match its checksum ({CRC_KEY} {expected_crc}, data {crc:08x}): "
            "the file is damaged"
        )
    return state


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's header (``{}`` when it has none).

    Raises:
        safetensors.SafetensorError, OSError: the file is not valid safetensors.
    """
    with safetensors.safe_open(str(path), framework="pt") as file:
        return dict(file.metadata() or {})
