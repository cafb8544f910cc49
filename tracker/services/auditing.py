"""The auditor's use cases: export the log, verify the chain in the store or in an export file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tracker.core import EventStore, VerifyReport, verify_rows
from tracker.core.proofs import LogProofs, TreeHead
from tracker.schema.log import EVENT_COLUMNS
from tracker.errors import ExportFileError, IntegrityError


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
