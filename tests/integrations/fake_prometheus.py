"""A small Prometheus HTTP API on loopback: ``GET /api/v1/query_range`` answering a
matrix as prometheus.io/docs/prometheus/latest/querying/api/ documents it
(``{"status": "success", "data": {"resultType": "matrix", "result": [{"metric",
"values": [[unix_seconds, "value"], ...]}]}}``), or an error while ``down``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# A series: its labels and its value at a Unix second ("NaN" allowed; None: no sample).
Series = tuple[dict[str, str], Callable[[int], str | None]]


class FakePrometheus:
    def __init__(self) -> None:
        self.series: dict[str, list[Series]] = {}
        self.down = False
        self.authorization: str | None = None  # required header value, when set
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.requests.append(
            {"path": parts.path, **query, "authorization": handler.headers.get("Authorization")}
        )
        if parts.path != "/api/v1/query_range":
            return self._send(handler, 404, {"status": "error", "error": "not found"})
        if self.authorization and handler.headers.get("Authorization") != self.authorization:
            return self._send(handler, 401, {"status": "error", "error": "unauthorized"})
        if self.down:
            return self._send(
                handler,
                503,
                {"status": "error", "errorType": "unavailable", "error": "shutting down"},
            )
        if query.get("query") not in self.series:
            return self._send(
                handler,
                400,
                {"status": "error", "errorType": "bad_data", "error": "parse error"},
            )
        start, end, step = int(float(query["start"])), int(float(query["end"])), int(query["step"])
        result = []
        for labels, value in self.series[query["query"]]:
            values = []
            for second in range(start, end + 1, step):
                sample = value(second)
                if sample is not None:
                    values.append([second, sample])
            if values:
                result.append({"metric": labels, "values": values})
        self._send(
            handler, 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}
        )

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        raw = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)
