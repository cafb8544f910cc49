"""From what a check recorded to drafts of regulatory events: pure rules, one per kind of evidence.

Registers (their fields are official):

  federal-register  PRORULE -> drafted (publication date; the comments deadline kept);
                    RULE -> published (publication date) and, with effective_on, effective;
                    a NOTICE of a guidance's availability -> drafted or published guidance
  fda-guidance      a row with status draft -> drafted, final -> published (issue date; docket)
  ema-medicines     authorised -> approved product; withdrawn -> withdrawn
  ecfr              a new version -> amended, of "<title> CFR <part>" (one per amendment date)
  feed              an item -> published, its kind read from its title

List pages (rows.py finds the rows; official_dates.py their dates): a new row -> a new document
(drafted when its title says draft); a row whose title or date changed -> a revision (amended); a
row that disappeared -> a withdrawal, marked to check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple

from tracker.domain import payloads_ops as o
from tracker.domain.dates import start_of
from tracker.domain.official_dates import find_date, strip_dates
from tracker.domain.proposals import Draft, Evidence, PageRow, SourceInfo, fold_title

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
# (kind, words) in order: the first that a title contains decides.
# Matched against the lower-cased title (case-sensitive patterns: several times faster than re.I).
KIND_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "guidance",
        re.compile(r"guidance|guideline|指导原则|技术指南|指南|ガイダンス|ガイドライン|指針|q&a|questions and answers"),
    ),
    ("directive", re.compile(r"\bdirective\b")),
    ("regulation", re.compile(r"regulation|\brule\b|\bcfr\b|规定|办法|规章|规范|细则|省令|政令|規則|告示|施行規則")),
    ("law", re.compile(r"\bact\b|\blaw\b|法律|法$|法（|法\(|法案")),
    ("product", re.compile(r"approv|authoris|authoriz|批准上市|获批|承認|承认|上市许可")),
    ("program", re.compile(r"program|designation|认定|指定制度")),
)
DRAFT_WORDS = re.compile(
    r"\bdraft\b|征求意见|意见稿|（案）|\(案\)|案に関する|意見募集|意見の募集|パブリックコメント|consultation"
)
WITHDRAWN_WORDS = re.compile(r"withdraw|废止|撤回|廃止|revoked|repeal")


def guess_kind(title: str, default: str | None = None) -> str | None:
    lowered = title.lower()
    for kind, words in KIND_WORDS:
        if words.search(lowered):
            return kind
    return default


def guess_step(title: str, kind: str | None) -> str:
    lowered = title.lower()
    if WITHDRAWN_WORDS.search(lowered):
        return "withdrawn"
    if DRAFT_WORDS.search(lowered):
        return "drafted"
    return {"product": "approved", "program": "established"}.get(kind or "", "published")


def split_title(title: str, jurisdiction: str) -> tuple[str, str, dict[str, str]]:
    """(title_zh, title_en, titles by language): a Japanese title is kept as ``ja`` and offered as
    the record's non-English title, for the analyst to translate or keep."""
    if not _CJK.search(title):
        return "", title, {}
    if jurisdiction == "JP" or _KANA.search(title):
        return title, "", {"ja": title}
    return title, "", {"zh": title}


def _str(value: Any) -> str:
    return str(value) if value else ""


def _mapping(value: Any) -> dict[str, str]:
    return {str(k): str(val) for k, val in value.items() if val} if isinstance(value, Mapping) else {}


# -- registers -----------------------------------------------------------------------------------


# A register's first check lists its whole history (thousands of Federal Register documents):
# proposing every entry would bury the news. At a baseline only what is recent or still open is
# proposed; `tracker triage derive --from 0 --history` proposes the rest.
BASELINE_RECENT_DAYS = 90


def news_at_baseline(entry: o.RegisterEntry, recorded_day: date) -> bool:
    """An entry listed at a register's first check that is worth an analyst's look: dated within
    BASELINE_RECENT_DAYS before the check (or later), or with a deadline still ahead."""
    since = recorded_day - timedelta(days=BASELINE_RECENT_DAYS)
    day = _day(entry.get("date"))
    if day is not None and day >= since:
        return True
    deadlines = entry.get("deadlines")
    return isinstance(deadlines, Mapping) and any(
        (due := _day(value)) is not None and due >= recorded_day for value in deadlines.values())


def _day(value: object) -> date | None:
    """The first day of an official date (of any precision), or None when there is none to read."""
    try:
        return start_of(str(value or "")[:10])
    except ValueError:
        return None


