"""Real local Hugging Face Hub servers for tests, on 127.0.0.1 and without internet.

* ``hub_server`` (session scope): an `olah <https://pypi.org/project/olah/>`_ Hub mirror in
  offline mode. It serves the git repositories under ``<mirrors>/models/<org>/<repo>`` (any
  branch, tag or commit) as Hub model repos, so ``hf_hub_download`` and friends read real
  commits through the real Hub HTTP protocol.
* ``push_server`` (function scope): a small Hub write API (create repo, preupload, commit) for
  ``HfApi.create_repo``/``upload_file``/``upload_folder``. A commit lands in the same git
  repositories, so what a test pushes it can pull back through olah. Every other GET/HEAD is
  forwarded to olah, so the push endpoint also reads like a full Hub.
* ``hf_env`` (function scope): points ``huggingface_hub`` at ``hub_server`` with a private cache
  (environment variables and the module constants read at import time), and undoes it after.

Example (a test module picks fixtures up from its globals; importing them by name would
trip ruff's F811 on every test that takes them as arguments)::

    import hub_servers
    from hub_servers import HfEnv, HubServer

    hub_server = hub_servers.hub_server
    hf_env = hub_servers.hf_env

    def test_download(hub_server: HubServer, hf_env: HfEnv) -> None:
        repo_id = hub_server.unique_repo_id()
        sha = hub_server.create_repo(repo_id, {"config.json": b"{}"})
        path = hf_hub_download(repo_id, "config.json", revision=sha)

``hub_server`` is session-scoped, so its repositories outlive a test: give each test its own
repo id (:meth:`HubServer.unique_repo_id`). A pytest fixture belongs to the module that holds
it, so each test module that imports ``hub_server`` gets its own olah (about 1.5 s to start);
imported into ``conftest.py`` it is one olah for the whole session.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

HOST = "127.0.0.1"
#: Seconds olah may take to accept connections (it usually needs 1-2 s).
OLAH_START_TIMEOUT = 60.0
#: Seconds olah gets to exit on SIGTERM before it is killed.
OLAH_STOP_TIMEOUT = 10.0

_NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_GIT_CONFIG = (
    # Weight files hardly compress: storing them as they are makes a commit of 100 MB take
    # about 1 s instead of 5.
    "-c",
    "core.compression=0",
    "-c",
    "core.looseCompression=0",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "core.autocrlf=false",
    "-c",
    "core.hooksPath=" + os.devnull,
    "-c",
    "init.defaultBranch=main",
)


def _git_env() -> dict[str, str]:
    """Environment for git: no user or system config, fixed identity, never prompt."""
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="hub-test",
        GIT_AUTHOR_EMAIL="hub-test@localhost",
        GIT_COMMITTER_NAME="hub-test",
        GIT_COMMITTER_EMAIL="hub-test@localhost",
    )
    return env


def _git(repo_dir: Path, *args: str) -> str:
    """Run ``git`` in ``repo_dir`` and return its stripped stdout."""
    done = subprocess.run(
        ["git", *_GIT_CONFIG, *args],
        cwd=repo_dir,
        env=_git_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo_dir}:\n{done.stderr}")
    return done.stdout.strip()


def _git_ok(*args: str) -> bool:
    """Whether ``git args`` succeeds (run outside any repository)."""
    done = subprocess.run(
        ["git", *args], env=_git_env(), capture_output=True, timeout=60, check=False
    )
    return done.returncode == 0


def _repo_parts(repo_id: str) -> list[str]:
    parts = repo_id.split("/")
    if not 1 <= len(parts) <= 2 or not all(_NAME_PART.fullmatch(p) for p in parts):
        raise ValueError(f"invalid repo id {repo_id!r}: expected 'org/name' or 'name'")
    return parts


def _file_parts(path_in_repo: str) -> tuple[str, ...]:
    parts = PurePosixPath(path_in_repo).parts
    if not parts or parts[0] == "/" or any(p in {"..", ".", ".git"} for p in parts):
        raise ValueError(f"invalid path in repo {path_in_repo!r}")
    return parts


def _olah_safe_blob(repo_dir: Path, data: bytes) -> bytes:
    """The blob to commit for ``data``: itself, or a git LFS pointer olah can serve.

    olah reads every blob of 121-149 bytes as UTF-8 to test for an LFS pointer and answers
    HTTP 500 when that fails; such files are stored through git LFS (pointer and object),
    which olah serves with the original bytes.
    """
    if not 120 < len(data) < 150:
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return data
    oid = hashlib.sha256(data).hexdigest()
    obj = repo_dir / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(data)
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n"
    return pointer.encode()


class MirrorStore:
    """The git repositories olah serves: ``<root>/models/<org>/<repo>``, branch ``main``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def repo_dir(self, repo_id: str) -> Path:
        """Directory of the git repository for a model ``repo_id``."""
        return self.root.joinpath("models", *_repo_parts(repo_id))

    def exists(self, repo_id: str) -> bool:
        """Whether the repository exists."""
        return (self.repo_dir(repo_id) / ".git").is_dir()

    def init(self, repo_id: str, message: str = "initial commit") -> str:
        """Create the repository with one empty commit on ``main``; return its sha."""
        with self._lock:
            return self._init(repo_id, message)

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, bytes],
        message: str,
        delete: Iterable[str] = (),
        *,
        create: bool = False,
        ref: str = "refs/heads/main",
    ) -> str:
        """Write ``files``, remove ``delete`` paths and commit on ``ref`` (a branch or a
        ``refs/pr/N``; ``main`` by default); return the sha."""
        with self._lock:
            repo_dir = self.repo_dir(repo_id)
            if not self.exists(repo_id):
                if not create:
                    raise FileNotFoundError(f"no repository {repo_id!r} under {self.root}")
                self._init(repo_id, None)
            other = ref != "refs/heads/main"
            if other:  # the work tree follows main: commit on a detached copy of ref
                _git(repo_dir, "checkout", "-q", "--detach", ref)
            try:
                for path in delete:
                    path = "/".join(_file_parts(path))
                    _git(repo_dir, "rm", "-r", "-q", "--ignore-unmatch", "--", path)
                for path, data in files.items():
                    target = repo_dir.joinpath(*_file_parts(path))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(_olah_safe_blob(repo_dir, data))
                if files:
                    _git(repo_dir, "add", "-A", "--", *("/".join(_file_parts(p)) for p in files))
                _git(repo_dir, "commit", "-q", "--allow-empty", "-m", message)
                sha = _git(repo_dir, "rev-parse", "HEAD")
                if other:
                    _git(repo_dir, "update-ref", ref, sha)
            finally:
                if other:
                    _git(repo_dir, "checkout", "-q", "-f", "main")
            return sha

    def head(self, repo_id: str, ref: str = "refs/heads/main") -> str:
        """Sha of ``ref`` (``main`` by default)."""
        return _git(self.repo_dir(repo_id), "rev-parse", "--verify", "-q", ref)

    def has_ref(self, repo_id: str, ref: str) -> bool:
        """Whether ``ref`` (``refs/heads/<branch>``, ``refs/pr/<n>``) exists."""
        try:
            self.head(repo_id, ref)
        except RuntimeError:
            return False
        return True

    def create_ref(self, repo_id: str, ref: str, start: str) -> str:
        """Create ``ref`` at the commit ``start`` names (a sha or a ref); return that sha."""
        with self._lock:
            repo_dir = self.repo_dir(repo_id)
            sha = _git(repo_dir, "rev-parse", "--verify", "-q", f"{start}^{{commit}}")
            _git(repo_dir, "update-ref", ref, sha, "0" * 40)  # fails if ref exists
            return sha

    def refs(self, repo_id: str, prefix: str) -> list[str]:
        """The refs under ``prefix`` (``refs/pr/``...)."""
        out = _git(self.repo_dir(repo_id), "for-each-ref", "--format=%(refname)", prefix)
        return out.split()

    def _init(self, repo_id: str, message: str | None) -> str:
        repo_dir = self.repo_dir(repo_id)
        if (repo_dir / ".git").exists():
            raise FileExistsError(f"repository {repo_id!r} already exists; use another repo id")
        repo_dir.mkdir(parents=True, exist_ok=True)
        _git(repo_dir, "init", "-q")
        _git(repo_dir, "symbolic-ref", "HEAD", "refs/heads/main")
        if message is None:
            return ""
        _git(repo_dir, "commit", "-q", "--allow-empty", "-m", message)
        return _git(repo_dir, "rev-parse", "HEAD")


