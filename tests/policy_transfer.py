"""A real HTTP PUT that asks an UploadGate before the file and between chunks, bound to its source address.

Stands in for the uploader's transfer in the policy tests (stdlib http.client, real sockets).
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from device.gate import GateDecision, UploadGate


class Refused(Exception):
    def __init__(self, decision: GateDecision, bytes_sent: int) -> None:
        super().__init__(decision.reason)
        self.decision = decision
        self.bytes_sent = bytes_sent


def gated_put(
    gate: UploadGate, host: str, port: int, size: int, chunk: int = 64 * 1024
) -> dict[str, Any]:
    """PUT `size` bytes to http://host:port/ over the link the gate picks; raise Refused when it says no."""
    decision = gate.before_file(size)
    if not decision.allowed:
        raise Refused(decision, 0)
    source = (decision.source_address, 0) if decision.source_address else None
    conn = http.client.HTTPConnection(host, port, timeout=10, source_address=source)
    try:
        conn.putrequest("PUT", "/upload")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        sent = 0
        while sent < size:
            n = min(chunk, size - sent)
            conn.send(b"\x5a" * n)
            sent += n
            step = gate.between_chunks(sent, size)
            if not step.allowed:
                raise Refused(step, sent)
        resp = conn.getresponse()
        return json.loads(resp.read())
    finally:
        conn.close()
