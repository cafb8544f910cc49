"""Every register adapter against answers in its documented shape, served on 127.0.0.1:
realistic sizes, paging, empty results, missing optional fields, odd encodings, wrong bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fetching.localserver import LocalServer, Reply, Seen, config, run
from tests.support.registers import FR_EMPTY, fda_guidance_table, fr_pages
from tracker.errors import FetchError
from tracker.fetching import TOO_LARGE, UNDECODABLE, Entry, Fetcher, FetchRequest, FetchResult, parse_entries
from tracker.fetching.registers import ecfr

DATA = Path(__file__).parents[1] / "data" / "registers"
JSON = {"Content-Type": "application/json; charset=utf-8"}


def fetch(server: LocalServer, path: str, kind: str, **overrides: object) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(config(**overrides)) as fetcher:
            return await fetcher.fetch(FetchRequest("reg", server.url(path), kind=kind))

    return run(go())


def entries_of(server: LocalServer, path: str, kind: str, fragment: str = "") -> list[Entry]:
    result = fetch(server, path, kind)
    assert result.outcome == "ok", result.error
    return parse_entries(kind, result.body, result.final_url + fragment)


def serve_fr(server: LocalServer, total: int, per_page: int) -> list[bytes]:
    pages = fr_pages(total, per_page, server.url("/api/v1/documents.json") + "?page={page}&per_page=" + str(per_page))

    def handler(seen: Seen) -> Reply:
        page = int(dict(p.split("=") for p in seen.query.split("&") if "=" in p).get("page", "1"))
        return Reply(200, JSON, pages[page - 1])

    server.route("/api/v1/documents.json", handler)
    return pages


# -- Federal Register ------------------------------------------------------------------------


def test_federal_register_follows_every_page_and_keeps_each_documents_identity(server: LocalServer) -> None:
    serve_fr(server, 5000, 1000)
    entries = entries_of(server, "/api/v1/documents.json", "federal-register")
    assert server.hits("/api/v1/documents.json") == 5
    assert len(entries) == 5000 and len({e.entry_id for e in entries}) == 5000
    rule, proposed, notice = entries[3], entries[1], entries[2]
    assert (rule.entry_id, rule.type, rule.agency) == ("2018-10003", "RULE", "Food and Drug Administration")
    assert rule.date == rule.dates["effective_on"] != rule.dates["publication_date"] and not rule.deadlines
    assert notice.type == "NOTICE" and notice.date == notice.dates["publication_date"]
    assert proposed.type == "PRORULE"
    assert (
        proposed.deadlines
        == {"comments_close": proposed.dates["comments_close_on"]}
        == {"comments_close": "2016-05-15"}
    )
    assert proposed.links["pdf"].endswith(".pdf") and proposed.fields["docket_ids"] == ["FDA-2016-D-0001"]
    assert proposed.fields["cfr_references"][0]["part"] == 1271 and proposed.precision == "day"
    sparse = entries[7]         # no agencies list, no pdf, no deadline: still a whole entry
    assert sparse.agency == "Food and Drug Administration" and "pdf" not in sparse.links and sparse.deadlines == {}
    identity = proposed.identity()
    assert set(identity) >= {"entry_id", "date", "precision", "type", "title", "agency", "links", "deadlines", "dates"}


def test_federal_register_pagination_is_bounded(server: LocalServer) -> None:
    serve_fr(server, 50, 10)
    result = fetch(server, "/api/v1/documents.json", "federal-register", max_pages=3)
    assert (result.outcome, result.error_class) == ("failed", TOO_LARGE)
    assert "more than 3 pages" in (result.error or "")
    assert server.hits("/api/v1/documents.json") == 4


def test_a_failing_page_fails_the_whole_listing(server: LocalServer) -> None:
    pages = fr_pages(30, 10, server.url("/api/v1/documents.json") + "?page={page}")
    server.route("/api/v1/documents.json", lambda s: Reply(200, JSON, pages[0]) if "page=" not in s.query
                 else Reply(500, {}, b"oops"))
    result = fetch(server, "/api/v1/documents.json", "federal-register")
    assert result.outcome == "failed" and "page 2" in (result.error or "")


def test_a_next_page_on_another_site_is_not_followed(server: LocalServer) -> None:
    pages = fr_pages(20, 10, "https://elsewhere.example/api/v1/documents.json?page={page}")
    server.route("/api/v1/documents.json", Reply(200, JSON, pages[0]))
    result = fetch(server, "/api/v1/documents.json", "federal-register")
    assert result.outcome == "failed" and "another site" in (result.error or "")


def test_federal_register_empty_answer_is_no_entries(server: LocalServer) -> None:
    server.route("/api/v1/documents.json", Reply(200, JSON, FR_EMPTY))
    assert entries_of(server, "/api/v1/documents.json", "federal-register") == []


def test_federal_register_odd_encodings(server: LocalServer) -> None:
    doc = {"count": 1, "results": [{"document_number": "2026-00001", "publication_date": "2026-01-05",
                                    "title": "Müller–Gene Therapy; “Correction”", "type": "Notice"}]}
    for body in (b"\xef\xbb\xbf" + json.dumps(doc).encode(), json.dumps(doc, ensure_ascii=False).encode("utf-16")):
        (entry,) = parse_entries("federal-register", body, "https://www.federalregister.gov/")
        assert entry.title == "Müller–Gene Therapy; “Correction”"
    latin1 = json.dumps(doc, ensure_ascii=False).encode("latin-1", errors="replace")
    with pytest.raises(FetchError):
        parse_entries("federal-register", latin1.replace(b"\x3f", b"\xfc"), "https://www.federalregister.gov/")


# -- eCFR part text ----------------------------------------------------------------------------

PART_XML = """<?xml version="1.0" encoding="UTF-8"?>
<DIV5 N="1271" TYPE="PART"><HEAD>PART 1271—HUMAN CELLS, TISSUES</HEAD>
 <DIV6 N="A" TYPE="SUBPART"><HEAD>Subpart A—General Provisions</HEAD>
  <DIV8 N="1271.1" TYPE="SECTION"><HEAD>§ 1271.1 What are the purpose and scope of this part?</HEAD>
   <P>(a) <I>Purpose.</I> The purpose of this part, in conjunction with §§ 207.9 and 807.20, is to create {a}.</P>
  </DIV8>
  <DIV8 N="1271.3" TYPE="SECTION"><HEAD>§ 1271.3 How does FDA define important terms?</HEAD>
   <P>(a) <I>Autologous use</I> means the implantation of cells back into the individual.</P>
  </DIV8>
 </DIV6>