def from_entry(source: SourceInfo, payload: o.RegisterEntry, evidence: Evidence) -> list[Draft]:
    """Drafts from one RegisterEntryAdded or RegisterEntryRevised payload."""
    deriver = REGISTER_DERIVERS.get(source.kind)
    return deriver(source, payload, evidence) if deriver is not None else []


def _base(source: SourceInfo, p: o.RegisterEntry, evidence: Evidence, **fields: Any) -> Draft:
    title = _str(p.get("title"))
    title_zh, title_en, titles = split_title(title, source.jurisdiction)
    titles.update({k: val for k, val in _mapping(p.get("titles")).items()})
    values: dict[str, Any] = {
        "source_id": source.id, "origin": source.kind, "jurisdiction": source.jurisdiction, "evidence": evidence,
        "issuer": _str(p.get("agency")), "title_zh": title_zh, "title_en": title_en, "titles": titles,
        "identifier": _str(p["entry_id"]), "url": p.get("url") or None, "deadlines": _mapping(p.get("deadlines")),
    }
    values.update(fields)
    return Draft(**values)


def _federal_register(source: SourceInfo, p: o.RegisterEntry, evidence: Evidence) -> list[Draft]:
    kind, dates = _str(p.get("type")).upper(), _mapping(p.get("dates"))
    published = dates.get("publication_date") or _str(p.get("date"))
    title = _str(p.get("title"))
    number = _str(p["entry_id"])
    closes = _mapping(p.get("deadlines")).get("comments_close")
    if kind == "PRORULE":
        note = f"Federal Register {number}, proposed rule" + (f"; comments close {closes}" if closes else "")
        return [_base(source, p, evidence, kind="regulation", step="drafted", date=published, note=note)]
    if kind == "RULE":
        drafts = [_base(source, p, evidence, kind="regulation", step="published", date=published,
                        note=f"Federal Register {number}, final rule")]
        if dates.get("effective_on"):
            drafts.append(_base(source, p, evidence, kind="regulation", step="effective", date=dates["effective_on"],
                                note=f"Federal Register {number}, effective on {dates['effective_on']}"))
        return drafts
    if kind == "NOTICE" and guess_kind(title) == "guidance":
        step = "drafted" if DRAFT_WORDS.search(title.lower()) else "published"
        return [_base(source, p, evidence, kind="guidance", step=step, date=published,
                      note=f"Federal Register {number}, notice of availability"
                      + (f"; comments close {closes}" if closes else ""))]
    return []


def _fda_guidance(source: SourceInfo, p: o.RegisterEntry, evidence: Evidence) -> list[Draft]:
    status = _str(p.get("type")).lower()
    fields = p.get("fields") if isinstance(p.get("fields"), Mapping) else {}
    docket = _str((fields or {}).get("docket"))
    step = "drafted" if "draft" in status else "published" if "final" in status else None
    if step is None:
        return []
    closes = _mapping(p.get("deadlines")).get("comments_close")
    note = (
        f"FDA guidance, {status}"
        + (f", docket {docket}" if docket else "")
        + (f"; comments close {closes}" if closes else "")
    )
    return [_base(source, p, evidence, kind="guidance", step=step, date=_str(p.get("date")),
                  identifier=docket or _str(p["entry_id"]), issuer=_str(p.get("agency")) or "FDA", note=note)]


def _ema_medicines(source: SourceInfo, p: o.RegisterEntry, evidence: Evidence) -> list[Draft]:
    status, dates = _str(p.get("type")).lower(), _mapping(p.get("dates"))
    changes = p.get("changes") if isinstance(p.get("changes"), Mapping) else {}
    changed_type = (changes or {}).get("type")
    if isinstance(changed_type, Mapping) and status.startswith("authori") and \
            _str(changed_type.get("old")).lower().startswith("authori"):
        # The authorisation itself changed (a conditional one turned standard): an amendment.
        return [_base(source, p, evidence, kind="product", step="amended", date=dates.get("last_updated") or "",
                      note=f"EMA {p['entry_id']}: {changed_type.get('old')} -> {changed_type.get('new')}")]
    if status.startswith("authori"):
        date = dates.get("marketing_authorisation") or dates.get("commission_decision") or _str(p.get("date"))
        return [_base(source, p, evidence, kind="product", step="approved", date=date,
                      note=f"EMA {p['entry_id']}: authorised")]
    if status.startswith("withdrawn"):
        # The register dates the authorisation, not its withdrawal: no date unless one is given.
        return [_base(source, p, evidence, kind="product", step="withdrawn",
                      date=dates.get("application_withdrawn") or "", note=f"EMA {p['entry_id']}: withdrawn")]
    return []


