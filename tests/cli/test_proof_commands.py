"""Checkpoints, proofs and their offline checks, as an auditor runs them: real processes, real files.

Each forged input (a flipped bit, another position, another key, a malformed note, a cut or
rewritten log, a forked log) is rejected with exit 1 and one line saying why.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_store_commands import one_line_error
from tests.conftest import cli_env
from tracker.cli.main import main
from tracker.core import Database, EventStore, NewEvent
from tracker.core.tree import iter_nodes
from tracker.signing import SigningKey, parse_checkpoint
from tracker.signing.keys import load_verifier_key


def _append(db_url: str, count: int, start: int = 0) -> None:
    db = Database(db_url)
    EventStore(db).append(
        [
            NewEvent(f"instrument/p{i % 7}", "InstrumentRegistered", {"id": f"p{i}", "title_ja": "再生医療等製品"})
            for i in range(start, start + count)
        ]
    )
    db.dispose()


def run(db_url: str, home: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """`tracker ARGS` in this process (a process each took seconds here): its exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    env = cli_env(db_url, TRACKER_HOME=str(home))
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    result = subprocess.CompletedProcess(["tracker", *args], code, out.getvalue(), err.getvalue())
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def audited(db_url: str, tmp_path: Path) -> tuple[str, Path]:
    """A log of 40 events, a signing key in the home folder, and a checkpoint of it in cp40.txt."""
    run(db_url, tmp_path, "init", check=True)
    _append(db_url, 40)
    run(db_url, tmp_path, "keys", "generate", check=True)
    run(db_url, tmp_path, "checkpoint", "--output", str(tmp_path / "cp40.txt"), check=True)
    return db_url, tmp_path


def test_keys_generate_prints_the_public_key_and_never_overwrites(db_url: str, tmp_path: Path) -> None:
    out = run(db_url, tmp_path, "keys", "generate", "--output", str(tmp_path / "k.pem"), "--json", check=True).stdout
    data = json.loads(out)
    assert (
        data["vkey"].startswith("tracker.invalid/cgt-regulatory-log+") and "BEGIN PUBLIC KEY" in data["public_key_pem"]
    )
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert (
        load_verifier_key(data["vkey"]).public == load_verifier_key(str(tmp_path / "k.pem"), name=data["name"]).public
    )
    assert "never overwritten" in one_line_error(
        run(db_url, tmp_path, "keys", "generate", "--output", str(tmp_path / "k.pem"))
    )


