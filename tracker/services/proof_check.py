"""Offline checks of proofs and checkpoints: files in, a verdict out, no database.

`tracker verify --proof` re-derives everything it can: the event's chain hash from its stored
bytes (an export line), the leaf from that hash, the root from the audit path; it trusts only the
checkpoint's signature, checked with the key the auditor gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.core import event_hash
from tracker.core.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from tracker.errors import ExportFileError, ProofRejectedError
from tracker.services.auditing import read_export
from tracker.signing import Checkpoint, NoteError, VerifierKey


@dataclass(frozen=True, slots=True)
class ProofVerdict:
    kind: str  # "inclusion" or "consistency"
    detail: str


def load_proof(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExportFileError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportFileError(f"{path}: not a JSON object: {exc}") from None
    if not isinstance(data, dict):
        raise ExportFileError(f"{path}: not a JSON object")
    return data


def _int(proof: dict[str, Any], name: str, path: Path) -> int:
    value = proof.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ExportFileError(f"{path}: {name} must be a whole number")
    return value


def _hash(value: Any, name: str, path: Path) -> bytes:
    if not isinstance(value, str) or len(value) != 64 or value != value.lower():
        raise ExportFileError(f"{path}: {name} must be 64 lowercase hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ExportFileError(f"{path}: {name} must be 64 lowercase hex digits") from None


def _path(proof: dict[str, Any], path: Path) -> list[bytes]:
    nodes = proof.get("path")
    if not isinstance(nodes, list):
        raise ExportFileError(f"{path}: path must be a list of hex hashes")
    return [_hash(node, f"path[{i}]", path) for i, node in enumerate(nodes)]


def _signed(checkpoint: Checkpoint, key: VerifierKey) -> None:
    try:
        key.verify(checkpoint)
    except NoteError as exc:
        raise ProofRejectedError(checkpoint.size, str(exc)) from None


def check_inclusion(proof_file: Path, event_file: Path, checkpoint: Checkpoint, key: VerifierKey) -> ProofVerdict:
    proof = load_proof(proof_file)
    position, size = _int(proof, "position", proof_file), _int(proof, "tree_size", proof_file)
    root, chain = (
        _hash(proof.get("root_hash"), "root_hash", proof_file),
        _hash(proof.get("leaf_hash"), "leaf_hash", proof_file),
    )
    nodes = _path(proof, proof_file)
    if "leaf_index" in proof and proof["leaf_index"] != position - 1:
        raise ProofRejectedError(position, f"leaf_index {proof['leaf_index']} is not position - 1")
    _signed(checkpoint, key)
    if (size, root) != (checkpoint.size, checkpoint.root):
        raise ProofRejectedError(position, f"the proof is for a tree of size {size} with root {root.hex()}, the "
                                           f"checkpoint signs size {checkpoint.size} with root {checkpoint.root_hex}")
    rows = list(read_export(event_file))
    if len(rows) != 1:
        raise ExportFileError(f"{event_file}: expected one event (a line of `tracker export`), found {len(rows)}")
    (e_position, stream, version, type_, schema_version, payload, metadata,
     recorded_at, valid_from, key_, prev_hash, stored_hash) = rows[0]
    recomputed = event_hash(prev_hash, e_position, stream, version, type_, schema_version,
                            recorded_at, valid_from, key_, payload, metadata)
    if recomputed != stored_hash:
        raise ProofRejectedError(
            e_position, f"the event's bytes hash to {recomputed}, not its stated hash {stored_hash}"
        )
    if e_position != position:
        raise ProofRejectedError(position, f"the proof is for position {position}, the event is at {e_position}")
    if recomputed != chain.hex():
        raise ProofRejectedError(position, f"the proof's leaf_hash {chain.hex()} is not the event's hash {recomputed}")
    try:
        verify_inclusion(position - 1, size, leaf_hash(chain), nodes, root)
    except ProofError as exc:
        raise ProofRejectedError(position, str(exc)) from None
    return ProofVerdict("inclusion", f"event {position} ({recomputed}) is in the log of {size} events signed by "
                                     f"{key.name} ({checkpoint.time or 'no time'})")


def check_consistency(proof_file: Path, first: Checkpoint, second: Checkpoint, key: VerifierKey) -> ProofVerdict:
    proof = load_proof(proof_file)
    m, n = _int(proof, "first_size", proof_file), _int(proof, "second_size", proof_file)
    r1 = _hash(proof.get("first_root"), "first_root", proof_file)
    r2 = _hash(proof.get("second_root"), "second_root", proof_file)
    nodes = _path(proof, proof_file)
    _signed(first, key)
    _signed(second, key)
    if first.size > second.size:
        first, second = second, first
    if (m, r1) != (first.size, first.root) or (n, r2) != (second.size, second.root):
        raise ProofRejectedError(m, f"the proof is from size {m} to {n}, the checkpoints are of sizes "
                                    f"{first.size} and {second.size} (or their roots differ from the proof's)")
    try:
        verify_consistency(m, n, r1, r2, nodes)
    except ProofError as exc:
        raise ProofRejectedError(m, str(exc)) from None
    return ProofVerdict(
        "consistency", f"the log of {n} events extends the log of {m} events; both signed by {key.name}"
    )


def check_split_view(first: Checkpoint, second: Checkpoint, key: VerifierKey) -> str:
    """Two validly signed checkpoints of one size with different roots: a forked log."""
    _signed(first, key)
    _signed(second, key)
    if first.size == second.size and first.root != second.root:
        raise ProofRejectedError(
            first.size,
            f"split view: two checkpoints of size {first.size}, both validly signed by "
            f"{key.name}, with different roots {first.root_hex} and {second.root_hex}: "
            "the log was forked",
        )
    if first.size == second.size:
        return f"the two checkpoints agree: size {first.size}, root {first.root_hex}"
    return (f"both checkpoints are validly signed (sizes {first.size} and {second.size}); "
            "whether the larger extends the smaller needs a consistency proof")
