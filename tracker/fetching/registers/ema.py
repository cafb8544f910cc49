"""EMA medicines data download (``medicines-output-medicines_json-report_en.json``), ATMPs only.

The report is ``{"meta": {...}, "data": [...]}`` (older copies: a bare list), one row per
centrally evaluated medicine, dates ``DD/MM/YYYY``, flags "Yes"/"No". Only rows flagged
``advanced_therapy`` are entries. Id: the EMA product number (EMEA/H/C/NNNNNN), else the
medicine's page. Date: the marketing authorisation date, else the European Commission
decision, else the CHMP opinion. Type: the authorisation status (Authorised, Withdrawn,
Refused, ...) with the kind of authorisation when it is not a standard one ("Authorised
(conditional approval)", "(exceptional circumstances)"): a conditional authorisation turned
standard is then a revision of the entry, as an official change of its status is. PRIME and the
other flags are kept in ``fields``.
"""

from __future__ import annotations

from typing import Any

from tracker.fetching.registers.common import Entry, iso_date, load_json, non_empty, plain, rows, undecodable

KIND = "ema-medicines"
# Flags that qualify the authorisation itself, shown in the entry's type (in this order).
ROUTES = {"conditional_approval": "conditional approval", "exceptional_circumstances": "exceptional circumstances"}
FLAGS = {
    "advanced_therapy": "atmp", "prime_priority_medicine": "prime", "conditional_approval": "conditional_approval",
    "exceptional_circumstances": "exceptional_circumstances", "accelerated_assessment": "accelerated_assessment",
    "orphan_medicine": "orphan", "additional_monitoring": "additional_monitoring",
}
DATES = {
    "marketing_authorisation_date": "marketing_authorisation",
    "european_commission_decision_date": "commission_decision",
    "opinion_adopted_date": "opinion",
    "withdrawal_of_application_date": "application_withdrawn",
    "refusal_of_marketing_authorisation_date": "refused",
    "first_published_date": "first_published",
    "last_updated_date": "last_updated",
}


def _yes(value: Any) -> bool:
    return isinstance(value, bool) and value or str(value or "").strip().lower() in {"yes", "y", "true", "1"}


def parse(body: bytes, url: str) -> list[Entry]:
    data = load_json(body, KIND)
    table = rows(data.get("data") if isinstance(data, dict) else data, None, KIND)
    entries = []
    for row in table:
        if not _yes(row.get("advanced_therapy")):
            continue
        name = plain(row.get("name_of_medicine"))
        page = str(row.get("medicine_url") or "") or None
        entry_id = plain(row.get("ema_product_number")) or page
        if not name or not entry_id:
            raise undecodable(KIND, f"an ATMP row has no name or product number: {str(row)[:200]}")
        dates = {label: iso_date(row.get(key), order="dmy") for key, label in DATES.items()}
        dates = {label: value for label, value in dates.items() if value}
        date = dates.get("marketing_authorisation") or dates.get("commission_decision") or dates.get("opinion") or ""
        inn = plain(row.get("international_non_proprietary_name_common_name"))
        fields: dict[str, Any] = {label: True for key, label in FLAGS.items() if _yes(row.get(key))}
        fields.update(non_empty(
            active_substance=plain(row.get("active_substance")), atc_code=plain(row.get("atc_code_human")),
            therapeutic_area=row.get("therapeutic_area_mesh"), category=plain(row.get("category")),
            opinion_status=plain(row.get("opinion_status")),
            holder=plain(row.get("marketing_authorisation_developer_applicant_holder")
                         or row.get("marketing_authorisation_holder")),
        ))
        status = plain(row.get("medicine_status"))
        routes = [label for key, label in ROUTES.items() if _yes(row.get(key))]
        if status and routes:
            status = f"{status} ({', '.join(routes)})"
        entries.append(Entry(
            entry_id, date, name, page, fields, status,
            "European Medicines Agency", dates, {}, non_empty(html=page), non_empty(inn=inn),
        ))
    return entries
