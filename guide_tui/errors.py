"""Errors as types, each carrying the message the user sees.

The CLI catches :class:`GuideTuiError` and prints ``str(error)`` without a traceback, exiting
non-zero. Anything else escaping is a bug in guide-tui, not bad input.
"""

from __future__ import annotations


class GuideTuiError(Exception):
    """Base of every error whose message is meant for the user."""

    exit_code = 2


class ConfigError(GuideTuiError):
    """The configuration file cannot be read or holds a wrong value."""


class GuideError(GuideTuiError):
    """A guide file could not be read or is invalid.

    ``problems`` holds every problem found (errors and warnings), so that all of them can be
    reported in one run; ``str()`` renders them one per line.
    """

    exit_code = 1

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return super().__str__()
        return "\n".join(str(p) for p in self.problems)


class SessionError(GuideTuiError):
    """A session folder could not be created, opened or written."""


class PseudonymError(SessionError):
    """A participant pseudonym is not safe to use (it becomes part of a path)."""


class RecorderError(GuideTuiError):
    """Audio capture could not start or continue."""


class TranscriptionError(GuideTuiError):
    """Transcription could not run (missing model, unreadable audio, ...)."""


class ExportError(GuideTuiError):
    """An export could not be written."""
