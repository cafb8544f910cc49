"""Reading many rows as the database driver returns them: plain tuples, no SQLAlchemy row objects.

Digests and changelogs read thousands of rows of a few read models per run (the changelog, the
digest index, deadlines). The query is built and executed by SQLAlchemy (its compiled-statement
cache included); only the rows are fetched from the driver's cursor, all at once, without a Row
object per row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core.db import one_line
from tracker.errors import DatabaseError


def driver_rows(
    conn: Connection, query: sa.Select[Any], parameters: dict[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """Every row of ``query`` (with the values of its bind parameters) as a tuple of the driver's
    values (no type conversion: a SQLite boolean is 0 or 1), in the connection's transaction."""
    result = conn.execute(query, parameters)
    try:
        return list(result.cursor.fetchall())
    except conn.dialect.loaded_dbapi.Error as exc:  # SQLite may fail while stepping through rows
        raise DatabaseError(f"database error: {one_line(exc)}") from exc
    finally:
        result.close()
