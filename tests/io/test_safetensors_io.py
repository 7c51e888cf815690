"""scalenet's aligned safetensors files and the zero-copy reader, against safetensors itself."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from pathlib import Path

import pytest
import safetensors
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import scalenet
import scalenet.io.safetensors
from scalenet import WeightsError
from scalenet.io.safetensors import ALIGNMENT, CRC_KEY, load_file, read_metadata, save_file
from scalenet.io.weights import assign_exact
from scalenet.nn.skeleton import _no_reset, skeleton

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool]  # fmt: skip


def random_tensor(dtype: torch.dtype, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if dtype.is_floating_point:
        return torch.randn(shape, generator=g).to(dtype)
    return torch.randint(-100 if dtype != torch.uint8 else 0, 100, shape, generator=g).to(dtype)


tensor_dicts = st.dictionaries(
    st.text("abcdefghij._", min_size=1, max_size=8),
    st.tuples(
        st.sampled_from(DTYPES),
        st.lists(st.integers(0, 7), max_size=3).map(tuple),
        st.integers(0, 2**16),
    ).map(lambda a: random_tensor(*a)),
    min_size=1,
    max_size=8,
)


def data_offsets(path: Path) -> tuple[int, dict[str, list[int]]]:
    """Where the data starts and each tensor's [begin, end), read from the header by hand."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    header.pop("__metadata__", None)
    return 8 + length, {k: v["data_offsets"] for k, v in header.items()}


