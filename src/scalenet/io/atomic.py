"""Saving into a folder with one commit point, and touching nothing a save did not make.

**The protocol.** A save into ``DIR`` (see :class:`Save`):

1. takes an exclusive, non-blocking ``flock`` on ``DIR`` itself: a second save into ``DIR``
   while one runs is a :class:`~scalenet.errors.WeightsError`, "another save is running";
2. checks every entry with a name scalenet reserves (``.scalenet*``, and companion files
   ``NAME.<sha256>.EXT``): one it cannot prove its own is refused, naming it, before anything
   is written. Leftovers of a killed save are provably its own: a temporary file's name
   embeds a digest of its content (:func:`stamp`), a companion's the SHA-256 of its content;
3. writes each new file as an unnamed temporary file in ``DIR`` (Linux ``O_TMPFILE``; elsewhere
   a new ``.scalenet-tmp-*`` file made with ``O_CREAT | O_EXCL | O_NOFOLLOW``), syncs it, gives
   it its stamped temporary name, and renames that over the target: one atomic rename per
   file, then the folder is synced. Companion files get their content-addressed names
   directly (a hard link, which never replaces anything).

The caller decides which rename is the commit (the weights file, for :mod:`scalenet.hub.save`)
and calls :meth:`Save.remove_unreferenced` once the committed file names its companions. A
save never follows a symlink inside ``DIR``, and never moves, replaces or deletes an entry it
did not write, except the target files it was asked to write. A failed save removes what it
made (its temporary files, new companions, and the folders it created).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from types import TracebackType

from ..errors import WeightsError

try:  # POSIX: saves hold an flock on their folder
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["RESERVED", "Save", "companion_name", "open_once", "read_regular", "stamp"]

#: Names starting with this are scalenet's own in a saved folder.
RESERVED = ".scalenet"
_TMP = RESERVED + "-tmp-"
_STAMPED = re.compile(r"\.scalenet-tmp-([0-9a-f]{32})")
#: A companion file: ``NAME.<SHA-256 of the content>.EXT``.
_COMPANION = re.compile(r"([A-Za-z0-9_-]+)\.([0-9a-f]{64})(\.[A-Za-z0-9]+)")
#: How much of a file its temporary name's stamp covers (with its size).
_STAMP_BYTES = 1 << 20
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)


def companion_name(name: str, data: bytes) -> str:
    """The content-addressed file name of companion ``name`` holding ``data``.

    Examples:
        >>> companion_name("training_state.state", b"x")[:30]
        'training_state.2d711642b726b04'
    """
    stem, dot, ext = name.partition(".")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", stem) or not re.fullmatch(r"[A-Za-z0-9]+", ext):
        raise WeightsError(
            f"companion name {name!r}: a NAME.EXT of letters, digits, '_' and '-' is needed"
        )
    return f"{stem}.{hashlib.sha256(data).hexdigest()}{dot}{ext}"


def _is_link_or_special(info: os.stat_result) -> bool:
    return not stat.S_ISREG(info.st_mode)


def stamp(fd: int) -> str:
    """The digest a temporary file's name carries: SHA-256 of its size and first MiB (32 hex).

    A file found under ``.scalenet-tmp-<stamp>`` whose content gives that stamp was written by
    a save (killed between naming it and renaming it into place), and may be removed.
    """
    size = os.fstat(fd).st_size
    digest = hashlib.sha256(size.to_bytes(8, "little"))
    digest.update(os.pread(fd, _STAMP_BYTES, 0))
    return digest.hexdigest()[:32]


def open_once(path: str | Path) -> tuple[int, str]:
    """Open ``path`` once; returns the descriptor and a path that reopens that same file.

    On Linux, ``/proc/self/fd/N``: every later open of it reads the file that was opened, even
    if a save renames another file over ``path`` meanwhile. Elsewhere ``path`` itself.

    Only a regular file is opened: a FIFO would block the open (or the first read) until some
    process writes to it, and a device such as ``/dev/zero`` never ends. The open does not
    block (``O_NONBLOCK``, which regular files ignore), and what it opened is checked before
    anything is read.

    Raises:
        OSError: the path cannot be opened, or is not a regular file (``EINVAL``).
    """
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, a device or a folder)")
    except BaseException:
        os.close(fd)
        raise
    proc = f"/proc/self/fd/{fd}"
    return fd, proc if os.path.exists(proc) else str(path)


def read_regular(path: str | Path) -> bytes:
    """The content of the regular file ``path`` (see :func:`open_once`): as many bytes as its
    size says, never more.

    Raises:
        OSError: it cannot be read, is not a regular file, or changed size while read.
    """
    fd, _ = open_once(path)
    with open(fd, "rb") as file:
        size = os.fstat(fd).st_size
        data = file.read(size + 1)
    if len(data) != size:
        raise OSError(errno.EIO, "the file changed size while it was read")
    return data


def _fsync_fd(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError as err:  # pragma: no cover - some filesystems refuse to sync directories
        if err.errno not in (errno.EINVAL, errno.EBADF, errno.EACCES):
            raise


def _fsync(fd: int) -> None:
    """Flush a file or a folder (by descriptor) to disk. Patched by the fault-injection tests."""
    _fsync_fd(fd)


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else text[:60] + "..." + text[-50:]


class Save:
    """One save into a folder, as a context manager (see the module's description).

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     with Save(tmp + "/d") as save:
        ...         save.replace("a.txt", lambda path: Path(path).write_text("A"))
        ...     sorted(p.name for p in Path(tmp, "d").iterdir())
        ['a.txt']
    """

    def __init__(self, directory: str | Path, *, targets: Collection[str] = ()) -> None:
        self.directory = Path(directory)
        self.targets = set(targets)
        self._fd = -1
        self._created_dirs: list[Path] = []
        self._made: list[str] = []  # names this save created, newest last
        self._committed = False

    # --- opening: the folder, the lock, the check of reserved names ---------------------------

    def __enter__(self) -> Save:
        try:
            self._make_directory()
            self._fd = os.open(self.directory, os.O_RDONLY | _O_DIRECTORY)
            if fcntl is not None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise WeightsError(
                        f"another save into {_short(self.directory)} is running (it holds the "
                        "folder's lock); wait for it to finish, or save somewhere else"
                    ) from None
            self._check_entries()
        except BaseException as err:
            self._close(failed=True)
            if isinstance(err, OSError):
                raise self._error(err) from None
            raise
        return self

    def _error(self, err: OSError) -> WeightsError:
        where = _short(self.directory)
        return WeightsError(f"cannot save into {where}: {err.strerror or err}")

    def _make_directory(self) -> None:
        directory = self.directory
        missing: list[Path] = []
        for path in (directory, *directory.parents):
            try:
                info = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                missing.append(path)
                continue
            if not stat.S_ISDIR(info.st_mode):
                what = directory if path == directory else path
                raise WeightsError(
                    f"cannot save into {_short(directory)}: {_short(what)} is a file, not a "
                    "directory"
                )
            break
        for path in reversed(missing):
            try:
                os.mkdir(path)
            except FileExistsError:  # made meanwhile by someone else: not ours to remove
                continue
            except OSError as err:
                raise WeightsError(
                    f"cannot create {_short(directory)}: {err.strerror or err}"
                ) from None
            self._created_dirs.append(path)

    def _check_entries(self) -> None:
        foreign: list[str] = []
        for name in sorted(os.listdir(self._fd)):
            info = os.stat(name, dir_fd=self._fd, follow_symlinks=False)
            if name in self.targets and stat.S_ISDIR(info.st_mode):
                foreign.append(f"{name} (a folder where the save writes a file)")
            elif name.startswith(RESERVED):
                found = _STAMPED.fullmatch(name)
                if found and not _is_link_or_special(info) and self._stamp_of(name) == found[1]:
                    os.unlink(name, dir_fd=self._fd)  # a killed save's temporary file
                else:
                    foreign.append(name)
            elif _COMPANION.fullmatch(name) and _is_link_or_special(info):
                foreign.append(f"{name} (not a regular file)")
        if foreign:
            raise WeightsError(
                f"{_short(self.directory)} holds {', '.join(foreign)}: scalenet reserves these "
                "names for its saves and did not make these (a .scalenet-commit or "
                ".scalenet-staging-* folder is left by earlier scalenet versions, and none is read "
                "now); look inside, keep what you need elsewhere, remove them, and save again"
            )

    def _stamp_of(self, name: str) -> str:
        fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW, dir_fd=self._fd)
        try:
            return stamp(fd)
        finally:
            os.close(fd)

    # --- reading what the folder holds now ----------------------------------------------------

    def read(self, name: str, limit: int) -> bytes | None:
        """The content of regular file ``name`` (at most ``limit`` bytes), ``None`` if absent."""
        try:
            fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW, dir_fd=self._fd)
        except (FileNotFoundError, OSError):
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return os.read(fd, limit)
        finally:
            os.close(fd)

    # --- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _new_file(self) -> Iterator[tuple[int, str | None]]:
        """A new, empty file in the folder: (descriptor, its name or None if unnamed)."""
        if _O_TMPFILE and os.path.isdir("/proc/self/fd"):
            try:
                fd = os.open(".", _O_TMPFILE | os.O_RDWR, 0o666, dir_fd=self._fd)
            except OSError as err:
                if err.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
            else:
                try:
                    yield fd, None
                finally:
                    os.close(fd)
                return
        name = _TMP + "w" + secrets.token_hex(8)  # not stamped: a leftover is refused
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW
        fd = os.open(name, flags, 0o666, dir_fd=self._fd)
        self._made.append(name)
        try:
            yield fd, name
        finally:
            os.close(fd)

    def _written(self, write: Callable[[str], None]) -> str:
        """Write a file with ``write(path)``, sync it, and give it its stamped temporary name."""
        with self._new_file() as (fd, name):
            write(f"/proc/self/fd/{fd}" if name is None else self._path(name))
            _fsync(fd)
            stamped = _TMP + stamp(fd)
            if name is None:
                os.link(f"/proc/self/fd/{fd}", stamped, dst_dir_fd=self._fd, follow_symlinks=True)
            else:
                os.rename(name, stamped, src_dir_fd=self._fd, dst_dir_fd=self._fd)
                self._made.remove(name)
            self._made.append(stamped)
        return stamped

    def _path(self, name: str) -> str:
        return (
            f"/proc/self/fd/{self._fd}/{name}"
            if os.path.isdir("/proc/self/fd")
            else str(self.directory / name)
        )

    def replace(self, name: str, write: Callable[[str], None]) -> None:
        """Write file ``name`` with ``write(path)``, then rename it over ``name`` (atomic)."""
        try:
            stamped = self._written(write)
            os.rename(stamped, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
            self._made.remove(stamped)
            _fsync(self._fd)
        except OSError as err:
            raise self._error(err) from None

    def add_companion(self, name: str, data: bytes) -> None:
        """Write ``data`` as companion file ``name`` (named by :func:`companion_name`).

        Kept as it is when a regular file of that name and content is there already.
        """
        try:
            if (found := self.read(name, len(data) + 1)) is not None:
                if found == data:
                    return
                raise WeightsError(
                    f"{_short(self.directory / name)} is not the file its name says (its content "
                    "has another SHA-256): remove it and save again"
                )
            stamped = self._written(lambda path: _write_bytes(path, data))
            os.link(stamped, name, src_dir_fd=self._fd, dst_dir_fd=self._fd, follow_symlinks=False)
            self._made.append(name)
            os.unlink(stamped, dir_fd=self._fd)
            self._made.remove(stamped)
            _fsync(self._fd)
        except OSError as err:
            raise self._error(err) from None

    def commit(self, name: str, write: Callable[[str], None]) -> None:
        """:meth:`replace` for the file whose rename is the save's commit point."""
        self.replace(name, write)
        self._committed = True

    def remove_unreferenced(self, keep: Collection[str]) -> None:
        """Remove companion files not in ``keep`` whose content is what their name says."""
        try:
            for name in sorted(os.listdir(self._fd)):
                found = _COMPANION.fullmatch(name)
                if found is None or name in keep:
                    continue
                fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW, dir_fd=self._fd)
                try:
                    digest = hashlib.sha256()
                    while chunk := os.read(fd, 1 << 20):
                        digest.update(chunk)
                finally:
                    os.close(fd)
                if digest.hexdigest() == found[2]:
                    os.unlink(name, dir_fd=self._fd)
            _fsync(self._fd)
        except OSError as err:
            raise self._error(err) from None

    # --- closing -------------------------------------------------------------------------------

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._close(failed=kind is not None)

    def _close(self, *, failed: bool) -> None:
        if self._fd >= 0:
            if failed:
                for name in reversed(self._made):
                    if self._committed and _COMPANION.fullmatch(name):
                        continue  # named by the committed file
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=self._fd)
            os.close(self._fd)  # releases the lock
            self._fd = -1
        if failed and not self._committed:
            for path in reversed(self._created_dirs):  # deepest first; only if empty
                with contextlib.suppress(OSError):
                    os.rmdir(path)
