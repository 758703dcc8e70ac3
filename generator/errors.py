"""Errors that end a command with a one-line message and exit code 2."""

from __future__ import annotations

from dataclasses import dataclass


class ShipcardError(Exception):
    """A user-facing error: printed as one line, exit code 2, no traceback."""

    exit_code = 2


@dataclass
class Location:
    """Where in which file something is: 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file


class InputError(ShipcardError):
    """Bad input at a known place: `file:line:col: field: message`."""

    def __init__(self, location: Location, field: str, message: str) -> None:
        self.location = location
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.location}:{field} {self.message}"


class ToolError(ShipcardError):
    """An external tool (kubectl, helm, git) failed or timed out."""
