"""FDA guidance documents: the JSON table behind the guidance search page
(``/files/api/datatables/static/search-for-guidance.json``), one row per guidance.

Cells are HTML-encoded: ``title`` is ``<a href="/regulatory-information/...">Title</a>``, dates
are ``MM/DD/YYYY`` or ``<time datetime="...">``, the docket is a link. Id: the last segment of the
guidance's page (its slug, stable while the page is), else the docket number. Type: the status,
Draft or Final; a draft's comment-close date is a ``comments_close`` deadline.

The table holds every guidance of every centre; the source URL's fragment says which rows to
keep (the fragment is never sent): ``#centre=CBER&topic=Cellular+%26+Gene+Therapy`` keeps rows
of CBER (by name or initials) on one of the topics (case-insensitive, part of the topic list);
repeat a key for alternatives; with no fragment every row is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tracker.fetching.registers.common import (
    Entry,
    absolute,
    href,
    iso_date,
    load_json,
    plain,
    plain_cached,
    rows,
    time_attr,
    undecodable,
)

KIND = "fda-guidance"
_MINOR = {"for", "and", "of", "the", "&"}


def _date(cell: Any) -> str:
    if not cell:
        return ""
    if isinstance(cell, str) and "<" not in cell:
        return iso_date(cell, order="mdy")
    return iso_date(time_attr(cell) or plain(cell), order="mdy")


def _cell(value: Any) -> str:
    return plain_cached(value) if value.__class__ is str else plain(value)


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.replace("-", " ").split() if word.lower() not in _MINOR).upper()


def row_filter(url: str) -> tuple[Sequence[str], Sequence[str]]:
    """(centres, topics) named in the URL fragment, lower-cased."""
    query = parse_qs(urlsplit(url).fragment)
    centres = [c.strip().lower() for c in query.get("centre", []) + query.get("center", []) if c.strip()]
    topics = [t.strip().lower() for t in query.get("topic", []) if t.strip()]
    return centres, topics


def _keep(centre: str, topics: str, wanted: tuple[Sequence[str], Sequence[str]]) -> bool:
    centres, subjects = wanted
    if centres:
        names = {centre.lower(), _initials(centre).lower()}
        if not any(c in names or (len(c) > 5 and c in centre.lower()) for c in centres):
            return False
    return not subjects or any(s in topics.lower() for s in subjects)


def parse(body: bytes, url: str) -> list[Entry]:
    data = load_json(body, KIND)
    table = rows(data.get("data") if isinstance(data, dict) else data, None, KIND)
    wanted = row_filter(url)
    filtering = bool(wanted[0] or wanted[1])
    origin = url.split("#", 1)[0]
    entries = []
    for row in table:
        get = row.get
        title_cell = get("title")
        title = plain(title_cell)
        if not title:
            raise undecodable(KIND, f"a row has no title: {str(row)[:200]}")
        centre = _cell(get("field_center") or get("field_issuing_office_taxonomy") or get("field_issuing_office"))
        topics = _cell(get("topics-product") or get("field_topics") or get("term_node_tid"))
        product = _cell(get("field_regulated_product_field"))
        if filtering and not _keep(centre, f"{topics} {product}", wanted):
            continue
        page = href(title_cell)
        page_url = absolute(origin, page) if page else None
        docket_cell = get("field_docket_number")
        docket = plain(docket_cell)
        entry_id = page.rstrip("/").rsplit("/", 1)[-1] if page else docket
        if not entry_id:
            raise undecodable(KIND, f"a row has neither a page nor a docket: {title[:120]}")
        issued = _date(get("field_issue_datetime"))
        closes = _date(get("field_comment_close_date"))
        pdf = href(get("field_associated_media_2"))
        docket_link = href(docket_cell)
        changed = get("changed")
        fields = {key: value for key, value in (
            ("docket", docket), ("topics", topics), ("regulated_product", product),
            ("communication_type", _cell(get("field_communication_type"))),
            ("open_comment", _cell(get("open-comment") or get("field_open_comment"))),
            ("changed", (time_attr(changed) or plain(changed)) if changed else ""),
        ) if value}
        dates = {"issue_date": issued} if issued else {}
        links = {"html": page_url} if page_url else {}
        if closes:
            dates["comment_close_date"] = closes
        if pdf:
            links["pdf"] = absolute(origin, pdf)
        if docket_link:
            links["docket"] = absolute(origin, docket_link)
        entries.append(Entry(
            entry_id, issued, title, page_url, fields, _cell(get("field_final_guidance_1")), centre, dates,
            {"comments_close": closes} if closes else {}, links,
        ))
    return entries
