"""Weights files at URLs (not on the Hub): downloaded once into a cache, checked against the
hash their source publishes before they are kept, and re-checked on every use.

- The cache is ``<HF_HUB_CACHE>/scalenet-urls/<host>/<path of the URL>`` (or ``cache_dir``
  in place of huggingface_hub's cache): a file arrives under a temporary name in its final
  folder and is renamed into place only once its hash is right, so the cache never holds a
  partial or unchecked file. A zip archive (pytorchcv's ``.pth.zip``) is not kept: the
  weights file inside it is, checked against its published hash.
- A cached file whose hash is wrong is refused: downloaded again once, or, offline, named
  in a :class:`~scalenet.WeightsError`.
- With ``HF_HUB_OFFLINE=1`` no request is made: the cache alone.
- Otherwise one connection attempt with no retry, waiting at most
  :data:`~scalenet.hub.fetch.CONNECT_TIMEOUT` seconds to connect and ``HF_HUB_DOWNLOAD_TIMEOUT``
  (huggingface_hub's, 10 s by default) for each read; a failure is a
  :class:`~scalenet.WeightsError` at once, naming the URL, the cache path and the remedies.
- ``SCALENET_WEIGHTS_MIRROR`` (a base URL, for instance ``https://mirror.example/weights``
  or ``file:///srv/weights``) sends every request to ``<mirror>/<host>/<path of the URL>``,
  for machines that cannot reach the sources: put the files there.

Proxies are the standard library's (``https_proxy``, ``no_proxy``...). Downloads are capped
(the archive, and the weights file inside it): at the most a file of the record's weights can
hold, from the architecture (:func:`scalenet.hub.published.max_file_bytes`), else at
:data:`MAX_BYTES`.

Examples:
    >>> mirror_url("https://github.com/o/r/releases/download/v1/w.pth.zip", "http://m:8000/x/")
    'http://m:8000/x/github.com/o/r/releases/download/v1/w.pth.zip'
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import pickle
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any

from ..errors import WeightsError, first_line
from ..weights.records import UrlFile

__all__ = ["MAX_BYTES", "MIRROR_ENV", "cache_path", "fetch", "mirror_url", "read", "read_local"]

#: The environment variable naming a mirror (a base URL) for every non-Hub weights file.
MIRROR_ENV = "SCALENET_WEIGHTS_MIRROR"
#: The largest download and the largest weights file in an archive (bytes): 2 GiB, about 25
#: times the largest file in the catalogue (resnet1202's, 78 MB).
MAX_BYTES = 2 << 30
_CHUNK = 1 << 20
_SCHEMES = ("https", "http", "file")


def mirror_url(url: str, mirror: str | None = None) -> str:
    """Where ``url`` is requested: itself, or ``<mirror>/<host>/<path>`` with a mirror
    (``mirror``, else :data:`MIRROR_ENV` when it is set and not empty)."""
    mirror = os.environ.get(MIRROR_ENV) if mirror is None else mirror
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    return f"{mirror.rstrip('/')}/{parts.netloc}/{parts.path.lstrip('/')}"


def _url_parts(url: str) -> list[str]:
    """The host and path parts of an https URL, each a plain file name (no ``..``)."""
    parts = urllib.parse.urlsplit(url)
    names = [parts.netloc, *parts.path.strip("/").split("/")]
    if (
        parts.scheme != "https"
        or parts.query
        or parts.fragment
        or any(n in ("", ".", "..") or "\\" in n or ":" in n or "\x00" in n for n in names)
    ):
        raise WeightsError(
            f"{url!r} is not a weights URL scalenet can cache (an https URL with a host and a "
            "path of plain names: no query, no '..')"
        )
    return names


def _hub_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cache_path(file: UrlFile, cache_dir: str | Path | None = None) -> Path:
    """Where the checked file is kept: ``<cache>/scalenet-urls/<host>/<path>`` (for an
    archive, its weights file ``member`` beside where the archive would be).

    Examples:
        >>> f = UrlFile("https://example.com/w/r20-0123abcd.th", "0123abcd")
        >>> cache_path(f, "/c").as_posix()
        '/c/scalenet-urls/example.com/w/r20-0123abcd.th'
    """
    names = _url_parts(file.url)
    if file.member is not None:
        if file.member in ("", ".", "..") or any(c in file.member for c in "/\\\x00:"):
            raise WeightsError(f"member={file.member!r} is not a file name (no path parts)")
        names[-1] = file.member
    root = Path(cache_dir).expanduser() if cache_dir is not None else _hub_cache()
    return root.joinpath("scalenet-urls", *names)


def _hasher(file: UrlFile, size: int) -> Any:
    """A new hash of ``file``'s algorithm for ``size`` bytes (git's blob id hashes a header
    with the size before the bytes)."""
    if file.algorithm == "git-blob":
        return hashlib.sha1(b"blob %d\0" % size)
    if file.algorithm not in ("sha256", "sha1"):
        raise WeightsError(
            f"algorithm={file.algorithm!r} is not one of 'sha256', 'sha1', 'git-blob'"
        )
    return hashlib.new(file.algorithm)


def _matches(file: UrlFile, actual: str) -> bool:
    digest = file.digest.lower()
    return len(digest) >= 8 and actual.startswith(digest)


def _hash_file(file: UrlFile, path: Path) -> str:
    with open(path, "rb") as stream:
        hasher = _hasher(file, os.fstat(stream.fileno()).st_size)
        while chunk := stream.read(_CHUNK):
            hasher.update(chunk)
    return str(hasher.hexdigest())


def _mismatch(file: UrlFile, actual: str, what: str) -> WeightsError:
    return WeightsError(
        f"{what} from {file.url} does not have the published {file.algorithm} hash: expected "
        f"{file.digest}, got {actual}; nothing was kept"
    )


# -- the request: one connection attempt, a short connect timeout, then the read timeout --


class _Connection(http.client.HTTPConnection):
    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()  # within the connect timeout the opener was given
        self.sock.settimeout(self.read_timeout)


class _TLSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()  # TCP, proxy tunnel and TLS handshake, within the connect timeout
        self.sock.settimeout(self.read_timeout)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_Connection, read_timeout=self.read_timeout), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = partial(_TLSConnection, read_timeout=self.read_timeout)
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) URLs only."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
        headers: Any, newurl: str,
    ) -> urllib.request.Request | None:  # fmt: skip
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            refused = f"redirect to {newurl!r} refused"
            raise urllib.error.HTTPError(newurl, code, refused, headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(url: str) -> Any:
    """The response to one GET of ``url`` (no retry)."""
    from huggingface_hub import constants

    from .fetch import CONNECT_TIMEOUT

    read_timeout = float(constants.HF_HUB_DOWNLOAD_TIMEOUT)
    opener = urllib.request.build_opener(
        _HTTPHandler(read_timeout), _HTTPSHandler(read_timeout), _Redirects
    )
    request = urllib.request.Request(url, headers={"User-Agent": "scalenet"})
    return opener.open(request, timeout=CONNECT_TIMEOUT)


def _too_large(what: str, size: int | None, limit: int) -> WeightsError:
    """``what`` holds ``size`` bytes (``None``: more than ``limit``, found while reading)."""
    why = "the download limit" if limit == MAX_BYTES else "the most a file of these weights holds"
    held = f"is {size:,} bytes" if size is not None else "holds more"
    return WeightsError(f"{what} {held}, over {limit:,} bytes ({why}): refused")


def _copy_capped(
    source: IO[bytes], target: IO[bytes], what: str, limit: int, hasher: Any = None
) -> None:
    total = 0
    while chunk := source.read(min(_CHUNK, limit + 1 - total)):
        total += len(chunk)
        if total > limit:
            raise _too_large(what, None, limit)
        target.write(chunk)
        if hasher is not None:
            hasher.update(chunk)


@contextlib.contextmanager
def _temporary(folder: Path) -> Iterator[Path]:
    """A new empty file in ``folder`` (removed on exit unless renamed away)."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".", suffix=".incomplete")
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _download_to(url: str, target: Path, file: UrlFile, limit: int) -> None:
    """``url`` into ``target`` (an existing temporary file), at most ``limit`` bytes."""
    with contextlib.closing(_open(url)) as response, open(target, "wb") as out:
        size = response.headers.get("Content-Length")
        if size is not None and size.isdigit() and int(size) > limit:
            raise _too_large(file.url, int(size), limit)  # before a byte is read
        _copy_capped(response, out, file.url, limit)


