"""Which item of the record a proposed document is about: an index, and reasons a reader can check.

Three keys, strongest first:

  identifier   the official identifier (a Federal Register document number, an FDA docket, an EMA
               product number, "21 CFR 1271", "2001/83/EC") seen in an item's titles, urls or
               earlier accepted proposals
  url          the same link, compared without scheme, "www.", query order or a trailing slash
  title        the tokens of the titles: English words (lower case, stop words dropped) and
               overlapping pairs of Chinese or Japanese characters (Japanese forms folded to the
               simplified ones the record uses, so 厚生労働省 and 厚生劳动省 share most pairs);
               scored by the Dice coefficient of the token sets

Every key is looked up in an inverted index, and the title score is computed only for the items
that share one of the proposal's rarest tokens, skipping tokens so common that they name nothing in
particular: the work per proposal is bounded (POSTING_BUDGET look-ups, SCORED scores),
not a scan of the record (bench/bench_triage.py measures it at 1,000 and 10,000 items).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tracker.domain.proposals import Candidate, Draft, Match

ACCEPT_SCORE = 0.6      # a title this close (with jurisdiction agreeing) is a match
CANDIDATE_SCORE = 0.3   # shown as an alternative
ALTERNATIVES = 3
# The title stage does bounded work per proposal, whatever the record's size: it looks up only the
# RAREST_TOKENS rarest of the proposal's tokens, skips a token shared by more than MAX_POSTING items
# (it names nothing in particular), stops at POSTING_BUDGET items looked up, and scores the SCORED
# items that share the most tokens.
RAREST_TOKENS = 8
MAX_POSTING = 64
POSTING_BUDGET = 96     # and stops adding tokens once their postings add up to this many items
SCORED = 5

_EN_STOP = frozenset("""a an and of the for to in on with by or as at from its into under this that be is are
draft final guidance industry guideline document notice rule proposed""".split())
_WORD = re.compile(r"[a-z][a-z0-9]+|\d{2,}")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Japanese shinjitai -> simplified Chinese, for the characters regulatory titles use most.
_JA_TO_ZH = str.maketrans({
    "労": "劳", "働": "动", "薬": "药", "療": "疗", "製": "制", "規": "规", "則": "则", "認": "认", "証": "证",
    "発": "发", "細": "细", "遺": "遗", "伝": "传", "関": "关", "験": "验", "審": "审", "査": "查", "機": "机",
    "構": "构", "総": "总", "術": "术", "価": "价", "評": "评", "計": "计", "録": "录", "対": "对", "応": "应",
    "処": "处", "済": "济", "経": "经", "営": "营", "実": "实", "針": "针", "導": "导", "転": "转", "学": "学",
    "係": "系", "為": "为", "図": "图", "質": "质", "際": "际", "報": "报", "告": "告", "書": "书", "類": "类",
    "断": "断", "検": "检", "問": "问", "題": "题", "資": "资", "料": "料", "開": "开", "與": "与", "臓": "脏",
    "器": "器", "組": "组", "織": "织", "築": "筑", "従": "从", "来": "来", "間": "间", "時": "时", "条": "条",
    "件": "件", "期": "期", "限": "限", "付": "附", "承": "承", "団": "团", "体": "体",
})
# Identifiers in titles and notes: FR document numbers, dockets, CFR parts, EU acts, EMA numbers.
_IDENTIFIERS = (
    re.compile(r"\b\d{4}-\d{5}\b"),                                     # Federal Register 2024-01234
    re.compile(r"\b(?:FDA|EMA|CMS|HHS)-\d{4}-[A-Z]-\d{3,5}\b"),          # dockets FDA-2023-D-1234
    re.compile(r"\b\d{1,2}\s*CFR\s*(?:part\s*)?\d{1,4}\b", re.I),       # 21 CFR 1271
    re.compile(r"\b(?:\d{4}/\d{1,4}/E[CU]|(?:E[CU]|EEC)\s*No\s*\d{1,4}/\d{4})\b", re.I),
    re.compile(r"\bEMEA/H/C/\d{4,6}\b"),
)


def identifiers_in(text: str) -> set[str]:
    """Official identifiers written in a text, in one spelling ("21 CFR 1271", "2001/83/EC")."""
    found: set[str] = set()
    for pattern in _IDENTIFIERS:
        for hit in pattern.findall(text or ""):
            found.add(normalise_identifier(hit))
    return found


def normalise_identifier(text: str) -> str:
    folded = " ".join(unicodedata.normalize("NFKC", text).upper().replace("PART", " ").split())
    return re.sub(r"(\d)\s*CFR\s*(\d)", r"\1 CFR \2", folded)


def normalise_url(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    query = "&".join(sorted(q for q in parts.query.split("&") if q))
    return f"{host}{path}" + (f"?{query}" if query else "")


def title_tokens(text: str) -> frozenset[str]:
    """English words and pairs of CJK characters (Japanese forms folded to simplified)."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    tokens = {w for w in _WORD.findall(folded) if w not in _EN_STOP}
    for run in _CJK.findall(folded.translate(_JA_TO_ZH)):
        if len(run) == 1:
            tokens.add(run)
        tokens.update(run[i:i + 2] for i in range(len(run) - 1))
    return frozenset(tokens)


@dataclass(frozen=True, slots=True)
class IndexedItem:
    """What matching needs of an item of the record."""

    id: str
    jurisdiction: str
    kind: str
    title_zh: str
    title_en: str
    urls: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()


