"""Exceptions raised by the binding, one per ``earshot_status`` of earshot.h."""

from __future__ import annotations


class EarshotError(Exception):
    """A native call failed. ``status`` is the earshot_status code, ``str(e)`` the native message."""

    status = 8

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class InvalidArgumentError(EarshotError, ValueError):
    """Malformed or unknown options, bad sample rate, non-finite samples, unknown language."""

    status = 1


class InvalidHandleError(EarshotError):
    """A handle that is 0, freed, or of the other kind (the Python objects prevent this)."""

    status = 2


class ModelError(EarshotError):
    """Model files missing, truncated, corrupt, hostile or of an unsupported family."""

    status = 3


class AudioError(EarshotError):
    """Audio missing, unreadable, corrupt, unsupported or too short."""

    status = 4


class OutOfMemoryError(EarshotError, MemoryError):
    """The model would not fit in available memory, or a mapping failed."""

    status = 5


class BusyError(EarshotError):
    """The session is transcribing on another thread: use one session per thread."""

    status = 6


class CancelledError(EarshotError):
    """The transcription was cancelled (``Session.cancel``, the callback, or the session closed)."""

    status = 7


class ClosedError(EarshotError, ValueError):
    """The model or session was closed (like I/O on a closed file)."""

    status = 2


_BY_STATUS = {c.status: c for c in (InvalidArgumentError, InvalidHandleError, ModelError, AudioError,
                                    OutOfMemoryError, BusyError, CancelledError)}


def error_for(status: int, message: str) -> EarshotError:
    """The exception for a failed call's status and message."""
    cls = _BY_STATUS.get(status, EarshotError)
    return cls(message or f"earshot call failed with status {status}", status)
