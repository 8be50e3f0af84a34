"""The question the uploader asks before each file and between chunks: may I upload, and over which link?

The upload policy (device/policy) implements it; the uploader only knows this shape, so it can be built
and tested with `ALLOW_ALL` and the policy plugged in by the agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GateDecision:
    """Allowed or not; why not (shown in `recorder status` and the heartbeat); which link to use."""

    allowed: bool
    reason: str = ""
    source_address: str | None = None  # bind the upload's sockets to this local address
    link: str | None = None  # interface name of the chosen link, for status and logs
    retry_after_s: float | None = None  # when to ask again, if the gate knows


class UploadGate(Protocol):
    def before_file(self, size_bytes: int) -> GateDecision:
        """Asked before a file's PUT starts (a presigned PUT cannot resume: all or nothing)."""
        ...

    def between_chunks(self, bytes_sent: int, size_bytes: int) -> GateDecision:
        """Asked between chunks of a PUT; not allowed aborts the PUT (the file is retried later)."""
        ...


@dataclass(frozen=True)
class AllowAll:
    """The gate for a device with one unmetered link and no policy."""

    def before_file(self, size_bytes: int) -> GateDecision:
        return GateDecision(True)

    def between_chunks(self, bytes_sent: int, size_bytes: int) -> GateDecision:
        return GateDecision(True)


ALLOW_ALL = AllowAll()
