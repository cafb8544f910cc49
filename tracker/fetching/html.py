"""HTML to readable, stable text with lxml (see normalise.py for the rules)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

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
# What the walk never enters: the dropped tags, and comments and processing instructions, whose
# tag is a function (their tail is text of their parent's, and kept).
_SKIP = frozenset({*DROP, etree.Comment, etree.ProcessingInstruction, etree.Entity})
# etree's parser, not lxml.html's, which picks the class of every element it hands out in Python.
_PARSING = {"remove_comments": True, "remove_pis": True, "no_network": True}
_HIDING = etree.XPath(   # the elements _hidden() may drop, found by libxml2
    "descendant::*[@role or @hidden or @aria-hidden or @style]")
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_BAD_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])   # _BAD_CHARS below U+0080
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_CHAR_REF = re.compile(rb"&#[xX]([0-9a-fA-F]+)|&#([0-9]+)")
# Where _marks() takes its markers from: control characters that are no whitespace to split(),
# then the private use area.
_MARKERS = (*range(0x01, 0x09), *range(0x0E, 0x1C), *range(0xE000, 0xF900))


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


def _parse(text: str) -> tuple[etree._Element | None, bytes]:
    """The tree of ``text`` and the UTF-8 lxml read it from.

    As UTF-8, what libxml2 reads natively, cleaned as parseable() cleans a str: 0.11 ms a bench_check
    page against 0.15 ms for parseable() and lxml's reading of the str (issue 18)."""
    text = _XML_DECL.sub("", text, count=1)
    try:
        data = text.encode("utf-8").translate(None, _BAD_BYTES)
    except UnicodeEncodeError:   # a lone surrogate: lxml reads the str up to it, as it always did
        text = _BAD_CHARS.sub("", text)
        return _tree(text, etree.HTMLParser(**_PARSING)), text.encode("utf-8", "surrogatepass")
    if b"\xef\xbf" in data:
        data = data.replace(b"\xef\xbf\xbe", b"").replace(b"\xef\xbf\xbf", b"")   # U+FFFE, U+FFFF
    return _tree(data, etree.HTMLParser(**_PARSING, encoding="utf-8")), data


def _tree(source: str | bytes, parser: etree.HTMLParser) -> etree._Element | None:
    if not source.strip():
        return None
    try:
        return etree.fromstring(source, parser)
    except (etree.LxmlError, ValueError):
        return None


def _hidden(element: etree._Element) -> bool:
    get = element.get
    return (
        get("role", "").lower() == "navigation"
        or get("hidden") is not None
        or get("aria-hidden", "").lower() == "true"
        or bool(_HIDDEN_STYLE.search(get("style", "")))
    )


def _marks(data: bytes) -> tuple[str, str, str]:
    """Three characters no text parsed from ``data`` holds: control characters, which _parse()
    took out, unless ``data`` spells them as numeric character references (then private use ones).
    Not whitespace, and below U+0100 so that an ASCII page stays a string of one byte a character."""
    referred: set[int] = set()
    if b"#" in data and b"&#" in data:   # memchr() finds a byte; two took 60x longer (20 KB)
        referred = {int(hexa, 16) if hexa else int(dec) for hexa, dec in _CHAR_REF.findall(data)}
    free = (chr(c) for c in _MARKERS if c not in referred and (c < 0x20 or chr(c).encode() not in data))
    return next(free), next(free), next(free)


@functools.lru_cache(maxsize=8)
def _opening(sep: str, line: str, cell: str) -> dict[str, str]:
    """What a tag writes where it starts ("- " is a text piece of its own, as it was to the walk)."""
    return dict.fromkeys(BLOCK, line) | dict.fromkeys(CELLS, cell) | {"br": line, "li": line + sep + "- "}


def _walk(element: etree._Element, opening: dict[str, str], close: str) -> list[str]:
    """The text pieces of ``element`` and the marks its tags write, in document order."""
    hidden = {e for e in _HIDING(element) if _hidden(e)}   # by identity: lxml keeps one proxy a node
    out: list[str] = []
    _emit(element, opening, close, hidden, out.append)
    return out


def _emit(
    element: etree._Element, opening: dict[str, str], close: str, hidden: set[etree._Element],
    append: Callable[[str], None],
) -> None:
    # A function of the module, not a closure over the walk's state: a closure that calls itself
    # is a reference cycle, which kept each page's tree and text until a full collection.
    tag = element.tag
    mark = opening.get(tag)
    if mark:
        append(mark)
    if element.text:
        append(element.text)
    for child in element:
        if child.tag not in _SKIP and child not in hidden:
            _emit(child, opening, close, hidden, append)
        if child.tail:
            append(child.tail)
    if tag in BLOCK:
        append(close)


def _collapse(text: str, sep: str) -> str:
    r"""``text``, pieces joined by ``sep`` (which no piece holds, and no whitespace), as the pieces
    each with its whitespace runs made one space (re.sub(r"\s+", " ", piece), the rule the
    recorded texts were made by) and joined, then stripped.

    One split() a line, not one a piece: split() knows the whitespace of re's \s and runs about
    2.5x faster than re.sub; and not one a page, whose list of words costs memory. None at all when
    no piece has whitespace to collapse: no two spaces, and no other whitespace, which is no
    printable character (a bench_check page's lines: 0.10 ms against 0.19 ms, issue 18)."""
    plain = text.replace(sep, "")
    if "  " not in text and plain.isprintable():
        return plain.strip()
    return " ".join(text.split()).replace(sep, "").strip()


def _render(element: etree._Element, data: bytes, kelvin: bool) -> str:
    """The text of ``element`` without its tail; ``data`` is what _parse() parsed it from, which
    has a Kelvin sign if ``kelvin`` (the one character whose lower() makes a tag one of ours)."""
    sep, line, cell = _marks(data)
    if kelvin:
        for e in element.iter():
            if isinstance(e.tag, str) and e.tag.lower() in BLOCK:
                e.tag = e.tag.lower()
    out = _walk(element, _opening(sep, line, cell), line)
    for quirk, mark in (("\n", line), ("\x1f", cell)):
        # The walk this replaced wrote "\n" and "\x1f" as its marks and took a text piece that is
        # exactly one of them (a newline between two tags, a "&#31;") for one: the recorded texts
        # hold that.
        if quirk in out:
            out = [mark if piece == quirk else piece for piece in out]
    lines = []
    for text in sep.join(out).split(line):
        if not text.strip(sep):   # between two marks, as "</p><p>" leaves
            continue
        if cell in text:
            cells = [_collapse(c, sep) for c in text.split(cell)]
            text = " | ".join(c for c in cells if c)
        else:  # most lines are no table row: a fifth of rendering a page went to splitting them (issue 18)
            text = _collapse(text, sep)
        if text:
            lines.append(text)
    return "\n".join(lines)


def html_to_text(text: str, select: str | None = None) -> str:
    """Readable text of an HTML document; with ``select``, of the matching elements only."""
    selector = compile_selector(select) if select is not None else None
    root, data = _parse(text)
    if root is None:
        return ""
    if selector is None:
        return _render(root, data, "\u212a" in text)
    matches: list[etree._Element] = []
    for element in selector(root):
        if not any(m in element.iterancestors() for m in matches):
            matches.append(element)
    parts = (_render(element, data, "\u212a" in text) for element in matches)
    return "\n\n".join(part for part in parts if part)
