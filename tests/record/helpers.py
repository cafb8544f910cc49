"""Helpers of the record tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.schema.read_models import record_items, record_relations, record_steps


def dump(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the three tables in key order: what a rebuild must reproduce exactly."""
    return {
        "record_items": [tuple(r) for r in conn.execute(sa.select(record_items).order_by(record_items.c.id))],
        "record_steps": [tuple(r) for r in conn.execute(
            sa.select(record_steps).order_by(record_steps.c.item_id, record_steps.c.position))],
        "record_relations": [tuple(r) for r in conn.execute(sa.select(record_relations).order_by(
            record_relations.c.item_id, record_relations.c.relation, record_relations.c.target_id))],
    }
