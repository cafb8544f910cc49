"""The event store: append-only, hash-chained, on SQLite or PostgreSQL.

Imports only the standard library and SQLAlchemy; knows nothing of regulation, fetching,
scheduling or rendering. A test holds that line (tests/test_layers.py).
"""

from tracker.core.canonical import GENESIS_HASH, event_hash
from tracker.core.db import Database
from tracker.core.events import NewEvent, RecordedEvent, Upcaster
from tracker.core.hashchain import VerifyReport, verify_rows
from tracker.core.projector import Projection, Projector
from tracker.core.store import ANY_VERSION, EventStore

__all__ = [
    "ANY_VERSION",
    "Database",
    "EventStore",
    "GENESIS_HASH",
    "NewEvent",
    "Projection",
    "Projector",
    "RecordedEvent",
    "Upcaster",
    "VerifyReport",
    "event_hash",
    "verify_rows",
]
