"""Signed notes as other implementations write them: golang.org/x/mod/sumdb/note's published example."""

from __future__ import annotations

import base64

import pytest

from tracker.signing import NoteError, SigningKey, parse_checkpoint
from tracker.signing.keys import load_verifier_key
from tracker.signing.note import parse_note

# The example of golang.org/x/mod/sumdb/note (its package documentation and note_test.go).
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (
    GO_TEXT
    + "\n\u2014 PeterNeumann "
      "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def _go_key() -> SigningKey:
    seed = base64.b64decode(GO_SIGNER.split("+", 4)[4])[1:]
    return SigningKey.from_seed("PeterNeumann", seed)


def test_our_signature_is_byte_for_byte_the_go_reference() -> None:
    key = _go_key()
    assert key.verifier.vkey == GO_VERIFIER
    signature = key.sign_note(GO_TEXT)
    line = f"\u2014 {signature.name} {base64.b64encode(signature.key_id + signature.signature).decode()}\n"
    assert GO_TEXT + "\n" + line == GO_NOTE


def test_the_go_note_verifies_and_an_altered_one_does_not() -> None:
    verifier = load_verifier_key(GO_VERIFIER)
    text, signatures = parse_note(GO_NOTE)
    verifier.verify_note(text, signatures)
    text, signatures = parse_note(GO_NOTE.replace("cryptography", "cryptographY"))
    with pytest.raises(NoteError, match="does not verify"):
        verifier.verify_note(text, signatures)
    with pytest.raises(NoteError, match="not signed by key"):
        load_verifier_key("EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop").verify_note(
            text, signatures
        )


@pytest.mark.parametrize("note, reason", [
    ("origin\n5\n" + base64.b64encode(b"x" * 32).decode() + "\n", "newline|blank line"),
    ("origin\n5\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k AAAA\n", "too short"),
    ("origin\nfive\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k AAAAAAAA\n", "decimal"),
    ("origin\n05\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k AAAAAAAA\n", "decimal"),
    ("origin\n5\n" + base64.b64encode(b"x" * 31).decode() + "\n\n\u2014 k AAAAAAAA\n", "32"),
    ("origin\n5\nnot base64!\n\n\u2014 k AAAAAAAA\n", "base64"),
    ("origin\n5\n\n\u2014 k AAAAAAAA\n", "origin, a size and a root"),
    ("origin\r\n5\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k AAAAAAAA\n", "control"),
    ("origin\n5\n" + base64.b64encode(b"x" * 32).decode() + "\n\n- k AAAAAAAA\n", "signature line"),
    ("origin\n5\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k+1 AAAAAAAA\n", "malformed"),
])
def test_malformed_checkpoints_are_refused_with_a_reason(note: str, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        parse_checkpoint(note)
