"""A small HTTP file server on 127.0.0.1 for the URL-download tests.

``FileServer(folder)`` serves ``folder`` (GET only) from a thread and records each request's
path; ``answer=False`` makes it drop every connection without a reply (a server that takes
the connection but never answers the request). It stops in bounded time on exit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


class _Handler(SimpleHTTPRequestHandler):
    server: _Server

    def handle_one_request(self) -> None:
        if not self.server.answer:
            self.server.requests.append("<dropped>")
            self.close_connection = True
            return  # close the connection without reading or answering
        super().handle_one_request()

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    answer = True
    requests: list[str]


@contextmanager
def file_server(folder: Path, *, answer: bool = True) -> Iterator[_Server]:
    """Serve ``folder`` at ``http://127.0.0.1:<port>/`` until the block ends.

    The server's ``url`` is its base URL and ``requests`` the paths asked for.
    """
    server = _Server((HOST, 0), partial(_Handler, directory=str(folder)))
    server.answer = answer
    server.requests = []
    server.url = f"http://{HOST}:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
