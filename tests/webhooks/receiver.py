"""A real HTTP receiver on 127.0.0.1 for webhook tests: records every request, answers scripted statuses."""

from __future__ import annotations

import ssl
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """``Receiver()`` speaks HTTP; ``Receiver(tls=(certfile, keyfile))`` speaks HTTPS with that certificate."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                code = receiver.statuses.popleft() if receiver.statuses else 200
                answer = b"ok" if code < 300 else b"receiver exploded"
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", "/internal-secret")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_GET(self) -> None:  # noqa: N802 - a followed redirect would arrive here
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, b""))
                self.send_response(200)
                self.send_header("Content-Length", "22")
                self.end_headers()
                self.wfile.write(b"INTERNAL-SECRET-CONTENT"[:22])

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/hooks/salesladder"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
