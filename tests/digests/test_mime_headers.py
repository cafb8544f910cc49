"""A digest's headers written directly (mail.message._header_line) are the bytes the email package writes.

The reference is how drafts were made before: an EmailMessage under SMTP_POLICY, flattened. Drafts
are stored and resent as they are, so the two ways must agree byte for byte, plain values or not.
"""

from __future__ import annotations

import secrets
import zlib
from datetime import UTC, datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.mail import message as mail_message
from tracker.mail.message import SMTP_POLICY, build_digest_message, sender_address

UNSTRUCTURED = ("Subject", "List-Unsubscribe", "X-Tracker-Head", "X-Tracker-Subscription")
# Mostly what is plain, with what is not mixed in: runs of spaces, tabs, encoded-word look-alikes,
# specials, Chinese and Japanese text, and lengths on both sides of the plain limit and the fold.
VALUES = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=1100),
    st.lists(st.sampled_from([" ", "  ", "\t", "=?", "?=", "=?utf-8?q?x?=", "a", "Z", "9", "(", ")", '"', ":", ";",
                             ",", "<", ">", "@", "\\", "细胞", "承認", "é", "—", "x" * 80, "y" * 450]), max_size=40)
    .map("".join),
)


def reference_header(name: str, value: object) -> bytes:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg[name] = value
    return msg.as_bytes(policy=SMTP_POLICY).split(b"\r\n\r\n", 1)[0] + b"\r\n"


def assert_same(name: str, value: str) -> None:
    try:
        expected = reference_header(name, value)
    except (ValueError, IndexError, AttributeError, TypeError):  # refused, or the parser fails: alike
        with pytest.raises((ValueError, IndexError, AttributeError, TypeError)):
            mail_message._header_line(name, value)
        return
    assert mail_message._header_line(name, value) == expected


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from((*UNSTRUCTURED, "Reply-To", "To", "Message-ID", "Date", "Content-Type", "MIME-Version")), VALUES)
def test_values_are_written_as_the_email_package_writes_them(name: str, value: str) -> None:
    assert_same(name, value)


@pytest.mark.parametrize("value", ["1.0"])
def test_mime_version(value: str) -> None:
    assert_same("MIME-Version", value)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30)),
       st.one_of(st.none(), st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))))
def test_dates(moment: datetime, zone: timezone | None) -> None:
    value = format_datetime(moment.replace(tzinfo=zone))
    assert_same("Date", value)


@settings(max_examples=1000, deadline=None)
@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60),
       st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
       st.text(st.sampled_from("aZ09.-_"), min_size=1, max_size=30),
       st.text(st.sampled_from("aZ09.-"), min_size=1, max_size=30))
def test_message_ids(left: str, right: str, local: str, domain: str) -> None:
    for value in (f"<{left}@{right}>", f"<digest.sub-0a1b2c3d4e5f.12-340.0123456789ab@{right}>", f"<{local}@{domain}>",
                  f"<digest.sub-0a1b2c3d4e5f.12-340.0123456789ab@{domain}>"):
        assert_same("Message-ID", value)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=12, max_size=12))
def test_content_type(token: bytes) -> None:
    value = f'multipart/alternative; boundary="=_tracker_{token.hex()}"'
    assert_same("Content-Type", value)


def reference_headers(sender: str, subject: str, message_id: str, date: datetime, unsubscribe_url: str, token: str,
                      head: tuple[int, str], extra: dict[str, str], boundary: str) -> bytes:
    """build_digest_message's headers as they were made before they were written directly."""
    name, address = sender_address(sender)
    local, _, domain = address.rpartition("@")
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=name, username=local, domain=domain)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    mailto = f"mailto:{address}?subject={quote('unsubscribe ' + token)}"
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{mailto}>, <{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        msg["List-Unsubscribe"] = f"<{mailto}>"
    msg["X-Tracker-Head"] = f"{head[0]} {head[1]}"
    for key, value in extra.items():
        msg[key] = value
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    return msg.as_bytes(policy=SMTP_POLICY).split(b"\r\n\r\n", 1)[0]


@pytest.mark.parametrize(("sender", "subject", "unsubscribe_url"), [
    ("CGT Regulatory Tracker <tracker@localhost>", "CGT digest (everything): 25 documents, 15 status changes (US)", ""),
    ("细胞治疗监管追踪 Tracker <digest@tracker.example.org>", "中国细胞治疗 週報: welcome: 12 items match",
     "https://tracker.example.org/unsubscribe"),
    ('"Tracker, CGT" <d@example.org>', "A long subscription name " * 50 + ": 3 status changes", ""),
    ("tracker@example.org", "细胞和基因治疗产品监管动态周报" * 40 + ": 1 deadline (CN)", "https://t.example.org/u"),
    ("Tracker <t@example.org>", "Ünïcödé — “quoted” name, with: colons; and=signs?: nothing new", ""),
    ("Tracker <t@example.org>", "=?utf-8?q?looks_encoded?= but is not:  two  spaces", ""),
])
def test_drafts_are_the_bytes_they_were(sender: str, subject: str, unsubscribe_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "token_hex", lambda n: "5a" * n)
    date, head, extra = datetime(2026, 12, 5, 6, tzinfo=UTC), (18753, "3f" * 32), {"X-Tracker-Subscription": "sub-0a1b"}
    message_id = "<digest.sub-0a1b.18502-18753.3f3f3f3f3f3f@example.org>"
    text, html = "细胞 text\n" * 50, "<p>细胞 html</p>\n" * 50
    draft = build_digest_message(sender=sender, subject=subject, text=text, html=html, message_id=message_id, date=date,
                                 unsubscribe_url=unsubscribe_url, unsubscribe_token="tok-1", head=head, extra=extra)
    boundary = "=_tracker_" + "5a" * 12
    headers = reference_headers(sender, subject, message_id, date, unsubscribe_url, "tok-1", head, extra, boundary)
    frames = [b"tracker-digest-draft/1", boundary.encode(), headers, text.encode(), html.encode()]
    packer = zlib.compressobj(1)
    expected = b"".join([*(packer.compress(b"%d:%b" % (len(f), f)) for f in frames), packer.flush()])
    assert zlib.decompress(draft) == zlib.decompress(expected)
