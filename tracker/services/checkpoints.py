"""Checkpoints: signed tree heads, made, kept and listed; proofs against them.

A checkpoint is made in two steps that need no lock between them: the tree head is read (size and
root of the tree at that size, which never change once the size exists), then signed and kept.
The kept note is the exact text signed, so a listed checkpoint verifies byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.core import Database
from tracker.core.events import format_time
from tracker.core.proofs import LogProofs, TreeHead
from tracker.errors import ExportFileError, IntegrityError, NotFoundError
from tracker.schema.operational import checkpoints
from tracker.settings import Settings
from tracker.signing import Checkpoint, NoteError, SigningKey, VerifierKey, load_signing_key, parse_checkpoint
from tracker.signing.keys import load_verifier_key


@dataclass(frozen=True, slots=True)
class KeptCheckpoint:
    id: int
    tree_size: int
    root_hash: str
    created_at: str
    key_name: str
    note: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "tree_size": self.tree_size, "root_hash": self.root_hash,
                "created_at": self.created_at, "key_name": self.key_name, "note": self.note}


def key_path(settings: Settings) -> Path:
    return Path(settings.signing.key or settings.home / "signing-key.pem")


def signing_key(settings: Settings) -> SigningKey:
    return load_signing_key(key_path(settings), settings.signing.origin)


def own_verifier(settings: Settings) -> VerifierKey | None:
    """The public half of this tracker's own key, when the key is there (None otherwise)."""
    path = key_path(settings)
    return signing_key(settings).verifier if path.exists() else None


def make_checkpoint(db: Database, key: SigningKey, origin: str, now: datetime) -> KeptCheckpoint:
    head = LogProofs(db).head()
    signed = key.sign(origin, head.size, bytes.fromhex(head.root_hash), format_time(now))
    with db.write() as conn:
        inserted = conn.execute(checkpoints.insert().values(
            tree_size=head.size, root_hash=head.root_hash, created_at=signed.time, key_name=key.name, note=signed.note,
        )).inserted_primary_key
        assert inserted is not None
        new_id = inserted[0]
    return KeptCheckpoint(int(new_id), head.size, head.root_hash, str(signed.time), key.name, signed.note)


def list_checkpoints(db: Database, *, limit: int | None = None) -> list[KeptCheckpoint]:
    query = sa.select(checkpoints).order_by(checkpoints.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [KeptCheckpoint(r.id, r.tree_size, r.root_hash, r.created_at, r.key_name, r.note) for r in reversed(rows)]


# Built once, the size bound at execution: SQLAlchemy makes a statement's cache key once per
# statement object (every digest and changelog asks for the latest note).
_LATEST = sa.select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)
_LATEST_AT_MOST = _LATEST.where(checkpoints.c.tree_size <= sa.bindparam("at_most"))


def latest_checkpoint(
    db: Database, *, at_most: int | None = None, conn: Connection | None = None,
) -> KeptCheckpoint | None:
    """The newest kept checkpoint (of a tree no larger than ``at_most``, if given), read in
    ``conn``'s transaction when given."""
    query, parameters = (_LATEST, {}) if at_most is None else (_LATEST_AT_MOST, {"at_most": at_most})
    if conn is None:
        with db.read() as own:
            row = own.execute(query, parameters).first()
    else:
        row = conn.execute(query, parameters).first()
    return None if row is None else KeptCheckpoint(row.id, row.tree_size, row.root_hash, row.created_at,
                                                   row.key_name, row.note)


def latest_note(db: Database, at_most: int, *, conn: Connection | None = None) -> str:
    """The note of the latest kept checkpoint of at most ``at_most`` events, for digests and changelogs
    (in their read transaction, ``conn``)."""
    kept = latest_checkpoint(db, at_most=at_most, conn=conn)
    return kept.note if kept else ""


def read_checkpoint_file(path: Path) -> Checkpoint:
    """The one checkpoint a file holds (a checkpoint note, or a digest/changelog carrying one)."""
    from tracker.signing import find_checkpoints

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExportFileError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ExportFileError(f"{path}: not UTF-8 text: {exc.reason}") from None
    try:
        return parse_checkpoint(text, where=str(path))
    except NoteError as exc:
        found = find_checkpoints(text)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ExportFileError(f"{path}: holds {len(found)} checkpoints; give one") from None
        raise exc


