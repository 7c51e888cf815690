"""Published weights as a ``save_pretrained`` folder: ``scalenet convert NAME.TAG DIR``.

:func:`export` builds ``scalenet.create(name, pretrained=True)`` (the weights downloaded and
checked against their published hash, or from the cache) and saves it: ``model.safetensors``,
``config.json`` (whose ``pretrained_cfg`` keeps the tag, licence, normalisation) and a model
card stating the source, licence, dataset and the accuracy the source reports (also as the
Hub's ``model-index``). The folder loads with ``scalenet.from_pretrained(DIR)`` and
``timm.create_model("local-dir:DIR", pretrained=True)``, and uploads as it is
(``scalenet.from_pretrained(DIR).push_to_hub("org/name")`` writes the same card).

This module sits above the zoo (it builds zoo models); nothing below it imports it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path

from ..errors import ConfigError, WeightsError
from ..hub.save import save_pretrained
from ..weights.catalog import Weights, get_weights, split_name
from ..zoo import create, get_entry

__all__ = ["export", "resolve"]


def resolve(name: str) -> Weights:
    """The catalogue record ``name`` (``arch.tag``, or ``arch`` for its default tag) names.

    Raises:
        ConfigError: an unknown architecture (with the closest names) or tag (with the
            architecture's tags), or an architecture without published weights.

    Examples:
        >>> resolve("resnet20_cifar").name
        'resnet20_cifar.akamaster_cifar10'
    """
    entry = get_entry(name)  # an unknown name or tag: a ConfigError with suggestions
    if not entry.weights:
        from ..zoo import ZOO

        with_weights = ", ".join(n for n, e in ZOO.items() if e.weights)
        raise ConfigError(
            "name", name, f"a model with published weights ({with_weights})",
            "`scalenet list --pretrained` lists every tag",
        )  # fmt: skip
    return get_weights(entry.name, split_name(name)[1])


def occupied(directory: Path) -> bool:
    """Whether ``directory`` exists and is not an empty folder.

    Raises:
        ConfigError: the path cannot be looked at (a name too long, a folder that cannot be
            read...), naming why.
    """
    try:
        if not directory.exists() and not directory.is_symlink():
            return False
        if directory.is_symlink() or not directory.is_dir():
            return True
        return any(directory.iterdir())
    except OSError as err:
        raise ConfigError(
            "directory", str(directory), "a folder path this system can use",
            err.strerror or str(err),
        ) from None  # fmt: skip


def export(
    name: str,
    directory: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    file: str | os.PathLike[str] | None = None,
) -> Path:
    """Save the published weights ``name`` as a ``save_pretrained`` folder ``directory``.

    Args:
        name: ``arch.tag`` (``scalenet.list_models(pretrained=True)``), or ``arch`` for its
            default tag (the folder's config.json and card then name the tag).
        directory: the folder to write; it must not exist, or be empty.
        overwrite: write into an existing folder that is not empty: the model's three files
            are replaced all or nothing (see :func:`scalenet.hub.save.save_pretrained`), other
            files are left alone.
        file: a copy of the weights' file you already have (as its source publishes it),
            read instead of the download: checked against the source's hash and converted
            (``pretrained_cfg_overlay=dict(file=...)`` of :func:`scalenet.create`).

    Returns:
        The folder.

    Raises:
        ConfigError: an unknown name or tag (with suggestions), a model without published
            weights, or a ``directory`` that holds files (or is a file) without ``overwrite``.
        WeightsError: the weights cannot be had (no network and not cached; see
            :func:`scalenet.create`) or are not what their record says (a wrong hash); the
            directory is then left as it was: absent if it was, nothing half-written.

    Examples:
        (Not run: it downloads the weights.) ::

            from scalenet.integrations.export import export
            folder = export("resnet20_cifar.akamaster_cifar10", "resnet20-akamaster")
            scalenet.from_pretrained(folder).push_to_hub("my-org/resnet20-akamaster")
    """
    weights = resolve(name)
    target = Path(directory).expanduser()
    if occupied(target) and not (overwrite and target.is_dir() and not target.is_symlink()):
        raise ConfigError(
            "directory", str(target), "a new or empty folder",
            "it holds files; pass overwrite=True (--overwrite) to replace the model in it"
            if target.is_dir() else "it is not a folder",
        )  # fmt: skip
    overlay = {"file": os.fspath(file)} if file is not None else None
    # downloads (or reads the copy) and checks before any write
    model = create(weights.name, pretrained=True, pretrained_cfg_overlay=overlay)
    if overwrite and target.is_dir() and not target.is_symlink():
        return save_pretrained(model, target)  # all or nothing, other files kept
    # Otherwise the folder is made whole by one rename, which is also the emptiness check: it
    # fails if another process filled the folder since the check above (two converts into one
    # new folder: one wins, the other fails as if the folder had held files from the start).
    parent = target.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise WeightsError(f"cannot create {parent}: {err.strerror}") from None
    # Written beside the target, then renamed: the folder appears whole, or not at all.
    staging = parent / f".{target.name}.convert-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        staging.mkdir()  # the umask's permissions, as save_pretrained's folders
        save_pretrained(model, staging)
        os.rename(staging, target)  # onto nothing, or an empty folder; never a full one
    except OSError as err:
        _remove(staging)
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise ConfigError(
                "directory", str(target), "a new or empty folder",
                "another process wrote a model into it meanwhile; pass overwrite=True "
                "(--overwrite) to replace the model in it",
            ) from None  # fmt: skip
        raise WeightsError(f"cannot write {target}: {err.strerror or err}") from None
    except BaseException:
        _remove(staging)
        raise
    return target


def _remove(staging: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(staging)
