"""Files of Hub repositories: from huggingface_hub's cache, or downloaded, failing fast offline.

``hf_hub_download`` retries a Hub it cannot connect to for about 23 seconds (five retries,
waiting 1, 2, 4, 8 and 8 s) before it says that a file is not in the cache. Here:

- with ``HF_HUB_OFFLINE=1`` (or ``local_files_only=True``), the cache alone, with no request;
- a file in the cache (and no ``force_download``): ``hf_hub_download``, which asks the Hub
  once whether it is current (no retry) and uses the cached copy when the Hub does not answer;
- a file not in the cache: one request first, with no retry, to learn whether the Hub answers;
  if it does not, a :class:`~scalenet.WeightsError` at once, naming the repository, the file
  and what to do; if it does, ``hf_hub_download`` downloads it.

Each request waits at most :data:`CONNECT_TIMEOUT` seconds for a connection. Everything else
(redirects, tokens, revisions, proxies, the cache and its layout) is huggingface_hub's.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, WeightsError, check_bool, check_path, check_type, first_line
from ..io.folder import CONFIG_NAME, WEIGHTS_NAME

__all__ = [
    "CONNECT_TIMEOUT",
    "Token",
    "check_filename",
    "check_repo_id",
    "check_revision",
    "download",
    "hub_options",
]

#: A Hub token: the token itself, ``None`` (the one ``HF_TOKEN`` or ``hf auth login`` gives,
#: if any) or ``False`` (none).
Token = str | bool | None

#: Seconds to wait for a connection to the Hub (TCP and TLS) before taking it as unreachable
#: (``HF_HUB_ETAG_TIMEOUT``, when set, is used instead, as huggingface_hub uses it).
CONNECT_TIMEOUT = 3.0
_LOCAL_SAVE = (
    "or load a local copy: scalenet.from_pretrained('path/to/folder'), the folder holding "
    f"{CONFIG_NAME} and {WEIGHTS_NAME}"
)


# git check-ref-format: no control characters, space, ~ ^ : ? * [ or backslash in a ref name.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def check_revision(revision: str | None) -> None:
    """Raise :class:`WeightsError` unless ``revision`` is ``None`` or a valid git ref name.

    The rules are git's (``git check-ref-format --allow-onelevel``): branches such as
    ``main`` or ``refs/pr/1``, tags and commit hashes pass (a leading ``-`` does not, as for
    ``git branch``); anything with ``..``, a component
    starting with ``.``, a leading or doubled ``/`` or a control character does not, so no
    revision can name a file outside the Hub cache.

    Examples:
        >>> check_revision("refs/pr/1")
        >>> check_revision("../../etc/passwd")
        Traceback (most recent call last):
        ...
        scalenet.errors.WeightsError: revision='../../etc/passwd' is not a valid git ref name...
    """
    if revision is None:
        return
    parts = revision.split("/") if isinstance(revision, str) else []
    if (
        not isinstance(revision, str)
        or not revision
        or _REF_FORBIDDEN.search(revision)
        or ".." in revision
        or "@{" in revision
        or revision == "@"
        or revision.startswith("-")  # read as an option by git (git branch refuses it too)
        or revision.endswith(".")
        or any(not c or c.startswith(".") or c.endswith(".lock") for c in parts)
    ):
        raise WeightsError(
            f"revision={revision!r} is not a valid git ref name (a branch, tag or commit hash "
            "such as 'main', 'v1.0' or 'refs/pr/1'; see git check-ref-format)"
        )


def check_repo_id(repo_id: str) -> None:
    """Raise :class:`WeightsError` unless ``repo_id`` is a Hub repository id, ``"org/name"``.

    Examples:
        >>> check_repo_id("scalenet/resnet20-cifar10")
        >>> check_repo_id("../x")
        Traceback (most recent call last):
        ...
        scalenet.errors.WeightsError: '../x' is not a Hub repository id ...
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]

    reason = "it needs the form 'org/name'"
    if isinstance(repo_id, str) and repo_id.count("/") == 1:
        try:
            validate_repo_id(repo_id)
            return
        except HFValidationError as err:
            reason = first_line(err)
    raise WeightsError(f"{repo_id!r} is not a Hub repository id ({reason})")


