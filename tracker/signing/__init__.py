"""Signed checkpoints: the C2SP signed-note and checkpoint formats, Ed25519 keys (cryptography only here).

A checkpoint is the note text

    <origin>
    <tree size>
    <base64 root hash>
    time <recorded instant, UTC>

followed by a blank line and one signature line per key, "— <key name> <base64(key id || signature)>",
exactly as https://c2sp.org/signed-note and https://c2sp.org/tlog-checkpoint define them, so tools
that read transparency-log checkpoints read these.
"""

from typing import TYPE_CHECKING

from tracker.signing.note import Checkpoint, NoteError, find_checkpoints, parse_checkpoint

if TYPE_CHECKING:
    from tracker.signing.keys import SigningKey, VerifierKey, generate_key, load_signing_key, load_verifier_key

# The keys load the cryptography library: only when a key is asked for (PEP 562), so a command that
# only opens the package (status, through the sealing of personal data) does not pay for it.
_KEYS = frozenset({"SigningKey", "VerifierKey", "generate_key", "load_signing_key", "load_verifier_key"})


def __getattr__(name: str) -> object:
    if name in _KEYS:
        from tracker.signing import keys

        return getattr(keys, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Checkpoint",
    "NoteError",
    "SigningKey",
    "VerifierKey",
    "find_checkpoints",
    "generate_key",
    "load_signing_key",
    "load_verifier_key",
    "parse_checkpoint",
]
