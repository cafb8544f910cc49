"""Ed25519 keys for signed notes (https://c2sp.org/signed-note), on the cryptography library.

A key's id is the first 4 bytes of SHA-256(name || "\\n" || 0x01 || public key); a signature line
carries that id and the 64-byte signature. The verifier key string "<name>+<id hex>+<base64(0x01 ||
public key)>" is what note tooling calls a vkey.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tracker.errors import ConfigError
from tracker.signing.note import Checkpoint, NoteError, Signature, checkpoint_text

ED25519 = b"\x01"


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise ConfigError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes  # 32 bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(ED25519 + self.public).decode()}"

    @property
    def pem(self) -> str:
        key = Ed25519PublicKey.from_public_bytes(self.public)
        return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def verify(self, checkpoint: Checkpoint) -> None:
        """NoteError unless the checkpoint carries this key's signature and it verifies."""
        self.verify_note(checkpoint.text, checkpoint.signatures)

    def verify_note(self, text: str, signatures: Sequence[Signature]) -> None:
        """Signatures of other keys are ignored; one of this key's that fails rejects the note (C2SP)."""
        mine = [s for s in signatures if s.name == self.name and s.key_id == self.id]
        if not mine:
            names = ", ".join(f"{s.name} ({s.key_id.hex()})" for s in signatures)
            raise NoteError(f"not signed by key {self.name} ({self.id.hex()}): signed by {names}")
        key = Ed25519PublicKey.from_public_bytes(self.public)
        for s in mine:
            try:
                key.verify(s.signature, text.encode())
            except InvalidSignature:
                raise NoteError(f"the signature of {self.name} ({self.id.hex()}) does not verify: the text was "
                                "altered or signed by another key") from None


class SigningKey:
    def __init__(self, name: str, private: Ed25519PrivateKey) -> None:
        self.name = _check_name(name)
        self._private = private
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.verifier = VerifierKey(self.name, public)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> SigningKey:
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    def sign_note(self, text: str) -> Signature:
        return Signature(self.name, self.verifier.id, self._private.sign(text.encode()))

    def sign(self, origin: str, size: int, root: bytes, time: str) -> Checkpoint:
        text = checkpoint_text(origin, size, root, time)
        return Checkpoint(origin, size, root, (f"time {time}",), text, (self.sign_note(text),))


def generate_key(path: Path, name: str) -> SigningKey:
    """A new Ed25519 key written to ``path`` as PKCS#8 PEM, readable by its owner only; never overwrites."""
    private = Ed25519PrivateKey.generate()
    key = SigningKey(name, private)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} already exists: a signing key is never overwritten") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def load_signing_key(path: Path, name: str) -> SigningKey:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no signing key at {path}: make one with `tracker keys generate`"
                          " or name it with TRACKER_SIGNING_KEY") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the signing key: {exc.strerror}") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 key")
    return SigningKey(name, private)


def load_verifier_key(value: str, *, name: str | None = None) -> VerifierKey:
    """A public key given as a vkey string, or a file holding a vkey, a PEM public key or a PEM private key.

    A PEM key carries no name: ``name`` (the checkpoint's signer) is used.
    """
    text = value.strip()
    if "\n" not in text and text.count("+") >= 2 and not Path(text).exists():
        return _parse_vkey(text)
    path = Path(value)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"--public-key {value}: neither a vkey (name+id+key) nor a readable file ({exc.strerror})"
        ) from None
    stripped = data.strip()
    if not stripped.startswith(b"-----BEGIN"):
        try:
            return _parse_vkey(stripped.decode("ascii"))
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not a vkey or a PEM key") from None
    try:
        if b"PRIVATE KEY" in stripped:
            key = serialization.load_pem_private_key(stripped, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(stripped)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not a PEM key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path}: not an Ed25519 key")
    if name is None:
        raise ConfigError(f"{path}: a PEM key carries no name; give the vkey instead")
    return VerifierKey(_check_name(name), key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _parse_vkey(text: str) -> VerifierKey:
    try:
        name, id_hex, encoded = text.split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        wanted = bytes.fromhex(id_hex)
    except (ValueError, binascii.Error):
        raise ConfigError(f"{text[:60]!r} is not a verifier key (name+id+base64 key)") from None
    if len(raw) != 33 or raw[:1] != ED25519:
        raise ConfigError(f"verifier key {name}: not an Ed25519 key")
    key = VerifierKey(_check_name(name), raw[1:])
    if key.id != wanted:
        raise ConfigError(f"verifier key {name}: its id {id_hex} does not match the key")
    return key