# --------------------------------------------------------------------------------------- olah


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _toml_str(value: str | Path) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(str(value))


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<no output>"


@dataclass
class HubServer:
    """A running olah Hub mirror and the git repositories it serves."""

    endpoint: str
    mirrors: MirrorStore
    root: Path
    startup_seconds: float
    _counter: Iterator[int] = field(default_factory=itertools.count, repr=False)

    def create_repo(self, repo_id: str, files: Mapping[str, bytes]) -> str:
        """Create repo ``repo_id`` holding ``files`` (one commit on ``main``); return the sha."""
        if self.mirrors.exists(repo_id):
            raise FileExistsError(f"repository {repo_id!r} already exists; use another repo id")
        return self.mirrors.commit(repo_id, files, "initial commit", create=True)

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, bytes],
        message: str = "update files",
        delete: Iterable[str] = (),
    ) -> str:
        """Add a commit on ``main`` (write ``files``, remove ``delete``); return its sha."""
        return self.mirrors.commit(repo_id, files, message, delete)

    def unique_repo_id(self, name: str = "model", org: str = "test-org") -> str:
        """A repo id no repository uses yet, e.g. ``test-org/model-3``."""
        while True:
            repo_id = f"{org}/{name}-{next(self._counter)}"
            if not self.mirrors.exists(repo_id):
                return repo_id


