"""Errors of the spool: one root, each also the builtin it resembles."""

from __future__ import annotations

from device.errors import RecorderError


class SpoolError(RecorderError):
    """Something about the spool (its directory, database or files) is wrong."""


class SpoolFull(SpoolError, OSError):
    """No room for a file even after evicting every completed media (capture reports storageFull)."""

    def __init__(self, needed: int, available: int, directory: str) -> None:
        super().__init__(
            f"spool {directory} is full: {needed} bytes needed, {available} available "
            "after evicting every completed media (un-uploaded data is never evicted)"
        )
        self.needed = needed
        self.available = available
        self.directory = directory


class UnknownEntry(SpoolError, KeyError):
    """A local recording or media id that the spool does not hold."""

    def __init__(self, kind: str, local_id: str) -> None:
        super().__init__(f"no {kind} {local_id!r} in the spool")
        self.kind = kind
        self.local_id = local_id

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class SchemaTooNew(SpoolError, RuntimeError):
    """The database was written by a newer agent; refusing to downgrade it."""

    def __init__(self, path: str, found: int, known: int) -> None:
        super().__init__(f"{path}: schema version {found} is newer than this agent's {known}")
        self.path = path
        self.found = found
        self.known = known


class InvalidEntry(SpoolError, ValueError):
    """Bad input for the spool (a media type, content type, time or path): names what was wrong."""


class SpoolBusy(SpoolError, BlockingIOError):
    """Another process owns the spool (runs its uploader): only one may drive uploads."""

    def __init__(self, directory: str) -> None:
        super().__init__(f"spool {directory} is in use by another process (the agent?)")
        self.directory = directory
