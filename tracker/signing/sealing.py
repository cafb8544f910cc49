"""Sealing personal data for crypto-shredding: AES-256-GCM per subscriber, a keyed blind index.

Each subscriber has a key of their own (32 random bytes). Their address, subscription names,
channel URLs and prepared messages are stored only sealed under it:

    b"\\x01" || nonce (12 random bytes) || AES-256-GCM ciphertext and tag

with the row's purpose and id as associated data ("address:sub-…"), so a sealed value copied to
another row or column does not open. Destroying the key makes every copy unreadable: a backup,
a dead tuple, a page in a WAL file still hold ciphertext, never the plaintext.

An address is found again (subscribe, unsubscribe, forget, the suppression list) through its
blind index: HMAC-SHA-256 under a per-installation secret of the address as subscribe normalises
it, lower-cased, so `Erase.Me@example.org` and `erase.me@example.org` are one address.

AES-GCM (cryptography's AESGCM) rather than Fernet: authenticated, with associated data that binds
a value to its row, 28 bytes of overhead, and no timestamp in the clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from tracker.errors import DeliveryError

_VERSION = b"\x01"
KEY_BYTES = 32


def new_key() -> bytes:
    """A fresh AES-256 key (also used as the installation's blind-index secret)."""
    return os.urandom(KEY_BYTES)


# cryptography is imported where a value is sealed or opened, not with this module: commands that
# only read status load it never (tests/cli/test_startup_imports.py, issue 18).


def seal(key: bytes, plaintext: bytes, context: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode("utf-8"))


def open_sealed(key: bytes, sealed: bytes, context: str) -> bytes:
    """The plaintext of `seal(key, plaintext, context)`; DeliveryError if it does not open."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(sealed) < 29 or sealed[:1] != _VERSION:
        raise DeliveryError(f"sealed {context.partition(':')[0]} is not in a known format")
    try:
        return AESGCM(key).decrypt(sealed[1:13], sealed[13:], context.encode("utf-8"))
    except InvalidTag:
        raise DeliveryError(f"sealed {context.partition(':')[0]} does not open under its key") from None


def blind_index(secret: bytes, address: str) -> str:
    """The keyed index of a canonical address (hex): equal for addresses that differ only in case."""
    return hmac.new(secret, address.lower().encode("utf-8"), hashlib.sha256).hexdigest()