def sorted_by_offset(path: Path, tensors: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    _, offsets = data_offsets(path)
    return [tensors[k] for k in sorted(offsets, key=lambda k: offsets[k])]


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert a[key].shape == b[key].shape, key
        assert torch.equal(a[key], b[key]), key


@settings(max_examples=40, deadline=None)
@given(tensors=tensor_dicts)
def test_our_files_read_back_by_safetensors_and_theirs_by_us(
    tmp_path_factory: pytest.TempPathFactory, tensors: dict[str, torch.Tensor]
) -> None:
    tmp = tmp_path_factory.mktemp("st")
    ours, theirs = tmp / "ours.safetensors", tmp / "theirs.safetensors"
    save_file(tensors, ours, metadata={"format": "pt", "note": "x"})
    safetensors.torch.save_file(tensors, str(theirs))
    assert_same(safetensors.torch.load_file(str(ours)), tensors)
    with safetensors.safe_open(str(ours), framework="pt") as f:
        metadata = f.metadata()
    data = b"".join(
        t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        for t in sorted_by_offset(ours, tensors)
    )
    assert metadata == {"format": "pt", "note": "x", CRC_KEY: f"{zlib.crc32(data):08x}"}
    for path in (ours, theirs):
        loaded = load_file(path)
        assert_same(loaded, tensors)
        assert all(t.data_ptr() % ALIGNMENT == 0 for t in loaded.values() if t.numel())
    # Every tensor whose size is a multiple of 64 bytes starts on a 64-byte boundary.
    start, offsets = data_offsets(ours)
    for key, (begin, _) in offsets.items():
        if tensors[key].nbytes % ALIGNMENT == 0:
            assert (start + begin) % ALIGNMENT == 0, key


def test_non_contiguous_and_zero_dim_tensors(tmp_path: Path) -> None:
    tensors = {"t": torch.randn(5, 3).t(), "s": torch.tensor(2.5), "e": torch.zeros(0, 4)}
    save_file(tensors, tmp_path / "x.safetensors")
    assert_same(safetensors.torch.load_file(str(tmp_path / "x.safetensors")), tensors)
    assert_same(load_file(tmp_path / "x.safetensors"), tensors)


def test_loaded_tensors_are_private_copies_of_the_file(tmp_path: Path) -> None:
    model = scalenet.create("resnet50")
    path = tmp_path / "r50.safetensors"
    save_file(model.state_dict(), path)
    loaded = load_file(path)
    assert_same(loaded, model.state_dict())
    for key, tensor in loaded.items():  # one storage each, 64-byte aligned
        assert tensor.untyped_storage().nbytes() == tensor.nbytes, key
        assert tensor.data_ptr() % ALIGNMENT == 0 or not tensor.numel(), key
    # Writing into the loaded tensors (training) never reaches the file.
    before = path.read_bytes()
    with torch.no_grad():
        for tensor in loaded.values():
            tensor.add_(1)
    assert path.read_bytes() == before
    # Overwriting the file in place, then truncating it, leaves the loaded tensors as they were
    # (a mapping of the file would change with it, then die of SIGBUS).
    again = load_file(path)
    with open(path, "r+b") as file:
        file.seek(len(before) // 2)
        file.write(bytes(len(before) - len(before) // 2))
    assert_same(again, model.state_dict())
    path.write_bytes(b"")
    assert_same(again, model.state_dict())
    # The tensors save with safetensors' own writer and with torch.save.
    safetensors.torch.save_file(loaded, str(tmp_path / "again.safetensors"))
    assert_same(safetensors.torch.load_file(str(tmp_path / "again.safetensors")), loaded)
    torch.save(loaded, tmp_path / "again.pt")
    assert_same(torch.load(tmp_path / "again.pt", weights_only=True), loaded)


@pytest.mark.parametrize("writer", ["scalenet", "safetensors"])
@pytest.mark.parametrize("name", ["resnet20_cifar", "resnet50"])
def test_from_pretrained_reproduces_outputs_bit_for_bit(
    tmp_path: Path, name: str, writer: str
) -> None:
    # Batch 1 is where oneDNN's kernel choice depends on the weights' alignment (found when a
    # round trip through safetensors' own 8-byte-aligned views differed in the last bit).
    torch.manual_seed(0)
    model = scalenet.create(name).eval()
    folder = model.save_pretrained(tmp_path / "m")
    if writer == "safetensors":
        weights = folder / "model.safetensors"
        weights.unlink()
        safetensors.torch.save_file(model.state_dict(), str(weights))
    loaded = scalenet.from_pretrained(folder).eval()
    tensors = [*loaded.parameters(), *loaded.buffers()]
    assert all(t.device.type == "cpu" for t in tensors)
    size = 64 if name == "resnet50" else 32
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_duplicate_names_in_the_header_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.safetensors"
    header = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
    header += b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        scalenet.io.weights.read_state_dict(path)


def test_header_pointing_past_the_data_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.safetensors"
    header = b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        scalenet.io.weights.read_state_dict(path)


# --- the skeleton -----------------------------------------------------------------------------


def test_skeleton_draws_no_random_numbers_and_restores_torch() -> None:
    originals = [nn.Linear.reset_parameters, nn.Conv2d.reset_parameters,
                 nn.BatchNorm2d.reset_parameters]  # fmt: skip
    state = torch.random.get_rng_state()
    model = skeleton(scalenet.get_config("resnet18"))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(t.is_meta for t in model.parameters())
    assert [nn.Linear.reset_parameters, nn.Conv2d.reset_parameters,
            nn.BatchNorm2d.reset_parameters] == originals  # fmt: skip
    # Without the skeleton, building a layer draws random numbers (the check above can fail).
    nn.Conv2d(3, 8, 3)
    assert not torch.equal(torch.random.get_rng_state(), state)


def test_skipping_init_is_for_the_building_thread_only() -> None:
    torch.manual_seed(0)
    reference = nn.Linear(8, 4)
    built: list[nn.Linear] = []

    def build() -> None:
        torch.manual_seed(0)
        built.append(nn.Linear(8, 4))

    with _no_reset():
        other = threading.Thread(target=build)
        other.start()
        other.join()
        state = torch.random.get_rng_state()
        nn.Linear(8, 4)  # this thread: no initialiser runs
        assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(built[0].weight, reference.weight)
    assert torch.equal(built[0].bias, reference.bias)


def test_assign_exact_keeps_requires_grad_and_refuses_a_mismatch() -> None:
    source = scalenet.create("resnet20_cifar")
    target = scalenet.create("resnet20_cifar")
    target.fc.weight.requires_grad_(False)
    assert assign_exact(target, source.state_dict())
    assert not target.fc.weight.requires_grad
    assert target.conv1.weight.requires_grad
    assert target.conv1.weight.data_ptr() == source.conv1.weight.data_ptr()  # no copy
    other = scalenet.create("resnet20_cifar", num_classes=7)
    before = other.fc.weight
    assert not assign_exact(other, source.state_dict())
    assert other.fc.weight is before


WIDE_DTYPES = [torch.float8_e4m3fn, torch.float8_e5m2, torch.uint16, torch.uint32,
               torch.uint64, torch.complex64]  # fmt: skip


@pytest.mark.parametrize("dtype", WIDE_DTYPES, ids=str)
def test_every_dtype_is_read_and_written_by_scalenet_with_a_checksum(
    tmp_path: Path, dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once, one tensor of a dtype outside scalenet's own table sent the whole file through
    # safetensors' writer and reader, without a CRC: a flipped bit in another tensor loaded.
    source = torch.arange(64, dtype=torch.float32).view(torch.uint8)[: 8 * 8 * dtype.itemsize]
    tensors = {"odd": source.view(dtype), "w": torch.randn(16, 16)}
    path = tmp_path / "x.safetensors"
    for name in ("save_file", "load_file"):  # neither is needed any more
        monkeypatch.setattr(safetensors.torch, name, None)
    save_file(tensors, path)
    ours = load_file(path)
    monkeypatch.undo()
    theirs = safetensors.torch.load_file(str(path))  # the library reads what we wrote
    for loaded in (theirs, ours):
        assert loaded["odd"].dtype == dtype
        assert torch.equal(loaded["odd"].view(torch.uint8), tensors["odd"].view(torch.uint8))
        assert torch.equal(loaded["w"], tensors["w"])
    assert all(t.data_ptr() % ALIGNMENT == 0 for t in ours.values())
    data = b"".join(
        t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        for t in sorted_by_offset(path, tensors)
    )
    assert read_metadata(path)[CRC_KEY] == f"{zlib.crc32(data):08x}"
    # A flipped bit in the float32 tensor is refused.
    start, offsets = data_offsets(path)
    raw = bytearray(path.read_bytes())
    raw[start + offsets["w"][0] + 5] ^= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="does not match its checksum"):
        load_file(path)


@pytest.mark.parametrize("implementation", ["isal", "zlib"])
def test_the_checksum_is_zlibs_crc32_with_either_implementation(
    implementation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if implementation == "zlib":
        monkeypatch.setattr(scalenet.io.safetensors, "_crc32", zlib.crc32)
    else:  # the `fast` extra, installed with `dev`
        from isal.isal_zlib import crc32

        assert scalenet.io.safetensors._crc32 is crc32
    data = torch.randn(100_003).numpy().tobytes()
    assert scalenet.io.safetensors.crc32(data) == zlib.crc32(data)
    assert scalenet.io.safetensors.crc32(data[50:], scalenet.io.safetensors.crc32(data[:50])) == (
        zlib.crc32(data)
    )
