"""The schema catalogue (tracker/schema) is what the migrations build: nothing more, nothing less.

An empty database upgraded to head, compared with the catalogue by Alembic's autogenerate, shows no
difference on either backend; so `alembic revision --autogenerate` proposes only what a change adds.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.schema import CreateIndex

from tracker import migrate, schema
from tracker.core import Database


def test_migrations_at_head_build_exactly_the_catalogue(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate.upgrade(db)
        with db.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            differences = compare_metadata(context, schema.metadata)
        assert differences == []
    finally:
        db.dispose()


def test_the_idempotency_index_is_partial_on_each_backend(db_url: str) -> None:
    # Autogenerate does not compare an index's WHERE; PostgreSQL's is given by Database (log.py).
    db = Database(db_url)
    try:
        (index,) = (index for index in schema.log.events.indexes if index.name == "uq_events_idempotency_key")
        ddl = str(CreateIndex(index).compile(dialect=db.engine.dialect))
        assert ddl.endswith(" WHERE idempotency_key IS NOT NULL"), ddl
    finally:
        db.dispose()


def test_every_table_belongs_to_one_kind() -> None:
    kinds = [schema.log, schema.read_models, schema.operational]
    owned = [
        {name for name, value in vars(module).items() if isinstance(value, type(schema.log.events))}
        for module in kinds
    ]
    assert sum(len(names) for names in owned) == len(schema.metadata.tables)
    assert set().union(*owned) == set(schema.metadata.tables)