def _extract(archive: Path, target: Path, file: UrlFile, limit: int) -> str:
    """The member of the zip ``archive`` into ``target`` (at most ``limit`` bytes, whatever
    the archive's directory claims); its hash."""
    assert file.member is not None
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                name = info.filename
                if "/" in name or "\\" in name or name in ("", ".", "..") or ":" in name:
                    raise WeightsError(
                        f"the archive {file.url} holds {name!r}, a name with path parts: refused"
                    )
            found = [info for info in infos if info.filename == file.member]
            if not found:
                names = ", ".join(repr(i.filename) for i in infos[:5]) or "nothing"
                raise WeightsError(
                    f"the archive {file.url} has no {file.member!r} (it holds {names})"
                )
            what = f"{file.member} in {file.url}"
            if found[0].file_size > limit:
                raise _too_large(what, found[0].file_size, limit)  # before it is unpacked
            hasher = _hasher(file, found[0].file_size)  # the size zipfile checks it holds
            with zf.open(found[0]) as source, open(target, "wb") as out:
                _copy_capped(source, out, what, limit, hasher)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as err:
        raise WeightsError(f"{file.url} is not a readable zip archive: {first_line(err)}") from None
    return str(hasher.hexdigest())


def _remedies(file: UrlFile, path: Path) -> str:
    parts = urllib.parse.urlsplit(file.url)
    kept = f"the file {file.member} from that archive" if file.member else "the file"
    return (
        f"Download it once while online (the cache then serves it offline, HF_HUB_OFFLINE=1 "
        f"included); or put {kept} at {path} yourself; or set {MIRROR_ENV} to a server or "
        f"folder URL holding it as {parts.netloc}{parts.path}"
    )