</DIV5>"""


def test_ecfr_part_text_by_section_and_the_text_url() -> None:
    texts = ecfr.section_texts(PART_XML.format(a="a unified registration").encode())
    assert list(texts) == ["1271.1", "1271.3"]
    assert texts["1271.1"].splitlines() == [
        "§ 1271.1 What are the purpose and scope of this part?",
        "(a) Purpose. The purpose of this part, in conjunction with §§ 207.9 and 807.20, is to create a unified "
        "registration.",
    ]
    url = ecfr.full_text_url("https://www.ecfr.gov/api/versioner/v1/versions/title-21.json?part=1271", "2024-01-02")
    assert url == "https://www.ecfr.gov/api/versioner/v1/full/2024-01-02/title-21.xml?part=1271"
    assert ecfr.full_text_url("https://www.ecfr.gov/current/title-21", "2024-01-02") is None
    with pytest.raises(FetchError) as raised:
        ecfr.section_texts(b"<html><body>maintenance</body>")
    assert raised.value.error_class == UNDECODABLE


# -- FDA guidance --------------------------------------------------------------------------------


def test_fda_guidance_rows_filtered_by_the_url_fragment(server: LocalServer) -> None:
    server.route("/files/api/datatables/static/search-for-guidance.json",
                 Reply(200, JSON, (DATA / "fda-guidance.json").read_bytes()))
    path = "/files/api/datatables/static/search-for-guidance.json"
    everything = entries_of(server, path, "fda-guidance")
    assert len(everything) == 5
    cgt = entries_of(server, path, "fda-guidance", "#centre=CBER&topic=Cellular+%26+Gene+Therapy")
    assert [e.entry_id for e in cgt] == [
        "potency-assurance-cellular-and-gene-therapy-products",
        "human-gene-therapy-products-incorporating-human-genome-editing",
        "regenerative-medicine-therapies-caf%C3%A9",
    ]
    draft, final, undated = cgt
    assert (draft.title, draft.type, draft.date, draft.precision) == (
        "Potency Assurance for Cellular and Gene Therapy Products", "Draft", "2023-12-28", "day")
    assert draft.deadlines == {"comments_close": "2024-03-27"}
    assert draft.agency == "Center for Biologics Evaluation and Research"
    assert draft.url == server.url(
        "/regulatory-information/search-fda-guidance-documents/potency-assurance-cellular-and-gene-therapy-products"
    )
    assert draft.links["pdf"] == server.url("/media/175132/download")
    assert draft.links["docket"] == "https://www.regulations.gov/docket/FDA-2023-D-5406"
    assert draft.fields["docket"] == "FDA-2023-D-5406" and draft.fields["open_comment"] == "No"
    assert (final.date, final.type, final.deadlines, final.fields["docket"]) == (
        "2024-01-31",
        "Final",
        {},
        "FDA-2022-D-0018",
    )
    assert undated.title == "Regenerative Medicine Therapies – Café & Co. (Questions & Answers)"
    assert (undated.date, undated.precision) == ("", None)


def test_fda_guidance_at_size() -> None:
    entries = parse_entries("fda-guidance", fda_guidance_table(2000), "https://www.fda.gov/x.json#centre=CBER")
    assert len(entries) == 667 and all(e.agency.startswith("Center for Biologics") for e in entries)


# -- EMA medicines ---------------------------------------------------------------------------------


def test_ema_medicines_keeps_atmps_with_their_flags(server: LocalServer) -> None:
    server.route("/en/documents/report/medicines.json", Reply(200, JSON, (DATA / "ema-medicines.json").read_bytes()))
    entries = entries_of(server, "/en/documents/report/medicines.json", "ema-medicines")
    assert [e.entry_id for e in entries] == ["EMEA/H/C/004090", "EMEA/H/C/005763", "EMEA/H/C/002145", "EMEA/H/C/006999"]
    kymriah, casgevy, glybera, pending = entries
    assert (kymriah.title, kymriah.titles, kymriah.type, kymriah.date) == (
        "Kymriah",
        {"inn": "tisagenlecleucel"},
        "Authorised",
        "2018-08-22",
    )
    assert kymriah.dates["opinion"] == "2018-06-28" and kymriah.dates["first_published"] == "2018-09-07"
    assert kymriah.fields["prime"] is True and "conditional_approval" not in kymriah.fields
    assert casgevy.fields["conditional_approval"] is True and (casgevy.url or "").endswith("/casgevy")
    assert casgevy.type == "Authorised (conditional approval)"  # the kind of authorisation is part of its status
    assert (
        glybera.type == "Withdrawn (exceptional circumstances)" and glybera.fields["exceptional_circumstances"] is True
    )
    assert glybera.url is None
    assert (pending.title, pending.date) == ("Ébauche thérapie génique (pending)", "2026-11-20")


def test_ema_bare_list_is_read_too() -> None:
    data = json.loads((DATA / "ema-medicines.json").read_text(encoding="utf-8"))["data"]
    assert len(parse_entries("ema-medicines", json.dumps(data).encode(), "https://www.ema.europa.eu/")) == 4


# -- Feeds: RSS 1.0 (MHLW), Shift_JIS ----------------------------------------------------------------


def test_mhlw_rss_1_0_in_shift_jis(server: LocalServer) -> None:
    server.route(
        "/stf/news.rdf", Reply(200, {"Content-Type": "application/rdf+xml"}, (DATA / "mhlw-news.rdf").read_bytes())
    )
    first, second = entries_of(server, "/stf/news.rdf", "feed")
    assert first.entry_id == first.url == "https://www.mhlw.go.jp/stf/newpage_41234.html"
    assert first.title.startswith("再生医療等の安全性の確保等に関する法律施行規則")
    assert first.date == "2026-11-20T08:00:00Z" and first.type == "健康・医療"
    assert first.agency == "厚生労働省"
    assert (second.date, second.precision) == ("2026-11", "month")



def test_pmda_english_rss_1_0(server: LocalServer) -> None:
    """PMDA's English "What's New" feed (rss_008.xml) is RSS 1.0 like MHLW's, in UTF-8, some entries undated."""
    server.route(
        "/rss_008.xml", Reply(200, {"Content-Type": "application/xml"}, (DATA / "pmda-whats-new.rdf").read_bytes())
    )
    review, safety, undated = entries_of(server, "/rss_008.xml", "feed")
    assert review.entry_id == review.url == "https://www.pmda.go.jp/english/review-services/reviews/approved-information/0004.html"
    assert review.title == "[Review] List of Approved Products: Regenerative Medical Products (updated)"
    assert (review.date, review.type) == ("2026-11-27T01:00:00Z", "Reviews")
    assert safety.title.endswith("使用上の注意の改訂について") and "&" in safety.title
    assert (safety.date, safety.precision) == ("2026-11-20", "day")
    assert (undated.date, undated.precision) == ("", None) and undated.entry_id == undated.url   # date not given