def test_inclusion_proof_verifies_offline_and_every_forgery_is_rejected(audited: tuple[str, Path]) -> None:
    db_url, home = audited
    cp = home / "cp40.txt"
    note = cp.read_text(encoding="utf-8")
    assert parse_checkpoint(note).size == 40 and note.splitlines()[3].startswith("time ")
    listed = [
        json.loads(line) for line in run(db_url, home, "checkpoints", "list", "--json", check=True).stdout.splitlines()
    ]
    assert [(c["tree_size"], c["note"]) for c in listed] == [(40, note)]

    proof = json.loads(run(db_url, home, "prove", "23", "--checkpoint", str(cp), "--json", check=True).stdout)
    assert {k: proof[k] for k in ("position", "leaf_index", "tree_size")} == {
        "position": 23,
        "leaf_index": 22,
        "tree_size": 40,
    }
    assert proof["leaf_hash"] == proof["event"]["hash"] and all(len(p) == 64 and p == p.lower() for p in proof["path"])
    (home / "proof.json").write_text(json.dumps(proof))
    (home / "event.json").write_text(json.dumps(proof["event"], ensure_ascii=False))
    vkey = json.loads(run(db_url, home, "keys", "generate", "--output", str(home / "other.pem"), "--json",
                          check=True).stdout)["vkey"]
    own = str(home / "signing-key.pem")

    def verify(proof_data: object, event: object = None, checkpoint: Path = cp, key: str = own):  # type: ignore[no-untyped-def]
        (home / "p.json").write_text(json.dumps(proof_data))
        (home / "e.json").write_text(json.dumps(proof["event"] if event is None else event, ensure_ascii=False))
        # offline: the database URL points nowhere
        return run("sqlite:////nonexistent/dir/tracker.db", home, "verify", "--proof", str(home / "p.json"),
                   "--event", str(home / "e.json"), "--checkpoint", str(checkpoint), "--public-key", key)

    ok = verify(proof)
    assert ok.returncode == 0 and "inclusion proof verifies" in ok.stdout, ok.stderr
    flipped = dict(proof, path=list(proof["path"]))
    flipped["path"][2] = (
        flipped["path"][2][:10] + ("0" if flipped["path"][2][10] != "0" else "1") + flipped["path"][2][11:]
    )
    assert "root" in one_line_error(verify(flipped))
    assert "size" in one_line_error(verify(dict(proof, tree_size=41)))  # a wrong size: not the signed one
    other = json.loads(run(db_url, home, "prove", "24", "--json", check=True).stdout)
    assert "position" in one_line_error(verify(proof, event=other["event"]))  # a proof for another position
    assert "error" in one_line_error(verify(dict(proof, leaf_hash=other["leaf_hash"])))
    edited = dict(proof["event"], payload=proof["event"]["payload"].replace("p", "q"))
    assert "hash" in one_line_error(verify(proof, event=edited))  # an edited event
    assert "not signed by key" in one_line_error(verify(proof, key=vkey))  # a checkpoint signed by another key
    forged = home / "forged.txt"
    forged.write_text(note.replace("\n40\n", "\n41\n"), encoding="utf-8")
    assert "does not verify" in one_line_error(verify(dict(proof, tree_size=41), checkpoint=forged))
    forged.write_text(note.replace("\n\n", "\n"), encoding="utf-8")  # a malformed note
    assert "blank line" in one_line_error(verify(proof, checkpoint=forged))
    forged.write_text(note.replace("\u2014 ", "- "), encoding="utf-8")
    assert "signature line" in one_line_error(verify(proof, checkpoint=forged))
    (home / "broken.json").write_text("{not json", encoding="utf-8")  # a malformed proof
    broken = run("sqlite:////nonexistent/x.db", home, "verify", "--proof", str(home / "broken.json"), "--event",
                 str(home / "event.json"), "--checkpoint", str(cp), "--public-key", own)
    assert "not a JSON object" in one_line_error(broken)
    assert "64 lowercase hex" in one_line_error(verify(dict(proof, path=proof["path"][:-1] + ["xyz"])))


def test_consistency_proof_between_checkpoints_and_split_view(audited: tuple[str, Path]) -> None:
    db_url, home = audited
    _append(db_url, 25, start=40)
    run(db_url, home, "checkpoint", "--output", str(home / "cp65.txt"), check=True)
    out = run(
        db_url, home, "prove", "--from", str(home / "cp40.txt"), "--to", str(home / "cp65.txt"), "--json", check=True
    ).stdout
    proof = json.loads(out)
    assert set(proof) == {"first_size", "second_size", "first_root", "second_root", "path"}
    assert (proof["first_size"], proof["second_size"]) == (40, 65)
    (home / "c.json").write_text(out)
    key = str(home / "signing-key.pem")
    args = ["verify", "--proof", str(home / "c.json"), "--checkpoint", str(home / "cp40.txt"),
            "--checkpoint", str(home / "cp65.txt"), "--public-key", key]
    assert "consistency proof verifies" in run("sqlite:////nonexistent/x.db", home, *args, check=True).stdout
    proof["path"][0] = "00" * 32
    (home / "c.json").write_text(json.dumps(proof))
    assert "proof rejected" in one_line_error(run("sqlite:////nonexistent/x.db", home, *args))

    # A split view: the same key signs two trees of one size
    signer = SigningKey.from_seed("tracker.invalid/cgt-regulatory-log", b"\x07" * 32)
    vkey = signer.verifier.vkey
    for name, root in (("a", b"\x01" * 32), ("b", b"\x02" * 32)):
        (home / f"{name}.txt").write_text(
            signer.sign("tracker.invalid/cgt-regulatory-log", 65, root, "2026-12-01T00:00:00Z").note
        )
    split = one_line_error(run("sqlite:////nonexistent/x.db", home, "verify", "--checkpoint", str(home / "a.txt"),
                               "--checkpoint", str(home / "b.txt"), "--public-key", vkey))
    assert "split view" in split and "65" in split
    same = run("sqlite:////nonexistent/x.db", home, "verify", "--checkpoint", str(home / "a.txt"),
               "--checkpoint", str(home / "a.txt"), "--public-key", vkey, check=True)
    assert "agree" in same.stdout
    both = run(db_url, home, "verify", "--checkpoint", str(home / "cp40.txt"), "--checkpoint", str(home / "cp65.txt"),
               check=True).stdout
    assert "extends" in both


