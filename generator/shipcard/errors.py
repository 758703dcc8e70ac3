"""Errors that end a command with a one-line message and exit code 2."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Line breaks (YAML's too), other control characters and terminal escapes: a value the user wrote
# (a name, a path, a key) must not break a message into several lines or drive the terminal.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with control characters written as escapes (`\\n`, `\\x1b`), so it stays one plain line."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class ShipcardError(Exception):
    """A user-facing error: printed as one line, exit code 2, no traceback."""

    exit_code = 2

    def __str__(self) -> str:
        return one_line(super().__str__())


@dataclass
class Location:
    """Where in which file something is: 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{one_line(self.file)}:{self.line}:{self.column or 1}"
        return one_line(self.file)


class InputError(ShipcardError):
    """Bad input at a known place: `file:line:col: field: message`."""

    def __init__(self, location: Location, field: str, message: str) -> None:
        self.location = location
        self.field = one_line(field)
        self.message = one_line(message)
        super().__init__(str(self))

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.location}:{field} {self.message}"


class ToolError(ShipcardError):
    """An external tool (kubectl, helm, git) failed or timed out."""


class WriteError(ShipcardError, OSError):
    """A file could not be written (a full disk, a file-size limit, no permission).

    Still an OSError for callers that tolerate failed writes (a cache); for the command line a
    ShipcardError: one line, exit code 2, no traceback.
    """

    def __init__(self, path: object, cause: OSError, note: str = "") -> None:
        super().__init__(cause.errno, cause.strerror or type(cause).__name__, str(path))
        self.note = note

    def __str__(self) -> str:
        return one_line(f"cannot write {self.filename}: {self.strerror}" + (f"; {self.note}" if self.note else ""))
