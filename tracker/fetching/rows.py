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
from typing import NamedTuple
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from tracker.fetching.html import compile_selector

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


def _parse(text: str) -> etree._Element | None:
    if not text.strip():
        return None
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
    try:
        return lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _is_chrome(element: etree._Element) -> bool:
    if element.tag in CHROME_TAGS or element.get("role", "").lower() in ("navigation", "banner", "contentinfo"):
        return True
    marks = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(marks.strip()) and bool(_CHROME_WORDS.search(marks))


def _is_title(text: str) -> bool:
    letters = _TITLE_CHARS.findall(text)
    cjk = sum(1 for ch in letters if ch >= "\u3040")
    return cjk >= 2 or len(letters) >= MIN_TITLE


def _row_of(link: etree._Element) -> etree._Element | None:
    """The row around a link, or None when the link sits in the page's chrome."""
    row: etree._Element | None = None
    card: etree._Element | None = None
    for ancestor in link.iterancestors():
        tag = ancestor.tag
        if not isinstance(tag, str):
            continue
        if _is_chrome(ancestor):
            return None
        if row is None and tag in ROW_TAGS:
            row = ancestor
        elif row is None and card is None and tag in CARD_TAGS:
            card = ancestor
    return row if row is not None else card


def _text(element: etree._Element) -> str:
    return _SPACE.sub(" ", element.text_content()).strip()


def list_rows(text: str, base_url: str, select: str | None = None) -> list[Row]:
    """The rows of a page, in page order, one per link target (the first row that links it)."""
    root = _parse(text)
    if root is None:
        return []
    scopes = compile_selector(select)(root) if select else [root]
    rows: dict[str, Row] = {}
    seen: set[int] = set()
    for scope in scopes:
        for link in scope.iter("a"):
            href = (link.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
                continue
            title = _text(link)
            if not _is_title(title):
                continue
            row = _row_of(link)
            if row is None or id(row) in seen:
                continue
            seen.add(id(row))
            key = urljoin(base_url, href).split("#", 1)[0]
            best = max((_text(a) for a in row.iter("a")), key=len, default=title)
            if key not in rows:
                rows[key] = Row(key, best if _is_title(best) else title, _text(row))
    return list(rows.values())


__all__ = ["Row", "list_rows"]
