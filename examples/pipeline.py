"""Batches for examples/train.py: from memory, augmented on the device, or from a DataLoader.

Two paths give the same batches (augmentation off) and are each a pure function of the seed and
the epoch, so a run resumed at an epoch boundary continues exactly:

- :class:`MemoryBatches`: the split's decoded uint8 images (``data.MemorySource``) sit on the
  device (or, on a GPU too small for them, in pinned host memory); every batch is gathered,
  cropped, flipped and normalised there in a few whole-batch tensor operations, with the random
  crop offsets and flips of the whole epoch drawn at once from a generator seeded by (seed,
  epoch). No worker processes, no per-image Python, no host synchronisation.
- :func:`loader_batches`: a DataLoader with persistent workers, pinned memory (on CUDA) and
  non-blocking copies, for data too large to hold in memory. Each image is decoded, cropped
  and flipped in a worker with a generator seeded by (seed, epoch, index), so the batches do
  not depend on the number of workers or on what the workers did in earlier epochs.

The order of an epoch comes from :class:`EpochSampler` in both: a permutation, or weighted
draws with replacement (``--balance sampler``), split between processes under torchrun.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from data import ImageDataset, MemorySource
from torch.utils.data import DataLoader, Dataset, Sampler


def mix(*keys: int) -> int:
    """A 63-bit seed from several integers (seed, epoch, index...), well spread."""
    h = 0x9E3779B97F4A7C15
    for k in keys:
        h = ((h ^ (k & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


class EpochSampler(Sampler[int]):
    """The indices of one epoch for one process: a pure function of (seed, epoch).

    ``shuffle``: a permutation drawn from a generator seeded with ``seed * 1000 + epoch``;
    ``weights``: ``len(weights)`` draws with replacement, probability proportional to the
    weight (``WeightedRandomSampler``'s draw); otherwise 0..n-1. Under torchrun the epoch's list
    is padded with its first indices to a multiple of ``world`` and process ``rank`` takes every
    ``world``-th, as ``DistributedSampler`` does.
    """

    def __init__(
        self,
        n: int,
        seed: int,
        shuffle: bool,
        weights: torch.Tensor | None = None,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.n, self.seed, self.shuffle, self.weights = n, seed, shuffle, weights
        self.rank, self.world, self.epoch = rank, world, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> torch.Tensor:
        """This process's indices for the current epoch (int64, on the CPU)."""
        g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        if self.weights is not None:
            order = torch.multinomial(self.weights.double(), self.n, True, generator=g)
        elif self.shuffle:
            order = torch.randperm(self.n, generator=g)
        else:
            order = torch.arange(self.n)
        if self.world > 1:
            total = -(-self.n // self.world) * self.world
            order = torch.cat([order, order[: total - self.n]])[self.rank :: self.world]
        return order

    def __iter__(self) -> Iterator[int]:
        return iter(self.order().tolist())

    def __len__(self) -> int:
        return -(-self.n // self.world)


def crop_flip(
    x: torch.Tensor, pad: int, offsets: torch.Tensor, flips: torch.Tensor
) -> torch.Tensor:
    """Per-sample random crop and horizontal flip of a batch ``x`` (B x C x H x W, any dtype).

    Image b is zero-padded by ``pad`` pixels on every side; the H x W window whose top-left
    corner is ``offsets[b] = (top, left)`` (each in 0..2*pad) is cut out, and mirrored left to
    right where ``flips[b]``: torchvision's ``RandomCrop(padding=pad)`` then
    ``RandomHorizontalFlip``, for a whole batch in one gather.
    """
    b, c, h, w = x.shape
    if pad:
        x = F.pad(x, (pad, pad, pad, pad))
    padded_w = x.shape[-1]
    rows = offsets[:, :1] + torch.arange(h, device=x.device)
    across = torch.arange(w, device=x.device)
    cols = offsets[:, 1:] + torch.where(flips[:, None], w - 1 - across, across)
    # Where each output pixel comes from in the flattened padded image, shared by the channels.
    source = (rows[:, :, None] * padded_w + cols[:, None, :]).view(b, 1, h * w)
    return x.reshape(b, c, -1).gather(2, source.expand(b, c, h * w)).view(b, c, h, w)


class MemoryBatches:
    """Batches of a split held in memory, augmented and normalised on ``device``."""

    def __init__(
        self,
        data: ImageDataset,
        batch_size: int,
        sampler: EpochSampler,
        device: torch.device,
        mean: Sequence[float] | None,
        std: Sequence[float] | None,
        pad: int = 0,
        flip: bool = False,
        seed: int = 0,
        store: dict[int, torch.Tensor] | None = None,
    ) -> None:
        source = data.source
        if not isinstance(source, MemorySource):
            raise TypeError("MemoryBatches needs a split decoded into memory (in_memory=True)")
        self.batch_size, self.sampler, self.device = batch_size, sampler, device
        self.pad, self.flip, self.seed, self.scale = pad, flip, seed, source.scale
        # One copy of each source's images per device, shared by the splits that index it.
        store = {} if store is None else store
        if id(source) not in store:
            store[id(source)] = place(source.images, device)
        self.images = store[id(source)]
        where = self.images.device
        self.indices = torch.tensor(data.indices, dtype=torch.int64, device=where)
        self.labels = torch.tensor(data.targets, dtype=torch.int64, device=device)
        self.mean = self.std = None
        if mean is not None and std is not None:
            self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.sampler.order().to(self.device)
        n = len(order)
        if self.pad or self.flip:
            g = torch.Generator(device=self.device).manual_seed(
                mix(self.seed, self.sampler.epoch, self.sampler.rank)
            )
            offsets = torch.randint(0, 2 * self.pad + 1, (n, 2), generator=g, device=self.device)
            flips = torch.rand(n, generator=g, device=self.device) < 0.5
            if not self.flip:
                flips.zero_()
        on_device = self.images.device == self.device
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            picked = self.indices[rows if on_device else rows.cpu()]
            x = self.images[picked]
            if not on_device:
                x = x.pin_memory().to(self.device, non_blocking=True)
            if self.pad or self.flip:
                end = start + len(rows)
                x = crop_flip(x, self.pad, offsets[start:end], flips[start:end])
            x = x.float() / self.scale
            if self.mean is not None and self.std is not None:
                x = x.sub_(self.mean).div_(self.std)  # as torchvision's Normalize
            yield x, self.labels[rows]


def place(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Where a split's images live: on the device if they take at most half of its free
    memory (always on a CPU), else in pinned host memory (copied per batch, non-blocking)."""
    if device.type != "cuda":
        return images
    free, _ = torch.cuda.mem_get_info(device)
    if images.numel() * images.element_size() <= free // 2:
        return images.to(device)
    return images.pin_memory()


class _Seeded(Dataset[tuple[torch.Tensor, int]]):
    """Items ``(epoch, index)``: the image cropped and flipped (:func:`crop_flip`) with draws
    from a generator seeded by (seed, epoch, index), then normalised as torchvision's Normalize
    does; an item does not depend on which worker made it nor on earlier epochs."""

    def __init__(
        self,
        data: ImageDataset,
        seed: int,
        mean: Sequence[float] | None,
        std: Sequence[float] | None,
        pad: int,
        flip: bool,
    ) -> None:
        self.data, self.seed, self.pad, self.flip = data, seed, pad, flip
        self.mean = self.std = None
        if mean is not None and std is not None:
            self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
            self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, int]:
        epoch, i = key
        j = self.data.indices[i]
        x = self.data.source.image(j)
        if self.pad or self.flip:
            g = torch.Generator().manual_seed(mix(self.seed, epoch, i))
            offsets = torch.randint(0, 2 * self.pad + 1, (1, 2), generator=g)
            flips = (torch.rand(1, generator=g) < 0.5) & self.flip
            x = crop_flip(x[None], self.pad, offsets, flips)[0]
        if self.mean is not None and self.std is not None:
            x = x.sub_(self.mean).div_(self.std)
        return x, self.data.source.labels[j]


class _Keyed(Sampler[tuple[int, int]]):
    """An EpochSampler's indices as (epoch, index) keys for :class:`_Seeded`."""

    def __init__(self, sampler: EpochSampler) -> None:
        self.sampler = sampler

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.sampler.epoch
        return ((epoch, i) for i in self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)


def loader_batches(
    data: ImageDataset,
    batch_size: int,
    sampler: EpochSampler,
    device: torch.device,
    workers: int,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    pad: int = 0,
    flip: bool = False,
    seed: int = 0,
) -> DataLoader[Any]:
    """A DataLoader made once for the whole run: persistent workers, pinned memory on CUDA
    (copy its batches with ``non_blocking=True``); ``sampler.set_epoch`` picks the epoch.
    Images are decoded and augmented in the workers, as :class:`MemoryBatches` does."""
    return DataLoader(
        _Seeded(data, seed, mean, std, pad, flip),
        batch_size=batch_size,
        sampler=_Keyed(sampler),
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers > 0 else None,
    )