def _write_olah_config(root: Path, port: int) -> Path:
    config = root / "olah.toml"
    config.write_text(
        "\n".join(
            [
                "[basic]",
                f"host = {_toml_str(HOST)}",
                f"port = {port}",
                f"repos-path = {_toml_str(root / 'repos')}",
                f"mirrors-path = [{_toml_str(root / 'mirrors')}]",
                f"mirror-netloc = {_toml_str(f'{HOST}:{port}')}",
                f"mirror-lfs-netloc = {_toml_str(f'{HOST}:{port}')}",
                # Offline mode never goes upstream; a dead local upstream makes sure of it.
                'hf-scheme = "http"',
                f"hf-netloc = {_toml_str(f'{HOST}:9')}",
                f"hf-lfs-netloc = {_toml_str(f'{HOST}:9')}",
                # Resolve branches afresh on every request, so new commits show at once.
                "metadata-cache-ttl = 0",
                "",
                "[accessibility]",
                "offline = true",
                "",
            ]
        )
    )
    return config


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(OLAH_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(OLAH_STOP_TIMEOUT)


def _start_olah(root: Path, port: int, out: Path) -> tuple[subprocess.Popen[bytes], float]:
    """Start olah on ``port``; return the process and its start-up time, or raise RuntimeError."""
    config = _write_olah_config(root, port)
    env = dict(os.environ)
    home = str(root / "home")  # olah and its huggingface_hub keep state under ~
    env.update(HOME=home, USERPROFILE=home, PYTHONUNBUFFERED="1")
    env["NO_PROXY"] = env["no_proxy"] = ",".join(
        filter(None, [HOST, "localhost", env.get("NO_PROXY", "")])
    )
    command = [sys.executable, "-m", "olah.server", "-c", str(config)]
    command += ["--log-path", str(root / "logs")]
    start = time.monotonic()
    with out.open("wb") as sink:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = start + OLAH_START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"olah exited with code {proc.returncode}:\n{_tail(out)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return proc, time.monotonic() - start
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(
                f"olah did not accept connections on {HOST}:{port} within "
                f"{OLAH_START_TIMEOUT:.0f} s:\n{_tail(out)}"
            )
        time.sleep(0.05)


@contextlib.contextmanager
def run_olah(root: Path) -> Iterator[HubServer]:
    """Run olah (offline, 127.0.0.1, free port) serving ``<root>/mirrors``; stop it on exit."""
    for name in ("mirrors", "repos", "logs", "home"):
        (root / name).mkdir(parents=True, exist_ok=True)
    if shutil.which("git") is None:
        pytest.fail("hub_server needs the git executable on PATH", pytrace=False)
    out = root / "olah.out"
    error = ""
    for _attempt in range(3):
        port = _free_port()
        try:
            proc, seconds = _start_olah(root, port, out)
        except RuntimeError as exc:
            error = str(exc)
            if "address already in use" in error.lower():
                continue  # lost the race for the free port: pick another
            break
        try:
            yield HubServer(f"http://{HOST}:{port}", MirrorStore(root / "mirrors"), root, seconds)
        finally:
            _stop(proc)
        return
    pytest.fail(f"could not start olah (is `pip install -e .[dev]` done?): {error}", pytrace=False)


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """An offline olah Hub mirror on 127.0.0.1, for the session (see the module docstring)."""
    with run_olah(tmp_path_factory.mktemp("hub")) as server:
        yield server


# ------------------------------------------------------------------------- huggingface_hub env


@dataclass
class HfEnv:
    """``huggingface_hub`` pointed at a local endpoint, with its own cache."""

    endpoint: str
    home: Path
    cache_dir: Path
    monkeypatch: pytest.MonkeyPatch

    def set_offline(self, offline: bool = True) -> None:
        """Switch ``HF_HUB_OFFLINE`` (environment and ``huggingface_hub.constants``)."""
        from huggingface_hub import constants

        self.monkeypatch.setenv("HF_HUB_OFFLINE", "1" if offline else "0")
        self.monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)

    def set_endpoint(self, endpoint: str) -> None:
        """Make ``endpoint`` the default Hub, e.g. ``push_server.endpoint`` (reads and writes)."""
        self.endpoint = _patch_endpoint(self.monkeypatch, endpoint)
        _close_hf_session()


