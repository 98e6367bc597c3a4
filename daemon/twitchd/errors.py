"""One exception hierarchy, so callers can catch everything twitchd raises at once.

Each error also inherits the built-in it refines (as Bumble does), so code that
only knows ``ValueError`` or ``OSError`` still handles it sensibly.
"""


class TwitchdError(Exception):
    """Anything twitchd raises on purpose."""


class ProtocolError(TwitchdError, ValueError):
    """Bytes or a frame that do not follow wire protocol v1."""


class TransportError(TwitchdError, OSError):
    """A sensor link could not be opened, read or written."""


class SourceSpecError(TwitchdError, ValueError):
    """A ``--source`` string that names no known transport."""


class InputFileError(TwitchdError, ValueError):
    """A recording file that cannot be read as twitchd expects."""


class ConfigError(TwitchdError, ValueError):
    """A setting that is out of range or inconsistent with another."""


class StoreError(TwitchdError, OSError):
    """The session store cannot be opened, written or read (full disk, read-only, bad schema)."""


class SessionNotFoundError(StoreError):
    """No session with that id in the store."""


class EventNotFoundError(StoreError):
    """No event (or added event) with that id in the session."""


class ReviewError(TwitchdError, ValueError):
    """A correction, mark or evaluation that cannot be made as asked: the message says why."""


class CalibrationError(TwitchdError, ValueError):
    """A force calibration could not be completed: the message says which step and why."""


class LslError(TwitchdError, RuntimeError):
    """Lab Streaming Layer output cannot be started (pylsl missing, or liblsl refused)."""
