"""Seed files: the schema of the regulatory record and its validation (seeds/README.md).

``load_seeds(paths)`` reads every file and checks every item before anything is written; the first
problem found is raised as one SeedError line naming the file, the item and the field, e.g.

    seeds/cn.toml: item 'cn-x': field 'steps[1].date': '2025-02-30' is not a real date (...)

and the message says how many further problems there are. Nothing here touches the store.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.domain import seed_structure as ss
from tracker.domain.dates import parse_partial
from tracker.domain.seed_checks import ItemChecker, Problems
from tracker.domain.vocabulary import ITEM_KINDS, JURISDICTIONS, STEP_EVENTS
from tracker.errors import SeedError

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,150}$")
SOURCE_ID_RE = re.compile(r"^src-[a-z0-9][a-z0-9-]{0,150}$")
URL_RE = re.compile(r"^https?://[^\s]+$")

COMMON_FIELDS = frozenset({
    "id", "jurisdiction", "kind", "title_zh", "title_en", "issuer", "topics", "discipline",
    "urls", "citation", "notes", "steps", "relations",
}) | ss.COMMON_FIELDS
# Kind-specific fields, stored under the payload's "attributes".
KIND_FIELDS: Mapping[str, frozenset[str]] = {
    "product": frozenset({"generic_name", "brand_name", "holder", "indication", "product_type", "target", "expedited"}),
    "fact": frozenset({"metric", "value", "unit"}),
    **ss.KIND_FIELDS,
}
REQUIRED_FIELDS = ("id", "jurisdiction", "kind", "title_zh", "title_en", "citation")
STEP_FIELDS = frozenset({"type", "date", "note", "by", "title_zh", "title_en", "citation"}) | ss.STEP_FIELDS
RELATION_FIELDS = frozenset({"type", "target", "note"}) | ss.RELATION_FIELDS
# succeeds: an agency or body that took over another's functions (lineage); same-title-as: two
# items that share a Chinese title (say why in the note); resolves: a change that settles a watch item.
RELATION_TYPES = frozenset({"supersedes", "amends", "implements", "repeals", "renamed-from", "based-on", "part-of",
                            "designated", "succeeds", "same-title-as", "resolves"})
DISCIPLINES = frozenset({"clinical", "non-clinical", "cmc", "general"})
SOURCE_FIELDS = frozenset({"id", "url", "jurisdiction", "title", "kind", "items", "tags", "select", "ignore"})
SOURCE_KINDS = frozenset({"html", "pdf", "json", "feed", "ecfr", "federal-register", "fda-guidance", "ema-medicines"})
REFERENCE_FIELDS = frozenset({"number", "text", "url", "url_printed"})
TOP_LEVEL = frozenset({"items", "references", "sources"})


@dataclass(frozen=True)
class SeedItem:
    """One validated item. ``record`` is the full attribute dict the registration event carries."""

    file: str
    record: dict[str, Any]
    steps: list[dict[str, Any]]
    # {(type, date) of a step: (type, date) of the recorded step it replaces}, from `corrects`.
    replaces: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # Recorded steps withdrawn with no replacement: [{step, date, reason}], from `retracted`.
    retracted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def kind(self) -> str:
        return str(self.record["kind"])


@dataclass(frozen=True)
class SeedReference:
    file: str
    number: int
    text: str
    url: str | None
    url_printed: str | None = None


@dataclass(frozen=True)
class SeedSource:
    file: str
    id: str
    url: str
    jurisdiction: str
    title: str
    kind: str
    items: list[str]
    tags: list[str]
    select: str | None
    ignore: list[str]


@dataclass
class SeedFile:
    path: Path
    name: str
    items: list[SeedItem] = field(default_factory=list)
    references: list[SeedReference] = field(default_factory=list)
    sources: list[SeedSource] = field(default_factory=list)


@dataclass
class SeedSet:
    files: list[SeedFile]

    def items(self) -> Iterable[SeedItem]:
        for seed_file in self.files:
            yield from seed_file.items


def seed_paths(paths: Sequence[Path]) -> list[Path]:
    """Expand directories to their *.toml files (sorted); a missing path is a SeedError."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.toml") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise SeedError(f"{path}: no such seed file or directory")
    if not found:
        raise SeedError(f"no seed files (*.toml) in {', '.join(str(p) for p in paths)}")
    return found


def load_seeds(paths: Sequence[Path], known_ids: Iterable[str] = ()) -> SeedSet:
    """Read and validate every seed file; raise SeedError on the first problem (nothing to write).

    ``known_ids`` are item ids already recorded: relations may point at them as well as at ids in
    the files given.
    """
    problems = Problems()
    files: list[SeedFile] = []
    for path in seed_paths(paths):
        data = _read_toml(path, problems)
        if data is not None:
            files.append(_parse_file(path, data, problems))
    problems.raise_if_any()
    _check_across(files, set(known_ids), problems)
    problems.raise_if_any()
    return SeedSet(files)


