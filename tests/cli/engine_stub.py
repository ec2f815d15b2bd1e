"""A minimal Docker Engine API on a unix socket, serving fixed JSON to the docker CLI.

The docker v28 client formats what a daemon sends it; serving it the Engine API documents
ocitool computes for an image (``GET /images/json``, ``/images/{name}/json``,
``/images/{name}/history``) makes the client print, with its own formatter, what ocitool's CLI
must print from the same data. Only the routes the client calls for ``images``, ``history``
and ``image inspect`` exist; anything else is a 404 in the daemon's error shape.
"""

from __future__ import annotations

import json
import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

API_VERSION = "1.50"  # the docker 28.2 client's API version


@dataclass
class EngineData:
    """What the stub answers: the image list, and per image name or ID its inspect document and
    history."""

    images: list[dict[str, Any]] = field(default_factory=list)
    inspect: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


_ROUTE = re.compile(r"^(?:/v[0-9.]+)?(/.*)$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, *, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if raw is None else "text/plain")
        self.send_header("Api-Version", API_VERSION)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        match = _ROUTE.match(urlsplit(self.path).path)
        path = match.group(1) if match else self.path
        data = self.server.data
        if path == "/_ping":
            self._send(200, None, raw=b"OK")
            return
        if path == "/version":
            self._send(200, {"ApiVersion": API_VERSION, "Version": "28.2.2", "MinAPIVersion": "1.24"})
            return
        if path == "/images/json":
            self._send(200, data.images)
            return
        found = re.match(r"^/images/(.+)/(json|history)$", path)
        if found:
            name = unquote(found.group(1))
            table: dict[str, Any] = data.inspect if found.group(2) == "json" else data.history
            if name in table:
                self._send(200, table[name])
                return
            self._send(404, {"message": f"No such image: {name}"})
            return
        self._send(404, {"message": "page not found"})


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, data: EngineData) -> None:
        self.data = data
        super().__init__(path, _Handler)

    def get_request(self) -> tuple[Any, Any]:
        # BaseHTTPRequestHandler wants a (host, port) client address; a unix socket has none.
        request, _ = super().get_request()
        return request, ("local", 0)


@contextmanager
def serving(data: EngineData, directory: Path) -> Iterator[str]:
    """Serve ``data`` on a socket in ``directory``; yields the ``DOCKER_HOST`` value."""
    sock = directory / "engine.sock"
    server = _Server(str(sock), data)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"unix://{sock}"
    finally:
        server.shutdown()
        server.server_close()
