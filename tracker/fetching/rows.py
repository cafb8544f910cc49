"""The rows of an agency's list page: repeated link-bearing elements (list items, table rows, cards).

    rows = list_rows(html_text, "https://www.fda.gov/...", select=None)

A row is the nearest list item, table row, article or card around a link, outside the page's
chrome (nav, header, footer, aside, menus, breadcrumbs, pagers). Its key is the link's absolute
URL (a document keeps its link when its title or date is edited), its title the text of its
longest link, its text everything the row says (where its date is). ``select`` (a source's CSS
selector) limits rows to the part of the page it names. Links whose text is too short to be a
title (page numbers, "more", arrows) name no document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from lxml import etree

from tracker.fetching.decode import BOMS, declared_encodings, decode
from tracker.fetching.html import compile_selector, parseable

ROW_TAGS = frozenset({"li", "tr", "article", "dd", "dt"})
CARD_TAGS = frozenset({"div", "p", "section"})
CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "menu", "form", "script", "style", "template"})
_CHROME_WORDS = re.compile(r"(^|[-_\s])(nav|navbar|menu|breadcrumbs?|pager|pagination|footer|header|sidebar|"
                           r"skip|toolbar)($|[-_\s])", re.I)
_TITLE_CHARS = re.compile(r"[A-Za-z\u3040-\u30ff\u3400-\u9fff]")
MIN_TITLE = 4          # characters of a title in Latin script; CJK titles need 2
_SPACE = re.compile(r"\s+")


class Row(NamedTuple):
    key: str        # the absolute URL of the row's link
    title: str
    text: str       # the whole row, white space collapsed


# The plain etree parser: lxml.html's looks up a Python element class for every element touched,
# which costs more than the parse itself on a list of thousands of rows.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)


_UTF8_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)


def page_root(body: bytes, content_type: str | None) -> etree._Element | None:
    """A page's tree from its raw body. A body in UTF-8 (declared so, or undeclared, and valid)
    goes to lxml as it is: decoding it first (decode.py's checks) and handing lxml a str costs
    about as much again as the parse. Any other body is decoded as every page is (decode.py)."""
    declared = declared_encodings(body, content_type)
    if (not declared or declared[0] == "utf-8") and not body.startswith(tuple(bom for bom, _ in BOMS)):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if not body.strip():
                return None
            try:
                return etree.fromstring(body, _UTF8_PARSER)
            except (etree.ParserError, etree.XMLSyntaxError, ValueError):
                return None
    return _parse(decode(body, content_type))


def _parse(text: str) -> etree._Element | None:
    text = parseable(text)
    if not text.strip():
        return None
    try:
        return etree.fromstring(text, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def _is_chrome(element: etree._Element) -> bool:
    if element.tag in CHROME_TAGS or element.get("role", "").lower() in ("navigation", "banner", "contentinfo"):
        return True
    marks = f"{element.get('class', '')} {element.get('id', '')}"
    return len(marks) > 1 and bool(_CHROME_WORDS.search(marks))


def _is_title(text: str) -> bool:
    if len(text) >= 16:       # long enough: a title unless it has no letter at all (a long number)
        return _TITLE_CHARS.search(text) is not None
    letters = _TITLE_CHARS.findall(text)
    cjk = sum(1 for ch in letters if ch >= "\u3040")
    return cjk >= 2 or len(letters) >= MIN_TITLE


class _Chrome:
    """Whether an element or one of its ancestors is the page's chrome; remembered per element,
    since the rows of one list share every ancestor above them."""

    def __init__(self) -> None:
        self.known: dict[etree._Element, bool] = {}

    def __call__(self, element: etree._Element | None) -> bool:
        path = []
        found = False
        while element is not None:
            known = self.known.get(element)
            if known is not None:
                found = known
                break
            path.append(element)
            if isinstance(element.tag, str) and _is_chrome(element):
                found = True
                break
            element = element.getparent()
        for seen in path:
            self.known[seen] = found
        return found


def _text(element: etree._Element) -> str:
    return " ".join(etree.tostring(element, method="text", encoding="unicode", with_tail=False).split())


class _Origin:
    """Links made absolute against the page's URL; the common forms without urljoin's cost."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.base, self.origin = base, f"{parts.scheme}://{parts.netloc}"

    def __call__(self, href: str) -> str:
        if href.startswith(("https://", "http://")):
            link = href
        elif href.startswith("/") and not href.startswith("//"):
            link = self.origin + href
        else:
            link = urljoin(self.base, href)
        return link.split("#", 1)[0]


def _holds_rows(element: etree._Element) -> bool:
    """A card holds no other row: a div around a list, a table or other cards (each with a link
    of its own) is no row; a card's own paragraphs without links do not count."""
    for inner in element.iter(*ROW_TAGS, *CARD_TAGS):
        if inner is not element and next(inner.iter("a"), None) is not None:
            return True
    return False


def _title(row: etree._Element) -> str | None:
    """The row's title: the longest text of its links that reads as a title."""
    best: str | None = None
    for link in row.iter("a"):
        title = _text(link)
        if _is_title(title) and (best is None or len(title) > len(best)):
            best = title
    return best


_NOT_LINKS = ("#", "javascript:", "mailto:", "tel:")


def _candidates(root: etree._Element | None, select: str | None) -> list[tuple[str, etree._Element]]:
    """(text, element) of each element that may be a row, outside the page's chrome. This loop runs
    once per row of both versions of a page: it is kept to lxml's C calls where it can."""
    if root is None:
        return []
    scopes = compile_selector(select)(root) if select else [root]
    chrome = _Chrome()
    known, tostring = chrome.known, etree.tostring
    found = []
    for scope in scopes:
        for row in scope.iter(*ROW_TAGS, *CARD_TAGS):
            parent = row.getparent()
            blocked = known.get(parent)
            if blocked is None:
                blocked = chrome(parent)
            if blocked or (row.keys() and _is_chrome(row)):
                continue
            found.append((tostring(row, method="text", encoding="unicode", with_tail=False), row))
    return found


def _rows(elements: Iterable[etree._Element], base_url: str) -> list[Row]:
    """The rows among these elements: each with a link, not a container of other rows, with a
    title; keyed by the absolute URL of its first link (the first row that links it wins)."""
    absolute = _Origin(base_url)
    rows: dict[str, Row] = {}
    for element in elements:
        href = next((h for link in element.iter("a") if (h := (link.get("href") or "").strip())
                     and not h.startswith(_NOT_LINKS)), "")
        if not href or (element.tag in CARD_TAGS and _holds_rows(element)):
            continue
        key = absolute(href)
        title = _title(element)
        if key not in rows and title is not None:
            # Text nodes joined with a space: table cells must not run together ("No. 12" "09/28/2025").
            rows[key] = Row(key, title, " ".join(" ".join(element.itertext()).split()))
    return list(rows.values())


def list_rows(text: str, base_url: str, select: str | None = None) -> list[Row]:
    """The rows of a page, in page order, one per link target (the first row that links it)."""
    return _rows((element for _, element in _candidates(_parse(text), select)), base_url)


def changed_rows(old_text: str, new_text: str, base_url: str,
                 select: str | None = None) -> tuple[list[Row], list[Row]]:
    """The rows of two versions of a page, less those whose text both versions hold: what can be
    added, changed or removed. Most rows of a long list say the same in both versions; they are
    never read further (a row that says the same under a new link is not a change of the list)."""
    return _changed(_parse(old_text), _parse(new_text), base_url, select)


def changed_rows_of_bodies(old: tuple[bytes, str | None], new: tuple[bytes, str | None], base_url: str,
                           select: str | None = None) -> tuple[list[Row], list[Row]]:
    """changed_rows of two raw bodies, each with its Content-Type (see page_root)."""
    return _changed(page_root(*old), page_root(*new), base_url, select)


def _changed(old_root: etree._Element | None, new_root: etree._Element | None, base_url: str,
             select: str | None) -> tuple[list[Row], list[Row]]:
    old, new = _candidates(old_root, select), _candidates(new_root, select)
    both = {text for text, _ in old} & {text for text, _ in new}
    return (_rows((element for text, element in old if text not in both), base_url),
            _rows((element for text, element in new if text not in both), base_url))


__all__ = ["Row", "changed_rows", "changed_rows_of_bodies", "list_rows", "page_root"]
