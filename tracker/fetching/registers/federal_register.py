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
LINKS = (("html", "html_url"), ("pdf", "pdf_url"), ("public_inspection", "public_inspection_pdf_url"))


def _agency(item: dict[str, Any]) -> str:
    agencies = item.get("agencies")
    if agencies and isinstance(agencies, list):
        names = [str(a.get("name") or a.get("raw_name") or "") for a in agencies if isinstance(a, dict)]
        return "; ".join(n for n in names if n)
    listed = item.get("agency_names")
    return "; ".join(str(n) for n in listed) if isinstance(listed, list) else ""


def _entry(item: dict[str, Any]) -> Entry:
    number = item.get("document_number")
    if not number:
        require(item, "document_number", KIND)
    published = iso_date(item.get("publication_date"))
    effective = iso_date(item.get("effective_on"))
    if not published and not effective:
        require(item, "publication_date", KIND)      # a document always has one: undecodable without
    comments = iso_date(item.get("comments_close_on"))
    raw_type = str(item.get("type") or "")
    dates = {"publication_date": published}
    if effective:
        dates["effective_on"] = effective
    if comments:
        dates["comments_close_on"] = comments
    links = {}
    for role, key in LINKS:
        if item.get(key):
            links[role] = str(item[key])
    return Entry(
        str(number), effective or published, str(item.get("title") or number), links.get("html"),
        item, TYPE_CODES.get(raw_type.lower(), raw_type.upper()), _agency(item), dates,
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