def _ecfr(source: SourceInfo, p: o.RegisterEntry, evidence: Evidence) -> list[Draft]:
    fields = p.get("fields") if isinstance(p.get("fields"), Mapping) else {}
    fields = fields or {}
    section = _str(p["entry_id"]).split("@", 1)[0]
    part = _str(fields.get("part")) or section.split(".", 1)[0]
    title = _str(fields.get("cfr_title")) or "21"
    identifier = f"{title} CFR {part}" if part else ""
    date = _str(p.get("date"))
    return [_base(source, p, evidence, kind="regulation", step="amended", date=date, identifier=identifier,
                  url=f"https://www.ecfr.gov/current/title-{title}/part-{part}" if part else p.get("url"),
                  title_en=f"{identifier}", titles={}, title_zh="", issuer="",
                  note=f"eCFR: {identifier} amended on {date} (section {section}: {_str(p.get('title'))})")]


def _feed(source: SourceInfo, p: o.RegisterEntry, evidence: Evidence) -> list[Draft]:
    title = _str(p.get("title"))
    kind = guess_kind(title)
    if kind is None:
        return []
    # A feed dates items to the second; the record's steps are dated to the day at most.
    return [_base(source, p, evidence, kind=kind, step=guess_step(title, kind), date=_str(p.get("date"))[:10],
                  identifier="", note=f"{source.title or source.id}: feed item")]


REGISTER_DERIVERS = {
    "federal-register": _federal_register, "fda-guidance": _fda_guidance, "ema-medicines": _ema_medicines,
    "ecfr": _ecfr, "feed": _feed,
}


# -- list pages ---------------------------------------------------------------------------------


class RowChange(NamedTuple):
    change: str                 # added, changed, removed
    row: PageRow                # the new row (the old one for removed)
    old: PageRow | None = None


def _row_title(row: PageRow) -> str:
    return strip_dates(row.title) or row.title


def _row_date(row: PageRow, day_first: bool) -> str:
    found = find_date(row.text, day_first=day_first)
    return found.text if found else ""


def row_changes(old: Sequence[PageRow], new: Sequence[PageRow], *, day_first: bool = False) -> list[RowChange]:
    """Rows added, changed (title or date) and removed, in page order; other edits of a row
    (a counter, a label) are not a change of the document."""
    before = {row.key: row for row in old}
    after = {row.key for row in new}
    found: list[RowChange] = []
    for row in new:
        previous = before.get(row.key)
        if previous is None:
            found.append(RowChange("added", row))
        elif previous.text == row.text and previous.title == row.title:
            continue        # the row says exactly what it said: most rows of a list, cheaply
        elif (fold_title(_row_title(previous)) != fold_title(_row_title(row))
              or _row_date(previous, day_first) != _row_date(row, day_first)):
            found.append(RowChange("changed", row, previous))
    found.extend(RowChange("removed", row) for row in old if row.key not in after)
    return found


def from_rows(source: SourceInfo, changes: Iterable[RowChange], evidence: Evidence,
              default_kind: str | None = None) -> list[Draft]:
    """Drafts from the row changes of a list page (one each)."""
    day_first = source.jurisdiction == "EU"
    drafts = []
    for change in changes:
        row = change.row
        title = _row_title(row)
        title_zh, title_en, titles = split_title(title, source.jurisdiction)
        kind = guess_kind(title, default_kind)
        date = _row_date(row, day_first)
        lines = (f"- {change.old.text}", f"+ {row.text}") if change.old else (
            (f"+ {row.text}",) if change.change == "added" else (f"- {row.text}",))
        if change.change == "added":
            step, note, check = guess_step(title, kind), f"new row on {source.title or source.id}", False
        elif change.change == "changed" and change.old is not None:
            step, check = "amended", False
            old_title, old_date = _row_title(change.old), _row_date(change.old, day_first)
            what = []
            if fold_title(old_title) != fold_title(title):
                what.append(f"title was {old_title!r}")
            if old_date != date:
                what.append(f"date was {old_date or 'not given'}")
            note = f"row revised on {source.title or source.id}: {'; '.join(what)}"
        else:
            step, check, date = "withdrawn", True, ""
            note = f"the row disappeared from {source.title or source.id}: check whether it was withdrawn or moved"
        drafts.append(Draft(
            source_id=source.id, origin="html-rows", jurisdiction=source.jurisdiction, step=step,
            evidence=Evidence(evidence.position, evidence.type, evidence.content_hash, None, lines),
            kind=kind, title_zh=title_zh, title_en=title_en, titles=titles, date=date, url=row.key,
            note=note, check=check,
        ))
    return drafts


__all__ = ["PageRow", "RowChange", "SourceInfo", "from_entry", "from_rows", "guess_kind", "guess_step",
           "row_changes", "split_title"]
