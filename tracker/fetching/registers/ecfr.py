"""eCFR versioner: the versions list of a part, and the text of a part on a date.

``/api/versioner/v1/versions/title-N.json?part=P`` lists content versions: one entry per
section version, id ``identifier@amendment_date``. ``/api/versioner/v1/full/{date}/title-N.xml
?part=P`` is the part's text on a date: ``section_texts`` reads it into one text per section,
so two dates can be compared section by section.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tracker.fetching.registers.common import Entry, iso_date, load_json, non_empty, require, rows, undecodable

KIND = "ecfr"
BASE = "https://www.ecfr.gov"


def parse(body: bytes, url: str) -> list[Entry]:
    entries = []
    for item in rows(load_json(body, KIND), "content_versions", KIND):
        identifier = require(item, "identifier", KIND)
        date = iso_date(item.get("amendment_date")) or iso_date(require(item, "date", KIND))
        fields = {k: v for k, v in item.items() if k not in {"identifier", "name", "title"}}
        fields["cfr_title"] = item.get("title")
        link = None
        if item.get("type") == "section" and item.get("title"):
            link = f"{BASE}/on/{date}/title-{item['title']}/section-{identifier}"
        entries.append(Entry(
            f"{identifier}@{date}", date, str(item.get("name") or identifier), link, fields,
            str(item.get("type") or ""), "",
            non_empty(amendment_date=date, issue_date=iso_date(item.get("issue_date"))),
            links=non_empty(html=link),
        ))
    return entries


def full_text_url(versions_url: str, date: str) -> str | None:
    """The versioner's text of the part a versions URL lists, on ``date``; None if not a versions URL."""
    parts = urlsplit(versions_url)
    match = re.search(r"/api/versioner/v1/versions/(title-\d+)\.json$", parts.path)
    if not match:
        return None
    query = parse_qs(parts.query)
    scope = "&".join(f"{key}={query[key][0]}" for key in ("part", "subpart", "section") if key in query)
    base = parts.path[: match.start()]
    return f"{parts.scheme}://{parts.netloc}{base}/api/versioner/v1/full/{date}/{match.group(1)}.xml" + (
        f"?{scope}" if scope else ""
    )


def section_texts(body: bytes) -> dict[str, str]:
    """Section number -> its text (heading first, one paragraph a line) from versioner XML."""
    from lxml import etree

    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError as exc:
        raise undecodable(KIND, f"not eCFR XML: {exc}") from None
    sections: dict[str, str] = {}
    for div in root.iter("DIV8"):
        number = str(div.get("N") or "").strip()
        if not number:
            continue
        lines = []
        for element in div:
            text = " ".join("".join(element.itertext()).split())
            if text:
                lines.append(text)
        sections[number] = "\n".join(lines)
    if not sections and root.tag not in {"DIV5", "DIV6", "DIV1", "ECFR"}:
        raise undecodable(KIND, f"not eCFR XML: root <{root.tag}>")
    return sections