def _unreachable(file: UrlFile, url: str, path: Path, reason: str) -> WeightsError:
    via = f" (through {MIRROR_ENV}: {url})" if url != file.url else ""
    return WeightsError(
        f"{file.url}{via} is not in the local cache ({path}) and could not be downloaded: "
        f"{reason}. {_remedies(file, path)}"
    )


def _prune(folder: Path, root: Path) -> None:
    """Remove the empty folders from ``folder`` up to (not including) ``root``."""
    with contextlib.suppress(OSError, ValueError):
        while folder != root and folder.is_relative_to(root):
            folder.rmdir()  # fails when not empty: stop
            folder = folder.parent


def _download(file: UrlFile, path: Path, root: Path, limit: int) -> None:
    """Download, check and rename into ``path``, or raise with nothing left behind."""
    url = mirror_url(file.url)
    if urllib.parse.urlsplit(url).scheme not in _SCHEMES:
        raise WeightsError(f"{url!r}: {MIRROR_ENV} must be an http(s) or file URL")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _temporary(path.parent) as fetched:
            try:
                _download_to(url, fetched, file, limit)
            except urllib.error.HTTPError as err:
                raise _unreachable(file, url, path, f"HTTP {err.code} {err.reason}") from None
            except (urllib.error.URLError, http.client.HTTPException, TimeoutError) as err:
                reason = getattr(err, "reason", None) or first_line(err)
                raise _unreachable(file, url, path, f"{type(err).__name__}: {reason}") from None
            except ConnectionError as err:
                raise _unreachable(file, url, path, f"{type(err).__name__}: {err}") from None
            if file.member is None:
                actual = _hash_file(file, fetched)
                if not _matches(file, actual):
                    raise _mismatch(file, actual, "the file")
                os.replace(fetched, path)
                return
            with _temporary(path.parent) as member:
                actual = _extract(fetched, member, file, limit)
                if not _matches(file, actual):
                    raise _mismatch(file, actual, f"{file.member} in the archive")
                os.replace(member, path)
    except BaseException:
        _prune(path.parent, root)
        raise


