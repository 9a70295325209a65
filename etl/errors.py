"""The error hierarchy. Each error says whether retrying can help and carries the context a person needs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import quote, unquote, unquote_plus

_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*:(?://)?[^:/?#@\s'\"]*:)[^@\s]*@", re.IGNORECASE)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:/*", re.IGNORECASE)
# Where URL and conninfo parsers cut a text: a message may quote any piece between two of these.
_CUTS = re.compile(r"[\s@:/?#&=;,%'\"\\]+")
MIN_PIECE = 4  # shorter pieces of a password are not hidden on their own: hiding every "ab" garbles messages
HIDDEN = "***"


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


class SourceDatabaseError(EtlError):
    """Extracting from a lender's database failed (unreachable, a query that failed while it ran, a cursor
    with NULLs or going backwards): nothing was written and no mark advanced. Exit code 1."""

    def __init__(self, message: str, *, path: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, path=path)
        self.retryable = retryable


class LakeError(EtlError):
    """Writing to the lake failed; storage errors are usually transient."""

    retryable = True


def first_line(exc: BaseException | str) -> str:
    """The first line of an exception's message (or of a driver's message text), or its type when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def exit_code_of(exc: EtlError) -> int:
    """The command line's exit code for an error: 2 for usage or configuration, 1 otherwise."""
    return 2 if isinstance(exc, ConfigError) else 1


def redact_urls(text: str) -> str:
    """Hide the password of any `scheme://user:password@host` in a message before it is shown or logged.

    A pattern only catches well-formed URLs: it is the fallback for URLs this process was never told about.
    What the settings know is hidden by `Redactor` (see `redact`)."""
    return _URL_PASSWORD.sub(r"\1***@", text)


# ---- secrets the settings know ----------------------------------------------------------------------------------


def url_secrets(url: str) -> dict[str, str]:
    """What of a database URL must never be shown, each with what is shown instead.

    The password however a parser or a typo cuts it: libpq ends the user part at the first `@`, Python's
    URL parser at the last one before the host; a scheme typed with one slash or none (`postgresql:/u:pw@h`)
    is no URL to either; a password may also be a `password=` query parameter. Each is hidden as written,
    percent-decoded, and as `repr` and JSON escape it, and so is every piece of it between the characters
    parsers cut at (`@ : / ? # & = ; , % '"` and spaces) that is at least MIN_PIECE characters long. The
    whole URL, when it holds a password, is shown with the password as ***.
    """
    if url.lower().startswith("duckdb:"):  # a file path, no password
        return {}
    passwords, fragments = _passwords(url)
    hidden: dict[str, str] = {}
    for password in passwords:
        hidden.update(dict.fromkeys(written_forms(password), HIDDEN))
        fragments.extend(_CUTS.split(password))
    for piece in fragments:
        hidden.update(dict.fromkeys((f for f in written_forms(piece) if len(f) >= MIN_PIECE), HIDDEN))
    if not hidden:
        return {}
    masked = Redactor(hidden)(url)
    for form in written_forms(url):
        hidden[form] = masked
    return hidden


def _passwords(url: str) -> tuple[list[str], list[str]]:
    """(the passwords a URL carries, pieces of them a parser may take for one), as written in it.

    The password is what lies between the first `:` after the user and the last `@` (Python's reading); libpq
    ends it at the first `@`, which gives a piece of it (the rest it takes for the host).
    """
    match = _SCHEME.match(url)
    rest = url[match.end() :] if match else url
    passwords: list[str] = []
    fragments: list[str] = []
    if (last := rest.rfind("@")) >= 0 and ":" in rest[:last]:
        passwords.append(rest[:last].split(":", 1)[1])
        first = rest.find("@")
        if first < last and ":" in rest[:first]:
            fragments.append(rest[:first].split(":", 1)[1])
    query = re.finditer(r"(?:^|[?&;\s])password\s*=\s*('(?:[^'\\]|\\.)*'|[^&\s]*)", url, re.IGNORECASE)
    passwords.extend(m.group(1).strip("'") for m in query)
    return [p for p in dict.fromkeys(passwords) if p], fragments


def written_forms(text: str) -> set[str]:
    """`text` as a message may hold it: as is, percent-decoded or -encoded, and escaped by repr or JSON."""
    bases = {text, unquote(text), unquote_plus(text), quote(text, safe=""), quote(unquote(text), safe="")}
    forms: set[str] = set()
    for base in bases:
        forms |= {
            base,
            repr(base)[1:-1],
            json.dumps(base)[1:-1],
            json.dumps(base, ensure_ascii=False)[1:-1],
        }
    return {f for f in forms if f}


class Redactor:
    """Hides known secrets in any text: each form is replaced, the longest first."""

    def __init__(self, hidden: dict[str, str]) -> None:
        self.hidden = dict(sorted(hidden.items(), key=lambda item: len(item[0]), reverse=True))
        self._pattern = re.compile("|".join(map(re.escape, self.hidden))) if self.hidden else None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self.hidden[m.group(0)], text)


_active = Redactor({})


def hide_secrets(hidden: dict[str, str]) -> None:
    """Make `redact` hide these secrets from now on (the entry points call it with their settings' secrets)."""
    global _active
    _active = Redactor(hidden)


def redact(text: str) -> str:
    """`text` with the secrets of this process's settings hidden, then any other URL's password."""
    return redact_urls(_active(text))


def redact_all[T](value: T) -> T:
    """`value` with `redact` applied to every string in it (dicts, lists and tuples are walked)."""
    return cast(T, _redact_any(value))


def _redact_any(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_any(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_any(v) for v in value)
    return value


_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Rewrites each log record so that no secret reaches a handler: the message, the exception with its
    stack trace (formatted here, kept as text), and every field passed with `extra`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict | list) and not record.args:  # a structured message stays one
            record.msg = redact_all(record.msg)
        else:
            try:
                record.msg, record.args = redact(record.getMessage()), ()
            except (TypeError, ValueError):  # arguments that do not fit the message: redact what is there
                record.msg, record.args = redact(str(record.msg)), redact_all(record.args)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if record.exc_info and record.exc_info[0] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exception = record.exc_text  # what Powertools' JSON formatter logs as "exception"
            record.exception_name = record.exc_info[0].__name__
            record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_FIELDS and key not in {"exception", "exception_name"}:
                setattr(record, key, redact_all(value))
        return True


def hide_in_logs(filterers: Iterable[logging.Filterer]) -> None:
    """Put one RedactingFilter on each logger or handler (once): a logger's filter sees what is logged on it,
    a handler's what reaches it from any logger."""
    for filterer in filterers:
        if not any(isinstance(f, RedactingFilter) for f in filterer.filters):
            filterer.addFilter(RedactingFilter())
