"""A local HTTP server for ingestion tests: routes map a path to a canned or computed answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """One canned response; `delay` sleeps before answering (for timeouts)."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Route = Answer | Callable[[BaseHTTPRequestHandler], Answer]


class Server:
    """The running server: its base URL, its routes, and every request it saw."""

    def __init__(self, httpd: ThreadingHTTPServer) -> None:
        self.httpd = httpd
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def hits(self, path: str) -> int:
        """How many requests asked for this path."""
        return sum(1 for p, _ in self.requests if p == path)


@contextmanager
def serve() -> Iterator[Server]:
    """Start a server on a free loopback port for the duration of the block."""
    holder: dict[str, Server] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server = holder["s"]
            server.requests.append((self.path, dict(self.headers.items())))
            route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
            if route is None:
                answer = Answer(b"not found", 404)
            elif callable(route):
                answer = route(self)
            else:
                answer = route
            if answer.delay:
                time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    holder["s"] = Server(httpd)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["s"]
    finally:
        httpd.shutdown()
        httpd.server_close()
