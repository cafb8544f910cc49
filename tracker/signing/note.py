"""The checkpoint note: its text, and parsing one back from a file or from inside a digest. Stdlib only."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from tracker.errors import TrackerError

SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space start every signature line
_B64 = r"[A-Za-z0-9+/]+={0,2}"
# A checkpoint inside any text (a digest, a changelog, an Atom feed): origin, size, root, extension
# lines, a blank line, then signature lines.
_NOTE_RE = re.compile(
    r"^(?P<text>[^\n\u2014][^\n]*\n[0-9]+\n" + _B64 + r"\n(?:[^\n]+\n)*?)\n"
    r"(?P<sigs>(?:\u2014 [^\s]+ " + _B64 + r"\n)+)",
    re.MULTILINE,
)


class NoteError(TrackerError):
    """A checkpoint or signed note that is malformed or whose signature does not verify (says why)."""


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    text: str  # the signed text, ending in a newline
    signatures: tuple[Signature, ...] = ()

    @property
    def root_hex(self) -> str:
        return self.root.hex()

    @property
    def time(self) -> str | None:
        for line in self.extensions:
            if line.startswith("time "):
                return line[5:]
        return None

    @property
    def note(self) -> str:
        """The whole signed note: text, a blank line, the signature lines."""
        lines = "".join(
            f"{SIGNATURE_PREFIX}{s.name} {base64.b64encode(s.key_id + s.signature).decode()}\n" for s in self.signatures
        )
        return f"{self.text}\n{lines}"


def checkpoint_text(origin: str, size: int, root: bytes, time: str) -> str:
    if not origin or "\n" in origin or origin.startswith(SIGNATURE_PREFIX[0]):
        raise NoteError(f"origin {origin!r} cannot head a checkpoint")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\ntime {time}\n"


def parse_note(note: str, *, where: str = "note") -> tuple[str, tuple[Signature, ...]]:
    """A signed note's text (with its final newline) and signatures (https://c2sp.org/signed-note)."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError(f"{where}: a signed note holds no control characters but newlines")
    if not note.endswith("\n"):
        raise NoteError(f"{where}: the note does not end with a newline")
    text, sep, sigs = note[:-1].rpartition("\n\n")  # the last blank line separates the signatures
    if not sep:
        raise NoteError(f"{where}: no blank line between the text and its signatures")
    signatures = []
    for line in sigs.split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"{where}: {line[:40]!r} is not a signature line (\u2014 name signature)")
        parts = line[len(SIGNATURE_PREFIX):].split(" ")
        if len(parts) != 2 or not parts[0] or "+" in parts[0]:
            raise NoteError(f"{where}: malformed signature line {line[:60]!r}")
        try:
            raw = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            raise NoteError(f"{where}: signature of {parts[0]} is not base64") from None
        if len(raw) < 5:
            raise NoteError(f"{where}: signature of {parts[0]} is too short")
        signatures.append(Signature(parts[0], raw[:4], raw[4:]))
    return text + "\n", tuple(signatures)


def parse_checkpoint(note: str, *, where: str = "checkpoint") -> Checkpoint:
    """A whole signed checkpoint note (https://c2sp.org/tlog-checkpoint); NoteError naming what is wrong."""
    text, signatures = parse_note(note, where=where)
    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError(f"{where}: a checkpoint has an origin, a size and a root hash line")
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise NoteError(f"{where}: the origin line is empty")
    if not size_line.isascii() or not size_line.isdigit() or (size_line.startswith("0") and size_line != "0"):
        raise NoteError(f"{where}: tree size {size_line!r} is not a decimal number")
    try:
        root = base64.b64decode(root_line, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{where}: root hash {root_line!r} is not base64") from None
    if len(root) != 32:
        raise NoteError(f"{where}: root hash is {len(root)} bytes, not 32")
    if any(not line for line in extensions):
        raise NoteError(f"{where}: an empty line inside the checkpoint")
    return Checkpoint(origin, int(size_line), root, tuple(extensions), text, signatures)


def find_checkpoints(text: str) -> list[Checkpoint]:
    """Every well-formed checkpoint note inside a larger text, in order."""
    found = []
    for match in _NOTE_RE.finditer(text):
        try:
            found.append(parse_checkpoint(match.group("text") + "\n" + match.group("sigs")))
        except NoteError:
            continue
    return found
