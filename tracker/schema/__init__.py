"""The schema catalogue: every table of the tracker belongs to the one ``metadata`` here.

Three kinds, each in a module whose name says what it is:

  log            the append-only event log: the truth, never rebuilt, never rewritten
  read_models    projections of the log, dropped and rebuilt from it at will (and their checkpoints)
  operational    written beside the log by the services (source state, snapshots, the outbox,
                 cursors, leases, heartbeats, subscriber addresses); never rebuilt from the log

Alembic creates the tables (migrations/, whose env.py compares against this metadata); nothing
calls create_all. A table or an index that exists in a migration and not here is a bug: the test
tests/core/test_schema_catalogue.py upgrades an empty database and compares the two.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()

# Imported for their tables: each module registers its tables in `metadata` when it is loaded.
from tracker.schema import log, operational, read_models  # noqa: E402

__all__ = ["log", "metadata", "operational", "read_models"]
