"""Federal Register ``/api/v1/documents.json``.

Each result is one document: id ``document_number``; date ``effective_on``, else
``publication_date``; type RULE, PRORULE, NOTICE or PRESDOCU (the API's condition codes; its
results spell them "Rule", "Proposed Rule", ...); ``comments_close_on`` a deadline. A body may
hold several pages one after the other (as the fetcher stores a paginated answer); an answer
with no documents omits ``results`` and is "no entries", not a failure.
"""

from __future__ import annotations

from typing import Any

from tracker.fetching.registers.common import Entry, iso_date, json_documents, require, rows, undecodable

KIND = "federal-register"
TYPE_CODES = {
    "rule": "RULE", "proposed rule": "PRORULE", "notice": "NOTICE", "presidential document": "PRESDOCU",
    "prorule": "PRORULE", "presdocu": "PRESDOCU", "correction": "CORRECT", "uncategorized document": "UNKNOWN",
}


def _agency(item: dict[str, Any]) -> str:
    agencies = item.get("agencies")
    if agencies and isinstance(agencies, list):
        names = [str(a.get("name") or a.get("raw_name") or "") for a in agencies if isinstance(a, dict)]
        return "; ".join(n for n in names if n)
    listed = item.get("agency_names")
    return "; ".join(str(n) for n in listed) if isinstance(listed, list) else ""


def _day(value: Any) -> str:
    # The API's dates are ISO days: taken as they are; anything else through iso_date.
    if value.__class__ is str and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value
    return iso_date(value)


_TYPES: dict[str, str] = {}


def _type(raw: Any) -> str:
    code = _TYPES.get(raw)
    if code is None:
        text = str(raw or "")
        code = _TYPES.setdefault(str(raw), TYPE_CODES.get(text.lower(), text.upper()))
    return code


def _entry(item: dict[str, Any]) -> Entry:
    get = item.get
    number = get("document_number")
    if not number:
        require(item, "document_number", KIND)
    published = _day(get("publication_date"))
    effective = _day(get("effective_on")) if get("effective_on") else ""
    if not published and not effective:
        require(item, "publication_date", KIND)      # a document always has one: undecodable without
    comments = _day(get("comments_close_on")) if get("comments_close_on") else ""
    dates = {"publication_date": published}
    if effective:
        dates["effective_on"] = effective
    if comments:
        dates["comments_close_on"] = comments
    agencies = get("agencies")
    try:    # the usual shape, read plainly; anything else through _agency
        agency = "; ".join([a["name"] for a in agencies]) if agencies.__class__ is list else _agency(item)
    except (TypeError, KeyError):
        agency = _agency(item)
    html, pdf, inspection = get("html_url"), get("pdf_url"), get("public_inspection_pdf_url")
    links = {"html": str(html)} if html else {}
    if pdf:
        links["pdf"] = str(pdf)
    if inspection:
        links["public_inspection"] = str(inspection)
    return Entry(
        str(number), effective or published, str(get("title") or number), links.get("html"),
        item, _type(get("type")), agency, dates,
        {"comments_close": comments} if comments else {}, links,
    )


def pages(body: bytes) -> list[dict[str, Any]]:
    documents = list(json_documents(body, KIND))
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise undecodable(KIND, "not a documents.json answer")
    for document in documents:
        if "results" not in document and not isinstance(document.get("count"), int):
            raise undecodable(KIND, "no 'results' list and no 'count' in the document")
    return documents


def parse(body: bytes, url: str) -> list[Entry]:
    entries: list[Entry] = []
    for document in pages(body):
        if "results" in document:       # omitted when nothing matches
            entries.extend(_entry(item) for item in rows(document, "results", KIND))
    return entries


def next_page(body: bytes) -> str | None:
    """The ``next_page_url`` of the last page in ``body``, or None."""
    value = pages(body)[-1].get("next_page_url")
    return str(value) if value else None
