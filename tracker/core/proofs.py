"""Tree heads and proofs from the database: each answered in one read transaction, O(log n) reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tracker.core.db import Database, driver_mark
from tracker.core.merkle import consistency_path, inclusion_path
from tracker.core.tree import TreeReader, iter_nodes
from tracker.errors import IntegrityError, NotFoundError


@dataclass(frozen=True, slots=True)
class TreeHead:
    size: int
    root_hash: str  # lowercase hex


@dataclass(frozen=True, slots=True)
class InclusionProof:
    position: int
    tree_size: int
    root_hash: str
    leaf_hash: str  # the event's chain hash: the leaf the tree hashes with 0x00
    path: list[str]
    reads: int = field(default=0, compare=False)

    @property
    def leaf_index(self) -> int:
        return self.position - 1

    def as_dict(self) -> dict[str, Any]:
        return {"position": self.position, "leaf_index": self.leaf_index, "tree_size": self.tree_size,
                "root_hash": self.root_hash, "leaf_hash": self.leaf_hash, "path": self.path}


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first_size: int
    second_size: int
    first_root: str
    second_root: str
    path: list[str]
    reads: int = field(default=0, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"first_size": self.first_size, "second_size": self.second_size,
                "first_root": self.first_root, "second_root": self.second_root, "path": self.path}


class LogProofs:
    """Tree heads and proofs over the events of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _reader(self) -> Iterator[TreeReader]:
        with self.db.read() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute("SELECT max(position) FROM events")
                size = int(cursor.fetchone()[0] or 0)
                yield TreeReader(cursor, sqlite=self.db.is_sqlite, size=size)
            finally:
                cursor.close()

    def head(self, size: int | None = None) -> TreeHead:
        """The tree head now, or at an earlier ``size``."""
        with self._reader() as tree:
            size = tree.size if size is None else self._check_size(tree, size)
            return TreeHead(size, tree.root(size).hex())

    def inclusion(self, position: int, size: int | None = None) -> InclusionProof:
        with self._reader() as tree:
            size = tree.size if size is None else self._check_size(tree, size)
            if not 1 <= position <= size:
                raise NotFoundError(f"position {position} is not in a tree of size {size}")
            path = inclusion_path(position - 1, size, tree.subtree)
            leaf = tree.chain_hash(position)
            root = tree.root(size)
            return InclusionProof(position, size, root.hex(), leaf, [p.hex() for p in path], tree.reads)

    def consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        with self._reader() as tree:
            second = tree.size if second is None else self._check_size(tree, second)
            if not 0 <= first <= second:
                raise NotFoundError(f"no consistency proof from size {first} to size {second}")
            path = consistency_path(first, second, tree.subtree)
            first_root, second_root = tree.root(first), tree.root(second)
            return ConsistencyProof(first, second, first_root.hex(), second_root.hex(),
                                    [p.hex() for p in path], tree.reads)

    def verify_tree(self, size: int) -> tuple[TreeHead, int]:
        """O(n): every stored node of the tree of ``size`` leaves, recomputed from the chain hashes.

        The chain check cannot see a tree left stale by a rewrite (or a node edited alone); this
        can. Returns the head and the number of nodes compared; IntegrityError names the first
        position under a node that does not match.
        """
        mark = driver_mark(self.db.is_sqlite)
        with self.db.read() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                computed = dict(iter_nodes(_chain_hashes(cursor, mark, size)))
                cursor.execute(f"SELECT id, hash FROM merkle_nodes WHERE id <= {mark} ORDER BY id", (size << 6 | 63,))
                stored = [(int(i), bytes(h)) for i, h in cursor.fetchall()]
                root = TreeReader(cursor, sqlite=self.db.is_sqlite, size=size).root(size)
            finally:
                cursor.close()
        wrong = [i for i, h in stored if computed.pop(i, None) != h] + list(computed)
        if wrong:
            first = min(wrong, key=lambda i: (i & 63, i))  # the narrowest wrong node, then the earliest
            end, level = first >> 6, first & 63
            raise IntegrityError(
                end - (1 << level) + 1,
                f"the Merkle tree's node over positions {end - (1 << level) + 1}"
                f"-{end} does not match the events (stale, edited or missing)",
            )
        return TreeHead(size, root.hex()), len(stored)

    @staticmethod
    def _check_size(tree: TreeReader, size: int) -> int:
        if not 0 <= size <= tree.size:
            raise NotFoundError(f"the log holds {tree.size} events: there is no tree of size {size}")
        return size


def _chain_hashes(cursor: Any, mark: str, size: int, page: int = 20_000) -> Iterator[str]:
    """The chain hashes of positions 1..size, a page at a time (no driver holds a million rows)."""
    after = 0
    while after < size:
        cursor.execute(f"SELECT position, hash FROM events WHERE position > {mark} AND position <= {mark}"
                       f" ORDER BY position LIMIT {page}", (after, size))
        rows = cursor.fetchall()
        if not rows:
            return
        for row in rows:
            yield row[1]
        after = rows[-1][0]