def check_filename(filename: str) -> None:
    """Raise :class:`WeightsError` unless ``filename`` is a file's path inside a repository:
    relative, ``/``-separated, with no empty, ``.`` or ``..`` part, no backslash and no
    control character, so that it can name no file outside the repository's snapshot.

    Examples:
        >>> check_filename("weights/model.safetensors")
        >>> check_filename("../../secret")
        Traceback (most recent call last):
        ...
        scalenet.errors.WeightsError: filename='../../secret' is not a file of a repository...
    """
    parts = filename.split("/") if isinstance(filename, str) else []
    if (
        not isinstance(filename, str)
        or not filename
        or re.search(r"[\x00-\x1f\x7f\\]", filename)
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise WeightsError(
            f"filename={filename!r} is not a file of a repository (a relative path such as "
            "'model.safetensors' or 'weights/model.safetensors', with no '..', '.' or empty "
            "part and no backslash)"
        )


class _Unreachable(Exception):
    """The Hub gave no answer (the message says why) and the file is not in the cache."""


def _timeout() -> tuple[Any, tuple[type[BaseException], ...]]:
    """A request timeout with :data:`CONNECT_TIMEOUT` to connect and huggingface_hub's
    ``HF_HUB_ETAG_TIMEOUT`` to read (both that, when it is set), and the errors that mean no
    answer came, for huggingface_hub's HTTP library: httpx2 (huggingface_hub 2), httpx (1) or
    requests (0.x). (huggingface_hub annotates its timeouts as floats, and hands them to that
    library as they are.)
    """
    from huggingface_hub import constants, get_session

    library = importlib.import_module(type(get_session()).__module__.partition(".")[0])
    read = float(constants.HF_HUB_ETAG_TIMEOUT)
    connect = CONNECT_TIMEOUT if read == constants.DEFAULT_ETAG_TIMEOUT else read
    if library.__name__ in ("httpx", "httpx2"):  # connect, timeout, proxy, TLS, protocol
        return library.Timeout(read, connect=connect), (library.TransportError, OSError)
    return (connect, read), (OSError,)  # requests: (connect, read); its errors are OSErrors


def _no_answer() -> tuple[type[BaseException], ...]:
    """The errors that mean the Hub gave no answer (no connection, a timeout, a broken
    transfer), as opposed to an HTTP status it answered with, for huggingface_hub's HTTP
    library; local file errors (other OSErrors) are not among them."""
    from huggingface_hub import get_session

    library = importlib.import_module(type(get_session()).__module__.partition(".")[0])
    if library.__name__ in ("httpx", "httpx2"):
        return library.TransportError, ConnectionError, TimeoutError
    return library.ConnectionError, library.Timeout, ConnectionError, TimeoutError


def _probe(repo_id: str, filename: str, revision: str | None, token: Token) -> str | None:
    """``None`` when the Hub answers (any HTTP status), else why it cannot be reached: one HEAD
    request for the file, with no retry, through huggingface_hub (session, token, redirects)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    timeout, no_answer = _timeout()
    url = hf_hub_url(repo_id, filename, revision=revision)
    try:
        get_hf_file_metadata(url, token=token, timeout=timeout)
    except HfHubHTTPError:
        return None  # an answer (not found, gated, a server error): hf_hub_download reports it
    except no_answer as err:
        return f"{type(err).__name__}: {first_line(err)}"
    return None


#: What is known of the Hub: ``None`` not asked yet, ``True`` it answered, a str why it did not.
_HubState = bool | str | None


@dataclass(frozen=True)
class _Options:
    """What a caller passes on to ``hf_hub_download`` (see :func:`download`)."""

    revision: str | None = None
    token: Token = None
    cache_dir: str | os.PathLike[str] | None = None
    local_files_only: bool = False
    force_download: bool = False

    @property
    def cache(self) -> Path | None:
        return Path(self.cache_dir).expanduser() if self.cache_dir is not None else None

    @property
    def offline(self) -> bool:
        """The cache alone, with no request: ``local_files_only`` or ``HF_HUB_OFFLINE``."""
        from huggingface_hub import constants

        return self.local_files_only or constants.is_offline_mode()


def _fetch(
    repo_id: str, filename: str, options: _Options, hub: _HubState
) -> tuple[Path, _HubState]:
    """The file's path in the Hub cache, and what is now known of the Hub."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    revision, cache, token = options.revision, options.cache, options.token
    if options.offline:  # the cache alone, no request
        path = hf_hub_download(
            repo_id, filename, revision=revision, cache_dir=cache, token=token,
            local_files_only=True,
        )  # fmt: skip
        return Path(path), hub
    in_cache = not options.force_download and isinstance(
        try_to_load_from_cache(repo_id, filename, cache, revision), str
    )
    if not in_cache:
        if hub is None:
            hub = _probe(repo_id, filename, revision, token) or True
        if hub is not True:  # no answer, and nothing to fall back on: say so now
            raise _Unreachable(hub)
    # Its one check of a cached copy is not retried: no answer, and it returns the copy.
    path = hf_hub_download(
        repo_id,
        filename,
        revision=revision,
        cache_dir=cache,
        token=token,
        force_download=options.force_download,
        etag_timeout=_timeout()[0],
    )
    return Path(path), hub


def download(
    repo_id: str,
    filename: str,
    revision: str | None = None,
    *,
    token: Token = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    local_copy: str = _LOCAL_SAVE,
) -> Path:
    """A file of a Hub repository, from huggingface_hub's cache or downloaded into it.

    A cached copy is checked with one request (is the branch still at that commit?) and
    downloaded again only if it changed; when the Hub does not answer, the copy is used. With
    no cached copy, one request with no retry learns whether the Hub answers: if it does not
    (no network, a refused connection, a host that takes no connection within
    :data:`CONNECT_TIMEOUT` seconds), the error comes at once, where ``hf_hub_download`` would
    retry for about 23 seconds. With ``HF_HUB_OFFLINE=1`` or ``local_files_only=True``, or a
    ``revision`` that is a commit hash already in the cache, no request is made.

    Args:
        repo_id: ``"org/name"``.
        filename: the file in the repository.
        revision: a branch, tag or commit (default: the main branch).
        token: the Hub token for a private or gated repository (default: ``HF_TOKEN`` or
            the one ``hf auth login`` stored; ``False``: none). Every request sends it.
        cache_dir: the Hub cache (default: huggingface_hub's, ``HF_HUB_CACHE``).
        local_files_only: the cache alone, with no request, as ``HF_HUB_OFFLINE=1`` for
            this call.
        force_download: download the file again even when the cache has it.
        local_copy: the error's last remedy: how to load a local copy instead.

    Raises:
        WeightsError: the file is neither in the cache nor reachable (naming the repository,
            the file and the remedies), or the repository, revision or file does not exist,
            or access is denied; the repository id, revision or filename is malformed (before
            any request or file access).
        ConfigError: ``force_download`` and ``local_files_only`` both true.

    Examples:
        (Not run as a doctest: it needs the Hub.) ::

            path = download("timm/resnet18.tv_in1k", "model.safetensors")
            state = scalenet.io.weights.read_state_dict(path)
            path = download("my-org/private-model", "config.json", token="hf_...",
                            cache_dir="/data/hub-cache")
    """
    check_repo_id(repo_id)
    options = hub_options(revision, token, cache_dir, local_files_only, force_download)
    check_filename(filename)
    return _download(repo_id, filename, options, local_copy=local_copy)[0]


def hub_options(
    revision: str | None = None,
    token: Token = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
) -> _Options:
    """The download options, checked before any request or file access."""
    check_revision(revision)
    check_bool("local_files_only", local_files_only)
    check_bool("force_download", force_download)
    if local_files_only and force_download:
        raise ConfigError(
            "force_download", True, "False when local_files_only=True",
            "the cache alone cannot download a file again",
        )  # fmt: skip
    check_type("token", token, (str, bool, type(None)), "a str, None or False")
    if cache_dir is not None:
        check_path("cache_dir", cache_dir)
    return _Options(revision, token, cache_dir, local_files_only, force_download)


def _download(
    repo_id: str,
    filename: str,
    options: _Options,
    *,
    local_copy: str = _LOCAL_SAVE,
    found: bool = False,
    hub: _HubState = None,
) -> tuple[Path, _HubState]:
    """:func:`download`, given and returning what is known of the Hub (asked once a load);
    ``found``: the repository is known to exist (a missing file is then named as such)."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    revision = options.revision
    what = f"{filename} of {repo_id}" + (f" (revision {revision!r})" if revision else "")
    cache = options.cache or Path(constants.HF_HUB_CACHE)
    missing = f"{what} is not in the local cache ({cache})"
    online = "Download it once while online (the cache then serves it offline)"
    try:
        return _fetch(repo_id, filename, options, hub)
    except _Unreachable as err:
        if options.force_download:
            raise WeightsError(
                f"{what} cannot be downloaded again (force_download=True): the Hub at "
                f"{constants.ENDPOINT} cannot be reached ({err}). Without force_download the "
                f"cached copy ({cache}), if any, is used; {local_copy}"
            ) from None
        raise WeightsError(
            f"{missing}, and the Hub at {constants.ENDPOINT} cannot be reached ({err}). "
            f"{online}; with it in the cache, HF_HUB_OFFLINE=1 loads it without asking the "
            f"Hub; {local_copy}"
        ) from None
    except HFValidationError as err:
        raise WeightsError(f"{repo_id}: {first_line(err)}") from None
    except LocalEntryNotFoundError as err:  # (a subclass of EntryNotFoundError: first)
        if options.offline:
            why, unset = (
                ("local_files_only=True", "Pass local_files_only=False")
                if options.local_files_only
                else ("HF_HUB_OFFLINE is set", "Unset HF_HUB_OFFLINE")
            )
            raise WeightsError(
                f"{missing}, and {why}, so the Hub is not asked. {unset}: {online.lower()}; "
                f"{local_copy}"
            ) from None
        raise WeightsError(  # the Hub answered, with no usable metadata or a server error
            f"{missing}, and the Hub at {constants.ENDPOINT} did not serve it: {first_line(err)}"
        ) from None
    except EntryNotFoundError:
        raise WeightsError(f"{repo_id} has no {filename}") from None
    except RevisionNotFoundError:
        raise WeightsError(f"{repo_id} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        if found:  # some servers answer a missing file like a missing repository
            raise WeightsError(f"{repo_id} has no {filename} (or it is not accessible)") from None
        raise WeightsError(f"no repository {repo_id!r} on the Hub (or no access to it)") from None
    except HfHubHTTPError as err:  # gated, server errors...
        raise WeightsError(f"{what}: {first_line(err)}") from None
    except OSError as err:  # the cache cannot be written (a full disk, permissions)
        raise WeightsError(f"{what}: {err}") from None
