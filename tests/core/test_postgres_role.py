"""The README's least-privilege role: it can append and read, and nothing else on events."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_URL
from tracker.core import Database, EventStore, NewEvent
from tracker.services import auditing

pytestmark = pytest.mark.postgres


def readme_grants(role: str, schema: str) -> list[str]:
    """The README's statements, with the test's role and schema names."""
    return [
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON events FROM {role}",
    ]


def test_service_role_may_only_insert_and_select_events(db_url: str, db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("roles are a PostgreSQL feature")
    schema = str(sa.make_url(db_url).query["options"]).split("=", 1)[1]
    role = f"tracker_service_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"SET search_path TO {schema}")
        for statement in readme_grants(role, schema):
            conn.exec_driver_sql(statement)
        # Even with the triggers gone, the role cannot rewrite history.
        conn.exec_driver_sql(f"DROP TRIGGER events_no_update_delete ON {schema}.events")
    service_url = sa.make_url(db_url).set(username=role, password=None)
    service = Database(service_url.render_as_string(hide_password=False))
    try:
        store = EventStore(service)
        store.append([NewEvent("instrument/a", "InstrumentRegistered", {"id": "a"})])
        assert auditing.verify_store(store).count == 1
        for statement in ("UPDATE events SET type = 'Forged'", "DELETE FROM events", "TRUNCATE events"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), service.engine.begin() as conn:
                conn.exec_driver_sql(statement)
    finally:
        service.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()
