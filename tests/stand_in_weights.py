"""Stand-in files for published URL weights, served on 127.0.0.1 as a weights mirror.

The catalogue's URL records name real files (akamaster's ``resnet20-12fca82f.th``...), which
tests and the docs cannot download. :func:`publish_akamaster` writes a seeded random model in
the source's format (``{"state_dict": <DataParallel state>, "best_prec1": ...}``, head
``linear``) where a mirror serves that URL, and :func:`serving` serves the folder through
``SCALENET_WEIGHTS_MIRROR`` with the record's hash replaced by the stand-in file's, for as
long as it runs. Everything else in the record (source, licence, reported accuracy) is left
as it is: it describes the source's real file, not the stand-in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import scalenet
from scalenet.hub import urls as dl
from scalenet.weights import CATALOG, UrlFile, Weights, get_weights
from url_server import file_server


@dataclasses.dataclass
class StandIn:
    """A served stand-in: the record with the file's hash, and the model it holds (eval)."""

    weights: Weights
    reference: nn.Module
    path: Path


def _randomise(model: nn.Module, seed: int) -> nn.Module:
    """Seeded random weights, with BN statistics that are not the identity (a swapped layer
    shows in the outputs)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                scale = 0.5 if name.endswith("running_var") else 0.2
                offset = 0.75 if name.endswith(("running_var", "bn1.weight", "bn2.weight")) else 0
                tensor.copy_(torch.rand(tensor.shape, generator=gen) * scale + offset - scale / 2)
    return model.eval()


def publish_akamaster(root: Path, name: str, seed: int = 0) -> StandIn:
    """Write a stand-in for the akamaster record ``name`` under ``root`` (a mirror's folder:
    ``<root>/<host>/<path of the URL>``)."""
    weights = get_weights(name)
    file = weights.file
    assert isinstance(file, UrlFile), name
    assert weights.layout == "akamaster", name
    config = scalenet.get_config(weights.arch).replace(**weights.config_changes())
    model = _randomise(config.build(), seed)
    state = {
        "module." + ("linear." + k[3:] if k.startswith("fc.") else k): v
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")  # the 2018 files have none
    }
    path = root / dl.mirror_url(file.url, "x").removeprefix("x/")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "best_prec1": 0.0}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    record = dataclasses.replace(weights, file=dataclasses.replace(file, digest=digest))
    return StandIn(record, model, path)


def patch_record(mp: pytest.MonkeyPatch, record: Weights) -> None:
    """Put ``record`` in the catalogue in place of the one of the same name."""
    records = tuple(record if w.name == record.name else w for w in CATALOG[record.arch])
    mp.setitem(CATALOG, record.arch, records)


@contextlib.contextmanager
def serving(root: Path, stand_ins: list[StandIn], mp: pytest.MonkeyPatch) -> Iterator[Any]:
    """Serve ``root`` as ``SCALENET_WEIGHTS_MIRROR`` with the stand-ins' hashes in the
    catalogue, until the block ends (``mp`` undoes the environment and the catalogue)."""
    with file_server(root) as server:
        mp.setenv(dl.MIRROR_ENV, server.url)
        for stand_in in stand_ins:
            patch_record(mp, stand_in.weights)
        yield server
