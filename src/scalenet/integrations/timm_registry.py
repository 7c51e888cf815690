"""The data timm's registry gets from scalenet: ``timm_registry.json``, read and written.

For each name scalenet registers with timm, in registration order: its description (the
entrypoint's docstring) and its pretrained cfgs, one per ``name.tag`` (the default tag first),
or one under the bare name for an architecture without published weights. The file is
computed from the zoo and the weights catalogue (:func:`scalenet.integrations.timm_build.registry`;
``python -m scalenet.integrations.timm_build`` rewrites it), so that registering with timm, which
every ``import timm`` does, builds nothing; a test holds it equal to what the code computes.

Examples:
    >>> data = read_registry()
    >>> data["resnet20_cifar"]["cfgs"]["resnet20_cifar.akamaster_cifar10"]["input_size"]
    (3, 32, 32)
    >>> read_registry(to_json(data)) == data
    True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["REGISTRY_FILE", "Registry", "read_registry", "to_json"]

#: ``{timm_name: {"description": str, "cfgs": {"name[.tag]": cfg}}}``.
Registry = dict[str, dict[str, Any]]

#: The registry data, in the package.
REGISTRY_FILE = Path(__file__).with_name("timm_registry.json")


def read_registry(text: str | None = None) -> Registry:
    """The registry (``REGISTRY_FILE``'s, or ``text`` in its format), JSON's lists read back
    as the tuples timm's cfgs hold (input size, mean, std...)."""
    data: Registry = json.loads(REGISTRY_FILE.read_text(encoding="utf-8") if text is None else text)
    for model in data.values():
        for cfg in model["cfgs"].values():
            cfg.update({k: tuple(v) for k, v in cfg.items() if isinstance(v, list)})
    return data


def to_json(data: Registry) -> str:
    """``data`` as ``REGISTRY_FILE`` holds it: one cfg a line, so that a change to the zoo or
    the catalogue shows as a short diff."""
    models = []
    for name, model in data.items():
        cfgs = ",\n".join(
            f"      {json.dumps(key)}: {json.dumps(cfg, sort_keys=True)}"
            for key, cfg in model["cfgs"].items()
        )
        models.append(
            f"  {json.dumps(name)}: {{\n"
            f'    "description": {json.dumps(model["description"])},\n'
            f'    "cfgs": {{\n{cfgs}\n    }}\n  }}'
        )
    return "{\n" + ",\n".join(models) + "\n}\n"