def test_witness_with_a_checkpoint_uses_a_consistency_proof(audited: tuple[str, Path]) -> None:
    db_url, home = audited
    _append(db_url, 30, start=40)
    ok = run(db_url, home, "verify", "--witness", str(home / "cp40.txt"), check=True).stdout
    assert "extends the checkpoint of size 40" in ok and "signed by" in ok and "consistency proof of" in ok


def test_witness_checkpoint_catches_a_cut_log_and_a_rewritten_one(tmp_path: Path) -> None:
    home = tmp_path
    db_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    run(db_url, tmp_path, "init", check=True)
    _append(db_url, 10)
    run(db_url, home, "keys", "generate", check=True)
    run(db_url, home, "checkpoint", check=True)  # kept: size 10
    _append(db_url, 20, start=10)
    shutil.copy(tmp_path / "tracker.db", tmp_path / "cut.db")  # the log as it was at 30 events
    _append(db_url, 10, start=30)
    run(db_url, home, "checkpoint", "--output", str(home / "cp40.txt"), check=True)

    cut = one_line_error(run(f"sqlite:///{tmp_path / 'cut.db'}", home, "verify", "--witness", str(home / "cp40.txt")))
    assert "position 31" in cut and "cut" in cut

    # Rewrite event 17 behind the store's back, recomputing the chain after it and the whole tree.
    _rewrite(tmp_path / "tracker.db", 17)
    assert run(db_url, home, "verify", check=True).returncode == 0  # the chain alone cannot tell
    rewritten = one_line_error(run(db_url, home, "verify", "--witness", str(home / "cp40.txt")))
    assert "between positions 11 and 40" in rewritten and "rewritten" in rewritten


def test_verify_recomputes_the_tree_a_rewrite_left_stale_or_a_node_edited_alone(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    run(db_url, tmp_path, "init", check=True)
    _append(db_url, 70)
    ok = run(db_url, tmp_path, "verify", check=True).stdout
    assert "Merkle tree of 70 events matches them (7 stored nodes)" in ok
    shutil.copy(tmp_path / "tracker.db", tmp_path / "stale.db")
    _rewrite(tmp_path / "stale.db", 40, rebuild_tree=False)  # the chain recomputed, the tree left as it was
    stale = one_line_error(run(f"sqlite:///{tmp_path / 'stale.db'}", tmp_path, "verify"))
    assert "positions 33-48" in stale and "does not match the events" in stale
    conn = sqlite3.connect(tmp_path / "tracker.db")
    conn.execute("DROP TRIGGER merkle_nodes_no_update")
    conn.execute("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE id = (SELECT max(id) FROM merkle_nodes)")
    conn.commit()
    conn.close()
    edited = one_line_error(run(db_url, tmp_path, "verify"))
    assert "positions 1-64" in edited


def _rewrite(path: Path, position: int, *, rebuild_tree: bool = True) -> None:
    from tracker.core.canonical import ChainHasher

    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER merkle_nodes_no_delete")
    conn.execute("UPDATE events SET payload = ? WHERE position = ?", ('{"id":"forged"}', position))
    rows = conn.execute("SELECT position, stream, version, type, schema_version, payload, metadata, recorded_at,"
                        " valid_from, idempotency_key, prev_hash, hash FROM events ORDER BY position").fetchall()
    hasher, prev = ChainHasher(), rows[position - 2][11]
    for row in rows[position - 1:]:
        position, stream, version, type_, schema_version = row[:5]
        digest = hasher.hash(
            prev, position, stream, version, type_, schema_version, row[7], row[8], row[9], row[5], row[6]
        )
        conn.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?", (prev, digest, row[0]))
        prev = digest
    if rebuild_tree:
        conn.execute("DELETE FROM merkle_nodes")
        hashes = [r[0] for r in conn.execute("SELECT hash FROM events ORDER BY position")]
        conn.executemany("INSERT INTO merkle_nodes (id, hash) VALUES (?, ?)", iter_nodes(hashes))
    conn.commit()
    conn.close()