def _close_hf_session() -> None:
    # The shared HTTP client keeps pooled connections and proxy settings: start afresh.
    with contextlib.suppress(ImportError):
        from huggingface_hub.utils import _http

        _http.close_session()


def _patch_endpoint(mp: pytest.MonkeyPatch, endpoint: str) -> str:
    """Set ``HF_ENDPOINT`` and the constants ``huggingface_hub`` derives from it at import."""
    from huggingface_hub import constants

    endpoint = endpoint.rstrip("/")
    mp.setenv("HF_ENDPOINT", endpoint)
    mp.setattr(constants, "ENDPOINT", endpoint)
    template = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    mp.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    host = urlsplit(endpoint).hostname
    if host and hasattr(constants, "HF_URL_HOSTS"):
        mp.setattr(constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {host})
    return endpoint


@contextlib.contextmanager
def hf_hub_environment(endpoint: str, home: Path) -> Iterator[HfEnv]:
    """Point ``huggingface_hub`` at ``endpoint`` with state under ``home``; undo it on exit.

    ``huggingface_hub`` reads its environment variables once, at import, into
    ``huggingface_hub.constants``; both are set here (the variables also reach subprocesses).
    No token is used (``HF_TOKEN`` unset, token file under ``home``), telemetry is off,
    offline mode is off, and a download waits up to 60 s between reads.
    """
    from huggingface_hub import constants

    cache_dir = home / "hub"
    token_path = home / "token"
    values: dict[str, Any] = {
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(cache_dir),
        "HUGGINGFACE_HUB_CACHE": str(cache_dir),
        "HF_TOKEN_PATH": str(token_path),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
        # A loaded machine (CI's sweep beside a test run) can take olah past the default
        # 10 s between two reads of a large file; no test here is about that timeout.
        "HF_HUB_DOWNLOAD_TIMEOUT": 60,
    }
    with pytest.MonkeyPatch.context() as mp:
        for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "TRANSFORMERS_OFFLINE"):
            mp.delenv(name, raising=False)
        mp.delenv("HUGGINGFACE_CO_STAGING", raising=False)
        no_proxy = ",".join(filter(None, [HOST, "localhost", os.environ.get("NO_PROXY", "")]))
        env = {
            "HF_HOME": str(home),
            "HF_HUB_CACHE": str(cache_dir),
            "HF_TOKEN_PATH": str(token_path),
            "HF_HUB_OFFLINE": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DOWNLOAD_TIMEOUT": "60",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }
        for name, value in env.items():
            mp.setenv(name, value)
        for name, value in values.items():
            if hasattr(constants, name):
                mp.setattr(constants, name, value)
        endpoint = _patch_endpoint(mp, endpoint)
        _close_hf_session()
        try:
            yield HfEnv(endpoint, home, cache_dir, mp)
        finally:
            _close_hf_session()


@pytest.fixture
def hf_env(hub_server: HubServer, tmp_path: Path) -> Iterator[HfEnv]:
    """``huggingface_hub`` reading from ``hub_server``, with a cache under ``tmp_path``."""
    with hf_hub_environment(hub_server.endpoint, tmp_path / "hf-home") as env:
        yield env


# -------------------------------------------------------------------------------- push server

_COMMIT_ROUTE = re.compile(
    r"/api/models/(?P<repo>[^/]+(?:/[^/]+)?)/(?P<op>preupload|commit|branch)/(?P<revision>[^/]+)"
)
_INFO_ROUTE = re.compile(r"/api/models/[^/]+(?:/[^/]+)?")
_DISCUSSION_ROUTE = re.compile(
    r"/api/models/(?P<repo>[^/]+(?:/[^/]+)?)/discussions(?:/(?P<num>\d+))?"
)
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "date",
    "server",
}


