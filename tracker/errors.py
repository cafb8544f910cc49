"""The one error tree of the tracker. Everything raised on purpose derives from TrackerError.

    TrackerError
    ├── ConfigError                  a setting is missing or malformed (names the key)
    ├── ValidationError              input given to a command is malformed (names what and where)
    │   └── SeedError                    a seed file fails validation (names file, item and field)
    ├── DatabaseError                the database cannot be used
    │   ├── DatabaseUnreachableError     cannot connect, or the URL is malformed
    │   ├── NotATrackerDatabaseError     tables exist, but not ours
    │   ├── UninitialisedDatabaseError   empty database: run `tracker init`
    │   ├── UnknownMigrationError        at a migration this code does not know
    │   └── ConstraintError              a write broke a unique or integrity constraint
    ├── EventStoreError              the event store refused an operation
    │   ├── ConcurrencyError             a stream moved past the expected version; nothing written
    │   └── InvalidEventError            an event that cannot be stored as given
    ├── IntegrityError               the hash chain does not verify (names the first bad position)
    ├── ProofRejectedError           a proof, event or checkpoint that does not hold (says why)
    ├── ExportFileError              an export or witness file is unreadable or malformed
    ├── NotFoundError                an id that names nothing
    ├── FetchError                   a source could not be fetched (carries an error class)
    └── DeliveryError                a digest could not be delivered (this time: it stays queued)
        └── DeliveryRejectedError        the server refused it for good (a 5xx to RCPT or DATA)

The CLI catches TrackerError once, prints one line and exits 1; nothing deeper swallows them.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Root of every error the tracker raises on purpose."""


class ConfigError(TrackerError):
    pass


class ValidationError(TrackerError):
    """Bad input from a user or a file, refused before anything is written."""


class DatabaseError(TrackerError):
    pass


class DatabaseUnreachableError(DatabaseError):
    pass


class NotATrackerDatabaseError(DatabaseError):
    pass


class UninitialisedDatabaseError(DatabaseError):
    pass


class UnknownMigrationError(DatabaseError):
    pass


class ConstraintError(DatabaseError):
    """A write broke a unique or integrity constraint (often: another process wrote it first)."""


class EventStoreError(TrackerError):
    pass


class ConcurrencyError(EventStoreError):
    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(
            f"concurrency conflict on stream {stream!r}: expected version {expected}, "
            f"but it is at {actual}; nothing was written"
        )
        self.stream = stream
        self.expected = expected
        self.actual = actual


class InvalidEventError(EventStoreError):
    pass


class IntegrityError(TrackerError):
    def __init__(self, position: int, problem: str) -> None:
        super().__init__(f"chain broken at position {position}: {problem}")
        self.position = position
        self.problem = problem


class ProofRejectedError(TrackerError):
    def __init__(self, position: int, problem: str) -> None:
        super().__init__(f"proof rejected: {problem}")
        self.position = position
        self.problem = problem


class ExportFileError(TrackerError):
    pass


class SeedError(ValidationError):
    pass


class NotFoundError(TrackerError):
    pass


class FetchError(TrackerError):
    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(f"{error_class}: {message}")
        self.error_class = error_class
        self.message = message


class DeliveryError(TrackerError):
    pass


class DeliveryRejectedError(DeliveryError):
    """A permanent refusal (SMTP 5xx to RCPT or DATA): retried a bounded number of times, then failed."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
