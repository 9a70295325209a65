"""The error hierarchy. Each error says whether retrying can help and carries the context a person needs."""

from __future__ import annotations

import re

_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*:(?://)?[^:/?#@\s'\"]*:)[^@\s]*@", re.IGNORECASE)


class EtlError(Exception):
    """Base class. `retryable` tells a caller (CLI, Lambda, SQS redrive) whether the same input may succeed later."""

    retryable: bool = False

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(EtlError):
    """Bad flags, settings or paths (exit code 2). Retrying the same configuration cannot help."""


class FileRejected(EtlError):
    """A whole file cannot be loaded (empty, unreadable, missing columns). Only a corrected file can help."""


class SourceChanged(EtlError):
    """The source's content changed between hashing it and reading it (a file still being written or
    replaced): what was read would be recorded under another content's hash. A later attempt reads it whole."""

    retryable = True


class WarehouseError(EtlError):
    """A warehouse statement failed. Transient failures (dropped connections, serialisation conflicts) are retryable."""

    def __init__(self, message: str, *, path: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, path=path)
        self.retryable = retryable


class LakeError(EtlError):
    """Writing to the lake failed; storage errors are usually transient."""

    retryable = True


def exit_code_of(exc: EtlError) -> int:
    """The command line's exit code for an error: 2 for usage or configuration, 1 otherwise."""
    return 2 if isinstance(exc, ConfigError) else 1


def redact_urls(text: str) -> str:
    """Hide the password of any `scheme://user:password@host` in a message before it is shown or logged."""
    return _URL_PASSWORD.sub(r"\1***@", text)