def fetch(file: UrlFile, *, cache_dir: str | Path | None = None, limit: int = MAX_BYTES) -> Path:
    """The checked weights file of ``file``: from the cache, or downloaded into it.

    ``limit``: the most bytes the file may hold, and the download (an archive) too; what
    holds more is refused while it arrives (before it is read, where the server or the
    archive says its size). :func:`scalenet.hub.published.load_state_dict` passes the most a
    file of the record's weights can hold.

    Raises:
        WeightsError: the file cannot be had (offline, or no answer: naming the URL, the
            cache path and what to do), its hash is not the published one (naming both; nothing
            is kept), a cached copy is damaged while offline, or the download is hostile (too
            large, an archive member with path parts).

    Examples:
        (Not run: it needs the network.) ::

            path = fetch(get_weights("resnet20_cifar.akamaster_cifar10").file)
    """
    from huggingface_hub import constants

    path = cache_path(file, cache_dir)
    root = Path(cache_dir).expanduser() if cache_dir is not None else _hub_cache()
    # A file:// mirror is a folder on this machine: reading it is no download, so
    # HF_HUB_OFFLINE (which stops network requests) does not stop it.
    offline = constants.is_offline_mode() and not mirror_url(file.url).startswith("file:")
    if path.is_file():
        size = path.stat().st_size
        actual = _hash_file(file, path) if size <= limit else f"not computed ({size:,} bytes)"
        if _matches(file, actual):
            return path
        if offline:
            raise WeightsError(
                f"the cached {path} (from {file.url}) is damaged: its {file.algorithm} is "
                f"{actual}, not {file.digest}; HF_HUB_OFFLINE is set, so it is not downloaded "
                f"again. Delete it and unset HF_HUB_OFFLINE to download it once more"
            )
        path.unlink()
    elif offline:
        raise WeightsError(
            f"{file.url} is not in the local cache ({path}), and HF_HUB_OFFLINE is set, so it "
            f"is not downloaded. Unset HF_HUB_OFFLINE to download it. {_remedies(file, path)}"
        )
    _download(file, path, root / "scalenet-urls", limit)
    return path


def read(file: UrlFile, *, cache_dir: str | Path | None = None, limit: int = MAX_BYTES) -> object:
    """What the checked file holds, read by ``torch.load(weights_only=True)`` on the CPU
    (``limit``: as :func:`fetch`'s)."""
    return _torch_read(fetch(file, cache_dir=cache_dir, limit=limit), file)


def read_local(file: UrlFile, path: str | Path, *, limit: int = MAX_BYTES) -> object:
    """What a copy of ``file`` you already have at ``path`` holds: checked against the hash
    its source publishes, then read as :func:`read` reads a download.

    Raises:
        WeightsError: ``path`` is not a regular file, holds more than ``limit`` bytes, or is
            not that file (another hash).
    """
    where = Path(path).expanduser()
    if not where.is_file():
        raise WeightsError(f"{where}: no such file (meant as a copy of {file.url})")
    size = where.stat().st_size
    if size > limit:
        raise _too_large(f"{where} (meant as a copy of {file.url})", size, limit)
    actual = _hash_file(file, where)
    if not _matches(file, actual):
        member = f" (the file {file.member} inside it: unzip it first)" if file.member else ""
        raise WeightsError(
            f"{where} is not {file.url}{member}: its {file.algorithm} is {actual}, and the "
            f"source publishes {file.digest}"
        )
    return _torch_read(where, file)


def _torch_read(path: Path, file: UrlFile) -> object:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        raise WeightsError(
            f"{path} (from {file.url}) was refused by torch.load(weights_only=True): "
            f"{first_line(err)}"
        ) from None
