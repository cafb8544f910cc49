"""The composition root: adapters built once and injected, read models asked for by checked name,
and database errors reaching callers as the tracker's own."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
import sqlalchemy as sa

from tracker.app import App
from tracker.core import Database
from tracker.errors import ConstraintError, DatabaseError, NotFoundError
from tracker.mail import OutboxTransport, SmtpTransport
from tracker.projections import ReadModel, all_projections, projections_named
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


def test_read_models_asked_for_by_name_are_kept_by_a_projector_of_just_those(db: Database, db_url: str) -> None:
    from tracker.core import NewEvent
    from tracker.domain import vocabulary as v
    from tracker.domain.sources import Source

    app = App(load_settings(environ={"TRACKER_DATABASE_URL": db_url}))
    source = Source(id="s1", url="http://127.0.0.1/s1", origin="operator")
    app.store.append([NewEvent(v.source_stream(source.id), v.SOURCE_REGISTERED, source.to_payload(),
                               {"actor": "test", "cause": "test"})])
    app.fresh("sources")
    assert "projector" not in app.__dict__     # a check builds, and imports, no other projection (issue 18)
    assert "sources" not in app.projector.behind()
    app.fresh()
    assert app.projector.behind() == []
    assert [p.name for p in projections_named({"subscriptions"})] == ["subscriptions", "digest_index"]
    # An unknown name is refused as the projector of every read model refuses it, naming them all.
    with pytest.raises(NotFoundError, match="unknown projection.*'nowhere'.*changelog_rows, digest_index, proposals"):
        App(app.settings).fresh("nowhere")  # type: ignore[arg-type]
