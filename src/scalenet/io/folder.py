"""The files of a saved model folder and the metadata keys of its weights file.

A folder that :func:`scalenet.save_pretrained` writes holds :data:`WEIGHTS_NAME` (the commit
point), :data:`CONFIG_NAME` and :data:`CARD_NAME`; :mod:`scalenet.hub.save` writes them and
:func:`scalenet.from_pretrained`, the Hub download and the timm integration read them.

This module imports nothing from scalenet.

Examples:
    >>> from scalenet.io.folder import CONFIG_NAME, WEIGHTS_NAME
    >>> CONFIG_NAME, WEIGHTS_NAME
    ('config.json', 'model.safetensors')
"""

from __future__ import annotations

__all__ = [
    "CARD_NAME",
    "COMPANIONS_KEY",
    "CONFIG_KEY",
    "CONFIG_NAME",
    "CUSTOM",
    "DIGEST_KEY",
    "MAX_CONFIG_BYTES",
    "PREVIOUS_KEY",
    "WEIGHTS_NAME",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
CUSTOM = "scalenet_custom"  # the generic timm architecture (see timm_compat)

#: The weights file's metadata entry holding the digest of its config.json
#: (:func:`scalenet.hub.save.config_digest`).
DIGEST_KEY = "scalenet_config_sha256"
#: The weights file's metadata entry holding the full text of its config.json.
CONFIG_KEY = "scalenet_config"
#: The weights file's metadata entry holding the digest of the config.json that the folder held
#: before the save ("" if none): a config.json left by a save killed between its two renames
#: is recognised as such.
PREVIOUS_KEY = "scalenet_previous_config_sha256"
#: The weights file's metadata entry naming the companion files committed with it (a JSON
#: object, name -> file name; each file name embeds the SHA-256 of its content).
COMPANIONS_KEY = "scalenet_companions"
#: A config.json larger than this is refused unread (a saved one is about 2 KB).
MAX_CONFIG_BYTES = 1 << 20
