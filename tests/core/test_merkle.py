"""The Merkle tree and its proofs, against RFC 9162 written out independently here.

The reference below follows the RFC's text literally (recursive MTH, PATH, PROOF/SUBPROOF, and
the verification algorithms of 2.1.3.2 and 2.1.4.2) and shares no code with tracker.core.merkle.
"""

from __future__ import annotations

import functools
import hashlib
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core import Database, EventStore, NewEvent
from tracker.core.merkle import (
    ProofError,
    consistency_path,
    inclusion_path,
    verify_consistency,
    verify_inclusion,
)
from tracker.core.proofs import LogProofs
from tracker.core.tree import TreeReader, iter_nodes

# -- RFC 9162 section 2.1, literally ---------------------------------------------------------


def rfc_mth(d: list[bytes]) -> bytes:
    return _rfc_mth(tuple(d))


@functools.cache  # the reference is recursive and O(n): remember it, or the test takes minutes
def _rfc_mth(d: tuple[bytes, ...]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc_mth(d[:k]) + _rfc_mth(d[k:])).digest()


def rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return rfc_path(m, d[:k]) + [rfc_mth(d[k:])]
    return rfc_path(m - k, d[k:]) + [rfc_mth(d[:k])]


def rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [rfc_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return rfc_subproof(m, d[:k], b) + [rfc_mth(d[k:])]
    return rfc_subproof(m - k, d[k:], False) + [rfc_mth(d[:k])]


def rfc_proof(m: int, d: list[bytes]) -> list[bytes]:
    return rfc_subproof(m, d, True)


def _h(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


def rfc_verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, hashlib.sha256(b"\x00" + leaf).digest()
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _h(p, r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            r = _h(r, p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def rfc_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = _h(c, fr), _h(c, sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            sr = _h(sr, c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0


# -- a log in the database -------------------------------------------------------------------

MAX = 300


def _fill(db: Database, count: int, seed: int = 7) -> list[bytes]:
    """Append ``count`` events in batches of random sizes, with fresh stores now and then (so the
    frontier is read back from the database as well as kept); the leaves, as raw chain hashes."""
    rng = random.Random(seed)
    store, written = EventStore(db), 0
    while written < count:
        if rng.random() < 0.2:
            store = EventStore(db)
        size = min(count - written, rng.choice([1, 1, 2, 3, 15, 16, 17, 40]))
        store.append([NewEvent(f"s/{(written + i) % 5}", "Noted", {"n": written + i, "t": "再生医療"})
                      for i in range(size)])
        written += size
    return [bytes.fromhex(r[11]) for r in store.rows()]


@pytest.fixture(scope="module")
def log300(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, list[bytes]]:
    from tracker import migrate

    db = Database(f"sqlite:///{tmp_path_factory.mktemp('merkle') / 'tracker.db'}")
    migrate.upgrade(db)
    return db, _fill(db, MAX)


def test_every_inclusion_proof_of_logs_up_to_300_against_every_later_size(log300: tuple[Database, list[bytes]]) -> None:
    db, leaves = log300
    with db.read() as conn:
        tree = TreeReader(conn.connection.driver_connection.cursor(), sqlite=True, size=MAX)  # type: ignore[union-attr]
        roots = [b""] + [rfc_mth(leaves[:n]) for n in range(1, MAX + 1)]
        for n in range(1, MAX + 1):
            assert tree.root(n) == roots[n]
            for m in range(n):
                path = inclusion_path(m, n, tree.subtree)
                assert path == rfc_path(m, leaves[:n]), (m, n)
                assert rfc_verify_inclusion(m, n, leaves[m], path, roots[n])
                verify_inclusion(m, n, hashlib.sha256(b"\x00" + leaves[m]).digest(), path, roots[n])


def test_every_consistency_proof_up_to_150(log300: tuple[Database, list[bytes]]) -> None:
    db, leaves = log300
    with db.read() as conn:
        tree = TreeReader(conn.connection.driver_connection.cursor(), sqlite=True, size=MAX)  # type: ignore[union-attr]
        roots = [rfc_mth(leaves[:n]) for n in range(0, 151)]
        for n in range(1, 151):
            for m in range(1, n + 1):
                path = consistency_path(m, n, tree.subtree)
                if m < n:
                    assert path == rfc_proof(m, leaves[:n]), (m, n)
                    assert rfc_verify_consistency(m, n, roots[m], roots[n], path)
                verify_consistency(m, n, roots[m], roots[n], path)


def _leaf(raw: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + raw).digest()


def test_tampered_inclusion_proofs_are_each_rejected_with_a_reason(log300: tuple[Database, list[bytes]]) -> None:
    _db, leaves = log300
    rng = random.Random(3)
    for n in (2, 3, 7, 16, 17, 100, 255, 256, 300):
        root = rfc_mth(leaves[:n])
        for m in sorted({0, n - 1, rng.randrange(n)}):
            path = rfc_path(m, leaves[:n])
            leaf = _leaf(leaves[m])
            for i in range(len(path)):  # a flipped bit in any node, at any bit
                bad = bytearray(path[i])
                bad[rng.randrange(32)] ^= 1 << rng.randrange(8)
                with pytest.raises(ProofError, match="root"):
                    verify_inclusion(m, n, leaf, path[:i] + [bytes(bad)] + path[i + 1:], root)
            for size in (n - 1, n + 1, 2 * n):  # another size: rejected exactly when RFC 9162 rejects it
                if size > m and size != n:  # (a leaf left of the last perfect subtree has the same path in
                    accepted = rfc_verify_inclusion(m, size, leaves[m], path, root)  # both: the signed size binds it)
                    try:
                        verify_inclusion(m, size, leaf, path, root)
                    except ProofError:
                        assert not accepted
                    else:
                        assert accepted
            other = (m + 1) % n  # a proof for another position
            if other != m:
                with pytest.raises(ProofError):
                    verify_inclusion(other, n, leaf, path, root)
                with pytest.raises(ProofError):
                    verify_inclusion(m, n, _leaf(leaves[other]), path, root)
            if path:  # too short, too long, not 32 bytes
                with pytest.raises(ProofError, match="too short|root"):
                    verify_inclusion(m, n, leaf, path[:-1], root)
                with pytest.raises(ProofError, match="32 bytes"):
                    verify_inclusion(m, n, leaf, path[:-1] + [path[-1][:31]], root)
            with pytest.raises(ProofError, match="too long|root"):
                verify_inclusion(m, n, leaf, path + [root], root)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(5, 5, _leaf(leaves[0]), [], rfc_mth(leaves[:5]))


def test_tampered_consistency_proofs_are_each_rejected(log300: tuple[Database, list[bytes]]) -> None:
    _db, leaves = log300
    rng = random.Random(5)
    for m, n in [(1, 2), (3, 7), (4, 8), (16, 17), (17, 300), (100, 256), (150, 151), (255, 300)]:
        first, second = rfc_mth(leaves[:m]), rfc_mth(leaves[:n])
        path = rfc_proof(m, leaves[:n])
        verify_consistency(m, n, first, second, path)
        for i in range(len(path)):
            bad = bytearray(path[i])
            bad[rng.randrange(32)] ^= 1 << rng.randrange(8)
            with pytest.raises(ProofError):
                verify_consistency(m, n, first, second, path[:i] + [bytes(bad)] + path[i + 1:])
        for a, b in [(m, n + 1), (m - 1, n), (m + 1, n)]:  # other sizes: rejected exactly when the RFC rejects
            if 0 < a < b:
                accepted = rfc_verify_consistency(a, b, first, second, path)
                try:
                    verify_consistency(a, b, first, second, path)
                except ProofError:
                    assert not accepted
                else:
                    assert accepted
        with pytest.raises(ProofError):  # the first tree rewritten: another first root
            verify_consistency(m, n, rfc_mth(leaves[1:m + 1]), second, path)
        with pytest.raises(ProofError):
            verify_consistency(m, n, first, second, path[:-1])
        with pytest.raises(ProofError):
            verify_consistency(m, n, first, second, path + [second])
    with pytest.raises(ProofError, match="two roots"):  # a split view
        verify_consistency(5, 5, rfc_mth(leaves[:5]), rfc_mth(leaves[1:6]), [])
    with pytest.raises(ProofError, match="backwards"):
        verify_consistency(6, 5, rfc_mth(leaves[:6]), rfc_mth(leaves[:5]), [])


def test_the_stored_tree_equals_a_tree_built_at_once(log300: tuple[Database, list[bytes]]) -> None:
    db, leaves = log300
    with db.read() as conn:
        stored = [(int(i), bytes(h)) for i, h in conn.exec_driver_sql("SELECT id, hash FROM merkle_nodes ORDER BY id")]
    built = list(iter_nodes([leaf.hex() for leaf in leaves]))
    assert stored == sorted(built) and [i for i, _ in built] == sorted(i for i, _ in built)  # written in id order
    assert len(built) == sum(MAX >> level for level in range(4, 9))


def test_proofs_from_the_database_on_each_backend(db: Database) -> None:
    leaves = _fill(db, 70, seed=11)
    proofs = LogProofs(db)
    head = proofs.head()
    assert (head.size, head.root_hash) == (70, rfc_mth(leaves).hex())
    for position in (1, 16, 17, 33, 64, 70):
        proof = proofs.inclusion(position)
        assert proof.leaf_hash == leaves[position - 1].hex() and proof.leaf_index == position - 1
        assert [bytes.fromhex(p) for p in proof.path] == rfc_path(position - 1, leaves)
        assert rfc_verify_inclusion(position - 1, 70, leaves[position - 1], [bytes.fromhex(p) for p in proof.path],
                                    bytes.fromhex(proof.root_hash))
    older = proofs.inclusion(5, size=20)
    assert older.root_hash == rfc_mth(leaves[:20]).hex()
    c = proofs.consistency(20, 70)
    assert (c.first_root, c.second_root) == (rfc_mth(leaves[:20]).hex(), rfc_mth(leaves).hex())
    assert [bytes.fromhex(p) for p in c.path] == rfc_proof(20, leaves)


def test_a_rolled_back_append_leaves_the_tree_as_it_was(db: Database) -> None:
    store = EventStore(db)
    store.append([NewEvent("s/a", "Noted", {"n": i}) for i in range(15)])
    with pytest.raises(RuntimeError), db.write() as conn:
        store.append([NewEvent("s/b", "Noted", {"n": i}) for i in range(5)], conn=conn)
        raise RuntimeError("roll back")
    store.append([NewEvent("s/c", "Noted", {"n": i}) for i in range(40)])
    leaves = [bytes.fromhex(r[11]) for r in store.rows()]
    assert len(leaves) == 55 and LogProofs(db).head().root_hash == rfc_mth(leaves).hex()
    with db.read() as conn:
        stored = [int(r[0]) for r in conn.exec_driver_sql("SELECT id FROM merkle_nodes ORDER BY id")]
    assert stored == sorted(n[0] for n in iter_nodes([leaf.hex() for leaf in leaves]))


@pytest.fixture(scope="module")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file; each hypothesis example starts from a copy (migrating costs 0.3 s)."""
    from tracker import migrate

    path = tmp_path_factory.mktemp("template") / "tracker.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=70), min_size=1, max_size=6), data=st.data())
def test_property_random_appends_give_rfc_roots_and_proofs(
    tmp_path_factory: pytest.TempPathFactory, empty_template: Path, sizes: list[int], data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("prop") / "tracker.db"
    shutil.copy(empty_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        store = EventStore(db)
        for batch, size in enumerate(sizes):
            store.append([NewEvent(f"s/{batch}", "Noted", {"n": i}) for i in range(size)])
        leaves = [bytes.fromhex(r[11]) for r in store.rows()]
        n = len(leaves)
        second = data.draw(st.integers(min_value=1, max_value=n))
        first = data.draw(st.integers(min_value=1, max_value=second))
        position = data.draw(st.integers(min_value=1, max_value=second))
        proofs = LogProofs(db)
        assert proofs.head().root_hash == rfc_mth(leaves).hex()
        inc = proofs.inclusion(position, second)
        assert rfc_verify_inclusion(position - 1, second, leaves[position - 1],
                                    [bytes.fromhex(p) for p in inc.path], rfc_mth(leaves[:second]))
        con = proofs.consistency(first, second)
        verify_consistency(first, second, bytes.fromhex(con.first_root), bytes.fromhex(con.second_root),
                           [bytes.fromhex(p) for p in con.path])
        if first < second:
            assert rfc_verify_consistency(first, second, rfc_mth(leaves[:first]), rfc_mth(leaves[:second]),
                                          [bytes.fromhex(p) for p in con.path])
    finally:
        db.dispose()