def _read_toml(path: Path, problems: Problems) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.add(path.name, "file", f"cannot read: {exc.strerror}")
    except UnicodeDecodeError as exc:
        problems.add(path.name, "file", f"not UTF-8 text: {exc.reason}")
    except tomllib.TOMLDecodeError as exc:
        problems.add(path.name, "file", f"not valid TOML: {exc}")
    return None


def _parse_file(path: Path, data: dict[str, Any], problems: Problems) -> SeedFile:
    name = path.name
    seed_file = SeedFile(path, name)
    for key in data:
        if key not in TOP_LEVEL:
            problems.add(name, "file", f"unknown top-level field {key!r} (expected items, references or sources)")
    for index, raw in enumerate(_table_list(data.get("items", []), name, "items", problems)):
        item = _parse_item(name, index, raw, problems)
        if item is not None:
            seed_file.items.append(item)
    for index, raw in enumerate(_table_list(data.get("references", []), name, "references", problems)):
        reference = _parse_reference(name, index, raw, problems)
        if reference is not None:
            seed_file.references.append(reference)
    for index, raw in enumerate(_table_list(data.get("sources", []), name, "sources", problems)):
        source = _parse_source(name, index, raw, problems)
        if source is not None:
            seed_file.sources.append(source)
    return seed_file


def _table_list(value: Any, file: str, key: str, problems: Problems) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.add(file, "file", f"{key!r} must be an array of tables ([[{key}]])")
        return []
    return value


def _parse_item(file: str, index: int, raw: dict[str, Any], problems: Problems) -> SeedItem | None:
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not ID_RE.match(item_id):
        where = f"item #{index + 1}"
        if item_id is None:
            problems.add(file, f"{where} (no id): field 'id'", "is required")
        else:
            problems.add(file, f"{where}: field 'id'", f"{item_id!r} must be lower-case [a-z0-9-]")
        return None
    check = ItemChecker(file, f"item {item_id!r}", problems)
    kind = raw.get("kind")
    if kind not in ITEM_KINDS:
        check.bad("kind", f"{kind!r} is not one of {', '.join(ITEM_KINDS)}")
        return None
    check.unknown(raw, COMMON_FIELDS | KIND_FIELDS.get(kind, frozenset()))
    jurisdiction = raw.get("jurisdiction")
    if jurisdiction not in JURISDICTIONS:
        check.bad("jurisdiction", f"{jurisdiction!r} is not one of {', '.join(JURISDICTIONS)}")
    for key in REQUIRED_FIELDS[3:5]:
        check.text(raw, key, required=True)
    check.text(raw, "issuer")
    check.text(raw, "notes")
    discipline = raw.get("discipline")
    if discipline is not None and discipline not in DISCIPLINES:
        check.bad("discipline", f"{discipline!r} is not one of {', '.join(sorted(DISCIPLINES))}")
    if kind == "guidance" and discipline is None:
        check.bad("discipline", "is required for a guidance (clinical, non-clinical, cmc or general)")
    urls = check.texts(raw, "urls")
    for number, url in enumerate(urls):
        if not URL_RE.match(url):
            check.bad(f"urls[{number}]", f"{url!r} is not an http(s) URL")
    topics = check.texts(raw, "topics")
    citation = None
    if "citation" in raw:
        citation = check.citation(raw["citation"], "citation")
    else:
        check.bad("citation", "is required")
    attributes = {
        **_kind_attributes(kind, raw, check),
        **ss.kind_attributes(kind, raw, check),
        **ss.common_attributes(raw, check),
    }
    steps = _parse_steps(raw.get("steps", []), check, kind)
    relations = _parse_relations(raw.get("relations", []), check)
    replaces, retracted = ss.step_corrections(raw, steps, check, STEP_EVENTS, parse_partial)
    if not check.ok:
        return None
    record = {
        "id": item_id, "jurisdiction": jurisdiction, "kind": kind,
        "title_zh": raw["title_zh"], "title_en": raw["title_en"], "issuer": raw.get("issuer"),
        "topics": topics, "discipline": discipline, "urls": urls, "citation": citation,
        "notes": raw.get("notes"), "relations": relations, "attributes": attributes, "seed_file": file,
    }
    return SeedItem(file, record, steps, replaces, retracted)


