"""The auditor's use cases: export the log, verify the chain in the store or in an export file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from tracker.core import Database, EventStore, VerifyReport, verify_rows
from tracker.core.db import one_line
from tracker.core.proofs import LogProofs, TreeHead
from tracker.errors import DatabaseError, ExportFileError, IntegrityError
from tracker.schema.log import EVENT_COLUMNS
from tracker.schema.operational import verify_runs

log = logging.getLogger(__name__)


_INTEGER_FIELDS = {"position", "version", "schema_version"}
_NULLABLE_FIELDS = {"valid_from", "idempotency_key"}
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    name: int if name in _INTEGER_FIELDS else (str, type(None)) if name in _NULLABLE_FIELDS else str
    for name in EVENT_COLUMNS
}


def export_lines(store: EventStore) -> Iterator[str]:
    """One JSON object per event, every stored field, payload and metadata as the hashed text."""
    for row in store.rows():
        yield json.dumps(dict(zip(EVENT_COLUMNS, row, strict=True)), ensure_ascii=False) + "\n"


def export_lines_between(store: EventStore, position: int, until: int | None = None) -> Iterator[str]:
    """Export lines of the events at positions ``position`` to ``until`` (default: just that one)."""
    for row in store.rows(after=position - 1, until=position if until is None else until):
        yield json.dumps(dict(zip(EVENT_COLUMNS, row, strict=True)), ensure_ascii=False) + "\n"


def export_jsonl(store: EventStore, out: IO[str]) -> int:
    count = 0
    for line in export_lines(store):
        out.write(line)
        count += 1
    return count


def read_export(path: Path) -> Iterator[tuple[Any, ...]]:
    """Rows of an export file, in EVENT_COLUMNS order; malformed lines raise ExportFileError."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ExportFileError(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ExportFileError(
                        f"{path}:{number}: not a JSON object: {exc.msg} (column {exc.colno})") from None
                if not isinstance(record, dict):
                    raise ExportFileError(f"{path}:{number}: not a JSON object")
                missing = [name for name in EVENT_COLUMNS if name not in record]
                if missing:
                    raise ExportFileError(f"{path}:{number}: missing field(s) {', '.join(missing)}")
                for name in EVENT_COLUMNS:
                    if not isinstance(record[name], _FIELD_TYPES[name]) or isinstance(record[name], bool):
                        raise ExportFileError(f"{path}:{number}: field {name} has the wrong type")
                yield tuple(record[name] for name in EVENT_COLUMNS)
        except UnicodeDecodeError as exc:
            raise ExportFileError(f"{path}: not UTF-8 text: {exc.reason}") from None


def verify_store(store: EventStore) -> VerifyReport:
    return _checked(verify_rows(store.rows()))


def verify_recorded(store: EventStore, *, by: str, at: str) -> VerifyReport:
    """verify_store, its result kept in verify_runs for /metrics and status (IntegrityError still raised)."""
    try:
        report = verify_store(store)
    except IntegrityError as exc:
        record_run(store.db, VerifyRun(at, by, False, store.head().position, 0, exc.position, str(exc)))
        raise
    record_run(store.db, VerifyRun(at, by, True, report.head_position, report.count))
    return report


def verify_tree(store: EventStore, size: int) -> tuple[TreeHead, int]:
    """Every stored Merkle node recomputed from the chain hashes (after verify_store checked those)."""
    return LogProofs(store.db).verify_tree(size)


def verify_export(path: Path) -> VerifyReport:
    return _checked(verify_rows(read_export(path)))


def _checked(report: VerifyReport) -> VerifyReport:
    if not report.ok:
        assert report.bad_position is not None and report.problem is not None
        raise IntegrityError(report.bad_position, report.problem)
    return report


@dataclass(frozen=True, slots=True)
class VerifyRun:
    """One full verification of the chain, as recorded in verify_runs."""

    at: str
    by: str
    ok: bool
    head_position: int
    events: int
    bad_position: int | None = None
    problem: str | None = None


KEPT_RUNS = 100


def record_run(db: Database, run: VerifyRun) -> bool:
    """Keep the result for /metrics and status. Best effort: a database this process may only read
    (or that fails now) keeps nothing, and the verification's own answer stands. True if kept."""
    c = verify_runs.c
    try:
        with db.write() as conn:
            conn.execute(verify_runs.insert().values(
                at=run.at, by=run.by, ok=run.ok, head_position=run.head_position, events=run.events,
                bad_position=run.bad_position, problem=run.problem))
            newest = conn.execute(sa.select(sa.func.max(c.id))).scalar() or 0
            conn.execute(verify_runs.delete().where(c.id <= newest - KEPT_RUNS))
    except (DatabaseError, SQLAlchemyError) as exc:
        log.warning("the verification's result was not recorded: %s", one_line(exc))
        return False
    return True


def last_run(db: Database) -> VerifyRun | None:
    c = verify_runs.c
    with db.read() as conn:
        row = conn.execute(sa.select(verify_runs).order_by(c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return VerifyRun(
        row.at, row.by, bool(row.ok), int(row.head_position), int(row.events), row.bad_position, row.problem
    )
