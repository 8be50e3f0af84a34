"""A tiny HTTP sink for the link tests and benchmarks: answers every PUT/POST with 200 and the bytes it read;
`GET /last` answers what the last PUT/POST was (bytes, client address).

Run inside a network namespace (`ip netns exec NS python -m tools.http_sink HOST`); prints its port
on the first line and serves until killed.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    last: dict = {}

    def do_PUT(self) -> None:  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length", "0"))
        left = length
        while left:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                return
            left -= len(chunk)
        Sink.last = {"received": length, "client": self.client_address[0], "path": self.path}
        self._reply(Sink.last)

    def do_GET(self) -> None:  # noqa: N802
        self._reply(Sink.last)

    def _reply(self, obj: dict) -> None:
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    server = ThreadingHTTPServer((sys.argv[1], 0), Sink)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
