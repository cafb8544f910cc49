"""Bytes of a fetched document to the normalised text that is compared between two checks.

Kinds (an explicit registry, see NORMALISERS):
  html  readable text: boilerplate dropped (script, style, noscript, template, nav, header,
        footer, aside, form, role=navigation, hidden), block elements on their own lines,
        table cells joined by " | ", list items prefixed "- ", whitespace collapsed.
        ``select`` (CSS) keeps only the matching elements, in document order, separated by
        a blank line; a selector that matches nothing gives "" (not an error), so a page
        whose watched part disappears shows up as a change to empty.
  pdf   the text of every page (pypdf), pages separated by a blank line.
  json  canonical: sorted keys, indent 1, ensure_ascii=False.
  text  as is, line endings made "\n".
``ignore`` holds regular expressions removed from every line of the text; a line that
becomes blank is dropped. The same bytes always give the same text.
Undecodable input raises ``FetchError("undecodable")``; a bad selector or pattern, or an
unknown kind, raises ``ValidationError``.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence

from tracker.errors import FetchError, ValidationError
from tracker.fetching.decode import decode
from tracker.fetching.result import UNDECODABLE

_WS = re.compile(r"[ \t\f\v\u00a0\u200b]+")


def _html(body: bytes, headers: Mapping[str, str], select: str | None) -> str:
    # Imported here: lxml is loaded by the first page normalised, not by every command.
    from tracker.fetching.html import html_to_text

    return html_to_text(decode(body, headers.get("content-type")), select)


def _pdf(body: bytes, headers: Mapping[str, str], select: str | None) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)   # pypdf warns loudly about harmless quirks
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FetchError(UNDECODABLE, "the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except FetchError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise FetchError(UNDECODABLE, f"not a readable PDF: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    return "\n\n".join(_clean_lines(page) for page in pages).strip("\n")


def _json(body: bytes, headers: Mapping[str, str], select: str | None) -> str:
    try:
        data = json.loads(decode(body, headers.get("content-type")))
    except json.JSONDecodeError as exc:
        raise FetchError(UNDECODABLE, f"not JSON: {exc}") from None
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False)


def _text(body: bytes, headers: Mapping[str, str], select: str | None) -> str:
    return decode(body, headers.get("content-type")).replace("\r\n", "\n").replace("\r", "\n")


Normaliser = Callable[[bytes, Mapping[str, str], "str | None"], str]
NORMALISERS: dict[str, Normaliser] = {"html": _html, "pdf": _pdf, "json": _json, "text": _text}


def _clean_lines(text: str) -> str:
    lines = (_WS.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def compile_ignore(ignore: Sequence[str]) -> list[re.Pattern[str]]:
    """Compile ignore patterns; ValidationError names the bad one."""
    compiled = []
    for pattern in ignore:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValidationError(f"bad ignore pattern {pattern!r}: {exc}") from None
    return compiled


def apply_ignore(text: str, ignore: Sequence[str]) -> str:
    """Remove every match of every pattern from each line; drop lines left blank."""
    patterns = compile_ignore(ignore)
    if not patterns:
        return text
    kept = []
    for line in text.split("\n"):
        cleaned = line
        for pattern in patterns:
            cleaned = pattern.sub("", cleaned)
        if cleaned == line:
            kept.append(line)
        elif cleaned.strip():
            kept.append(_WS.sub(" ", cleaned).strip())
    return "\n".join(kept)


def validate_filters(kind: str, select: str | None, ignore: Sequence[str]) -> None:
    """Raise ValidationError if the kind, the selector or a pattern cannot be used (for seed checks)."""
    if kind not in NORMALISERS:
        raise ValidationError(f"unknown document kind {kind!r} (one of {', '.join(sorted(NORMALISERS))})")
    if select is not None:
        if kind != "html":
            raise ValidationError(f"a CSS selector applies to html only, not {kind!r}")
        from tracker.fetching.html import compile_selector

        compile_selector(select)
    compile_ignore(ignore)


def normalise(
    kind: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    select: str | None = None,
    ignore: Sequence[str] = (),
) -> str:
    """The normalised text of ``body`` (see the module docstring)."""
    validate_filters(kind, select, ignore)
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    return apply_ignore(NORMALISERS[kind](body, headers, select), ignore)