@dataclass
class RecordIndex:
    """Inverted indexes over the record: identifier, url and title token -> item ids."""

    items: dict[str, IndexedItem] = field(default_factory=dict)
    by_identifier: dict[str, set[str]] = field(default_factory=dict)
    by_url: dict[str, set[str]] = field(default_factory=dict)
    by_token: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    steps: set[tuple[str, str, str]] = field(default_factory=set)     # (item, step, date) recorded

    @classmethod
    def build(cls, items: Iterable[IndexedItem]) -> RecordIndex:
        index = cls()
        for item in items:
            index.add(item)
        return index

    def add(self, item: IndexedItem) -> None:
        self.items[item.id] = item
        for identifier in {*item.identifiers, *identifiers_in(f"{item.title_en} {item.title_zh}")}:
            self.by_identifier.setdefault(normalise_identifier(identifier), set()).add(item.id)
        for url in item.urls:
            if url:
                self.by_url.setdefault(normalise_url(url), set()).add(item.id)
        en, zh = title_tokens(item.title_en), title_tokens(item.title_zh)
        self.tokens[item.id] = (en, zh)
        for token in en | zh:
            self.by_token.setdefault(token, []).append(item.id)

    def add_identifier(self, identifier: str, item_id: str) -> None:
        if identifier and item_id in self.items:
            self.by_identifier.setdefault(normalise_identifier(identifier), set()).add(item_id)

    def add_url(self, url: str | None, item_id: str) -> None:
        if url and item_id in self.items:
            self.by_url.setdefault(normalise_url(url), set()).add(item_id)

    def add_step(self, item_id: str, step: str, date: str | None) -> None:
        self.steps.add((item_id, step, date or ""))

    def recorded(self, item_id: str | None, step: str, date: str) -> bool:
        """Does the record already hold this step of this item on this date?"""
        return item_id is not None and (item_id, step, date) in self.steps

    def match(self, draft: Draft) -> Match:
        """The item this draft is about, with the reason, and up to three alternatives."""
        found: dict[str, Candidate] = {}
        identifiers = {normalise_identifier(draft.identifier)} if draft.identifier else set()
        identifiers |= identifiers_in(f"{draft.title_en} {draft.title_zh} {draft.identifier}")
        for identifier in sorted(identifiers):
            for item_id in sorted(self.by_identifier.get(identifier, ())):
                found.setdefault(item_id, Candidate(item_id, 1.0, f"same official identifier {identifier}"))
        url = normalise_url(draft.url)
        for item_id in sorted(self.by_url.get(url, ()) if url else ()):
            found.setdefault(item_id, Candidate(item_id, 0.99, f"same link {draft.url}"))
        for candidate in self._by_title(draft):
            found.setdefault(candidate.item_id, candidate)
        ranked = sorted(found.values(), key=lambda c: (-c.score, c.item_id))
        best = ranked[0] if ranked else None
        if best is not None and (best.score >= 0.99 or
                                 (best.score >= ACCEPT_SCORE and self._jurisdiction_fits(best.item_id, draft))):
            rest = tuple(c for c in ranked[1:] if c.score >= CANDIDATE_SCORE)[:ALTERNATIVES]
            return Match(best.item_id, best.reason, best.score, rest)
        alternatives = tuple(c for c in ranked if c.score >= CANDIDATE_SCORE)[:ALTERNATIVES]
        reason = ("no item with the same identifier or link, and no title close enough "
                  f"(the closest scores {best.score:.2f}, {ACCEPT_SCORE:.2f} needed)" if best
                  else "no item with the same identifier, link or title words: a new item")
        return Match(None, reason, 0.0, alternatives)

    def _jurisdiction_fits(self, item_id: str, draft: Draft) -> bool:
        item = self.items.get(item_id)
        return item is not None and (item.jurisdiction == draft.jurisdiction or draft.jurisdiction == "INTL")

    def _by_title(self, draft: Draft) -> list[Candidate]:
        query_en, query_zh = title_tokens(draft.title_en), title_tokens(
            " ".join([draft.title_zh, *(t for lang, t in draft.titles.items() if lang in ("zh", "ja"))]))
        # Sorted by (rarity, token): the same tokens are chosen whatever the order of the set.
        rare = sorted((len(posting), token) for token in query_en | query_zh
                      if (posting := self.by_token.get(token)) and len(posting) <= MAX_POSTING)
        shared: Counter[str] = Counter()
        used = 0
        for size, token in rare[:RAREST_TOKENS]:
            if shared and used + size > POSTING_BUDGET:
                break
            shared.update(self.by_token[token])
            used += size
        candidates = []
        # most_common keeps first-seen order among equals: deterministic, as the tokens' order is.
        for item_id, _count in shared.most_common(SCORED):
            en, zh = self.tokens[item_id]
            score, why = max((_dice(query_en, en), "English title"), (_dice(query_zh, zh), "Chinese/Japanese title"))
            if score >= CANDIDATE_SCORE:
                item = self.items[item_id]
                title = item.title_en if why == "English title" else item.title_zh
                common = len((query_en & en) if why == "English title" else (query_zh & zh))
                candidates.append(Candidate(item_id, score, f"{why} close to {title!r}: {common} words or character "
                                            f"pairs in common, Dice {score:.2f}"))
        return candidates


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def indexed_item(row: Mapping[str, object], urls: Iterable[str] = (), identifiers: Iterable[str] = ()) -> IndexedItem:
    return IndexedItem(str(row["id"]), str(row["jurisdiction"]), str(row["kind"]), str(row.get("title_zh") or ""),
                       str(row.get("title_en") or ""), tuple(urls), tuple(identifiers))


__all__ = ["IndexedItem", "RecordIndex", "identifiers_in", "indexed_item", "normalise_identifier", "normalise_url",
           "title_tokens"]
