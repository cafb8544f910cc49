"""Registers parsed from documents in tests/data/registers/, served by the local server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fetching.localserver import LocalServer, Reply, config, run
from tracker.errors import FetchError, ValidationError
from tracker.fetching import UNDECODABLE, Entry, Fetcher, FetchRequest, FetchResult, next_page_url, parse_entries

DATA = Path(__file__).parents[1] / "data" / "registers"
SERVED = {
    "/api/versioner/v1/versions/title-21.json": ("ecfr-title-21-part-1271.json", "application/json"),
    "/api/v1/documents.json": ("federal-register-documents.json", "application/json"),
    "/en/news.xml": ("ema-news.rss", "application/rss+xml"),
    "/pmda.atom": ("pmda-updates.atom", "application/atom+xml"),
}


def served_entries(server: LocalServer, kind: str, path: str) -> list[Entry]:
    name, content_type = SERVED[path]
    server.route(path, Reply(200, {"Content-Type": content_type}, (DATA / name).read_bytes()))

    async def go() -> FetchResult:
        async with Fetcher(config()) as fetcher:
            return await fetcher.fetch(FetchRequest("reg", server.url(path), kind=kind))

    result = run(go())
    assert result.outcome == "ok"
    return parse_entries(kind, result.body, result.final_url)


def test_ecfr_versions(server: LocalServer) -> None:
    entries = served_entries(server, "ecfr", "/api/versioner/v1/versions/title-21.json")
    assert [e.entry_id for e in entries] == [
        "1271.1@2017-01-19",
        "1271.3@2017-01-19",
        "1271.3@2019-03-21",
        "1271.440@2016-11-21",
    ]
    first = entries[0]
    assert first.date == "2017-01-19"
    assert first.title == "§ 1271.1 What are the purpose and scope of this part?"
    assert first.url == "https://www.ecfr.gov/on/2017-01-19/title-21/section-1271.1"
    assert first.fields["substantive"] is True and first.fields["subpart"] == "A" and first.fields["cfr_title"] == "21"
    assert entries[2].fields["substantive"] is False


def test_federal_register_documents(server: LocalServer) -> None:
    path = "/api/v1/documents.json"
    rule, notice = served_entries(server, "federal-register", path)
    assert (rule.entry_id, rule.date, rule.url) == ("2024-12345", "2024-07-01", "https://www.federalregister.gov/d/2024-12345")
    assert rule.fields["publication_date"] == "2024-05-01" and rule.fields["type"] == "Rule"
    assert rule.fields["cfr_references"] == [{"title": 21, "part": 1271}]
    assert (notice.entry_id, notice.date) == ("2024-20001", "2024-09-10")      # no effective date: publication
    assert notice.fields["comments_close_on"] == "2024-11-12"
    assert next_page_url("federal-register", (DATA / SERVED[path][0]).read_bytes()) is None


def test_rss_feed(server: LocalServer) -> None:
    guid, linked = served_entries(server, "feed", "/en/news.xml")
    assert (guid.entry_id, guid.date) == ("ema-news-2024-0412", "2024-04-12T12:30:00Z")
    assert guid.fields["tags"] == ["Advanced therapies"]
    assert linked.entry_id == linked.url == server.url("/en/news/cat-highlights-march-2024")   # no guid: the link
    assert linked.date == "2024-03-25T09:00:00Z"


def test_atom_feed_keeps_date_precision(server: LocalServer) -> None:
    dated, undated = served_entries(server, "feed", "/pmda.atom")
    assert (dated.entry_id, dated.date, dated.title) == (
        "urn:example:pmda-regen:2024-05-31",
        "2024-05-31",
        "再生医療等製品の承認について",
    )
    assert undated.date == "2024-04-01T23:15:00Z"          # from updated, in UTC
    assert undated.url is None


@pytest.mark.parametrize(("kind", "body"), [
    ("ecfr", b"<html>maintenance</html>"),
    ("ecfr", b'{"meta": {}}'),
    ("ecfr", b'{"content_versions": [{"date": "2020-01-01"}]}'),
    ("federal-register", b'{"results": [{"title": "no number"}]}'),
    ("feed", b"<html><body><p>not a feed</p></body></html>"),
])
def test_wrong_documents_are_undecodable(kind: str, body: bytes) -> None:
    with pytest.raises(FetchError) as raised:
        parse_entries(kind, body, "https://example.org/")
    assert raised.value.error_class == UNDECODABLE


def test_unknown_register_kind() -> None:
    with pytest.raises(ValidationError):
        parse_entries("gazette", b"", "https://example.org/")