def _kind_attributes(kind: str, raw: Mapping[str, Any], check: ItemChecker) -> dict[str, Any]:
    if kind == "product":
        attributes: dict[str, Any] = {
            name: check.text(raw, name)
            for name in ("generic_name", "brand_name", "holder", "indication", "product_type", "target")
        }
        attributes["expedited"] = check.texts(raw, "expedited")
        return attributes
    if kind == "fact":
        value = raw.get("value")
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            check.bad("value", f"must be a number, not {value!r}")
        return {
            "metric": check.text(raw, "metric", required=True),
            "value": value,
            "unit": check.text(raw, "unit", required=True),
        }
    return {}


def _parse_steps(value: Any, check: ItemChecker, kind: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        check.bad("steps", "must be an array of tables ([[items.steps]])")
        return []
    steps: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for number, raw in enumerate(value):
        prefix = f"steps[{number}]."
        check.unknown(raw, STEP_FIELDS, prefix)
        step_type = raw.get("type")
        if step_type not in STEP_EVENTS:
            check.bad(prefix + "type", f"{step_type!r} is not one of {', '.join(STEP_EVENTS)}")
            continue
        if step_type == "switch" and kind != "regime":
            check.bad(prefix + "type", "only a regime has 'switch' steps")
        date_text = raw.get("date")
        if date_text is None:
            check.bad(prefix + "date", "is required")
            continue
        try:
            parse_partial(date_text)
        except ValueError as exc:
            check.bad(prefix + "date", str(exc))
            continue
        if (step_type, date_text) in seen:
            check.bad(prefix + "date", f"a second {step_type!r} step on {date_text}")
        seen.add((step_type, date_text))
        step: dict[str, Any] = {
            "step": step_type, "date": date_text, "note": check.text(raw, "note", prefix=prefix),
            "by": check.text(raw, "by", prefix=prefix),
            "citation": check.citation(raw["citation"], prefix + "citation") if "citation" in raw else None,
        }
        if step_type == "renamed":
            step["title_zh"] = check.text(raw, "title_zh", required=True, prefix=prefix)
            step["title_en"] = check.text(raw, "title_en", required=True, prefix=prefix)
        elif "title_zh" in raw or "title_en" in raw:
            check.bad(prefix + "title_zh", "only a 'renamed' step has a new title")
        step.update(ss.step_extras(raw, check, prefix))
        steps.append(step)
    return steps


def _parse_relations(value: Any, check: ItemChecker) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        check.bad("relations", "must be an array of tables ([[items.relations]])")
        return []
    relations: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for number, raw in enumerate(value):
        prefix = f"relations[{number}]."
        check.unknown(raw, RELATION_FIELDS, prefix)
        rel_type = raw.get("type")
        if rel_type not in RELATION_TYPES:
            check.bad(prefix + "type", f"{rel_type!r} is not one of {', '.join(sorted(RELATION_TYPES))}")
            continue
        target = check.text(raw, "target", required=True, prefix=prefix)
        if target is None:
            continue
        if (rel_type, target) in seen:
            check.bad(prefix + "target", f"a second {rel_type!r} relation to {target!r}")
        seen.add((rel_type, target))
        relations.append({"type": rel_type, "target": target, "note": check.text(raw, "note", prefix=prefix),
                          **ss.relation_extras(raw, check, prefix, parse_partial)})
    return relations


def _parse_reference(file: str, index: int, raw: dict[str, Any], problems: Problems) -> SeedReference | None:
    number = raw.get("number")
    check = ItemChecker(file, f"reference {number if number is not None else '#' + str(index + 1)}", problems)
    check.unknown(raw, REFERENCE_FIELDS)
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        check.bad("number", f"must be a positive integer, not {number!r}")
    text = check.text(raw, "text", required=True)
    url, printed = check.text(raw, "url"), check.text(raw, "url_printed")
    for key, value in (("url", url), ("url_printed", printed)):
        if value is not None and not URL_RE.match(value):
            check.bad(key, f"{value!r} is not an http(s) URL")
    if printed is not None and (url is None or printed == url):
        check.bad("url_printed", "only beside a corrected url (the URL as the review prints it, when it differs)")
    if not check.ok:
        return None
    return SeedReference(file, int(number), str(text), url, printed)  # type: ignore[arg-type]


def _parse_source(file: str, index: int, raw: dict[str, Any], problems: Problems) -> SeedSource | None:
    source_id = raw.get("id")
    if not isinstance(source_id, str) or not SOURCE_ID_RE.match(source_id):
        problems.add(file, f"source #{index + 1}: field 'id'", f"{source_id!r} must be 'src-' + lower-case [a-z0-9-]")
        return None
    check = ItemChecker(file, f"source {source_id!r}", problems)
    check.unknown(raw, SOURCE_FIELDS)
    url = check.text(raw, "url", required=True)
    if url is not None and not URL_RE.match(url):
        check.bad("url", f"{url!r} is not an http(s) URL")
    jurisdiction = raw.get("jurisdiction")
    if jurisdiction not in JURISDICTIONS:
        check.bad("jurisdiction", f"{jurisdiction!r} is not one of {', '.join(JURISDICTIONS)}")
    title = check.text(raw, "title", required=True)
    kind = raw.get("kind", "html")
    if kind not in SOURCE_KINDS:
        check.bad("kind", f"{kind!r} is not one of {', '.join(sorted(SOURCE_KINDS))}")
    ignore = check.texts(raw, "ignore")
    for number, pattern in enumerate(ignore):
        try:
            re.compile(pattern)
        except re.error as exc:
            check.bad(f"ignore[{number}]", f"{pattern!r} is not a regular expression: {exc}")
    items, tags, select = check.texts(raw, "items"), check.texts(raw, "tags"), check.text(raw, "select")
    if not check.ok:
        return None
    return SeedSource(file, source_id, str(url), str(jurisdiction), str(title), str(kind), items, tags, select, ignore)


# One pass of flat checks, one per kind of reference: splitting it would only scatter them.
def _check_across(files: list[SeedFile], known_ids: set[str], problems: Problems) -> None:  # noqa: C901
    """Ids unique across all files; every id an item, step, source or product names exists."""
    where_defined: dict[str, str] = {}
    for seed_file in files:
        for item in seed_file.items:
            if item.id in where_defined:
                problems.add(
                    seed_file.name,
                    f"item {item.id!r}: field 'id'",
                    f"duplicate id (already defined in {where_defined[item.id]})",
                )
            else:
                where_defined[item.id] = seed_file.name
    ids = known_ids | set(where_defined)
    schemes = {item.id: item for f in files for item in f.items if item.kind == "classification"}
    source_ids = {source.id for f in files for source in f.sources}
    seen_refs: dict[int, str] = {}
    seen_sources: dict[str, str] = {}
    for seed_file in files:
        name = seed_file.name
        for item in seed_file.items:
            where = f"item {item.id!r}"
            for number, relation in enumerate(item.record["relations"]):
                if relation["target"] not in ids:
                    problems.add(
                        name, f"{where}: field 'relations[{number}].target'", f"unknown item id {relation['target']!r}"
                    )
            for number, step in enumerate(item.steps):
                if step["by"] is not None and step["by"] not in ids:
                    problems.add(name, f"{where}: field 'steps[{number}].by'", f"unknown item id {step['by']!r}")
            for number, program in enumerate(item.record["attributes"].get("expedited", [])):
                if program not in ids:
                    problems.add(name, f"{where}: field 'expedited[{number}]'", f"unknown item id {program!r}")
            _check_structure(name, item, ids, schemes, source_ids, problems)
        for reference in seed_file.references:
            if reference.number in seen_refs:
                problems.add(
                    name,
                    f"reference {reference.number}: field 'number'",
                    f"duplicate reference (already in {seen_refs[reference.number]})",
                )
            seen_refs[reference.number] = name
        for source in seed_file.sources:
            if source.id in seen_sources:
                problems.add(
                    name,
                    f"source {source.id!r}: field 'id'",
                    f"duplicate source id (already in {seen_sources[source.id]})",
                )
            seen_sources[source.id] = name
            for number, item_id in enumerate(source.items):
                if item_id not in ids:
                    problems.add(name, f"source {source.id!r}: field 'items[{number}]'", f"unknown item id {item_id!r}")


def _check_structure(
    file: str, item: SeedItem, ids: set[str], schemes: dict[str, SeedItem], source_ids: set[str], problems: Problems
) -> None:
    """The ids the analyst's fields name exist; a class belongs to its scheme."""
    attributes = item.record["attributes"]
    where = f"item {item.id!r}"
    for key, target in ss.referenced_ids(attributes):
        if target not in ids:
            problems.add(file, f"{where}: field {key!r}", f"unknown item id {target!r}")
    for number, flag in enumerate(attributes.get("flags", [])):
        against = str(flag.get("against", ""))
        if against.startswith("src-") and against not in source_ids:
            problems.add(file, f"{where}: field 'flags[{number}].against'", f"unknown source id {against!r}")
    for number, entry in enumerate(attributes.get("classified", [])):
        scheme = schemes.get(entry["scheme"])
        if scheme is None:
            if entry["scheme"] in ids:
                problems.add(
                    file,
                    f"{where}: field 'classified[{number}].scheme'",
                    f"{entry['scheme']!r} is not a classification",
                )
            continue
        classes = {c["id"] for c in scheme.record["attributes"]["classes"]}
        if entry["class"] not in classes:
            problems.add(file, f"{where}: field 'classified[{number}].class'",
                         f"{entry['class']!r} is not a class of {scheme.id!r} ({', '.join(sorted(classes))})")
