"""The Merkle tree of RFC 9162 section 2.1 over the log, and its proofs: pure functions, stdlib only.

Leaf i (0-based) is the 32 bytes of the chain hash of position i + 1, so the chain and the tree agree
on what an event is. leaf hash = SHA-256(0x00 || leaf), node = SHA-256(0x01 || left || right).

Proof construction takes ``subtree(start, end)``: the hash of the tree over leaves [start, end),
which the store answers from stored nodes (tree.py). The recursions are RFC 9162's PATH and
SUBPROOF; verification is RFC 9162 2.1.3.2 and 2.1.4.2, step by step, rejecting every proof that
is too long or too short as well as every wrong one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256

Subtree = Callable[[int, int], bytes]

EMPTY_ROOT = sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify; the message says why."""


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two smaller than ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already hashed with 0x00), by the frontier: O(n) hashes, O(log n) memory."""
    if not leaf_hashes:
        return EMPTY_ROOT
    frontier: list[bytes] = []  # perfect subtrees, largest first
    for count, h in enumerate(leaf_hashes, start=1):
        # Merge as many times as the new count has trailing zero bits.
        merges = (count & -count).bit_length() - 1
        for _ in range(merges):
            h = node_hash(frontier.pop(), h)
        frontier.append(h)
    return fold_frontier(frontier)


def fold_frontier(frontier: Sequence[bytes]) -> bytes:
    """The root from the perfect subtrees of the right frontier, largest first."""
    if not frontier:
        return EMPTY_ROOT
    h = frontier[-1]
    for left in reversed(frontier[:-1]):
        h = node_hash(left, h)
    return h


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[0:size]): sibling hashes from the leaf up (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    # Walk down from the root, collecting siblings; reversed at the end to run leaf-up.
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 2.1.4.1 (empty when first is 0 or equal to second)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    path: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        path.append(subtree(start, end))
    path.reverse()
    return path


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2: raise ProofError unless ``leaf`` (its leaf hash) is at ``index`` under ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if len(p) != 32:
            raise ProofError("a proof node is not 32 bytes")
        if sn == 0:
            raise ProofError(f"the proof is too long for leaf {index} in a tree of size {size}")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the proof is too short for leaf {index} in a tree of size {size}")
    if r != root:
        raise ProofError(f"the proof leads to root {r.hex()}, not {root.hex()}")


# RFC 9162's algorithm step by step, so that it can be read against the RFC: not split up.
def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]) -> None:  # noqa: C901
    """RFC 9162 2.1.4.2: raise ProofError unless the tree of size ``second`` extends the one of size ``first``."""
    if not 0 <= first <= second:
        raise ProofError(f"sizes go backwards: {first} then {second}")
    if any(len(p) != 32 for p in path):
        raise ProofError("a proof node is not 32 bytes")
    if first == second:
        if path:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError(f"two roots for size {first}: {first_root.hex()} and {second_root.hex()}")
        return
    if first == 0:
        if path:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not path:
        raise ProofError("the proof is empty")
    nodes = list(path)
    if first & (first - 1) == 0:  # a power of two: the first tree is itself a node of the second
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError(f"the proof is too long for sizes {first} and {second}")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the proof is too short for sizes {first} and {second}")
    if fr != first_root:
        raise ProofError(f"the proof does not lead to the first root {first_root.hex()} (got {fr.hex()})")
    if sr != second_root:
        raise ProofError(f"the proof does not lead to the second root {second_root.hex()} (got {sr.hex()})")
