"""The log's Merkle tree in the database: kept up to date inside each append, read for proofs.

What is stored: the hash of every perfect, aligned subtree of at least 2**STORED_LEVEL leaves
(table merkle_nodes; such a node never changes once its leaves exist). That is n/8 small rows for
n events, where storing every interior node would double the rows an append writes. A node's key
is node_id(level, index) = (end << 6) | level, with end the number of leaves up to the node's last:
keys grow in the order nodes complete, so an append writes only at the right edge of the table's
B-tree (keyed by (level, index), each append dirtied one page per level: batched appends ran at
0.80x of the store without the tree, measured). Anything smaller is computed from the leaves themselves,
the chain hashes in
events, at most 2**STORED_LEVEL of them per aligned block: one indexed range read.

An append extends the right frontier (the perfect subtrees that make up the current tree, one per
set bit of its size) and inserts the nodes it completes. The store keeps the frontier between its
own appends, valid while the head is the event it appended, as it keeps stream versions; otherwise
it is read back in O(log n) rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from hashlib import sha256
from typing import Any

from tracker.core.db import BulkInsert, driver_mark
from tracker.core.merkle import EMPTY_ROOT, leaf_hash, node_hash, split_point
from tracker.errors import EventStoreError

STORED_LEVEL = 4
BLOCK = 1 << STORED_LEVEL
NODE_COLUMNS = ("id", "hash")

_sha_leaf = leaf_hash
_sha256 = sha256
_fromhex = bytes.fromhex


class TreeNotBuiltError(EventStoreError):
    """merkle_nodes lacks a node the events say must exist (a store from before the tree, not migrated)."""


def node_id(level: int, idx: int) -> int:
    """The key of the perfect subtree of 2**level leaves, the idx-th at its level."""
    return ((idx + 1) << level) << 6 | level


def extend(frontier: list[bytes], size: int, chain_hashes: Iterable[str],
           emit: Callable[[tuple[int, bytes]], None]) -> int:
    """Add leaves to ``frontier`` (a tree of ``size`` leaves), emitting each stored node completed.

    Returns the new size. The frontier list is changed in place. RFC 9162's leaf and node hashes
    are written inline: this loop runs once per appended event.
    """
    pop, push = frontier.pop, frontier.append
    # The leaf hashes first, in one comprehension: a third less time than hashing them in the loop.
    for h in [_sha256(b"\x00" + _fromhex(chain_hash)).digest() for chain_hash in chain_hashes]:
        size += 1
        if size & 1:  # an odd size completes no subtree
            push(h)
            continue
        merges = (size & -size).bit_length() - 1  # trailing zero bits of the new size
        level = 0
        while level < merges:
            h = _sha256(b"\x01" + pop() + h).digest()
            level += 1
            if level >= STORED_LEVEL:
                emit((size << 6 | level, h))
        push(h)
    return size


CHUNK_LEVEL = 12  # building a whole tree: 4,096 leaves at a time, a level at a time


def iter_nodes(chain_hashes: Iterable[str]) -> Iterator[tuple[int, bytes]]:
    """Every stored node of the tree over these leaves (for building the tree of an existing log).

    Aligned chunks of 4,096 leaves are hashed a level at a time, each level one list
    comprehension (a third of the time of extend's per-leaf loop); the chunks' roots merge on a
    frontier of their own, and a last partial chunk goes through extend.
    """
    chunk_size = 1 << CHUNK_LEVEL
    upper: list[bytes] = []  # the frontier over whole chunks, largest first
    chunks = 0
    batch: list[str] = []
    for chain_hash in chain_hashes:
        batch.append(chain_hash)
        if len(batch) < chunk_size:
            continue
        level_hashes = [_sha256(b"\x00" + _fromhex(h)).digest() for h in batch]
        base = chunks * chunk_size
        for level in range(1, CHUNK_LEVEL + 1):
            level_hashes = [_sha256(b"\x01" + level_hashes[i] + level_hashes[i + 1]).digest()
                            for i in range(0, len(level_hashes), 2)]
            if level >= STORED_LEVEL:
                width = 1 << level
                yield from (((base + (i + 1) * width) << 6 | level, h) for i, h in enumerate(level_hashes))
        root, level = level_hashes[0], CHUNK_LEVEL
        chunks += 1
        for _ in range((chunks & -chunks).bit_length() - 1):
            root = _sha256(b"\x01" + upper.pop() + root).digest()
            level += 1
            yield ((chunks * chunk_size) << 6 | level, root)
        upper.append(root)
        batch = []
    pending: list[tuple[int, bytes]] = []
    extend(upper, chunks * chunk_size, batch, pending.append)
    yield from pending


def build_nodes(conn: Any, *, page: int = 100_000) -> int:
    """Fill an empty merkle_nodes from the stored chain hashes (migrations 0007 and 0013); returns the rows.

    ``conn`` is a SQLAlchemy connection in the migration's transaction; the work goes through
    its driver cursor (SQLAlchemy's result rows cost as much as the hashing). Hashes are read in
    pages of position order and nodes inserted a chunk at a time: memory stays flat.
    """
    sqlite = conn.dialect.name == "sqlite"
    mark = driver_mark(sqlite)
    reader = conn.connection.driver_connection.cursor()
    writer = conn.connection.driver_connection.cursor()
    insert = BulkInsert("merkle_nodes", NODE_COLUMNS, sqlite=sqlite)

    def chain_hashes() -> Iterator[str]:
        after = 0
        while True:
            reader.execute(f"SELECT position, hash FROM events WHERE position > {mark} ORDER BY position"
                           f" LIMIT {int(page)}", (after,))
            rows = reader.fetchall()
            for row in rows:
                yield row[1]
            if len(rows) < page:
                return
            after = rows[-1][0]

    pending: list[tuple[int, bytes]] = []
    written = 0
    try:
        for node in iter_nodes(chain_hashes()):
            pending.append(node)
            if len(pending) >= 4096:
                insert(writer, pending)
                written += len(pending)
                pending = []
        insert(writer, pending)
    finally:
        reader.close()
        writer.close()
    return written + len(pending)


class TreeWriter:
    """The append side: extends the tree on the append's own cursor, in its transaction."""

    def __init__(self, *, sqlite: bool) -> None:
        self._mark = driver_mark(sqlite)
        self._insert = BulkInsert("merkle_nodes", NODE_COLUMNS, sqlite=sqlite)
        # (head hash, frontier) after this writer's last append: exact while that is still the head.
        self._cache: tuple[str, tuple[bytes, ...]] = ("", ())

    def append(self, cursor: Any, head_size: int, head_hash: str, rows: list[tuple[Any, ...]]) -> None:
        """Extend the tree of ``head_size`` leaves by the new rows (their hash is column 11)."""
        cached_head, cached = self._cache
        frontier = list(cached) if cached_head == head_hash else self._load_frontier(cursor, head_size)
        nodes: list[tuple[int, bytes]] = []
        extend(frontier, head_size, [row[11] for row in rows], nodes.append)
        if nodes:
            self._insert(cursor, nodes)
        self._cache = (rows[-1][11], tuple(frontier))

    def _load_frontier(self, cursor: Any, size: int) -> list[bytes]:
        """The frontier of the tree of ``size`` leaves: stored nodes, then the last partial block."""
        frontier: list[bytes] = []
        start = 0
        for level in range(size.bit_length() - 1, STORED_LEVEL - 1, -1):
            if size >> level & 1:
                cursor.execute(f"SELECT hash FROM merkle_nodes WHERE id = {self._mark}",
                               (node_id(level, start >> level),))
                row = cursor.fetchone()
                if row is None:
                    raise TreeNotBuiltError(f"the Merkle tree lacks node {level}/{start >> level}: run `tracker init`")
                frontier.append(bytes(row[0]))
                start += 1 << level
        if start < size:
            cursor.execute(f"SELECT hash FROM events WHERE position > {self._mark} AND position <= {self._mark}"
                           " ORDER BY position", (start, size))
            extend(frontier, 0, [row[0] for row in cursor.fetchall()], _ignore)
        return frontier


def _ignore(_node: tuple[int, bytes]) -> None:
    pass


class TreeReader:
    """Subtree hashes for proofs, on one read cursor; counts its database reads."""

    def __init__(self, cursor: Any, *, sqlite: bool, size: int) -> None:
        self._cursor = cursor
        self._mark = driver_mark(sqlite)
        self.size = size  # leaves the log holds now: nothing at or beyond it can be asked for
        self.reads = 0
        self._blocks: dict[int, list[bytes]] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}

    def root(self, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end)."""
        if not 0 <= start < end <= self.size:
            raise ValueError(f"leaves [{start}, {end}) are not in a log of {self.size}")
        width = end - start
        if width == 1:
            return self._leaves(start, end)[0]
        if width & (width - 1) == 0 and start % width == 0 and width >= BLOCK:
            return self._node(width.bit_length() - 1, start // width)
        if end - 1 - (end - 1) % BLOCK <= start:  # within one block: from the leaves
            leaves = self._leaves(start, end)
            return _mth(leaves)
        k = split_point(width)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def chain_hash(self, position: int) -> str:
        """The stored chain hash of one event (the leaf itself, before hashing)."""
        self.reads += 1
        self._cursor.execute(f"SELECT hash FROM events WHERE position = {self._mark}", (position,))
        row = self._cursor.fetchone()
        if row is None:
            raise ValueError(f"no event at position {position}")
        return str(row[0])

    def _node(self, level: int, idx: int) -> bytes:
        known = self._nodes.get((level, idx))
        if known is not None:
            return known
        self.reads += 1
        self._cursor.execute(f"SELECT hash FROM merkle_nodes WHERE id = {self._mark}", (node_id(level, idx),))
        row = self._cursor.fetchone()
        if row is None:
            raise TreeNotBuiltError(f"the Merkle tree lacks node {level}/{idx}: run `tracker init`")
        node = self._nodes[(level, idx)] = bytes(row[0])
        return node

    def _leaves(self, start: int, end: int) -> list[bytes]:
        block = start // BLOCK
        hashes = self._blocks.get(block)
        if hashes is None:
            self.reads += 1
            first = block * BLOCK
            self._cursor.execute(
                f"SELECT hash FROM events WHERE position > {self._mark} AND position <= {self._mark} ORDER BY position",
                (first, min(first + BLOCK, self.size)),
            )
            hashes = self._blocks[block] = [_sha_leaf(_fromhex(row[0])) for row in self._cursor.fetchall()]
        offset = block * BLOCK
        return hashes[start - offset:end - offset]


def _mth(leaf_hashes: list[bytes]) -> bytes:
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = split_point(len(leaf_hashes))
    return node_hash(_mth(leaf_hashes[:k]), _mth(leaf_hashes[k:]))