class _HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = extra


class PushServer:
    """A minimal Hub write API committing into a :class:`MirrorStore`; reads go to olah.

    Implements ``POST /api/repos/create``, ``POST /api/validate-yaml``,
    ``POST /api/models/<repo>/branch/<branch>`` (from ``startingPoint``, else main; 409 if it
    exists), ``POST /api/models/<repo>/preupload/<rev>`` (every
    file is ``regular``, so contents arrive base64 in the commit) and
    ``POST /api/models/<repo>/commit/<rev>`` (NDJSON; ``file``, ``deletedFile`` and
    ``deletedFolder`` lines; onto an existing branch or ``refs/pr/N``; ``create_pr=1`` commits
    onto a new ``refs/pr/N`` from the branch's head instead), and pull requests as
    huggingface_hub 2 opens them: ``POST /api/models/<repo>/discussions`` (a new ``refs/pr/N``
    from main) and ``GET /api/models/<repo>/discussions/<N>``. Any other GET/HEAD is forwarded to
    ``upstream`` (``/api/models/<repo>`` as ``/api/models/<repo>/revision/main``, which offline
    olah needs). It records every request (:attr:`requests`), the ``Authorization`` header it
    came with (:attr:`authorization`) and each create-repo body (:attr:`created`).
    """

    def __init__(self, mirrors: MirrorStore, upstream: str) -> None:
        self.mirrors = mirrors
        self.upstream = urlsplit(upstream)
        #: ``"METHOD /path?query STATUS"`` for every request, in order.
        self.requests: list[str] = []
        #: The ``Authorization`` header of each request in :attr:`requests` (``None``: none).
        self.authorization: list[str | None] = []
        #: The JSON body of every ``POST /api/repos/create``, in order.
        self.created: list[dict[str, Any]] = []
        #: (repo id, number) -> the body a pull request was opened with.
        self.pulls: dict[tuple[str, int], dict[str, Any]] = {}
        #: Injected failures: route name (``create``, ``preupload``, ``commit``) to HTTP status.
        self.failures: dict[str, int] = {}
        self._httpd = ThreadingHTTPServer((HOST, 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.endpoint = f"http://{HOST}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def fail(self, route: str = "commit", status: int = 500) -> None:
        """Make ``route`` (``create``, ``preupload`` or ``commit``) answer ``status``.

        Only ``commit`` fails at once: the client retries ``preupload`` on 5xx with backoff.
        """
        if route not in {"create", "preupload", "commit"}:
            raise ValueError(f"unknown route {route!r}")
        self.failures[route] = status

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(OLAH_STOP_TIMEOUT)

    # Routes: each returns (status, JSON body) or raises _HubError.

    def _check_failure(self, route: str) -> None:
        if route in self.failures:
            raise _HubError(self.failures[route], f"injected failure of {route}")

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self._check_failure("create")
        self.created.append(body)
        repo_type = body.get("type") or "model"
        if repo_type != "model":
            raise _HubError(400, f"push server only hosts model repos, not {repo_type!r}")
        name, org = body.get("name"), body.get("organization")
        repo_id = f"{org}/{name}" if org else str(name)
        url = f"{self.endpoint}/{repo_id}"
        try:
            self.mirrors.init(repo_id)
        except FileExistsError:
            # The client reads "url" from the 409 answer too, when exist_ok=True.
            message = "You already created this model repo"
            raise _HubError(409, message, "RepoExists", url=url) from None
        except ValueError as exc:
            raise _HubError(400, str(exc)) from None
        return 200, {"url": url, "name": repo_id, "id": repo_id}

    def _repo(self, repo_id: str, revision: str) -> str:
        """The ref ``revision`` names (a branch, or ``refs/pr/N``), which must exist."""
        if not self.mirrors.exists(repo_id):
            raise _HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        ref = revision if revision.startswith("refs/pr/") else f"refs/heads/{revision}"
        if not self.mirrors.has_ref(repo_id, ref):
            raise _HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return ref

    def _new_pr(self, repo_id: str, start: str) -> int:
        """Create ``refs/pr/N`` (the next N) at ``start``; return N."""
        number = len(self.mirrors.refs(repo_id, "refs/pr/")) + 1
        self.mirrors.create_ref(repo_id, f"refs/pr/{number}", start)
        return number

    def _discussions(self, repo_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if not self.mirrors.exists(repo_id):
            raise _HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        if not body.get("pullRequest"):
            raise _HubError(400, "push server only opens pull requests")
        number = self._new_pr(repo_id, "refs/heads/main")
        self.pulls[(repo_id, number)] = body
        return {"num": number, "pullRequest": True}

    def handle_get(self, path: str) -> tuple[int, dict[str, Any]] | None:
        """Answer a GET of a pull request opened here; ``None``: forward it to olah."""
        match = _DISCUSSION_ROUTE.fullmatch(path)
        if match is None or match["num"] is None:
            return None
        repo_id, number = match["repo"], int(match["num"])
        if (repo_id, number) not in self.pulls:
            raise _HubError(404, f"Discussion {number} of {repo_id} not found")
        body = self.pulls[(repo_id, number)]
        return 200, {
            "num": number, "title": body.get("title", ""), "status": "draft",
            "isPullRequest": True, "author": {"name": "hub-test"},
            "createdAt": "2026-01-01T00:00:00.000Z", "repo": {"name": repo_id, "type": "model"},
            "events": [], "changes": {"base": "refs/heads/main"}, "filesWithConflicts": [],
        }  # fmt: skip

    def _branch(self, repo_id: str, branch: str, body: dict[str, Any]) -> dict[str, Any]:
        if not self.mirrors.exists(repo_id):
            raise _HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        ref = f"refs/heads/{branch}"
        if branch.startswith("refs/") or not _git_ok("check-ref-format", ref):
            raise _HubError(400, f"Invalid reference for a branch: {branch}")
        if self.mirrors.has_ref(repo_id, ref):
            raise _HubError(409, f"Reference already exists: {ref}")
        start = body.get("startingPoint") or "refs/heads/main"
        try:
            self.mirrors.create_ref(repo_id, ref, start)
        except RuntimeError:
            raise _HubError(400, f"Invalid startingPoint {start!r}") from None
        return {}

    def _preupload(self, repo_id: str, revision: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check_failure("preupload")
        ref = self._repo(repo_id, revision)
        files = [
            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
            for f in body.get("files", [])
        ]
        return {"files": files, "commitOid": self.mirrors.head(repo_id, ref)}

    def _commit(self, repo_id: str, revision: str, raw: bytes, query: str) -> dict[str, Any]:
        self._check_failure("commit")
        ref = self._repo(repo_id, revision)
        pr_url = None
        if "create_pr=1" in query:  # a new refs/pr/N from the branch's head
            number = self._new_pr(repo_id, ref)
            ref = f"refs/pr/{number}"
            pr_url = f"{self.endpoint}/{repo_id}/discussions/{number}"
        header: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        delete: list[str] = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                content = value["content"]
                encoding = value.get("encoding", "utf-8")
                data = base64.b64decode(content) if encoding == "base64" else content.encode()
                files[value["path"]] = data
            elif key in {"deletedFile", "deletedFolder"}:
                delete.append(value["path"])
            else:
                raise _HubError(400, f"push server cannot handle {key!r} commit lines")
        parent = header.get("parentCommit")
        if parent and parent != self.mirrors.head(repo_id, ref):
            raise _HubError(412, f"parent commit {parent} is not the head of {revision}")
        message = header.get("summary") or "Upload files"
        if header.get("description"):
            message += "\n\n" + header["description"]
        try:
            sha = self.mirrors.commit(repo_id, files, message, delete, ref=ref)
        except ValueError as exc:
            raise _HubError(400, str(exc)) from None
        return {
            "success": True,
            "commitOid": sha,
            "commitUrl": f"{self.endpoint}/{repo_id}/commit/{sha}",
            "hookOutput": "",
            "pullRequestUrl": pr_url,
        }

    @staticmethod
    def _validate_yaml(body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Parse the card's YAML front matter as the Hub would; 400 if it is not YAML."""
        import yaml

        content = str(body.get("content", ""))
        parts = content.split("---", 2)
        if content.startswith("---") and len(parts) == 3:
            try:
                yaml.safe_load(parts[1])
            except yaml.YAMLError as exc:
                raise _HubError(400, f"invalid YAML front matter: {exc}") from None
        return 200, {"errors": [], "warnings": []}

    def handle_post(self, path: str, query: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Answer a POST: ``(status, JSON body)``."""
        if path == "/api/repos/create":
            return self._create(json.loads(raw or b"{}"))
        if path == "/api/validate-yaml":  # the client checks a README's front matter first
            return self._validate_yaml(json.loads(raw or b"{}"))
        discussions = _DISCUSSION_ROUTE.fullmatch(path)
        if discussions is not None and discussions["num"] is None:
            return 200, self._discussions(discussions["repo"], json.loads(raw or b"{}"))
        match = _COMMIT_ROUTE.fullmatch(path)
        if match is None:
            raise _HubError(404, f"push server does not implement POST {path}")
        repo_id, revision = match["repo"], unquote(match["revision"])
        if match["op"] == "branch":
            return 200, self._branch(repo_id, revision, json.loads(raw or b"{}"))
        if match["op"] == "preupload":
            return 200, self._preupload(repo_id, revision, json.loads(raw or b"{}"))
        return 200, self._commit(repo_id, revision, raw, query)

    def forward(
        self, method: str, target: str, headers: Mapping[str, str]
    ) -> http.client.HTTPResponse:
        """Send a GET/HEAD to the upstream (olah) as is, without following redirects."""
        host, port = self.upstream.hostname or HOST, self.upstream.port or 80
        path, sep, query = target.partition("?")
        if _INFO_ROUTE.fullmatch(path):
            # Offline olah answers repo info only for an explicit revision.
            target = f"{path}/revision/main{sep}{query}"
        conn = http.client.HTTPConnection(host, port, timeout=60)
        keep = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}}
        conn.request(method, target, headers=keep)
        return conn.getresponse()


def _make_handler(server: PushServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            server.authorization.append(self.headers.get("Authorization"))
            server.requests.append(f"{self.command} {self.path} {code}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            path, _, query = self.path.partition("?")
            raw = self._body()
            try:
                status, payload = server.handle_post(path, query, raw)
                extra: list[tuple[str, str]] = []
            except _HubError as exc:
                status, payload = exc.status, {"error": str(exc), **exc.extra}
                extra = [("X-Error-Message", str(exc))]
                if exc.code:
                    extra.append(("X-Error-Code", exc.code))
            except Exception as exc:  # a bug here should reach the test as an HTTP 500
                status, payload = 500, {"error": f"push server error: {exc!r}"}
                extra = []
            body = json.dumps(payload).encode()
            self._send(status, body, [("Content-Type", "application/json"), *extra])

        def _forward(self) -> None:
            try:
                response = server.forward(self.command, self.path, dict(self.headers.items()))
            except OSError as exc:
                self._send(502, json.dumps({"error": f"upstream: {exc}"}).encode())
                return
            with contextlib.closing(response):
                body = response.read() if self.command != "HEAD" else b""
                headers = [
                    (k, v)
                    for k, v in response.getheaders()
                    if k.lower() not in _HOP_BY_HOP | {"content-length"}
                ]
                self.send_response(response.status)
                for name, value in headers:
                    self.send_header(name, value)
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def do_GET(self) -> None:
            try:
                answer = server.handle_get(self.path.partition("?")[0])
            except _HubError as exc:
                answer = exc.status, {"error": str(exc)}
            if answer is None:
                self._forward()
            else:
                self._send(answer[0], json.dumps(answer[1]).encode())

        do_HEAD = _forward

        def _not_implemented(self) -> None:
            self._body()
            message = f"push server does not implement {self.command} {self.path}"
            self._send(HTTPStatus.NOT_FOUND, json.dumps({"error": message}).encode())

        do_PUT = _not_implemented
        do_DELETE = _not_implemented
        do_PATCH = _not_implemented

    return Handler


@contextlib.contextmanager
def run_push_server(mirrors: MirrorStore, upstream: str) -> Iterator[PushServer]:
    """Run a :class:`PushServer` on 127.0.0.1 (free port) in a thread; stop it on exit."""
    server = PushServer(mirrors, upstream)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def push_server(hub_server: HubServer) -> Iterator[PushServer]:
    """A Hub write API on 127.0.0.1 committing into the repos ``hub_server`` serves."""
    with run_push_server(hub_server.mirrors, hub_server.endpoint) as server:
        yield server


# ------------------------------------------------------------------- published ImageNet weights

TV_IN1K_REPO = "timm/resnet50.tv_in1k"  # what scalenet.create("resnet50", pretrained=True) reads
TV_IN1K_FILES = {"model.safetensors", "pytorch_model.bin", "config.json", "README.md"}


@dataclass
class Published:
    """The torchvision resnet50 whose weights the Hub serves as ``timm/resnet50.tv_in1k``."""

    reference: Any  # torchvision.models.ResNet, in eval mode
    sha: str


def publish_torchvision_resnet50(hub_server: HubServer, folder: Path) -> Published:
    """Publish a seeded torchvision resnet50 as timm publishes ``timm/resnet50.tv_in1k``.

    timm writes the repository (``timm.models.save_for_hf``: safetensors, pickle, config.json,
    model card). The weights are always the same (seed 1234), so the tests and the docs that
    share the session's olah share the repository: it is made once.
    """
    import timm
    import torch
    import torchvision
    from timm.models._hub import generate_readme, save_for_hf

    torch.manual_seed(1234)
    reference = torchvision.models.resnet50().eval()
    with torch.no_grad():  # batch norm that is not the identity, so every weight matters
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    if hub_server.mirrors.exists(TV_IN1K_REPO):
        return Published(reference, hub_server.mirrors.head(TV_IN1K_REPO))
    # timm's resnet50 has torchvision's parameter names; timm writes the repository.
    carrier = timm.create_model("resnet50.tv_in1k", pretrained=False)
    carrier.load_state_dict(reference.state_dict(), strict=True)
    save_for_hf(carrier, str(folder), safe_serialization="both")
    card = {"license": "bsd-3-clause", "details": {}, "description": "torchvision weights"}
    (folder / "README.md").write_text(generate_readme(card, TV_IN1K_REPO))
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(files) == TV_IN1K_FILES
    with pytest.MonkeyPatch.context() as mp:  # 200 MB of floats: git need not compress them
        for i, (key, value) in enumerate(
            {"core.compression": 0, "core.looseCompression": 0}.items()
        ):
            mp.setenv(f"GIT_CONFIG_KEY_{i}", key)
            mp.setenv(f"GIT_CONFIG_VALUE_{i}", str(value))
        mp.setenv("GIT_CONFIG_COUNT", "2")
        return Published(reference, hub_server.create_repo(TV_IN1K_REPO, files))