# -- not of its kind -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "body"), [
    ("federal-register", b'{"meta": {}}'),
    ("federal-register", b"<html>Service unavailable</html>"),
    ("federal-register", b'{"count": 3, "results": "none"}'),
    ("fda-guidance", b"<!DOCTYPE html><html><body><table id='guidance'></table></body></html>"),
    ("fda-guidance", b'{"data": {"rows": 0}}'),
    ("fda-guidance", b'[{"field_issue_datetime": "01/01/2024"}]'),
    ("ema-medicines", b'{"meta": {}, "data": "unavailable"}'),
    ("ema-medicines", b'[{"advanced_therapy": "Yes", "medicine_status": "Authorised"}]'),
    ("ema-medicines", b"\x89PNG\r\n\x1a\n"),
])
def test_a_body_not_of_its_kind_is_undecodable(kind: str, body: bytes) -> None:
    with pytest.raises(FetchError) as raised:
        parse_entries(kind, body, "https://example.org/")
    assert raised.value.error_class == UNDECODABLE


def test_ema_medicines_at_size() -> None:
    # The real report holds about 2,700 medicines (6.7 MB); a few dozen are ATMPs.
    rows = [
        {
            "category": "Human",
            "name_of_medicine": f"Medicine {n}",
            "ema_product_number": f"EMEA/H/C/{n:06d}",
            "medicine_status": ("Authorised", "Withdrawn", "Refused")[n % 3],
            "international_non_proprietary_name_common_name": f"substance-{n}",
            "therapeutic_indication": "Treatment of adults with a condition. " * 20,
            "advanced_therapy": "Yes" if n % 50 == 0 else "No",
            "prime_priority_medicine": "Yes" if n % 100 == 0 else "No",
            "marketing_authorisation_date": f"{1 + n % 28:02d}/{1 + n % 12:02d}/{1995 + n % 30}",
        }
        for n in range(2700)
    ]
    body = json.dumps({"meta": {"total_records": len(rows)}, "data": rows}).encode()
    entries = parse_entries("ema-medicines", body, "https://www.ema.europa.eu/")
    assert len(entries) == 54 and entries[0].date == "1995-01-01" and entries[2].fields.get("prime") is True
