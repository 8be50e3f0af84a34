"""Errors of the bench backend: one root, each also the builtin it resembles."""

from __future__ import annotations


class BackendError(Exception):
    """Root of every bench backend error."""


class S3StartError(BackendError, RuntimeError):
    """SeaweedFS did not start or did not become ready; `log_file` holds its output."""

    def __init__(self, message: str, log_file: str) -> None:
        super().__init__(f"{message} (see {log_file})")
        self.log_file = log_file


class FaultPlanError(BackendError, ValueError):
    """A fault rule is malformed; `where` names the rule and field."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
