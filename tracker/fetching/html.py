"""HTML to readable, stable text with lxml (see normalise.py for the rules)."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree

from tracker.errors import ValidationError

if TYPE_CHECKING:
    from lxml.cssselect import CSSSelector

DROP = frozenset({
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
    "head", "svg", "math", "iframe", "frame", "frameset", "object", "embed", "canvas",
    "button", "select", "input", "textarea", "audio", "video", "map", "dialog",
})
BLOCK = frozenset({
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "html",
    "legend", "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot",
    "thead", "tr", "ul", "menu", "hgroup", "search",
})
CELLS = frozenset({"td", "th"})
_NL, _CELL = "\n", "\x1f"
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def compile_selector(select: str) -> CSSSelector:
    # Imported here: cssselect (about 8 ms) is needed by the sources that select, not by every page.
    from lxml.cssselect import CSSSelector

    try:
        return CSSSelector(select, translator="html")
    except Exception as exc:   # cssselect raises SelectorSyntaxError, ExpressionError and friends
        raise ValidationError(f"bad CSS selector {select!r}: {exc}") from None


def parseable(text: str) -> str:
    """Decoded page text lxml parses: without its XML declaration (lxml refuses a str that declares
    an encoding; many XHTML pages of official sites start with one) and without forbidden characters."""
    return _BAD_CHARS.sub("", _XML_DECL.sub("", text, count=1))


def _parse(text: str) -> etree._Element | None:
    text = parseable(text)
    if not text.strip():
        return None
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
    try:
        return lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _dropped(element: etree._Element) -> bool:
    tag = element.tag
    if not isinstance(tag, str):
        return True          # comments, processing instructions, entities
    if tag.lower() in DROP:
        return True
    get = element.get
    return (
        get("role", "").lower() == "navigation"
        or get("hidden") is not None
        or get("aria-hidden", "").lower() == "true"
        or bool(_HIDDEN_STYLE.search(get("style", "")))
    )


def _emit(element: etree._Element, out: list[str]) -> None:
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag in BLOCK:
        out.append(_NL)
    elif tag in CELLS:
        out.append(_CELL)
    elif tag == "br":
        out.append(_NL)
    if tag == "li":
        out.append("- ")
    if element.text:
        out.append(element.text)
    for child in element:
        if not _dropped(child):
            _emit(child, out)
        if child.tail:
            out.append(child.tail)
    if tag in BLOCK:
        out.append(_NL)


def _collapse(piece: str) -> str:
    r"""Every whitespace run of ``piece`` made one space, as re.sub(r"\s+", " ", piece) does.

    str.split() knows the same whitespace as re's \s and runs about 2.5x faster on page text,
    where re.sub replaces every single space by itself (issue 18).
    """
    inner = " ".join(piece.split())
    if not inner:
        return " " if piece else ""
    if piece[0].isspace():
        inner = " " + inner
    if piece[-1].isspace():
        inner += " "
    return inner


def _render(element: etree._Element) -> str:
    out: list[str] = []
    _emit(element, out)
    raw = "".join(piece if piece in (_NL, _CELL) else _collapse(piece) for piece in out)
    lines = []
    for line in raw.split(_NL):
        if _CELL in line:
            cells = [cell.strip() for cell in line.split(_CELL)]
            text = " | ".join(cell for cell in cells if cell)
        else:  # most lines are no table row: a fifth of rendering a page went to splitting them (issue 18)
            text = line.strip()
        if text:
            lines.append(text)
    return "\n".join(lines)


def html_to_text(text: str, select: str | None = None) -> str:
    """Readable text of an HTML document; with ``select``, of the matching elements only."""
    selector = compile_selector(select) if select is not None else None
    root = _parse(text)
    if root is None:
        return ""
    if selector is None:
        return _render(root)
    matches: list[etree._Element] = []
    for element in selector(root):
        if not any(m in element.iterancestors() for m in matches):
            matches.append(element)
    parts = []
    for element in matches:
        clone = copy.deepcopy(element)
        clone.tail = None
        parts.append(_render(clone))
    return "\n\n".join(part for part in parts if part)
