"""All-or-nothing writes of several files into one folder, and the reader's side of it.

**The guarantee.** However :func:`write_folder` ends (an exception, a full disk, ``kill -9``, a
power cut), the folder afterwards holds either all the files as they were before or all of
them as written, and :func:`committed_file` names each one of that set. Other files in the
folder are left alone, and nothing is written outside it.

**How.** Three steps:

1. The new files are written into a private staging directory inside the folder
   (``.scalenet-staging-*``, on the same filesystem as the files it replaces, so a mount point
   or a folder below a read-only parent works) and flushed to disk (``fsync``).
2. One rename makes it ``.scalenet-commit``: the moment the new files replace the old ones.
3. Each committed file is renamed into the folder, and ``.scalenet-commit`` is removed.

A reader takes each file from ``.scalenet-commit`` while that exists, so a write killed during
step 3 still reads as the new set. The next write into the folder first finishes step 3 of an
earlier one, and removes the staging directories of writes that died (each write holds an
flock on its own staging directory while it runs). Two processes writing into one folder at
the same moment are not supported: the last to commit wins.

New files and directories get the usual permissions (``0o666`` / ``0o777`` less the umask).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from .errors import WeightsError

try:  # POSIX: a write holds an flock on its staging directory while it runs
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["committed_file", "write_folder"]

_STAGING = ".scalenet-staging-"
_COMMIT = ".scalenet-commit"


def committed_file(directory: str | Path, name: str) -> Path:
    """The path of file ``name`` of the model saved in ``directory``.

    That is ``directory / name``, unless a save was interrupted after its commit and before
    all its files were moved into place: then the committed file, where it still is.

    Examples:
        >>> from pathlib import Path
        >>> committed_file("some/folder", "config.json") == Path("some/folder/config.json")
        True
    """
    directory = Path(directory)
    pending = directory / _COMMIT / name
    return pending if pending.is_file() else directory / name


def _fsync(path: Path) -> None:
    """Flush a file or a directory to disk (directories: where the platform allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. directories on Windows
        return
    try:
        os.fsync(fd)
    except OSError as err:  # pragma: no cover - some filesystems refuse to sync directories
        if err.errno not in (errno.EINVAL, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(fd)


def _finish_commit(directory: Path) -> None:
    """Step 3 of a committed save: move its files into place, then drop the commit folder."""
    commit = directory / _COMMIT
    if not commit.is_dir():
        return
    for item in sorted(commit.iterdir()):
        with contextlib.suppress(FileNotFoundError):  # moved meanwhile by another finisher
            os.replace(item, directory / item.name)
    _fsync(directory)
    with contextlib.suppress(FileNotFoundError, OSError):  # not empty: a newer commit is here
        commit.rmdir()


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive flock on directory ``path``; yields whether it was taken."""
    if fcntl is None:  # pragma: no cover - no flock on Windows: every staging counts as free
        yield True
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


def _remove_dead_staging(directory: Path) -> None:
    """Remove staging directories whose save is no longer running (killed, crashed)."""
    for item in directory.glob(_STAGING + "*"):
        if not item.is_dir():
            continue
        with _locked(item, wait=False) as free:
            if free:  # no live save holds it
                shutil.rmtree(item, ignore_errors=True)


def _make_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise WeightsError(f"cannot save into {directory}: it is a file, not a directory")
    for parent in directory.parents:
        if parent.exists():
            if not parent.is_dir():
                raise WeightsError(
                    f"cannot save into {directory}: {parent} is a file, not a directory"
                )
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise WeightsError(f"cannot create {directory}: {err.strerror or err}") from None


def write_folder(directory: str | Path, writers: Mapping[str, Callable[[Path], None]]) -> Path:
    """Write files into ``directory`` all or nothing: ``writers[name](path)`` writes each one.

    See the module's description for the guarantee and how it is kept.

    Raises:
        WeightsError: the directory cannot be created or written (a file in the way, no
            permission, a read-only filesystem, a full disk); nothing in it has changed.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = write_folder(tmp + "/d", {"a.txt": lambda p: p.write_text("A")})
        ...     (folder / "a.txt").read_text(), [p.name for p in folder.iterdir()]
        ('A', ['a.txt'])
    """
    directory = Path(directory)
    created = not directory.exists()
    _make_directory(directory)
    staging: Path | None = None
    try:
        _finish_commit(directory)  # an earlier save that committed and was cut off
        _remove_dead_staging(directory)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=directory))
        with _locked(staging, wait=True):
            for name, write in writers.items():
                write(staging / name)
                _fsync(staging / name)
            _fsync(staging)
            try:
                os.rename(staging, directory / _COMMIT)  # the commit
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                _finish_commit(directory)  # another save committed meanwhile: finish it first
                os.rename(staging, directory / _COMMIT)
            _fsync(directory)
        _finish_commit(directory)
    except OSError as err:
        raise WeightsError(f"cannot save into {directory}: {err.strerror or err}") from None
    finally:
        if staging is not None and staging.exists():  # not committed
            shutil.rmtree(staging, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):  # the folder this save made, if empty
                    directory.rmdir()
    return directory
