"""Register answers in their documented shapes, at realistic sizes, for tests and benchmarks.

Federal Register: ``/api/v1/documents.json`` pages (count, description, total_pages,
next_page_url, results), the fields its documentation lists, some optional ones missing.
FDA guidance: rows of the guidance search table, HTML-encoded cells as fda.gov serves them.
"""

from __future__ import annotations

import json
import random
from typing import Any

FR_TYPES = ("Rule", "Proposed Rule", "Notice")
AGENCY = {"raw_name": "DEPARTMENT OF HEALTH AND HUMAN SERVICES", "name": "Food and Drug Administration",
          "id": 221, "url": "https://www.federalregister.gov/agencies/food-and-drug-administration",
          "json_url": "https://www.federalregister.gov/api/v1/agencies/221.json", "parent_id": 221,
          "slug": "food-and-drug-administration"}


def fr_document(n: int, rng: random.Random | None = None) -> dict[str, Any]:
    """One Federal Register document; every seventh lacks its optional fields."""
    rng = rng or random.Random(n)
    year = 2015 + n % 11
    number = f"{year}-{10000 + n:05d}"
    published = f"{year}-{1 + n % 12:02d}-{1 + n % 28:02d}"
    doc: dict[str, Any] = {
        "title": "Cellular and Gene Therapy Products; "
        "{('Draft Guidance', 'Final Rule', 'Notice of Meeting')[n % 3]} No. {n}; Availability",
        "type": FR_TYPES[n % 3],
        "abstract": "The Food and Drug Administration (FDA or Agency) is announcing the availability of "
        + "a document " * rng.randint(5, 40),
        "document_number": number,
        "html_url": f"https://www.federalregister.gov/documents/{published.replace('-', '/')}/{number}/cgt-{n}",
        "pdf_url": f"https://www.govinfo.gov/content/pkg/FR-{published}/pdf/{number}.pdf",
        "public_inspection_pdf_url": f"https://public-inspection.federalregister.gov/{number}.pdf",
        "publication_date": published,
        "agencies": [AGENCY],
        "excerpts": None,
        "docket_ids": [f"FDA-{year}-D-{n:04d}"],
        "cfr_references": [{"title": 21, "part": 1271, "chapter": None, "citation_url": None}],
        "citation": f"{year - 1935} FR {1000 + n}",
        "effective_on": f"{year}-{1 + (n + 2) % 12:02d}-01" if n % 3 == 0 else None,
        "comments_close_on": f"{year}-{1 + (n + 3) % 12:02d}-15" if n % 3 != 0 else None,
        "start_page": 1000 + n,
        "end_page": 1003 + n,
        "significant": n % 5 == 0,
        "regulation_id_numbers": [f"0910-A{n % 1000:03d}"] if n % 3 == 0 else [],
    }
    if n % 7 == 0:  # optional fields missing, as the API omits them when empty
        for key in (
            "pdf_url",
            "public_inspection_pdf_url",
            "effective_on",
            "comments_close_on",
            "docket_ids",
            "agencies",
        ):
            doc.pop(key, None)
        doc["agency_names"] = ["Food and Drug Administration"]
    return doc


def fr_pages(total: int, per_page: int, next_url: str) -> list[bytes]:
    """``total`` documents in pages of ``per_page``; ``next_url`` formats with the page number."""
    pages = max(1, -(-total // per_page))
    bodies = []
    for page in range(1, pages + 1):
        docs = [fr_document(n) for n in range((page - 1) * per_page, min(total, page * per_page))]
        answer: dict[str, Any] = {
            "count": total, "description": "Documents from Food and Drug Administration referencing 21 CFR 1271",
            "total_pages": pages,
            "next_page_url": next_url.format(page=page + 1) if page < pages else None,
            "results": docs,
        }
        if page > 1:
            answer["previous_page_url"] = next_url.format(page=page - 1)
        bodies.append(json.dumps(answer, ensure_ascii=False).encode())
    return bodies


FR_EMPTY = json.dumps(
    {"count": 0, "description": "Documents matching 'xenotransplantation'", "total_pages": 0}
).encode()

CENTRES = ("Center for Biologics Evaluation and Research", "Center for Drug Evaluation and Research",
           "Center for Devices and Radiological Health")
TOPICS = ("Biologics, Cellular &amp; Gene Therapy", "Clinical Pharmacology", "Tissue", "Blood &amp; Blood Products")


def fda_guidance_row(n: int) -> dict[str, Any]:
    month, day, year = 1 + n % 12, 1 + n % 28, 1995 + n % 31
    slug = f"guidance-document-{n}-cellular-products"
    row: dict[str, Any] = {
        "title": f'<a href="/regulatory-information/search-fda-guidance-documents/{slug}" hreflang="en">'
                 f"Guidance No. {n} on Cellular &amp; Gene Therapy Products</a>",
        "field_associated_media_2": f'<a href="/media/{100000 + n}/download">Download the Guidance Document</a>'
        if n % 4 == 0 else "",
        "field_issue_datetime": f"{month:02d}/{day:02d}/{year}",
        "field_final_guidance_1": "Draft" if n % 3 == 0 else "Final",
        "field_issuing_office_taxonomy": CENTRES[n % 3],
        "field_center": CENTRES[n % 3],
        "field_communication_type": "Guidance Document",
        "topics-product": TOPICS[n % 4],
        "field_regulated_product_field": "Biologics",
        "field_docket_number": f'<a href="https://www.regulations.gov/docket/FDA-{year}-D-{n:04d}">FDA-{year}-D-{n:04d}</a>',
        "field_comment_close_date": f"{1 + (n + 2) % 12:02d}/15/{year}" if n % 3 == 0 else "",
        "open-comment": " No ",
        "changed": f'<time datetime="{year}-{month:02d}-{day:02d}T12:00:00Z">{month:02d}/{day:02d}/{year}</time>',
    }
    return row


def fda_guidance_table(rows: int) -> bytes:
    return json.dumps([fda_guidance_row(n) for n in range(rows)]).encode()
