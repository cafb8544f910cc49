"""The composition root: adapters built once and injected, read models asked for by checked name,
and database errors reaching callers as the tracker's own."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
import sqlalchemy as sa

from tracker.app import App
from tracker.core import Database
from tracker.errors import ConstraintError, DatabaseError
from tracker.mail import OutboxTransport, SmtpTransport
from tracker.projections import ReadModel, all_projections
from tracker.schema.operational import subscribers
from tracker.settings import load_settings


def test_every_projection_is_a_read_model_name() -> None:
    assert sorted(p.name for p in all_projections()) == sorted(get_args(ReadModel))


def test_the_app_builds_the_mail_transport_from_settings(tmp_path: Path) -> None:
    outbox = App(load_settings(environ={"TRACKER_HOME": str(tmp_path)})).mail
    assert isinstance(outbox, OutboxTransport)
    smtp = App(load_settings(environ={"TRACKER_SMTP_URL": "smtp://127.0.0.1:2525"})).mail
    assert isinstance(smtp, SmtpTransport)
    given = OutboxTransport(tmp_path / "elsewhere")
    assert App(load_settings(environ={}), mail=given).mail is given


def test_sqlalchemy_errors_leave_a_transaction_as_database_errors(db: Database) -> None:
    with pytest.raises(DatabaseError, match="^database error on .*nowhere") as caught, db.read() as conn:
        conn.execute(sa.text("SELECT * FROM nowhere"))
    assert "\n" not in str(caught.value)
    row = {"id": "s1", "address_index": "0" * 64, "address_sealed": b"x", "created_at": "2026-01-01T00:00:00.000000Z"}
    with db.write() as conn:
        conn.execute(subscribers.insert().values(**row))
    with pytest.raises(ConstraintError), db.write() as conn:
        conn.execute(subscribers.insert().values(**row))