def verifier_for(checkpoint: Checkpoint, public_key: str | None, settings: Settings | None) -> VerifierKey:
    """The key to check ``checkpoint`` with: the one given, else this tracker's own."""
    if public_key is not None:
        return load_verifier_key(public_key, name=checkpoint.signatures[0].name)
    own = own_verifier(settings) if settings is not None else None
    if own is None:
        raise NotFoundError("no public key to check the checkpoint's signature: give --public-key "
                            "(a vkey, or a PEM file)")
    return own


def check_against_log(db: Database, checkpoint: Checkpoint) -> TreeHead:
    """The log's tree at the checkpoint's size must have its root; IntegrityError otherwise."""
    proofs = LogProofs(db)
    now = proofs.head()
    if checkpoint.size > now.size:
        raise IntegrityError(now.size + 1, f"the checkpoint covers {checkpoint.size} events, "
                                           f"but the log ends at {now.size}: history was cut")
    then = proofs.head(checkpoint.size)
    if then.root_hash != checkpoint.root_hex:
        raise IntegrityError(checkpoint.size, f"the log's tree of size {checkpoint.size} has root {then.root_hash}, "
                                              f"the checkpoint signed {checkpoint.root_hex}: history was rewritten")
    return now


def checkpoints_in_file(path: Path) -> list[Checkpoint]:
    """The checkpoints a witness file carries: a note itself, or one inside a digest, changelog or feed."""
    from tracker.mail import witness_texts
    from tracker.signing import find_checkpoints

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExportFileError(f"{path}: cannot read: {exc.strerror}") from None
    if path.suffix.lower() == ".eml" or data[:4096].lower().find(b"x-tracker-head:") >= 0:
        texts = witness_texts(data)
    else:
        texts = [data.decode("utf-8", errors="replace")]
    found: dict[str, Checkpoint] = {}
    for text in texts:
        text = text.replace("\r\n", "\n")
        try:
            whole = [parse_checkpoint(text)]
        except NoteError:
            whole = find_checkpoints(_unescape(text))
        for checkpoint in whole:
            found.setdefault(checkpoint.note, checkpoint)
    return list(found.values())


def _unescape(text: str) -> str:
    """HTML and XML escape what a note never holds unescaped; undo it for notes inside markup."""
    import html

    return html.unescape(text) if "&" in text else text


@dataclass(frozen=True, slots=True)
class WitnessCheck:
    checkpoint: Checkpoint
    log_size: int
    path_length: int
    signed_by: str | None  # None: no key was at hand to check the signature


def verify_witness_checkpoint(db: Database, checkpoint: Checkpoint, key: VerifierKey | None) -> WitnessCheck:
    """O(log n): the log now extends the checkpoint, by a consistency proof verified as RFC 9162 says.

    IntegrityError names where the log parts from it: after the end of a cut log, or after the last
    kept checkpoint the log still matches when history was rewritten.
    """
    from tracker.core.merkle import ProofError, verify_consistency

    if key is not None:
        key.verify(checkpoint)
    proofs = LogProofs(db)
    now = proofs.head()
    if checkpoint.size > now.size:
        raise IntegrityError(now.size + 1, f"the checkpoint covers {checkpoint.size} events, but the log ends at "
                                           f"{now.size}: history was cut")
    proof = proofs.consistency(checkpoint.size, now.size)
    try:
        verify_consistency(checkpoint.size, now.size, checkpoint.root, bytes.fromhex(proof.second_root),
                           [bytes.fromhex(p) for p in proof.path])
    except ProofError as exc:
        after = _last_matching_kept(db, proofs, checkpoint.size, key)
        raise IntegrityError(
            after + 1,
            f"the log parts from the checkpoint of size {checkpoint.size} between positions "
            f"{after + 1} and {checkpoint.size} ({exc}): history was rewritten",
        ) from None
    return WitnessCheck(checkpoint, now.size, len(proof.path), key.name if key else None)


def _last_matching_kept(db: Database, proofs: LogProofs, below: int, key: VerifierKey | None) -> int:
    """The largest size < ``below`` of a kept, validly signed checkpoint the log still matches (0 if none)."""
    best = 0
    for kept in list_checkpoints(db):
        if not best < kept.tree_size < below:
            continue
        try:
            found = parse_checkpoint(kept.note)
            if key is not None:
                key.verify(found)
        except NoteError:
            continue
        if proofs.head(found.size).root_hash == found.root_hex:
            best = found.size
    return best
